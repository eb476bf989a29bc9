r"""Where lost load goes: a linear program per connected component and scenario (HiGHS).

For a scenario with failed set ``F``, the components of the network touching ``F`` are solved;
all other resources keep their baseline (own load carried up to the hard limit). In a touched
component, with ``o_i`` the offered load, ``H_i`` the hard limit and ``K_i`` the load carried at
the GoS target (all in the kind's load unit):

* ``keep_i`` (surviving ``i``): own load carried in place, ``0 <= keep_i <= o_i``;
* ``x_e`` (edge ``e = f -> d``, ``f`` failed, ``d`` surviving): load moved, ``<= max_load_e``;
* ``u_i``: unserved load of ``i`` (its own load, placed nowhere);
* ``s_ik``: load above ``K_i`` on a survivor, in segments ``k`` of widths ``(H_i - K_i) x
  (0.1, 0.15, 0.25, 0.5)`` with slopes ``(1, 2, 4, 8) / H_i`` (convex: damage grows faster the
  fuller a survivor is, so excess load is spread rather than piled on one resource).

.. math::

    \min \sum_i W_{p(i)} u_i + \sum_{i,k} \frac{g_k\, s_{ik}}{H_i} + \mu \sum_e x_e

subject to conservation ``keep_i + sum_{e from i} x_e + u_i = o_i`` (``keep_i = 0`` when ``i``
failed), the hard limit ``keep_d + sum_{e to d} x_e <= H_d`` and the GoS segments
``keep_d + sum_{e to d} x_e - sum_k s_dk <= K_d``. Only a lost resource's load moves (to
surviving members of its group and along the routes); a survivor's own load is carried in place or
shed. Priority is lexicographic through weights that provably dominate: serving one more unit of
``i``'s load changes the other terms by at most ``n_b (4 / H_min + mu)`` (an augmenting chain
through at most ``n_b`` resources of the block, each step one unit at a per-unit damage of at
most ``g_max / H_min``), so ``W_standard = 2 n_b (g_max / H_min + mu)`` puts unserved load first, and
``W_vital = 3 W_standard`` serves vital load before standard load on the same alternative
(swapping one unit on one destination leaves its damage unchanged). ``mu = 0.01 / H_max`` only
breaks ties (no load moves without a reason).

All blocks of a batch go into one block-diagonal LP built with sparse matrices (never one LP per
resource); ``mode='hashing'`` replaces the LP for link groups by proportional spreading over the
surviving capacity (LAG / ECMP).

References
----------
Q. Huangfu, J. A. J. Hall, "Parallelizing the dual revised simplex method", Math. Prog. Comp. 10
(2018) (HiGHS); IETF RFC 2992 (ECMP hashing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from surgeplan.continuity.network import Network
from surgeplan.errors import SurgeplanError

__all__ = ["Redistribution", "baseline", "redistribute"]

#: Rows per LP batch (blocks are never split); bounds memory on sweeps of 10,000 resources.
BATCH_ROWS = 60_000
#: GoS-damage segments above the carriable load: widths (shares of ``H - K``) and slopes (per unit
#: of load, times ``1 / H``). Convex, so excess load is spread over the survivors.
WIDTHS = (0.1, 0.15, 0.25, 0.5)
SLOPES = (1.0, 2.0, 4.0, 8.0)


@dataclass
class Redistribution:
    """Touched rows of every scenario: ``scenario`` (index), ``resource`` (position) and loads.

    ``offered = carried + unserved``; ``offered`` is the load offered to the resource after
    redistribution (its own load kept, load received, its own load placed nowhere). Flows are
    ``flow_scenario, flow_src, flow_dst, flow_load``.
    """

    scenario: np.ndarray
    resource: np.ndarray
    failed: np.ndarray
    offered: np.ndarray
    carried: np.ndarray
    unserved: np.ndarray
    flow_scenario: np.ndarray
    flow_src: np.ndarray
    flow_dst: np.ndarray
    flow_load: np.ndarray


def baseline(net: Network) -> tuple[np.ndarray, np.ndarray]:
    """No failure: own load carried up to the hard limit. Returns ``(carried, unserved)``."""
    carried = np.minimum(net.load, net.hard)
    return carried, net.load - carried


def _blocks(net: Network, failed: list[np.ndarray]):
    """Block rows: (scenario, component) blocks touched by a failure, all members of each."""
    n = net.n
    fs = np.repeat(np.arange(len(failed)), [f.size for f in failed]).astype(np.int64)
    fr = np.concatenate(failed).astype(np.int64) if failed else np.zeros(0, np.int64)
    fkey = np.unique(fs * n + fr)
    bkey = np.unique(fs * (net.component.max() + 1) + net.component[fr])
    ncomp = net.component.max() + 1
    bs, bc = bkey // ncomp, bkey % ncomp
    order = np.argsort(net.component, kind="stable")
    size = np.bincount(net.component, minlength=ncomp)
    ptr = np.r_[0, np.cumsum(size)]
    pos_in_comp = np.empty(n, np.int64)
    pos_in_comp[order] = np.arange(n) - ptr[net.component[order]]
    bsize = size[bc]
    bstart = np.r_[0, np.cumsum(bsize)][:-1]
    rb = np.repeat(np.arange(bs.size), bsize)
    within = np.arange(rb.size) - bstart[rb]
    res = order[ptr[bc[rb]] + within]
    sc = bs[rb]
    is_failed = np.isin(sc * n + res, fkey)
    return bs, bc, bstart, bsize, rb, res, sc, is_failed, pos_in_comp


def redistribute(net: Network, failed: list[np.ndarray]) -> Redistribution:
    """Redistribute the load of every scenario's failed resources (see the module docstring).

    Parameters
    ----------
    net : Network
        From :func:`surgeplan.continuity.network.build_network`.
    failed : list of ndarray
        Per scenario, the positions of the failed resources.
    """
    bs, bc, bstart, bsize, rb, res, sc, is_failed, pos_in_comp = _blocks(net, failed)
    carried = np.zeros(res.size)
    unserved = np.zeros(res.size)
    flows = []
    hashed_block = np.zeros(bs.size, bool)
    if net.hashed.any():
        hashed_block = np.bincount(rb, weights=net.hashed[res], minlength=bs.size) == bsize
    hrow = hashed_block[rb]
    if hrow.any():
        flows.append(_hashing(net, rb, res, sc, is_failed, hrow, carried, unserved))
    lp_blocks = np.flatnonzero(~hashed_block)
    # batches of whole blocks
    cum = np.cumsum(bsize[lp_blocks])
    batch = cum // BATCH_ROWS
    for b in np.unique(batch):
        blocks = lp_blocks[batch == b]
        flows.append(
            _solve_batch(
                net, blocks, bs, bc, bstart, bsize, rb, res, sc, is_failed, pos_in_comp, carried, unserved
            )
        )
    offered = carried + unserved
    fl = [f for f in flows if f is not None and f[0].size]
    cat = lambda i, dt: np.concatenate([f[i] for f in fl]).astype(dt) if fl else np.zeros(0, dt)
    return Redistribution(
        sc,
        res,
        is_failed,
        offered,
        carried,
        unserved,
        cat(0, np.int64),
        cat(1, np.int64),
        cat(2, np.int64),
        cat(3, np.float64),
    )


def _hashing(net, rb, res, sc, is_failed, hrow, carried, unserved):
    """Link groups: the group's load spread over the survivors in proportion to their capacity."""
    rows = np.flatnonzero(hrow)
    blk = rb[rows]
    nb = rb.max() + 1
    o = net.load[res[rows]]
    cap = np.where(is_failed[rows], 0.0, net.capacity[res[rows]])
    total = np.bincount(blk, weights=o, minlength=nb)
    surv = np.bincount(blk, weights=cap, minlength=nb)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(surv[blk] > 0, total[blk] * cap / surv[blk], np.where(is_failed[rows], o, 0.0))
    lim = np.where(is_failed[rows], 0.0, net.hard[res[rows]])
    carried[rows] = np.minimum(share, lim)
    unserved[rows] = share - carried[rows]
    # flows: every failed member's load to every survivor, by capacity share
    f_rows = rows[is_failed[rows] & (surv[blk] > 0)]
    d_rows = rows[~is_failed[rows]]
    if f_rows.size == 0 or d_rows.size == 0:
        return None
    fb, db = rb[f_rows], rb[d_rows]
    order = np.argsort(db, kind="stable")
    d_sorted = d_rows[order]
    cnt = np.bincount(db, minlength=nb)
    ptr = np.r_[0, np.cumsum(cnt)]
    rep = cnt[fb]
    fr = np.repeat(f_rows, rep)
    start = np.repeat(ptr[fb], rep)
    within = np.arange(fr.size) - np.repeat(np.cumsum(rep) - rep, rep)
    dr = d_sorted[start + within]
    b = rb[fr]
    amount = net.load[res[fr]] * net.capacity[res[dr]] / surv[b]
    return sc[fr], res[fr], res[dr], amount


def _batch_edges(net, blocks, bc, bstart, pos_in_comp, local, fail, o, hard):
    """Edges of each block (its component's), kept when the source failed with load and the
    destination survives with some capacity. Returns edge ids and their local source/destination rows."""
    ncomp = net.component.max() + 1
    ecomp = net.component[net.src]
    eorder = np.argsort(ecomp, kind="stable")
    ecnt = np.bincount(ecomp, minlength=ncomp)
    eptr = np.r_[0, np.cumsum(ecnt)]
    k = ecnt[bc[blocks]]
    eb = np.repeat(blocks, k)
    if eb.size == 0:
        z = np.zeros(0, np.int64)
        return z, z, z
    within = np.arange(eb.size) - np.repeat(np.cumsum(k) - k, k)
    e = eorder[eptr[bc[eb]] + within]
    es = local[bstart[eb] + pos_in_comp[net.src[e]]]
    ed = local[bstart[eb] + pos_in_comp[net.dst[e]]]
    ok = fail[es] & ~fail[ed] & (o[es] > 0) & (hard[ed] > 0)
    return e[ok], es[ok], ed[ok]


def _block_weights(blk, fail, hard, bsize, nb):
    """Per block: unserved weights (standard, vital) and the move cost ``mu`` (module docstring)."""
    hmin = np.full(nb, np.inf)
    np.minimum.at(hmin, blk, np.where(~fail & (hard > 0), hard, np.inf))
    hmax = np.zeros(nb)
    np.maximum.at(hmax, blk, np.where(~fail, hard, 0.0))
    hmin = np.where(np.isfinite(hmin), hmin, 1.0)
    mu = 0.01 / np.where(hmax > 0, hmax, 1.0)
    w_std = 2.0 * bsize * (max(SLOPES) / hmin + mu) + 1e-9
    return w_std, 3.0 * w_std, mu


def _solve_batch(net, blocks, bs, bc, bstart, bsize, rb, res, sc, is_failed, pos_in_comp, carried, unserved):
    """One block-diagonal LP over ``blocks``; writes carried / unserved of their rows, returns flows."""
    rows = np.flatnonzero(np.isin(rb, blocks))
    r_res, blk, fail = res[rows], rb[rows], is_failed[rows]
    o, hard, carry = net.load[r_res], net.hard[r_res], net.carriable[r_res]
    nrow = rows.size
    local = np.full(rb.size, -1, np.int64)
    local[rows] = np.arange(nrow)
    e, es, ed = _batch_edges(net, blocks, bc, bstart, pos_in_comp, local, fail, o, hard)
    has_keep, has_u, has_seg = ~fail & (o > 0), o > 0, ~fail & (hard > 0) & (carry < hard)
    if not has_u.any():  # no load in these blocks: nothing to carry, nothing lost
        carried[rows] = 0.0
        unserved[rows] = 0.0
        return None
    v = _numbering(has_keep, has_u, has_seg, e.size)
    cost, ub = _cost_and_bounds(net, v, blk, fail, hard, carry, o, e, es, bsize, rb, r_res, has_seg)
    a_eq, a_ub, b_ub = _constraints(v, fail, hard, carry, es, ed, has_seg)
    lp = linprog(
        cost,
        A_ub=a_ub if a_ub.shape[0] else None,
        b_ub=b_ub if a_ub.shape[0] else None,
        A_eq=a_eq,
        b_eq=o[has_u],
        bounds=np.column_stack([np.zeros(v.n), ub]),
        method="highs",
    )
    if lp.status != 0:
        raise SurgeplanError(f"what-if LP failed: {lp.message}")
    xv = np.maximum(lp.x, 0.0)
    keep = np.zeros(nrow)
    keep[has_keep] = xv[v.keep[has_keep]]
    carried[rows] = keep + np.bincount(ed, weights=xv[v.x], minlength=nrow)
    unserved[rows] = 0.0
    unserved[rows[has_u]] = np.minimum(xv[v.u[has_u]], o[has_u])
    moved = xv[v.x] > 1e-9 * np.maximum(o[es], 1.0)
    return sc[rows[es[moved]]], r_res[es[moved]], r_res[ed[moved]], xv[v.x][moved]


class _Variables(NamedTuple):
    """Column of each LP variable, -1 where a row has none: kept load, unserved load, GoS segments
    (``len(SLOPES) x rows``), then one flow per edge."""

    keep: np.ndarray
    u: np.ndarray
    s: np.ndarray
    x: np.ndarray
    n_u: int
    n_seg: int
    n: int


def _numbering(has_keep: np.ndarray, has_u: np.ndarray, has_seg: np.ndarray, n_x: int) -> _Variables:
    """Number the variables: keep | u | segments (nseg x n_seg) | x."""
    nrow = has_keep.size
    n_keep, n_u, n_seg, nseg = int(has_keep.sum()), int(has_u.sum()), int(has_seg.sum()), len(SLOPES)
    v_keep = np.full(nrow, -1, np.int64)
    v_keep[has_keep] = np.arange(n_keep)
    v_u = np.full(nrow, -1, np.int64)
    v_u[has_u] = n_keep + np.arange(n_u)
    v_s = np.full((nseg, nrow), -1, np.int64)
    v_s[:, has_seg] = n_keep + n_u + np.arange(nseg)[:, None] * n_seg + np.arange(n_seg)[None, :]
    v_x = n_keep + n_u + nseg * n_seg + np.arange(n_x)
    return _Variables(v_keep, v_u, v_s, v_x, n_u, n_seg, n_keep + n_u + nseg * n_seg + n_x)


def _cost_and_bounds(net, v: _Variables, blk, fail, hard, carry, o, e, es, bsize, rb, r_res, has_seg):
    """Objective and upper bounds: unserved load weighted vital over standard, the convex GoS-damage
    segments above the carriable load, a small cost per unit of load moved."""
    has_keep, has_u = v.keep >= 0, v.u >= 0
    nseg = len(SLOPES)
    w_std, w_vital, mu = _block_weights(blk, fail, hard, bsize, rb.max() + 1)
    cost = np.zeros(v.n)
    ub = np.full(v.n, np.inf)
    cost[v.u[has_u]] = np.where(net.vital[r_res[has_u]], w_vital[blk[has_u]], w_std[blk[has_u]])
    ub[v.u[has_u]] = o[has_u]
    ub[v.keep[has_keep]] = o[has_keep]
    for k in range(nseg):
        cost[v.s[k, has_seg]] = SLOPES[k] / hard[has_seg]
        ub[v.s[k, has_seg]] = WIDTHS[k] * (hard - carry)[has_seg] if k < nseg - 1 else np.inf
    cost[v.x] = mu[blk[es]]
    ub[v.x] = net.max_load[e]
    return cost, ub


def _constraints(v: _Variables, fail, hard, carry, es, ed, has_seg):
    """Conservation per row with load (equality) and, per survivor, its hard limit and the GoS segments
    above its carriable load (inequalities)."""
    has_keep, has_u = v.keep >= 0, v.u >= 0
    nrow, nseg, n_x = fail.size, len(SLOPES), v.x.size
    # keep + moved out + unserved = offered
    eq_row = np.full(nrow, -1, np.int64)
    eq_row[has_u] = np.arange(v.n_u)
    ri = np.r_[eq_row[has_keep], eq_row[has_u], eq_row[es]]
    ci = np.r_[v.keep[has_keep], v.u[has_u], v.x]
    a_eq = coo_matrix((np.ones(ri.size), (ri, ci)), shape=(v.n_u, v.n)).tocsr()
    surv = ~fail
    n_cap = int(surv.sum())
    cap_row = np.full(nrow, -1, np.int64)
    cap_row[surv] = np.arange(n_cap)
    seg_row = np.full(nrow, -1, np.int64)
    seg_row[has_seg] = n_cap + np.arange(v.n_seg)
    kk, sx = has_keep & surv, has_seg[ed]
    ri = np.r_[
        cap_row[kk], cap_row[ed], seg_row[kk & has_seg], seg_row[ed][sx], np.tile(seg_row[has_seg], nseg)
    ]
    ci = np.r_[v.keep[kk], v.x, v.keep[kk & has_seg], v.x[sx], v.s[:, has_seg].ravel()]
    vals = np.r_[
        np.ones(int(kk.sum()) + n_x + int((kk & has_seg).sum()) + int(sx.sum())), -np.ones(nseg * v.n_seg)
    ]
    a_ub = coo_matrix((vals, (ri, ci)), shape=(n_cap + v.n_seg, v.n)).tocsr()
    b_ub = np.r_[hard[surv], carry[has_seg]]
    return a_eq, a_ub, b_ub
