"""Sizing rule for ``contact_center``: Erlang A agents for a service level and an abandonment ceiling.

Calls arrive at ``lambda = load / 3600`` calls per second, are handled in ``aht_s`` seconds on
average, and callers wait at most an exponential patience of mean ``patience_s`` seconds before
hanging up (Erlang A, M/M/n+M; Erlang C when the patience is infinite). A queue needs the fewest
agents ``n`` such that both

* the service level ``P(answered within answer_within_s)`` (over all callers, abandoned ones
  counting as not answered) is at least the target, and
* the abandonment probability is at most ``abandon_max``.

Both are monotone in ``n``; :func:`surgeplan.teletraffic.erlang_a_agents` finds the smallest
``n`` for every (queue, period) row at once.
"""

from __future__ import annotations

import numpy as np

from surgeplan import teletraffic as tt
from surgeplan.dimension._common import Sizing, positive

#: Targets are clipped into the open interval the Erlang A inverse accepts.
_TINY = 1e-12


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
        a lower bound because agents needed grow less than proportionally with load; NaN for
        an idle queue), ``shortfall`` = calls abandoned per hour with the installed agents.

    References
    ----------
    O. Garnett, A. Mandelbaum, M. Reiman, "Designing a call center with impatient customers",
    Manufacturing & Service Operations Management 4(3), 2002 (Erlang A).
    """
    x, n, sl, aht, pat, aw, amax = (
        np.asarray(v, dtype=np.float64)
        for v in np.broadcast_arrays(
            load, capacity, service_level_target, aht_s, patience_s, answer_within_s, abandon_max
        )
    )
    x = positive(x)
    lam = x / 3600.0
    needed = np.asarray(
        tt.erlang_a_agents(
            lam, aht, pat, np.clip(sl, _TINY, 1.0 - _TINY), aw, max_abandon=np.clip(amax, _TINY, 1.0)
        ),
        dtype=np.float64,
    )
    needed = np.where(lam > 0, needed, 0.0)
    # Erlang A takes whole agents: a fraction of an installed agent answers nobody.
    m = tt.erlang_a(lam, aht, pat, np.floor(np.maximum(n, 0.0)), aw)
    gos = np.asarray(m.service_level, dtype=np.float64)
    aband = np.asarray(m.abandon_probability, dtype=np.float64)
    # No calls -> no scale to extrapolate from: carriable unknown (NaN), never a reroute target.
    busy = (lam > 0) & (needed > 0)
    carriable = np.where(busy, x * n / np.where(busy, needed, 1.0), np.nan)
    return Sizing(needed, gos, carriable, x * aband, "service_level", "calls_abandoned_per_hour")
