"""Time in a backtest: durations, forecast origins, local days, the quantiles always scored."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError

__all__ = ["COVERAGE_QUANTILES", "parse_duration", "rolling_origins"]

#: Quantiles always produced internally: p10/p90 (80% interval), p1/p99 (98% interval), p50.
COVERAGE_QUANTILES: tuple[float, ...] = (0.01, 0.1, 0.5, 0.9, 0.99)

_DAY = pd.Timedelta(days=1)


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
            raise SurgeplanError(
                f"{name}: cannot read {text!r} as a duration (e.g. 1d, 14d, 2w, 12h)"
            ) from None
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
