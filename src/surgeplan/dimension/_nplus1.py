"""Compiled N+1 module upgrades of many small link groups at once (private).

:func:`equal_module_blocks` runs :func:`surgeplan.dimension.link.n_plus_one_modules` over every
short (group, period) block of a dimensioning call in one compiled loop, for the blocks it solves
exactly as that function does: one module size in the block (``numpy.allclose``) and at most
:data:`MAX_MEMBERS` members. The arithmetic is the same operations in the same order (sums of a
row are sequential: numpy sums fewer than 8 terms left to right), so the modules are the same to
the bit; other blocks (mixed module sizes: an integer program; larger groups) are left to the
Python path. A loop over ~15,000 blocks of 2-4 links was the driver's largest step of a plan
(3.7 s at 1,929 resources, ``docs/SCALE.md``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["DONE", "MAX_MEMBERS", "PYTHON", "SKIP", "equal_module_blocks"]

#: most members of a block solved here: numpy sums 8 or more terms pairwise, not left to right
MAX_MEMBERS = 7
#: block status: modules written / no feasible upgrade (the need stays scaled) / left to Python
DONE, SKIP, PYTHON = 0, 1, 2
_ALLCLOSE_RTOL, _ALLCLOSE_ATOL = 1e-5, 1e-8  # numpy.allclose's defaults


@njit(cache=True)
def _seq_sum(x):
    s = 0.0
    for v in x:
        s += v
    return s


@njit(cache=True)
def _before(a0, a1, a2, b0, b1, b2):
    """(a0, a1, a2) < (b0, b1, b2), lexicographically."""
    if a0 != b0:
        return a0 < b0
    if a1 != b1:
        return a1 < b1
    return a2 < b2


@njit(cache=True)
def _equal_modules(c, m, p, lo, hi, required, eps, out):
    """``link._equal_modules`` for one block: modules per member into ``out``; False if none."""
    k = c.size
    base = c + lo * m
    top = np.empty(k)
    for i in range(k):
        top[i] = c[i] + hi[i] * m if np.isfinite(hi[i]) else np.inf
    m0 = base.max()
    span = int(np.ceil((required + m) / m)) + 1
    cand = np.empty(k * (span + 1))
    for i in range(k):
        first = np.ceil((m0 - c[i]) / m - eps)
        for s in range(span + 1):
            cand[i * (span + 1) + s] = c[i] + (first + s) * m
    levels = np.unique(cand)
    upper = -np.inf
    for i in range(k):
        upper = max(upper, min(top[i], m0 + (span + 1) * m))
    levels = levels[(levels >= m0 - eps) & (levels <= upper + eps)]
    if levels.size == 0:
        return False
    order = np.argsort(p, kind="mergesort")
    base_sum = _seq_sum(base)
    best, best_cost, best_units, best_level = -1, np.inf, np.inf, np.inf
    take_best = np.zeros(k)
    take = np.empty(k)
    for li in range(levels.size):
        level = levels[li]
        need = max(np.ceil((required + level - base_sum) / m - eps), 0.0)
        room, cost, units = 0.0, 0.0, 0.0
        for j in range(k):
            i = order[j]
            cap = min(max(np.floor((level - c[i]) / m + eps), lo[i]), hi[i])
            r = cap - lo[i]
            room += r
            before = room - r  # numpy's cumsum(r) - r, to the bit
            take[j] = min(max(need - before, 0.0), r)
            cost += take[j] * p[i]
            units += take[j]
        if not room >= need - eps:
            continue
        # cheapest level; among equals the fewest modules, then the lowest level (numpy.lexsort)
        if best < 0 or _before(cost, units, level, best_cost, best_units, best_level):
            best, best_cost, best_units, best_level = li, cost, units, level
            take_best[:] = take
    if best < 0:
        return False
    for i in range(k):
        out[i] = lo[i]
    for j in range(k):
        out[order[j]] += take_best[j]
    for i in range(k):
        out[i] = np.rint(out[i])
    return True


@njit(cache=True)
def equal_module_blocks(starts, c, m, p, lo, hi, required, eps):
    """Modules to add per row (NaN where not solved here) and each block's status.

    Rows are grouped in blocks ``starts[b]:starts[b + 1]``; ``c, m, p, lo, hi`` per row as
    :func:`surgeplan.dimension.link.n_plus_one_modules` takes them (``hi`` the first try's bound:
    when it leaves no upgrade, the block is solved again without it, as the Python path does),
    ``required`` per block (Gbps).
    """
    nb = starts.size - 1
    out = np.full(c.size, np.nan)
    status = np.full(nb, PYTHON, dtype=np.int8)
    for b in range(nb):
        s, e = starts[b], starts[b + 1]
        k = e - s
        mb = m[s:e]
        ok = 2 <= k <= MAX_MEMBERS and np.isfinite(required[b])
        for i in range(k):
            ok = ok and np.isfinite(mb[i]) and mb[i] > 0 and np.isfinite(p[s + i])
            ok = ok and abs(mb[i] - mb[0]) <= _ALLCLOSE_ATOL + _ALLCLOSE_RTOL * abs(mb[0])
        if not ok:
            continue
        base = c[s:e] + lo[s:e] * mb
        if _seq_sum(base) - base.max() >= required[b] * (1 - eps) - eps:
            out[s:e] = lo[s:e]
            status[b] = DONE
            continue
        a = np.empty(k)
        if _equal_modules(c[s:e], mb[0], p[s:e], lo[s:e], hi[s:e], required[b], eps, a):
            status[b] = DONE
        elif _equal_modules(c[s:e], mb[0], p[s:e], lo[s:e], np.full(k, np.inf), required[b], eps, a):
            status[b] = DONE
        else:
            status[b] = SKIP
            continue
        out[s:e] = a
    return out, status
