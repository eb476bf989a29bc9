"""The log-linear trend ``ln y_t = a + r t`` of an indicator and its parametric band (steps 2 and 4 of
:mod:`surgeplan.signals.anticipate`).

``t`` counts days relative to the last row of the window (``-window+1 .. 0``), ``r`` is the growth rate
per day. All regions are fitted at once, one column each.

References
----------
Draper, N. R. & Smith, H. (1998). Applied Regression Analysis, 3rd ed., Wiley, sections 1.4 and 3.2.
Santer, B. D. et al. (2000). J. Geophys. Res. 105(D6), 7337-7356 (effective sample size, AR(1) residuals).
Harvey, A. C. (1989). Forecasting, Structural Time Series Models and the Kalman Filter (local linear trend).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


def _moments(y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Days ``x``, mask of known values, count ``n``, means ``xbar``/``ybar``, ``Sxx`` and the raw slope
    per column of ``y`` (log values, NaN = missing)."""
    x = np.arange(-y.shape[0] + 1, 1, dtype=np.float64)[:, None]
    m = ~np.isnan(y)
    n = m.sum(axis=0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        xbar = np.where(m, x, 0.0).sum(axis=0) / n
        ybar = np.where(m, y, 0.0).sum(axis=0) / n
        dx = np.where(m, x - xbar, 0.0)
        sxx = (dx**2).sum(axis=0)
        slope = (dx * np.where(m, y - ybar, 0.0)).sum(axis=0) / sxx
    return x, m, n, xbar, ybar, sxx, slope


def _slope_fit(y: np.ndarray, min_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares ``ln y = ybar + r (x - xbar)`` per column of ``y`` (log values, NaN = missing).

    ``x`` counts days relative to the last row (``-window+1 .. 0``). Returns ``slope, xbar, ybar``; the
    slope (per day) is NaN for columns with fewer than ``min_points`` values.
    """
    _, _, n, xbar, ybar, sxx, slope = _moments(y)
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


@dataclass(frozen=True)
class TrendFit:
    """The fitted line per region and what its band needs.

    ``slope`` (growth rate per day, NaN where ``fit`` is False), ``xbar`` (days), ``ybar`` (log units),
    ``n`` (points), ``sxx`` (days^2), ``s`` (residual standard deviation, log units), ``q`` (Student-t
    quantile of the two-sided level), ``se_slope`` (per day), ``fit`` (enough points for a line).
    """

    slope: np.ndarray
    xbar: np.ndarray
    ybar: np.ndarray
    n: np.ndarray
    sxx: np.ndarray
    s: np.ndarray
    q: np.ndarray
    se_slope: np.ndarray
    fit: np.ndarray


def trend_fit(y: np.ndarray, min_points: int, level: float, autocorrelation: bool) -> TrendFit:
    """Least-squares line through ``y`` (``window x regions`` log values, NaN = missing) with its
    residual scale and the Student-t quantile of the two-sided ``level``.

    With ``autocorrelation`` the residual variance and degrees of freedom use the effective sample size
    ``n_eff = n (1 - rho) / (1 + rho)`` (at least 3) under AR(1) residuals (Santer et al. 2000).
    """
    x, m, n, xbar, ybar, sxx, slope = _moments(y)
    fit = n >= min_points
    with np.errstate(invalid="ignore", divide="ignore"):
        resid = np.where(m, y - (ybar + slope * (x - xbar)), 0.0)
        sse = (resid**2).sum(axis=0)
        s = np.sqrt(sse / (n - 2))
        dof = n - 2
        if autocorrelation:
            lag1 = (resid[1:] * resid[:-1] * (m[1:] & m[:-1])).sum(axis=0)
            rho = np.clip(np.where(sse > 0, lag1 / sse, 0.0), 0.0, 0.99)
            n_eff = np.clip(n * (1 - rho) / (1 + rho), 3.0, n)
            s = np.sqrt(sse / (n_eff - 2))
            dof = n_eff - 2
        q = stats.t.ppf(0.5 + level / 2, np.maximum(dof, 1))
        se_slope = s / np.sqrt(sxx)
    fit &= np.isfinite(slope) & (sxx > 0)
    slope = np.where(fit, slope, np.nan)
    return TrendFit(slope, xbar, ybar, n, sxx, s, q, se_slope, fit)


def parametric_band(
    fit: TrendFit, horizon_days: int, sigma2: float, growth_volatility: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Centre and half-width (log units) of the band on future days ``1..horizon_days`` after the last
    row, ``horizon_days x regions``.

    With ``growth_volatility`` the prediction band of a local linear trend (fit + next observation + a
    growth rate drifting with variance ``sigma2`` per day, Harvey 1989); otherwise the confidence band of
    the fitted line alone (Fieller interval of the crossing time).
    """
    future = np.arange(1, horizon_days + 1, dtype=np.float64)[:, None]
    slope, xbar, ybar, n, sxx, s, q = fit.slope, fit.xbar, fit.ybar, fit.n, fit.sxx, fit.s, fit.q
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = ybar + slope * (future - xbar)
        if growth_volatility:
            drift = sigma2 * future * (future + 1) * (2 * future + 1) / 6  # sum_{m<=h} m^2 sigma2
            half = q * np.sqrt(s**2 * (1.0 + 1.0 / n + (future - xbar) ** 2 / sxx) + drift)
        else:
            half = q * s * np.sqrt(1.0 / n + (future - xbar) ** 2 / sxx)
    return centre, half
