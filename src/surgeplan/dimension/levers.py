"""What each deflection lever saves at a customer-relation chain's peak, and the cheapest mix.

A chain is an entry resource (a contact number, a chatbot: fed by nothing, feeding something)
with every stage downstream of it (:mod:`surgeplan.dimension.flow`). At the period where the
entry's busy-hour load is highest, :func:`lever_table` sizes the chain

* as the inventory stands (``baseline``),
* with one lever moved to each value of a grid (``lever``: IVR self-service share, chatbot
  containment share, callback acceptance share), the others as they stand,
* with every combination of the grid's values (``mix``), marking the cheapest one that meets
  every GoS within every stage's ``max_capacity``: the fewest added modules' cost
  (``module_cost`` per ``module_size``), then the fewest agents, then the fewest channels, then
  the least deflection.

All scenarios of all chains are sized in one :func:`surgeplan.dimension.dimension` call: each
scenario is a copy of its chain with suffixed resource ids.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from surgeplan.dimension.core import dimension, prepare_inventory, quantile_column
from surgeplan.dimension.flow import LEVERS, feed_targets
from surgeplan.errors import SurgeplanError

#: Lever values tried by default (shares).
DEFAULT_GRID: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)

#: Capacity unit groups reported per scenario.
AGENT_KINDS = ("contact_center", "chat_queue", "message_queue")
CHANNEL_KINDS = ("contact_number", "ivr")

_SEP = "#"


def chains(inventory: pd.DataFrame, *, strict: bool = True) -> pd.DataFrame:
    """Chains of the inventory: ``chain`` (entry resource_id), ``resource_id``, ``stage`` (0 = entry).

    A resource reached from two entries belongs to both chains. ``strict``: a ``feeds`` naming a
    resource outside the inventory raises ``ValidationError``; otherwise the chain stops there.
    """
    inv = prepare_inventory(inventory)
    tgt = feed_targets(inv, strict=strict)
    fed = np.zeros(len(inv), dtype=bool)
    fed[tgt[tgt >= 0]] = True
    entries = np.flatnonzero((tgt >= 0) & ~fed)
    ids = inv["resource_id"].to_numpy()
    rows = []
    for e in entries:  # a handful of chains; members follow `feeds` (at most the inventory's depth)
        cur, stage = e, 0
        while cur >= 0 and stage <= len(inv):
            rows.append((ids[e], ids[cur], stage))
            cur, stage = tgt[cur], stage + 1
    return pd.DataFrame(rows, columns=["chain", "resource_id", "stage"])


def _scenarios(
    levers_present: list[str], base: dict[str, float], grid: Sequence[float]
) -> list[tuple[str, str, dict]]:
    out: list[tuple[str, str, dict]] = [("baseline", "", dict(base))]
    for lever in levers_present:
        for v in grid:
            out.append(("lever", lever, {**base, lever: float(v)}))
    for combo in itertools.product(grid, repeat=len(levers_present)):
        out.append(("mix", "", {**base, **dict(zip(levers_present, map(float, combo)))}))
    return out


def lever_table(
    inventory: pd.DataFrame,
    busy_hour: pd.DataFrame,
    quantile: str | float = "p90",
    *,
    grid: Sequence[float] = DEFAULT_GRID,
    gos_overrides: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Agents and channels each chain needs at its peak under each lever setting.

    Parameters
    ----------
    inventory : DataFrame
        Inventory with ``feeds`` linking the chains (levers already applied with
        :func:`surgeplan.dimension.flow.apply_levers` are the baseline).
    busy_hour : DataFrame
        ``resource_id, period, <quantile>``: busy-hour rates per period; the entry's rows choose
        the peak, the other stages' loads follow the flow.
    quantile : str or float, default ``'p90'``
        Forecast column to size on.
    grid : sequence of float, default :data:`DEFAULT_GRID`
        Values (shares in [0, 1]) each lever is tried at.
    gos_overrides : mapping, optional
        As in :func:`surgeplan.dimension.dimension`.

    Returns
    -------
    DataFrame
        One row per (chain, scenario): ``chain, name, priority_class, period, entry_load,
        scenario`` (``baseline``, ``lever``, ``mix``), ``lever`` and ``value`` (lever rows), the
        lever settings (``ivr_self_service, chatbot_containment, callback_share``; NaN where the
        chain has no such stage), ``needed_<kind>`` per stage kind, ``agents`` and ``channels``
        needed, ``agents_saved`` and ``channels_saved`` against the baseline, ``added_cost`` of
        modules beyond the installed capacity, ``gos_ok`` (every stage can meet its target: the
        capacity it needs is within its ``max_capacity``) and ``cheapest`` (the cheapest mix of the
        chain among those with ``gos_ok``).
    """
    if any(not 0.0 <= float(v) <= 1.0 for v in grid):
        raise SurgeplanError(f"grid: lever values must be shares in [0, 1]; got {list(grid)!r}")
    inv = prepare_inventory(inventory)
    ch = chains(inv, strict=False)
    if ch.empty:
        return pd.DataFrame()
    # a measured table sizes on its own column ('load'), a forecast on a quantile's
    qcol = (
        quantile if isinstance(quantile, str) and quantile in busy_hour.columns else quantile_column(quantile)
    )
    bh = busy_hour[["resource_id", "period", qcol]].reset_index(drop=True)
    bh["resource_id"] = bh["resource_id"].astype(str)
    entry_rows = bh[bh["resource_id"].isin(ch["chain"].unique())]
    if entry_rows.empty:
        raise SurgeplanError("busy-hour table has no row for any chain entry (contact number, chatbot)")
    peak = entry_rows.loc[entry_rows.groupby("resource_id")[qcol].idxmax()]

    inv_parts, bh_parts, meta = _replicate(inv, ch, bh, qcol, peak, grid)
    big_inv = pd.concat(inv_parts, ignore_index=True)
    big_bh = pd.concat(bh_parts, ignore_index=True)
    overrides = None
    if gos_overrides:
        overrides = {k: v for k, v in gos_overrides.items() if k not in inv.index}
        for k, v in gos_overrides.items():
            if k in inv.index:
                overrides.update({r: v for r in big_inv["resource_id"] if r.rsplit(_SEP, 1)[0] == k})
    dim = dimension(big_inv, big_bh, gos_overrides=overrides, load_column=qcol)
    return _summarise(dim, big_inv, pd.DataFrame(meta), inv)


def _replicate(inv, ch, bh, qcol, peak, grid) -> tuple[list, list, list]:
    """Each chain copied once per scenario (suffixed ids), its rows at its entry's peak period."""
    peak_of = dict(zip(peak["resource_id"], peak["period"]))
    load_of = dict(zip(peak["resource_id"], peak[qcol]))
    inv_parts, bh_parts, meta = [], [], []
    sid = 0
    for chain_id, members in ch.groupby("chain", sort=False):
        if chain_id not in peak_of:
            continue
        sub = inv.loc[members["resource_id"].to_numpy()]
        present = [name for name, (_c, kind) in LEVERS.items() if (sub["kind"] == kind).any()]
        base = {
            name: float(sub.loc[sub["kind"] == LEVERS[name][1], LEVERS[name][0]].mean()) for name in present
        }
        period = peak_of[chain_id]
        rows_at_peak = bh[(bh["period"] == period) & bh["resource_id"].isin(sub.index)]
        for scenario, lever, setting in _scenarios(present, base, grid):
            copy = sub.copy()
            for name, value in setting.items():
                column, kind = LEVERS[name]
                copy.loc[copy["kind"] == kind, column] = value
            suffix = f"{_SEP}{sid}"
            copy["resource_id"] = copy["resource_id"] + suffix
            copy["feeds"] = np.where(
                copy["feeds"].notna() & (copy["feeds"].astype(str) != ""),
                copy["feeds"].astype(str) + suffix,
                "",
            )
            inv_parts.append(copy)
            part = rows_at_peak.copy()
            part["resource_id"] = part["resource_id"] + suffix
            bh_parts.append(part)
            meta.append(
                {
                    "sid": sid,
                    "chain": chain_id,
                    "period": period,
                    "entry_load": load_of[chain_id],
                    "scenario": scenario,
                    "lever": lever,
                    "value": setting.get(lever, np.nan) if lever else np.nan,
                    **{name: setting.get(name, np.nan) for name in LEVERS},
                }
            )
            sid += 1
    return inv_parts, bh_parts, meta


def _summarise(
    dim: pd.DataFrame, big_inv: pd.DataFrame, meta: pd.DataFrame, inv: pd.DataFrame
) -> pd.DataFrame:
    rid = dim["resource_id"].astype(str)
    dim = dim.assign(sid=rid.str.rsplit(_SEP, n=1).str[1].astype(int), kind=dim["kind"].astype(str))
    cost = big_inv.set_index("resource_id")[["module_size", "module_cost", "max_capacity"]].reindex(
        rid.to_numpy()
    )
    add = np.maximum(dim["needed"].to_numpy() - dim["capacity"].to_numpy(), 0.0)
    dim["added_cost"] = np.ceil(add / cost["module_size"].to_numpy() - 1e-9) * cost["module_cost"].to_numpy()
    # a stage needing more than its ceiling (max_capacity) cannot meet its GoS in this setting
    need = dim["needed"].to_numpy()
    dim["sizable"] = np.isfinite(need) & (need <= cost["max_capacity"].to_numpy() * (1 + 1e-9))
    wide = dim.pivot_table(index="sid", columns="kind", values="needed", aggfunc="sum")
    wide.columns = [f"needed_{c}" for c in wide.columns]
    agg = dim.groupby("sid").agg(added_cost=("added_cost", "sum"), gos_ok=("sizable", "all"))
    out = meta.set_index("sid").join(wide).join(agg)
    for total, kinds in (("agents", AGENT_KINDS), ("channels", CHANNEL_KINDS)):
        cols = [f"needed_{k}" for k in kinds if f"needed_{k}" in out.columns]
        out[total] = out[cols].sum(axis=1) if cols else 0.0
    base = out[out["scenario"] == "baseline"].set_index("chain")
    out["agents_saved"] = out["chain"].map(base["agents"]) - out["agents"]
    out["channels_saved"] = out["chain"].map(base["channels"]) - out["channels"]
    mix = out[(out["scenario"] == "mix") & out["gos_ok"]]
    order = mix.sort_values(["chain", "added_cost", "agents", "channels", *LEVERS])
    best = order.groupby("chain").head(1).index
    out["cheapest"] = out.index.isin(best)
    names = inv["name"] if "name" in inv.columns else pd.Series(np.nan, index=inv.index)
    out.insert(1, "name", out["chain"].map(names))
    out.insert(2, "priority_class", out["chain"].map(inv["priority_class"]))
    return out.reset_index(drop=True)
