"""Reading the crisis early: indicator readers, derived indicators, lockdown periods, anticipation.

Everything works on the long indicators table ``region, date, name, value`` (``docs/INTERFACES.md``).

Readers
    :func:`read_oxcgrt_legacy` (OxCGRT legacy wide time series, one CSV per indicator),
    :func:`read_oxcgrt_v1` (OxCGRT final v1 time series), :func:`read_owid` (``owid-covid-data.csv``),
    :func:`read_generic` (long CSV/Parquet), :func:`read_indicators` (any of them by ``format``).
Bundled real data
    :func:`bundled_indicators` (OxCGRT, 59 countries, 2020-2022), :func:`bundled_population` (2019).
Derived indicators
    :func:`derive_indicators` (new cases, 7-day incidence per 100k, growth rate, doubling time),
    :func:`level_crossings`.
Lockdowns
    :class:`LockdownRule`, :func:`lockdown_periods`, :func:`lockdown_indicator`.
Anticipation
    :func:`threshold_from_earlier_regions`, :func:`anticipate_crossing`, :func:`backtest_anticipation`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.signals.anticipate import (
    AnticipationOptions,
    anticipate_crossing,
    backtest_anticipation,
    first_crossing_dates,
    lockdown_onset_values,
    threshold_from_earlier_regions,
)
from surgeplan.signals.bundled import bundled_indicators, bundled_population, bundled_regions
from surgeplan.signals.derive import (
    derive_indicators,
    doubling_time,
    first_crossing,
    growth_rate,
    level_crossings,
    new_from_cumulative,
    population_by_region,
)
from surgeplan.signals.generic import (
    INDICATOR_COLUMNS,
    ensure_indicators,
    filter_indicators,
    read_generic,
    validate_indicators,
)
from surgeplan.signals.lockdown import LockdownRule, first_lockdown, lockdown_indicator, lockdown_periods
from surgeplan.signals.owid import is_owid_aggregate, read_owid
from surgeplan.signals.oxcgrt import read_oxcgrt_legacy, read_oxcgrt_v1

Format = Literal["auto", "oxcgrt", "oxcgrt-legacy", "oxcgrt-v1", "owid", "generic"]


def detect_format(path) -> str:
    """Guess a file's layout from its header: ``oxcgrt-legacy``, ``oxcgrt-v1``, ``owid`` or ``generic``."""
    p = Path(path)
    if p.is_dir():
        return "oxcgrt-legacy"
    if not p.is_file():
        raise SurgeplanError(f"{p}: no such file or folder")
    if p.suffix.lower() in (".parquet", ".pq"):
        return "generic"
    try:
        header = set(pd.read_csv(p, nrows=0).columns.str.strip())
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise SurgeplanError(f"{p}: cannot read the header ({exc})") from None
    if {"CountryCode", "Jurisdiction"} <= header:
        return "oxcgrt-v1"
    if "country_code" in header:
        return "oxcgrt-legacy"
    if {"iso_code", "date"} <= header:
        return "owid"
    if {"region", "date", "name", "value"} <= header:
        return "generic"
    raise SurgeplanError(f"{p}: unknown indicator layout (columns {', '.join(sorted(header)[:8])} ...)")


def read_indicators(path, format: Format = "auto", **kwargs) -> pd.DataFrame:
    """Read an indicator file or OxCGRT legacy folder in any supported layout.

    Parameters
    ----------
    path : path
        File (or, for OxCGRT legacy, a folder of the per-indicator CSVs).
    format : {"auto", "oxcgrt", "oxcgrt-legacy", "oxcgrt-v1", "owid", "generic"}
        ``auto`` looks at the header; ``oxcgrt`` picks legacy or v1 the same way.
    **kwargs
        Passed to the reader (``regions``, ``start``, ``end`` ...).
    """
    fmt = format.lower()
    if fmt in ("auto", "oxcgrt"):
        detected = detect_format(path)
        if fmt == "oxcgrt" and not detected.startswith("oxcgrt"):
            raise SurgeplanError(f"{path}: not an OxCGRT file (looks like {detected})")
        fmt = detected
    readers = {
        "oxcgrt-legacy": read_oxcgrt_legacy,
        "oxcgrt-v1": read_oxcgrt_v1,
        "owid": read_owid,
        "generic": read_generic,
    }
    if fmt not in readers:
        raise SurgeplanError(f"format must be one of auto, oxcgrt, {', '.join(readers)}; got {format!r}")
    return readers[fmt](path, **kwargs)


__all__ = [
    "INDICATOR_COLUMNS",
    "LockdownRule",
    "AnticipationOptions",
    "anticipate_crossing",
    "backtest_anticipation",
    "bundled_indicators",
    "bundled_population",
    "bundled_regions",
    "derive_indicators",
    "detect_format",
    "doubling_time",
    "ensure_indicators",
    "filter_indicators",
    "first_crossing",
    "first_crossing_dates",
    "first_lockdown",
    "growth_rate",
    "is_owid_aggregate",
    "level_crossings",
    "lockdown_indicator",
    "lockdown_onset_values",
    "lockdown_periods",
    "new_from_cumulative",
    "population_by_region",
    "read_generic",
    "read_indicators",
    "read_owid",
    "read_oxcgrt_legacy",
    "read_oxcgrt_v1",
    "threshold_from_earlier_regions",
    "validate_indicators",
]
