"""The retrial queue's exact chain (private): the 2-D chain truncated to a busy-circuit window and an
orbit height that grow until the boundary levels carry almost nothing, solved by a sparse LU. Model:
:mod:`surgeplan.teletraffic.retrial`. Rates are per mean holding time, traffic in Erlangs.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve

from surgeplan.errors import SurgeplanError
from surgeplan.teletraffic._retrial_closure import _closure, _measures, _window_low

#: Largest truncated chain (busy-circuit levels x orbit levels) solved exactly; beyond it the
#: approximation applies. A sparse LU of 150,000 states takes about a second.
EXACT_MAX_STATES = 150_000

#: Probability allowed on a truncation boundary level of the exact chain.
_BOUNDARY_MASS = 1e-12


def _exact(a: float, n: int, p: float, d: float, *, raise_if_big: bool) -> tuple[float, float, float] | None:
    """Solve the truncated chain; grow the window until the boundary levels carry < 1e-12."""
    theta = 1.0 / d
    lo = _window_low(a, n, p)
    _, pi, (mean, var) = _closure(a, n, p, d, lo)
    mode = int(np.argmax(pi))
    anchor = (lo + mode, round(float(mean[mode])))
    top = _first_top(mean[pi > 1e-9], var[pi > 1e-9])
    while True:
        if (n - lo + 1) * (top + 1) > EXACT_MAX_STATES:
            if raise_if_big:
                raise SurgeplanError(
                    f"the retrial chain for traffic {a:g} E, {n} circuits, redial delay {d:g} needs more "
                    f"than {EXACT_MAX_STATES} states; use method='approximate' or 'auto'"
                )
            return None
        prob = _solve_chain(a, n, p, theta, lo, top, anchor)
        grow = False
        if prob[-1].sum() > _BOUNDARY_MASS:
            top = _taller(prob.sum(axis=1), top)
            grow = True
        if lo > 0 and prob[:, 0].sum() > _BOUNDARY_MASS:
            lo = max(lo - max((n - lo) // 2, 10), 0)
            grow = True
        if not grow:
            break
    j = np.arange(top + 1, dtype=np.float64)
    return _measures(
        a, p, theta, float(prob[:, -1].sum()), float(j @ prob[:, -1]), float(j @ prob.sum(axis=1))
    )


def _first_top(mean: np.ndarray, var: np.ndarray) -> int:
    """Orbit truncation from the approximation's conditional means and variances.

    Mean + 12 standard deviations, or where over-dispersed the level where the geometric tail of a
    negative binomial with those moments falls to 1e-14 (``ln 1e-14 / ln q``, ``q = 1 - mean /
    var``) if higher: one solve of a somewhat taller chain costs less than a second solve.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(var > mean, 1.0 - mean / np.where(var > mean, var, 1.0), 0.0)
        tail = np.where(q > 0.0, math.log(1e-14) / np.log(np.where(q > 0.0, q, 0.5)), 0.0)
    top = np.max(np.maximum(mean + 12.0 * np.sqrt(var), tail), initial=0.0)
    return math.ceil(top + 10.0)


def _taller(orbit: np.ndarray, top: int) -> int:
    """A new orbit truncation: the level where the tail, extrapolated geometrically, is negligible.

    The decay rate is read off the orbit distribution between 60% and 80% of the current top
    (clear of the truncation); heavy tails (fast redials with persistent callers) need several
    times the Poisson-based first guess, and guessing well saves whole re-solves.
    """
    j1, j2 = int(0.6 * top), int(0.8 * top)
    q1, q2 = orbit[j1], orbit[j2]
    grown = int(top * 1.5) + 10
    if j2 > j1 and 0.0 < q2 < q1:
        rate = math.log(q2 / q1) / (j2 - j1)  # log of the per-level decay, < 0
        need = j2 + math.log(0.01 * _BOUNDARY_MASS / q2) / rate
        if math.isfinite(need):
            grown = max(grown, min(int(1.1 * need) + 10, 8 * top))
    return grown


def _solve_chain(
    a: float, n: int, p: float, theta: float, lo: int, top: int, anchor: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """Stationary probabilities ``P[j, n - lo]`` of the chain on ``lo..n`` x ``0..top``.

    The balance equation of the ``anchor`` state ``(n, j)`` (pick a likely one so nothing
    underflows) is replaced by ``P(anchor) = 1``; normalising afterwards keeps the matrix as
    sparse as the chain (a row of ones would fill the LU factors).
    """
    width = n - lo + 1
    size = width * (top + 1)
    busy = np.tile(np.arange(lo, n + 1), top + 1)
    orbit = np.repeat(np.arange(top + 1), width)
    state = np.arange(size)
    free, full = busy < n, busy == n
    moves = (
        (free, state + 1, np.full(size, a)),  # fresh call served
        (free & (orbit > 0), state - width + 1, orbit * theta),  # redial served
        (busy > lo, state - 1, busy.astype(np.float64)),  # call ends (reflecting at lo)
        (full & (orbit < top), state + width, np.full(size, a * p)),  # blocked, joins the orbit
        (full & (orbit > 0), state - width, orbit * theta * (1.0 - p)),  # blocked redial gives up
    )
    src = np.concatenate([state[m] for m, _, _ in moves])
    dst = np.concatenate([to[m] for m, to, _ in moves])
    rate = np.concatenate([r[m] for m, _, r in moves])
    out = np.bincount(src, weights=rate, minlength=size)
    fix = min(max(anchor[1], 0), top) * width + min(max(anchor[0] - lo, 0), width - 1)
    keep = dst != fix
    rows = np.concatenate([dst[keep], state, [fix]])
    cols = np.concatenate([src[keep], state, [fix]])
    vals = np.concatenate([rate[keep], np.where(state == fix, 0.0, -out), [1.0]])
    mat = sparse.csc_matrix((vals, (rows, cols)), shape=(size, size))
    rhs = np.zeros(size)
    rhs[fix] = 1.0
    prob = np.maximum(spsolve(mat, rhs), 0.0)
    return (prob / prob.sum()).reshape(top + 1, width)
