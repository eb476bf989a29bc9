"""What the method's own past teaches, from the rows known at ``asof`` (steps 3 and 4 of
:mod:`surgeplan.signals.anticipate`): past forecasts replayed and their log lead ratios, the weighted
Kaplan-Meier quantiles of those ratios, the calibrated range, and the growth-rate volatility of the
parametric band.

References
----------
Angelopoulos, A. N. & Bates, S. (2023). Conformal prediction: a gentle introduction. Foundations and
Trends in Machine Learning 16(4), 494-591.
Kaplan, E. L. & Meier, P. (1958). J. Am. Stat. Assoc. 53, 457-481.
Harvey, A. C. (1989). Forecasting, Structural Time Series Models and the Kalman Filter (local linear trend).
"""

from __future__ import annotations

import numpy as np

from surgeplan.signals.anticipate.trend import _median_lead, _slope_fit

# kernel width on ln(lead): past forecasts within ~x2 of the lead count most
_LEAD_BANDWIDTH = float(np.log(2.0))
_MIN_VOLATILITY_PAIRS = 20  # growth-rate pairs needed to learn its volatility (else the fit-only band)


def _log_windows(values: np.ndarray, origins: np.ndarray, window: int) -> np.ndarray:
    """Log values of the ``window`` rows before each origin, ``window x (origins * regions)`` (NaN where
    missing or not positive): the fit windows of past forecasts made on those origins."""
    rows = origins[None, :] - window + np.arange(window)[:, None]  # (window, O)
    block = values[rows]  # (window, O, R)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log(np.where(block > 0, block, np.nan)).reshape(window, -1)


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
    now, later = _log_windows(values, origins, window), _log_windows(values, origins + lag, window)
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
    slope, xbar, ybar = _slope_fit(_log_windows(values, origins, window), min_points)
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


def learned_growth_volatility(
    values: np.ndarray,
    threshold: float,
    window: int,
    min_points: int,
    days: int,
    levels: int,
    span: float,
) -> float:
    """``sigma2`` of :func:`_growth_volatility` over the regions between the lowest calibration level
    divided by ``span`` and ``threshold``; 0 (the fit-only band) when fewer than
    ``_MIN_VOLATILITY_PAIRS`` growth-rate pairs teach it."""
    low = threshold / 2.0 ** (max(int(levels), 1) - 1) / float(span)
    sigma2, pairs = _growth_volatility(values, low, threshold, window, min_points, int(days))
    return sigma2 if pairs >= _MIN_VOLATILITY_PAIRS else 0.0


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
