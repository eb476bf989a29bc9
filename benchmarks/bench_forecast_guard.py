"""Does the demo's forecast need the ``max_growth`` guard? Which resources, columns and dates trip it?

The replay of ``surgeplan demo`` (:func:`surgeplan.pipeline.run_demo`) forecasts the bundled
operator on seven weekly as-of dates, each a fit on the data before it (the demo refits weekly),
then caps every busy-hour column at 10x the highest measured busy hour
(:func:`surgeplan.plan.once.bound_forecast`). This script runs exactly those forecasts
(:func:`surgeplan.plan.replay._forecast_chain`, the demo's simulation, seed and settings) without
the planning, and prints per as-of date:

* ``capped``: busy-hour rows the guard changes (the replay summary's ``forecast_rows_capped``;
  issue 16 asks for 0): a centre (mean or median) beyond the bound;
* ``above_<col>``: rows whose column is above 10x the highest measured busy hour (``mean``,
  ``p50``, ``p90``, ``p99``), capped or not, and ``cover_<col>``: the share of realised busy
  hours at or below each quantile column over the 42 days (is a tail above the bound honest?);
* the (kind, region) pairs with the most capped rows;
* the ratio of the p90 daily busy hour to the realised one over forecast days 8-42 (median and
  95th percentile; issue 16: median in [0.9, 1.6], p95 <= 2.5).

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_forecast_guard.py [--dates 2020-03-02,2020-03-09]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from surgeplan import quantiles
from surgeplan.dimension import prepare_inventory
from surgeplan.forecast.busy_hour import busy_hour
from surgeplan.pipeline import DemoConfig, _subset
from surgeplan.plan.once import bound_forecast
from surgeplan.plan.replay import _forecast_chain
from surgeplan.signals import bundled_indicators
from surgeplan.simulate import bundled_inventory, simulate


def demo_data(cfg: DemoConfig) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The demo's inventory, indicators and simulated hourly load (as :func:`run_demo` builds them)."""
    inv = _subset(bundled_inventory(), cfg)
    ind = bundled_indicators(regions=sorted(inv["region"].unique()), start="2019-12-01", end="2020-12-31")
    meas = simulate(inv, ind, None, cfg.sim_start, cfg.sim_end, "1h", cfg.seed)
    inv = prepare_inventory(inv).reset_index(drop=True)
    return inv, ind, meas.sort_values(["resource_id", "ts"], ignore_index=True)


def guard_report(
    day: pd.Timestamp, bh: pd.DataFrame, measured: pd.DataFrame, inv: pd.DataFrame, factor: float
):
    """One as-of date's row (counts and ratios) and its capped rows per (kind, region)."""
    hist = measured.loc[measured["period"] < day]
    _, capped = bound_forecast(bh, hist, factor)
    bound = bh["resource_id"].map(hist.groupby("resource_id", observed=True)["load"].max() * factor)
    cols = [c for c in bh.columns if c == quantiles.MEAN or quantiles.is_column(c)]
    over = {c: (bh[c] > bound).to_numpy() for c in cols}
    hit = bh.loc[np.logical_or.reduce(list(over.values()))]
    meta = inv.set_index("resource_id")
    where = hit.groupby([hit["resource_id"].map(meta["kind"]), hit["resource_id"].map(meta["region"])]).size()
    j = bh.merge(measured.rename(columns={"load": "actual"}), on=["resource_id", "period"])
    lead = (j["period"] - day).dt.days + 1
    far = j.loc[(lead >= 8) & (j["actual"] > 0)]
    ratio = far["p90"] / far["actual"]
    row = {"asof": day.date(), "capped": capped, **{f"above_{c}": int(v.sum()) for c, v in over.items()}}
    seen = j.loc[j["actual"] > 0]
    row |= {f"cover_{c}": float((seen["actual"] <= seen[c]).mean()) for c in cols if c != quantiles.MEAN}
    row |= {"p90_ratio_median": float(ratio.median()), "p90_ratio_p95": float(ratio.quantile(0.95))}
    return row, where.sort_values(ascending=False)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dates", default=None, help="as-of dates, comma separated (default: the demo's)")
    args = ap.parse_args(argv)
    cfg = DemoConfig()
    s = cfg.settings
    t0 = time.perf_counter()
    inv, ind, meas = demo_data(cfg)
    measured = busy_hour(meas, s.cadence, tz=s.tz)
    dates = (
        [pd.Timestamp(d) for d in args.dates.split(",")]
        if args.dates
        else list(pd.date_range(cfg.replay_start, cfg.replay_end, freq=f"{cfg.replay_every_days}D"))
    )
    rows = []
    for day in dates:
        bh = _forecast_chain([day], meas, inv, ind, s)[0]
        row, where = guard_report(day, bh, measured, inv, s.max_growth)
        rows.append(row)
        print(row, f"{time.perf_counter() - t0:.0f} s", flush=True)
        if len(where):
            print("  most rows above the bound (kind, region):", where.head(5).to_dict(), flush=True)
    res = pd.DataFrame(rows)
    print(res.to_string(index=False))
    print(f"total capped busy-hour rows: {int(res['capped'].sum()):,}")


if __name__ == "__main__":
    main()
