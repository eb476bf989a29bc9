"""No runaway: does a forecast carry a levelled-off shock as a level, or extrapolate it as growth?

The demo's forecasting loop (``surgeplan.pipeline.run_demo``) without the planning: the bundled
operator (a subsample in proportion to the kinds), simulated hourly 2020-01-06 .. 2020-05-04,
fit on the history before 2020-02-24, then each week ``update`` + ``refit`` and a 42-day forecast
with held indicators, its daily busy hour (:func:`surgeplan.forecast.busy_hour`) compared with
the measured one. Printed per as-of date and overall:

* ``capped``: busy-hour rows the demo's ``max_growth`` guard (10x the highest measured busy
  hour, :func:`surgeplan.pipeline.bound_forecast`) would cap; target 0;
* ratio of the p90 daily busy hour to the realised daily busy hour over days 8-42 of each
  forecast: median and 95th percentile (issue 16: median in [0.9, 1.6], p95 <= 2.5);
* p10-p90 coverage of the hourly load.

Usage::

    .venv/bin/python benchmarks/bench_forecast_runaway.py [--resources 150] [--every 7]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from surgeplan.forecast import ShockForecaster, busy_hour
from surgeplan.plan.once import bound_forecast, known_before
from surgeplan.signals import bundled_indicators
from surgeplan.simulate import bundled_inventory, simulate


def subsample(n: int) -> pd.DataFrame:
    """``n`` resources of the bundled inventory, every kind in proportion (first of each kind)."""
    inv = bundled_inventory()
    share = n / len(inv)
    rank = inv.groupby("kind").cumcount()
    quota = inv["kind"].map((inv["kind"].value_counts() * share).round().clip(lower=1))
    return inv.loc[rank < quota].reset_index(drop=True)


def run(n: int, every: int, start: str, end: str, horizon: int, seed: int) -> pd.DataFrame:
    inv = subsample(n)
    ind = bundled_indicators(regions=sorted(inv["region"].unique()), start="2019-12-01", end="2020-12-31")
    meas = simulate(inv, ind, None, "2020-01-06", "2020-05-04", "1h", seed)
    ts = pd.to_datetime(meas["ts"], utc=True)
    actual = busy_hour(meas, "D").rename(columns={"load": "actual"})
    asofs = pd.date_range(start, end, freq=f"{every}D")
    model = ShockForecaster(quantiles=(0.1, 0.5, 0.9, 0.99))
    rows = []
    t0 = time.perf_counter()
    for i, asof in enumerate(asofs):
        cut = pd.Timestamp(asof, tz="UTC")
        if i == 0:
            model.fit(meas.loc[(ts < cut).to_numpy()], inv, known_before(ind, asof), cutoff=cut)
        else:
            prev = pd.Timestamp(asofs[i - 1], tz="UTC")
            model.update(meas.loc[((ts >= prev) & (ts < cut)).to_numpy()], indicators=known_before(ind, asof))
            model.refit()
        f = model.predict(f"{horizon}D")
        bh = busy_hour(f, "D")
        bh["period"] = pd.to_datetime(bh["period"]).dt.tz_convert(None)
        _, capped = bound_forecast(
            bh, actual.loc[actual["period"] < asof].rename(columns={"actual": "load"}), 10.0
        )
        j = bh.merge(actual[["resource_id", "period", "actual"]], on=["resource_id", "period"])
        lead = (j["period"] - asof).dt.days + 1
        far = j[(lead >= 8) & (lead <= horizon) & (j["actual"] > 0)]
        ratio = far["p90"] / far["actual"]
        hourly = f.merge(meas, on=["resource_id", "ts"])
        cover = float(((hourly["load"] >= hourly["p10"]) & (hourly["load"] <= hourly["p90"])).mean())
        rows.append(
            {
                "asof": asof.date(),
                "capped": capped,
                "ratio_median": float(ratio.median()),
                "ratio_p95": float(ratio.quantile(0.95)),
                "coverage_p10_p90": cover,
                "n_ratio": len(ratio),
            }
        )
        print(rows[-1], f"{time.perf_counter() - t0:.0f}s", flush=True)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resources", type=int, default=150)
    ap.add_argument("--every", type=int, default=7, help="days between as-of dates")
    ap.add_argument("--start", default="2020-02-24")
    ap.add_argument("--end", default="2020-04-06")
    ap.add_argument("--horizon", type=int, default=42, help="days")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    res = run(args.resources, args.every, args.start, args.end, args.horizon, args.seed)
    print(res.to_string(index=False))
    print(
        f"total capped rows: {int(res['capped'].sum())}; worst p95 ratio {res['ratio_p95'].max():.2f}; "
        f"median of medians {np.median(res['ratio_median']):.2f}"
    )


if __name__ == "__main__":
    main()
