"""Future restriction indicators of a region that has just crossed its lockdown threshold.

When a region crosses its lockdown threshold, its measures rarely stay where they were on that
day: in March 2020 the United Arab Emirates crossed at stringency 45 (stay-at-home ordered) and
stood at 84 five days later; Italy went from 70 to 82 within a week; the United Kingdom from 62
to 80. Holding the last value ("held_last") then forecasts only the part of the shock that the
first day's measures explain, while the planners of 2020 watched the countries hit earlier and
expected the same path.

:func:`project_after_crossing` does that: for a region whose first lockdown (by
:class:`surgeplan.signals.LockdownRule`) started within the last ``window_days``, the future value
of each restriction indicator ``d`` days after the crossing is the median, over the regions that
crossed earlier, of their own value ``d`` days after their crossing (an analogue forecast of the
policy path), never below the region's last observed value nor below an earlier projected day
(easing is announced, not projected).
Only indicators known before ``asof`` are used, so it is usable in a backtest.

References
----------
.. [1] T. Hale et al., "A global panel database of pandemic policies (Oxford COVID-19 Government
   Response Tracker)", Nature Human Behaviour 5, 529-538, 2021.
.. [2] E. N. Lorenz, "Atmospheric predictability as revealed by naturally occurring analogues",
   J. Atmospheric Sciences 26(4), 636-646, 1969 (analogue forecasting).
.. [3] E. S. Gardner, E. McKenzie, "Forecasting trends in time series", Management Science 31(10),
   1237-1246, 1985 (damped trend).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.signals import LockdownRule, ensure_indicators, first_lockdown
from surgeplan.signals.generic import to_day

__all__ = [
    "RESTRICTION_INDICATORS",
    "TREND_DAMPING",
    "TREND_WINDOW_DAYS",
    "project_after_crossing",
    "project_trend",
]

#: indicators projected (the ones the shock driver reads, :func:`surgeplan.forecast.shock.driver`)
RESTRICTION_INDICATORS = ("stringency_index", "stay_home_required")
#: days of history the growth rate of an epidemic indicator is fitted on (the 7-day incidence's
#: own window twice: one week's noise does not set the trend)
TREND_WINDOW_DAYS = 14
#: daily damping of that growth rate [3]: the growth of a wave slows (restrictions, behaviour),
#: and a damped trend adds at most ``r / (1 - 0.9) = 10 r`` in log (x7 at a 3.5-day doubling)
TREND_DAMPING = 0.9
#: days over which the analogues' last growth rate is read, to go on beyond the days they cover
_ANALOGUE_RATE_DAYS = 7


def project_after_crossing(
    indicators: pd.DataFrame,
    asof: pd.Timestamp | str,
    *,
    window_days: int = 28,
    horizon_days: int = 190,
    min_regions: int = 3,
    rule: LockdownRule | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Projected restriction indicators of the regions that crossed their lockdown threshold recently.

    Parameters
    ----------
    indicators : DataFrame
        Long table ``region, date, name, value`` (dates naive, daily); rows dated ``asof`` or
        later are ignored.
    asof : date-like
        First day not known (the forecast origin's day).
    window_days : int
        Regions whose first lockdown started more than this many days before their last observed
        day keep their last value (the path of earlier regions says little about month two).
    horizon_days : int
        Days projected after each region's last observed day.
    min_regions : int
        Earlier regions needed at a given day after crossing for their median to count; beyond
        the days they cover, the last median is held.
    rule : LockdownRule, optional
        Lockdown threshold (default :class:`surgeplan.signals.LockdownRule`).

    Returns
    -------
    (DataFrame ``region, date, name, value``, {region: 'projected'}): rows only for projected
    regions and for dates after their last observed day; empty when nothing is projected.
    """
    empty = pd.DataFrame(
        {
            "region": pd.Series(dtype=object),
            "date": pd.Series(dtype="datetime64[ns]"),
            "name": pd.Series(dtype=object),
            "value": pd.Series(dtype=float),
        }
    )
    if window_days < 0 or horizon_days < 1 or min_regions < 1:
        raise SurgeplanError(
            f"window_days >= 0, horizon_days >= 1 and min_regions >= 1 are needed, got "
            f"{window_days}, {horizon_days}, {min_regions}"
        )
    asof = to_day(asof, "asof")
    if asof is None:
        raise SurgeplanError("asof: a date is needed (the first day not known)")
    if indicators is None or indicators.empty:
        return empty, {}
    ind = ensure_indicators(indicators, "indicators")
    ind = ind[ind["date"] < asof]
    try:
        starts = first_lockdown(ind, rule)
    except SurgeplanError:  # none of the indicators the rule needs: nothing to project
        return empty, {}
    if len(starts) <= min_regions:
        return empty, {}
    sub = ind[ind["name"].isin(RESTRICTION_INDICATORS)]
    if sub.empty:
        return empty, {}
    wide = sub.pivot_table(index="date", columns=["name", "region"], values="value", aggfunc="last")
    full = pd.date_range(pd.Timestamp(wide.index.min()), pd.Timestamp(wide.index.max()), freq="D")
    regions = list(starts.index)
    # (days, regions) matrix per indicator on a gap-free daily grid
    mats = {
        name: (
            wide[name].reindex(index=full, columns=regions).to_numpy(float)
            if name in wide.columns.levels[0]
            else np.full((len(full), len(regions)), np.nan)
        )
        for name in RESTRICTION_INDICATORS
    }
    cross = np.asarray((pd.DatetimeIndex(starts.to_numpy()) - full[0]).days, dtype=np.int64)
    frames, how = [], {}
    for r, region in enumerate(regions):  # regions, a few dozen
        earlier = np.flatnonzero(cross < cross[r])
        if len(earlier) < min_regions:
            continue
        have = [n for n in RESTRICTION_INDICATORS if np.isfinite(mats[n][:, r]).any()]
        if not have:
            continue
        last_pos = max(int(np.flatnonzero(np.isfinite(mats[n][:, r]))[-1]) for n in have)
        k_now = last_pos - int(cross[r])
        if k_now < 0 or k_now > window_days:
            continue
        k = np.arange(k_now + 1, k_now + 1 + horizon_days)
        values = {name: _median_path(mats[name], r, earlier, cross, k, min_regions) for name in have}
        if not any(np.any(v > _current(mats[name][:, r])) for name, v in values.items()):
            continue
        dates = full[last_pos] + pd.to_timedelta(k - k_now, unit="D")
        # every indicator the region has is written (a projected one and a held one): the driver
        # reads the scenario's rows only, a missing indicator would count as no measure
        for name, value in values.items():
            frames.append(pd.DataFrame({"region": region, "date": dates, "name": name, "value": value}))
        how[str(region)] = "projected"
    if not frames:
        return empty, {}
    return pd.concat(frames, ignore_index=True), how


def restricted_paths(
    indicators: pd.DataFrame,
    asof: pd.Timestamp,
    starts: Mapping[str, tuple[pd.Timestamp, pd.Timestamp | None]],
    names: Sequence[str],
    *,
    horizon_days: int = 400,
    rule: LockdownRule | None = None,
) -> pd.DataFrame:
    """Indicators ``names`` of regions were they to lock down: ``starts[region] = (first day, end
    or None)``. Day ``k`` of a lockdown takes the median of the regions that locked down before
    ``asof`` (:func:`surgeplan.signals.first_lockdown`) ``k`` days after their start, the last
    median held beyond the days they cover; no rows from the end on (the known values are held).

    A lockdown given as a start day says what the stringency index and the stay-at-home level
    become (:func:`surgeplan.forecast.shock.scenario_indicators`), not what a flag or a policy
    indicator of another name that a learned rule reads does (``stay_home_general``,
    ``workplace_closing``): held at their calm values, such a rule never turned on.

    Returns a long table ``region, date, name, value`` (empty when no other region locked down
    before ``asof`` or none of ``names`` is in the table).
    """
    cols = ["region", "date", "name", "value"]
    ind = indicators[(indicators["date"] < asof) & indicators["name"].isin(names)]
    if ind.empty or not starts:
        return pd.DataFrame(columns=cols)
    try:
        before = first_lockdown(indicators[indicators["date"] < asof], rule)
    except SurgeplanError:  # none of the indicators the rule needs
        return pd.DataFrame(columns=cols)
    before = before[~before.index.isin(list(starts))]
    if before.empty:
        return pd.DataFrame(columns=cols)
    wide = ind.pivot_table(index="date", columns=["name", "region"], values="value", aggfunc="last")
    grid = pd.date_range(pd.Timestamp(wide.index.min()), asof - pd.Timedelta(days=1), freq="D")
    cross = np.asarray((pd.DatetimeIndex(before.to_numpy()) - grid[0]).days, dtype=np.int64)
    pos = cross[:, None] + np.arange(horizon_days)[None, :]
    inside = (pos >= 0) & (pos < len(grid))
    frames = []
    for name in sorted(set(ind["name"])):  # a few policy indicators
        mat = wide[name].reindex(index=grid, columns=list(before.index)).ffill().to_numpy(float)
        paths = np.where(inside, mat[np.clip(pos, 0, len(grid) - 1), np.arange(len(cross))[:, None]], np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # days no earlier region covers
            med = pd.Series(np.nanmedian(paths, axis=0)).ffill().to_numpy()
        if not np.isfinite(med).any():
            continue
        med = np.nan_to_num(med, nan=float(med[np.isfinite(med)][0]))
        for region, (first, end) in starts.items():
            dates = pd.date_range(pd.Timestamp(first).normalize(), periods=horizon_days, freq="D")
            keep = np.asarray(dates < pd.Timestamp(end).normalize()) if end is not None else slice(None)
            frames.append(
                pd.DataFrame({"region": str(region), "date": dates[keep], "name": name, "value": med[keep]})
            )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def _current(col: np.ndarray) -> float:
    """Last observed value of a region's indicator column."""
    return float(col[np.flatnonzero(np.isfinite(col))[-1]])


def _median_path(
    mat: np.ndarray, r: int, earlier: np.ndarray, cross: np.ndarray, k: np.ndarray, min_regions: int
) -> np.ndarray:
    """Region ``r``'s projected values of one indicator (``mat``: days x regions) on days ``k``
    after its crossing: the median of the ``earlier`` regions' values ``k`` days after theirs
    (where ``min_regions`` of them cover the day), never below the region's last value.

    Beyond the days they cover, the last median is held; the path never eases (the set of regions
    covering a day shrinks with the day, and easing is announced, not projected).
    """
    current = _current(mat[:, r])
    pos = cross[earlier][:, None] + k[None, :]  # (earlier regions, days) on the grid
    inside = pos < len(mat)
    paths = np.where(inside, mat[np.minimum(pos, len(mat) - 1), earlier[:, None]], np.nan)
    cnt = np.isfinite(paths).sum(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # days no earlier region covers
        med = np.nanmedian(paths, axis=0)
    med[cnt < min_regions] = np.nan
    med = pd.Series(med).ffill().cummax().to_numpy()
    return np.fmax(np.nan_to_num(med, nan=current), current)


def project_trend(
    indicators: pd.DataFrame,
    asof: pd.Timestamp | str,
    names: Mapping[str, float],
    *,
    window_days: int = TREND_WINDOW_DAYS,
    damping: float = TREND_DAMPING,
    horizon_days: int = 190,
    min_regions: int = 3,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Projected values of epidemic indicators (case incidence, running totals) that are rising.

    ``names``: indicator -> level below which a region is projected (at or above it, what the
    forecast reads does not change: held).

    Unlike a restriction, which is announced, an incidence keeps moving after the last day known:
    held at its last value, a region still below the level at which the load responded never
    crosses it, and the forecast misses the response entirely. For each indicator of ``names`` and
    each region whose log-linear trend over its last ``window_days`` positive values (least
    squares) rises:

    * when at least ``min_regions`` other regions had passed the region's last value ``v`` before
      ``asof``, the value ``k`` days on is ``v`` times the median, over those regions, of their
      own growth ``k`` days after they passed ``v`` (the analogue forecast of the wave [2], as
      the planners of 2020 read a country's coming weeks from the countries ahead of it), for the
      days at least ``min_regions`` of them cover, then held;
    * otherwise the damped trend [3]: ``v x exp(r (damping - damping^(k+1)) / (1 - damping))``,
      ``r`` the fitted log growth per day.

    Never above the highest value any region had reached before ``asof``. Falling or flat
    indicators are held (no row). Only rows dated before ``asof`` are read.

    Returns
    -------
    (DataFrame ``region, date, name, value``, {region: 'projected'}): rows for dates after each
    projected region's last known day only.
    """
    asof = to_day(asof, "asof")
    empty = pd.DataFrame(
        {
            "region": pd.Series(dtype=object),
            "date": pd.Series(dtype="datetime64[ns]"),
            "name": pd.Series(dtype=object),
            "value": pd.Series(dtype=float),
        }
    )
    if indicators is None or indicators.empty or not names or asof is None:
        return empty, {}
    if not 0.0 <= damping < 1.0 or window_days < 3 or min_regions < 1:
        raise SurgeplanError(
            f"damping in [0, 1), window_days >= 3 and min_regions >= 1 are needed, got {damping}, "
            f"{window_days}, {min_regions}"
        )
    ind = indicators[(indicators["date"] < asof) & indicators["name"].isin(list(names))]
    frames, how = [], {}
    k = np.arange(1, horizon_days + 1, dtype=float)
    growth = _damped_sum(k, damping)
    for name, sub in ind.groupby("name"):  # few indicators
        top = float(sub["value"].max())
        wide = sub.pivot_table(index="date", columns="region", values="value", aggfunc="last")
        wide = wide.reindex(pd.date_range(wide.index.min(), wide.index.max(), freq="D"))
        logs = np.log(np.where(wide.to_numpy(float) > 0, wide.to_numpy(float), np.nan))
        for r, region in enumerate(wide.columns):  # regions, a few dozen
            col = wide[region].dropna()
            last_day = pd.Timestamp(col.index[-1]) if len(col) else None
            recent = (
                col[(col.index > last_day - pd.Timedelta(days=window_days)) & (col > 0)] if len(col) else col
            )
            if len(recent) < 3:
                continue
            t = (recent.index - last_day).days.to_numpy(float)
            rate = float(np.polyfit(t, np.log(recent.to_numpy(float)), 1)[0])
            last = float(col.iloc[-1])
            if not rate > 0 or not last > 0 or last >= min(top, names[name]):
                continue
            path = _analogue_growth(logs, r, np.log(last), horizon_days, min_regions, damping)
            value = np.minimum(last * np.exp(rate * growth if path is None else path), top)
            dates = last_day + pd.to_timedelta(k, unit="D")
            frames.append(pd.DataFrame({"region": region, "date": dates, "name": name, "value": value}))
            how[str(region)] = "projected"
    if not frames:
        return empty, {}
    return pd.concat(frames, ignore_index=True), how


def _analogue_growth(
    logs: np.ndarray, r: int, level: float, horizon_days: int, min_regions: int, damping: float
) -> np.ndarray | None:
    """Median log growth, 1..``horizon_days`` days on, of the regions other than ``r`` (columns of
    ``logs``: days x regions, log values, NaN where unknown or not positive) after the first day
    they stood at ``level`` or above having stood below it. Beyond the days ``min_regions`` of
    them cover, the median's growth over its last week goes on as a damped trend (the analogues
    have not been seen further: held flat, a wave half-way up would stop there). None when fewer
    than ``min_regions`` regions passed ``level``."""
    rows = []
    for e in range(logs.shape[1]):
        if e == r:
            continue
        col = logs[:, e]
        seen = np.isfinite(col)
        at = np.flatnonzero(seen & (col >= level))
        if not len(at) or not (seen[: at[0]] & (col[: at[0]] < level)).any():
            continue  # never reached the level, or started above it (no passage seen)
        a = int(at[0])
        ahead = np.full(horizon_days, np.nan)
        known = col[a + 1 : a + 1 + horizon_days] - col[a]
        ahead[: len(known)] = known
        rows.append(ahead)
    if len(rows) < min_regions:
        return None
    paths = np.array(rows)
    cover = np.isfinite(paths).sum(0) >= min_regions
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # days no analogue covers
        med = np.where(cover, np.nanmedian(paths, axis=0), np.nan)
    if not np.isfinite(med[0]):
        return None
    n = int(np.flatnonzero(np.isfinite(med))[-1]) + 1
    week = min(_ANALOGUE_RATE_DAYS, n)
    rate = max(0.0, (med[n - 1] - (med[n - 1 - week] if n > week else 0.0)) / week)
    j = np.arange(1, horizon_days - n + 1, dtype=float)
    med[n:] = med[n - 1] + rate * _damped_sum(j, damping)
    return pd.Series(med).ffill().to_numpy()


def _damped_sum(k: np.ndarray, damping: float) -> np.ndarray:
    """``damping + damping^2 + ... + damping^k``: the days of growth a damped trend adds by day ``k`` [3]."""
    return damping * (1.0 - damping**k) / (1.0 - damping)
