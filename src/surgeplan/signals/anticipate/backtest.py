"""Anticipation replayed on past days and scored against what happened next: :func:`backtest_anticipation`."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from surgeplan.signals.anticipate.crossing import AnticipationOptions, anticipate_crossing
from surgeplan.signals.anticipate.known import known_rows
from surgeplan.signals.derive import first_crossing
from surgeplan.signals.generic import DateLike, parse_regions, to_day, wide


def first_crossing_dates(
    indicators: pd.DataFrame, threshold: float, name: str = "new_cases_per_100k_7d", population=None
) -> pd.Series:
    """First day each region's indicator is ``>= threshold`` in the whole data (for back-testing
    anticipation)."""
    ind = known_rows(indicators, None, name, population)
    return first_crossing(wide(ind, name), float(threshold))


def backtest_anticipation(
    indicators: pd.DataFrame,
    asofs: Iterable[DateLike],
    threshold: float,
    name: str = "new_cases_per_100k_7d",
    regions: str | Iterable[str] | None = None,
    population=None,
    options: AnticipationOptions | None = None,
) -> pd.DataFrame:
    """Compare :func:`anticipate_crossing` made on past days with what happened next.

    Parameters
    ----------
    indicators : DataFrame
        The full history (the forecasts still see only the rows before each ``asof``).
    asofs : iterable of date-like
        Days the forecasts are made.
    threshold, name, regions, population, options
        As in :func:`anticipate_crossing`.

    Returns
    -------
    DataFrame
        The :func:`anticipate_crossing` columns plus ``asof``; ``actual`` (first day on or after ``asof``
        the indicator was at or above the threshold, NaT if never); ``error_days`` (``actual - median``,
        positive = the forecast was early; ``forecast`` rows that crossed); ``inside`` (scored rows only,
        NA elsewhere): for ``forecast`` rows ``earliest <= actual <= latest`` (an unbounded ``latest``
        counting as open), and when there was no crossing in the data, False if the data go past a
        closed range's ``latest``, True if they go past an open range's ``earliest``; for
        ``beyond_horizon`` rows the range is ``[earliest, open)`` (after the horizon when ``earliest`` is
        NaT). ``out.inside.mean()`` (NA skipped) is the empirical coverage of the range;
        a method cannot flatter it by declaring hard cases beyond the horizon.
    """
    full = known_rows(indicators, None, name, population)
    table = wide(full, name, regions=parse_regions(regions))
    options = options or AnticipationOptions()
    seen_until = _data_end(table)
    parts = []
    for asof in asofs:  # a handful of forecast days; regions are vectorized inside
        cut = to_day(asof, "asofs")
        res = anticipate_crossing(
            full, cut, threshold, name=name, regions=regions, population=population, options=options
        )
        actual = first_crossing(table.loc[table.index >= cut], float(threshold)).reindex(res["region"])
        res.insert(1, "asof", pd.Series(cut, index=res.index).astype("datetime64[ns]"))
        res["actual"] = actual.to_numpy()
        parts.append(_scored(res, cut, seen_until, options.horizon_days))
    return pd.concat(parts, ignore_index=True)


def _data_end(table: pd.DataFrame) -> pd.Series:
    """Last day each region (column of the daily ``table``) has a value, NaT if none."""
    observed = table.notna().to_numpy()
    last_row = len(table.index) - 1 - np.argmax(observed[::-1], axis=0)
    days = np.asarray(table.index, dtype="datetime64[ns]")
    return pd.Series(
        np.where(
            observed.any(axis=0),
            days[np.maximum(last_row, 0)] if len(days) else np.datetime64("NaT"),
            np.datetime64("NaT"),
        ),
        index=table.columns,
    )


def _scored(res: pd.DataFrame, cut: pd.Timestamp, data_end: pd.Series, horizon_days: int) -> pd.DataFrame:
    """``res`` with ``error_days`` (days) and ``inside`` (see :func:`backtest_anticipation`) added."""
    happened = res["actual"].notna().to_numpy()
    status = res["status"].to_numpy()
    forecast = status == "forecast"
    err = (res["actual"] - res["median"]).dt.days.astype(np.float64)
    res["error_days"] = np.where(forecast & happened, err, np.nan)
    inside = (res["earliest"] <= res["actual"]) & ((res["actual"] <= res["latest"]) | res["latest"].isna())
    # no crossing in the data: a closed range whose last day passed is a miss; an open range whose first
    # day passed holds it ("not before earliest, maybe never")
    seen_until = data_end.reindex(res["region"]).to_numpy()
    closed = res["latest"].notna().to_numpy()
    missed = forecast & ~happened & closed & (res["latest"].to_numpy() < seen_until)
    # "beyond the horizon": the range is [earliest, open) or, without earliest, after the horizon
    beyond = status == "beyond_horizon"
    low = res["earliest"].fillna(cut + pd.Timedelta(days=horizon_days))
    held_open = (forecast | beyond) & ~happened & ~closed & (low.to_numpy() < seen_until)
    scored = np.select(
        [forecast & happened, missed, beyond & happened, held_open],
        [inside.to_numpy(dtype=bool), False, (res["actual"] >= low).to_numpy(dtype=bool), True],
        2,
    )
    res["inside"] = pd.array(np.where(scored == 2, pd.NA, scored == 1), dtype="boolean")
    return res
