"""Diurnal and weekly load profiles in the region's local time.

A profile family (``voice``, ``data``, ``office``, ``meeting``, ``contact`` in the default scenario) is
two 24-value curves (working day, weekend day: relative load in the middle of each local hour) and
seven day factors (the five working days, then the two weekend days: Monday..Sunday in most countries,
Sunday..Saturday where the weekend is Friday-Saturday, :data:`REGION_WEEK_START`). Public holidays
take the profile of the last weekend day. Between hour midpoints the curve is a periodic cubic spline,
so any cadence (1 minute to 1 day) sees the same smooth shape. The profile is scaled so that the
busiest hour of the normal week is 1: a resource's base load is its busy-hour load (ITU-T E.500).

Under a shock of strength ``x`` (0..1) with family ``flatten`` f, every day's shape moves by
``w = f x`` to the *lockdown shape* ``L(h)`` = the weekend curve rescaled to peak 1::

    p(h, d; w) = (1 - w) * day_factor[d] * curve_{weekday|weekend}(h) / peak + w * L(h)

so weekdays become flatter and weekend-like while the busy-hour level stays 1 (Feldmann et al. 2020).

Local time comes from one IANA zone per region (:data:`REGION_TIMEZONES`), with daylight saving.

References
----------
.. [1] ITU-T Rec. E.500, "Traffic intensity measurement principles".
.. [2] A. Feldmann et al., "The Lockdown Effect: Implications of the COVID-19 Pandemic on Internet
   Traffic", ACM IMC 2020.
.. [3] N. Gans, G. Koole, A. Mandelbaum, "Telephone call centers: tutorial, review, and research
   prospects", Manufacturing & Service Operations Management 5(2), 2003.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.interpolate import CubicSpline

from surgeplan._arrays import as_float_arrays, like_input
from surgeplan.regions import (  # noqa: F401 (re-exported)
    REGION_TIMEZONES,
    REGION_WEEK_START,
    holiday_dates,
    region_timezone,
    working_week_day,
)
from surgeplan.simulate.scenario import ProfileParams

_NS_PER_HOUR = 3_600_000_000_000
_NS_PER_DAY = 24 * _NS_PER_HOUR


def local_clock(ts_utc_ns: np.ndarray, tz: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local wall-clock hour, day of week and day number of UTC instants.

    Parameters
    ----------
    ts_utc_ns : numpy.ndarray of int64
        UTC instants, nanoseconds since 1970-01-01 (any shape).
    tz : str
        IANA time zone (daylight saving applied).

    Returns
    -------
    hour : numpy.ndarray of float64
        Local hour of day, 0 <= hour < 24 (fractional).
    dow : numpy.ndarray of int64
        Local day of week, Monday = 0 ... Sunday = 6.
    day : numpy.ndarray of int64
        Local calendar day as days since 1970-01-01 (local wall clock).
    """
    flat = np.asarray(ts_utc_ns, dtype=np.int64).ravel()
    if tz == "UTC":
        local = flat
    else:
        idx = pd.DatetimeIndex(flat.view("datetime64[ns]"), tz="UTC").tz_convert(tz).tz_localize(None)
        local = idx.asi8
    day = np.floor_divide(local, _NS_PER_DAY)
    hour = (local - day * _NS_PER_DAY) / _NS_PER_HOUR
    dow = (day + 3) % 7  # 1970-01-01 was a Thursday
    shape = np.shape(ts_utc_ns)
    return hour.reshape(shape), dow.reshape(shape), day.reshape(shape)


def profile_day(dow: Any, region: str) -> Any:
    """Day of the *working* week: 0..4 working days (0 = first), 5..6 weekend days (6 = the last).

    Saturday-Sunday weekends return ``dow`` unchanged; Friday-Saturday weekends (Egypt, Saudi
    Arabia, Israel ...) map Sunday to 0 and Friday, Saturday to 5, 6 (:data:`REGION_WEEK_START`).
    """
    (d,) = as_float_arrays(dow)
    return like_input(working_week_day(d, region), dow)


def holiday_days(region: str, first_day: int, last_day: int) -> np.ndarray:
    """Public holidays of ``region`` as local day numbers (days since 1970-01-01) in [first, last].

    From the ``holidays`` package (national holidays of the alpha-3 country, via
    :func:`surgeplan.regions.holiday_dates`); an unknown region has none.
    """
    y0 = int(np.datetime64(int(first_day), "D").astype(object).year)
    y1 = int(np.datetime64(int(last_day), "D").astype(object).year)
    days = holiday_dates(str(region).upper(), y0, y1).astype(np.int64)
    return days[(days >= first_day) & (days <= last_day)]


@lru_cache(maxsize=256)
def _spline(values: tuple[float, ...]) -> CubicSpline:
    x = np.arange(25, dtype=float) + 0.5
    y = np.append(np.asarray(values, dtype=float), values[0])
    return CubicSpline(x, y, bc_type="periodic")


def hourly_curve(values: tuple[float, ...] | list[float], hour: Any) -> Any:
    """Smooth daily curve through 24 hour-midpoint values (periodic cubic spline, clipped at 0).

    Parameters
    ----------
    values : sequence of 24 float
        Relative load in the middle of each local hour 0..23.
    hour : float or array-like or pandas.Series
        Local hour of day (fractional, taken modulo 24).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Relative load, same shape as ``hour``.
    """
    (h,) = as_float_arrays(hour)
    x = np.mod(h - 0.5, 24.0) + 0.5
    out = np.maximum(_spline(tuple(float(v) for v in values))(x), 0.0)
    return like_input(out, hour)


@lru_cache(maxsize=128)
def _norms(p: ProfileParams) -> tuple[float, float]:
    grid = np.arange(0.0, 24.0, 1.0 / 60.0)
    wd = float(np.max(hourly_curve(p.weekday, grid)))
    we = float(np.max(hourly_curve(p.weekend, grid)))
    f = np.asarray(p.day_factor)
    peak = max(float(np.max(f[:5])) * wd, float(np.max(f[5:])) * we)
    return peak, we


def weekly_profile(params: ProfileParams, hour: Any, dow: Any, flatten_weight: Any = 0.0) -> Any:
    """Relative load of a profile family at local ``hour`` on local day ``dow``, busy hour of the week = 1.

    Parameters
    ----------
    params : ProfileParams
        The family's curves, day factors and flatten coefficient.
    hour : float or array-like
        Local hour of day, 0..24 (fractional).
    dow : int or array-like
        Local day of week, Monday = 0 ... Sunday = 6 (5, 6 use the weekend curve).
    flatten_weight : float or array-like, default 0
        ``w`` in 0..1, the share of the lockdown shape (``flatten x shock response``; see module doc).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Relative load (dimensionless, 1 = busy hour of a normal week), broadcast shape of the inputs.
    """
    h, d, w = as_float_arrays(hour, dow, flatten_weight)
    d = d.astype(np.int64)
    peak, we_peak = _norms(params)
    we_curve = hourly_curve(params.weekend, h)
    curve = np.where(d >= 5, we_curve, hourly_curve(params.weekday, h))
    normal = np.asarray(params.day_factor)[d] * curve / peak
    out = (1.0 - w) * normal + w * we_curve / we_peak
    return like_input(out, hour, dow, flatten_weight)


def profile_parts(params: ProfileParams, hour: np.ndarray, dow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The normal-week profile and the lockdown shape at local ``hour`` / ``dow`` (numpy arrays).

    Returns ``(normal, lockdown)``, both dimensionless: ``normal`` has its weekly busy hour at 1,
    ``lockdown`` is the weekend curve rescaled to peak 1 (see :func:`weekly_profile`). For speed the
    spline is tabulated once per minute of the week and interpolated linearly (error < 1e-4 of the
    busy hour for the default curves); :func:`weekly_profile` gives the same values.
    """
    normal_table, lock_table = _tables(params)
    pos = np.asarray(hour, dtype=np.float64) * 60.0
    i = np.clip(pos.astype(np.int64), 0, 1439)
    f = pos - i
    d = np.asarray(dow).astype(np.int64)
    flat = d * 1441 + i
    nt = normal_table.ravel()
    normal = nt[flat] * (1.0 - f) + nt[flat + 1] * f
    lock = lock_table[i] * (1.0 - f) + lock_table[i + 1] * f
    return normal, lock


@lru_cache(maxsize=128)
def _tables(params: ProfileParams) -> tuple[np.ndarray, np.ndarray]:
    """Exact profile on the minute grid 0..1440 of each day of week (7 x 1441) and lockdown (1441)."""
    grid = np.arange(1441) / 60.0
    peak, we_peak = _norms(params)
    wd = hourly_curve(params.weekday, grid)
    we = hourly_curve(params.weekend, grid)
    f = np.asarray(params.day_factor)
    normal = np.stack([f[d] * (we if d >= 5 else wd) / peak for d in range(7)])
    return normal, we / we_peak
