"""The long indicators table ``region, date, name, value``: validation, the generic CSV reader, helpers.

Every reader in :mod:`surgeplan.signals` returns the same shape (``docs/INTERFACES.md``):

======== ======================= ==========================================================
column   dtype                   meaning
======== ======================= ==========================================================
region   str (object)            ISO 3166 alpha-3 country code (``FRA``); sub-national
                                 codes such as ``UK_ENG`` only where a reader is asked for them
date     datetime64[ns], naive   the calendar day, in the region's own day
name     str (object)            indicator name (``stringency_index``, ``confirmed_cases`` ...)
value    float64                 the value; missing observations are absent rows, never NaN
======== ======================= ==========================================================

rows sorted by ``region, name, date`` with at most one row per ``(region, date, name)``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Union

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError, ValidationError, reject_first

#: Columns of the long indicators table, in order.
INDICATOR_COLUMNS: tuple[str, ...] = ("region", "date", "name", "value")

PathLike = Union[str, "os.PathLike[str]"]
DateLike = Union[str, pd.Timestamp, np.datetime64, "datetime.date", None]  # noqa: F821

_ALPHA3 = re.compile(r"^[A-Z]{3}$")

#: Cell texts read as missing values in every reader (R and pandas writers use ``NA`` / ``NaN``).
NA_VALUES: list[str] = ["", "NA", "N/A", "NaN", "nan", "null", "NULL"]


# --------------------------------------------------------------------------------------------------
# small shared helpers
# --------------------------------------------------------------------------------------------------
def empty_indicators() -> pd.DataFrame:
    """An empty indicators table with the right dtypes."""
    return pd.DataFrame(
        {
            "region": pd.Series([], dtype=object),
            "date": pd.Series([], dtype="datetime64[ns]"),
            "name": pd.Series([], dtype=object),
            "value": pd.Series([], dtype=np.float64),
        }
    )


def parse_regions(regions: str | Iterable[str] | None) -> list[str] | None:
    """``"FRA, gbr"`` or ``["FRA", "GBR"]`` -> ``["FRA", "GBR"]``; ``None`` stays ``None`` (= all)."""
    if regions is None:
        return None
    if isinstance(regions, str):
        regions = regions.split(",")
    out = [str(r).strip().upper() for r in regions if str(r).strip()]
    return out or None


def to_day(value: DateLike, argument: str) -> pd.Timestamp | None:
    """Parse a day (``"2020-03-10"``, Timestamp, date) to a naive midnight Timestamp; ``None`` stays
    ``None``."""
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise SurgeplanError(f"{argument}: cannot read {value!r} as a date ({exc})") from None
    if ts is pd.NaT:
        raise SurgeplanError(f"{argument}: {value!r} is not a date")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def filter_indicators(
    indicators: pd.DataFrame,
    regions: str | Iterable[str] | None = None,
    start: DateLike = None,
    end: DateLike = None,
    names: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """Keep the rows of some regions, names and a date range (``start`` and ``end`` inclusive)."""
    mask = np.ones(len(indicators), dtype=bool)
    regs = parse_regions(regions)
    if regs is not None:
        mask &= indicators["region"].isin(regs).to_numpy()
    if names is not None:
        names = [names] if isinstance(names, str) else list(names)
        mask &= indicators["name"].isin(names).to_numpy()
    s, e = to_day(start, "start"), to_day(end, "end")
    if s is not None:
        mask &= (indicators["date"] >= s).to_numpy()
    if e is not None:
        mask &= (indicators["date"] <= e).to_numpy()
    return indicators.loc[mask].reset_index(drop=True)


def finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop missing values, sort by ``region, name, date`` and reset the index (no validation)."""
    frame = frame.loc[frame["value"].notna(), list(INDICATOR_COLUMNS)]
    return frame.sort_values(["region", "name", "date"], kind="stable").reset_index(drop=True)


def long_from_wide(
    regions: np.ndarray, dates: pd.DatetimeIndex, values: np.ndarray, name: str
) -> pd.DataFrame:
    """Long rows from a ``regions x dates`` matrix (NaN cells dropped), vectorized."""
    values = np.asarray(values, dtype=np.float64)
    n_r, n_d = values.shape
    keep = ~np.isnan(values.ravel())
    return pd.DataFrame(
        {
            "region": np.repeat(np.asarray(regions, dtype=object), n_d)[keep],
            "date": np.tile(dates.values.astype("datetime64[ns]"), n_r)[keep],
            "name": name,
            "value": values.ravel()[keep],
        }
    )


def wide(
    indicators: pd.DataFrame,
    name: str,
    dates: pd.DatetimeIndex | None = None,
    regions: Iterable[str] | None = None,
) -> pd.DataFrame:
    """One indicator as a daily ``date x region`` frame (missing days are NaN).

    Parameters
    ----------
    indicators : DataFrame
        Long indicators table.
    name : str
        The indicator to pivot.
    dates : DatetimeIndex, optional
        Row index to reindex onto (default: every day from the first to the last date of ``name``).
    regions : iterable of str, optional
        Column order (default: sorted regions having ``name``).
    """
    sub = indicators.loc[indicators["name"] == name]
    table = sub.pivot_table(index="date", columns="region", values="value", aggfunc="last")
    table.columns = table.columns.astype(object)
    if dates is None:
        dates = (
            pd.date_range(table.index.min(), table.index.max(), freq="D")
            if len(table)
            else pd.DatetimeIndex([], dtype="datetime64[ns]")
        )
    table = table.reindex(index=dates)
    if regions is not None:
        table = table.reindex(columns=list(regions))
    table.index.name, table.columns.name = "date", "region"
    return table.astype(np.float64)


def stack_wide(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """Inverse of :func:`wide`: a ``date x region`` frame back to long rows (NaN dropped)."""
    return long_from_wide(
        np.asarray(table.columns, dtype=object),
        pd.DatetimeIndex(table.index),
        table.to_numpy(dtype=np.float64).T,
        name,
    )


def daily_grid(indicators: pd.DataFrame) -> pd.DatetimeIndex:
    """Every day from the first to the last date in ``indicators``."""
    if len(indicators) == 0:
        return pd.DatetimeIndex([], dtype="datetime64[ns]", name="date")
    return pd.date_range(indicators["date"].min(), indicators["date"].max(), freq="D", name="date")


# --------------------------------------------------------------------------------------------------
# validation of a long table
# --------------------------------------------------------------------------------------------------
def validate_indicators(frame: pd.DataFrame, source: str = "<frame>", *, row_offset: int = 1) -> pd.DataFrame:
    """Check and normalise a long indicators table; return a clean copy.

    Parameters
    ----------
    frame : DataFrame
        Columns ``region, date, name, value`` (extra columns are dropped).
    source : str
        File name (or ``"<frame>"``) used in error messages.
    row_offset : int
        Row number of ``frame``'s first row in ``source`` (1 = first data row under a header).

    Returns
    -------
    DataFrame
        The table in the canonical shape (see module docstring): codes stripped and upper-cased,
        dates parsed to naive days, values float64, missing values dropped, sorted.

    Raises
    ------
    ValidationError
        Missing column, empty region or name, unreadable date or value, duplicate
        ``(region, date, name)``; the message names the file, the 1-based row and the column.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(f"expected a DataFrame, got {type(frame).__name__}", file=source)
    missing = [c for c in INDICATOR_COLUMNS if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"missing column(s) {', '.join(missing)}; an indicators table has columns "
            f"{', '.join(INDICATOR_COLUMNS)}",
            file=source,
            column=missing[0],
        )
    n = len(frame)
    if n == 0:
        return empty_indicators()
    rows = np.arange(n) + row_offset

    def bad(mask: np.ndarray, column: str, what: str, raw: pd.Series) -> None:
        reject_first(
            mask, lambda i: f"{what}: {raw.iloc[i]!r}", file=source, column=column, row_offset=row_offset
        )

    out = pd.DataFrame(index=pd.RangeIndex(n))
    for col in ("region", "name"):
        raw = frame[col]
        text = raw.astype("string").str.strip()
        bad(text.isna().to_numpy() | (text == "").to_numpy(na_value=True), col, f"empty {col}", raw)
        out[col] = (text.str.upper() if col == "region" else text).astype(object).to_numpy()
    out["date"] = _days(frame["date"], bad)
    out["value"] = _values(frame["value"], bad)
    dup = out.duplicated(["region", "date", "name"], keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise ValidationError(
            f"duplicate row for region {out['region'].iloc[i]}, date {out['date'].iloc[i]:%Y-%m-%d}, "
            f"name {out['name'].iloc[i]}",
            file=source,
            row=int(rows[i]),
        )
    return finish(out)


def _days(raw_date: pd.Series, bad: Callable[[np.ndarray, str, str, pd.Series], None]) -> np.ndarray:
    """The ``date`` column as naive days (``datetime64[ns]``); ``bad`` raises at the first unreadable one."""
    if isinstance(raw_date.dtype, pd.DatetimeTZDtype):
        dates = raw_date.dt.tz_localize(None)
    elif pd.api.types.is_datetime64_any_dtype(raw_date.dtype):
        dates = raw_date
    else:
        dates = pd.to_datetime(raw_date.astype("string").str.strip(), errors="coerce", format="ISO8601")
    bad(dates.isna().to_numpy(), "date", "not a date (expected YYYY-MM-DD)", raw_date)
    return dates.dt.normalize().astype("datetime64[ns]").to_numpy()


def _values(raw_value: pd.Series, bad: Callable[[np.ndarray, str, str, pd.Series], None]) -> np.ndarray:
    """The ``value`` column as float64 (empty cells NaN); ``bad`` raises at the first cell that is not a
    finite number."""
    if pd.api.types.is_numeric_dtype(raw_value.dtype) and not pd.api.types.is_bool_dtype(raw_value.dtype):
        values = raw_value.astype(np.float64)
    else:
        text = raw_value.astype("string").str.strip()
        values = pd.to_numeric(text, errors="coerce").astype(np.float64)
        given = text.notna().to_numpy() & (text != "").to_numpy(na_value=False)
        bad(given & values.isna().to_numpy(), "value", "not a number", raw_value)
    bad(np.isinf(values.to_numpy()), "value", "infinite value", raw_value)
    return values.to_numpy()


def ensure_indicators(frame: pd.DataFrame, source: str = "<frame>") -> pd.DataFrame:
    """Return ``frame`` unchanged when it already has the canonical shape, else
    :func:`validate_indicators` it.

    The check is cheap (column names, dtypes, uniqueness), so library functions call it on entry and
    reader output is not validated twice.
    """
    try:
        clean = (
            list(frame.columns[:4]) == list(INDICATOR_COLUMNS)
            and frame["date"].dtype == "datetime64[ns]"
            and frame["value"].dtype == np.float64
            and frame["region"].dtype == object
            and frame["name"].dtype == object
            and not frame.duplicated(["region", "date", "name"]).any()
        )
    except (KeyError, AttributeError, TypeError):
        clean = False
    return frame if clean else validate_indicators(frame, source)


def read_generic(
    path: PathLike,
    regions: str | Iterable[str] | None = None,
    start: DateLike = None,
    end: DateLike = None,
) -> pd.DataFrame:
    """Read a long indicators file with columns ``region, date, name, value``.

    Parameters
    ----------
    path : str or path
        A ``.csv`` (optionally ``.gz`` / ``.zip`` compressed) or ``.parquet`` file. Dates are ISO
        ``YYYY-MM-DD``; extra columns are ignored; empty values are missing.
    regions : str or list of str, optional
        Keep only these regions (``"FRA,GBR"`` or a list).
    start, end : date-like, optional
        Keep only days in ``[start, end]``.

    Returns
    -------
    DataFrame
        Long indicators table ``region, date, name, value``.

    Raises
    ------
    ValidationError
        With the file, 1-based data row and column of the first bad cell.
    """
    p = Path(path)
    if not p.is_file():
        raise ValidationError("no such file", file=str(p))
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(p)
        else:
            frame = pd.read_csv(
                p, dtype={"region": str, "name": str, "date": str}, keep_default_na=False, na_values=NA_VALUES
            )
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read as a CSV/Parquet indicators file ({exc})", file=str(p)) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    out = validate_indicators(frame, source=str(p))
    return filter_indicators(out, regions, start, end)


def is_alpha3(code: str) -> bool:
    """True for a three-letter upper-case code (ISO 3166 alpha-3 shape)."""
    return bool(_ALPHA3.match(code))
