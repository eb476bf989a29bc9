"""Reader for Our World in Data's complete COVID-19 dataset (``owid-covid-data.csv``).

The published layout is one row per ``(iso_code, date)`` with columns ``iso_code, continent,
location, date, total_cases, new_cases, new_cases_smoothed, total_deaths, new_deaths, ...,
stringency_index, ..., population, ...`` (see the OWID codebook). OWID also publishes aggregates
whose code starts with ``OWID_`` and whose ``continent`` is empty (``OWID_WRL`` World, ``OWID_EUR``
Europe, ``OWID_HIC`` High income, ``OWID_EUN`` European Union ...). They are not regions: they are
dropped by default (``aggregates="drop"``) or kept under their ``OWID_`` code
(``aggregates="keep"``; :func:`is_owid_aggregate` tells them apart). ``OWID_KOS`` (Kosovo, which has
a continent) is a country and is renamed ``RKS``, the code OxCGRT uses.

References
----------
Mathieu, E., Ritchie, H., Rodés-Guirao, L. et al. (2020). Coronavirus Pandemic (COVID-19).
Our World in Data. https://ourworldindata.org/coronavirus (data CC BY 4.0).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from surgeplan.errors import ValidationError, reject_first
from surgeplan.signals.generic import (
    NA_VALUES,
    DateLike,
    PathLike,
    empty_indicators,
    filter_indicators,
    finish,
    parse_regions,
)

#: OWID column -> surgeplan indicator name (the default columns read).
OWID_NAMES: dict[str, str] = {
    "total_cases": "confirmed_cases",
    "total_deaths": "confirmed_deaths",
    "new_cases": "new_cases",
    "new_deaths": "new_deaths",
    "stringency_index": "stringency_index",
    "population": "population",
}

#: OWID codes for countries that have no ISO 3166 code.
OWID_COUNTRY_CODES: dict[str, str] = {"OWID_KOS": "RKS"}

_KEYS = ("iso_code", "continent", "location", "date")


def is_owid_aggregate(iso_code: pd.Series | np.ndarray | str, continent=None):
    """True where an OWID code is an aggregate (``OWID_`` prefix and, if given, no continent).

    Parameters
    ----------
    iso_code : str, array or Series
        OWID ``iso_code`` values.
    continent : str, array or Series, optional
        OWID ``continent`` values; a code with a continent (``OWID_KOS``, ``OWID_CYN``) is a country.
    """
    codes = pd.Series(np.atleast_1d(np.asarray(iso_code, dtype=object))).astype("string")
    agg = codes.str.upper().str.startswith("OWID_").fillna(False).to_numpy(dtype=bool)
    if continent is not None:
        cont = pd.Series(np.atleast_1d(np.asarray(continent, dtype=object))).astype("string").str.strip()
        agg &= (cont.isna() | (cont == "")).to_numpy(dtype=bool)
    if isinstance(iso_code, str):
        return bool(agg[0])
    if isinstance(iso_code, pd.Series):
        return pd.Series(agg, index=iso_code.index, name="is_aggregate")
    return agg


def read_owid(
    path: PathLike,
    columns: Iterable[str] | dict[str, str] | None = None,
    aggregates: Literal["drop", "keep"] = "drop",
    regions: str | Iterable[str] | None = None,
    start: DateLike = None,
    end: DateLike = None,
) -> pd.DataFrame:
    """Read ``owid-covid-data.csv`` (or a file in its layout) into the long indicators table.

    Parameters
    ----------
    path : path
        The CSV (optionally ``.gz`` / ``.zip``). Required columns: ``iso_code``, ``date``
        (``YYYY-MM-DD``); ``continent`` is used to tell aggregates from countries when present.
    columns : list of str or dict, optional
        OWID columns to read. Default :data:`OWID_NAMES`: ``total_cases`` -> ``confirmed_cases``,
        ``total_deaths`` -> ``confirmed_deaths``, ``new_cases``, ``new_deaths`` (persons per day),
        ``stringency_index`` (0-100), ``population`` (persons); the ones absent from the file are
        skipped. A list keeps the OWID names (``total_cases`` mapped as above); a dict maps OWID
        column -> indicator name. Columns asked for explicitly must exist.
    aggregates : {"drop", "keep"}
        OWID aggregates (``OWID_WRL``, continents, income groups): dropped (default) or kept under their
        ``OWID_...`` code.
    regions : str or list of str, optional
        Codes to keep.
    start, end : date-like, optional
        Keep only days in ``[start, end]``.

    Returns
    -------
    DataFrame
        ``region, date, name, value``; empty cells are absent rows.

    Raises
    ------
    ValidationError
        Missing ``iso_code`` / ``date`` / requested column, bad date or non-numeric value (with the
        1-based data row and the column), a repeated ``(iso_code, date)``.

    References
    ----------
    Our World in Data COVID-19 dataset, codebook ``owid-covid-codebook.csv`` (CC BY 4.0).
    """
    p = Path(path)
    if not p.is_file():
        raise ValidationError("no such file", file=str(p))
    if aggregates not in ("drop", "keep"):
        raise ValidationError(f"aggregates must be 'drop' or 'keep', got {aggregates!r}")
    header = _header(p)
    mapping = _column_names(p, header, columns)
    keys = [k for k in _KEYS if k in header]
    frame = pd.read_csv(
        p,
        usecols=list(dict.fromkeys(keys + list(mapping))),
        dtype={k: str for k in keys},
        keep_default_na=False,
        na_values=NA_VALUES,
        low_memory=False,
    )
    frame.columns = frame.columns.str.strip()
    if len(frame) == 0 or not mapping:
        return empty_indicators()
    code, dates = _codes_and_days(frame, p)
    code, keep = _kept_regions(frame, code, aggregates, regions)
    parts = [
        pd.DataFrame(
            {
                "region": code.to_numpy(dtype=object)[keep],
                "date": dates.to_numpy()[keep],
                "name": name,
                "value": _numbers(frame[col], p, col)[keep],
            }
        )
        for col, name in mapping.items()
    ]
    out = finish(pd.concat(parts, ignore_index=True))
    return filter_indicators(out, None, start, end)


def _header(p: Path) -> list[str]:
    """Column names of the CSV, which must include ``iso_code`` and ``date``."""
    try:
        header = pd.read_csv(p, nrows=0).columns.str.strip().tolist()
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read as CSV ({exc})", file=str(p)) from None
    for key in ("iso_code", "date"):
        if key not in header:
            raise ValidationError(
                f"missing column {key!r}: not an OWID COVID-19 file", file=str(p), column=key
            )
    return header


def _column_names(
    p: Path, header: list[str], columns: Iterable[str] | dict[str, str] | None
) -> dict[str, str]:
    """OWID column -> indicator name: the defaults present in the file, or the columns asked for (which
    must all be there)."""
    if columns is None:
        return {c: n for c, n in OWID_NAMES.items() if c in header}
    mapping = dict(columns) if isinstance(columns, dict) else {c: OWID_NAMES.get(c, c) for c in columns}
    absent = [c for c in mapping if c not in header]
    if absent:
        raise ValidationError("requested column not in the file", file=str(p), column=absent[0])
    return mapping


def _codes_and_days(frame: pd.DataFrame, p: Path) -> tuple[pd.Series, pd.Series]:
    """Upper-cased ``iso_code`` and parsed ``date`` of every row; no code empty, no day unreadable, no
    (code, day) twice."""
    code = frame["iso_code"].astype("string").str.strip().str.upper()
    empty = code.isna().to_numpy() | (code == "").to_numpy(na_value=True)
    reject_first(empty, lambda i: "empty iso_code", file=str(p), column="iso_code")
    dates = pd.to_datetime(frame["date"].astype("string").str.strip(), format="%Y-%m-%d", errors="coerce")
    reject_first(
        dates.isna().to_numpy(),
        lambda i: f"not a date (expected YYYY-MM-DD): {frame['date'].iloc[i]!r}",
        file=str(p),
        column="date",
    )
    reject_first(
        pd.DataFrame({"c": code, "d": dates}).duplicated().to_numpy(),
        lambda i: f"{code.iloc[i]} on {dates.iloc[i]:%Y-%m-%d} appears twice",
        file=str(p),
    )
    return code, dates


def _kept_regions(
    frame: pd.DataFrame, code: pd.Series, aggregates: str, regions: str | Iterable[str] | None
) -> tuple[pd.Series, np.ndarray]:
    """Region codes (OWID's own country codes mapped to ISO) and the rows kept: aggregates dropped when
    asked, only ``regions`` when given."""
    keep = np.ones(len(frame), dtype=bool)
    continent = frame["continent"] if "continent" in frame.columns else None
    if aggregates == "drop":
        keep &= ~is_owid_aggregate(
            code.to_numpy(dtype=object), None if continent is None else continent.to_numpy()
        )
    code = code.replace(OWID_COUNTRY_CODES)
    regs = parse_regions(regions)
    if regs is not None:
        keep &= code.isin(regs).to_numpy()
    return code, keep


def _numbers(raw: pd.Series, p: Path, col: str) -> np.ndarray:
    """The column as float64 (empty cells NaN); a cell that is not a number raises."""
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return raw.to_numpy(dtype=np.float64)
    values = pd.to_numeric(raw.astype("string").str.strip(), errors="coerce").to_numpy(dtype=np.float64)
    wrong = np.isnan(values) & raw.notna().to_numpy()
    reject_first(wrong, lambda i: f"not a number: {raw.iloc[i]!r}", file=str(p), column=col)
    return values
