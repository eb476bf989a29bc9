"""Turn the gap between needed and installed capacity into upgrade actions.

One action per resource short at some period of the horizon: enough whole modules to cover the
horizon's peak need (capped by ``max_capacity``), needed by the first period it is short, to be
ordered ``lead_time_days`` before that.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surgeplan.dimension.core import prepare_inventory
from surgeplan.kinds import coupled_kinds

#: Columns of the actions table, in order.
ACTION_COLUMNS = (
    "resource_id",
    "name",
    "kind",
    "region",
    "group",
    "priority_class",
    "capacity",
    "capacity_unit",
    "module_size",
    "modules",
    "modules_wanted",
    "capped",
    "capacity_after",
    "needed_peak",
    "peak_period",
    "load_peak",
    "load_unit",
    "quantile",
    "gos_metric",
    "gos_target",
    "gos_now_peak",
    "needed_by",
    "lead_time_days",
    "order_by",
    "cost",
    "severity",
    "reason",
)

#: Tolerance when turning a gap into whole modules (float noise only).
_EPS = 1e-9


def _fmt(x: float) -> str:
    """Planner-friendly number: thousands separators, decimals only for small values."""
    if not np.isfinite(x):
        return str(x)
    if abs(x) >= 100 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.3g}" if abs(x) < 1 else f"{x:,.1f}"


def _load_label(unit: str) -> str:
    return {"erlang": "E", "gbps": "Gbps", "sessions": "sessions", "calls_per_hour": "calls/h"}.get(
        unit, unit
    )


def _cap_label(unit: str) -> str:
    return {"gbps": "Gbps"}.get(unit, unit)


def make_actions(dim: pd.DataFrame, inventory: pd.DataFrame) -> pd.DataFrame:
    """Actions (modules to add) for every resource short in some period of ``dim``.

    Parameters
    ----------
    dim : DataFrame
        Output of :func:`surgeplan.dimension.dimension` over the planning horizon.
    inventory : DataFrame
        The inventory ``dim`` was computed from (module size, max capacity, lead time, cost).

    Returns
    -------
    DataFrame
        Columns ``ACTION_COLUMNS``, one row per resource needing capacity:

        * ``modules_wanted = ceil((needed_peak - capacity) / module_size)`` and ``modules`` the
          same capped by ``floor((max_capacity - capacity) / module_size)`` (``capped`` says so);
        * ``needed_by`` = first period the resource is short; ``order_by = needed_by -
          lead_time_days``;
        * ``cost = modules x module_cost``; ``severity`` = share of the peak need missing
          (``1 - capacity / needed_peak``, 0..1);
        * ``reason``: one sentence a planner can read.

    Notes
    -----
    Vectorized: group-by on the dimensioning table, no Python loop over resources (the reason
    strings are formatted row by row, outside the numeric path).
    """
    inv = prepare_inventory(inventory)
    short = dim.loc[~dim["gos_ok"].to_numpy(bool)]
    if short.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ACTION_COLUMNS})
    rid = short["resource_id"].to_numpy().astype(str)
    codes, uniq = pd.factorize(rid)
    period = short["period"].to_numpy()
    needed = short["needed"].to_numpy(np.float64)
    # first short period per resource (rows are sorted by resource then period, but do not rely on it)
    first = np.full(uniq.size, np.datetime64("NaT"), dtype=period.dtype)
    order = np.lexsort((period, codes))
    first_idx = order[np.r_[True, codes[order][1:] != codes[order][:-1]]]
    first[codes[first_idx]] = period[first_idx]
    # peak need per resource (the row with the largest needed; earliest if tied)
    order_pk = np.lexsort((period, -needed, codes))
    pk_idx = order_pk[np.r_[True, codes[order_pk][1:] != codes[order_pk][:-1]]]
    pk = short.iloc[pk_idx]
    ri = inv.loc[uniq]
    cap = pk["capacity"].to_numpy(np.float64)
    msize = ri["module_size"].to_numpy(np.float64)
    maxcap = ri["max_capacity"].to_numpy(np.float64)
    maxcap = np.where(np.isnan(maxcap), np.inf, maxcap)
    need_pk = pk["needed"].to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        wanted = np.ceil(np.maximum(need_pk - cap, 0.0) / msize - _EPS)
        room = np.floor(np.maximum(maxcap - cap, 0.0) / msize + _EPS)
    wanted = np.where(msize > 0, wanted, 0.0)
    room = np.where(msize > 0, room, 0.0)
    # a non-finite need (e.g. an unbounded forecast) can never be met: ask for all the room left
    wanted = np.where(np.isfinite(wanted), wanted, np.where(np.isfinite(room), room + 1.0, 0.0))
    modules = np.minimum(wanted, room)
    lead = ri["lead_time_days"].fillna(0).to_numpy(np.float64)
    needed_by = pd.DatetimeIndex(first)
    order_by = needed_by - pd.to_timedelta(lead, unit="D")
    with np.errstate(divide="ignore", invalid="ignore"):
        severity = np.where(need_pk > 0, np.clip(1.0 - cap / need_pk, 0.0, 1.0), 0.0)
    names = (
        ri["name"].where(ri["name"].notna() & (ri["name"].astype(str) != ""), ri["resource_id"]).astype(str)
    )
    out = pd.DataFrame(
        {
            "resource_id": uniq,
            "name": names.to_numpy(),
            "kind": pk["kind"].astype(str).to_numpy(),
            "region": ri["region"].to_numpy(),
            "group": ri["group"].to_numpy(),
            "priority_class": ri["priority_class"].to_numpy(),
            "capacity": cap,
            "capacity_unit": pk["capacity_unit"].astype(str).to_numpy(),
            "module_size": msize,
            "modules": modules.astype(np.int64),
            "modules_wanted": wanted.astype(np.int64),
            "capped": modules < wanted,
            "capacity_after": cap + modules * msize,
            "needed_peak": need_pk,
            "peak_period": pk["period"].to_numpy(),
            "load_peak": pk["load"].to_numpy(np.float64),
            "load_unit": pk["load_unit"].astype(str).to_numpy(),
            "quantile": pk["quantile"].astype(str).to_numpy(),
            "gos_metric": pk["gos_metric"].astype(str).to_numpy(),
            "gos_target": pk["gos_target"].to_numpy(np.float64),
            "gos_now_peak": pk["gos"].to_numpy(np.float64),
            "needed_by": needed_by,
            "lead_time_days": lead,
            "order_by": order_by,
            "cost": modules * ri["module_cost"].fillna(0).to_numpy(np.float64),
            "severity": severity,
        }
    )
    out["reason"] = _reasons(out, ri).to_numpy()
    return out.reset_index(drop=True)


def _fmt_col(x: np.ndarray) -> pd.Series:
    """:func:`_fmt` over an array (formatting is per element; the rest of the sentence is not)."""
    return pd.Series(np.asarray(x, dtype=np.float64)).map(_fmt)


def _reasons(a: pd.DataFrame, ri: pd.DataFrame) -> pd.Series:
    """One sentence per action, e.g. ``FRA-ITA interconnect: busy-hour 1,840 E at p90 on 2020-03-19
    needs 1,868 circuits at 1% blocking; 1,560 installed; add 11 x 30 circuits``.

    Built column-wise with pandas string operations (no Python loop over actions except the
    number formatting)."""
    n = len(a)
    if n == 0:
        return pd.Series([], dtype=object)
    unit = a["capacity_unit"].map(_cap_label).astype(str).reset_index(drop=True)
    load_u = a["load_unit"].map(_load_label).astype(str).reset_index(drop=True)
    metric = a["gos_metric"].to_numpy()
    tgt = a["gos_target"].to_numpy(np.float64)
    pct = pd.Series(tgt * 100).map("{:.3g}".format)
    aw = pd.Series(ri["answer_within_s"].to_numpy(np.float64)).map("{:.0f}".format)
    am = pd.Series(ri["abandon_max"].to_numpy(np.float64) * 100).map("{:.3g}".format)
    is_coupled = pd.Series(a["kind"].astype(str).isin(coupled_kinds()).to_numpy())
    target = pd.Series(np.full(n, "", dtype=object))
    target[:] = "GoS " + pd.Series(tgt).map("{:g}".format)
    m = metric == "blocking"
    target[m] = (pct + "% blocking")[m]
    m = metric == "utilization"
    target[m] = (
        "a "
        + pd.Series(tgt * 100).map("{:.0f}".format)
        + "% utilisation ceiling"
        + is_coupled.map({True: " with N+1", False: ""})
    )[m]
    m = metric == "service_level"
    target[m] = (pct + "% answered within " + aw + " s and <= " + am + "% abandoned")[m]
    peak = pd.Series(pd.DatetimeIndex(a["peak_period"]).strftime("%Y-%m-%d"))
    due = pd.Series(pd.DatetimeIndex(a["needed_by"]).strftime("%Y-%m-%d"))
    order = pd.Series(pd.DatetimeIndex(a["order_by"]).strftime("%Y-%m-%d"))
    modules = a["modules"].to_numpy()
    wanted = a["modules_wanted"].to_numpy()
    capped = a["capped"].to_numpy(bool)
    text = (
        a["name"].astype(str).reset_index(drop=True)
        + ": busy-hour "
        + _fmt_col(a["load_peak"])
        + " "
        + load_u
        + " at "
        + a["quantile"].astype(str).reset_index(drop=True)
        + " on "
        + peak
        + " needs "
        + _fmt_col(a["needed_peak"])
        + " "
        + unit
        + " at "
        + target
        + "; "
        + _fmt_col(a["capacity"])
        + " installed"
    )
    add = "; add " + pd.Series(modules).astype(str) + " x " + _fmt_col(a["module_size"]) + " " + unit
    text = text + add.where(modules > 0, "")
    cap_txt = (
        " (max_capacity allows only "
        + pd.Series(modules).astype(str)
        + " of the "
        + pd.Series(wanted).astype(str)
        + " modules wanted: "
        + _fmt_col(a["needed_peak"].to_numpy() - a["capacity_after"].to_numpy())
        + " "
        + unit
        + " still short)"
    )
    text = text + cap_txt.where(capped, "")
    text = text + "; short from " + due + ", order by " + order
    return text
