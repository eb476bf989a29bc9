"""Planning: from the gap between needed and installed capacity to a dated, costed, feasible plan.

``make_plan(inventory, busy_hour, asof, ...)`` chains

1. :func:`surgeplan.dimension.dimension` at the plan quantile (capacity needed per period);
2. :func:`~surgeplan.plan.actions.make_actions` (modules to add, needed_by, order_by, cost, reason);
3. :func:`~surgeplan.plan.priorities.prioritize` (vital first, then soonest, then worst);
4. :func:`~surgeplan.plan.schedule.schedule` (budget ceiling, field operations per region per day);
5. re-dimensioning with the capacity each period really has under the plan, giving the GoS that
   results, what is late and by how much;
6. :func:`~surgeplan.plan.temporary.temporary_measures` (shortfall while short, rerouting);
7. :func:`~surgeplan.plan.alerts.alerts` (first GoS break at p50 / p90 / p99 and whether an order
   can still arrive).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from surgeplan import quantiles
from surgeplan.dimension.core import dimension, prepare_inventory
from surgeplan.kinds import coupled_kinds
from surgeplan.plan.actions import ACTION_COLUMNS, make_actions
from surgeplan.plan.alerts import ALERT_COLUMNS, alerts, first_break
from surgeplan.plan.priorities import prioritize
from surgeplan.plan.schedule import schedule
from surgeplan.plan.temporary import TEMPORARY_COLUMNS, reroute_candidates, temporary_measures


@dataclass
class Plan:
    """A capacity plan as of one date.

    Attributes
    ----------
    asof : Timestamp
        Planning date (orders are placed that day).
    quantile : str
        Forecast column the plan sizes on (``p90`` ...).
    dimensioning : DataFrame
        Dimensioning with the installed capacity (one row per resource and period).
    planned : DataFrame
        Dimensioning with the capacity each period has under the plan (upgrade counted from its
        ``install_done``): the GoS that results.
    actions : DataFrame
        Scheduled actions by priority (``ACTION_COLUMNS`` + ``priority``, ``modules_funded``,
        ``install_start``, ``install_done``, ``late_days``, ``status``...).
    late : DataFrame
        The actions not done by their ``needed_by`` (late, partly funded, unfunded, capped), with
        the worst GoS and total shortfall they leave in the meantime.
    temporary : DataFrame
        Temporary measures for every resource still short under the plan.
    alerts : DataFrame
        First GoS break per resource and quantile.
    summary : dict
        Headline numbers (counts, cost, resources short before/after).
    survive : SurvivePlan or None
        With ``make_plan(survive=...)``: the capacity added to survive the failures
        (:class:`surgeplan.continuity.survive.SurvivePlan`), else None.
    """

    asof: pd.Timestamp
    quantile: str
    dimensioning: pd.DataFrame
    planned: pd.DataFrame
    actions: pd.DataFrame
    late: pd.DataFrame
    temporary: pd.DataFrame
    alerts: pd.DataFrame
    summary: dict = field(default_factory=dict)
    survive: object = None


def make_plan(
    inventory: pd.DataFrame,
    busy_hour: pd.DataFrame,
    asof: pd.Timestamp | str,
    *,
    quantile: str | float = "p90",
    budget: float | None = None,
    ops_per_day: int | Mapping[str, int] | None = None,
    ops_per_module: Mapping[str, int] | None = None,
    gos_overrides: Mapping[str, float] | None = None,
    alert_quantiles: Sequence[str | float] = ("p50", "p90", "p99"),
    survive: str | Sequence | None = None,
) -> Plan:
    """Dimension every resource over the horizon and plan the capacity additions.

    Parameters
    ----------
    inventory : DataFrame
        Inventory table (``surgeplan.kinds.INVENTORY_REQUIRED`` columns).
    busy_hour : DataFrame
        Busy-hour forecasts ``resource_id, period, busy_hour, mean, p50, p90, p99`` covering the
        planning horizon (periods on or after ``asof``; earlier periods are ignored).
    asof : Timestamp or str
        Planning date.
    quantile : str or float, default ``'p90'``
        Forecast quantile the plan sizes on.
    budget : float, optional
        Ceiling on the plan's total cost (currency of ``module_cost``).
    ops_per_day : int or mapping, optional
        Field operations per day and region (see :func:`surgeplan.plan.schedule.schedule`).
    ops_per_module : mapping, optional
        Operations one module takes, by kind (default 1).
    gos_overrides : mapping, optional
        GoS targets by kind or resource_id.
    alert_quantiles : sequence, default ``('p50', 'p90', 'p99')``
        Quantiles for the alerts table.
    survive : str or list, optional
        Failure scenarios the plan must survive: ``'n-1'``, ``'sites'``, or a list of SPECs /
        lists of SPECs (:func:`surgeplan.continuity.whatif`). The cheapest capacity found so that
        the GoS still holds after any of them is added to the actions
        (:func:`surgeplan.continuity.survive.survive_needs`).

    Returns
    -------
    Plan
    """
    inv = prepare_inventory(inventory)
    asof_ts = pd.Timestamp(asof)
    asof_ts = (asof_ts.tz_convert(None) if asof_ts.tzinfo else asof_ts).normalize()
    per = pd.to_datetime(busy_hour["period"])
    if getattr(per.dt, "tz", None) is not None:
        per = per.dt.tz_convert(None)
    bh = busy_hour.loc[(per >= asof_ts).to_numpy()]
    q = quantiles.column(quantile)
    dim = dimension(inv, bh, q, gos_overrides=gos_overrides, row_index=True)
    bh_row = dim.pop("bh_row").to_numpy()
    dim_act, surv = dim, None
    if survive is not None:  # the one place plan calls continuity (lazily): capacity to survive failures
        from surgeplan.continuity.survive import survive_needs

        dim_act, surv = survive_needs(inv, dim, survive, gos_overrides=gos_overrides)
    acts = schedule(
        prioritize(make_actions(dim_act, inv)),
        asof_ts,
        budget=budget,
        ops_per_day=ops_per_day,
        ops_per_module=ops_per_module,
    )
    if surv is not None and len(acts) and len(surv.additions):
        why = surv.additions.set_index("resource_id")["worst_scenario"]
        hit = acts["resource_id"].astype(str).isin(why.index).to_numpy()
        label = survive if isinstance(survive, str) else f"{len(survive)} scenario(s)"
        acts.loc[hit, "reason"] = (
            acts.loc[hit, "reason"]
            + f"; to survive {label} (worst: "
            + why.reindex(acts.loc[hit, "resource_id"].astype(str)).astype(str).to_numpy()
            + ")"
        )
    planned = _planned(inv, bh, q, dim, acts, gos_overrides)
    late = _late(acts, dim)
    temp = temporary_measures(planned, acts, asof_ts)
    al = alerts(
        inv,
        bh,
        asof_ts,
        alert_quantiles,
        gos_overrides=gos_overrides,
        dimensioned={q: dim},
        reference_rows=bh_row,
    )
    short_before = int(dim.loc[~dim["gos_ok"], "resource_id"].nunique())
    short_after = int(planned.loc[~planned["gos_ok"], "resource_id"].nunique())
    summary = {
        "asof": f"{asof_ts:%Y-%m-%d}",
        "quantile": q,
        "resources": int(dim["resource_id"].nunique()),
        "periods": int(dim["period"].nunique()),
        "resources_short": short_before,
        "actions": len(acts),
        "vital_actions": int((acts["priority_class"] == "vital").sum()) if len(acts) else 0,
        "modules": int(acts["modules_funded"].sum()) if len(acts) else 0,
        "cost": float(acts["cost_funded"].sum()) if len(acts) else 0.0,
        "budget": budget,
        "late_actions": len(late),
        "order_now": int((pd.to_datetime(acts["order_by"]) <= asof_ts).sum()) if len(acts) else 0,
        "resources_short_after_plan": short_after,
        "temporary_measures": len(temp),
    }
    if surv is not None:
        summary["survive"] = survive if isinstance(survive, str) else [str(x) for x in survive]
        summary["survive_modules"] = int(surv.additions["modules"].sum()) if len(surv.additions) else 0
        summary["survive_unsurvivable_rows"] = len(surv.unsurvivable)
    return Plan(asof_ts, q, dim, planned, acts, late, temp, al, summary, surv)


def _planned(inv, bh, q, dim, acts, gos_overrides) -> pd.DataFrame:
    """Dimensioning with the capacity each period has under the plan (vectorized merge)."""
    if acts.empty or not (acts["modules_funded"] > 0).any():
        return dim
    a = acts.loc[acts["modules_funded"] > 0]
    after = pd.Series(
        a["capacity"].to_numpy() + a["modules_funded"].to_numpy() * a["module_size"].to_numpy(),
        index=a["resource_id"].astype(str).to_numpy(),
    )
    # Only the upgraded resources (and the other members of their coupled groups, whose N+1 share changes)
    # need re-dimensioning.
    affected = set(after.index)
    grp = inv["group"].to_numpy()
    coupled = inv["kind"].isin(coupled_kinds()).to_numpy()
    groups = set(grp[coupled & inv["resource_id"].isin(affected).to_numpy()]) - {""}
    if groups:
        in_groups = pd.Series(grp).isin(groups).to_numpy()
        affected |= set(inv["resource_id"].to_numpy()[coupled & in_groups])
    rows = bh["resource_id"].astype(str).isin(affected).to_numpy()
    dim1 = dimension(inv, bh.loc[rows], q, gos_overrides=gos_overrides, capacity=after)
    m = dim["resource_id"].astype(str).isin(affected).to_numpy()
    done = pd.Series(pd.to_datetime(a["install_done"]).to_numpy(), index=after.index)
    done_row = done.reindex(dim1["resource_id"].astype(str).to_numpy()).to_numpy()
    use_after = np.asarray(~pd.isna(done_row) & (dim1["period"].to_numpy() >= done_row), dtype=bool)
    # dim restricted to the affected resources and dim1 hold the same rows in the same order
    planned = dim.copy(deep=False)  # columns below are replaced, never written in place
    cols = ["capacity", "needed", "gos", "gos_ok", "shortfall", "carriable", "headroom"]
    for c in cols:
        col = dim[c].to_numpy().copy()
        col[m] = np.where(use_after, dim1[c].to_numpy(), col[m])
        planned[c] = col
    planned["gos_ok"] = planned["gos_ok"].astype(bool)
    return planned


def _late(acts: pd.DataFrame, dim: pd.DataFrame) -> pd.DataFrame:
    """Actions not in service by ``needed_by``, with the GoS and shortfall left meanwhile."""
    if acts.empty:
        return acts.assign(worst_gos=pd.Series(dtype=float), shortfall_while_late=pd.Series(dtype=float))
    bad = acts["status"].to_numpy() != "on time"
    late = acts.loc[bad].copy()
    if late.empty:
        return late.assign(worst_gos=pd.Series(dtype=float), shortfall_while_late=pd.Series(dtype=float))
    done = pd.Series(pd.to_datetime(late["install_done"]).to_numpy(), index=late["resource_id"].astype(str))
    rid = dim["resource_id"].astype(str).to_numpy()
    d_done = done.reindex(rid).to_numpy()
    in_late = pd.Series(rid).isin(done.index).to_numpy()
    waiting = (
        in_late & (pd.isna(d_done) | (dim["period"].to_numpy() < d_done)) & ~dim["gos_ok"].to_numpy(bool)
    )
    w = dim.loc[waiting]
    worse_high = w["gos_metric"].astype(str).to_numpy() == "service_level"
    g = np.where(worse_high, -w["gos"].to_numpy(), w["gos"].to_numpy())
    agg = (
        pd.DataFrame({"r": w["resource_id"].astype(str).to_numpy(), "g": g, "s": w["shortfall"].to_numpy()})
        .groupby("r")
        .agg(g=("g", "max"), s=("s", "sum"))
    )
    agg = agg.reindex(late["resource_id"].astype(str))
    worst = agg["g"].to_numpy()
    sl = late["gos_metric"].astype(str).to_numpy() == "service_level"
    late["worst_gos"] = np.where(sl, -worst, worst)
    late["shortfall_while_late"] = agg["s"].fillna(0).to_numpy()
    return late.reset_index(drop=True)


# plan_once builds on make_plan above, so it is imported once make_plan exists.
from surgeplan.plan.once import PlannedDay, plan_once  # noqa: E402
from surgeplan.plan.settings import PlanSettings, load_plan_settings  # noqa: E402

__all__ = [
    "ACTION_COLUMNS",
    "ALERT_COLUMNS",
    "TEMPORARY_COLUMNS",
    "Plan",
    "PlanSettings",
    "PlannedDay",
    "alerts",
    "first_break",
    "load_plan_settings",
    "make_actions",
    "make_plan",
    "plan_once",
    "prioritize",
    "reroute_candidates",
    "schedule",
    "temporary_measures",
]
