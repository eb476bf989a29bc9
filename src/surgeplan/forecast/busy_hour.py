"""Busy hour (ITU-T E.500): the clock hour with the highest mean load per day or week.

One implementation for forecasts and measurements, used by the plan, the replay and the backtest
alike, so that what is scored is what the planner sizes.

References
----------
.. [1] ITU-T Recommendation E.500, "Traffic intensity measurement principles", 1998, sec. 2
   ("time consistent busy hour").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surgeplan import quantiles
from surgeplan.errors import SurgeplanError

__all__ = ["busy_hour", "local_period"]

_PERIODS = ("D", "W")
_HOUR_NS = 3_600 * 10**9


def local_period(ts: pd.Series | pd.DatetimeIndex, period: str = "D", tz: str = "UTC") -> pd.Series:
    """The planning period a UTC timestamp falls in: its local day (or ISO week's Monday) in ``tz``.

    Returned as naive dates (midnight of the local day), the planners' calendar.
    """
    if period not in _PERIODS:
        raise SurgeplanError(f"period must be 'D' (day) or 'W' (ISO week), got {period!r}")
    idx = (
        pd.DatetimeIndex(ts)
        if isinstance(ts, pd.DatetimeIndex)
        else pd.DatetimeIndex(pd.to_datetime(ts, utc=True))
    )
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    try:
        local = idx.tz_convert(tz).tz_localize(None)
    except (KeyError, ValueError) as exc:  # zoneinfo and pytz errors subclass these
        raise SurgeplanError(f"unknown time zone {tz!r} ({exc})") from None
    day = local.normalize()
    if period == "W":
        day = day - pd.to_timedelta(day.weekday, unit="D")
    return pd.Series(day, index=ts.index if isinstance(ts, pd.Series) else None)


def busy_hour(
    frame: pd.DataFrame, period: str = "D", *, tz: str = "UTC", value: str | None = None
) -> pd.DataFrame:
    """Busy hour per resource and period of a forecast or of measurements.

    Parameters
    ----------
    frame : DataFrame
        A forecast ``resource_id, ts, mean, p..`` (:meth:`ShockForecaster.predict`) or measurements
        ``resource_id, ts, load``; ``ts`` in UTC (naive timestamps are read as UTC).
    period : {'D', 'W'}
        Local day, or ISO week starting Monday 00:00 local time.
    tz : str, default ``'UTC'``
        IANA time zone of the planner's day (``Europe/Paris`` ...).
    value : str, optional
        The column whose hourly mean picks the busy hour; default ``'mean'`` for forecasts,
        ``'load'`` for measurements.

    Returns
    -------
    DataFrame ``resource_id, period, busy_hour, <value>, p..``: ``period`` is the naive local date
    of the day (or week's Monday); ``busy_hour`` the UTC start of the clock hour whose mean of
    ``value`` (average over the hour when the cadence is finer) is highest in the period. The
    other columns (``mean``, ``load``, quantiles) are their hourly averages at that hour, in the
    load's unit. Ties go to the earliest hour. Sorted by resource, then period.
    """
    if value is None:
        value = "mean" if "mean" in frame.columns else "load"
    need = {"resource_id", "ts", value}
    if not need.issubset(frame.columns):
        raise SurgeplanError(f"busy hour: needs columns {sorted(need)}, has {list(frame.columns)}")
    value_cols = [value] + [
        c for c in frame.columns if c != value and (c in ("mean", "load") or quantiles.is_column(c))
    ]
    # int64 nanoseconds throughout: tz-aware pandas arrays turned to numpy become object arrays
    ts_ns = pd.DatetimeIndex(pd.to_datetime(frame["ts"], utc=True)).asi8
    hour_ns = ts_ns - ts_ns % _HOUR_NS
    rid_codes, rid_uniques = pd.factorize(frame["resource_id"], sort=True)
    values = {c: frame[c].to_numpy(np.float64) for c in value_cols}
    if (hour_ns != ts_ns).any() or pd.Index(
        rid_codes.astype(np.int64) * (1 << 40) + hour_ns // _HOUR_NS
    ).has_duplicates:
        key = pd.MultiIndex.from_arrays([rid_codes, hour_ns])
        hourly = pd.DataFrame(values, index=key).groupby(level=[0, 1], sort=False).mean()
        rid_codes = hourly.index.get_level_values(0).to_numpy()
        hour_ns = hourly.index.get_level_values(1).to_numpy()
        values = {c: hourly[c].to_numpy() for c in value_cols}
    ok = ~np.isnan(values[value])
    rid_codes, hour_ns = rid_codes[ok], hour_ns[ok]
    values = {c: v[ok] for c, v in values.items()}
    hour_utc = pd.DatetimeIndex(hour_ns, tz="UTC")
    period_ns = pd.DatetimeIndex(local_period(hour_utc, period, tz)).asi8
    # Sort by resource, period, then value descending and hour ascending: the first row of each
    # (resource, period) is its busy hour, the earliest one on ties.
    order = np.lexsort((hour_ns, -values[value], period_ns, rid_codes))
    r, p = rid_codes[order], period_ns[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (p[1:] != p[:-1])
    pick = order[first]
    out = pd.DataFrame(
        {
            "resource_id": np.asarray(rid_uniques)[rid_codes[pick]],
            "period": pd.DatetimeIndex(period_ns[pick]),
            "busy_hour": pd.DatetimeIndex(hour_ns[pick], tz="UTC"),
            **{c: values[c][pick] for c in value_cols},
        }
    )
    return out
