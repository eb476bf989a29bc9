"""When each region's indicator will reach a threshold: :func:`anticipate_crossing` (steps 2 to 4 of
:mod:`surgeplan.signals.anticipate`, composed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.signals.anticipate.calibration import _calibrate_range, learned_growth_volatility
from surgeplan.signals.anticipate.known import known_rows
from surgeplan.signals.anticipate.trend import TrendFit, parametric_band, trend_fit
from surgeplan.signals.generic import DateLike, parse_regions, to_day, wide

ANTICIPATE_COLUMNS = (
    "region",
    "status",
    "threshold",
    "last_date",
    "last_value",
    "growth_rate",
    "growth_rate_low",
    "growth_rate_high",
    "doubling_time_days",
    "crossed_on",
    "earliest",
    "median",
    "latest",
    "range_method",
)


@dataclass(frozen=True)
class AnticipationOptions:
    """How :func:`anticipate_crossing` fits and calibrates (every field has a default).

    Attributes
    ----------
    window : int
        Days before ``asof`` in the log-linear fit (default 7: the latest week, the growth that will
        carry on; longer windows reach back to faster early growth and forecast earlier).
    level : float
        Two-sided level of the earliest/latest range (default 0.9): the share of real crossing days
        it aims to hold.
    horizon_days : int
        Look this many days past ``asof``; crossings later than that are NaT.
    min_points : int
        Minimum positive observations in the window to fit (at least 3).
    autocorrelation : bool
        Widen the parametric band for lag-1 autocorrelation ``rho`` of the fit residuals (successive
        7-day sums share six days): residual variance and Student-t degrees of freedom use the
        effective sample size ``n_eff = n (1 - rho) / (1 + rho)`` (at least 3), as in Santer et al.
        (2000). Parametric range only.
    calibrate : bool
        Calibrate median and range on the errors of the same method's past forecasts (module
        docstring, step 3; default True). False gives the parametric (trend-fit only) range.
    calibration_days : int
        Past forecast origins replayed: the last this many days before ``asof`` (default 60).
    calibration_levels : int
        Levels replayed: ``threshold / 2**k`` for ``k = 0 .. calibration_levels - 1`` (default 4).
    calibration_span : float
        A past forecast counts when the region was below the level but at least ``level / span``
        (default 8: within three doublings; far-below regions are dominated by small-count noise).
    min_calibration : float
        Minimum kernel-weighted number of past forecasts that reached their level, below which a
        region keeps the parametric range (default 10).
    growth_volatility : bool
        Parametric range as the prediction band of a local linear trend whose growth-rate volatility
        is learned from all regions before ``asof`` (default True; module docstring, step 4). False:
        confidence band of the fitted line only (narrower, the former default).
    """

    window: int = 7
    level: float = 0.9
    horizon_days: int = 120
    min_points: int = 5
    autocorrelation: bool = True
    calibrate: bool = True
    calibration_days: int = 60
    calibration_levels: int = 4
    calibration_span: float = 8.0
    min_calibration: float = 10.0
    growth_volatility: bool = True


def anticipate_crossing(
    indicators: pd.DataFrame,
    asof: DateLike,
    threshold: float,
    name: str = "new_cases_per_100k_7d",
    regions: str | Iterable[str] | None = None,
    population=None,
    options: AnticipationOptions | None = None,
) -> pd.DataFrame:
    """Estimate when each region's indicator will reach ``threshold``, from data known before ``asof``.

    Parameters
    ----------
    indicators : DataFrame
        Long indicators table. When ``name`` is a derived indicator absent from it (default
        ``new_cases_per_100k_7d``), it is derived from the rows before ``asof`` only.
    asof : date-like
        The day the estimate is made; rows dated on or after it are ignored.
    threshold : float
        Level to reach, in the unit of ``name`` (e.g. 7-day cases per 100 000; see
        :func:`threshold_from_earlier_regions`). Must be positive (log-linear model).
    name : str
        Indicator to extrapolate.
    regions : str or list of str, optional
        Regions to report (default all with ``name``). The calibration (past forecasts, growth-rate
        volatility) still learns from every region of ``indicators``.
    population : optional
        Passed to :func:`~surgeplan.signals.derive.derive_indicators`.
    options : AnticipationOptions, optional
        Fit window, band level, horizon and calibration (defaults: :class:`AnticipationOptions`).

    Returns
    -------
    DataFrame
        One row per region: ``region``; ``status`` (``crossed``: at or above the threshold on its last
        known day, ``crossed_on`` = first day of that run; ``forecast``: median date within the
        horizon; ``not_growing``: fitted growth rate <= 0; ``beyond_horizon``; ``no_data``: too few
        positive points in the window); ``threshold``; ``last_date`` and ``last_value`` (latest
        observation); ``growth_rate`` with ``growth_rate_low`` / ``growth_rate_high`` (per day, the
        ``level`` confidence interval of the slope); ``doubling_time_days``; ``crossed_on``;
        ``earliest``, ``median``, ``latest`` (days; ``latest`` NaT = unbounded); ``range_method``
        (``calibrated`` or ``parametric`` for forecast rows, None otherwise).

    Raises
    ------
    SurgeplanError
        Non-positive threshold, bad window/level, no ``name`` rows before ``asof``.

    References
    ----------
    Fieller (1954), J. R. Stat. Soc. B 16, 175-185; Draper & Smith (1998), Applied Regression Analysis;
    Santer, B. D. et al. (2000), J. Geophys. Res. 105(D6), 7337-7356 (effective sample size, AR(1) residuals);
    Kaplan & Meier (1958), J. Am. Stat. Assoc. 53, 457-481; Angelopoulos & Bates (2023), conformal prediction.
    """
    o = options or AnticipationOptions()
    c = _checked(o, asof, threshold)
    table, dates, values, pool_values, last_day = _value_tables(indicators, c.cut, name, regions, population)
    last_value, last_date, crossed, crossed_on = _latest_run(values, dates, c.threshold)
    fit = trend_fit(_log_window(values, c.window), c.min_points, o.level, o.autocorrelation)
    last = np.datetime64(last_day, "ns")
    earliest, median, latest = _parametric_range(fit, pool_values, crossed, last, o, c)
    forecast = fit.fit & ~crossed & (fit.slope > 0) & ~np.isnat(median)
    method = np.where(forecast, "parametric", None).astype(object)
    if o.calibrate and forecast.any():
        earliest, median, latest, method = _calibrated_range(
            pool_values, last, forecast, (earliest, median, latest), method, o, c
        )
    status = np.select(
        [crossed, ~fit.fit, fit.slope <= 0, ~np.isnat(median)],
        ["crossed", "no_data", "not_growing", "forecast"],
        default="beyond_horizon",
    )
    method = np.where(status == "forecast", method, None).astype(object)
    return _result_table(
        table.columns,
        status,
        c.threshold,
        fit,
        (last_date, last_value, crossed_on),
        (earliest, median, latest),
        method,
    )


class _Checked(NamedTuple):
    """Arguments of :func:`anticipate_crossing` as checked numbers."""

    cut: pd.Timestamp  # the forecast day
    threshold: float  # in the unit of the indicator
    window: int  # days
    min_points: int  # points
    horizon_days: int  # days


def _checked(o: AnticipationOptions, asof: DateLike, threshold: float) -> _Checked:
    """The forecast day, the threshold and the fit's ``window``, ``min_points`` and ``horizon_days`` (days,
    points, days) as numbers, after checking every argument."""
    cut = to_day(asof, "asof")
    if cut is None:
        raise SurgeplanError("asof: a date is required")
    threshold = float(threshold)
    if not np.isfinite(threshold) or threshold <= 0:
        raise SurgeplanError(f"threshold must be a positive number, got {threshold}")
    if not 0 < o.level < 1:
        raise SurgeplanError(f"level must be in (0, 1), got {o.level}")
    window, min_points, horizon_days = int(o.window), max(int(o.min_points), 3), int(o.horizon_days)
    if window < min_points:
        raise SurgeplanError(f"window ({window} days) must be at least min_points ({min_points})")
    if o.calibrate:
        if int(o.calibration_days) < 1 or int(o.calibration_levels) < 1:
            raise SurgeplanError(
                f"calibration_days and calibration_levels must be >= 1, got {o.calibration_days}, "
                f"{o.calibration_levels}"
            )
        if not float(o.calibration_span) > 1:
            raise SurgeplanError(f"calibration_span must be > 1, got {o.calibration_span}")
    return _Checked(cut, threshold, window, min_points, horizon_days)


def _value_tables(
    indicators: pd.DataFrame, cut: pd.Timestamp, name: str, regions, population
) -> tuple[pd.DataFrame, pd.DatetimeIndex, np.ndarray, np.ndarray, pd.Timestamp]:
    """The reported regions' daily ``date x region`` table up to the day before ``cut``, its days and
    values, the values of every region of ``indicators`` (past forecasts are replayed on all of them, not
    only the reported ones) and that last day."""
    ind = known_rows(indicators, cut, name, population)
    regs = parse_regions(regions)
    pool = ind
    if regs is not None:
        ind = ind.loc[ind["region"].isin(regs)]
    if not (ind["name"] == name).any():
        raise SurgeplanError(f"indicators: no {name!r} rows before {cut:%Y-%m-%d}")
    last_day = cut - pd.Timedelta(days=1)
    first_day = ind.loc[ind["name"] == name, "date"].min()
    dates = pd.date_range(min(first_day, last_day), last_day, freq="D", name="date")
    table = wide(ind, name, dates=dates, regions=regs)
    values = table.to_numpy()
    if regs is None:
        pool_values = values
    else:
        pool_first = pool.loc[pool["name"] == name, "date"].min()
        pool_dates = pd.date_range(min(pool_first, last_day), last_day, freq="D", name="date")
        pool_values = wide(pool, name, dates=pool_dates).to_numpy()
    return table, dates, values, pool_values, last_day


def _latest_run(
    values: np.ndarray, dates: pd.DatetimeIndex, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per region the latest observation (value and day), whether it is at or above ``threshold`` and, if
    so, the first day of that run."""
    n_regions = values.shape[1]
    observed = ~np.isnan(values)
    has_obs = observed.any(axis=0)
    last_idx = np.where(has_obs, len(dates) - 1 - np.argmax(observed[::-1], axis=0), 0)
    last_value = np.where(has_obs, values[last_idx, np.arange(n_regions)], np.nan)
    day_arr = np.asarray(dates, dtype="datetime64[ns]")
    last_date = np.where(has_obs, day_arr[last_idx], np.datetime64("NaT"))
    below = np.where(observed, values < threshold, False)
    # the run starts on the observed day after the last one below the threshold
    rows = np.arange(len(dates))[:, None]
    last_below = np.where(below & (rows <= last_idx[None, :]), rows, -1).max(axis=0)
    after = np.where(observed & (rows > last_below[None, :]), rows, len(dates)).min(axis=0)
    crossed = has_obs & (last_value >= threshold)
    crossed_on = np.where(crossed, day_arr[np.minimum(after, len(dates) - 1)], np.datetime64("NaT"))
    return last_value, last_date, crossed, crossed_on


def _log_window(values: np.ndarray, window: int) -> np.ndarray:
    """Log of the last ``window`` rows, NaN where the value is missing or not positive."""
    return np.log(np.where(values[-window:] > 0, values[-window:], np.nan))


def _first_day_reached(
    curve: np.ndarray, target: float, eligible: np.ndarray, last_day: np.datetime64
) -> np.ndarray:
    """First future day (``curve`` row ``k`` is ``last_day + k + 1``) on which ``curve`` reaches
    ``target``, per eligible region; NaT elsewhere or when it never does within the horizon."""
    hit = np.nan_to_num(curve, nan=-np.inf) >= target
    any_hit = hit.any(axis=0) & eligible
    k = hit.argmax(axis=0)
    return np.where(any_hit, last_day + (k + 1).astype("timedelta64[D]"), np.datetime64("NaT"))


def _parametric_range(
    fit: TrendFit,
    pool_values: np.ndarray,
    crossed: np.ndarray,
    last_day: np.datetime64,
    o: AnticipationOptions,
    c: _Checked,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Earliest, median and latest day the band's upper edge, centre and lower edge reach the threshold
    (NaT when they do not within the horizon, or for regions without a fit or already crossed)."""
    sigma2 = 0.0
    if o.growth_volatility:
        sigma2 = learned_growth_volatility(
            pool_values,
            c.threshold,
            c.window,
            c.min_points,
            int(o.calibration_days),
            o.calibration_levels,
            o.calibration_span,
        )
    centre, half = parametric_band(fit, c.horizon_days, sigma2, o.growth_volatility)
    target = np.log(c.threshold)
    eligible = fit.fit & ~crossed
    return (
        _first_day_reached(centre + half, target, eligible, last_day),
        _first_day_reached(centre, target, eligible, last_day),
        _first_day_reached(centre - half, target, eligible, last_day),
    )


def _calibrated_range(
    pool_values: np.ndarray,
    last_day: np.datetime64,
    forecast: np.ndarray,
    days: tuple[np.ndarray, np.ndarray, np.ndarray],
    method: np.ndarray,
    o: AnticipationOptions,
    c: _Checked,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Earliest, median, latest and ``range_method`` with the calibrated range wherever the past gives
    enough evidence; the parametric ``days`` elsewhere."""
    earliest, median, latest = days
    calibrated = _calibrate_range(
        pool_values,
        c.threshold,
        last_day,
        median,
        forecast,
        o.level,
        c.window,
        c.min_points,
        int(o.calibration_days),
        int(o.calibration_levels),
        float(o.calibration_span),
        float(o.min_calibration),
        c.horizon_days,
    )
    use = calibrated[3]
    earliest = np.where(use, calibrated[0], earliest)
    median = np.where(use, calibrated[1], median)
    latest = np.where(use, calibrated[2], latest)
    method = np.where(use, "calibrated", method).astype(object)
    return earliest, median, latest, method


def _result_table(
    region_index: pd.Index,
    status: np.ndarray,
    threshold: float,
    fit: TrendFit,
    latest_obs: tuple[np.ndarray, np.ndarray, np.ndarray],
    days: tuple[np.ndarray, np.ndarray, np.ndarray],
    method: np.ndarray,
) -> pd.DataFrame:
    """The :data:`ANTICIPATE_COLUMNS` table, one row per region."""
    last_date, last_value, crossed_on = latest_obs
    earliest, median, latest = days
    slope = fit.slope
    with np.errstate(divide="ignore", invalid="ignore"):
        doubling = np.where(slope > 0, np.log(2.0) / slope, np.nan)
    out = pd.DataFrame(
        {
            "region": np.asarray(region_index, dtype=object),
            "status": status.astype(object),
            "threshold": threshold,
            "last_date": pd.DatetimeIndex(last_date.astype("datetime64[ns]")),
            "last_value": last_value,
            "growth_rate": slope,
            "growth_rate_low": np.where(fit.fit, slope - fit.q * fit.se_slope, np.nan),
            "growth_rate_high": np.where(fit.fit, slope + fit.q * fit.se_slope, np.nan),
            "doubling_time_days": doubling,
            "crossed_on": pd.DatetimeIndex(crossed_on.astype("datetime64[ns]")),
            "earliest": pd.DatetimeIndex(earliest),
            "median": pd.DatetimeIndex(median),
            "latest": pd.DatetimeIndex(latest),
            "range_method": method,
        }
    )
    return out[list(ANTICIPATE_COLUMNS)].reset_index(drop=True)
