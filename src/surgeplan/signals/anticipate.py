"""Anticipating when regions will cross an indicator threshold (e.g. the incidence at which others locked down).

A planner who must order voice circuits or VPN licences weeks before a lockdown asks, on day
``asof``: *when will region X reach the incidence at which regions Y and Z locked down?* This module
answers with what was known before ``asof`` only:

1. :func:`threshold_from_earlier_regions` takes the regions that have already locked down (under a
   :class:`~surgeplan.signals.lockdown.LockdownRule`) and summarises the value of the indicator on
   their first lockdown day (median by default).
2. :func:`anticipate_crossing` fits, per region, a log-linear trend
   ``ln y_t = a + r t`` (ordinary least squares) to the indicator over the last ``window`` days
   before ``asof`` and extrapolates it. The *median* date is the first day the fitted line reaches
   the threshold; *earliest* and *latest* are the first days the upper and the lower two-sided
   ``level`` confidence band of the regression line reach it,
   ``a + r t +/- t_{n-2} s sqrt(1/n + (t - tbar)^2 / Sxx)``. This band crossing is the Fieller
   interval for the crossing time ``(ln threshold - a) / r``; when the growth rate is not
   significantly positive the latest date is unbounded (NaT). Regions already at or above the
   threshold report the day they crossed it instead.

Caveats, stated for the planner: the interval covers the uncertainty of the fitted trend only. Growth
usually slows as behaviour changes and measures bite, so exponential extrapolation tends to be early
rather than late, which errs on the side of ordering capacity in time. Values on successive days of
a 7-day sum are autocorrelated; the band is widened for it (effective sample size under AR(1)
residuals) but stays narrower than the true uncertainty.
:func:`backtest_anticipation` measures this on any history. On the bundled data (threshold: Italy's
4.41 cases per 100 000 in 7 days at its 2020-03-04 onset; default settings; actual crossings looked for
until 2020-12-31), forecasts made on 2020-03-10 for the 40 regions with a later crossing put it inside
the 90% range for 20 of them, the median date being a median 2.5 days early; over the forecast days
2020-03-03, 06, 10 and 13 (136 forecasts) the 90% range held the real day in 58% of cases (80%: 47%,
95%: 67%; without the autocorrelation widening 52%). France from 2020-03-10: range 2020-03-11 ..
2020-03-13, median 2020-03-12, real crossing 2020-03-13, lockdown 2020-03-17.

References
----------
Fieller, E. C. (1954). Some problems in interval estimation. J. R. Stat. Soc. B 16, 175-185.
Draper, N. R. & Smith, H. (1998). Applied Regression Analysis, 3rd ed., Wiley, sections 1.4 and 3.2
(inverse prediction / confidence band of a regression line).
Santer, B. D., Wigley, T. M. L., Boyle, J. S. et al. (2000). Statistical significance of trends and
trend differences in layer-average atmospheric temperature time series. J. Geophys. Res. 105(D6),
7337-7356 (effective sample size of a trend fit with AR(1) residuals).
Wallinga, J. & Lipsitch, M. (2007). Proc. R. Soc. B 274, 599-604 (growth rate and doubling time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from scipy import stats

from surgeplan.errors import SurgeplanError
from surgeplan.signals.derive import derive_indicators, first_crossing
from surgeplan.signals.generic import DateLike, ensure_indicators, parse_regions, to_day, wide
from surgeplan.signals.lockdown import LockdownRule, lockdown_periods

_DERIVED = {"new_cases", "new_cases_per_100k_7d", "growth_rate", "doubling_time_days"}

ANTICIPATE_COLUMNS = (
    "region", "status", "threshold", "last_date", "last_value", "growth_rate", "growth_rate_low",
    "growth_rate_high", "doubling_time_days", "crossed_on", "earliest", "median", "latest",
)


def _known(indicators: pd.DataFrame, asof: pd.Timestamp | None, name: str, population) -> pd.DataFrame:
    """Rows dated before ``asof``, with ``name`` derived from those rows alone when it is a derived indicator."""
    ind = ensure_indicators(indicators)
    ind = ind if asof is None else ind.loc[ind["date"] < asof]
    if name in _DERIVED and (ind["name"] == name).sum() == 0:
        ind = derive_indicators(ind, population=population)
    return ind


def lockdown_onset_values(
    indicators: pd.DataFrame,
    asof: DateLike = None,
    name: str = "new_cases_per_100k_7d",
    regions: str | Iterable[str] | None = None,
    rule: LockdownRule | None = None,
    population=None,
    offset_days: int = 0,
) -> pd.DataFrame:
    """Value of an indicator on each region's first lockdown day, using data before ``asof``.

    Parameters
    ----------
    indicators : DataFrame
        Long indicators table (OxCGRT rows for the rule; ``confirmed_cases`` when ``name`` is derived).
    asof : date-like, optional
        Only rows dated strictly before this day are used (lockdowns must have started before it).
    name : str
        Indicator read at lockdown onset (default ``new_cases_per_100k_7d``, cases per 100 000 in 7 days).
    regions : str or list of str, optional
        Regions to consider (default all that locked down before ``asof``).
    rule : LockdownRule, optional
        Lockdown rule (default ``LockdownRule()``).
    population : optional
        Passed to :func:`~surgeplan.signals.derive.derive_indicators` when ``name`` is derived.
    offset_days : int
        Read the value this many days before the onset (e.g. 7 for "a week before lockdown").

    Returns
    -------
    DataFrame
        ``region, start, value`` (``value`` NaN when the indicator is missing that day).
    """
    cut = to_day(asof, "asof")
    ind = _known(indicators, cut, name, population)
    periods = lockdown_periods(ind, rule, regions=regions)
    first = periods.groupby("region", sort=True)["start"].min()
    table = wide(ind, name) if (ind["name"] == name).any() else pd.DataFrame()
    when = first - pd.Timedelta(days=int(offset_days))
    stacked = table.stack() if len(table) else pd.Series(dtype=np.float64)
    values = stacked.reindex(pd.MultiIndex.from_arrays([when.to_numpy(), first.index])) if len(first) else []
    return pd.DataFrame({"region": first.index.astype(object), "start": first.to_numpy(),
                         "value": np.asarray(values, dtype=np.float64)})


def threshold_from_earlier_regions(
    indicators: pd.DataFrame,
    asof: DateLike = None,
    name: str = "new_cases_per_100k_7d",
    regions: str | Iterable[str] | None = None,
    rule: LockdownRule | None = None,
    statistic: str | float | Callable[[np.ndarray], float] = "median",
    population=None,
    offset_days: int = 0,
) -> float:
    """Threshold for :func:`anticipate_crossing`: the indicator level at which earlier regions locked down.

    Parameters
    ----------
    indicators, asof, name, regions, rule, population, offset_days
        As in :func:`lockdown_onset_values`.
    statistic : {"median", "mean", "min", "max"}, float in [0, 1] or callable
        Summary of the onset values (a float is a quantile: 0.25 = the level at which the quickest
        quarter of regions reacted).

    Returns
    -------
    float
        The threshold in the unit of ``name`` (cases per 100 000 per 7 days by default).

    Raises
    ------
    SurgeplanError
        No region had locked down before ``asof`` with the indicator known on its onset day.
    """
    onset = lockdown_onset_values(indicators, asof, name, regions, rule, population, offset_days)
    vals = onset["value"].dropna().to_numpy()
    if vals.size == 0:
        raise SurgeplanError(
            f"no region had locked down before {asof} with {name!r} known at onset; cannot derive a threshold"
        )
    if callable(statistic):
        return float(statistic(vals))
    if isinstance(statistic, (int, float)):
        if not 0 <= float(statistic) <= 1:
            raise SurgeplanError(f"statistic: a quantile must be in [0, 1], got {statistic}")
        return float(np.quantile(vals, float(statistic)))
    funcs = {"median": np.median, "mean": np.mean, "min": np.min, "max": np.max}
    if statistic not in funcs:
        raise SurgeplanError(f"statistic must be one of {', '.join(funcs)}, a quantile or a callable")
    return float(funcs[statistic](vals))


def anticipate_crossing(
    indicators: pd.DataFrame,
    asof: DateLike,
    threshold: float,
    name: str = "new_cases_per_100k_7d",
    regions: str | Iterable[str] | None = None,
    window: int = 7,
    level: float = 0.9,
    horizon_days: int = 120,
    min_points: int = 5,
    population=None,
    autocorrelation: bool = True,
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
        Regions to report (default all with ``name``).
    window : int
        Days before ``asof`` in the log-linear fit (default 7: the latest week, the growth that will
        carry on; longer windows reach back to faster early growth and forecast earlier).
    level : float
        Two-sided confidence level of the earliest/latest band (default 0.9).
    horizon_days : int
        Look this many days past ``asof``; crossings later than that are NaT.
    min_points : int
        Minimum positive observations in the window to fit (at least 3).
    population : optional
        Passed to :func:`~surgeplan.signals.derive.derive_indicators`.
    autocorrelation : bool
        Widen the band for lag-1 autocorrelation ``rho`` of the fit residuals (successive 7-day sums
        share six days): residual variance and Student-t degrees of freedom use the effective sample
        size ``n_eff = n (1 - rho) / (1 + rho)`` (at least 3), as in Santer et al. (2000).

    Returns
    -------
    DataFrame
        One row per region: ``region``; ``status`` (``crossed``: at or above the threshold on its last
        known day, ``crossed_on`` = first day of that run; ``forecast``: median date within the
        horizon; ``not_growing``: fitted growth rate <= 0; ``beyond_horizon``; ``no_data``: too few
        positive points in the window); ``threshold``; ``last_date`` and ``last_value`` (latest
        observation); ``growth_rate`` with ``growth_rate_low`` / ``growth_rate_high`` (per day, the
        ``level`` confidence interval of the slope); ``doubling_time_days``; ``crossed_on``;
        ``earliest``, ``median``, ``latest`` (days).

    Raises
    ------
    SurgeplanError
        Non-positive threshold, bad window/level, no ``name`` rows before ``asof``.

    References
    ----------
    Fieller (1954), J. R. Stat. Soc. B 16, 175-185; Draper & Smith (1998), Applied Regression Analysis;
    Santer, B. D. et al. (2000), J. Geophys. Res. 105(D6), 7337-7356 (effective sample size, AR(1) residuals).
    """
    cut = to_day(asof, "asof")
    if cut is None:
        raise SurgeplanError("asof: a date is required")
    threshold = float(threshold)
    if not np.isfinite(threshold) or threshold <= 0:
        raise SurgeplanError(f"threshold must be a positive number, got {threshold}")
    if not 0 < level < 1:
        raise SurgeplanError(f"level must be in (0, 1), got {level}")
    window, min_points, horizon_days = int(window), max(int(min_points), 3), int(horizon_days)
    if window < min_points:
        raise SurgeplanError(f"window ({window} days) must be at least min_points ({min_points})")

    ind = _known(indicators, cut, name, population)
    regs = parse_regions(regions)
    if regs is not None:
        ind = ind.loc[ind["region"].isin(regs)]
    if not (ind["name"] == name).any():
        raise SurgeplanError(f"indicators: no {name!r} rows before {cut:%Y-%m-%d}")
    last_day = cut - pd.Timedelta(days=1)
    first_day = ind.loc[ind["name"] == name, "date"].min()
    dates = pd.date_range(min(first_day, last_day), last_day, freq="D", name="date")
    table = wide(ind, name, dates=dates, regions=regs)
    region_index = table.columns
    values = table.to_numpy()
    n_regions = values.shape[1]

    # latest observation and the current run at/above the threshold
    observed = ~np.isnan(values)
    has_obs = observed.any(axis=0)
    last_idx = np.where(has_obs, len(dates) - 1 - np.argmax(observed[::-1], axis=0), 0)
    last_value = np.where(has_obs, values[last_idx, np.arange(n_regions)], np.nan)
    day_arr = np.asarray(dates, dtype="datetime64[ns]")
    last_date = np.where(has_obs, day_arr[last_idx], np.datetime64("NaT"))
    below = np.where(observed, values < threshold, False)
    # last observed day below threshold before the latest observation -> run start is the next observed day
    rows = np.arange(len(dates))[:, None]
    last_below = np.where(below & (rows <= last_idx[None, :]), rows, -1).max(axis=0)
    after = np.where(observed & (rows > last_below[None, :]), rows, len(dates)).min(axis=0)
    crossed = has_obs & (last_value >= threshold)
    crossed_on = np.where(crossed, day_arr[np.minimum(after, len(dates) - 1)], np.datetime64("NaT"))

    # log-linear least squares over the last `window` days, all regions at once
    y = np.log(np.where(values[-window:] > 0, values[-window:], np.nan))
    x = np.arange(-y.shape[0] + 1, 1, dtype=np.float64)[:, None]  # days relative to asof - 1
    m = ~np.isnan(y)
    n = m.sum(axis=0).astype(np.float64)
    fit = n >= min_points
    with np.errstate(invalid="ignore", divide="ignore"):
        xbar = np.where(m, x, 0.0).sum(axis=0) / n
        ybar = np.where(m, y, 0.0).sum(axis=0) / n
        dx = np.where(m, x - xbar, 0.0)
        sxx = (dx**2).sum(axis=0)
        slope = (dx * np.where(m, y - ybar, 0.0)).sum(axis=0) / sxx
        resid = np.where(m, y - (ybar + slope * (x - xbar)), 0.0)
        sse = (resid**2).sum(axis=0)
        s = np.sqrt(sse / (n - 2))
        dof = n - 2
        if autocorrelation:  # effective sample size under AR(1) residuals (Santer et al. 2000)
            lag1 = (resid[1:] * resid[:-1] * (m[1:] & m[:-1])).sum(axis=0)
            rho = np.clip(np.where(sse > 0, lag1 / sse, 0.0), 0.0, 0.99)
            n_eff = np.clip(n * (1 - rho) / (1 + rho), 3.0, n)
            s = np.sqrt(sse / (n_eff - 2))
            dof = n_eff - 2
        q = stats.t.ppf(0.5 + level / 2, np.maximum(dof, 1))
        se_slope = s / np.sqrt(sxx)
    fit &= np.isfinite(slope) & (sxx > 0)
    slope = np.where(fit, slope, np.nan)

    # bands on future days 1..horizon (relative to asof - 1): first day each reaches ln(threshold)
    future = np.arange(1, horizon_days + 1, dtype=np.float64)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = ybar + slope * (future - xbar)
        half = q * s * np.sqrt(1.0 / n + (future - xbar) ** 2 / sxx)
    target = np.log(threshold)

    def first_day(curve: np.ndarray) -> np.ndarray:
        hit = np.nan_to_num(curve, nan=-np.inf) >= target
        any_hit = hit.any(axis=0) & fit & ~crossed
        k = hit.argmax(axis=0)
        return np.where(any_hit, np.datetime64(last_day, "ns") + (k + 1).astype("timedelta64[D]"),
                        np.datetime64("NaT"))

    earliest, median, latest = first_day(centre + half), first_day(centre), first_day(centre - half)
    status = np.select(
        [crossed, ~fit, slope <= 0, ~np.isnat(median)],
        ["crossed", "no_data", "not_growing", "forecast"],
        default="beyond_horizon",
    )
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
            "growth_rate_low": np.where(fit, slope - q * se_slope, np.nan),
            "growth_rate_high": np.where(fit, slope + q * se_slope, np.nan),
            "doubling_time_days": doubling,
            "crossed_on": pd.DatetimeIndex(crossed_on.astype("datetime64[ns]")),
            "earliest": pd.DatetimeIndex(earliest),
            "median": pd.DatetimeIndex(median),
            "latest": pd.DatetimeIndex(latest),
        }
    )
    return out[list(ANTICIPATE_COLUMNS)].reset_index(drop=True)


def first_crossing_dates(indicators: pd.DataFrame, threshold: float, name: str = "new_cases_per_100k_7d",
                         population=None) -> pd.Series:
    """First day each region's indicator is ``>= threshold`` in the whole data (for back-testing anticipation)."""
    ind = _known(indicators, None, name, population)
    return first_crossing(wide(ind, name), float(threshold))


def backtest_anticipation(
    indicators: pd.DataFrame,
    asofs: Iterable[DateLike],
    threshold: float,
    name: str = "new_cases_per_100k_7d",
    regions: str | Iterable[str] | None = None,
    population=None,
    **kwargs,
) -> pd.DataFrame:
    """Compare :func:`anticipate_crossing` made on past days with what happened next.

    Parameters
    ----------
    indicators : DataFrame
        The full history (the forecasts still see only the rows before each ``asof``).
    asofs : iterable of date-like
        Days the forecasts are made.
    threshold, name, regions, population
        As in :func:`anticipate_crossing`.
    **kwargs
        Passed to :func:`anticipate_crossing` (``window``, ``level``, ``horizon_days`` ...).

    Returns
    -------
    DataFrame
        The :func:`anticipate_crossing` columns plus ``asof``; ``actual`` (first day on or after ``asof``
        the indicator was at or above the threshold, NaT if never); ``error_days`` (``actual - median``,
        positive = the forecast was early); ``inside`` (``earliest <= actual <= latest``, an unbounded
        ``latest`` counting as open). Only ``status == "forecast"`` rows have ``error_days`` / ``inside``.
        ``out.query("status == 'forecast'").inside.mean()`` is the empirical coverage of the range.
    """
    full = _known(indicators, None, name, population)
    table = wide(full, name, regions=parse_regions(regions))
    parts = []
    for asof in asofs:  # a handful of forecast days; regions are vectorized inside
        cut = to_day(asof, "asofs")
        res = anticipate_crossing(full, cut, threshold, name=name, regions=regions, population=population, **kwargs)
        actual = first_crossing(table.loc[table.index >= cut], float(threshold)).reindex(res["region"])
        res.insert(1, "asof", pd.Series(cut, index=res.index).astype("datetime64[ns]"))
        res["actual"] = actual.to_numpy()
        forecast = (res["status"] == "forecast").to_numpy() & res["actual"].notna().to_numpy()
        err = (res["actual"] - res["median"]).dt.days.astype(np.float64)
        res["error_days"] = np.where(forecast, err, np.nan)
        inside = (res["earliest"] <= res["actual"]) & ((res["actual"] <= res["latest"]) | res["latest"].isna())
        res["inside"] = pd.array(np.where(forecast, inside, pd.NA), dtype="boolean")
        parts.append(res)
    return pd.concat(parts, ignore_index=True)
