"""Anticipating when regions will cross an indicator threshold (e.g. the incidence at which others
locked down).

A planner who must order voice circuits or VPN licences weeks before a lockdown asks, on day
``asof``: *when will region X reach the incidence at which regions Y and Z locked down?* This module
answers with what was known before ``asof`` only:

1. :func:`threshold_from_earlier_regions` takes the regions that have already locked down (under a
   :class:`~surgeplan.signals.lockdown.LockdownRule`) and summarises the value of the indicator on
   their first lockdown day (median by default).
2. :func:`anticipate_crossing` fits, per region, a log-linear trend
   ``ln y_t = a + r t`` (ordinary least squares) to the indicator over the last ``window`` days
   before ``asof`` and extrapolates it: the fitted line first reaches the threshold ``Lhat`` days
   after the last known day (the *parametric median*). Regions already at or above the threshold
   report the day they crossed it instead.
3. The range, and the median, are then *calibrated on the method's own past errors* (split-conformal
   style, Vovk et al. 2005; Angelopoulos & Bates 2023), using only the rows known at ``asof``: every
   day of the last ``calibration_days`` is replayed as a past forecast origin, for the threshold and
   for the lower levels ``threshold / 2**k`` (``k < calibration_levels``: the lead ratio is
   scale-free, and early in a wave few regions have reached the threshold itself), for the regions
   then growing and at most ``calibration_span`` times below the level. Each replay gives the log
   lead ratio ``z = ln(L / Lhat)`` between the real lead ``L`` and the predicted one, right-censored
   when the level had not been reached by ``asof``. The distribution of ``z`` is estimated by a
   Kaplan-Meier estimator (censoring-aware, so the regions still waiting do not bias it early),
   weighted by a Gaussian kernel of width ``ln 2`` on ``ln Lhat`` around the region's own lead (errors
   grow with the lead). Median, earliest and latest are ``Lhat exp(q)`` for the quantiles 0.5 and
   ``(1 -/+ level) / 2`` of ``z`` (rounded to the day: round, floor, ceil). When the upper quantile
   is not reached (too many past forecasts still waiting), ``latest`` is unbounded (NaT): the past
   does not exclude a much later day. ``range_method`` tells which range a region got.
4. Fallback (``range_method == "parametric"``; too little evidence: crossings seen in fewer than 3
   regions, or a kernel-weighted count of past crossings below ``min_calibration``, or
   ``calibrate=False``): *earliest* and *latest* are the first days the upper and the lower two-sided
   ``level`` band around the fitted line reach the threshold. By default (``growth_volatility``) it
   is the prediction band of a local linear trend (Harvey 1989): the growth rate is a random walk,
   ``r_{t+1} = r_t + eta_t``, whose variance per day ``sigma_eta^2`` is learned from the changes of
   the 7-day growth rates of all regions over the calibration days (robust MAD estimate), so
   ``Var ln y(h) = s^2 (1 + 1/n + (h - tbar)^2 / Sxx) + sigma_eta^2 sum_{m<=h} m^2``. The growth may
   stop, so the lower band may never reach the threshold: ``latest`` is then open (NaT). With
   ``growth_volatility=False`` it is the confidence band of the regression line alone,
   ``a + r t +/- t_{n-2} s sqrt(1/n + (t - tbar)^2 / Sxx)`` (the Fieller interval of the crossing
   time ``(ln threshold - a) / r``, the former default), widened for the AR(1) autocorrelation of a
   7-day sum (Santer et al. 2000); it covers the trend-fit uncertainty only and is far too narrow.
   For ``not_growing`` / ``beyond_horizon`` rows, ``earliest`` (when set) is the first day the upper
   band reaches the threshold: the earliest day still plausible.

Measured with :func:`backtest_anticipation` on the bundled data (actual crossings looked for until
2020-12-31; "crossed" = forecasts whose real day is known, the 90% range first). Threshold Italy's
4.41 cases per 100 000 in 7 days at its 2020-03-04 onset:

============================  ==========================  ==========================  ==============
forecast days                 fit-only band (former)      this method                 median error
============================  ==========================  ==========================  ==============
03-03, 06, 10, 13 (132)       90%: 58%, 80%: 47%          90%: 98%, 80%: 89%          +3 -> -1.5 d
03-08, 16, 20 (held out, 102) 90%: 39%, 80%: 30%          90%: 84%, 80%: 73%          +7 -> +6 d
============================  ==========================  ==========================  ==============

Autumn wave, held out (2020-10-15 at 200 and 400, 2020-11-01 at 400; 35 crossed): 90% range 91%
(fit-only 31%), 80% range 89% (29%), median error -3 days. Summer/autumn days looked at while
designing (2020-07-01 at 50, 2020-10-01 at 100 and 200, 2020-11-01 at 100; 34 crossed): 91% (45%),
80%: 85% (40%), but a median 14.5 days late (the summer, when incidence hovered, is the past
that teaches). The price of honesty is width and open ends: most 90% ranges have an unbounded
``latest`` early in a wave (when few regions have crossed, the parametric fallback with a drifting
growth rate cannot exclude a stall) and in the autumn (past forecasts from the summer often waited
longer than ``calibration_days``); the ``earliest`` day, which drives ordering capacity in time, stays
informative. Late in the spring wave (2020-03-16, 20) the median is about a week early: lockdowns
then bent curves that the past had shown growing steadily. France from 2020-03-10 (test fixture, six
countries): earliest 2020-03-12, median 2020-03-15, latest open; real crossing 2020-03-13, lockdown
2020-03-17.

References
----------
Angelopoulos, A. N. & Bates, S. (2023). Conformal prediction: a gentle introduction. Foundations and
Trends in Machine Learning 16(4), 494-591.
Kaplan, E. L. & Meier, P. (1958). Nonparametric estimation from incomplete observations. J. Am. Stat.
Assoc. 53, 457-481.
Vovk, V., Gammerman, A. & Shafer, G. (2005). Algorithmic Learning in a Random World. Springer.
Harvey, A. C. (1989). Forecasting, Structural Time Series Models and the Kalman Filter. Cambridge
University Press (local linear trend).
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
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from surgeplan.errors import SurgeplanError
from surgeplan.signals.derive import derive_indicators, first_crossing
from surgeplan.signals.generic import DateLike, ensure_indicators, parse_regions, to_day, wide
from surgeplan.signals.lockdown import LockdownRule, lockdown_periods

_DERIVED = {"new_cases", "new_cases_per_100k_7d", "growth_rate", "doubling_time_days"}

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

# kernel width on ln(lead): past forecasts within ~x2 of the lead count most
_LEAD_BANDWIDTH = float(np.log(2.0))
_MIN_VOLATILITY_PAIRS = 20  # growth-rate pairs needed to learn its volatility (else the fit-only band)


def _known(indicators: pd.DataFrame, asof: pd.Timestamp | None, name: str, population) -> pd.DataFrame:
    """Rows dated before ``asof``, with ``name`` derived from those rows alone when it is a derived
    indicator."""
    ind = ensure_indicators(indicators)
    ind = ind if asof is None else ind.loc[ind["date"] < asof]
    if name in _DERIVED and (ind["name"] == name).sum() == 0:
        ind = derive_indicators(ind, population=population)
    return ind


def _slope_fit(y: np.ndarray, min_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares ``ln y = ybar + r (x - xbar)`` per column of ``y`` (log values, NaN = missing).

    ``x`` counts days relative to the last row (``-window+1 .. 0``). Returns ``slope, xbar, ybar``; the
    slope is NaN for columns with fewer than ``min_points`` values.
    """
    x = np.arange(-y.shape[0] + 1, 1, dtype=np.float64)[:, None]
    m = ~np.isnan(y)
    n = m.sum(axis=0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        xbar = np.where(m, x, 0.0).sum(axis=0) / n
        ybar = np.where(m, y, 0.0).sum(axis=0) / n
        dx = np.where(m, x - xbar, 0.0)
        sxx = (dx**2).sum(axis=0)
        slope = (dx * np.where(m, y - ybar, 0.0)).sum(axis=0) / sxx
    ok = (n >= min_points) & np.isfinite(slope) & (sxx > 0)
    return np.where(ok, slope, np.nan), xbar, ybar


def _median_lead(
    slope: np.ndarray, xbar: np.ndarray, ybar: np.ndarray, target: float | np.ndarray
) -> np.ndarray:
    """Days after the last observed day at which the fitted line first reaches ``target`` (>= 1; NaN if
    r <= 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        t = xbar + (target - ybar) / slope
        return np.where(slope > 0, np.maximum(1.0, np.ceil(t - 1e-9)), np.nan)


def _growth_volatility(
    values: np.ndarray,
    low: float,
    high: float,
    window: int,
    min_points: int,
    days: int,
    lag: int = 7,
) -> tuple[float, int]:
    """Variance per day of the random-walk changes of the growth rate, learned from the rows known at
    ``asof``.

    The ``window``-day log-linear growth rate ``r_o`` of every region and origin ``o`` of the last
    ``days`` rows (region growing, level in ``[low, high)``) is paired with the rate ``lag`` days later;
    under a local linear trend (growth rate a random walk, Harvey 1989) ``r_{o+lag} - r_o`` has
    variance ``lag * sigma2``. ``sigma2`` (1/day^3 in log units: (1/day)^2 per day) is estimated robustly
    (normal-consistent MAD: small-count regions have heavy-tailed rates). Returns ``sigma2`` and the
    number of pairs.
    """
    n_rows = values.shape[0]
    origins = np.arange(max(window, n_rows - int(days) - lag), n_rows - lag + 1)
    if origins.size == 0:
        return 0.0, 0
    rows = origins[None, :] - window + np.arange(window)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        now = np.log(np.where(values[rows] > 0, values[rows], np.nan)).reshape(window, -1)
        later = np.log(np.where(values[rows + lag] > 0, values[rows + lag], np.nan)).reshape(window, -1)
    r0, r1 = _slope_fit(now, min_points)[0], _slope_fit(later, min_points)[0]
    last = values[origins - 1].reshape(-1)
    ok = np.isfinite(r0) & np.isfinite(r1) & (r0 > 0) & (last >= low) & (last < high)
    if not ok.any():
        return 0.0, 0
    dev = r1[ok] - r0[ok]
    mad = 1.4826 * np.median(np.abs(dev - np.median(dev)))
    return float(mad**2) / lag, int(ok.sum())


def _calibration_pairs(
    values: np.ndarray,
    threshold: float,
    window: int,
    min_points: int,
    days: int,
    levels: int,
    span: float,
    horizon_days: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Past forecasts of the same method, replayed on the rows known at ``asof``, and what happened.

    Every day ``o`` of the last ``days`` rows of ``values`` (``T x R``, the rows before ``asof``) is taken
    as a past forecast origin (rows ``< o`` known). For each level ``threshold / 2**k`` (``k < levels``)
    and each region below that level but not more than ``span`` times below it on day ``o - 1`` and
    growing, the median lead ``Lhat`` (days after ``o - 1``) is compared with the real lead ``L``: the
    first row ``>= o`` at or above the level, or right-censored (``L > T - o``) when the level was not
    reached before ``asof``. Lower levels multiply the sample: the log lead ratio ``ln(L / Lhat)`` is
    scale-free. Returns ``z = ln(L / Lhat)``, ``censored``, ``Lhat`` and the region index of every pair.
    """
    n_rows, n_regions = values.shape
    origins = np.arange(max(window, n_rows - int(days)), n_rows)  # origin o: rows < o known, o <= T-1
    empty = np.empty(0)
    if origins.size == 0 or n_regions == 0:
        return empty, empty.astype(bool), empty, empty.astype(np.int64)
    rows = origins[None, :] - window + np.arange(window)[:, None]  # (window, O)
    block = values[rows]  # (window, O, R)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.log(np.where(block > 0, block, np.nan)).reshape(window, -1)
    slope, xbar, ybar = _slope_fit(y, min_points)
    last = values[origins - 1].reshape(-1)  # (O*R,)
    region = np.broadcast_to(np.arange(n_regions), (origins.size, n_regions)).reshape(-1)
    origin = np.repeat(origins, n_regions)
    idx = np.arange(n_rows)[:, None]
    z_all, cens_all, lead_all, reg_all = [], [], [], []
    for k in range(int(levels)):  # a handful of levels; regions and origins are vectorized
        lv = threshold / 2.0**k
        above = np.nan_to_num(values, nan=-np.inf) >= lv
        nxt = np.minimum.accumulate(np.where(above, idx, n_rows)[::-1], axis=0)[::-1]  # next row >= lv
        hit_row = nxt[origins].reshape(-1)
        lead_hat = _median_lead(slope, xbar, ybar, np.log(lv))
        ok = np.isfinite(lead_hat) & (lead_hat <= horizon_days) & (last < lv) & (last >= lv / span)
        censored = hit_row >= n_rows
        lead = np.where(censored, n_rows - origin, hit_row - origin + 1).astype(np.float64)
        z_all.append((np.log(lead) - np.log(lead_hat))[ok])
        cens_all.append(censored[ok])
        lead_all.append(lead_hat[ok])
        reg_all.append(region[ok])
    return np.concatenate(z_all), np.concatenate(cens_all), np.concatenate(lead_all), np.concatenate(reg_all)


def _weighted_km_quantiles(z: np.ndarray, censored: np.ndarray, weights: np.ndarray, probs) -> np.ndarray:
    """Quantiles of right-censored ``z`` by the weighted Kaplan-Meier estimator, one column per weight set.

    ``weights`` is ``pairs x targets``; returns ``len(probs) x targets`` (NaN where the estimated
    distribution function never reaches the probability, i.e. too much censoring to tell).
    """
    order = np.lexsort((censored, z))  # at ties, events before censorings (the usual convention)
    z, censored, w = z[order], censored[order], weights[order]
    at_risk = np.cumsum(w[::-1], axis=0)[::-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        hazard = np.where(~censored[:, None] & (at_risk > 0), w / at_risk, 0.0)
    cdf = 1.0 - np.cumprod(1.0 - np.clip(hazard, 0.0, 1.0), axis=0)
    out = np.full((len(probs), w.shape[1]), np.nan)
    for i, p in enumerate(probs):
        reached = cdf >= p - 1e-12
        first = reached.argmax(axis=0)
        out[i] = np.where(reached.any(axis=0), z[first], np.nan)
    return out


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
    return pd.DataFrame(
        {
            "region": first.index.astype(object),
            "start": first.to_numpy(),
            "value": np.asarray(values, dtype=np.float64),
        }
    )


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
    window, level, horizon_days, min_points = o.window, o.level, o.horizon_days, o.min_points
    autocorrelation, calibrate, growth_volatility = o.autocorrelation, o.calibrate, o.growth_volatility
    calibration_days, calibration_levels = o.calibration_days, o.calibration_levels
    calibration_span, min_calibration = o.calibration_span, o.min_calibration
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
    if calibrate:
        if int(calibration_days) < 1 or int(calibration_levels) < 1:
            raise SurgeplanError(
                f"calibration_days and calibration_levels must be >= 1, got {calibration_days}, "
                f"{calibration_levels}"
            )
        if not float(calibration_span) > 1:
            raise SurgeplanError(f"calibration_span must be > 1, got {calibration_span}")

    ind = _known(indicators, cut, name, population)
    regs = parse_regions(regions)
    pool = ind  # past forecasts are replayed on every region of `indicators`, not only the reported ones
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
    if regs is None:
        pool_values = values
    else:
        pool_first = pool.loc[pool["name"] == name, "date"].min()
        pool_dates = pd.date_range(min(pool_first, last_day), last_day, freq="D", name="date")
        pool_values = wide(pool, name, dates=pool_dates).to_numpy()

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
    sigma2 = 0.0
    if growth_volatility:
        low = threshold / 2.0 ** (max(int(calibration_levels), 1) - 1) / float(calibration_span)
        sigma2, pairs = _growth_volatility(
            pool_values, low, threshold, window, min_points, int(calibration_days)
        )
        sigma2 = sigma2 if pairs >= _MIN_VOLATILITY_PAIRS else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = ybar + slope * (future - xbar)
        if (
            growth_volatility
        ):  # prediction band of a local linear trend: fit + next observation + drifting rate
            drift = sigma2 * future * (future + 1) * (2 * future + 1) / 6  # sum_{m<=h} m^2 sigma2
            half = q * np.sqrt(s**2 * (1.0 + 1.0 / n + (future - xbar) ** 2 / sxx) + drift)
        else:  # confidence band of the fitted line (Fieller interval of the crossing time)
            half = q * s * np.sqrt(1.0 / n + (future - xbar) ** 2 / sxx)
    target = np.log(threshold)

    def first_day(curve: np.ndarray) -> np.ndarray:
        hit = np.nan_to_num(curve, nan=-np.inf) >= target
        any_hit = hit.any(axis=0) & fit & ~crossed
        k = hit.argmax(axis=0)
        return np.where(
            any_hit, np.datetime64(last_day, "ns") + (k + 1).astype("timedelta64[D]"), np.datetime64("NaT")
        )

    earliest, median, latest = first_day(centre + half), first_day(centre), first_day(centre - half)
    forecast = fit & ~crossed & (slope > 0) & ~np.isnat(median)
    method = np.where(forecast, "parametric", None).astype(object)
    if calibrate and forecast.any():
        calibrated = _calibrate_range(
            pool_values,
            threshold,
            np.datetime64(last_day, "ns"),
            median,
            forecast,
            level,
            window,
            min_points,
            int(calibration_days),
            int(calibration_levels),
            float(calibration_span),
            float(min_calibration),
            horizon_days,
        )
        use = calibrated[3]
        earliest = np.where(use, calibrated[0], earliest)
        median = np.where(use, calibrated[1], median)
        latest = np.where(use, calibrated[2], latest)
        method = np.where(use, "calibrated", method).astype(object)
    status = np.select(
        [crossed, ~fit, slope <= 0, ~np.isnat(median)],
        ["crossed", "no_data", "not_growing", "forecast"],
        default="beyond_horizon",
    )
    method = np.where(status == "forecast", method, None).astype(object)
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
            "range_method": method,
        }
    )
    return out[list(ANTICIPATE_COLUMNS)].reset_index(drop=True)


def _calibrate_range(
    values: np.ndarray,
    threshold: float,
    last_day: np.datetime64,
    median: np.ndarray,
    forecast: np.ndarray,
    level: float,
    window: int,
    min_points: int,
    days: int,
    levels: int,
    span: float,
    min_events: float,
    horizon_days: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Conformal earliest / median / latest from the errors of past forecasts (see
    :func:`anticipate_crossing`).

    Returns ``earliest, median, latest`` (datetime64, NaT where not defined) and ``use`` (bool: enough
    past evidence for that region; elsewhere the parametric range stays).
    """
    n_regions = median.shape[0]
    nat = np.full(n_regions, np.datetime64("NaT"), dtype="datetime64[ns]")
    use = np.zeros(n_regions, dtype=bool)
    z, censored, lead_hat, region = _calibration_pairs(
        values, threshold, window, min_points, days, levels, span, horizon_days
    )
    if z.size == 0 or np.unique(region[~censored]).size < 3:  # need crossings seen in at least 3 regions
        return nat, nat.copy(), nat.copy(), use
    targets = np.flatnonzero(forecast)
    lead = ((median[targets] - last_day) / np.timedelta64(1, "D")).astype(np.float64)
    weights = np.exp(-0.5 * ((np.log(lead_hat)[:, None] - np.log(lead)[None, :]) / _LEAD_BANDWIDTH) ** 2)
    events = (weights * ~censored[:, None]).sum(axis=0)
    q = _weighted_km_quantiles(z, censored, weights, ((1 - level) / 2, 0.5, (1 + level) / 2))
    with np.errstate(invalid="ignore", over="ignore"):
        lo = np.maximum(1.0, np.floor(lead * np.exp(q[0])))
        mid = np.maximum(1.0, np.round(lead * np.exp(q[1])))
        hi = np.ceil(lead * np.exp(q[2]))
    ok = (events >= min_events) & np.isfinite(lo) & np.isfinite(mid)
    day = np.timedelta64(1, "D")

    def as_day(k: np.ndarray) -> np.ndarray:
        good = ok & np.isfinite(k) & (k <= horizon_days)
        return np.where(good, last_day + np.where(good, k, 0).astype(np.int64) * day, np.datetime64("NaT"))

    earliest, med, latest = nat.copy(), nat.copy(), nat.copy()
    earliest[targets], med[targets], latest[targets] = as_day(lo), as_day(mid), as_day(hi)
    use[targets] = ok
    return earliest, med, latest, use


def first_crossing_dates(
    indicators: pd.DataFrame, threshold: float, name: str = "new_cases_per_100k_7d", population=None
) -> pd.Series:
    """First day each region's indicator is ``>= threshold`` in the whole data (for back-testing
    anticipation)."""
    ind = _known(indicators, None, name, population)
    return first_crossing(wide(ind, name), float(threshold))


def backtest_anticipation(
    indicators: pd.DataFrame,
    asofs: Iterable[DateLike],
    threshold: float,
    name: str = "new_cases_per_100k_7d",
    regions: str | Iterable[str] | None = None,
    population=None,
    options: AnticipationOptions | None = None,
) -> pd.DataFrame:
    """Compare :func:`anticipate_crossing` made on past days with what happened next.

    Parameters
    ----------
    indicators : DataFrame
        The full history (the forecasts still see only the rows before each ``asof``).
    asofs : iterable of date-like
        Days the forecasts are made.
    threshold, name, regions, population, options
        As in :func:`anticipate_crossing`.

    Returns
    -------
    DataFrame
        The :func:`anticipate_crossing` columns plus ``asof``; ``actual`` (first day on or after ``asof``
        the indicator was at or above the threshold, NaT if never); ``error_days`` (``actual - median``,
        positive = the forecast was early; ``forecast`` rows that crossed); ``inside`` (scored rows only,
        NA elsewhere): for ``forecast`` rows ``earliest <= actual <= latest`` (an unbounded ``latest``
        counting as open), and when there was no crossing in the data, False if the data go past a
        closed range's ``latest``, True if they go past an open range's ``earliest``; for
        ``beyond_horizon`` rows the range is ``[earliest, open)`` (after the horizon when ``earliest`` is
        NaT). ``out.inside.mean()`` (NA skipped) is the empirical coverage of the range;
        a method cannot flatter it by declaring hard cases beyond the horizon.
    """
    full = _known(indicators, None, name, population)
    table = wide(full, name, regions=parse_regions(regions))
    options = options or AnticipationOptions()
    observed = table.notna().to_numpy()
    last_row = len(table.index) - 1 - np.argmax(observed[::-1], axis=0)
    days = np.asarray(table.index, dtype="datetime64[ns]")
    data_end = pd.Series(
        np.where(
            observed.any(axis=0),
            days[np.maximum(last_row, 0)] if len(days) else np.datetime64("NaT"),
            np.datetime64("NaT"),
        ),
        index=table.columns,
    )
    parts = []
    for asof in asofs:  # a handful of forecast days; regions are vectorized inside
        cut = to_day(asof, "asofs")
        res = anticipate_crossing(
            full, cut, threshold, name=name, regions=regions, population=population, options=options
        )
        actual = first_crossing(table.loc[table.index >= cut], float(threshold)).reindex(res["region"])
        res.insert(1, "asof", pd.Series(cut, index=res.index).astype("datetime64[ns]"))
        res["actual"] = actual.to_numpy()
        happened = res["actual"].notna().to_numpy()
        status = res["status"].to_numpy()
        forecast = status == "forecast"
        err = (res["actual"] - res["median"]).dt.days.astype(np.float64)
        res["error_days"] = np.where(forecast & happened, err, np.nan)
        inside = (res["earliest"] <= res["actual"]) & (
            (res["actual"] <= res["latest"]) | res["latest"].isna()
        )
        # no crossing in the data: a closed range whose last day passed is a miss; an open range whose first
        # day passed holds it ("not before earliest, maybe never")
        seen_until = data_end.reindex(res["region"]).to_numpy()
        closed = res["latest"].notna().to_numpy()
        missed = forecast & ~happened & closed & (res["latest"].to_numpy() < seen_until)
        # "beyond the horizon": the range is [earliest, open) or, without earliest, after the horizon
        beyond = status == "beyond_horizon"
        low = res["earliest"].fillna(cut + pd.Timedelta(days=options.horizon_days))
        held_open = (forecast | beyond) & ~happened & ~closed & (low.to_numpy() < seen_until)
        scored = np.select(
            [forecast & happened, missed, beyond & happened, held_open],
            [inside.to_numpy(dtype=bool), False, (res["actual"] >= low).to_numpy(dtype=bool), True],
            2,
        )
        res["inside"] = pd.array(np.where(scored == 2, pd.NA, scored == 1), dtype="boolean")
        parts.append(res)
    return pd.concat(parts, ignore_index=True)
