"""Input tables, calendars and regression features of the forecast layer.

Everything here is vectorized over resources: a *group* of resources that share a cadence and a
time zone is held as 2-D arrays ``(n_resources, n_steps)`` on the group's local wall-clock grid,
so that "same half-hour yesterday" is always exactly ``steps_per_day`` columns back, also across
daylight-saving changes (the non-existent spring hour is a gap, the repeated autumn hour is
averaged).

References
----------
.. [1] ITU-T Recommendation E.500, "Traffic intensity measurement principles", 1998.
.. [2] D. Obst, J. de Vilmarest, Y. Goude, "Adaptive Methods for Short-Term Electricity Load
   Forecasting During COVID-19 Lockdown in France", IEEE Trans. Power Systems 36(5), 2021.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd

from surgeplan import quantiles
from surgeplan import regions as _regions
from surgeplan.errors import SurgeplanError, ValidationError

__all__ = [
    "day_types",
    "ewma",
    "infer_cadence",
    "normalize_covariates",
    "normalize_indicators",
    "normalize_measurements",
    "parse_quantile_column",
    "quantile_column",
    "region_holidays",
    "region_timezone",
    "unique_ids",
    "working_days",
    "working_week_day",
]

_NIXTLA = {"unique_id": "resource_id", "ds": "ts", "y": "load"}


def quantile_column(q: float) -> str:
    """Name of the forecast column holding quantile ``q`` (see :func:`surgeplan.quantiles.column`)."""
    return quantiles.column(q)


def parse_quantile_column(name: str) -> float:
    """Inverse of :func:`quantile_column` (``'p97.5' -> 0.975``)."""
    return quantiles.parse(name)


def _utc(ts: pd.Series, what: str) -> pd.Series:
    if ts.dtype != _UTC_NS:  # a UTC column in nanoseconds is taken as it is: no copy of it
        ts = pd.to_datetime(ts, utc=True, errors="coerce")
    if ts.isna().any():
        row = int(np.flatnonzero(ts.isna().to_numpy())[0]) + 1
        raise ValidationError("unparseable timestamp", file=what, row=row, column="ts")
    return ts.astype(_UTC_NS, copy=False)


_UTC_NS = pd.DatetimeTZDtype("ns", "UTC")


def _id_codes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``ids.astype(str)`` as codes into its distinct strings (an object array): one string object
    per resource, shared by its rows, not one per row (a categorical or a database read would
    otherwise give millions of copies of the same few thousand strings). The codes are int32
    (4 bytes a row: the driver's largest table at scale)."""
    codes, uniques = pd.factorize(ids, use_na_sentinel=False)
    as_str = pd.Series(uniques, dtype=object).astype(str).to_numpy()
    merged, names = pd.factorize(as_str)  # distinct values that print alike (1 and "1") are one id
    return merged.astype(np.int32)[codes], np.asarray(names, dtype=object)


def normalize_measurements(
    frame: pd.DataFrame, what: str = "measurements", before: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Validate a measurements table and return ``resource_id, ts, load`` (UTC, float64).

    Accepts the Nixtla names ``unique_id, ds, y`` too. Rows with a missing load are dropped
    (they are gaps); duplicate ``(resource_id, ts)`` rows are averaged. ``before`` (UTC): only
    the rows before it, dropped before the sort (a fit's cutoff: no second copy of the table).
    """
    if not isinstance(frame, pd.DataFrame):
        raise SurgeplanError(f"{what} must be a pandas DataFrame")
    rename = {k: v for k, v in _NIXTLA.items() if k in frame.columns and v not in frame.columns}
    df = frame.rename(columns=rename, copy=False) if rename else frame
    for col in ("resource_id", "ts", "load"):
        if col not in df.columns:
            raise ValidationError(f"missing column (have {list(frame.columns)})", file=what, column=col)
    codes, ids = _id_codes(df["resource_id"])
    ts = _utc(df["ts"], what).array
    load = pd.to_numeric(df["load"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(load) & ~np.isnan(load)
    if bad.any():
        raise ValidationError(
            "load is not finite", file=what, row=int(np.flatnonzero(bad)[0]) + 1, column="load"
        )
    del bad
    kept = ~np.isnan(load)
    if before is not None:
        kept &= ts.asi8 < pd.Timestamp(before).value
    # sorted by (resource_id, ts) through integer keys: the ids' ranks and the epoch nanoseconds
    # (a string sort of millions of rows was the driver's largest serial step of a Dask job);
    # rows not kept get the key past every rank, so they sort last and are cut off: the order of
    # the kept rows without a filtered copy of the table
    rank = np.empty(len(ids), np.int32)
    rank[np.argsort(ids.astype(str), kind="stable")] = np.arange(len(ids))
    key = np.where(kept, rank[codes], np.int32(len(ids)))
    m = int(np.count_nonzero(kept))
    del kept
    ns = ts.asi8
    order = np.argsort(key, kind="stable")[:m]
    in_time, dup = _runs_check(key, ns, order)
    if not in_time:  # some resource's rows out of time order: the full (key, time) sort
        order = order[np.lexsort((ns[order], key[order]))]
        in_time, dup = _runs_check(key, ns, order)
    del key
    if dup:
        out = pd.DataFrame({"resource_id": ids[codes[order]], "ts": ts[order], "load": load[order]})
        out = out.groupby(["resource_id", "ts"], as_index=False, sort=False)["load"].mean()
        return out.sort_values(["resource_id", "ts"], kind="stable").reset_index(drop=True)
    # the columns taken in sorted order at once: one id string object per resource, shared; the
    # frame made of them without a copy, and the ids' column declared object (pandas would
    # otherwise scan it for a type: ~42 bytes a row of temporaries at the driver's peak)
    rid = pd.Series(ids[codes[order]], dtype=object, copy=False)
    return pd.DataFrame({"resource_id": rid, "ts": ts[order], "load": load[order]}, copy=False)


#: rows per slice when a check walks the whole measurements table (bounded temporaries)
_SLICE_ROWS = 1 << 22


def _runs_check(key: np.ndarray, ns: np.ndarray, order: np.ndarray) -> tuple[bool, bool]:
    """Whether ``key[order]`` rows of one key come in increasing time (``ns[order]``), and whether
    two rows share a key and a time: slice by slice, each slice overlapping the last by a row, so
    no full-length copy of the sorted keys and times is made."""
    in_time, dup = True, False
    for a in range(0, max(len(order) - 1, 0), _SLICE_ROWS):
        o = order[a : a + _SLICE_ROWS + 1]
        k, t = key[o], ns[o]
        same = k[1:] == k[:-1]
        in_time = in_time and not (same & (t[1:] < t[:-1])).any()
        dup = dup or bool((same & (t[1:] == t[:-1])).any())
    return in_time, dup


def normalize_covariates(frame: pd.DataFrame | None, what: str = "covariates") -> pd.DataFrame:
    """Validate a covariates table: ``resource_id`` or ``region``, ``ts, name, value``.

    Returns a frame with columns ``key_type`` (``'resource_id'`` or ``'region'``), ``key``,
    ``ts`` (UTC), ``name``, ``value``.
    """
    cols = ["key_type", "key", "ts", "name", "value"]
    if frame is None or len(frame) == 0:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols}).astype(
            {"ts": "datetime64[ns, UTC]", "value": "float64"}
        )
    for col in ("ts", "name", "value"):
        if col not in frame.columns:
            raise ValidationError(f"missing column (have {list(frame.columns)})", file=what, column=col)
    if "resource_id" in frame.columns:
        key_type = np.where(frame["resource_id"].notna(), "resource_id", "region")
        key = np.where(
            frame["resource_id"].notna(),
            frame["resource_id"].astype(str),
            frame["region"].astype(str) if "region" in frame.columns else "",
        )
    elif "region" in frame.columns:
        key_type = np.full(len(frame), "region")
        key = frame["region"].astype(str).to_numpy()
    else:
        raise ValidationError("needs a 'resource_id' or a 'region' column", file=what, column="resource_id")
    out = pd.DataFrame(
        {
            "key_type": key_type,
            "key": key,
            "ts": _utc(frame["ts"], what).array,
            "name": frame["name"].astype(str).to_numpy(),
            "value": pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=np.float64),
        }
    )
    return out.dropna(subset=["value"]).reset_index(drop=True)


def normalize_indicators(frame: pd.DataFrame | None, what: str = "indicators") -> pd.DataFrame:
    """Validate an indicators table ``region, date, name, value`` (``date`` a naive calendar day)."""
    cols = ["region", "date", "name", "value"]
    if frame is None or len(frame) == 0:
        return pd.DataFrame({"region": [], "date": pd.to_datetime([]), "name": [], "value": []})
    for col in cols:
        if col not in frame.columns:
            raise ValidationError(f"missing column (have {list(frame.columns)})", file=what, column=col)
    date = pd.to_datetime(frame["date"], errors="coerce")
    if getattr(date.dt, "tz", None) is not None:
        date = date.dt.tz_localize(None)
    if date.isna().any():
        row = int(np.flatnonzero(date.isna().to_numpy())[0]) + 1
        raise ValidationError("unparseable date", file=what, row=row, column="date")
    return (
        pd.DataFrame(
            {
                "region": frame["region"].astype(str).to_numpy(),
                "date": date.dt.normalize().to_numpy(),
                "name": frame["name"].astype(str).to_numpy(),
                "value": pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=np.float64),
            }
        )
        .dropna(subset=["value"])
        .reset_index(drop=True)
    )


def unique_ids(ids: pd.Series) -> np.ndarray:
    """``pd.unique(ids)`` (order of first appearance), from the first row of each run of equal
    values: a table grouped by resource has one run per resource, and no hash table is built
    over its millions of rows (~13 bytes a row)."""
    v = ids.to_numpy()
    return pd.unique(v[np.flatnonzero(np.r_[len(v) > 0, v[1:] != v[:-1]])])


def infer_cadence(measurements: pd.DataFrame) -> pd.Series:
    """Cadence of each resource: the median spacing of its timestamps, in seconds (int).

    Snapped to the nearest divisor of one day (1 min ... 1 day) so a day holds a whole number of
    steps; a series with a single row is given one hour.
    """
    ts_ns = pd.DatetimeIndex(measurements["ts"]).asi8  # a view of the column
    rid = measurements["resource_id"].to_numpy()
    same = rid[1:] == rid[:-1]
    start = np.flatnonzero(np.r_[len(rid) > 0, ~same])
    ids = pd.unique(rid[start])
    if len(ids) == len(start):  # each resource's rows together: group by run, not by string
        med = pd.Series(_run_medians(ts_ns, start), index=pd.Index(ids, name="resource_id"))
    else:
        d = np.diff(ts_ns // 10**9)
        frame = pd.DataFrame({"resource_id": rid[1:][same], "d": d[same]})
        med = frame.groupby("resource_id")["d"].median()
        ids = pd.unique(rid)
    med = med.reindex(ids).fillna(3600.0)
    divisors = np.array([s for s in range(60, 86401, 60) if 86400 % s == 0], dtype=np.float64)
    snapped = divisors[
        np.abs(np.log(np.clip(med.to_numpy(), 60, 86400))[:, None] - np.log(divisors)[None, :]).argmin(1)
    ]
    return pd.Series(snapped.astype(np.int64), index=med.index, name="cadence_s")


def _run_medians(ts_ns: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Median spacing (s) of the times of each run of rows (runs begin at ``start``; NaN for a
    run of one row), taken over slices of whole runs: a run's median does not depend on the
    others, so the temporaries stay a slice long, not as long as the table."""
    bounds = np.r_[start, len(ts_ns)]
    out = np.full(len(start), np.nan)
    i = 0
    while i < len(start):
        j = max(i + 1, int(np.searchsorted(bounds, bounds[i] + _SLICE_ROWS, side="right")) - 1)
        a, b = bounds[i], bounds[j]
        sec = ts_ns[a:b] // 10**9
        run = np.repeat(np.arange(j - i), np.diff(bounds[i : j + 1]))
        inner = run[1:] == run[:-1]
        med = pd.Series(np.diff(sec)[inner]).groupby(run[1:][inner]).median()
        out[i + med.index.to_numpy()] = med.to_numpy()
        i = j
    return out


@lru_cache(maxsize=512)
def region_timezone(region: str | None) -> str:
    """IANA time zone of an ISO 3166 alpha-3 region (:func:`surgeplan.regions.region_timezone`)."""
    return _regions.region_timezone(region)


def _holiday_dates(region: str, y0: int, y1: int) -> np.ndarray:
    return _regions.holiday_dates(region, y0, y1)


def region_holidays(region: str | None, days: np.ndarray) -> np.ndarray:
    """Boolean mask: which of ``days`` (``datetime64[D]``) are public holidays in ``region``.

    Uses the ``holidays`` package (``holidays.country_holidays`` accepts alpha-3 codes).
    """
    if region is None or region in ("", "nan", "None") or len(days) == 0:
        return np.zeros(len(days), dtype=bool)
    y = days.astype("datetime64[Y]").astype(int) + 1970
    hd = _holiday_dates(region, int(y.min()), int(y.max()))
    return np.isin(days, hd)


def working_week_day(region: str | None, days: np.ndarray) -> np.ndarray:
    """Day of the region's working week for ``days`` (``datetime64[D]``): 0-4 working days, 5-6
    weekend, 6 the last (:func:`surgeplan.regions.working_week_day`)."""
    dow = (np.asarray(days).astype("datetime64[D]").astype(np.int64) + 3) % 7  # Monday = 0
    return _regions.working_week_day(dow, region)


def day_types(regions: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(len(regions), len(days)) day of each region's working week (0-4 working, 5-6 weekend) and
    whether it is a public holiday there; ``days`` are ``datetime64[D]``."""
    regions = np.asarray(regions)
    wd = np.zeros((len(regions), len(days)), np.int64)
    hol = np.zeros((len(regions), len(days)), bool)
    for region in pd.unique(regions):  # regions, few
        rr = regions == region
        hol[rr] = region_holidays(region or None, days)[None, :]
        wd[rr] = working_week_day(region or None, days)[None, :]
    return wd, hol


def working_days(regions: np.ndarray, days: np.ndarray) -> np.ndarray:
    """(len(regions), len(days)) bool: a working day of the region (in its working week, not a
    public holiday)."""
    wd, hol = day_types(regions, days)
    return (wd < 5) & ~hol


def ewma(x: np.ndarray, alpha: float, axis: int = -1) -> np.ndarray:
    """Exponentially weighted moving average along ``axis`` (NaN-free input), started at x[0].

    ``s_t = (1 - alpha) s_{t-1} + alpha x_t``; computed with :func:`scipy.signal.lfilter` for
    all rows at once.
    """
    from scipy.signal import lfilter  # lazy: scipy.signal is slow to import

    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    if x.shape[-1] == 0:
        return np.moveaxis(x, -1, axis)
    x0 = x[..., :1]
    zi = (1.0 - alpha) * x0
    out, _ = lfilter([alpha], [1.0, -(1.0 - alpha)], x, axis=-1, zi=zi)
    return np.moveaxis(out, -1, axis)


def steps_per_day(cadence_s: int) -> int:
    """Whole steps per day at a cadence in seconds (1 for a daily or longer cadence)."""
    return max(1, 86400 // int(cadence_s))


def n_blocks(p: int, max_blocks: int = 48) -> int:
    """Number of intra-day regression blocks for ``p`` steps a day (a divisor of ``p``)."""
    return p if p <= max_blocks else math.gcd(p, max_blocks)
