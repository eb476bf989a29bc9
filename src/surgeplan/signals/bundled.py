"""Real indicator data shipped inside the package (for the demo, the tests and offline use).

* ``surgeplan/data/indicators/oxcgrt_daily.parquet``: OxCGRT legacy time series (stringency index,
  C6 stay-at-home level and flag, C2 workplace closing, cumulative confirmed cases and deaths) for 59
  countries on every continent, 2020-01-01 .. 2022-12-31, in the long indicators table.
* ``surgeplan/data/indicators/population_2019.csv``: population by country code, 2019 (World Bank).

How they were built: ``scripts/build_bundled_indicators.py``; sources, licences and citation:
``surgeplan/data/indicators/README.md``.

References
----------
Hale, T. et al. (2021). A global panel database of pandemic policies (Oxford COVID-19 Government
Response Tracker). Nature Human Behaviour 5, 529-538. Data CC BY 4.0.
World Bank, Population, total (SP.POP.TOTL), via datasets/population (PDDL).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.signals.generic import DateLike, filter_indicators, parse_regions

_PACKAGE_DIR = ("data", "indicators")
INDICATORS_FILE = "oxcgrt_daily.parquet"
POPULATION_FILE = "population_2019.csv"


def _resource(name: str):
    res = resources.files("surgeplan")
    for part in _PACKAGE_DIR:
        res = res / part
    return res / name


@lru_cache(maxsize=1)
def _load_indicators() -> pd.DataFrame:
    with resources.as_file(_resource(INDICATORS_FILE)) as path:
        frame = pd.read_parquet(path)
    return pd.DataFrame(
        {
            "region": frame["region"].astype(str).astype(object),
            "date": pd.to_datetime(frame["date"]).astype("datetime64[ns]"),
            "name": frame["name"].astype(str).astype(object),
            "value": frame["value"].astype(np.float64),
        }
    )


def bundled_indicators(
    regions: str | Iterable[str] | None = None,
    start: DateLike = None,
    end: DateLike = None,
    names: str | Iterable[str] | None = None,
    strict: bool = False,
) -> pd.DataFrame:
    """The bundled OxCGRT daily indicators as a long table ``region, date, name, value``.

    Parameters
    ----------
    regions : str or list of str, optional
        ISO 3166 alpha-3 codes (``"FRA,GBR"`` or a list); default all 59 bundled countries.
    start, end : date-like, optional
        Inclusive day range; the bundle covers 2020-01-01 .. 2022-12-31.
    names : str or list of str, optional
        Indicator names among ``stringency_index`` (0-100), ``stay_home_required`` (C6, 0-3),
        ``stay_home_general`` (C6 flag, 1 = whole country), ``workplace_closing`` (C2, 0-3),
        ``confirmed_cases``, ``confirmed_deaths`` (cumulative, persons).
    strict : bool
        When a requested region is not bundled: raise (True) or leave it out with a ``UserWarning``
        (False, the default, so a planning run over an inventory with other regions still gets the
        indicators of the bundled ones).

    Returns
    -------
    DataFrame
        A fresh copy (safe to modify), sorted by region, name, date.

    Raises
    ------
    SurgeplanError
        When ``strict`` and a requested region is not in the bundle.
    """
    data = _load_indicators()
    regs = parse_regions(regions)
    if regs is not None:
        unknown = sorted(set(regs) - set(data["region"].unique()))
        if unknown:
            message = (
                f"regions: {', '.join(unknown)} not in the bundled data; bundled: "
                f"{', '.join(bundled_regions())}"
            )
            if strict:
                raise SurgeplanError(message)
            warnings.warn(message, UserWarning, stacklevel=2)
    return filter_indicators(data, regs, start, end, names).copy()


def bundled_regions() -> list[str]:
    """The region codes of the bundled indicators, sorted."""
    return sorted(_load_indicators()["region"].unique())


@lru_cache(maxsize=1)
def _load_population() -> pd.Series:
    with resources.as_file(_resource(POPULATION_FILE)) as path:
        frame = pd.read_csv(path, dtype={"region": str}, keep_default_na=False)
    return pd.Series(
        frame["population"].to_numpy(np.float64),
        index=pd.Index(frame["region"], name="region"),
        name="population",
    )


def bundled_population(regions: str | Iterable[str] | None = None) -> pd.Series:
    """Population 2019 by ISO 3166 alpha-3 code (persons), as a float Series indexed by ``region``.

    Covers every World Bank country code and aggregate (``WLD``, ``EUU`` ...) plus ``RKS`` (Kosovo,
    the OxCGRT code; World Bank ``XKX``). Unknown requested regions are NaN.
    """
    pop = _load_population()
    regs = parse_regions(regions)
    return pop.copy() if regs is None else pop.reindex(pd.Index(regs, name="region"))
