"""The backtest engine: rolling origins, fits, updates and forecasts (scored in :mod:`.scoring`)."""

from __future__ import annotations

import inspect
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from surgeplan import quantiles as _quantiles
from surgeplan.errors import SurgeplanError
from surgeplan.forecast.backtest.origins import (
    COVERAGE_QUANTILES,
    _as_utc,
    _local_day,
    parse_duration,
    rolling_origins,
)
from surgeplan.forecast.backtest.scoring import score_backtest
from surgeplan.quantiles import column as quantile_name

__all__ = ["BacktestResult", "Forecaster", "backtest", "parse_quantiles"]

_DAY = pd.Timedelta(days=1)


class Forecaster(Protocol):
    """What :func:`backtest` needs from a model (``ShockForecaster`` and the peers satisfy it)."""

    def fit(
        self,
        measurements: pd.DataFrame,
        inventory: Any = None,
        indicators: Any = None,
        covariates: Any = None,
        cutoff: Any = None,
    ) -> Any: ...

    def update(self, new_measurements: pd.DataFrame) -> Any: ...

    def predict(
        self, horizon: Any, indicators_future: Any = None, covariates: Any = None
    ) -> pd.DataFrame: ...


def parse_quantiles(text: str | Sequence[float]) -> tuple[float, ...]:
    """Parse ``"0.1,0.5,0.9"`` (or a sequence) into sorted unique quantile levels in (0, 1)."""
    return _quantiles.parse_list(text, "--quantiles")


@dataclass
class BacktestResult:
    """Forecasts and scores of a backtest.

    Attributes
    ----------
    forecasts : DataFrame
        ``resource_id, origin, ts, mean`` + one column per requested quantile (UTC timestamps).
    metrics : DataFrame
        One row per resource and lead day (see :func:`score_backtest`).
    quantiles : tuple of float
        The requested quantiles.
    internal : DataFrame
        Forecasts with all internal quantiles (:data:`COVERAGE_QUANTILES` + requested).
    busy_hour : DataFrame
        Daily busy-hour forecasts and actuals per resource and origin (:func:`score_backtest`).
    timings : dict
        Seconds spent fitting, updating, predicting and scoring; number of fits.
    """

    forecasts: pd.DataFrame
    metrics: pd.DataFrame
    quantiles: tuple[float, ...]
    internal: pd.DataFrame = field(repr=False)
    busy_hour: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    timings: dict[str, float] = field(default_factory=dict)

    def write(self, out_dir: str | os.PathLike) -> dict[str, Path]:
        """Write ``forecasts.parquet`` and ``metrics.csv`` into ``out_dir`` (created if needed)."""
        d = Path(out_dir)
        d.mkdir(parents=True, exist_ok=True)
        fp, mp = d / "forecasts.parquet", d / "metrics.csv"
        self.forecasts.to_parquet(fp, index=False)
        m = self.metrics.copy()
        if "shortage_date" in m:
            m["shortage_date"] = pd.to_datetime(m["shortage_date"]).dt.strftime("%Y-%m-%d")
        m.to_csv(mp, index=False, float_format="%.6g")
        return {"forecasts": fp, "metrics": mp}


def _default_model(quantiles: Sequence[float]) -> Forecaster:
    try:
        from surgeplan.forecast.model import ShockForecaster  # the project's model (lazy: no import cycle)
    except ImportError as exc:  # pragma: no cover - only before the model lands
        raise SurgeplanError(f"the forecasting model is not available ({exc})") from None
    return ShockForecaster(quantiles=tuple(quantiles))


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def backtest(
    measurements: pd.DataFrame,
    inventory: pd.DataFrame | None = None,
    indicators: pd.DataFrame | None = None,
    covariates: pd.DataFrame | None = None,
    *,
    start: Any,
    end: Any,
    every: Any = "1d",
    horizon: Any = "1d",
    tz: str = "UTC",
    quantiles: Sequence[float] | str = (0.1, 0.5, 0.9),
    model: Callable[[tuple[float, ...]], Forecaster] | None = None,
    refit_every: int = 7,
    warning_quantile: float = 0.9,
    indicators_future: Callable[[pd.Timestamp], pd.DataFrame | None] | None = None,
    progress: Callable[[int, int, pd.Timestamp], None] | None = None,
) -> BacktestResult:
    """Rolling-origin backtest of a forecaster on measured load.

    Parameters
    ----------
    measurements : DataFrame
        ``resource_id, ts, load`` (ts tz-aware UTC; load in the kind's unit).
    inventory : DataFrame, optional
        At least ``resource_id, kind, region``; ``capacity`` enables anticipation scores.
    indicators : DataFrame, optional
        ``region, date, name, value``; an origin sees the rows dated before its local day.
    covariates : DataFrame, optional
        ``resource_id|region, ts, name, value``, known over the forecast window too.
    start, end : date-like
        First and last origin day (local days in ``tz``).
    every : str, default "1d"
        Spacing of origins.
    horizon : str, default "1d"
        Forecast window after each origin (e.g. ``"28d"``); scores are given per lead day.
    tz : str, default "UTC"
        Time zone whose midnights are the origins and whose days are the busy-hour periods.
    quantiles : sequence of float or str, default (0.1, 0.5, 0.9)
        Quantiles written to the forecasts; :data:`COVERAGE_QUANTILES` are added internally.
    model : callable, optional
        ``model(quantiles) -> forecaster`` with ``fit / update / predict``; default the project's
        ``ShockForecaster``.
    refit_every : int, default 7
        Refit the model every this many origins (1 = refit at each origin, no ``update``).
    warning_quantile : float, default 0.9
        Forecast quantile compared with capacity for anticipation.
    indicators_future : callable, optional
        ``indicators_future(origin)`` -> indicator paths assumed for the window (a scenario);
        default none (the model extrapolates).
    progress : callable, optional
        Called as ``progress(i, n, origin)`` after each origin.

    Returns
    -------
    BacktestResult
    """
    user_q, all_q, h = _checked_settings(quantiles, warning_quantile, horizon, refit_every)
    origins = rolling_origins(start, end, every, tz)
    history = _history(measurements, indicators, origins[0])
    timings = {"fit_s": 0.0, "update_s": 0.0, "predict_s": 0.0, "n_fits": 0}
    internal = _forecast_every_origin(
        history,
        origins,
        tz,
        _OriginRun(
            make=model or _default_model,
            all_q=all_q,
            horizon=h,
            refit_every=refit_every,
            inventory=inventory,
            covariates=covariates,
            indicators_future=indicators_future,
        ),
        timings,
        progress,
    )
    t = time.perf_counter()
    scores, bh_table = score_backtest(
        internal,
        history.meas,
        quantiles=user_q,
        tz=tz,
        capacity=_installed_capacity(inventory),
        warning_quantile=warning_quantile,
        horizon_days=math.ceil(h / _DAY),
        return_busy_hour=True,
    )
    timings["score_s"] = time.perf_counter() - t
    cols = ["resource_id", "origin", "ts", "mean", *[quantile_name(q) for q in user_q]]
    return BacktestResult(
        forecasts=internal[cols].reset_index(drop=True),
        metrics=scores,
        quantiles=user_q,
        internal=internal,
        busy_hour=bh_table,
        timings=timings,
    )


def _checked_settings(
    quantiles: Sequence[float] | str, warning_quantile: float, horizon: Any, refit_every: int
) -> tuple[tuple[float, ...], tuple[float, ...], pd.Timedelta]:
    """Validate the backtest's settings (``SurgeplanError`` naming the first bad one).

    Returns the requested quantiles, every quantile the model must produce (requested +
    :data:`COVERAGE_QUANTILES` + ``warning_quantile``, sorted) and the forecast window.
    """
    user_q = parse_quantiles(quantiles)
    if not 0 < warning_quantile < 1:
        raise SurgeplanError(f"warning_quantile must lie in (0, 1), got {warning_quantile}")
    all_q = tuple(sorted(set(user_q) | set(COVERAGE_QUANTILES) | {float(warning_quantile)}))
    h = parse_duration(horizon, "horizon")
    if refit_every < 1:
        raise SurgeplanError(f"refit_every must be >= 1, got {refit_every}")
    return user_q, all_q, h


def _measurements_by_time(
    measurements: pd.DataFrame, first_origin: pd.Timestamp
) -> tuple[pd.DataFrame, np.ndarray]:
    """``resource_id, ts, load`` (ids as text, ts in UTC) sorted by time, and ``ts`` as int64 ns.

    Sorting once lets every origin take its history as a prefix (a binary search, no copy).
    Raises ``SurgeplanError`` when nothing was measured before the first origin.
    """
    meas = measurements[["resource_id", "ts", "load"]].copy()
    meas["resource_id"] = meas["resource_id"].astype(str)
    meas["ts"] = _as_utc(meas["ts"])
    meas = meas.sort_values("ts", kind="stable").reset_index(drop=True)
    if meas.empty or meas["ts"].iloc[0] >= first_origin:
        raise SurgeplanError(f"no measurements before the first origin {first_origin} (--start too early?)")
    return meas, pd.DatetimeIndex(meas["ts"]).as_unit("ns").asi8


def _indicators_by_date(indicators: pd.DataFrame | None) -> tuple[pd.DataFrame | None, np.ndarray | None]:
    """Indicators with naive dates sorted by date, and their dates as days since the epoch
    (``None, None`` without indicators)."""
    if indicators is None or not len(indicators):
        return None, None
    ind = indicators.copy()
    ind["date"] = (
        pd.to_datetime(ind["date"]).dt.tz_localize(None)
        if getattr(pd.to_datetime(ind["date"]).dt, "tz", None)
        else pd.to_datetime(ind["date"])
    )
    ind = ind.sort_values("date", kind="stable").reset_index(drop=True)
    return ind, ind["date"].to_numpy().astype("datetime64[D]").astype(np.int64)


@dataclass(frozen=True)
class _History:
    """What each origin cuts its past from: measurements sorted by time (``ts_ns``: their ``ts`` as
    int64 ns) and indicators sorted by date (``ind_days``: days since the epoch), or None."""

    meas: pd.DataFrame
    ts_ns: np.ndarray
    ind: pd.DataFrame | None
    ind_days: np.ndarray | None


def _history(
    measurements: pd.DataFrame, indicators: pd.DataFrame | None, first_origin: pd.Timestamp
) -> _History:
    """Measurements, then indicators, made ready for slicing by origin (measurements checked first)."""
    meas, ts_ns = _measurements_by_time(measurements, first_origin)
    ind, ind_days = _indicators_by_date(indicators)
    return _History(meas, ts_ns, ind, ind_days)


@dataclass(frozen=True)
class _OriginRun:
    """The model and the inputs every origin shares: ``make(all_q)`` builds a forecaster, which
    forecasts ``horizon`` after each origin and is refitted every ``refit_every`` origins."""

    make: Callable[[tuple[float, ...]], Forecaster]
    all_q: tuple[float, ...]
    horizon: pd.Timedelta
    refit_every: int
    inventory: pd.DataFrame | None
    covariates: pd.DataFrame | None
    indicators_future: Callable[[pd.Timestamp], pd.DataFrame | None] | None


def _forecast_every_origin(
    history: _History,
    origins: pd.DatetimeIndex,
    tz: str,
    run: _OriginRun,
    timings: dict[str, float],
    progress: Callable[[int, int, pd.Timestamp], None] | None,
) -> pd.DataFrame:
    """Walk the origins in time order: fit (or update) the model on what was known, forecast the window.

    Adds the seconds spent fitting, updating and predicting, and the number of fits, to ``timings``.
    Returns the forecasts of all origins: ``resource_id, origin, ts, mean`` + every ``run.all_q``
    column, ids as text, timestamps in UTC.
    """
    origin_days = _local_day(origins, tz)
    pieces: list[pd.DataFrame] = []
    fc: Any = None
    prev_pos = 0
    prev_ind = 0
    for i, origin in enumerate(origins):
        pos = int(np.searchsorted(history.ts_ns, origin.value, side="left"))
        # an origin sees the measurements before it and the indicators dated before its local day
        seen_ind = new_ind = None
        if history.ind is not None:
            n_ind = int(np.searchsorted(history.ind_days, origin_days[i], side="left"))
            seen_ind, new_ind = history.ind.iloc[:n_ind], history.ind.iloc[prev_ind:n_ind]
            prev_ind = n_ind
        t = time.perf_counter()
        # refit on a schedule and update in between: a few fits per backtest, not one per origin
        if fc is None or i % run.refit_every == 0:
            fc = run.make(run.all_q)
            fc.fit(
                history.meas.iloc[:pos],
                inventory=run.inventory,
                indicators=seen_ind,
                covariates=run.covariates,
                cutoff=origin,
            )
            timings["fit_s"] += time.perf_counter() - t
            timings["n_fits"] += 1
        else:
            _update_model(fc, history.meas.iloc[prev_pos:pos], new_ind, origin)
            timings["update_s"] += time.perf_counter() - t
        prev_pos = pos
        t = time.perf_counter()
        out = _predict_window(fc, history, pos, origin, run)
        timings["predict_s"] += time.perf_counter() - t
        pieces.append(_window_rows(out, origin, run.horizon, run.all_q))
        if progress is not None:
            progress(i + 1, len(origins), origin)
    internal = pd.concat(pieces, ignore_index=True)
    internal["resource_id"] = internal["resource_id"].astype(str)
    internal["ts"] = _as_utc(internal["ts"])
    internal["origin"] = _as_utc(internal["origin"])
    return internal


def _update_model(
    fc: Forecaster, new: pd.DataFrame, new_ind: pd.DataFrame | None, origin: pd.Timestamp
) -> None:
    """Bring a fitted model forward to ``origin`` with the measurements since the previous origin,
    passing the new indicator rows and the cutoff only to models whose ``update`` takes them."""
    kw: dict[str, Any] = {}
    if _accepts(fc.update, "indicators"):
        kw["indicators"] = new_ind  # only the rows the model has not seen yet
    if _accepts(fc.update, "cutoff"):
        kw["cutoff"] = origin
    fc.update(new, **kw)


def _predict_window(
    fc: Forecaster, history: _History, pos: int, origin: pd.Timestamp, run: _OriginRun
) -> pd.DataFrame:
    """The model's forecast from ``origin``, long enough to cover the window (see :func:`_window_gap`)."""
    kw = {"covariates": run.covariates} if run.covariates is not None else {}
    if run.indicators_future is not None:
        kw["indicators_future"] = run.indicators_future(origin)
    # a model forecasts from each resource's last observation: ask for enough steps to cover
    # the window even when the last hours before the origin are missing (up to a week)
    gap = _window_gap(history.meas, history.ts_ns, pos, origin)
    return fc.predict(run.horizon + gap, **kw)


def _window_rows(
    out: pd.DataFrame, origin: pd.Timestamp, horizon: pd.Timedelta, all_q: tuple[float, ...]
) -> pd.DataFrame:
    """The forecast rows inside [origin, origin + horizon): ``resource_id, origin, ts, mean`` + the
    ``all_q`` columns. Raises ``SurgeplanError`` when the model left out a quantile column."""
    out = out[(out["ts"] >= origin) & (out["ts"] < origin + horizon)]
    missing = [quantile_name(q) for q in all_q if quantile_name(q) not in out.columns]
    if missing:
        raise SurgeplanError(f"the model's forecast lacks quantile column(s) {missing}")
    out = out[["resource_id", "ts", "mean", *[quantile_name(q) for q in all_q]]].copy()
    out.insert(1, "origin", origin)
    return out


def _installed_capacity(inventory: pd.DataFrame | None) -> pd.Series | None:
    """Installed capacity per ``resource_id`` (load unit) for anticipation; None without a
    ``capacity`` column."""
    if inventory is not None and "capacity" in inventory.columns:
        return inventory.set_index("resource_id")["capacity"].astype(float)
    return None


def _window_gap(meas: pd.DataFrame, ts_ns: np.ndarray, pos: int, origin: pd.Timestamp) -> pd.Timedelta:
    """Longest time between a resource's last measurement (within the week before) and the origin."""
    lo = int(np.searchsorted(ts_ns, (origin - pd.Timedelta(days=7)).value, side="left"))
    recent = meas.iloc[lo:pos]
    if recent.empty:
        return pd.Timedelta(0)
    last = recent.groupby("resource_id", sort=False, observed=True)["ts"].max().min()
    return max(origin - last, pd.Timedelta(0)).ceil("h")
