"""Rolling-origin backtests of load forecasts, on anyone's data.

A backtest replays history: at every *origin* (local midnight of each day, or every ``every``)
the forecaster sees only the measurements before the origin and the indicators dated before the
origin's local day, forecasts the next ``horizon``, and the forecasts are scored against what
happened. Covariates (temperature, events) are known for the forecast window too.

Origins share state: the forecaster is fitted at the first origin and refitted every
``refit_every`` origins; in between it is brought forward with ``update()`` and the new day's data,
so a 100-day daily backtest over hundreds of series costs a few fits, not a hundred.

Scoring (:func:`score_backtest`), per resource and lead day ``horizon_days`` (1 = the day that starts
at the origin):

* **busy-hour point accuracy** (ITU-T E.500): the actual busy-hour load of a day is the highest hourly
  mean load of that local day; the forecast busy-hour load is the highest hourly forecast *mean* of
  that day. ``mape`` (percent), ``mae``, ``rmse`` (load unit) and ``mase`` compare them. The MASE
  scale is the in-sample MAE of the weekly seasonal naive forecast of the *daily busy-hour series*
  over the history before the first origin (``y_d - y_{d-7}``; ``y_d - y_{d-1}`` when the history is
  shorter than 8 days), so MASE < 1 beats "same day last week" as measured in-sample.
* **quantiles**: ``pinball`` is the pinball loss averaged over the user's quantiles and over all
  forecast steps (load unit); ``pinball_scaled`` divides it by the MASE scale. ``coverage_80``
  and ``coverage_98`` are the shares of forecast steps whose actual lies in [p10, p90] and [p1, p99]
  (these five quantiles are always produced internally, whatever the user asked for);
  ``bh_coverage_80`` / ``bh_coverage_98`` do the same for the busy-hour load, with the busy-hour
  quantile approximated by the day's highest hourly quantile (exact when forecast errors move
  together over the day, conservative otherwise).
* **anticipation** (needs an inventory with ``capacity``): ``shortage_date`` is the first local
  day, from the first origin on, whose actual busy-hour load exceeds the installed capacity.
  An origin *warns* when its forecast busy-hour load at ``warning_quantile`` (default p90)
  exceeds the capacity on some day up to the shortage day. ``anticipation_days`` = shortage day
  minus the earliest warning origin among the origins whose window (``horizon_days`` long) still
  reaches the shortage day; NaN = the shortage was not foreseen at that horizon.

References
----------
.. [1] L. J. Tashman, "Out-of-sample tests of forecasting accuracy: an analysis and review",
   International Journal of Forecasting 16(4), 437-450, 2000 (rolling origins).
.. [2] R. J. Hyndman, A. B. Koehler, "Another look at measures of forecast accuracy", IJF 22(4), 2006.
.. [3] ITU-T Recommendation E.500, "Traffic intensity measurement principles" (busy hour).
"""

from __future__ import annotations

import inspect
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError, ValidationError
from surgeplan.forecast import metrics as M
from surgeplan.kinds import KINDS

__all__ = [
    "COVERAGE_QUANTILES",
    "BacktestResult",
    "Forecaster",
    "SeasonalNaive",
    "backtest",
    "mase_scale",
    "parse_duration",
    "parse_quantiles",
    "quantile_name",
    "read_inputs",
    "rolling_origins",
    "score_backtest",
    "summarize",
]

#: Quantiles always produced internally: p10/p90 (80% interval), p1/p99 (98% interval), p50.
COVERAGE_QUANTILES: tuple[float, ...] = (0.01, 0.1, 0.5, 0.9, 0.99)

_DAY = pd.Timedelta(days=1)


class Forecaster(Protocol):
    """What :func:`backtest` needs from a model (``ShockForecaster`` and the peers satisfy it)."""

    def fit(self, measurements: pd.DataFrame, inventory: Any = None, indicators: Any = None,
            covariates: Any = None, cutoff: Any = None) -> Any: ...

    def update(self, new_measurements: pd.DataFrame) -> Any: ...

    def predict(self, horizon: Any, indicators_future: Any = None, covariates: Any = None) -> pd.DataFrame: ...


# --------------------------------------------------------------------------------------------- helpers


def quantile_name(q: float) -> str:
    """Column name of quantile ``q``: ``p`` + the percentage (0.1 -> ``p10``, 0.975 -> ``p97.5``)."""
    return "p" + f"{float(q) * 100:.10g}"


def parse_quantiles(text: str | Sequence[float]) -> tuple[float, ...]:
    """Parse ``"0.1,0.5,0.9"`` (or a sequence) into sorted unique quantile levels in (0, 1)."""
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise SurgeplanError(f"--quantiles must be numbers separated by commas, got {text!r}") from None
    else:
        values = [float(v) for v in text]
    if not values:
        raise SurgeplanError("quantiles: at least one quantile level is needed")
    bad = [v for v in values if not (0.0 < v < 1.0)]
    if bad:
        raise SurgeplanError(f"quantiles must lie strictly between 0 and 1, got {bad}")
    return tuple(sorted(set(values)))


def parse_duration(text: str | pd.Timedelta | float, name: str = "duration") -> pd.Timedelta:
    """Parse ``"1d"``, ``"14d"``, ``"2w"``, ``"12h"`` (or a Timedelta, or a number of days)."""
    if isinstance(text, pd.Timedelta):
        out = text
    elif isinstance(text, (int, float)) and not isinstance(text, bool):
        out = pd.Timedelta(days=float(text))
    else:
        s = str(text).strip().lower()
        try:
            if s.endswith("w") and s[:-1].replace(".", "", 1).isdigit():
                out = pd.Timedelta(weeks=float(s[:-1]))
            else:
                out = pd.Timedelta(s)
        except ValueError:
            raise SurgeplanError(f"{name}: cannot read {text!r} as a duration (e.g. 1d, 14d, 2w, 12h)") from None
    if out <= pd.Timedelta(0):
        raise SurgeplanError(f"{name} must be positive, got {text!r}")
    return out


def rolling_origins(start: Any, end: Any, every: Any = "1d", tz: str = "UTC") -> pd.DatetimeIndex:
    """Forecast origins: local midnight of ``start``, then every ``every``, up to ``end`` (inclusive).

    Parameters
    ----------
    start, end : date-like
        First and last origin day (local calendar days in ``tz``).
    every : str or Timedelta
        Spacing of origins; whole days keep origins at local midnight across DST changes.
    tz : str
        IANA time zone of the planner's day (``UTC``, ``Europe/Paris`` ...).

    Returns
    -------
    DatetimeIndex
        Origins in UTC.
    """
    step = parse_duration(every, "every")
    try:
        t0 = pd.Timestamp(start)
        t1 = pd.Timestamp(end)
    except (ValueError, TypeError):
        raise SurgeplanError(f"--start/--end must be dates (YYYY-MM-DD), got {start!r}, {end!r}") from None
    t0 = (t0.tz_convert(tz).tz_localize(None) if t0.tzinfo else t0).normalize()
    t1 = (t1.tz_convert(tz).tz_localize(None) if t1.tzinfo else t1).normalize()
    if t1 < t0:
        raise SurgeplanError(f"--end ({t1.date()}) is before --start ({t0.date()})")
    try:
        if step % _DAY == pd.Timedelta(0):
            local = pd.date_range(t0, t1, freq=f"{step // _DAY}D")
        else:
            local = pd.date_range(t0, t1 + _DAY - pd.Timedelta(1), freq=step)
        return local.tz_localize(tz, ambiguous=True, nonexistent="shift_forward").tz_convert("UTC")
    except (KeyError, ValueError) as exc:  # unknown zone (zoneinfo / pytz errors subclass these)
        raise SurgeplanError(f"--tz: unknown time zone {tz!r} ({exc})") from None


def _local_day(ts: pd.Series | pd.DatetimeIndex, tz: str) -> np.ndarray:
    """Local calendar day (datetime64[D] as int days since epoch) of UTC timestamps."""
    idx = pd.DatetimeIndex(ts)
    local = idx.tz_convert(tz).tz_localize(None) if tz != "UTC" else idx.tz_localize(None)
    return local.values.astype("datetime64[D]").astype(np.int64)


def _as_utc(ts: pd.Series) -> pd.Series:
    ts = pd.to_datetime(ts, utc=False)
    if getattr(ts.dt, "tz", None) is None:
        return ts.dt.tz_localize("UTC")
    return ts.dt.tz_convert("UTC")


# --------------------------------------------------------------------------------------------- inputs


def _read_csv(path: str | os.PathLike, required: Sequence[str], what: str) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise ValidationError(f"{what} file not found", file=str(path))
    try:
        frame = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (ValueError, UnicodeDecodeError, OSError) as exc:  # pandas ParserError/EmptyDataError are ValueErrors
        raise ValidationError(f"not a readable CSV ({exc.__class__.__name__}: {exc})", file=str(path)) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"missing column(s) {', '.join(missing)}; {what} needs {', '.join(required)}", file=str(path), row=0,
            column=missing[0],
        )
    return frame


def _numeric(frame: pd.DataFrame, col: str, file: str, *, allow_empty: bool, minimum: float | None) -> pd.Series:
    raw = frame[col].str.strip()
    values = pd.to_numeric(raw.where(raw != ""), errors="coerce")
    bad = values.isna() & (raw != "")
    if not allow_empty:
        bad |= raw == ""
    bad |= ~np.isfinite(values.fillna(0.0))
    if minimum is not None:
        bad |= values < minimum
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        v = frame[col].iloc[i]
        why = "empty" if v.strip() == "" else f"{v!r} is not a finite number" + (
            f" >= {minimum:g}" if minimum is not None else "")
        raise ValidationError(why, file=file, row=i + 1, column=col)
    return values.astype(np.float64)


def _timestamps(frame: pd.DataFrame, col: str, file: str, *, naive_day: bool = False) -> pd.Series:
    raw = frame[col].str.strip()
    if naive_day:
        out = pd.to_datetime(raw, errors="coerce", format="mixed")
    else:
        out = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
    bad = out.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValidationError(f"{frame[col].iloc[i]!r} is not a date/time (ISO 8601)", file=file, row=i + 1,
                              column=col)
    if naive_day:
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)
        return out.dt.normalize()
    return out


def _text(frame: pd.DataFrame, col: str, file: str) -> pd.Series:
    s = frame[col].str.strip()
    empty = s == ""
    if empty.any():
        raise ValidationError("empty", file=file, row=int(np.flatnonzero(empty.to_numpy())[0]) + 1, column=col)
    return s


def read_inputs(
    measurements: str | os.PathLike,
    inventory: str | os.PathLike | None = None,
    indicators: str | os.PathLike | None = None,
    covariates: str | os.PathLike | None = None,
) -> dict[str, pd.DataFrame | None]:
    """Read and validate the CSV inputs of a backtest (the store's layouts, ``docs/INTERFACES.md``).

    A backtest needs only ``resource_id, kind, region`` from the inventory (``capacity`` enables the
    anticipation score). Timestamps without an offset are read as UTC. Empty ``load`` cells are
    missing measurements (skipped), anything else that is not a finite number >= 0 is an error.

    Raises
    ------
    ValidationError
        Naming the file, the 1-based data row and the column at fault.

    Returns
    -------
    dict
        ``measurements`` (``resource_id, ts, load``), ``inventory``, ``indicators``
        (``region, date, name, value``), ``covariates`` (``resource_id|region, ts, name, value``);
        absent inputs are None.
    """
    out: dict[str, pd.DataFrame | None] = {"inventory": None, "indicators": None, "covariates": None}
    inv_ids: set[str] | None = None
    if inventory is not None:
        f = str(inventory)
        raw = _read_csv(inventory, ("resource_id", "kind", "region"), "inventory")
        inv = pd.DataFrame({"resource_id": _text(raw, "resource_id", f), "kind": _text(raw, "kind", f),
                            "region": raw["region"].str.strip()})
        unknown = ~inv["kind"].isin(list(KINDS))
        if unknown.any():
            i = int(np.flatnonzero(unknown.to_numpy())[0])
            raise ValidationError(f"unknown kind {inv['kind'].iloc[i]!r}; known kinds: {', '.join(KINDS)}", file=f,
                                  row=i + 1, column="kind")
        dup = inv["resource_id"].duplicated()
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            raise ValidationError(f"duplicate resource_id {inv['resource_id'].iloc[i]!r}", file=f, row=i + 1,
                                  column="resource_id")
        for col in raw.columns:
            if col in inv.columns:
                continue
            if col in ("capacity", "module_size", "max_capacity", "lead_time_days", "module_cost"):
                inv[col] = _numeric(raw, col, f, allow_empty=True, minimum=0.0)
            else:
                inv[col] = raw[col]
        out["inventory"] = inv
        inv_ids = set(inv["resource_id"])

    f = str(measurements)
    raw = _read_csv(measurements, ("resource_id", "ts", "load"), "measurements")
    meas = pd.DataFrame({
        "resource_id": _text(raw, "resource_id", f),
        "ts": _timestamps(raw, "ts", f),
        "load": _numeric(raw, "load", f, allow_empty=True, minimum=0.0),
    })
    if inv_ids is not None:
        orphan = ~meas["resource_id"].isin(inv_ids)
        if orphan.any():
            i = int(np.flatnonzero(orphan.to_numpy())[0])
            raise ValidationError(f"resource_id {meas['resource_id'].iloc[i]!r} is not in the inventory", file=f,
                                  row=i + 1, column="resource_id")
    dup = meas.duplicated(["resource_id", "ts"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise ValidationError(f"second measurement for {meas['resource_id'].iloc[i]} at {meas['ts'].iloc[i]}",
                              file=f, row=i + 1, column="ts")
    out["measurements"] = meas.dropna(subset=["load"]).reset_index(drop=True)

    if indicators is not None:
        f = str(indicators)
        raw = _read_csv(indicators, ("region", "date", "name", "value"), "indicators")
        out["indicators"] = pd.DataFrame({
            "region": _text(raw, "region", f), "date": _timestamps(raw, "date", f, naive_day=True),
            "name": _text(raw, "name", f), "value": _numeric(raw, "value", f, allow_empty=True, minimum=None),
        }).dropna(subset=["value"]).reset_index(drop=True)

    if covariates is not None:
        f = str(covariates)
        raw = _read_csv(covariates, ("ts", "name", "value"), "covariates")
        key = "resource_id" if "resource_id" in raw.columns else "region" if "region" in raw.columns else None
        if key is None:
            raise ValidationError("needs a resource_id or a region column", file=f, row=0, column="resource_id")
        out["covariates"] = pd.DataFrame({
            key: _text(raw, key, f), "ts": _timestamps(raw, "ts", f), "name": _text(raw, "name", f),
            "value": _numeric(raw, "value", f, allow_empty=True, minimum=None),
        }).dropna(subset=["value"]).reset_index(drop=True)
    return out


# --------------------------------------------------------------------------------------------- reference model


class SeasonalNaive:
    """Seasonal naive forecaster with empirical quantiles, vectorized over all resources.

    ``y[T + j] = y[T + j - k s]`` with ``k = ceil(j / s)`` (the last observed season repeated),
    ``s`` = one day or one week of steps. Quantiles add the empirical quantiles of the in-sample
    errors of the same lag ``k s`` over the last ``window`` days (per resource, pooled over the hours).
    This is the planner's "same as yesterday / last week" and the MASE reference.

    Parameters
    ----------
    season : {"day", "week"}
        Seasonal period.
    quantiles : sequence of float
        Quantile levels for the output columns (``p`` + percentage).
    window : int
        Days of in-sample errors behind the quantiles.

    References
    ----------
    .. [1] R. J. Hyndman, G. Athanasopoulos, "Forecasting: principles and practice", 3rd ed.,
       OTexts, 2021, section 5.2 (seasonal naive method).
    """

    def __init__(self, season: str = "week", quantiles: Sequence[float] = COVERAGE_QUANTILES, window: int = 28):
        if season not in ("day", "week"):
            raise SurgeplanError(f"season must be 'day' or 'week', got {season!r}")
        self.season, self.quantiles, self.window = season, tuple(quantiles), int(window)
        self._grid: pd.DatetimeIndex | None = None

    def fit(self, measurements: pd.DataFrame, inventory: Any = None, indicators: Any = None, covariates: Any = None,
            cutoff: Any = None) -> SeasonalNaive:
        m = measurements
        if cutoff is not None:
            m = m[m["ts"] < pd.Timestamp(cutoff)]
        if m.empty:
            raise SurgeplanError("SeasonalNaive.fit: no measurements before the cutoff")
        ts = pd.DatetimeIndex(m["ts"])
        diffs = np.diff(np.unique(ts.asi8))
        self.step = pd.Timedelta(int(np.median(diffs)) if diffs.size else 3_600_000_000_000)
        self.ids = pd.Index(np.unique(m["resource_id"].to_numpy()))
        self.cutoff = pd.Timestamp(cutoff) if cutoff is not None else ts.max() + self.step
        self._y = np.empty((len(self.ids), 0))
        self._grid = pd.DatetimeIndex([], tz="UTC")
        self._append(m)
        return self

    def _append(self, m: pd.DataFrame) -> None:
        keep = int((self.window + 35) * 86400 // self.step.total_seconds())
        start = self.cutoff - keep * self.step
        grid = pd.date_range(start, self.cutoff - self.step, freq=self.step)
        y = np.full((len(self.ids), len(grid)), np.nan)
        if len(self._grid):
            old = self._grid.get_indexer(grid)
            ok = old >= 0
            y[:, ok] = self._y[:, old[ok]]
        if not m.empty:
            r = self.ids.get_indexer(m["resource_id"].to_numpy())
            c = grid.get_indexer(pd.DatetimeIndex(m["ts"]).floor(self.step))
            ok = (r >= 0) & (c >= 0)
            y[r[ok], c[ok]] = m["load"].to_numpy(dtype=np.float64)[ok]
        self._grid, self._y = grid, y

    @property
    def _season_steps(self) -> int:
        span = 7 * 86400 if self.season == "week" else 86400
        return max(1, int(span // self.step.total_seconds()))

    def update(self, new_measurements: pd.DataFrame, cutoff: Any = None) -> SeasonalNaive:
        """Append measurements and move the cutoff to just after them (or to ``cutoff``)."""
        if cutoff is not None:
            self.cutoff = pd.Timestamp(cutoff)
        elif not new_measurements.empty:
            self.cutoff = max(self.cutoff, pd.Timestamp(new_measurements["ts"].max()) + self.step)
        self._append(new_measurements)
        return self

    def predict(self, horizon: Any, indicators_future: Any = None, covariates: Any = None) -> pd.DataFrame:
        n = int(parse_duration(horizon, "horizon") // self.step)
        s = self._season_steps
        y = self._y
        T = y.shape[1]
        j = np.arange(1, n + 1)
        k = -(-j // s)  # ceil
        point = np.full((y.shape[0], n), np.nan)
        for extra in range(4):  # fall back to older seasons where the last one is missing
            idx = T + j - (k + extra) * s - 1
            ok = idx >= 0
            cand = np.full_like(point, np.nan)
            cand[:, ok] = y[:, idx[ok]]
            point = np.where(np.isnan(point), cand, point)
        # empirical error quantiles per lag k (pooled over the last `window` days)
        w = min(T, self.window * 86400 // int(self.step.total_seconds()))
        qs = np.asarray(self.quantiles)
        kmax = int(k.max())
        errq = np.zeros((y.shape[0], kmax, qs.size))
        for lag in range(1, kmax + 1):  # loop over lags (<= 28), vectorized over resources
            L = lag * s
            if T - L <= 0:
                continue
            lo = max(L, T - w)
            e = y[:, lo:] - y[:, lo - L:T - L]
            if e.shape[1] == 0:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                errq[:, lag - 1, :] = np.nan_to_num(np.nanquantile(e, qs, axis=1).T)
        ts = self.cutoff + (j - 1) * self.step
        frame = pd.DataFrame({
            "resource_id": np.repeat(self.ids.to_numpy(), n),
            "ts": np.tile(pd.DatetimeIndex(ts).tz_convert("UTC").to_numpy(), len(self.ids)),
            "mean": point.ravel(),
        })
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        for iq, q in enumerate(qs):
            frame[quantile_name(q)] = np.maximum(point + errq[:, k - 1, iq], 0.0).ravel()
        return frame


# --------------------------------------------------------------------------------------------- engine


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
    user_q = parse_quantiles(quantiles)
    if not 0 < warning_quantile < 1:
        raise SurgeplanError(f"warning_quantile must lie in (0, 1), got {warning_quantile}")
    all_q = tuple(sorted(set(user_q) | set(COVERAGE_QUANTILES) | {float(warning_quantile)}))
    h = parse_duration(horizon, "horizon")
    if refit_every < 1:
        raise SurgeplanError(f"refit_every must be >= 1, got {refit_every}")
    origins = rolling_origins(start, end, every, tz)
    meas = measurements[["resource_id", "ts", "load"]].copy()
    meas["resource_id"] = meas["resource_id"].astype(str)
    meas["ts"] = _as_utc(meas["ts"])
    meas = meas.sort_values("ts", kind="stable").reset_index(drop=True)
    if meas.empty or meas["ts"].iloc[0] >= origins[0]:
        raise SurgeplanError(f"no measurements before the first origin {origins[0]} (--start too early?)")
    ts_ns = pd.DatetimeIndex(meas["ts"]).as_unit("ns").asi8
    ind_days = None
    if indicators is not None and len(indicators):
        ind = indicators.copy()
        ind["date"] = pd.to_datetime(ind["date"]).dt.tz_localize(None) if getattr(
            pd.to_datetime(ind["date"]).dt, "tz", None) else pd.to_datetime(ind["date"])
        ind = ind.sort_values("date", kind="stable").reset_index(drop=True)
        ind_days = ind["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    else:
        ind = None
    origin_days = _local_day(origins, tz)
    make = model or _default_model

    timings = {"fit_s": 0.0, "update_s": 0.0, "predict_s": 0.0, "n_fits": 0}
    pieces: list[pd.DataFrame] = []
    fc: Any = None
    prev_pos = 0
    prev_ind = 0
    for i, origin in enumerate(origins):
        pos = int(np.searchsorted(ts_ns, origin.value, side="left"))
        seen_ind = new_ind = None
        if ind is not None:
            n_ind = int(np.searchsorted(ind_days, origin_days[i], side="left"))
            seen_ind, new_ind = ind.iloc[:n_ind], ind.iloc[prev_ind:n_ind]
            prev_ind = n_ind
        t = time.perf_counter()
        if fc is None or i % refit_every == 0:
            fc = make(all_q)
            fc.fit(meas.iloc[:pos], inventory=inventory, indicators=seen_ind, covariates=covariates, cutoff=origin)
            timings["fit_s"] += time.perf_counter() - t
            timings["n_fits"] += 1
        else:
            new = meas.iloc[prev_pos:pos]
            kw: dict[str, Any] = {}
            if _accepts(fc.update, "indicators"):
                kw["indicators"] = new_ind  # only the rows the model has not seen yet
            if _accepts(fc.update, "cutoff"):
                kw["cutoff"] = origin
            fc.update(new, **kw)
            timings["update_s"] += time.perf_counter() - t
        prev_pos = pos
        t = time.perf_counter()
        kw = {"covariates": covariates} if covariates is not None else {}
        if indicators_future is not None:
            kw["indicators_future"] = indicators_future(origin)
        # a model forecasts from each resource's last observation: ask for enough steps to cover
        # the window even when the last hours before the origin are missing (up to a week)
        gap = _window_gap(meas, ts_ns, pos, origin)
        out = fc.predict(h + gap, **kw)
        timings["predict_s"] += time.perf_counter() - t
        out = out[(out["ts"] >= origin) & (out["ts"] < origin + h)]
        missing = [quantile_name(q) for q in all_q if quantile_name(q) not in out.columns]
        if missing:
            raise SurgeplanError(f"the model's forecast lacks quantile column(s) {missing}")
        out = out[["resource_id", "ts", "mean", *[quantile_name(q) for q in all_q]]].copy()
        out.insert(1, "origin", origin)
        pieces.append(out)
        if progress is not None:
            progress(i + 1, len(origins), origin)
    internal = pd.concat(pieces, ignore_index=True)
    internal["resource_id"] = internal["resource_id"].astype(str)
    internal["ts"] = _as_utc(internal["ts"])
    internal["origin"] = _as_utc(internal["origin"])
    t = time.perf_counter()
    capacity = None
    if inventory is not None and "capacity" in inventory.columns:
        capacity = inventory.set_index("resource_id")["capacity"].astype(float)
    scores, bh_table = score_backtest(internal, meas, quantiles=user_q, tz=tz, capacity=capacity,
                                      warning_quantile=warning_quantile, horizon_days=math.ceil(h / _DAY),
                                      return_busy_hour=True)
    timings["score_s"] = time.perf_counter() - t
    cols = ["resource_id", "origin", "ts", "mean", *[quantile_name(q) for q in user_q]]
    return BacktestResult(forecasts=internal[cols].reset_index(drop=True), metrics=scores, quantiles=user_q,
                          internal=internal, busy_hour=bh_table, timings=timings)


def _window_gap(meas: pd.DataFrame, ts_ns: np.ndarray, pos: int, origin: pd.Timestamp) -> pd.Timedelta:
    """Longest time between a resource's last measurement (within the week before) and the origin."""
    lo = int(np.searchsorted(ts_ns, (origin - pd.Timedelta(days=7)).value, side="left"))
    recent = meas.iloc[lo:pos]
    if recent.empty:
        return pd.Timedelta(0)
    last = recent.groupby("resource_id", sort=False, observed=True)["ts"].max().min()
    return max(origin - last, pd.Timedelta(0)).ceil("h")


# --------------------------------------------------------------------------------------------- scoring


def _hourly(frame: pd.DataFrame, keys: list[str], values: list[str]) -> pd.DataFrame:
    """Average sub-hourly rows to hours (UTC hour starts); hourly data passes through."""
    hour = frame["ts"].dt.floor("h")
    if (hour == frame["ts"]).all() and not frame.duplicated([*keys, "ts"]).any():
        return frame
    g = frame.assign(ts=hour).groupby([*keys, "ts"], sort=False, observed=True)[values].mean()
    return g.reset_index()


def _daily_busy_hour_actuals(meas: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Actual busy-hour load per resource and local day: highest hourly mean load of the day."""
    hourly = _hourly(meas, ["resource_id"], ["load"])
    day = _local_day(hourly["ts"], tz)
    g = hourly.assign(day=day).groupby(["resource_id", "day"], observed=True)["load"]
    return pd.DataFrame({"bh": g.max(), "n": g.count()}).reset_index()


def mase_scale(measurements: pd.DataFrame, before: Any, tz: str = "UTC", season_days: int = 7) -> pd.Series:
    """MASE denominator per resource: in-sample seasonal-naive MAE of the daily busy-hour load.

    Parameters
    ----------
    measurements : DataFrame
        ``resource_id, ts, load``.
    before : timestamp
        Only measurements before it are used (the first backtest origin).
    tz : str
        Time zone of the days.
    season_days : int
        Seasonal lag in days (7 = same day last week); resources with less history fall back to 1.

    Returns
    -------
    Series
        Scale in the load's unit, indexed by ``resource_id``.
    """
    m = measurements[measurements["ts"] < pd.Timestamp(before)]
    if m.empty:
        return pd.Series(dtype=float)
    daily = _daily_busy_hour_actuals(m, tz)
    wide = daily.pivot(index="resource_id", columns="day", values="bh")
    wide = wide.reindex(columns=np.arange(wide.columns.min(), wide.columns.max() + 1))
    y = wide.to_numpy(dtype=np.float64)
    weekly = np.asarray(M.seasonal_naive_mae(y, season_days, axis=-1), dtype=float)
    daily_naive = np.asarray(M.seasonal_naive_mae(y, 1, axis=-1), dtype=float)
    return pd.Series(np.where(np.isfinite(weekly), weekly, daily_naive), index=wide.index, name="scale")


def score_backtest(
    forecasts: pd.DataFrame,
    measurements: pd.DataFrame,
    *,
    quantiles: Sequence[float],
    tz: str = "UTC",
    capacity: pd.Series | None = None,
    warning_quantile: float = 0.9,
    horizon_days: int | None = None,
    scale: pd.Series | None = None,
    return_busy_hour: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Score rolling-origin forecasts per resource and lead day (see the module docstring).

    Parameters
    ----------
    forecasts : DataFrame
        ``resource_id, origin, ts, mean`` + ``p1, p10, p50, p90, p99`` and the ``quantiles`` columns.
    measurements : DataFrame
        ``resource_id, ts, load`` (all of it: history for the MASE scale, and the actuals).
    quantiles : sequence of float
        Quantiles whose pinball loss is averaged.
    tz : str
        Time zone of the days (origins are its midnights).
    capacity : Series, optional
        Installed capacity per ``resource_id`` (load unit) for anticipation.
    warning_quantile : float
        Forecast quantile compared with capacity.
    horizon_days : int, optional
        Longest lead day (default: the longest in ``forecasts``).
    scale : Series, optional
        MASE scale per resource; default :func:`mase_scale` before the first origin.
    return_busy_hour : bool
        Also return the daily busy-hour table.

    Returns
    -------
    metrics : DataFrame
        ``resource_id, horizon_days, n_days, mape, mae, rmse, mase, pinball, pinball_scaled,
        coverage_80, coverage_98, bh_coverage_80, bh_coverage_98, shortage_date, anticipation_days``.
    busy_hour : DataFrame, only with ``return_busy_hour``
        One row per resource, origin and local day: ``resource_id, origin, horizon_days, day``
        (naive local date), forecast busy-hour ``mean, p1, p10, p90, p99`` (daily maxima of the
        hourly forecasts) and ``actual`` (highest hourly mean load; NaN when under 75% of the
        day's hours were measured).
    """
    qcols = [quantile_name(q) for q in quantiles]
    needed = ["resource_id", "origin", "ts", "mean", *[quantile_name(q) for q in COVERAGE_QUANTILES], *qcols,
              quantile_name(warning_quantile)]
    needed = list(dict.fromkeys(needed))
    miss = [c for c in needed if c not in forecasts.columns]
    if miss:
        raise SurgeplanError(f"forecasts lack column(s) {miss} needed for scoring")
    fc = forecasts[needed].copy()
    fc["resource_id"] = fc["resource_id"].astype(str)
    fc["ts"] = _as_utc(fc["ts"])
    fc["origin"] = _as_utc(fc["origin"])
    meas = measurements[["resource_id", "ts", "load"]].copy()
    meas["resource_id"] = meas["resource_id"].astype(str)
    meas["ts"] = _as_utc(meas["ts"])
    first_origin = fc["origin"].min()
    if scale is None:
        scale = mase_scale(meas, first_origin, tz)

    valcols = [c for c in needed if c not in ("resource_id", "origin", "ts")]
    fh = _hourly(fc, ["resource_id", "origin"], valcols)
    mh = _hourly(meas[meas["ts"] >= first_origin], ["resource_id"], ["load"])
    fh = fh.merge(mh, on=["resource_id", "ts"], how="left")
    day = _local_day(fh["ts"], tz)
    oday = _local_day(fh["origin"], tz)
    fh["lead"] = day - oday + 1
    fh["day"] = day
    fh["oday"] = oday
    if horizon_days is None:
        horizon_days = int(fh["lead"].max())
    fh = fh[(fh["lead"] >= 1) & (fh["lead"] <= horizon_days)]
    y = fh["load"].to_numpy(dtype=np.float64)

    # hourly quantile scores
    fh["pinball"] = np.mean([np.asarray(M.pinball_loss(y, fh[c].to_numpy(np.float64), q))
                             for c, q in zip(qcols, quantiles)], axis=0)
    fh["cov80"] = _inside(y, fh["p10"], fh["p90"])
    fh["cov98"] = _inside(y, fh["p1"], fh["p99"])

    # busy hour per (resource, origin, day)
    keys = ["resource_id", "origin", "lead", "oday", "day"]
    g = fh.groupby(keys, sort=False, observed=True)
    wq = quantile_name(warning_quantile)
    bh = g.agg(f_mean=("mean", "max"), f_p1=("p1", "max"), f_p10=("p10", "max"), f_p90=("p90", "max"),
               f_p99=("p99", "max"), f_warn=(wq, "max"), a_bh=("load", "max"), n_a=("load", "count"),
               n_f=("mean", "size"), pinball=("pinball", "mean"), cov80=("cov80", "mean"),
               cov98=("cov98", "mean")).reset_index()
    complete = bh["n_a"] >= 0.75 * bh["n_f"]
    bh.loc[~complete, "a_bh"] = np.nan
    a = bh["a_bh"].to_numpy(np.float64)
    f = bh["f_mean"].to_numpy(np.float64)
    bh["ae"] = np.abs(a - f)
    bh["se"] = (a - f) ** 2
    bh["ape"] = np.asarray(M.absolute_percentage_error(a, f))
    bh["bh80"] = _inside(a, bh["f_p10"], bh["f_p90"])
    bh["bh98"] = _inside(a, bh["f_p1"], bh["f_p99"])

    # hourly scores weighted by hours: recompute from hourly table
    hg = fh.groupby(["resource_id", "lead"], observed=True)
    hourly_scores = pd.DataFrame({"pinball": hg["pinball"].mean(), "coverage_80": hg["cov80"].mean(),
                                  "coverage_98": hg["cov98"].mean()})
    dg = bh.groupby(["resource_id", "lead"], observed=True)
    out = pd.DataFrame({
        "n_days": dg["a_bh"].count(),
        "mape": dg["ape"].mean(),
        "mae": dg["ae"].mean(),
        "rmse": np.sqrt(dg["se"].mean()),
        "bh_coverage_80": dg["bh80"].mean(),
        "bh_coverage_98": dg["bh98"].mean(),
    }).join(hourly_scores).reset_index()
    sc = out["resource_id"].map(scale).to_numpy(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mase"] = np.where(sc > 0, out["mae"] / sc, np.nan)
        out["pinball_scaled"] = np.where(sc > 0, out["pinball"] / sc, np.nan)

    # anticipation of shortages (cumulative over lead days: horizon h uses leads <= h)
    out["shortage_date"] = pd.NaT
    out["anticipation_days"] = np.nan
    if capacity is not None:
        cap = bh["resource_id"].map(capacity).to_numpy(np.float64)
        acts = _daily_busy_hour_actuals(meas[meas["ts"] >= first_origin], tz)
        acts = acts[acts["day"] >= _local_day(pd.DatetimeIndex([first_origin]), tz)[0]]
        acts = acts.assign(cap=acts["resource_id"].map(capacity).to_numpy(np.float64))
        short = acts[acts["bh"] > acts["cap"]]
        sday = short.groupby("resource_id", observed=True)["day"].min()
        if len(sday):
            bh["sday"] = bh["resource_id"].map(sday).to_numpy(np.float64)
            warn = bh[(bh["f_warn"].to_numpy(np.float64) > cap) & (bh["day"] <= bh["sday"])
                      & (bh["oday"] <= bh["sday"])]
            # an origin warns at horizon h if its crossing day is within h and its window reaches S
            need = np.maximum(warn["lead"].to_numpy(), (warn["sday"] - warn["oday"] + 1).to_numpy())
            w = pd.DataFrame({"resource_id": warn["resource_id"].to_numpy(), "oday": warn["oday"].to_numpy(),
                              "need": need, "notice": (warn["sday"] - warn["oday"]).to_numpy()})
            w = w[w["need"] <= horizon_days]
            w = w.groupby(["resource_id", "oday"], observed=True).agg(need=("need", "min"), notice=("notice", "max"))
            w = w.reset_index()
            # for each lead h: anticipation = largest notice among the warnings needing a window <= h
            out = out.drop(columns=["anticipation_days"])
            if len(w):
                rids = pd.Index(w["resource_id"].unique())
                grid = np.full((len(rids), horizon_days), -np.inf)
                np.maximum.at(grid, (rids.get_indexer(w["resource_id"]), w["need"].to_numpy(int) - 1),
                              w["notice"].to_numpy(np.float64))
                grid = np.maximum.accumulate(grid, axis=1)
                grid[~np.isfinite(grid)] = np.nan
                ant = pd.DataFrame({"resource_id": np.repeat(rids.to_numpy(), horizon_days),
                                    "lead": np.tile(np.arange(1, horizon_days + 1), len(rids)),
                                    "anticipation_days": grid.ravel()})
                out = out.merge(ant, on=["resource_id", "lead"], how="left")
            else:
                out["anticipation_days"] = np.nan
            out["shortage_date"] = pd.to_datetime(out["resource_id"].map(sday).astype(float), unit="D")
    out = out.rename(columns={"lead": "horizon_days"})
    cols = ["resource_id", "horizon_days", "n_days", "mape", "mae", "rmse", "mase", "pinball", "pinball_scaled",
            "coverage_80", "coverage_98", "bh_coverage_80", "bh_coverage_98", "shortage_date", "anticipation_days"]
    out = out[cols].sort_values(["resource_id", "horizon_days"]).reset_index(drop=True)
    if not return_busy_hour:
        return out
    table = pd.DataFrame({
        "resource_id": bh["resource_id"].to_numpy(), "origin": bh["origin"].to_numpy(),
        "horizon_days": bh["lead"].to_numpy(), "day": pd.to_datetime(bh["day"].to_numpy(), unit="D"),
        "mean": bh["f_mean"].to_numpy(), "p1": bh["f_p1"].to_numpy(), "p10": bh["f_p10"].to_numpy(),
        "p90": bh["f_p90"].to_numpy(), "p99": bh["f_p99"].to_numpy(), "actual": bh["a_bh"].to_numpy(),
    })
    table["origin"] = _as_utc(table["origin"])
    return out, table


def _inside(y: Any, lo: Any, hi: Any) -> np.ndarray:
    y, lo, hi = (np.asarray(v, dtype=np.float64) for v in (y, lo, hi))
    ok = np.isfinite(y) & np.isfinite(lo) & np.isfinite(hi)
    return np.where(ok, ((y >= lo) & (y <= hi)).astype(np.float64), np.nan)


def summarize(metrics: pd.DataFrame, horizons: Iterable[int] | None = None) -> pd.DataFrame:
    """Median over resources of each score per lead day (a compact table for reports)."""
    m = metrics if horizons is None else metrics[metrics["horizon_days"].isin(list(horizons))]
    num = ["mape", "mase", "pinball_scaled", "coverage_80", "coverage_98", "bh_coverage_80", "bh_coverage_98"]
    return m.groupby("horizon_days")[num].median()
