"""Forecast accuracy and calibration metrics (point, quantile, interval, anticipation).

Pure vectorized functions: scalars, numpy arrays or pandas Series in, the same container out
(elementwise functions) or reduced along ``axis`` (aggregating functions). Missing values (NaN) in
``actual`` or ``forecast`` are ignored by the aggregates, the way a backtest must treat missing
measurement hours. Grouped scoring of whole backtests (per resource and horizon) lives in
:mod:`surgeplan.forecast.backtest`; it calls these kernels on 2-D arrays (one row per group).

Conventions
-----------
* ``mape`` is in **percent**; hours/days whose actual value is zero are skipped (APE undefined).
* ``mase`` divides the mean absolute error by a *scale* given by the caller, normally
  :func:`seasonal_naive_mae` of the in-sample history (Hyndman & Koehler 2006).
* ``pinball_loss`` is in the load's unit (Erlangs, Gbps ...), the "quantile score" of
  Gneiting & Raftery (2007) without the factor 2.
* ``interval_coverage`` is a fraction in [0, 1].

References
----------
.. [1] R. J. Hyndman, A. B. Koehler, "Another look at measures of forecast accuracy",
   International Journal of Forecasting 22(4), 679-688, 2006.
.. [2] T. Gneiting, A. E. Raftery, "Strictly proper scoring rules, prediction, and estimation",
   Journal of the American Statistical Association 102(477), 359-378, 2007.
.. [3] R. Koenker, G. Bassett, "Regression quantiles", Econometrica 46(1), 33-50, 1978.
.. [4] ITU-T Recommendation E.500, "Traffic intensity measurement principles", 1998 (busy hour).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from surgeplan._arrays import as_float_arrays, like_input
from surgeplan.errors import SurgeplanError

__all__ = [
    "absolute_percentage_error",
    "interval_coverage",
    "mae",
    "mape",
    "mase",
    "mean_pinball_loss",
    "pinball_loss",
    "rmse",
    "seasonal_naive_mae",
]


def _reduce(values: np.ndarray, axis: int | None, template: Any) -> Any:
    """nanmean along ``axis`` without warnings for all-NaN slices; wrap like the template."""
    valid = np.isfinite(values)
    count = valid.sum(axis=axis)
    total = np.where(valid, values, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    if axis is None or np.ndim(out) == 0:
        return float(out)
    return out


def absolute_percentage_error(actual: Any, forecast: Any) -> Any:
    """Elementwise absolute percentage error ``100 |actual - forecast| / |actual|``.

    Parameters
    ----------
    actual : float, array or Series
        Observed load (any unit).
    forecast : float, array or Series
        Forecast load (same unit).

    Returns
    -------
    float, array or Series
        Percent; NaN where ``actual`` is zero or either value is missing.
    """
    a, f = as_float_arrays(actual, forecast)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(a != 0.0, 100.0 * np.abs(a - f) / np.abs(a), np.nan)
    return like_input(out, actual, forecast)


def mape(actual: Any, forecast: Any, axis: int | None = None) -> Any:
    """Mean absolute percentage error, percent.

    Parameters
    ----------
    actual, forecast : array_like
        Observed and forecast load (same unit); NaN values and zero actuals are skipped.
    axis : int, optional
        Axis to average along (all values when None).

    Returns
    -------
    float or ndarray
        MAPE in percent (NaN when nothing valid).

    References
    ----------
    .. [1] Hyndman & Koehler (2006), section 3.2.
    """
    a, f = as_float_arrays(actual, forecast)
    with np.errstate(invalid="ignore", divide="ignore"):
        ape = np.where(a != 0.0, 100.0 * np.abs(a - f) / np.abs(a), np.nan)
    return _reduce(ape, axis, actual)


def mae(actual: Any, forecast: Any, axis: int | None = None) -> Any:
    """Mean absolute error, in the load's unit (NaN values skipped)."""
    a, f = as_float_arrays(actual, forecast)
    return _reduce(np.abs(a - f), axis, actual)


def rmse(actual: Any, forecast: Any, axis: int | None = None) -> Any:
    """Root mean squared error, in the load's unit (NaN values skipped).

    Parameters
    ----------
    actual, forecast : array_like
        Observed and forecast load.
    axis : int, optional
        Axis to average along (all values when None).
    """
    a, f = as_float_arrays(actual, forecast)
    msq = _reduce((a - f) ** 2, axis, actual)
    return float(np.sqrt(msq)) if np.ndim(msq) == 0 else np.sqrt(msq)


def seasonal_naive_mae(history: Any, season: int, axis: int = -1) -> Any:
    """In-sample mean absolute error of the seasonal naive forecast ``y[t] = y[t - season]``.

    This is the MASE denominator of Hyndman & Koehler (2006):
    ``mean_t |y_t - y_{t-m}|`` over the pairs where both values exist.

    Parameters
    ----------
    history : array_like
        In-sample series, regularly spaced along ``axis`` (NaN for missing steps).
    season : int
        Seasonal period ``m`` in steps (7 for daily busy-hour loads with a weekly cycle,
        1 for the plain naive forecast).
    axis : int
        Time axis.

    Returns
    -------
    float or ndarray
        Scale in the load's unit; NaN when fewer than ``season + 1`` steps.
    """
    if int(season) < 1:
        raise SurgeplanError(f"season must be a positive number of steps, got {season!r}")
    m = int(season)
    (y,) = as_float_arrays(history)
    y = np.moveaxis(np.atleast_1d(y), axis, -1)
    if y.shape[-1] <= m:
        out = np.full(y.shape[:-1], np.nan)
    else:
        out = _reduce(np.abs(y[..., m:] - y[..., :-m]), -1, None)
    return float(out) if np.ndim(out) == 0 else out


def mase(actual: Any, forecast: Any, scale: Any, axis: int | None = None) -> Any:
    """Mean absolute scaled error: ``mean |actual - forecast| / scale``.

    Parameters
    ----------
    actual, forecast : array_like
        Observed and forecast load.
    scale : float or array_like
        Positive scale per series, normally :func:`seasonal_naive_mae` of the in-sample history
        (broadcast against the reduced shape).
    axis : int, optional
        Axis to average along.

    Returns
    -------
    float or ndarray
        Dimensionless; below 1 means better than the in-sample seasonal naive forecast. NaN where
        the scale is zero, negative or missing.
    """
    err = mae(actual, forecast, axis=axis)
    (s,) = as_float_arrays(scale)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(s > 0, np.asarray(err) / np.where(s > 0, s, 1.0), np.nan)
    return float(out) if np.ndim(out) == 0 else out


def pinball_loss(actual: Any, forecast: Any, quantile: Any) -> Any:
    """Elementwise pinball (quantile) loss ``max(q (y - f), (q - 1)(y - f))``.

    Parameters
    ----------
    actual : array_like
        Observed load ``y``.
    forecast : array_like
        Forecast quantile ``f`` (same unit).
    quantile : float or array_like
        Quantile level ``q`` in (0, 1).

    Returns
    -------
    float, array or Series
        Loss in the load's unit (NaN where a value is missing).

    References
    ----------
    .. [1] Koenker & Bassett (1978); Gneiting & Raftery (2007), eq. 24.
    """
    y, f, q = as_float_arrays(actual, forecast, quantile)
    if np.any((q <= 0) | (q >= 1)):
        raise SurgeplanError(f"quantile must lie strictly between 0 and 1, got {np.unique(q)}")
    d = y - f
    out = np.maximum(q * d, (q - 1.0) * d)
    return like_input(out, actual, forecast)


def mean_pinball_loss(actual: Any, forecasts: Any, quantiles: Any, axis: int | None = None) -> Any:
    """Pinball loss averaged over several quantile levels and over ``axis``.

    Parameters
    ----------
    actual : array_like, shape (..., n)
        Observed load.
    forecasts : array_like, shape (k, ..., n)
        One forecast array per quantile level (first axis).
    quantiles : sequence of float, length k
        Quantile levels in (0, 1).
    axis : int, optional
        Axis of ``actual`` to average along after averaging over the quantile levels.
    """
    f = np.asarray(forecasts, dtype=np.float64)
    q = np.asarray(quantiles, dtype=np.float64)
    if f.shape[0] != q.size:
        raise SurgeplanError(
            f"forecasts has {f.shape[0]} quantile rows but {q.size} quantile levels were given"
        )
    y = np.asarray(actual, dtype=np.float64)
    qb = q.reshape((-1,) + (1,) * (f.ndim - 1))
    losses = np.asarray(pinball_loss(y[None, ...], f, qb))
    per_point = np.where(np.isfinite(losses).all(axis=0), losses.mean(axis=0), np.nan)
    return _reduce(per_point, axis, actual)


def interval_coverage(actual: Any, lower: Any, upper: Any, axis: int | None = None) -> Any:
    """Share of observations inside the closed interval ``[lower, upper]``.

    Parameters
    ----------
    actual : array_like
        Observed load.
    lower, upper : array_like
        Interval bounds, e.g. the p10 and p90 forecasts for an 80% central interval.
    axis : int, optional
        Axis to average along.

    Returns
    -------
    float or ndarray
        Fraction in [0, 1]; a calibrated 80% interval covers about 0.8. NaN when nothing valid.
    """
    y, lo, hi = as_float_arrays(actual, lower, upper)
    valid = np.isfinite(y) & np.isfinite(lo) & np.isfinite(hi)
    inside = np.where(valid, ((y >= lo) & (y <= hi)).astype(np.float64), np.nan)
    return _reduce(inside, axis, actual)
