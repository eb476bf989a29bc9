"""The planning replay: the same as-of dates under four policies, scored on what really happened.

On each as-of date every policy sees the capacity installed or on order in its own ledger and
places the orders that cannot wait for the next planning date through the same machinery
(:func:`~surgeplan.plan.make_plan`: the same lead times, budget, field-operations ceilings and GoS
targets). Only what the policy sizes on differs:

* ``surgeplan``: the shock forecaster's busy hours at the plan quantile (fitted on the first date,
  updated with each new week, refitted every ``refit_every_days``), as :func:`plan_once` does;
* ``reactive``: no forecast. A resource is upgraded when its measured busy hour of the past week
  passes 80% of what its capacity carries at the GoS target, sized to carry 1.2 times that busy
  hour: the planners' usual rule of thumb [1]_;
* ``oracle``: the realised busy hours from the as-of date to the end of the evaluation: the least
  shortage any plan ordering on those dates could reach with the same lead times (exactly the
  least when the budget and operations ceilings do not bind, since every need is then ordered on
  the first date on which it could be);
* ``do_nothing``: no orders.

The committed orders are then played against the measured load (:func:`realized_outcome`), and
:func:`score_policies` counts shortage resource-days (all, and vital), the unserved share of the
load, orders and cost. :func:`shortage_losses` says where surgeplan's shortage comes from: lead
times (the oracle without budget or operations ceilings is short only until its first orders can
arrive), the budget and operations ceilings (the oracle with them), and the forecast (the rest).

References
----------
.. [1] ITU-T Recommendation E.543, "Grades of service in digital international telephone
   exchanges" and operators' practice of triggering augmentation at 80% of engineered capacity.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from surgeplan.dimension import dimension, prepare_inventory
from surgeplan.forecast.busy_hour import busy_hour
from surgeplan.plan import Plan, make_plan
from surgeplan.plan.once import PlannedDay, forecast_horizon, known_before, plan_on_busy_hour
from surgeplan.plan.settings import PlanSettings

__all__ = [
    "POLICIES",
    "POLICY_COLUMNS",
    "Replay",
    "headline",
    "silent_progress",
    "reactive_busy_hour",
    "realized_outcome",
    "replay",
    "score_policies",
    "shortage_losses",
]

#: Policy names, in the order of the policy table.
POLICIES = ("surgeplan", "reactive", "oracle", "do_nothing")
#: Columns of ``replay_policies.csv``.
POLICY_COLUMNS = (
    "policy",
    "shortage_resource_days",
    "vital_shortage_resource_days",
    "unserved_load_share",
    "orders",
    "cost",
)

#: Reactive rule of thumb: upgrade when the week's busy hour passes this share of what the
#: capacity carries at its GoS target ...
REACTIVE_TRIGGER = 0.8
#: ... sized to carry this multiple of that busy hour.
REACTIVE_SIZING = 1.2
#: Days of measurements the reactive planner looks back on.
REACTIVE_WINDOW_DAYS = 7

ProgressFactory = Callable[[str, int], contextlib.AbstractContextManager]


@contextlib.contextmanager
def silent_progress(_label: str, _total: int):
    """No progress report (the default ``progress`` of the library's long jobs)."""
    yield lambda n=1: None


# --------------------------------------------------------------------------------------- ledger


@dataclass
class _Ledger:
    """What one policy has ordered: capacity installed or on order, and the orders."""

    committed: pd.Series
    orders: list[pd.DataFrame] = field(default_factory=list)

    def commit(self, plan: Plan, asof: pd.Timestamp, next_plan: pd.Timestamp) -> int:
        """Place the plan's funded orders that cannot wait for the next planning date.

        An order whose ``order_by`` falls on or after ``next_plan`` is left to the next plan,
        which decides it with a week more of measurements: a rolling plan commits only what is
        due, as planners do.
        """
        a = plan.actions
        if a.empty:
            return 0
        due = pd.to_datetime(a["order_by"]).to_numpy() < np.datetime64(next_plan)
        funded = a.loc[(a["modules_funded"] > 0).to_numpy() & due]
        add = (
            (funded["modules_funded"] * funded["module_size"])
            .groupby(funded["resource_id"].astype(str))
            .sum()
        )
        self.committed = self.committed.add(add, fill_value=0.0)
        self.orders.append(funded.assign(ordered_on=asof))
        return len(funded)

    def order_table(self) -> pd.DataFrame:
        if not self.orders:
            return pd.DataFrame(
                columns=[
                    "resource_id",
                    "modules_funded",
                    "module_size",
                    "install_done",
                    "cost_funded",
                    "priority_class",
                    "ordered_on",
                ]
            )
        return pd.concat(self.orders, ignore_index=True)


# ------------------------------------------------------------------------------------- policies


def reactive_busy_hour(
    inventory: pd.DataFrame,
    measured: pd.DataFrame,
    asof: pd.Timestamp,
    column: str,
    gos_overrides: dict | None = None,
) -> pd.DataFrame:
    """What the reactive planner sizes on as of ``asof``: one period, the as-of day.

    The busy hour of the past week (highest daily busy hour over the last
    :data:`REACTIVE_WINDOW_DAYS` days) of every resource; where it passes
    :data:`REACTIVE_TRIGGER` of what the installed capacity carries at the GoS target, the load to
    size on is :data:`REACTIVE_SIZING` times it, elsewhere the busy hour itself (which the
    capacity carries: no order).
    """
    lo = asof - pd.Timedelta(days=REACTIVE_WINDOW_DAYS)
    week = measured.loc[(measured["period"] >= lo) & (measured["period"] < asof)]
    peak = week.groupby(week["resource_id"].astype(str), observed=True)["load"].max()
    if peak.empty:
        return pd.DataFrame(columns=["resource_id", "period", "busy_hour", column])
    table = pd.DataFrame(
        {
            "resource_id": peak.index.to_numpy(),
            "period": asof,
            "busy_hour": asof,
            column: peak.to_numpy(np.float64),
        }
    )
    dim = dimension(inventory, table, gos_overrides=gos_overrides, load_column=column)
    carry = pd.Series(dim["carriable"].to_numpy(), index=dim["resource_id"].astype(str).to_numpy())
    carry = carry.reindex(table["resource_id"]).to_numpy(np.float64)
    trigger = table[column].to_numpy() > REACTIVE_TRIGGER * carry
    table[column] = np.where(trigger, REACTIVE_SIZING, 1.0) * table[column].to_numpy()
    return table


def _oracle_busy_hour(measured: pd.DataFrame, asof: pd.Timestamp, column: str) -> pd.DataFrame:
    future = measured.loc[measured["period"] >= asof]
    return future.rename(columns={"load": column})


# ---------------------------------------------------------------------------------------- replay


@dataclass
class Replay:
    """What :func:`replay` produced.

    Attributes
    ----------
    policies : DataFrame
        ``POLICY_COLUMNS``, one row per policy (``replay_policies.csv``).
    losses : DataFrame
        Where surgeplan's shortage resource-days come from (:func:`shortage_losses`).
    summary : DataFrame
        surgeplan's plan summary on each as-of date (orders placed, forecast rows capped ...).
    orders : dict of DataFrame
        Each policy's committed orders, with ``ordered_on``.
    realized : dict of DataFrame
        Each policy's measured load against its capacity in service (:func:`realized_outcome`).
    plans : dict
        surgeplan's :class:`PlannedDay` on each as-of date.
    """

    policies: pd.DataFrame
    losses: pd.DataFrame
    summary: pd.DataFrame
    orders: dict[str, pd.DataFrame]
    realized: dict[str, pd.DataFrame]
    plans: dict[pd.Timestamp, PlannedDay]

    @property
    def headline(self) -> str:
        return headline(self.policies)


def replay(
    measurements: pd.DataFrame,
    inventory: pd.DataFrame,
    indicators: pd.DataFrame | None,
    asofs: Sequence[Any],
    settings: PlanSettings,
    *,
    refit_every_days: int = 7,
    evaluate_until: Any = None,
    progress: ProgressFactory = silent_progress,
    executor: Any = None,
) -> Replay:
    """Replay planning on ``asofs`` under the four :data:`POLICIES` and score them.

    Parameters
    ----------
    measurements : DataFrame
        ``resource_id, ts, load`` over the whole period: each policy sees only what came before
        each as-of date, except the oracle, which knows the future by definition.
    inventory, indicators : DataFrame
        The inventory and the indicators (only those dated before each as-of date are used).
    asofs : sequence of dates
        Planning dates, ascending.
    settings : PlanSettings
        Shared by all policies.
    refit_every_days : int, default 7
        Days between two full refits of surgeplan's forecaster (0 = never; updates only).
    evaluate_until : date, optional
        Last day scored; default the last measured day.
    progress : callable
        ``progress(label, total)`` context manager yielding ``advance(n)``.
    executor : concurrent.futures.Executor, optional
        Where surgeplan's forecasts of the as-of dates run, one task per fit and the updates that
        follow it (a process pool, or :func:`surgeplan.scale.compute`); None = here, one after the
        other. The replay is the same.
    """
    dates = [pd.Timestamp(a).normalize() for a in asofs]
    inv = prepare_inventory(inventory).reset_index(drop=True)
    meas = measurements.sort_values(["resource_id", "ts"], ignore_index=True)
    measured = busy_hour(meas, settings.cadence, tz=settings.tz)
    end = pd.Timestamp(evaluate_until).normalize() if evaluate_until is not None else measured["period"].max()
    measured = measured.loc[measured["period"] <= end]
    column = settings.quantile_column
    installed = pd.Series(
        inv["capacity"].to_numpy(np.float64), index=inv["resource_id"].astype(str).to_numpy()
    )
    ledgers = {p: _Ledger(installed.copy()) for p in (*POLICIES, "oracle_unconstrained")}
    unconstrained = dataclasses.replace(settings, budget=None, ops_per_day=None)
    plans: dict[pd.Timestamp, PlannedDay] = {}
    rows = []
    forecasts = _forecast_dates(meas, inv, indicators, dates, settings, refit_every_days, executor)
    with progress(f"replay planning ({len(dates)} as-of dates, {len(POLICIES)} policies)", len(dates)) as adv:
        # each date is planned as soon as its forecast is in, while later dates are still forecast
        for i, (asof, forecast) in enumerate(forecasts):  # a loop over dates, each vectorised over resources
            plan, bh, capped = plan_on_busy_hour(
                forecast,
                inv,
                asof,
                settings,
                capacity=ledgers["surgeplan"].committed,
                measured_busy_hour=measured.loc[measured["period"] < asof],
            )
            plans[asof] = PlannedDay(plan, bh, None, capped)
            next_plan = (
                dates[i + 1]
                if i + 1 < len(dates)
                else asof + (asof - dates[i - 1] if i else pd.Timedelta(days=7))
            )
            new = ledgers["surgeplan"].commit(plan, asof, next_plan)
            rows.append({**plan.summary, "new_orders": new, "forecast_rows_capped": capped})
            for name, table, s in (
                ("reactive", None, settings),
                ("oracle", _oracle_busy_hour(measured, asof, column), settings),
                ("oracle_unconstrained", _oracle_busy_hour(measured, asof, column), unconstrained),
            ):
                inv_now = inv.assign(capacity=ledgers[name].committed.reindex(inv["resource_id"]).to_numpy())
                if table is None:
                    table = reactive_busy_hour(inv_now, measured, asof, column, settings.gos or None)
                ledgers[name].commit(_make_plan(inv_now, table, asof, s), asof, next_plan)
            adv()
    orders = {p: ledgers[p].order_table() for p in ledgers}
    start = dates[0]
    realized = {p: realized_outcome(inv, measured, orders[p], start) for p in ledgers}
    policies = score_policies({p: realized[p] for p in POLICIES}, {p: orders[p] for p in POLICIES})
    losses = shortage_losses(policies, _shortage(realized["oracle_unconstrained"]))
    return Replay(policies, losses, pd.DataFrame(rows), orders, realized, plans)


def _chains(dates: list[pd.Timestamp], refit_every_days: int) -> list[list[pd.Timestamp]]:
    """The as-of dates cut where surgeplan's forecaster is fitted anew: each chain is one fit
    (on everything before its first date) brought forward with ``update()`` to its other dates."""
    chains: list[list[pd.Timestamp]] = []
    last_fit = None
    for d in dates:
        if last_fit is None or (refit_every_days and (d - last_fit) >= pd.Timedelta(days=refit_every_days)):
            chains.append([d])
            last_fit = d
        else:
            chains[-1].append(d)
    return chains


def _forecast_chain(chain, meas, inv, indicators, settings) -> list[pd.DataFrame]:
    """Busy-hour forecasts on each date of one chain: a fit on the data before its first date,
    then ``update()`` with each week's measurements and indicators (Kalman steps, no refit)."""
    from surgeplan.forecast import ShockForecaster

    ts = pd.to_datetime(meas["ts"], utc=True)
    out = []
    forecaster = None
    for i, day in enumerate(chain):
        cut = pd.Timestamp(day, tz="UTC")
        if forecaster is None:
            forecaster = ShockForecaster(quantiles=settings.forecast_quantiles)
            forecaster.fit(meas.loc[(ts < cut).to_numpy()], inv, known_before(indicators, day), cutoff=cut)
        else:
            prev = pd.Timestamp(chain[i - 1], tz="UTC")
            forecaster.update(
                meas.loc[((ts >= prev) & (ts < cut)).to_numpy()], indicators=known_before(indicators, day)
            )
        out.append(busy_hour(forecast_horizon(forecaster, settings), settings.cadence, tz=settings.tz))
    return out


def _forecast_dates(meas, inv, indicators, dates, settings, refit_every_days, executor):
    """surgeplan's busy-hour forecasts, ``(date, table)`` in date order, as they come. Chains do
    not depend on each other (each starts with its own fit), so they run side by side on
    ``executor``; the result is the same as one after the other."""
    chains = _chains(dates, refit_every_days)
    task = partial(_forecast_chain, meas=meas, inv=inv, indicators=indicators, settings=settings)
    results = map(task, chains) if executor is None else executor.map(task, chains)
    for chain, tables in zip(chains, results):
        yield from zip(chain, tables)


def _make_plan(inv: pd.DataFrame, table: pd.DataFrame, asof: pd.Timestamp, s: PlanSettings) -> Plan:
    return make_plan(
        inv,
        table,
        asof,
        quantile=s.quantile,
        budget=s.budget,
        ops_per_day=s.ops_per_day,
        ops_per_module=s.ops_per_module or None,
        gos_overrides=s.gos or None,
        alert_quantiles=(s.quantile,),
    )


# ------------------------------------------------------------------------------------- scoring


def realized_outcome(
    inventory: pd.DataFrame, measured: pd.DataFrame, orders: pd.DataFrame, start: pd.Timestamp
) -> pd.DataFrame:
    """Dimension the measured busy-hour load against the capacity really in service each day.

    Capacity in service on a day = inventory capacity + every committed order with
    ``install_done <= day``. One :func:`dimension` call per distinct capacity state (the days on
    which some order comes into service), never per resource.

    Parameters
    ----------
    measured : DataFrame
        Measured busy hours ``resource_id, period, load`` (:func:`surgeplan.forecast.busy_hour`).
    orders : DataFrame
        ``resource_id, modules_funded, module_size, install_done``.
    start : Timestamp
        First day scored.
    """
    inv = prepare_inventory(inventory)
    bh = measured.loc[measured["period"] >= start]
    days = np.sort(bh["period"].unique())
    if not len(days):
        return pd.DataFrame()
    o = orders.loc[orders["modules_funded"] > 0] if len(orders) else orders
    change = (
        np.sort(pd.to_datetime(o["install_done"]).dropna().unique())
        if len(o)
        else np.array([], "datetime64[ns]")
    )
    edges = np.unique(np.r_[days[:1], change[(change > days[0]) & (change <= days[-1])]])
    frames = []
    for i, e in enumerate(edges):  # a loop over capacity states (dates), not resources
        hi = edges[i + 1] if i + 1 < len(edges) else np.datetime64("2262-01-01")
        rows = bh.loc[(bh["period"] >= e) & (bh["period"] < hi)]
        if rows.empty:
            continue
        done = o.loc[pd.to_datetime(o["install_done"]) <= e] if len(o) else o
        add = (
            (done["modules_funded"] * done["module_size"]).groupby(done["resource_id"]).sum()
            if len(done)
            else None
        )
        cap = inv["capacity"].add(add, fill_value=0.0) if add is not None else None
        frames.append(dimension(inv, rows, capacity=cap, load_column="load"))
    return pd.concat(frames, ignore_index=True).sort_values(["resource_id", "period"], ignore_index=True)


def _shortage(realized: pd.DataFrame) -> int:
    return int((~realized["gos_ok"].to_numpy(bool)).sum()) if len(realized) else 0


def score_policies(realized: dict[str, pd.DataFrame], orders: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The policy table: ``POLICY_COLUMNS``, one row per policy.

    * ``shortage_resource_days``: (resource, day) pairs whose measured busy hour breaks the GoS
      target with the capacity in service; ``vital_...`` the same for vital resources;
    * ``unserved_load_share``: the share of each resource-day's busy-hour load beyond what its
      capacity carries at the GoS target, ``max(0, 1 - carriable / load)``, averaged over all
      resource-days (each counts the same, whatever its unit);
    * ``orders``: orders placed (actions funded); ``cost``: their cost (currency of
      ``module_cost``).
    """
    out = []
    for p, r in realized.items():
        o = orders[p]
        if len(r):
            short = ~r["gos_ok"].to_numpy(bool)
            vital = r["priority_class"].astype(str).to_numpy() == "vital"
            load = r["load"].to_numpy(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                lost = np.where(
                    load > 0, np.clip(1.0 - r["carriable"].to_numpy(np.float64) / load, 0.0, 1.0), 0.0
                )
            row = (int(short.sum()), int((short & vital).sum()), float(np.mean(lost)))
        else:
            row = (0, 0, 0.0)
        cost = float(o["cost_funded"].sum()) if len(o) and "cost_funded" in o else 0.0
        out.append((p, *row, len(o), cost))
    return pd.DataFrame(out, columns=list(POLICY_COLUMNS))


def shortage_losses(policies: pd.DataFrame, lead_time_floor: int) -> pd.DataFrame:
    """Split surgeplan's shortage resource-days by cause.

    ``lead time``: what the oracle suffers even without budget or operations ceilings (needs
    that arise before any order could be in service); ``budget and operations``: what the
    ceilings add to the oracle; ``forecast``: what surgeplan suffers beyond the oracle.
    """
    s = policies.set_index("policy")["shortage_resource_days"]
    rows = [
        ("lead time", lead_time_floor),
        ("budget and operations", int(s["oracle"]) - lead_time_floor),
        ("forecast", int(s["surgeplan"]) - int(s["oracle"])),
    ]
    return pd.DataFrame(rows, columns=["cause", "shortage_resource_days"])


def headline(policies: pd.DataFrame) -> str:
    """The replay in one sentence: the reactive planner's excess shortage avoided, and the cost."""
    p = policies.set_index("policy")
    r, s, o = (float(p.loc[k, "shortage_resource_days"]) for k in ("reactive", "surgeplan", "oracle"))
    cost_s, cost_o = float(p.loc["surgeplan", "cost"]), float(p.loc["oracle", "cost"])
    ratio = f"{cost_s / cost_o:.2f}" if cost_o > 0 else "n/a (the oracle orders nothing)"
    if r <= o:
        return (
            f"Reactive planning suffers no shortage beyond the oracle's here ({r:,.0f} resource-days); "
            f"surgeplan is short on {s:,.0f}, at {ratio} times the oracle's cost."
        )
    x = 100.0 * (r - s) / (r - o)
    return (
        f"surgeplan avoided {x:.0f}% of the shortage that reactive planning suffers beyond the oracle, "
        f"at {ratio} times the oracle's cost."
    )
