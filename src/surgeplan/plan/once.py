"""One plan, one way: forecast the horizon, take the busy hours, guard them, plan.

:func:`plan_once` is the single path from data to a plan, used by ``surgeplan plan``, by every
date of the replay and by the service. Everything it needs is an argument; it writes nothing.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from surgeplan import quantiles
from surgeplan.forecast.busy_hour import busy_hour
from surgeplan.plan import Plan, make_plan
from surgeplan.plan.alerts import naive_day
from surgeplan.plan.settings import PlanSettings

_HOUR_NS = 3_600 * 10**9

__all__ = [
    "PlannedDay",
    "bound_forecast",
    "canonical_inventory",
    "forecast_busy_hour",
    "known_before",
    "measured_peak",
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
    """Cap the centre of each busy-hour law at ``factor`` x the highest busy hour measured on the resource.

    A guard, not a model: no crisis in the 2020 record multiplied a resource's busiest hour by
    more than about 8 (remote access), so a *centre* (the larger of the mean and the median)
    beyond the default 10 is a forecast gone wrong: a response extrapolated as growth. Such a row
    has its whole law scaled down to the bound, its quantiles keeping their ratios to the centre,
    and is counted, so that it is seen. The quantiles above the median are not capped one by one:
    they are the response's uncertainty, not its growth, and a tail cut at the bound would state
    more confidence than the forecast has (bundled replay fit on 9 Mar 2020: remote-access
    gateways really reached 8.2x their highest measured busy hour; the forecast's p99 covered 95%
    of their busy hours, its p90 71%, and 1,936 p99 rows, none of them a centre, were above 10x).
    A non-finite value in any column counts as a runaway and is set to the bound. Resources
    without history are left as they are.

    Parameters
    ----------
    bh : DataFrame
        Busy-hour forecasts ``resource_id, period, mean, p..``.
    history : DataFrame
        Measured busy hours ``resource_id, period, load``.
    factor : float or None
        The cap on the centre, x the highest measured busy hour; None disables it.

    Returns
    -------
    (DataFrame, int)
        The guarded table and the number of (resource, period) rows it changed.
    """
    if factor is None or bh.empty or history.empty:
        return bh, 0
    peak = history.groupby("resource_id", observed=True)["load"].max() * float(factor)
    bound = bh["resource_id"].map(peak).to_numpy(np.float64)
    has_bound = np.isfinite(bound)
    cols = sorted(
        (c for c in bh.columns if c == quantiles.MEAN or quantiles.is_column(c)),
        key=lambda c: -1.0 if c == quantiles.MEAN else quantiles.parse(c),
    )
    if not cols:
        return bh, 0
    values = {c: bh[c].to_numpy(np.float64) for c in cols}
    broken = has_bound & ~np.logical_and.reduce([np.isfinite(v) for v in values.values()])
    values = {c: np.where(broken & ~np.isfinite(v), bound, v) for c, v in values.items()}
    # the centre: mean and median; a table with neither is guarded on its lowest column
    centres = [c for c in (quantiles.MEAN, quantiles.column(0.5)) if c in values] or [cols[0]]
    centre = np.maximum.reduce([values[c] for c in centres])
    over = has_bound & (centre > bound)
    scale = np.where(over, bound / np.where(over, centre, 1.0), 1.0)
    out = bh.copy()
    for c, v in values.items():
        out[c] = v * scale
    return out, int((broken | over).sum())


def measured_peak(measurements: pd.DataFrame, rows: np.ndarray | None = None) -> pd.DataFrame:
    """The highest hourly load measured on each resource: ``resource_id, load``, a row per resource.

    What :func:`bound_forecast` reads of the measured busy hours (:func:`busy_hour`): their highest
    load per resource, which is the highest hourly mean (the mean over the clock hour of the
    measured load, or of ``mean`` in a forecast frame) over every hour measured, NaN apart. Found
    without the busy hour of each period: the guard's input for the whole history.

    Parameters
    ----------
    measurements : DataFrame
        ``resource_id, ts, load``; ``ts`` in UTC (naive timestamps are read as UTC).
    rows : boolean array, optional
        The rows to read (all by default).
    """
    value = "mean" if "mean" in measurements.columns else "load"
    ts = measurements["ts"]
    if ts.dtype != pd.DatetimeTZDtype("ns", "UTC"):  # a UTC column is read as it is: no copy
        ts = pd.to_datetime(ts, utc=True)
    ts_ns = pd.DatetimeIndex(ts).asi8
    codes, ids = pd.factorize(measurements["resource_id"])  # on a categorical's codes: no strings per row
    v = measurements[value].to_numpy(np.float64)
    pick = np.ones(len(v), bool) if rows is None else np.asarray(rows, dtype=bool)
    # rows grouped by resource (a store's read, a simulation): taken a slice of whole resources at
    # a time, so the temporaries are a slice long (a resource's hours never span two slices, and
    # codes are numbered in order of appearance, so the slices' peaks come in code order)
    start = np.flatnonzero(np.r_[len(codes) > 0, codes[1:] != codes[:-1]])
    cuts = [0, len(codes)]
    if len(start) == len(ids):
        at = np.unique(np.searchsorted(start, np.arange(0, len(codes), _PEAK_SLICE_ROWS)))
        cuts = np.r_[start[at[at < len(start)]], len(codes)]
    parts = [_peak_of(ts_ns[a:b], codes[a:b], v[a:b], pick[a:b], value) for a, b in zip(cuts[:-1], cuts[1:])]
    peak = pd.concat(parts) if parts else pd.Series([], dtype=np.float64)
    return pd.DataFrame({"resource_id": np.asarray(ids)[peak.index.to_numpy()], "load": peak.to_numpy()})


#: rows per slice of :func:`measured_peak` (its temporaries: ~70 bytes a row of a slice)
_PEAK_SLICE_ROWS = 1 << 22


def _peak_of(ts_ns: np.ndarray, codes: np.ndarray, v: np.ndarray, pick: np.ndarray, value: str) -> pd.Series:
    """Highest hourly mean per code (index: the codes, sorted) of the picked rows."""
    ts_ns, codes, v = ts_ns[pick], codes[pick], v[pick]
    hour_ns = ts_ns - ts_ns % _HOUR_NS
    hours = codes.astype(np.int64) * (1 << 40) + hour_ns // _HOUR_NS
    # rows grouped by resource in time order (a store's read) have increasing keys: no hash table
    unique = bool(np.all(hours[1:] > hours[:-1])) or not pd.Index(hours).has_duplicates
    if (hour_ns != ts_ns).any() or not unique:
        # the hourly mean as busy_hour takes it (the same rows in the same order: the same bits)
        key = pd.MultiIndex.from_arrays([codes, hour_ns])
        hourly = pd.DataFrame({value: v}, index=key).groupby(level=[0, 1], sort=False).mean()
        codes, v = hourly.index.get_level_values(0).to_numpy(), hourly[value].to_numpy()
    ok = ~np.isnan(v)
    return pd.Series(v[ok]).groupby(codes[ok]).max()


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


def forecast_horizon(forecaster: Any, settings: PlanSettings, **options: Any) -> pd.DataFrame:
    """The fitted forecaster's forecast over the plan's horizon, at every step (``options``: more
    arguments of its ``predict``)."""
    return forecaster.predict(
        f"{settings.horizon_days}D", indicators_future=settings.indicators or None, **options
    )


def forecast_busy_hour(forecaster: Any, settings: PlanSettings) -> pd.DataFrame:
    """The busy hours of the forecast over the plan's horizon: :func:`busy_hour` of
    :func:`forecast_horizon`.

    A busy hour is per resource, so a forecaster that reduces each group of resources where it
    forecasts it (``predict(per_group=...)``: a Dask worker) hands back only the busy hours (a row
    per day instead of a row per step); sorted by resource, the table is the one of the whole
    forecast.
    """
    reduce = partial(busy_hour, period=settings.cadence, tz=settings.tz)
    if "per_group" not in inspect.signature(forecaster.predict).parameters:
        return reduce(forecast_horizon(forecaster, settings))
    bh = forecast_horizon(forecaster, settings, per_group=reduce)
    order = np.argsort(bh["resource_id"].to_numpy(), kind="stable")  # busy_hour's order: by resource
    return bh.iloc[order].reset_index(drop=True)


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
    before = (pd.to_datetime(measurements["ts"], utc=True) < cut).to_numpy()
    if forecaster is None:
        from surgeplan.forecast import ShockForecaster

        forecaster = ShockForecaster(quantiles=settings.forecast_quantiles, executor=executor)
        forecaster.fit(measurements.loc[before], inventory, known_before(indicators, asof_day), cutoff=cut)
    if measured_busy_hour is None:
        measured_busy_hour = measured_peak(measurements, before)
    forecast = forecast_horizon(forecaster, settings) if keep_forecast else None
    if forecast is None:
        bh = forecast_busy_hour(forecaster, settings)
    else:
        bh = busy_hour(forecast, settings.cadence, tz=settings.tz)
    plan, bh, capped = plan_on_busy_hour(
        bh, inventory, asof_day, settings, capacity=capacity, measured_busy_hour=measured_busy_hour
    )
    return PlannedDay(plan, bh, forecaster, capped, forecast)


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
