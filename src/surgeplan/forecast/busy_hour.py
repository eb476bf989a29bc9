"""Busy hour of a forecast (ITU-T E.500): the clock hour with the highest mean load per period.

References
----------
.. [1] ITU-T Recommendation E.500, "Traffic intensity measurement principles", 1998, sec. 2
   ("time consistent busy hour").
"""

from __future__ import annotations

import pandas as pd

from surgeplan.errors import SurgeplanError

__all__ = ["busy_hour"]


def busy_hour(forecasts: pd.DataFrame, period: str = "D") -> pd.DataFrame:
    """Busy hour per resource and period from a forecast table.

    Parameters
    ----------
    forecasts : DataFrame
        ``resource_id, ts, mean, p..`` as returned by :meth:`ShockForecaster.predict` (``ts`` UTC).
    period : {'D', 'W'}
        UTC day, or ISO week (starting Monday 00:00 UTC).

    Returns
    -------
    DataFrame ``resource_id, period, busy_hour, mean, p..``: ``busy_hour`` is the UTC start of
    the clock hour whose mean load (average of the ``mean`` column over the hour when the cadence
    is finer than an hour) is highest in the period; the quantile columns are the hourly averages
    of the quantile columns at that hour (in the load's unit). Ties go to the earliest hour.
    """
    if period not in ("D", "W"):
        raise SurgeplanError(f"period must be 'D' or 'W', got {period!r}")
    need = {"resource_id", "ts", "mean"}
    if not need.issubset(forecasts.columns):
        raise SurgeplanError(f"forecasts: needs columns {sorted(need)}, has {list(forecasts.columns)}")
    value_cols = ["mean"] + [
        c for c in forecasts.columns if c.startswith("p") and c[1:].replace(".", "", 1).isdigit()
    ]
    ts = pd.to_datetime(forecasts["ts"], utc=True)
    hourly = (
        forecasts[["resource_id", *value_cols]]
        .assign(hour=ts.dt.floor("h"))
        .groupby(["resource_id", "hour"], sort=True)[value_cols]
        .mean()
        .reset_index()
    )
    day = hourly["hour"].dt.floor("D")
    if period == "D":
        hourly["period"] = day
    else:
        hourly["period"] = day - pd.to_timedelta(day.dt.weekday, unit="D")
    hourly = hourly[hourly["mean"].notna()]
    idx = hourly.groupby(["resource_id", "period"], sort=True)["mean"].idxmax()
    out = hourly.loc[idx.to_numpy()].rename(columns={"hour": "busy_hour"})
    return out[["resource_id", "period", "busy_hour", *value_cols]].reset_index(drop=True)
