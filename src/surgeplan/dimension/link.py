"""Sizing rule for ``link``: busy-hour utilisation ceiling, kept after the largest member fails (N+1).

What the link grade of service means (the one meaning used everywhere, see ``surgeplan.kinds``)
---------------------------------------------------------------------------------------------
The busy-hour utilisation of every link stays at or under its ceiling (default 0.7)

1. with every member of its group up, each member on its own load: ``load_i <= u_i c_i``; and
2. after any single member of its group fails (N+1), the group's traffic spread over the
   surviving members in proportion to their capacity (weighted ECMP / LAG hashing): every
   survivor then runs at ``L_g / (C_g - c_f)``, worst for the largest member ``f``.

A link alone (empty ``group``, or the only link of its group) has condition 1 only: its own
failure cannot be survived by itself; to protect it, put it in a group with a backup link. The
unit of failure is an inventory resource, never a module inside it (a bundle of equal modules that
must survive a module failure is a group of one-module links, or ``teletraffic.link_capacity`` with
``n_plus_one=True``).

Notation: ``L_g`` = sum of the members' busy-hour loads in the period (Gbps; summing per-member
busy hours assumes they coincide, which can only overstate the group's busy hour), ``C_g`` = sum of
the installed capacities (Gbps), ``u_g`` = the strictest ceiling in the group. Condition 2 reads

.. math:: C_g - \\max_i c_i \\ge R_g = L_g / u_g .

Capacity needed at minimum cost
-------------------------------
Capacity comes in whole modules ``m_i`` at ``p_i`` each. The cheapest upgrade ``a_i`` (modules) of
a group short on condition 2 solves

.. math:: \\min \\sum_i p_i a_i \\quad\\text{s.t.}\\quad \\sum_i c'_i - \\max_i c'_i \\ge R_g,\\;
          c'_i = c_i + a_i m_i,\\; a_i \\ge \\lceil (load_i/u_i - c_i)/m_i \\rceil^+ .

Adding to the largest member buys nothing (its capacity is exactly what a failure removes), so
scaling every member by ``u_fail / u_g`` over-builds: links of 400G and 100G at 200 + 50 Gbps with
a 0.6 ceiling and 100G modules need 1 + 4 modules (500G + 500G, 250/500 = 0.5 after either
fails), where scaling asks for 13 + 4. :func:`n_plus_one_modules` solves the problem exactly:
with one module size in the group, for each candidate level ``M`` of the largest member the others
are capped at ``M`` and the cheapest fill of ``R_g + M - sum c`` is greedy by module price (unit
items); different module sizes in one group fall back on a small integer program (HiGHS). Each
member's ``needed`` is then its capacity after that upgrade; a group that already holds gets
``max(load_i / u_i, c_i u_fail / u_g)`` (at most ``c_i``), so ``gos_ok`` means "nothing to add here".
"""

from __future__ import annotations

import numpy as np

from surgeplan.dimension import _nplus1
from surgeplan.dimension._common import Sizing, positive

#: Slack when turning Gbps into whole modules (float noise only).
_EPS = 1e-9


def link_group_stats(
    group_code: np.ndarray,
    period_code: np.ndarray,
    load: np.ndarray,
    member_group_code: np.ndarray,
    member_capacity: np.ndarray,
    member_ceiling: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Group aggregates, broadcast back to each (resource, period) row. Vectorized (bincount).

    Parameters
    ----------
    group_code, period_code : ndarray of int
        Dense 0-based codes of each row's link group and period.
    load : ndarray
        Each row's busy-hour load, Gbps.
    member_group_code, member_capacity, member_ceiling : ndarray
        One entry per link in the inventory: its group code, installed capacity (Gbps) and
        utilisation ceiling. Capacities come from the inventory, not from the rows, so a member
        without forecasts still counts as a survivor.

    Returns
    -------
    group_load, group_capacity, group_largest, group_ceiling, group_size : ndarray
        Per row: ``L_g`` (Gbps, this period), ``C_g``, ``max c`` (Gbps), strictest ceiling and
        number of members of the row's group.
    """
    n_groups = int(max(group_code.max(initial=-1), member_group_code.max(initial=-1))) + 1
    n_periods = int(period_code.max(initial=-1)) + 1
    key = group_code.astype(np.int64) * max(n_periods, 1) + period_code
    group_load = np.bincount(key, weights=load, minlength=n_groups * max(n_periods, 1))[key]
    cap = np.bincount(member_group_code, weights=member_capacity, minlength=n_groups)
    size = np.bincount(member_group_code, minlength=n_groups)
    largest = np.zeros(n_groups)
    np.maximum.at(largest, member_group_code, member_capacity)
    ceil = np.full(n_groups, np.inf)
    np.minimum.at(ceil, member_group_code, member_ceiling)
    return group_load, cap[group_code], largest[group_code], ceil[group_code], size[group_code]


def n_plus_one_modules(
    capacity: np.ndarray,
    module_size: np.ndarray,
    module_cost: np.ndarray,
    required: float,
    min_modules: np.ndarray | None = None,
    max_modules: np.ndarray | None = None,
) -> np.ndarray:
    """Cheapest whole modules to add to a group's members so it keeps ``required`` after any one fails.

    Solves ``min sum p_i a_i`` subject to ``sum c'_i - max c'_i >= required``, ``c'_i = c_i + a_i
    m_i`` and ``min_modules <= a <= max_modules`` (see the module docstring).

    Parameters
    ----------
    capacity : array_like
        Installed capacity of each member, Gbps.
    module_size : array_like
        Module size of each member, Gbps (> 0).
    module_cost : array_like
        Price of one module of each member (currency); 0 is allowed.
    required : float
        Capacity that must survive the worst single failure, Gbps (``L_g / u_g``).
    min_modules, max_modules : array_like, optional
        Bounds on the modules added per member (default 0 and unbounded).

    Returns
    -------
    ndarray of int64
        Modules to add per member. Raises ``ValueError`` when the bounds make it impossible
        (fewer than two members, or ``max_modules`` too small).

    References
    ----------
    N+1 protection of a group of links as in ITU-T G.808.1; weighted ECMP hashing, IETF RFC 2992.
    """
    c, m, p = (np.asarray(v, dtype=np.float64).ravel() for v in (capacity, module_size, module_cost))
    k = c.size
    lo = np.zeros(k) if min_modules is None else np.asarray(min_modules, dtype=np.float64).ravel()
    hi = np.full(k, np.inf) if max_modules is None else np.asarray(max_modules, dtype=np.float64).ravel()
    if k < 2:
        raise ValueError("N+1 needs a group of at least two members")
    base = c + lo * m
    if base.sum() - base.max() >= required * (1 - _EPS) - _EPS:
        return lo.astype(np.int64)
    if np.allclose(m, m[0]):
        out = _equal_modules(c, m[0], p, lo, hi, required)
    else:
        out = _milp(c, m, p, lo, hi, required)
    if out is None:
        raise ValueError("N+1 cannot be reached within max_modules")
    return out


def _equal_modules(c, m, p, lo, hi, required):
    """Exact solver when every member has the same module size ``m`` (vectorized over levels)."""
    base = c + lo * m
    top = np.where(np.isfinite(hi), c + hi * m, np.inf)
    # Candidate levels of the largest member: each member's reachable capacities from the largest
    # base up to where one member alone could absorb the whole requirement.
    m0 = base.max()
    span = int(np.ceil((required + m) / m)) + 1
    steps = np.arange(span + 1, dtype=np.float64)
    levels = np.unique(np.concatenate([c_i + (np.ceil((m0 - c_i) / m - _EPS) + steps) * m for c_i in c]))
    levels = levels[(levels >= m0 - _EPS) & (levels <= np.max(np.minimum(top, m0 + (span + 1) * m)) + _EPS)]
    if levels.size == 0:
        return None
    order = np.argsort(p, kind="stable")
    # caps per level: a member may rise to the level (not above), within max_modules
    cap = np.floor((levels[:, None] - c[None, :]) / m + _EPS)
    cap = np.minimum(np.maximum(cap, lo[None, :]), hi[None, :])
    room = cap - lo[None, :]
    # units still needed beyond the mandatory ones: sum c' >= required + level
    need = np.ceil((required + levels - base.sum()) / m - _EPS)
    need = np.maximum(need, 0.0)
    r = room[:, order]
    before = np.cumsum(r, axis=1) - r
    take = np.clip(need[:, None] - before, 0.0, r)
    ok = r.sum(axis=1) >= need - _EPS
    if not ok.any():
        return None
    cost = (take * p[order][None, :]).sum(axis=1)
    cost = np.where(ok, cost, np.inf)
    # cheapest level; among equals the fewest modules, then the lowest level
    best = np.lexsort((levels, take.sum(axis=1), cost))[0]
    a = lo.copy()
    a[order] += take[best]
    return np.round(a).astype(np.int64)


def _milp(c, m, p, lo, hi, required):
    """Integer program for groups mixing module sizes: for every f, sum_{i != f} (c_i + m_i a_i) >= R."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    k = c.size
    a_mat = np.tile(m, (k, 1))
    np.fill_diagonal(a_mat, 0.0)
    rhs = required - (c.sum() - c)
    res = milp(
        c=p + 1e-9 * m,
        constraints=LinearConstraint(a_mat, rhs - _EPS, np.inf),
        integrality=np.ones(k),
        bounds=Bounds(lo, hi),
    )
    if res.status != 0 or res.x is None:
        return None
    return np.round(res.x).astype(np.int64)


def size_link(
    load: np.ndarray,
    capacity: np.ndarray,
    ceiling: np.ndarray,
    group_load: np.ndarray | None = None,
    group_capacity: np.ndarray | None = None,
    group_largest: np.ndarray | None = None,
    group_ceiling: np.ndarray | None = None,
    group_size: np.ndarray | None = None,
    *,
    block: np.ndarray | None = None,
    module_size: np.ndarray | None = None,
    module_cost: np.ndarray | None = None,
    max_capacity: np.ndarray | None = None,
) -> Sizing:
    """Capacity a link needs for its utilisation ceiling, with N+1 on its group.

    Parameters
    ----------
    load : array_like
        Busy-hour load on the link, Gbps.
    capacity : array_like
        Installed capacity of the link, Gbps.
    ceiling : array_like
        Busy-hour utilisation ceiling of the link (e.g. 0.7), dimensionless.
    group_load, group_capacity, group_largest, group_ceiling, group_size : array_like, optional
        Group aggregates from :func:`link_group_stats`. Omitted: every link is alone (no N+1).
    block : array_like of int, optional
        (group, period) code of each row. With ``module_size`` it turns on the minimum-cost
        N+1 upgrade (:func:`n_plus_one_modules`) for the groups short on N+1; without it (or
        where module sizes are missing) every member is scaled by ``u_fail / u_g`` instead (a
        feasible, not minimal, upgrade).
    module_size, module_cost, max_capacity : array_like, optional
        Per row: module size (Gbps), module price and most capacity the link can take (Gbps).

    Returns
    -------
    Sizing
        ``needed`` Gbps (see the module docstring), ``gos`` = the worse of normal-state and
        post-failure utilisation with the installed capacity, ``carriable = ceiling x capacity``
        (normal-state load the link can take, Gbps), ``shortfall`` = Gbps over the ceiling
        (``ceiling x (needed - capacity)``, 0 when enough is installed).

    References
    ----------
    ITU-T E.500 (busy-hour measurement); IETF RFC 2992 (ECMP hashing spreads flows over equal
    or weighted next hops); N+1 redundancy engineering as in ITU-T G.808.1 (protection).
    """
    x, c, u = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(load, capacity, ceiling))
    x = positive(x)
    own = x / u
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(c > 0, x / c, np.where(x > 0, np.inf, 0.0))
    if group_size is None:
        needed, gos = own, util
    else:
        gl, gc, gm, gu, gs = (
            np.asarray(v, dtype=np.float64)
            for v in np.broadcast_arrays(group_load, group_capacity, group_largest, group_ceiling, group_size)
        )
        survivors = gc - gm
        with np.errstate(divide="ignore", invalid="ignore"):
            u_fail = np.where(survivors > 0, gl / survivors, np.where(gl > 0, np.inf, 0.0))
        n1 = gs >= 2
        # c_i x u_fail / ceiling_g; a zero-capacity member of a starved group gets no share.
        with np.errstate(invalid="ignore"):
            scaled = np.where(n1 & (c > 0), c * u_fail / gu, 0.0)
        # A group with no surviving capacity cannot be sized by scaling: give each member what
        # the whole group load needs at the ceiling (the planner then adds modules everywhere).
        scaled = np.where(n1 & ~np.isfinite(scaled), gl / gu, scaled)
        needed = np.maximum(own, scaled)
        if block is not None and module_size is not None:
            needed = _min_cost_needed(
                needed,
                own,
                x,
                c,
                u,
                gl,
                gu,
                n1 & (u_fail > gu * (1 + _EPS)),
                np.asarray(block),
                module_size,
                module_cost,
                max_capacity,
            )
        gos = np.where(n1, np.maximum(util, u_fail), util)
    carriable = u * c
    return Sizing(needed, gos, carriable, u * positive(needed - c), "utilization", "gbps_over_ceiling")


def _min_cost_needed(needed, own, x, c, u, gl, gu, short, block, module_size, module_cost, max_capacity):
    """Replace the scaled need of the rows of groups short on N+1 by the minimum-cost upgrade.

    Each short (group, period) block is solved at once over its members
    (:func:`n_plus_one_modules`): the blocks of one module size and few members in one compiled
    loop (:func:`surgeplan.dimension._nplus1.equal_module_blocks`, the same arithmetic), the
    others one by one. Rows whose block lacks module sizes keep the scaled need.
    """
    n = x.size
    ms = np.broadcast_to(np.asarray(module_size, dtype=np.float64), (n,))
    mc = np.broadcast_to(np.asarray(1.0 if module_cost is None else module_cost, dtype=np.float64), (n,))
    mx = np.broadcast_to(np.asarray(np.inf if max_capacity is None else max_capacity, dtype=np.float64), (n,))
    out = needed.copy()
    rows = np.flatnonzero(short)
    if rows.size == 0:
        return out
    order = rows[np.argsort(block[rows], kind="stable")]
    starts = np.r_[0, np.flatnonzero(np.diff(block[order])) + 1, order.size]
    m, cr = ms[order], c[order]
    with np.errstate(divide="ignore", invalid="ignore"):  # rows of blocks without module sizes
        lo = np.maximum(np.ceil((own[order] - cr) / m - _EPS), 0.0)
        hi = np.maximum(np.floor((np.where(np.isnan(mx[order]), np.inf, mx[order]) - cr) / m + _EPS), lo)
    cost = np.nan_to_num(mc[order], nan=1.0)
    head = order[starts[:-1]]
    required = gl[head] / gu[head]  # per block
    a, status = _nplus1.equal_module_blocks(starts, cr, m, cost, lo, hi, required, _EPS)
    solved = np.repeat(status == _nplus1.DONE, np.diff(starts))
    out[order[solved]] = np.maximum(cr[solved] + a[solved] * m[solved], own[order[solved]])
    for b in np.flatnonzero(status == _nplus1.PYTHON):
        s, e = starts[b], starts[b + 1]
        r = order[s:e]
        if r.size < 2 or not np.all(np.isfinite(m[s:e]) & (m[s:e] > 0)):
            continue
        try:
            add = n_plus_one_modules(cr[s:e], m[s:e], cost[s:e], required[b], lo[s:e], hi[s:e])
        except ValueError:
            try:  # max_capacity too tight: the need ignores it (the planner caps and reports)
                add = n_plus_one_modules(cr[s:e], m[s:e], cost[s:e], required[b], lo[s:e], None)
            except ValueError:
                continue
        out[r] = np.maximum(cr[s:e] + add * m[s:e], own[r])
    return out
