"""Readers for the Oxford COVID-19 Government Response Tracker (OxCGRT) time-series files.

Two layouts are in circulation and both are read into the long indicators table
(``region, date, name, value``, see :mod:`surgeplan.signals.generic`):

* **legacy time series** (``OxCGRT/covid-policy-tracker-legacy``, ``legacy_data_202207/timeseries/``):
  one wide CSV per indicator (``stringency_index.csv``, ``c6_stay_at_home_requirements.csv``,
  ``c6_flag.csv``, ``c2_workplace_closing.csv``, ``confirmed_cases.csv``, ``confirmed_deaths.csv``),
  columns ``"", country_code, country_name, 01Jan2020, 02Jan2020, ...``, one row per country;
* **final v1** (``OxCGRT/covid-policy-dataset``, ``data/timeseries_indices/OxCGRT_timeseries_*_v1.csv``):
  columns ``CountryCode, CountryName, RegionCode, RegionName, CityCode, CityName, Jurisdiction`` then
  one column per day; ``Jurisdiction == "NAT_TOTAL"`` rows are national, ``STATE_TOTAL`` and
  ``CITY_TOTAL`` rows sub-national.

Empty cells are missing observations (absent rows in the output).

References
----------
Hale, T., Angrist, N., Goldszmidt, R. et al. (2021). A global panel database of pandemic policies
(Oxford COVID-19 Government Response Tracker). Nature Human Behaviour 5, 529-538.
https://doi.org/10.1038/s41562-021-01079-8. Data licence CC BY 4.0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

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
    long_from_wide,
    parse_regions,
)

#: Legacy file stem -> surgeplan indicator name (docs/INTERFACES.md). Other stems keep their own name.
LEGACY_NAMES: dict[str, str] = {
    "stringency_index": "stringency_index",
    "c6_stay_at_home_requirements": "stay_home_required",
    "c6_flag": "stay_home_general",
    "c2_workplace_closing": "workplace_closing",
    "confirmed_cases": "confirmed_cases",
    "confirmed_deaths": "confirmed_deaths",
}

#: Final-v1 measure (file stem between ``OxCGRT_timeseries_`` and ``_v1``) -> surgeplan name.
V1_NAMES: dict[str, str] = {
    "StringencyIndex": "stringency_index",
    "StringencyIndex_Average": "stringency_index",
    "GovernmentResponseIndex": "government_response_index",
    "ContainmentHealthIndex": "containment_health_index",
    "EconomicSupportIndex": "economic_support_index",
    "ConfirmedCases": "confirmed_cases",
    "ConfirmedDeaths": "confirmed_deaths",
}

_LEGACY_IDS = ("country_code", "country_name")
_V1_IDS = ("CountryCode", "CountryName", "RegionCode", "RegionName", "CityCode", "CityName", "Jurisdiction")
_DATE_COL = re.compile(r"^\d{1,2}[A-Za-z]{3}\d{4}$")


def _snake(text: str) -> str:
    text = re.sub(r"[^0-9A-Za-z]+", "_", text)
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    return text.strip("_").lower()


def _read_wide_csv(path: Path, id_columns: tuple[str, ...], ignore: tuple[str, ...] = ()):
    """Read a wide OxCGRT CSV; return (frame of id columns as str, DatetimeIndex, values matrix)."""
    if not path.is_file():
        raise ValidationError("no such file", file=str(path))
    try:
        frame = pd.read_csv(
            path,
            dtype={c: str for c in id_columns},
            keep_default_na=False,
            na_values=NA_VALUES,
            low_memory=False,
        )
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read as CSV ({exc})", file=str(path)) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in id_columns if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"missing column {missing[0]!r}: not an OxCGRT file in this layout (expected columns "
            f"{', '.join(id_columns)} then one column per day such as 01Jan2020)",
            file=str(path),
            column=missing[0],
        )
    date_cols: list[str] = []
    for c in frame.columns:
        if c in id_columns or c in ignore or c.startswith("Unnamed:") or c == "":
            continue
        if not _DATE_COL.match(c):
            raise ValidationError(
                "unexpected column (expected a day such as 01Jan2020)", file=str(path), column=c
            )
        date_cols.append(c)
    if not date_cols:
        raise ValidationError("no date columns (expected 01Jan2020, 02Jan2020, ...)", file=str(path))
    dates = pd.to_datetime(pd.Index(date_cols), format="%d%b%Y", errors="coerce")
    if dates.isna().any():
        bad = date_cols[int(np.flatnonzero(dates.isna())[0])]
        raise ValidationError("column name is not a day in the form 01Jan2020", file=str(path), column=bad)
    if dates.duplicated().any():
        bad = date_cols[int(np.flatnonzero(dates.duplicated())[0])]
        raise ValidationError("the same day appears twice", file=str(path), column=bad)

    block = frame[date_cols]
    values = np.empty(block.shape, dtype=np.float64)
    for j, c in enumerate(date_cols):  # only columns pandas could not parse as numbers need a closer look
        col = block[c]
        if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
            values[:, j] = col.to_numpy(dtype=np.float64)
            continue
        num = pd.to_numeric(col.astype("string").str.strip(), errors="coerce")
        wrong = num.isna().to_numpy() & col.notna().to_numpy()
        reject_first(wrong, lambda i, col=col: f"not a number: {col.iloc[i]!r}", file=str(path), column=c)
        values[:, j] = num.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(values).any():
        i, j = (int(k[0]) for k in np.nonzero(np.isinf(values)))
        raise ValidationError("infinite value", file=str(path), row=i + 1, column=date_cols[j])
    order = np.argsort(dates.values, kind="stable")
    return frame[list(id_columns)], pd.DatetimeIndex(dates[order]), values[:, order]


def _check_codes(codes: pd.Series, path: Path, column: str) -> np.ndarray:
    text = codes.astype("string").str.strip().str.upper()
    empty = text.isna().to_numpy() | (text == "").to_numpy(na_value=True)
    reject_first(empty, lambda i: "empty region code", file=str(path), column=column)
    return text.astype(object).to_numpy()


def _legacy_files(path: PathLike | Iterable[PathLike], names: Iterable[str] | None) -> list[tuple[Path, str]]:
    if isinstance(path, (str, Path)) or hasattr(path, "__fspath__"):
        paths = [Path(path)]  # type: ignore[arg-type]
    else:
        paths = [Path(p) for p in path]  # type: ignore[union-attr]
    wanted = None if names is None else set([names] if isinstance(names, str) else names)
    out: list[tuple[Path, str]] = []
    for p in paths:
        if p.is_dir():
            found = [
                (p / f"{stem}.csv", name)
                for stem, name in LEGACY_NAMES.items()
                if (p / f"{stem}.csv").is_file()
            ]
            if not found:
                raise ValidationError(
                    "no OxCGRT legacy time-series file here (looked for "
                    f"{', '.join(s + '.csv' for s in LEGACY_NAMES)})",
                    file=str(p),
                )
            out.extend(found)
        else:
            stem = p.name.split(".")[0]
            out.append((p, LEGACY_NAMES.get(stem, _snake(stem))))
    if wanted is not None:
        out = [(p, n) for p, n in out if n in wanted]
    return out


def read_oxcgrt_legacy(
    path: PathLike | Iterable[PathLike],
    names: str | Iterable[str] | None = None,
    regions: str | Iterable[str] | None = None,
    start: DateLike = None,
    end: DateLike = None,
) -> pd.DataFrame:
    """Read OxCGRT legacy wide time-series CSVs into the long indicators table.

    Parameters
    ----------
    path : path, directory, or iterable of paths
        A directory (every known file in it is read: ``stringency_index.csv`` -> ``stringency_index``
        (0-100), ``c6_stay_at_home_requirements.csv`` -> ``stay_home_required`` (C6 level 0-3),
        ``c6_flag.csv`` -> ``stay_home_general`` (1 whole country, 0 targeted),
        ``c2_workplace_closing.csv`` -> ``workplace_closing`` (C2 level 0-3),
        ``confirmed_cases.csv`` / ``confirmed_deaths.csv`` -> cumulative counts (persons)), or one or
        more files; a file with another stem (e.g. ``c1_school_closing.csv``) keeps its stem as name.
    names : str or list of str, optional
        Keep only these indicator names (after renaming).
    regions : str or list of str, optional
        ISO 3166 alpha-3 codes to keep (``"FRA,GBR"``); default all.
    start, end : date-like, optional
        Keep only days in ``[start, end]``.

    Returns
    -------
    DataFrame
        ``region, date, name, value``; empty cells of the source are absent rows.

    Raises
    ------
    ValidationError
        Missing ``country_code`` column, a column that is not a day like ``01Jan2020``, a non-numeric
        cell (with its 1-based data row and column), duplicate country codes.

    References
    ----------
    Hale, T. et al. (2021). Nature Human Behaviour 5, 529-538 (OxCGRT; data CC BY 4.0).
    """
    parts = []
    regs = parse_regions(regions)
    for p, name in _legacy_files(path, names):
        ids, dates, values = _read_wide_csv(p, _LEGACY_IDS)
        codes = _check_codes(ids["country_code"], p, "country_code")
        reject_first(
            pd.Series(codes).duplicated().to_numpy(),
            lambda i, codes=codes: f"country {codes[i]} appears twice",
            file=str(p),
            column="country_code",
        )
        if regs is not None:
            keep = np.isin(codes, regs)
            codes, values = codes[keep], values[keep]
        parts.append(long_from_wide(codes, dates, values, name))
    if not parts:
        return empty_indicators()
    return filter_indicators(finish(pd.concat(parts, ignore_index=True)), None, start, end)


def v1_name(path: PathLike) -> str:
    """Indicator name of a final-v1 file from its name: ``OxCGRT_timeseries_StringencyIndex_v1.csv`` ->
    ``stringency_index``."""
    stem = Path(path).name.split(".")[0]
    measure = re.sub(r"^OxCGRT_timeseries_", "", stem)
    measure = re.sub(r"_v\d+$", "", measure)
    return V1_NAMES.get(measure, _snake(measure))


def read_oxcgrt_v1(
    path: PathLike,
    name: str | None = None,
    jurisdiction: str = "NAT_TOTAL",
    regions: str | Iterable[str] | None = None,
    start: DateLike = None,
    end: DateLike = None,
) -> pd.DataFrame:
    """Read an OxCGRT final-v1 time-series CSV (``OxCGRT_timeseries_<Measure>_v1.csv``).

    Parameters
    ----------
    path : path
        The CSV (columns ``CountryCode, CountryName, RegionCode, RegionName, CityCode, CityName,
        Jurisdiction`` then one column per day ``01Jan2020`` ...).
    name : str, optional
        Indicator name for the values; default from the file name (``StringencyIndex`` ->
        ``stringency_index``, other measures in snake case).
    jurisdiction : {"NAT_TOTAL", "STATE_TOTAL", "CITY_TOTAL", "all"}
        Rows to keep. National rows (default) get ``region = CountryCode`` (ISO alpha-3); state rows
        ``region = RegionCode`` (e.g. ``UK_ENG``, ``US_AK``) and city rows ``region = CityCode``.
    regions : str or list of str, optional
        Region codes to keep (after the mapping above).
    start, end : date-like, optional
        Keep only days in ``[start, end]``.

    Returns
    -------
    DataFrame
        ``region, date, name, value``.

    Raises
    ------
    ValidationError
        Missing identification column, non-day column, non-numeric cell (file, row, column), two
        rows for one region.

    References
    ----------
    Hale, T. et al. (2021). Nature Human Behaviour 5, 529-538 (OxCGRT; data CC BY 4.0).
    """
    p = Path(path)
    ids, dates, values = _read_wide_csv(p, _V1_IDS)
    codes, keep = _v1_regions(ids, p, jurisdiction)
    regs = parse_regions(regions)
    if regs is not None:
        keep &= np.isin(codes, regs)
    out = long_from_wide(codes[keep], dates, values[keep], name or v1_name(p))
    return filter_indicators(finish(out), None, start, end)


def _v1_regions(ids: pd.DataFrame, p: Path, jurisdiction: str) -> tuple[np.ndarray, np.ndarray]:
    """Region code of every row (country, state or city code by its jurisdiction, upper case) and the
    rows of the wanted jurisdiction; each kept region once."""
    juris = ids["Jurisdiction"].astype("string").str.strip().str.upper().fillna("")
    known = {"NAT_TOTAL", "STATE_TOTAL", "CITY_TOTAL"}
    wanted = jurisdiction.strip().upper()
    if wanted != "ALL" and wanted not in known:
        raise ValidationError(
            f"jurisdiction must be one of {', '.join(sorted(known))} or 'all', got {jurisdiction!r}"
        )
    reject_first(
        ~juris.isin(known).to_numpy(),
        lambda i: f"unknown jurisdiction {ids['Jurisdiction'].iloc[i]!r}",
        file=str(p),
        column="Jurisdiction",
    )
    code = ids["CountryCode"].astype("string").str.strip()
    code = code.mask(juris == "STATE_TOTAL", ids["RegionCode"].astype("string").str.strip())
    code = code.mask(juris == "CITY_TOTAL", ids["CityCode"].astype("string").str.strip())
    keep = np.ones(len(ids), dtype=bool) if wanted == "ALL" else (juris == wanted).to_numpy()
    col_for = np.where(
        juris == "STATE_TOTAL", "RegionCode", np.where(juris == "CITY_TOTAL", "CityCode", "CountryCode")
    )
    empty = keep & (code.isna().to_numpy() | (code == "").to_numpy(na_value=True))
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise ValidationError("empty region code", file=str(p), row=i + 1, column=str(col_for[i]))
    codes = code.str.upper().astype(object).to_numpy()
    rows = np.flatnonzero(keep)
    dup = pd.Series(codes[rows]).duplicated().to_numpy()
    if dup.any():
        i = int(rows[np.flatnonzero(dup)[0]])
        raise ValidationError(
            f"region {codes[i]} appears twice", file=str(p), row=i + 1, column=str(col_for[i])
        )
    return codes, keep
