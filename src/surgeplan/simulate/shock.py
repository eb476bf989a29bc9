"""Shock response driven by a region's daily indicator (e.g. the OxCGRT stringency index).

Steps, each a pure vectorized function:

1. **activation** ``a(t) = S((v(t) - threshold) / (saturation - threshold))`` with the smoothstep
   ``S(z) = 3z^2 - 2z^3`` on ``[0, 1]`` (0 below the threshold, 1 at and above saturation);
2. **lag and dynamics**: the activation delayed by ``lag_days`` drives a first-order response with an
   asymmetric time constant, ``ramp_days`` while rising, ``decay_days`` while falling::

       x[t] = x[t-1] + (1 - exp(-1 / tau[t])) * (a[t - lag] - x[t-1]),
       tau[t] = ramp_days if a[t - lag] > x[t-1] else decay_days        (tau = 0: x follows a at once)

   so the response ramps up after the lag, saturates, and decays when restrictions lift;
3. optional **habituation** (``fade_days > 0``): the response fades with the cumulative exposure
   toward its ``persistent`` share, so later lockdowns move traffic less than the first;
4. **multiplier** ``m = 1 + (uplift - 1) x``: at full sustained response the busy hour is ``uplift``
   times the normal busy hour (x2 mobile voice, x8 VPN users ... see the default scenario).

The loop in (2) runs over days (hundreds), vectorized over all regions at once.

References
----------
.. [1] T. Hale et al., "A global panel database of pandemic policies (Oxford COVID-19 Government
   Response Tracker)", Nature Human Behaviour 5, 529-538, 2021.
.. [2] A. Feldmann et al., "The Lockdown Effect: Implications of the COVID-19 Pandemic on Internet
   Traffic", ACM IMC 2020 (traffic +15-20 % within a week of the lockdown).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from surgeplan._arrays import as_float_arrays, like_input
from surgeplan.errors import SurgeplanError
from surgeplan.simulate.scenario import ShockParams


def activation(value: Any, threshold: float, saturation: float) -> Any:
    """Smoothstep activation of an indicator between ``threshold`` and ``saturation``.

    Parameters
    ----------
    value : float, array-like or pandas.Series
        Indicator value (e.g. stringency index, 0-100).
    threshold, saturation : float
        Indicator values where the response starts (0) and where it is full (1); ``saturation > threshold``.

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Activation in [0, 1], same shape as ``value``; NaN stays NaN.
    """
    if not saturation > threshold:
        raise SurgeplanError(f"saturation ({saturation}) must exceed threshold ({threshold})")
    (v,) = as_float_arrays(value)
    z = np.clip((v - threshold) / (saturation - threshold), 0.0, 1.0)
    return like_input(z * z * (3.0 - 2.0 * z), value)


def response(active: Any, lag_days: float, ramp_days: float, decay_days: float) -> np.ndarray:
    """Lagged, asymmetric first-order response to a daily activation series.

    Parameters
    ----------
    active : array-like, shape (days,) or (days, series)
        Daily activation in [0, 1], one row per consecutive day.
    lag_days : float
        Delay, days (fractional lags interpolate linearly between days; before the first day the
        first value holds).
    ramp_days, decay_days : float
        Time constants (days) while the lagged activation is above / below the response.

    Returns
    -------
    numpy.ndarray
        Response ``x`` in [0, 1], same shape as ``active``; the state starts at equilibrium with the
        first lagged value.
    """
    a = np.asarray(active, dtype=np.float64)
    if a.ndim not in (1, 2):
        raise SurgeplanError(f"active must be 1-D or 2-D (days x series), got shape {a.shape}")
    if min(lag_days, ramp_days, decay_days) < 0:
        raise SurgeplanError("lag_days, ramp_days and decay_days must be >= 0")
    squeeze = a.ndim == 1
    a2 = a[:, None] if squeeze else a
    n = a2.shape[0]
    if n == 0:
        return a.copy()
    if lag_days > 0:
        whole = int(np.floor(lag_days))
        frac = lag_days - whole
        idx = np.arange(n) - whole
        cur = a2[np.clip(idx, 0, n - 1)]
        prev = a2[np.clip(idx - 1, 0, n - 1)]
        lagged = (1.0 - frac) * cur + frac * prev
    else:
        lagged = a2
    up = 1.0 - np.exp(-1.0 / ramp_days) if ramp_days > 0 else 1.0
    down = 1.0 - np.exp(-1.0 / decay_days) if decay_days > 0 else 1.0
    out = np.empty_like(lagged)
    x = lagged[0].copy()
    for t in range(n):
        target = lagged[t]
        x = x + np.where(target > x, up, down) * (target - x)
        out[t] = x
    return out[:, 0] if squeeze else out


def habituation(x: Any, fade_days: float, persistent: float) -> np.ndarray:
    """Fade a daily response with the cumulative exposure (optional 4th step).

    ``x_eff[t] = x[t] * (persistent + (1 - persistent) * exp(-D[t] / fade_days))`` with
    ``D[t] = x[0] + ... + x[t]`` the days at full response so far: the novelty wears off, so a
    second lockdown moves traffic less than the first. ``fade_days = 0`` leaves ``x`` unchanged.

    Parameters
    ----------
    x : array-like, shape (days,) or (days, series)
        Daily response in [0, 1].
    fade_days : float
        Cumulative full-response days for the fading part to fall by 1/e (0 = off).
    persistent : float
        Share of the response that never fades, 0..1.

    Returns
    -------
    numpy.ndarray
        Faded response, same shape as ``x``.
    """
    xx = np.asarray(x, dtype=np.float64)
    if fade_days <= 0 or persistent >= 1.0:
        return xx.copy()
    dose = np.cumsum(xx, axis=0)
    return xx * (persistent + (1.0 - persistent) * np.exp(-dose / fade_days))


def multiplier(x: Any, uplift: Any) -> Any:
    """Busy-hour multiplier ``1 + (uplift - 1) x`` for a response ``x`` in [0, 1] (dimensionless)."""
    xx, u = as_float_arrays(x, uplift)
    return like_input(1.0 + (u - 1.0) * xx, x, uplift)


def region_response(
    indicators: pd.DataFrame | None,
    regions: Sequence[str],
    days: pd.DatetimeIndex,
    params: ShockParams,
) -> np.ndarray:
    """Daily shock response of each region over ``days``, from the long indicators table.

    Parameters
    ----------
    indicators : pandas.DataFrame or None
        Long table ``region, date, name, value`` (``docs/INTERFACES.md``); only rows with
        ``name == params.indicator`` are used. None = no shock anywhere.
    regions : sequence of str
        Regions (alpha-3) wanted, in output column order.
    days : pandas.DatetimeIndex
        Consecutive calendar days (naive, the region's own day).
    params : ShockParams
        Indicator name and scale, threshold / saturation, lag and time constants.

    Returns
    -------
    numpy.ndarray, shape (len(days), len(regions))
        Response ``x`` in [0, 1]. Missing days carry the last observation forward; days before a
        region's first observation, and regions without the indicator, have no shock (a warning
        names the regions without data).
    """
    n_days, n_reg = len(days), len(regions)
    if n_days == 0 or n_reg == 0:
        return np.zeros((n_days, n_reg))
    if indicators is None:
        return np.zeros((n_days, n_reg))
    missing_cols = [c for c in ("region", "date", "name", "value") if c not in indicators.columns]
    if missing_cols:
        raise SurgeplanError(
            f"indicators: missing column(s) {', '.join(missing_cols)} (need region, date, name, value)"
        )
    sel = indicators.loc[indicators["name"] == params.indicator, ["region", "date", "value"]]
    sel = sel[sel["region"].isin(list(regions))]
    absent = sorted(set(regions) - set(sel["region"].unique()))
    if absent:
        warnings.warn(
            f"no {params.indicator!r} indicator for region(s) {', '.join(map(str, absent))}: "
            "simulated without shock",
            stacklevel=3,
        )
    if sel.empty:
        return np.zeros((n_days, n_reg))
    dates = pd.to_datetime(sel["date"])
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    sel = sel.assign(date=dates.dt.normalize())
    wide = sel.pivot_table(index="date", columns="region", values="value", aggfunc="last")
    first = min(wide.index.min(), days[0])
    full = pd.date_range(first, days[-1], freq="D")
    wide = wide.reindex(index=full).ffill().reindex(columns=list(regions))
    # values outside [0, indicator_max] are data errors: clip them into the indicator's range
    value = np.clip(wide.to_numpy(dtype=np.float64), 0.0, params.indicator_max)
    act = activation(value, params.threshold, params.saturation)
    act = np.where(np.isnan(act), 0.0, act)
    x = response(act, params.lag_days, params.ramp_days, params.decay_days)
    x = habituation(x, params.fade_days, params.persistent)
    pos = full.get_indexer(days)
    if (pos < 0).any():
        raise SurgeplanError("days must be consecutive calendar days")
    return x[pos]
