"""Real hourly load of a large city through its 2020 shutdown: surgeplan against the seasonal naives and MSTL.

Issue 16 raises one bar on real data: **day-ahead and 7-day MAPE at most 0.8x the better seasonal naive
on real city load through a shutdown, and ahead of MSTL day-ahead**. The city is New York (NYISO zone
N.Y.C., bundled in ``surgeplan/data/nyc_load``, :func:`surgeplan.forecast.datasets.nyc_load`); the
shutdown is New York State's "PAUSE" order (22 March 2020) through the first reopening phase (8 June).

Every model runs in the SAME rolling-origin engine (:func:`surgeplan.forecast.backtest.backtest`,
what ``surgeplan backtest`` runs): an origin at every New York midnight of each ``--windows`` entry
(default: the shutdown's first six weeks, 16 Mar - 30 Apr 2020, then 16 Mar - 30 Jun through the first
reopening phases, when the summer's heat drives the load), a ``--horizon`` window (7 days by default),
no weather. Models:

* ``surgeplan``: the project's forecaster with the bundled OxCGRT indicators of the United States
  (national: the only ones a user could download for the city), refitted every 7 origins and brought
  forward with ``update()`` in between (``surgeplan backtest``'s default);
* ``surgeplan (no indicators)``: the same without indicators;
* ``naive-day`` / ``naive-week``: "same hour yesterday / same hour last week";
* ``MSTL`` (statsforecast, seasons 24 h and 168 h, AutoETS trend) refitted at every origin on the last
  8 weeks, as the issue measured it; ``AutoETS`` (season 24 h) on the same window with ``--ets``.

Scores (New York days; lead day 1 = the day that starts at the origin):

* **busy-hour MAPE** (``surgeplan backtest``'s ``mape``: the day's highest hourly load);
* **hourly MAPE**: every hour of the lead day, the forecast mean against the load measured;
* **7-day** = lead day 7 (``d7``) and the mean over lead days 1-7 (``d1-7``);
* coverage of the p10-p90 interval over the hours (``cov 80%``).

The ratio row divides surgeplan's MAPE by the better of the two seasonal naives at the same lead.

Usage::

    .venv/bin/python benchmarks/bench_city_load.py                   # prints the tables
    .venv/bin/python benchmarks/bench_city_load.py --write-results   # ... and updates RESULTS.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_forecast import StatsForecastPeer, to_markdown, write_section  # noqa: E402

from surgeplan.forecast.backtest import SeasonalNaive, backtest  # noqa: E402

TZ = "America/New_York"
MSTL_WINDOW_DAYS = 56  # "MSTL refitted daily on 8 weeks": the peer


def city_data(indicators: bool = True) -> dict[str, pd.DataFrame | None]:
    """New York City's hourly load (MW), one inventory row in region USA, and the US indicators."""
    from surgeplan.forecast.datasets import nyc_load
    from surgeplan.signals import bundled_indicators

    meas = nyc_load()
    rid = str(meas["resource_id"].iloc[0])
    inv = pd.DataFrame({"resource_id": [rid], "kind": ["generic"], "region": ["USA"]})
    ind = bundled_indicators(regions=["USA"], start="2020-01-01", end="2020-12-31") if indicators else None
    return {"measurements": meas, "inventory": inv, "indicators": ind, "covariates": None}


def _mstl(q):
    peer = StatsForecastPeer("mstl", q)
    peer.window_days = MSTL_WINDOW_DAYS
    return peer


def _ets(q):
    peer = StatsForecastPeer("ets", q)
    peer.window_days = MSTL_WINDOW_DAYS
    return peer


def _shock(q):
    from surgeplan.forecast import ShockForecaster

    return ShockForecaster(quantiles=tuple(q))


def hourly_scores(forecasts: pd.DataFrame, measurements: pd.DataFrame, tz: str = TZ) -> pd.DataFrame:
    """Hourly MAPE (%) and p10-p90 coverage per lead day, pooled over origins."""
    act = measurements.set_index(["resource_id", "ts"])["load"]
    f = forecasts.join(act, on=["resource_id", "ts"], how="inner")
    f = f[f["load"] > 0]
    origin_day = pd.DatetimeIndex(f["origin"]).tz_convert(tz).normalize()
    ts_day = pd.DatetimeIndex(f["ts"]).tz_convert(tz).normalize()
    lead = (ts_day.tz_localize(None) - origin_day.tz_localize(None)).days + 1
    ape = 100.0 * np.abs(f["mean"].to_numpy() - f["load"].to_numpy()) / f["load"].to_numpy()
    inside = (f["load"] >= f["p10"]) & (f["load"] <= f["p90"])
    t = pd.DataFrame({"lead": lead, "ape": ape, "inside": inside.to_numpy()})
    return t.groupby("lead").agg(hourly_mape=("ape", "mean"), cov80=("inside", "mean"))


def run(start: str, end: str, horizon: str, with_ets: bool, log=print) -> dict[str, dict]:
    """Backtest every model on the same origins; returns {model: {"metrics", "hourly"}}."""
    data = city_data(indicators=True)
    bare = {**data, "indicators": None}
    models = {
        "surgeplan": (_shock, data, 7),
        "surgeplan (no indicators)": (_shock, bare, 7),
        "naive-day": (lambda q: SeasonalNaive("day", q), bare, 7),
        "naive-week": (lambda q: SeasonalNaive("week", q), bare, 7),
        "MSTL": (_mstl, bare, 1),
        **({"AutoETS": (_ets, bare, 1)} if with_ets else {}),
    }
    out = {}
    for name, (factory, d, refit) in models.items():
        t = time.perf_counter()
        res = backtest(
            d["measurements"],
            d["inventory"],
            d["indicators"],
            None,
            start=start,
            end=end,
            horizon=horizon,
            tz=TZ,
            quantiles=(0.1, 0.5, 0.9),
            model=factory,
            refit_every=refit,
        )
        log(f"  {name:<26} {time.perf_counter() - t:7.1f} s ({int(res.timings['n_fits'])} fits)")
        out[name] = {"metrics": res.metrics, "hourly": hourly_scores(res.internal, d["measurements"])}
    return out


def table(results: dict[str, dict], leads: int) -> pd.DataFrame:
    """MAPE per model: day-ahead, lead day ``leads``, mean of days 1..leads; busy hour and hourly."""
    rows = []
    for name, r in results.items():
        bh = r["metrics"].groupby("horizon_days")["mape"].mean()
        hr = r["hourly"]
        rows.append(
            {
                "model": name,
                "busy-hour MAPE % d1": bh.get(1, np.nan),
                f"d{leads}": bh.get(leads, np.nan),
                f"d1-{leads}": bh.loc[1:leads].mean(),
                "hourly MAPE % d1": hr["hourly_mape"].get(1, np.nan),
                f"d{leads} ": hr["hourly_mape"].get(leads, np.nan),
                f"d1-{leads} ": hr["hourly_mape"].loc[1:leads].mean(),
                "cov 80% d1": hr["cov80"].get(1, np.nan),
                f"cov 80% d1-{leads}": hr["cov80"].loc[1:leads].mean(),
            }
        )
    t = pd.DataFrame(rows)
    naive = t[t["model"].isin(["naive-day", "naive-week"])]
    cols = [c for c in t.columns if "MAPE" in c or c.startswith("d")]
    if len(naive):
        ratio = {"model": "surgeplan / better naive"}
        for c in cols:
            ratio[c] = float(t.loc[t["model"] == "surgeplan", c].iloc[0]) / float(naive[c].min())
        mstl = t[t["model"] == "MSTL"]
        rows = [ratio]
        if len(mstl):
            rows.append(
                {
                    "model": "surgeplan / MSTL",
                    **{
                        c: float(t.loc[t["model"] == "surgeplan", c].iloc[0]) / float(mstl[c].iloc[0])
                        for c in cols
                    },
                }
            )
        t = pd.concat([t, pd.DataFrame(rows)], ignore_index=True)
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--windows",
        default="2020-03-16:2020-04-30,2020-03-16:2020-06-30",
        help="origin windows FIRST:LAST (New York days), comma separated (default: the shutdown's first "
        "six weeks, then through the first reopening phases)",
    )
    ap.add_argument("--horizon", default="7d", help="forecast window per origin (default 7d)")
    ap.add_argument("--ets", action="store_true", help="also AutoETS (slow)")
    ap.add_argument("--write-results", action="store_true", help="update benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    from _machine import machine_markdown

    leads = int(pd.Timedelta(args.horizon) / pd.Timedelta(days=1))
    sections = []
    for window in args.windows.split(","):
        try:
            start, end = (str(pd.Timestamp(x).date()) for x in window.split(":"))
        except ValueError:
            ap.error(f"--windows: {window!r} is not FIRST:LAST (two days, YYYY-MM-DD:YYYY-MM-DD)")
        print(f"New York City hourly load, origins {start} .. {end} (New York midnights), {args.horizon}")
        t = table(run(start, end, args.horizon, args.ets), leads)
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(t.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        sections.append(f"Origins {start} .. {end}:\n\n" + to_markdown(t))
    if args.write_results:
        write_section(
            "Forecast: real city load through a shutdown (New York City)",
            "**New York City hourly load (NYISO zone N.Y.C., real), New York midnights, "
            f"{args.horizon} horizon, no weather** (`benchmarks/bench_city_load.py`)\n\n"
            "Busy-hour MAPE (`surgeplan backtest`'s `mape`) and hourly MAPE (%), mean over origins; `d1` = "
            f"the day ahead, `d{leads}` = lead day {leads}, `d1-{leads}` = mean of lead days 1-{leads}. "
            "Target (issue 16): surgeplan's day-ahead and 7-day MAPE at most 0.8x the better seasonal "
            "naive, and below MSTL's day-ahead.\n\n" + "\n\n".join(sections) + "\n\n" + machine_markdown(),
        )
        print("wrote RESULTS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
