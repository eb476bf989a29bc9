"""One plan, one way: forecast the horizon, take the busy hours, guard them, plan.

:func:`plan_once` is the single path from data to a plan, used by ``surgeplan plan``, by every
date of the replay and by the service. Everything it needs is an argument; it writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from surgeplan import quantiles
from surgeplan.forecast.busy_hour import busy_hour
from surgeplan.plan import Plan, make_plan
from surgeplan.plan.alerts import naive_day
from surgeplan.plan.settings import PlanSettings

__all__ = [
    "PlannedDay",
    "bound_forecast",
    "canonical_inventory",
    "known_before",
    "naive_day",
    "plan_on_busy_hour",
    "plan_once",
]


def known_before(indicators: pd.DataFrame | None, day: Any) -> pd.DataFrame | None:
    """The indicator rows dated before ``day``: what a planner knew that morning."""
    from surgeplan.signals import filter_indicators

    if indicators is None or indicators.empty:
        return indicators
    return filter_indicators(indicators, end=naive_day(day) - pd.Timedelta(days=1))


def bound_forecast(bh: pd.DataFrame, history: pd.DataFrame, factor: float | None) -> tuple[pd.DataFrame, int]:
    """Cap busy-hour forecasts at ``factor`` x the highest busy-hour load measured on the resource.

    A guard, not a model: no crisis in the 2020 record multiplied a resource's busiest hour by
    more than about 8 (remote access), so the default 10 only catches a forecast gone wrong, and
    the number of rows it capped is reported so that it is seen. Resources without history are
    left as they are.

    Parameters
    ----------
    bh : DataFrame
        Busy-hour forecasts ``resource_id, period, mean, p..``.
    history : DataFrame
        Measured busy hours ``resource_id, period, load``.
    factor : float or None
        The cap; None disables it.

    Returns
    -------
    (DataFrame, int)
        The capped table and the number of (resource, period) rows capped.
    """
    if factor is None or bh.empty or history.empty:
        return bh, 0
    peak = history.groupby("resource_id", observed=True)["load"].max() * float(factor)
    bound = bh["resource_id"].map(peak).to_numpy(np.float64)
    has_bound = np.isfinite(bound)
    out = bh.copy()
    capped = np.zeros(len(bh), dtype=bool)
    for c in [c for c in bh.columns if c == quantiles.MEAN or quantiles.is_column(c)]:
        v = out[c].to_numpy(np.float64)
        over = has_bound & ~(v <= bound)  # NaN / inf forecasts count as over
        capped |= over
        out[c] = np.where(over, bound, v)
    return out, int(capped.sum())


def canonical_inventory(inventory: pd.DataFrame) -> pd.DataFrame:
    """The inventory in one canonical order (by ``resource_id``, as the store keeps it).

    Group sums (N+1, pooling) and the output tables follow the inventory's rows: in one order the
    plan is the same to the last bit whatever order the rows (the regions) came in.
    """
    rid = inventory["resource_id"].astype(str)
    if rid.is_monotonic_increasing:
        return inventory
    return inventory.iloc[np.argsort(rid.to_numpy(), kind="stable")].reset_index(drop=True)


@dataclass
class PlannedDay:
    """What :func:`plan_once` produced.

    Attributes
    ----------
    plan : Plan
        The plan.
    busy_hour : DataFrame
        The busy-hour forecasts it sized on (after the guard), ``period`` naive local days.
    forecaster : ShockForecaster
        The fitted forecaster (to update on the next measurements).
    capped_rows : int
        Busy-hour rows the ``max_growth`` guard capped (0 when the forecast behaves).
    forecast : DataFrame or None
        The forecast at every step (``resource_id, ts, mean, p..``) when asked for with
        ``keep_forecast`` (the replay does not keep it: a week of hourly steps per resource).
    """

    plan: Plan
    busy_hour: pd.DataFrame
    forecaster: Any
    capped_rows: int
    forecast: pd.DataFrame | None = None


def forecast_horizon(forecaster: Any, settings: PlanSettings) -> pd.DataFrame:
    """The fitted forecaster's forecast over the plan's horizon, at every step."""
    return forecaster.predict(f"{settings.horizon_days}D", indicators_future=settings.indicators or None)


def plan_once(
    measurements: pd.DataFrame,
    inventory: pd.DataFrame,
    indicators: pd.DataFrame | None,
    asof: Any,
    settings: PlanSettings,
    *,
    forecaster: Any = None,
    capacity: pd.Series | None = None,
    measured_busy_hour: pd.DataFrame | None = None,
    keep_forecast: bool = False,
    executor: Any = None,
) -> PlannedDay:
    """Plan as of one day: forecast, busy hours, guard, dimension and plan.

    Parameters
    ----------
    measurements : DataFrame
        ``resource_id, ts, load`` (only rows before ``asof`` are used).
    inventory : DataFrame
        The inventory.
    indicators : DataFrame or None
        ``region, date, name, value``; only rows dated before ``asof`` are used (a store filled
        after the fact holds later ones, which a plan made on ``asof`` could not have known).
    asof : date-like
        Planning day (orders are placed that day).
    settings : PlanSettings
        Horizon, cadence, quantiles, budget, operations, GoS, assumed indicators.
    forecaster : ShockForecaster, optional
        A forecaster already fitted (and updated) up to ``asof``, as the replay keeps one; by
        default a new one is fitted on the data before ``asof``.
    capacity : Series, optional
        Capacity installed or on order by ``resource_id``, replacing the inventory's.
    measured_busy_hour : DataFrame, optional
        Measured busy hours ``resource_id, period, load`` before ``asof`` for the guard;
        computed from ``measurements`` when not given.
    keep_forecast : bool, default False
        Return the forecast at every step too (:attr:`PlannedDay.forecast`).
    executor : concurrent.futures.Executor, optional
        Where a new forecaster fits and predicts its groups of resources
        (:func:`surgeplan.scale.compute`); None = here. The plan is the same.
    """
    asof_day = naive_day(asof)
    cut = pd.Timestamp(asof_day, tz="UTC")
    inventory = canonical_inventory(inventory)
    past = None
    if forecaster is None or measured_busy_hour is None:
        past = measurements.loc[(pd.to_datetime(measurements["ts"], utc=True) < cut).to_numpy()]
    if forecaster is None:
        from surgeplan.forecast import ShockForecaster

        forecaster = ShockForecaster(quantiles=settings.forecast_quantiles, executor=executor)
        forecaster.fit(past, inventory, known_before(indicators, asof_day), cutoff=cut)
    if measured_busy_hour is None:
        measured_busy_hour = busy_hour(past, settings.cadence, tz=settings.tz)
    forecast = forecast_horizon(forecaster, settings)
    bh = busy_hour(forecast, settings.cadence, tz=settings.tz)
    plan, bh, capped = plan_on_busy_hour(
        bh, inventory, asof_day, settings, capacity=capacity, measured_busy_hour=measured_busy_hour
    )
    return PlannedDay(plan, bh, forecaster, capped, forecast if keep_forecast else None)


def plan_on_busy_hour(
    busy_hour: pd.DataFrame,
    inventory: pd.DataFrame,
    asof: Any,
    settings: PlanSettings,
    *,
    capacity: pd.Series | None = None,
    measured_busy_hour: pd.DataFrame | None = None,
) -> tuple[Plan, pd.DataFrame, int]:
    """The planning half of :func:`plan_once`: guard the busy-hour forecasts, then plan.

    Returns the plan, the guarded busy hours and the number of rows the guard capped.
    """
    inventory = canonical_inventory(inventory)
    capped = 0
    if measured_busy_hour is not None:
        busy_hour, capped = bound_forecast(busy_hour, measured_busy_hour, settings.max_growth)
    inv = inventory
    if capacity is not None:
        cap = pd.Series(capacity, dtype=np.float64).reindex(inventory["resource_id"].astype(str).to_numpy())
        inv = inventory.assign(
            capacity=cap.fillna(
                pd.Series(inventory["capacity"].to_numpy(np.float64), index=cap.index)
            ).to_numpy()
        )
    plan = make_plan(
        inv,
        busy_hour,
        naive_day(asof),
        quantile=settings.quantile,
        budget=settings.budget,
        ops_per_day=settings.ops_per_day,
        ops_per_module=settings.ops_per_module or None,
        gos_overrides=settings.gos or None,
        alert_quantiles=settings.alert_quantiles,
        survive=settings.survive,
    )
    return plan, busy_hour, capped
