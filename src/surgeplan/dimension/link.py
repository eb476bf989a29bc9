"""Sizing rule for ``link``: busy-hour utilisation ceiling, kept after the largest member fails (N+1).

How group load and member capacities combine
--------------------------------------------
The members of a link group (resources of kind ``link`` sharing ``group``: the links of a bundle,
or parallel routes) back each other up. surgeplan assumes the group's traffic is spread over the
working members **in proportion to their capacity** (weighted ECMP / LAG hashing), so when member
``f`` fails every survivor runs at the same utilisation ``L_g / (C_g - c_f)``, where

* ``L_g`` = sum of the members' busy-hour loads in the period (Gbps). Summing per-member
  busy-hour loads assumes the busy hours coincide, which can only overstate the group's
  busy-hour load (conservative);
* ``C_g`` = sum of the members' installed capacities (Gbps).

The worst single failure is the largest member, so the **N+1 utilisation** is
``u_fail = L_g / (C_g - max c)``. Two conditions must hold for every member ``i``:

1. normal state: ``load_i <= ceiling_i x c_i``;
2. N+1 (groups of two or more links): ``u_fail <= ceiling_g``, with ``ceiling_g`` the strictest
   ceiling in the group.

The capacity member ``i`` needs is therefore ``max(load_i / ceiling_i, c_i x u_fail / ceiling_g)``:
scaling every member by the same factor ``u_fail / ceiling_g`` keeps the hashing weights and
brings the post-failure utilisation exactly to the ceiling; any rounding *up* to whole modules
keeps condition 2 (the surviving capacity after the largest upgraded member fails is at least
``L_g / ceiling_g``), so a plan that gives every member its ``needed`` passes re-dimensioning.
A link alone in its group (or with an empty ``group``) has no N+1 condition: a single link cannot
survive its own failure, which the planner sees as ``group_size == 1``.
"""

from __future__ import annotations

import numpy as np

from surgeplan.dimension._common import Sizing, positive


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


def size_link(
    load: np.ndarray,
    capacity: np.ndarray,
    ceiling: np.ndarray,
    group_load: np.ndarray | None = None,
    group_capacity: np.ndarray | None = None,
    group_largest: np.ndarray | None = None,
    group_ceiling: np.ndarray | None = None,
    group_size: np.ndarray | None = None,
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
        gl, gc, gm, gu, gs = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(
            group_load, group_capacity, group_largest, group_ceiling, group_size))
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
        gos = np.where(n1, np.maximum(util, u_fail), util)
    carriable = u * c
    return Sizing(needed, gos, carriable, u * positive(needed - c), "utilization", "gbps_over_ceiling")
