"""Build the indicator data bundled in ``surgeplan/data/indicators/`` from the public source files.

Reproducible: run from the repository root with the source files downloaded beside it::

    .venv/bin/python scripts/build_bundled_indicators.py \
        --oxcgrt ../shared/data/oxcgrt \
        --population ../shared/data/population/population_2019.csv

Inputs
------
* OxCGRT legacy time series (``OxCGRT/covid-policy-tracker-legacy``, ``legacy_data_202207/timeseries/``,
  commit 73d422987c9d5b7e10275b884330f18a0a5aa107), the six files ``stringency_index.csv``,
  ``c6_stay_at_home_requirements.csv``, ``c6_flag.csv``, ``c2_workplace_closing.csv``,
  ``confirmed_cases.csv``, ``confirmed_deaths.csv``. CC BY 4.0, Hale et al. (2021).
* Population 2019 (``datasets/population`` ``data/population.csv``, World Bank / UN WPP, commit
  425fc447a53a26c767a15a7de60c4cc2478a0595, filtered to 2019). PDDL.

Outputs
-------
* ``oxcgrt_daily.parquet``: the long indicators table ``region, date, name, value`` for the
  countries in :data:`REGIONS`, days ``--start`` .. ``--end``, read with
  :func:`surgeplan.signals.read_oxcgrt_legacy` (so names are the surgeplan names). Values are stored
  unchanged (float64); ``region`` and ``name`` are dictionary-encoded, ``date`` is a date32, rows are
  sorted by region, name, date, and the file is zstd-compressed.
* ``population_2019.csv``: ``region, country_name, population`` for every code of the source,
  with World Bank's Kosovo code ``XKX`` also given as ``RKS`` (the code OxCGRT uses).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from surgeplan.signals.oxcgrt import LEGACY_NAMES, read_oxcgrt_legacy

#: Bundled countries: Europe, the Americas, Africa and the Middle East, Asia and Oceania.
REGIONS = (
    # Europe
    "FRA GBR ITA ESP DEU BEL NLD CHE AUT POL SWE NOR DNK FIN PRT IRL GRC CZE HUN ROU UKR RUS "
    # Americas
    "USA CAN BRA MEX ARG CHL COL PER "
    # Africa and the Middle East
    "ZAF EGY NGA MAR KEN GHA ETH DZA TUN SAU ARE ISR TUR IRN QAT "
    # Asia and Oceania
    "IND CHN JPN KOR SGP AUS NZL IDN PHL THA VNM MYS PAK BGD"
).split()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--oxcgrt", type=Path, default=ROOT.parent / "shared/data/oxcgrt")
    ap.add_argument(
        "--population", type=Path, default=ROOT.parent / "shared/data/population/population_2019.csv"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "src/surgeplan/data/indicators")
    ap.add_argument("--start", default="2020-01-01")
    ap.add_argument("--end", default="2022-12-31")
    args = ap.parse_args(argv)

    files = [args.oxcgrt / f"{stem}.csv" for stem in LEGACY_NAMES]
    ind = read_oxcgrt_legacy(files, regions=REGIONS, start=args.start, end=args.end)
    missing = sorted(set(REGIONS) - set(ind["region"]))
    if missing:
        raise SystemExit(f"regions not in the source: {missing}")
    table = pa.table(
        {
            "region": pa.array(ind["region"]).dictionary_encode(),
            "date": pa.array(ind["date"].dt.date, type=pa.date32()),
            "name": pa.array(ind["name"]).dictionary_encode(),
            "value": pa.array(ind["value"], type=pa.float64()),
        }
    )
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "oxcgrt_daily.parquet"
    pq.write_table(
        table, target, compression="zstd", compression_level=19, use_dictionary=True, row_group_size=1 << 20
    )
    print(
        f"{target}: {len(ind)} rows, {ind['region'].nunique()} regions, "
        f"{ind['date'].min():%Y-%m-%d}..{ind['date'].max():%Y-%m-%d}, {target.stat().st_size / 1e3:.0f} kB"
    )

    pop = pd.read_csv(args.population, dtype={"Country Code": str})
    pop = pop.loc[pop["Year"] == 2019, ["Country Code", "Country Name", "Value"]]
    pop.columns = ["region", "country_name", "population"]
    kosovo = pop.loc[pop["region"] == "XKX"].assign(region="RKS")
    pop = pd.concat([pop, kosovo], ignore_index=True).sort_values("region")
    pop["population"] = pop["population"].astype("int64")
    pop.to_csv(args.out / "population_2019.csv", index=False)
    print(f"{args.out / 'population_2019.csv'}: {len(pop)} rows")


if __name__ == "__main__":
    main()
