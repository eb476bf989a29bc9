"""Benchmark: the minute-by-minute planning loop, ``update()`` against a refit.

In March 2020 the operator's planners went from monthly to daily, hourly, then minute-by-minute
planning. This measures what that costs with :class:`surgeplan.forecast.ShockForecaster`:

1. simulate ``--resources`` resources of the bundled operator at a 1-minute cadence
   (``surgeplan.simulate``, real 2020 OxCGRT indicators) from 2 to 18 March 2020;
2. ``fit`` on the history before 16 March 00:00 UTC (``--history-days`` days, ~20,000 steps a
   resource), then, minute after minute, ``update()`` with the new minute of every resource and
   ``predict`` the next hour (60 steps): the latency of each and the memory they hold;
3. peers, in the same process on the same series: surgeplan's own full refit, and statsforecast
   MSTL (seasons 1 day and 1 week in minutes, the usual tool without an online update: refitted
   for every new minute), timed on ``--peer-series`` series and extrapolated linearly (their cost
   is per series).

Run: ``python benchmarks/bench_forecast_cadence.py [--resources 1000] [--minutes 30] [--write-results]``.
Target (issue 7): a minute-by-minute loop over thousands of resources stays cheap: one update plus
one next-hour forecast of 1,000 resources well within the minute (here: under 10 s).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _machine import machine_markdown  # noqa: E402

TARGET_S = 10.0
TITLE = "Forecast: minute cadence, update() vs refit"


def operator(n: int) -> pd.DataFrame:
    """``n`` resources of the bundled operator (dimensioned kinds; resampled under new ids past 631)."""
    from surgeplan.simulate import bundled_inventory

    inv = bundled_inventory()
    inv = inv[(inv["kind"] != "generic") & (inv["region"] != "MAR")].reset_index(drop=True)
    reps = int(np.ceil(n / len(inv)))
    out = pd.concat(
        [inv.assign(resource_id=inv["resource_id"] + (f"-X{i}" if i else "")) for i in range(reps)],
        ignore_index=True,
    )
    return out.iloc[:n].reset_index(drop=True)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resources", type=int, default=1000)
    ap.add_argument("--history-days", type=int, default=14)
    ap.add_argument("--minutes", type=int, default=30, help="minutes of the loop (updates + forecasts)")
    ap.add_argument("--peer-series", type=int, default=3)
    ap.add_argument("--write-results", action="store_true")
    args = ap.parse_args(argv)

    from surgeplan.forecast import ShockForecaster
    from surgeplan.signals import bundled_indicators
    from surgeplan.simulate import simulate

    inv = operator(args.resources)
    cut = pd.Timestamp("2020-03-16", tz="UTC")
    start = cut - pd.Timedelta(days=args.history_days)
    end = cut + pd.Timedelta(minutes=args.minutes + 1)
    ind = bundled_indicators(regions=sorted(inv["region"].unique()), start="2019-12-01", end="2020-12-31")
    ind_known = ind[pd.to_datetime(ind["date"]) < cut.tz_localize(None)]
    t = time.perf_counter()
    meas = simulate(inv, ind, None, start.tz_localize(None), end.tz_localize(None).ceil("D"), "1min", 1)
    t_sim = time.perf_counter() - t
    ts = pd.to_datetime(meas["ts"], utc=True)
    hist = meas.loc[(ts < cut).to_numpy()]
    steps = len(hist) // args.resources
    print(
        f"simulated {len(meas):,} rows in {t_sim:.1f} s; history {len(hist):,} rows ({steps:,} steps a "
        "resource)"
    )
    rss0 = rss_mib()

    t = time.perf_counter()
    model = ShockForecaster(quantiles=(0.5, 0.9, 0.99)).fit(hist, inv, ind_known)
    t_fit = time.perf_counter() - t
    rss_fit = rss_mib()
    print(f"fit: {t_fit:.1f} s")
    model.predict("60min")  # warm-up

    upd, pred = [], []
    tracemalloc.start()
    peak_upd = 0
    for k in range(args.minutes):
        a = cut + pd.Timedelta(minutes=k)
        new = meas.loc[((ts >= a) & (ts < a + pd.Timedelta(minutes=1))).to_numpy()]
        tracemalloc.reset_peak()
        t = time.perf_counter()
        model.update(new)
        upd.append(time.perf_counter() - t)
        peak_upd = max(peak_upd, tracemalloc.get_traced_memory()[1])
        t = time.perf_counter()
        fc = model.predict("60min")
        pred.append(time.perf_counter() - t)
    tracemalloc.stop()
    assert len(fc) == 60 * args.resources and fc["ts"].min() == cut + pd.Timedelta(minutes=args.minutes)
    upd, pred = np.array(upd), np.array(pred)
    loop = upd + pred
    print(
        f"update: median {np.median(upd):.3f} s, max {upd.max():.3f} s; predict 60 min: median "
        f"{np.median(pred):.3f} s"
    )

    # peers: surgeplan refit, statsforecast MSTL refit on a few series (extrapolated)
    t = time.perf_counter()
    model.refit()
    t_refit = time.perf_counter() - t
    peer_rows = [("surgeplan `refit()` (all resources)", args.resources, t_refit, t_refit)]
    try:
        from statsforecast import StatsForecast
        from statsforecast.models import MSTL

        ids = list(inv["resource_id"][: args.peer_series])
        sub = meas.loc[meas["resource_id"].isin(ids) & (ts < cut).to_numpy()]
        df = sub.rename(columns={"resource_id": "unique_id", "ts": "ds", "load": "y"})
        df["ds"] = pd.to_datetime(df["ds"], utc=True).dt.tz_localize(None)
        sf = StatsForecast(models=[MSTL(season_length=[1440, 10080])], freq="min", n_jobs=1)
        sf.forecast(
            df=df.groupby("unique_id", observed=True).head(3 * 1440), h=60
        )  # warm-up (numba compilation)
        t = time.perf_counter()
        sf.forecast(df=df, h=60, level=[80, 98])
        t_mstl = time.perf_counter() - t
        peer_rows.append(
            (
                "statsforecast MSTL refit + 60-min forecast",
                len(ids),
                t_mstl,
                t_mstl / len(ids) * args.resources,
            )
        )
    except Exception as exc:  # noqa: BLE001 - a missing peer is listed, not fatal
        peer_rows.append((f"statsforecast MSTL: not run ({type(exc).__name__}: {exc})", 0, np.nan, np.nan))

    once = float(np.median(loop))
    lines = [
        f"`benchmarks/bench_forecast_cadence.py`: {args.resources:,} resources of the bundled operator "
        f"simulated at a 1-minute cadence ({steps:,} steps of history each, {len(hist):,} rows; real 2020 "
        f"OxCGRT indicators), fitted on the history before 2020-03-16 00:00 UTC, then {args.minutes} minutes "
        "of the planning loop: `update()` with the new minute of every resource, then `predict('60min')` (3 "
        "quantiles + mean).",
        "",
        "| step | seconds (median) | max | per resource |",
        "|---|---:|---:|---:|",
        f"| `fit` ({steps:,} steps x {args.resources:,} resources) | {t_fit:.1f} | | "
        f"{t_fit / args.resources * 1e3:.1f} ms |",
        f"| `update()`: one new minute of every resource | {np.median(upd):.3f} | {upd.max():.3f} | "
        f"{np.median(upd) / args.resources * 1e6:.0f} µs |",
        f"| `predict('60min')` | {np.median(pred):.3f} | {pred.max():.3f} | "
        f"{np.median(pred) / args.resources * 1e6:.0f} µs |",
        f"| one minute of the loop (update + predict) | {once:.3f} | {loop.max():.3f} | |",
        "",
        "Against a refit at every new minute (what a tool without an online update does):",
        "",
        "| peer | series timed | seconds | seconds for all resources | ratio to one minute of the loop |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, k, secs, full in peer_rows:
        lines.append(
            f"| {name} | {k} | {secs:.1f} | {full:.1f} | {full / once:.0f}x |"
            if np.isfinite(full)
            else f"| {name} | - | - | - | - |"
        )
    lines += [
        "",
        f"Memory: process max RSS {rss0:,.0f} MiB after simulating, {rss_fit:,.0f} MiB after the fit, "
        f"{rss_mib():,.0f} MiB at the end; largest Python-heap peak of an update (tracemalloc, numpy buffers "
        f"included; the first update of a local day extends the history arrays by a day): "
        f"{peak_upd / 2**20:,.1f} MiB.",
        f"Target: one minute of the loop under {TARGET_S:.0f} s for {args.resources:,} resources: "
        f"{'MET' if loop.max() < TARGET_S else 'NOT MET'} (max {loop.max():.2f} s).",
        "",
        machine_markdown(),
    ]
    body = "\n".join(lines)
    print(body)
    if args.write_results:
        from bench_forecast import write_section

        write_section(TITLE, body)
        print("wrote RESULTS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
