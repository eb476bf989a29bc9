"""Sizing rule for ``contact_center``: Erlang A agents for a service level and an abandonment ceiling.

Calls arrive at ``lambda = load / 3600`` calls per second, are handled in ``aht_s`` seconds on
average, and callers wait at most an exponential patience of mean ``patience_s`` seconds before
hanging up (Erlang A, M/M/n+M; Erlang C when the patience is infinite). A queue needs the fewest
agents ``n`` such that both

* the service level ``P(answered within answer_within_s)`` is at least the target, and
* the abandonment probability is at most ``abandon_max``.

Both criteria are monotone in ``n``, so the smallest ``n`` is found by a vectorized integer
bisection over every (queue, period) row at once, evaluating the Erlang A formulas of
:mod:`surgeplan.teletraffic`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from surgeplan import teletraffic as tt
from surgeplan.dimension._common import Sizing, positive


def smallest_passing(passes: Callable[[np.ndarray, np.ndarray], np.ndarray], guess: np.ndarray) -> np.ndarray:
    """Smallest integer ``n >= 1`` with ``passes(n, rows)`` true, for every row at once.

    ``passes`` must be monotone (false ... false true ... true) in ``n``. The upper bound starts at
    ``guess`` and doubles until it passes; then an integer bisection runs on all rows together.

    Parameters
    ----------
    passes : callable
        ``passes(n, idx) -> bool array``: does ``n`` servers meet the criterion for rows ``idx``.
    guess : ndarray
        A starting upper bound per row (>= 1).
    """
    guess = np.maximum(np.ceil(np.asarray(guess, dtype=np.float64)), 1.0)
    rows = np.arange(guess.size)
    hi = guess.copy()
    todo = rows[~passes(hi, rows)]
    for _ in range(64):
        if todo.size == 0:
            break
        hi[todo] *= 2.0
        todo = todo[~passes(hi[todo], todo)]
    lo = np.zeros_like(hi)  # invariant: lo fails (0 agents answer nobody), hi passes
    active = rows[hi - lo > 1]
    while active.size:
        mid = np.floor((lo[active] + hi[active]) / 2.0)
        ok = passes(mid, active)
        hi[active[ok]] = mid[ok]
        lo[active[~ok]] = mid[~ok]
        active = active[hi[active] - lo[active] > 1]
    return hi


def size_contact_center(
    load: np.ndarray,
    capacity: np.ndarray,
    service_level_target: np.ndarray,
    aht_s: np.ndarray,
    patience_s: np.ndarray,
    answer_within_s: np.ndarray,
    abandon_max: np.ndarray,
) -> Sizing:
    """Agents a contact-centre queue needs, and the service level its installed agents give.

    Parameters
    ----------
    load : array_like
        Busy-hour calls offered, calls per hour.
    capacity : array_like
        Installed agents (positions staffed in the busy hour).
    service_level_target : array_like
        Target share of calls answered within ``answer_within_s`` (e.g. 0.8).
    aht_s : array_like
        Average handling time, seconds.
    patience_s : array_like
        Mean caller patience, seconds (``inf``: nobody abandons, Erlang C).
    answer_within_s : array_like
        Service-level threshold, seconds (e.g. 20).
    abandon_max : array_like
        Highest acceptable abandonment probability (e.g. 0.05).

    Returns
    -------
    Sizing
        ``needed`` agents, ``gos`` = service level with the installed agents, ``carriable`` =
        calls per hour the installed agents carry at the targets (``load x capacity / needed``,
        a lower bound because agents needed grow less than proportionally with load),
        ``shortfall`` = calls abandoned per hour with the installed agents.

    References
    ----------
    O. Garnett, A. Mandelbaum, M. Reiman, "Designing a call center with impatient customers",
    Manufacturing & Service Operations Management 4(3), 2002 (Erlang A).
    """
    x, n, sl, aht, pat, aw, amax = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(
        load, capacity, service_level_target, aht_s, patience_s, answer_within_s, abandon_max))
    x = positive(x)
    shape = x.shape
    x, n, sl, aht, pat, aw, amax = (v.ravel() for v in (x, n, sl, aht, pat, aw, amax))
    lam = x / 3600.0
    busy = lam > 0

    def sl_of(agents: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return np.asarray(tt.erlang_a_service_level(lam[idx], aht[idx], pat[idx], agents, aw[idx]), dtype=np.float64)

    def ab_of(agents: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return np.asarray(tt.erlang_a_abandon_probability(lam[idx], aht[idx], pat[idx], agents), dtype=np.float64)

    needed = np.zeros(x.size)
    gos = np.ones(x.size)
    aband = np.zeros(x.size)
    bi = np.flatnonzero(busy)
    if bi.size:
        a = lam[bi] * aht[bi]  # offered load, Erlangs
        sub_sl, sub_ab = sl[bi], amax[bi]

        def passes(agents: np.ndarray, idx: np.ndarray) -> np.ndarray:
            rows = bi[idx]
            return (sl_of(agents, rows) >= sub_sl[idx] - 1e-12) & (ab_of(agents, rows) <= sub_ab[idx] + 1e-12)

        needed[bi] = smallest_passing(passes, a + 3.0 * np.sqrt(a) + 2.0)
        has = bi[n[bi] >= 1]
        if has.size:
            gos[has] = sl_of(n[has], has)
            aband[has] = ab_of(n[has], has)
        none = bi[n[bi] < 1]
        gos[none], aband[none] = 0.0, 1.0
    # No calls -> no scale to extrapolate from: carriable unknown (NaN), never a reroute target.
    carriable = np.where(busy & (needed > 0), x * n / np.where(needed > 0, needed, 1.0), np.nan)
    out = Sizing(needed, gos, carriable, x * aband, "service_level", "calls_abandoned_per_hour")
    for f in ("needed", "gos", "carriable", "shortfall"):
        setattr(out, f, getattr(out, f).reshape(shape))
    return out
