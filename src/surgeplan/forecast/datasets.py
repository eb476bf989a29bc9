"""Bundled real data for examples and proofs (read from the package, never from /work/shared).

``rte_france()``: half-hourly French national electricity consumption (MW) with temperature,
2019-09-01 to 2020-06-07, and France's OxCGRT indicators for 2020. See
``surgeplan/data/rte_france/README.md`` for sources and licences (RTE eCO2mix, Licence Ouverte 2.0;
OxCGRT, CC BY 4.0, Hale et al. 2021).

``nyc_load()``: hourly electricity load (MW) of New York City (NYISO zone J, N.Y.C.), 2019-01-01 to
2020-08-22 (local days): real hourly load of a large city through its 2020 shutdown. See
``surgeplan/data/nyc_load/README.md`` (NYISO data via COVID-EMDA, MIT licence, Ruan et al.).
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["nyc_load", "rte_france"]


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


NYC_TZ = "America/New_York"


def nyc_load() -> pd.DataFrame:
    """New York City hourly load 2019-01-01..2020-08-22 (local days), in surgeplan's measurements table.

    Returns
    -------
    measurements : ``resource_id='NYC-load', ts (UTC), load`` (MW, average over the hour starting
        at ``ts``), sorted by ``ts``; 14,398 rows

    The source has one row per local day with 24 hour-beginning columns, also on DST days. The
    local hours are converted through ``America/New_York``:

    * spring forward (2019-03-10, 2020-03-08): the source's 02:00 does not exist; its value is
      exactly the mean of 01:00 and 03:00 (a filler), so it is dropped: 23 hours that day;
    * fall back (2019-11-03): the source gives one value for the repeated 01:00; it is placed on
      the first 01:00 (EDT, 05:00 UTC) and the second 01:00 (EST, 06:00 UTC) is left absent, so
      the series has one missing hour there rather than an invented value.

    No UTC stamp is duplicated; the only gap is 2019-11-03 06:00 UTC.
    """
    base = resources.files("surgeplan") / "data" / "nyc_load"
    with resources.as_file(base / "nyc_load_2019_2020.csv.gz") as p:
        raw = pd.read_csv(p, compression="gzip")
    hours = [c for c in raw.columns if c != "date"]
    wide = raw.set_index(pd.to_datetime(raw["date"], format="%Y-%m-%d"))[hours]
    long = wide.stack()
    local = long.index.get_level_values(0) + pd.to_timedelta(
        [int(h[:2]) for h in long.index.get_level_values(1)], unit="h"
    )
    # ambiguous=True: the single fall-back 01:00 is the first (daylight-time) one;
    # nonexistent='NaT': the spring-forward 02:00 filler gets no stamp and is dropped below
    ts = pd.DatetimeIndex(local).tz_localize(
        NYC_TZ, ambiguous=np.ones(len(local), dtype=bool), nonexistent="NaT"
    )
    keep = ~ts.isna()
    meas = pd.DataFrame(
        {"resource_id": "NYC-load", "ts": ts[keep].tz_convert("UTC"), "load": long.to_numpy(float)[keep]}
    )
    return meas.sort_values("ts", ignore_index=True)
