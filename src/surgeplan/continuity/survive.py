"""Plan to survive: capacity so that the grade of service holds after every scenario of a set.

:func:`survive_capacity` repeats, until nothing breaks (or ``max_rounds``):

1. a what-if of every scenario on the capacity so far (:func:`surgeplan.continuity.whatif`);
2. for every surviving resource whose GoS breaks in some scenario, the capacity its sizing rule
   (:mod:`surgeplan.dimension`) needs for the load offered to it there, the largest over the
   scenarios, in whole modules up to ``max_capacity``.

3. then, most expensive module first, every added module is taken back when the what-if of its
   connected component (only the scenarios touching it) breaks no more than with it: the result
   is minimal in the sense that no single added module can be removed.

The LP fills the alternatives' spare capacity at their targets first (its GoS-damage term), so
capacity is added only where the spare capacity of a component does not cover the lost load
(e.g. three 10-circuit groups at 3 E backing each other up: step 2 adds a circuit to each, step 3
takes one back, leaving 11 + 11 + 10, the minimum).
For link groups the default ``mode='hashing'`` is the failure model of the link GoS, whose N+1
upgrade :func:`surgeplan.dimension.link.n_plus_one_modules` already makes at minimum cost; for
the other kinds this is a sizing of the worst case per resource, not a proven minimum over all
ways of spreading the load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from surgeplan.continuity.gos import recheck
from surgeplan.continuity.network import build_network
from surgeplan.continuity.whatif import whatif
from surgeplan.dimension import prepare_inventory

__all__ = ["SurvivePlan", "survive_capacity"]

_EPS = 1e-9


@dataclass
class SurvivePlan:
    """What :func:`survive_capacity` returns.

    Attributes
    ----------
    additions : DataFrame
        ``resource_id, capacity_before, capacity_needed, modules, module_size, cost, worst_scenario``
        for every resource that needs more capacity (capacity unit of its kind).
    unsurvivable : DataFrame
        Rows still breaking after the last round (``WHATIF_COLUMNS``): load with nowhere to go
        (no group member, no route) or resources at ``max_capacity``.
    rounds : int
        What-if rounds run.
    capacity : Series
        Capacity per resource after the additions.
    """

    additions: pd.DataFrame
    unsurvivable: pd.DataFrame
    rounds: int
    capacity: pd.Series = field(default_factory=pd.Series)


def survive_capacity(
    inventory: pd.DataFrame,
    load,
    scenarios="n-1",
    routes: pd.DataFrame | None = None,
    *,
    mode: str = "hashing",
    capacity: pd.Series | None = None,
    gos_overrides: Mapping[str, float] | None = None,
    max_rounds: int = 8,
) -> SurvivePlan:
    """Capacity to add so the GoS holds after every scenario (see the module docstring).

    Parameters
    ----------
    inventory : DataFrame
        Inventory.
    load : Series, DataFrame or mapping
        Busy-hour load per resource, kind's load unit (the peak the plan sizes on).
    scenarios : str or list, default ``'n-1'``
        As :func:`surgeplan.continuity.whatif`.
    routes : DataFrame, optional
        Overflow routes.
    mode : {'hashing', 'optimal'}, default ``'hashing'``
        Redistribution model (hashing = the link GoS's failure model for link groups).
    capacity : Series, optional
        Capacity to start from by resource_id (e.g. after the plan's own upgrades).
    gos_overrides : mapping, optional
        GoS targets by kind or resource_id.
    max_rounds : int, default 8
        What-if rounds at most.
    """
    inv = prepare_inventory(inventory)
    cap0 = inv["capacity"].astype(float).copy()
    if capacity is not None:
        cap0 = pd.Series(capacity, dtype=np.float64).reindex(inv.index).fillna(cap0)
    cap = cap0.copy()
    msize = inv["module_size"].to_numpy(np.float64)
    maxcap = np.nan_to_num(inv["max_capacity"].to_numpy(np.float64), nan=np.inf)
    worst = pd.Series(index=inv.index, dtype=object)
    broken = pd.DataFrame()
    rounds = 0
    for rounds in range(1, max_rounds + 1):  # noqa: B007 - read after the loop
        res = whatif(
            inv.assign(capacity=cap.to_numpy()).reset_index(drop=True),
            load,
            routes,
            scenarios,
            mode,
            rows="affected",
            gos_overrides=gos_overrides,
        )
        w = res.whatif
        broken = w.loc[~w["gos_ok"].to_numpy(bool)]
        live = broken.loc[broken["capacity"].to_numpy() > 0]
        if live.empty:
            break
        pos, add, scenario = _modules_to_add(inv, live, gos_overrides, cap, msize, maxcap)
        if not (add > 0).any():
            break
        new = cap.to_numpy().copy()
        new[pos] = cap.to_numpy()[pos] + add * msize[pos]
        worst.iloc[pos[add > 0]] = scenario[add > 0]
        cap = pd.Series(new, index=inv.index)
    cap = _prune(inv, load, scenarios, routes, mode, gos_overrides, cap0, cap)
    return SurvivePlan(_additions(inv, cap0, cap, worst), broken.reset_index(drop=True), rounds, cap)


def _modules_to_add(
    inv: pd.DataFrame,
    live: pd.DataFrame,
    gos_overrides,
    cap: pd.Series,
    msize: np.ndarray,
    maxcap: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per breaking resource (its inventory position), the whole modules its worst scenario needs, up
    to ``max_capacity``, and that scenario."""
    need = _needed(inv, live, gos_overrides, cap)
    per = pd.DataFrame({"r": live["resource_id"].to_numpy(), "need": need, "s": live["scenario"].to_numpy()})
    per = per.sort_values("need", ascending=False, kind="stable").drop_duplicates("r").set_index("r")
    pos = inv.index.get_indexer(per.index)
    cur = cap.to_numpy()[pos]
    with np.errstate(divide="ignore", invalid="ignore"):
        add = np.ceil(np.maximum(per["need"].to_numpy() - cur, 0.0) / msize[pos] - _EPS)
        room = np.floor(np.maximum(maxcap[pos] - cur, 0.0) / msize[pos] + _EPS)
    add = np.where(np.isfinite(add) & (msize[pos] > 0), np.minimum(add, room), 0.0)
    # a resource at its hard limit but with no computable need still gets one module
    add = np.where((add <= 0) & (room > 0) & (per["need"].to_numpy() > cur), 1.0, add)
    return pos, add, per["s"].to_numpy()


def _additions(inv: pd.DataFrame, cap0: pd.Series, cap: pd.Series, worst: pd.Series) -> pd.DataFrame:
    """The :attr:`SurvivePlan.additions` table: every resource that grew, in modules and cost."""
    grew = cap.to_numpy() > cap0.to_numpy() + _EPS
    idx = inv.index[grew]
    mods = np.round((cap[idx] - cap0[idx]).to_numpy() / inv.loc[idx, "module_size"].to_numpy()).astype(
        np.int64
    )
    return pd.DataFrame(
        {
            "resource_id": idx.to_numpy(),
            "capacity_before": cap0[idx].to_numpy(),
            "capacity_needed": cap[idx].to_numpy(),
            "modules": mods,
            "module_size": inv.loc[idx, "module_size"].to_numpy(),
            "cost": mods * inv.loc[idx, "module_cost"].fillna(0).to_numpy(),
            "worst_scenario": worst[idx].to_numpy(),
        }
    )


def _needed(inv: pd.DataFrame, rows: pd.DataFrame, gos_overrides, cap: pd.Series) -> np.ndarray:
    """Capacity each breaking row's resource needs for the load offered to it (its sizing rule)."""
    rid = rows["resource_id"].to_numpy().astype(str)
    net = build_network(
        inv.loc[np.unique(rid)].reset_index(drop=True), pd.Series(dtype=float), gos_overrides=gos_overrides
    )
    pos = pd.Index(net.ids).get_indexer(rid)
    offered = rows["offered_load"].to_numpy(np.float64)
    _, _, _, needed = recheck(
        net.inventory, net.kind, pos, offered, cap.reindex(rid).to_numpy(), net.target[pos]
    )
    return needed


def _prune(inv, load, scenarios, routes, mode, gos_overrides, cap0: pd.Series, cap: pd.Series) -> pd.Series:
    """Take back added modules, most expensive first, while the component's what-if holds.

    Works on the network arrays of one component at a time (no tables), so each trial is one
    small LP block per scenario touching the component.
    """
    from surgeplan.continuity.scenarios import resolve_scenarios

    grew = np.flatnonzero(cap.to_numpy() > cap0.to_numpy() + _EPS)
    if grew.size == 0:
        return cap
    flat = inv.reset_index(drop=True).assign(capacity=cap.to_numpy())
    net = build_network(flat, _as_series(load), routes, mode=mode, gos_overrides=gos_overrides)
    where = pd.Index(net.ids)
    scen, _ = resolve_scenarios(scenarios, flat)
    failed = [where.get_indexer([r for r in s.failed if r in where]) for s in scen]
    cap = cap.copy()
    price = inv["module_cost"].fillna(0).to_numpy(np.float64)
    msize = inv["module_size"].to_numpy(np.float64)
    for i in grew[np.argsort(-price[grew], kind="stable")]:
        p = where.get_indexer([inv.index[i]])[0]
        if p < 0:
            continue
        members = np.flatnonzero(net.component == net.component[p])
        touching = [f[np.isin(f, members)] for f in failed]
        touching = [f for f in touching if f.size]
        if not touching:
            continue
        ref = _breaks(net, members, touching, p, cap.iloc[i])
        while cap.iloc[i] - msize[i] >= cap0.iloc[i] - _EPS:
            if _breaks(net, members, touching, p, cap.iloc[i] - msize[i]) > ref:
                break
            cap.iloc[i] -= msize[i]
            _set_capacity(net, p, cap.iloc[i])
    return cap


def _as_series(load) -> pd.Series:
    if isinstance(load, pd.DataFrame):
        return pd.Series(load["load"].to_numpy(np.float64), index=load["resource_id"].astype(str))
    return pd.Series(load, dtype=np.float64)


def _set_capacity(net, p: int, capacity: float) -> None:
    """Change one resource's capacity in the network arrays (hard and carriable limits too)."""
    from surgeplan.continuity.network import KIND_LIMITS

    c = np.array([capacity])
    hard, carry = KIND_LIMITS[net.kind[p]](c, net.target[p : p + 1], net.inventory.iloc[[p]])
    net.capacity[p] = capacity
    net.hard[p] = hard[0]
    net.carriable[p] = min(np.nan_to_num(carry[0]) * (1.0 - 1e-6), hard[0])


def _breaks(net, members: np.ndarray, failed: list[np.ndarray], p: int, capacity: float) -> int:
    """Surviving rows breaking their GoS in the scenarios ``failed`` with ``capacity`` on ``p``."""
    from surgeplan.continuity.redistribute import redistribute

    old = (net.capacity[p], net.hard[p], net.carriable[p])
    _set_capacity(net, p, capacity)
    try:
        red = redistribute(net, failed)
        live = ~red.failed
        r = red.resource[live]
        _, _, ok, _ = recheck(net.inventory, net.kind, r, red.carried[live], net.capacity[r], net.target[r])
        served = red.unserved[live] <= 1e-7 * np.maximum(red.offered[live], 1.0)
        return int((~(ok & served)).sum())
    finally:
        net.capacity[p], net.hard[p], net.carriable[p] = old


def survive_needs(
    inv: pd.DataFrame, dim: pd.DataFrame, survive, *, gos_overrides=None, routes: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, SurvivePlan]:
    """Raise a dimensioning table's ``needed`` so the plan's actions also survive ``survive``.

    Used by :func:`surgeplan.plan.make_plan` (``survive=``). The what-if runs on each resource's
    peak busy-hour load over the horizon, starting from the capacity the plan adds anyway (its
    peak need in whole modules, up to ``max_capacity``). Each resource needing more gets
    ``needed`` raised on its peak-load row (``gos_ok`` False there), so the ordinary action,
    priority and scheduling steps buy it.

    Returns the raised table (a copy) and the :class:`SurvivePlan`.
    """
    rid = dim["resource_id"].astype(str).to_numpy()
    load = dim["load"].to_numpy(np.float64)
    peak_row = pd.Series(np.arange(len(dim))).groupby(rid).agg(lambda ix: ix.iloc[int(np.argmax(load[ix]))])
    peak_load = pd.Series(load[peak_row.to_numpy()], index=peak_row.index)
    need = pd.Series(dim["needed"].to_numpy(np.float64)).groupby(rid).max()
    cap = inv["capacity"].astype(float)
    ms = inv["module_size"].astype(float)
    mx = inv["max_capacity"].astype(float).fillna(np.inf)
    nd = need.reindex(inv.index).fillna(cap)
    with np.errstate(divide="ignore", invalid="ignore"):
        steps = np.ceil(np.maximum(nd - cap, 0.0) / ms - _EPS)
    steps = steps.where(np.isfinite(steps) & (ms > 0), 0.0)
    after = np.minimum(cap + steps * ms, np.maximum(mx, cap))
    sp = survive_capacity(
        inv.reset_index(drop=True), peak_load, survive, routes, capacity=after, gos_overrides=gos_overrides
    )
    out = dim.copy()
    if len(sp.additions):
        a = sp.additions.set_index("resource_id")
        rows = peak_row.reindex(a.index).dropna().astype(np.int64)
        needed = out["needed"].to_numpy(np.float64).copy()
        ok = out["gos_ok"].to_numpy(bool).copy()
        needed[rows.to_numpy()] = np.maximum(
            needed[rows.to_numpy()], a.loc[rows.index, "capacity_needed"].to_numpy()
        )
        ok[rows.to_numpy()] = False
        out["needed"] = needed
        out["gos_ok"] = ok
    return out, sp
