"""Bundled real data for examples and proofs (read from the package, never from /work/shared).

``rte_france()``: half-hourly French national electricity consumption (MW) with temperature,
2019-09-01 to 2020-06-07, and France's OxCGRT indicators for 2020. See
``surgeplan/data/rte_france/README.md`` for sources and licences (RTE eCO2mix, Licence Ouverte 2.0;
OxCGRT, CC BY 4.0, Hale et al. 2021).
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["rte_france"]


def rte_france() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """France 2019-2020 load through the lockdown, in surgeplan's long tables.

    Returns
    -------
    measurements : ``resource_id='FRA-load', ts (UTC), load`` (MW)
    inventory : one row, ``kind='generic', region='FRA'``
    indicators : ``region, date, name, value`` (``stringency_index``, ``stay_home_required``,
        ``stay_home_general``, ``workplace_closing``)
    covariates : ``region='FRA', ts, name='temperature_c', value`` (degrees Celsius)
    """
    base = resources.files("surgeplan") / "data" / "rte_france"
    with resources.as_file(base / "france_load_2019_2020.csv.gz") as p:
        raw = pd.read_csv(p, compression="gzip")
    with resources.as_file(base / "france_indicators_2020.csv") as p:
        ind = pd.read_csv(p, parse_dates=["date"])
    ts = pd.to_datetime(raw["ts"], utc=True)
    meas = pd.DataFrame({"resource_id": "FRA-load", "ts": ts, "load": raw["load_mw"].astype(float)})
    cov = pd.DataFrame(
        {"region": "FRA", "ts": ts, "name": "temperature_c", "value": raw["temperature_c"].astype(float)}
    )
    inv = pd.DataFrame({"resource_id": ["FRA-load"], "kind": ["generic"], "region": ["FRA"]})
    return meas, inv, ind, cov
