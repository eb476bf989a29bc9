"""Proof 2: a simulated replay of 2020 for the bundled operator, scored like a planner would.

Data: ``surgeplan.simulate.simulate`` on a fixed random subsample of ``bundled_inventory()``
(``--resources``, seed 0; generic resources left out: they are never dimensioned), driven by
``bundled_indicators()`` (real OxCGRT 2020 indicators of the operator's countries), hourly,
2019-12-01 .. 2020-07-01. Rolling origins at every UTC midnight from 2020-02-15 to 2020-05-31;
each forecasts 28 days; scores at lead days 1, 7, 14 and 28 (``surgeplan.forecast.backtest``).

Targets checked (PASS / FAIL printed and written):

1. **accuracy**: median busy-hour MASE at 14 days at least 30% below the best peer's (seasonal
   naive day / week on all resources; statsforecast AutoETS / MSTL on ``--peer-resources``
   resources evenly spaced through the subsample, so every kind is in, compared on those);
2. **calibration**: hourly coverage of the 80% interval (p10-p90) within 75-85%, of the 98%
   interval (p1-p99) within 95-99%, pooled over resources, origins and lead days;
3. **anticipation**: every resource that ran short of its installed capacity at least 8 days after
   its region's lockdown threshold was crossed (so that the indicators known to the origin 7 days
   before the shortage already showed it) was foreseen at least 7 days ahead by the p90 forecast;
4. **transfer**: for each region that crossed its lockdown threshold (``signals.first_lockdown``)
   after another region, the forecast made at the first origin that knows the crossing (the
   next midnight) carries at least half of the change of busy-hour load that followed (days 1-28
   after it, against the 14 days before the crossing), median over the region's resources whose
   load changed by 10% or more.

Usage::

    .venv/bin/python benchmarks/replay_2020.py                   # ~10-20 min, prints the table
    .venv/bin/python benchmarks/replay_2020.py --write-results   # ... and writes RESULTS.md
    .venv/bin/python benchmarks/replay_2020.py --quick           # 12 resources, 10 origins
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

from bench_forecast import (
    comparison_table,
    operator_2020,
    peer_factories,
    run_models,
    shock_model,
    to_markdown,
    write_section,
)

HORIZONS = (1, 7, 14, 28)


def spread_subset(ids: list[str], n: int) -> list[str]:
    """``n`` resources evenly spaced through ``ids`` (sorted by kind): every kind is represented,
    where the first ``n`` would all be trunk groups."""
    if n >= len(ids):
        return list(ids)
    return [ids[i] for i in np.unique(np.linspace(0, len(ids) - 1, n).round().astype(int))]


def lockdown_starts(indicators: pd.DataFrame) -> pd.Series:
    """Region -> first lockdown day under the project's rule (``signals.first_lockdown``)."""
    from surgeplan.signals import first_lockdown

    return first_lockdown(indicators)


def transfer_check(
    result, inventory: pd.DataFrame, starts: pd.Series, min_change: float = 0.10
) -> pd.DataFrame:
    """Share of the post-crossing change already in the forecast made at the next midnight, per region.

    Counted on the resources of a kind that some region crossing earlier also has (the response
    is "learned from the regions hit before it", of the same kind); the others, the first of
    their kind to be hit, are listed in ``first of their kind`` and their share is given apart.
    """
    bh = result.busy_hour
    inv = inventory.set_index("resource_id")
    region, kind = inv["region"], inv["kind"]
    first = starts.min()
    rows = []
    for reg, day in starts.sort_values().items():  # a few regions
        if day <= first:
            continue  # the first region hit has nobody to learn from
        earlier = set(kind[region.map(starts) < day])
        ids_all = region.index[region == reg]
        ids = [i for i in ids_all if kind[i] in earlier]
        alone = [i for i in ids_all if kind[i] not in earlier]
        origin = pd.Timestamp(day + pd.Timedelta(days=1)).tz_localize("UTC")
        sub = bh[bh["resource_id"].isin(ids_all)]
        if sub.empty or origin not in set(sub["origin"]):
            continue
        pre = sub[(sub["day"] >= day - pd.Timedelta(days=14)) & (sub["day"] < day)]
        base = pre.groupby("resource_id")["actual"].mean()
        after = sub[sub["origin"] == origin]
        act = after.groupby("resource_id")["actual"].mean()
        fc = after.groupby("resource_id")["mean"].mean()
        ch_a = act / base - 1.0
        ch_f = fc / base - 1.0
        ok = (ch_a.abs() >= min_change) & ch_a.index.isin(ids)
        lone = (ch_a.abs() >= min_change) & ch_a.index.isin(alone)
        if not ok.any():
            continue
        share = (ch_f[ok] / ch_a[ok]).clip(-1, 3)
        lone_share = (ch_f[lone] / ch_a[lone]).clip(-1, 3)
        rows.append(
            {
                "region": reg,
                "crossed": day.date(),
                "resources": int(ok.sum()),
                "median actual change": float(ch_a[ok].median()),
                "median forecast change": float(ch_f[ok].median()),
                "median share carried": float(share.median()),
                "first of their kind (share carried)": ", ".join(
                    f"{i} ({v:.2f})" for i, v in lone_share.items()
                )
                or "-",
            }
        )
    return pd.DataFrame(rows)


def anticipation_check(result, inventory: pd.DataFrame, starts: pd.Series, notice: int = 7) -> pd.DataFrame:
    """Shortages the indicators warned about ``notice`` days ahead, and whether the forecast did.

    ``indicators_warned``: the region's lockdown threshold was crossed at least ``notice + 1`` days
    before the shortage (the origin ``notice`` days before sees indicators up to the day before it),
    and an origin exists ``notice`` days before the shortage.
    """
    m = result.metrics
    m = m[(m["horizon_days"] == max(HORIZONS)) & m["shortage_date"].notna()]
    region = inventory.set_index("resource_id")["region"]
    reg_start = m["resource_id"].map(region).map(starts)
    odays = pd.DatetimeIndex(result.forecasts["origin"].unique()).tz_convert(None).normalize()
    reachable = (m["shortage_date"] - pd.Timedelta(days=notice)).isin(odays)
    warned = ((m["shortage_date"] - reg_start).dt.days >= notice + 1) & reachable
    out = pd.DataFrame(
        {
            "resource_id": m["resource_id"],
            "region": m["resource_id"].map(region),
            "lockdown": reg_start,
            "shortage": m["shortage_date"],
            "anticipation_days": m["anticipation_days"],
            "indicators_warned": warned,
        }
    )
    return out.reset_index(drop=True)


def anticipating_model(quantiles):
    """The project's model, predicting with ``indicators_future='anticipate'`` unless given a scenario."""
    from surgeplan.forecast import ShockForecaster

    class Anticipating(ShockForecaster):
        def predict(self, horizon, indicators_future=None, covariates=None):
            return super().predict(
                horizon, "anticipate" if indicators_future is None else indicators_future, covariates
            )

    return Anticipating(quantiles=tuple(quantiles))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--write-results", action="store_true")
    ap.add_argument("--resources", type=int, default=80)
    ap.add_argument(
        "--peer-resources",
        type=int,
        default=24,
        help="resources the statsforecast peers run on (the first of the subsample; they refit at "
        "every origin: about 1 min of CPU per resource for MSTL and AutoETS together)",
    )
    ap.add_argument("--no-statsforecast", action="store_true", help="seasonal naive peers only")
    ap.add_argument(
        "--exclude-regions",
        default="MAR",
        help="regions left out of the subsample (default MAR: the model's holiday lookup fails on "
        "Morocco, whose code the holidays package resolves to its MAR = March constant)",
    )
    ap.add_argument(
        "--anticipate",
        action="store_true",
        help="surgeplan predicts with indicators_future='anticipate' (lockdown days projected "
        "from case growth) instead of holding the last indicators",
    )
    ap.add_argument(
        "--seed",
        type=int,
        default=0,
        help="subsample and simulation seed; other than 0 (the subsample the model was developed on) "
        "it is a held-out check, written to its own RESULTS.md section",
    )
    ap.add_argument(
        "--dump",
        type=Path,
        help="also pickle the data and every model's result to this file "
        "(for looking into where the errors come from)",
    )
    args = ap.parse_args(argv)
    from _machine import machine_markdown

    n = 12 if args.quick else args.resources
    start, end = ("2020-03-10", "2020-03-20") if args.quick else ("2020-02-15", "2020-05-31")
    kinds = ["trunk_group", "link", "vpn_gateway", "conference_bridge", "contact_center"]
    t0 = time.perf_counter()
    excluded = [r for r in args.exclude_regions.split(",") if r]
    data = operator_2020(n, seed=args.seed, kinds=kinds, exclude_regions=excluded)
    print(f"simulated {n} resources in {time.perf_counter() - t0:.1f} s; origins {start} .. {end}, 28 days")
    ids = list(data["inventory"]["resource_id"])
    peer_ids = spread_subset(ids, 4 if args.quick else args.peer_resources)
    peers = ["naive-day", "naive-week"] + ([] if args.no_statsforecast else ["AutoETS", "MSTL"])
    models = {"surgeplan": anticipating_model if args.anticipate else shock_model, **peer_factories(peers)}
    res = run_models(
        data,
        models,
        start=start,
        end=end,
        horizon="28d",
        refit_every={"surgeplan": 7, "naive-day": 7, "naive-week": 7},
        resources={"AutoETS": peer_ids, "MSTL": peer_ids},
        cache_key="replay2020" if args.seed == 0 else f"replay2020-seed{args.seed}",
    )
    if args.dump:
        import pickle

        args.dump.write_bytes(pickle.dumps({"data": data, "results": res}))
    all_t = comparison_table(
        {k: v for k, v in res.items() if k in ("surgeplan", "naive-day", "naive-week")}, HORIZONS
    )
    peer_t = comparison_table(res, HORIZONS, on=peer_ids) if not args.no_statsforecast else None

    # 1. accuracy at 14 days
    def med(t, model, h=14):
        r = t[(t["model"] == model) & (t["horizon_days"] == h)]
        return float(r["MASE"].iloc[0]) if len(r) else np.nan

    ours = med(all_t, "surgeplan")
    best_naive = min(med(all_t, "naive-day"), med(all_t, "naive-week"))
    checks = [("MASE@14d vs best seasonal naive (all resources)", ours, best_naive, ours <= 0.7 * best_naive)]
    if peer_t is not None:
        ours_p = med(peer_t, "surgeplan")
        best_p = np.nanmin([med(peer_t, p) for p in peers])
        checks.append(
            (
                f"MASE@14d vs best peer incl. statsforecast ({len(peer_ids)} resources)",
                ours_p,
                best_p,
                ours_p <= 0.7 * best_p,
            )
        )
    # 2. calibration (hourly, pooled)
    m = res["surgeplan"].metrics
    w = m["n_days"].clip(lower=1)
    cov80 = float(np.average(m["coverage_80"].fillna(0), weights=w * m["coverage_80"].notna()))
    cov98 = float(np.average(m["coverage_98"].fillna(0), weights=w * m["coverage_98"].notna()))
    # 3. anticipation, 4. transfer
    starts = lockdown_starts(data["indicators"])
    ant = anticipation_check(res["surgeplan"], data["inventory"], starts)
    need = ant[ant["indicators_warned"]]
    foreseen = int((need["anticipation_days"] >= 7).sum())
    tr = transfer_check(res["surgeplan"], data["inventory"], starts)
    tr_ok = bool(len(tr)) and bool((tr["median share carried"] >= 0.5).all())
    n_regions_ok = int((tr["median share carried"] >= 0.5).sum()) if len(tr) else 0

    lines = [
        f"Resources: {n} (random subsample, seed {args.seed}, of the bundled operator without `generic`"
        + (f" and without regions {', '.join(excluded)}" if excluded else "")
        + "); "
        f"origins every UTC midnight {start} .. {end}; 28-day forecasts; surgeplan refits weekly and "
        f"`update()`s daily"
        + (
            ", future indicators `'anticipate'`d"
            if args.anticipate
            else (
                ", future indicators as the model defaults: projected for regions that crossed their "
                "lockdown threshold in the last four weeks, held for the others"
            )
        )
        + "; peers refit at every origin. Runtime: "
        + ", ".join(f"{k} {v.timings['total_s']:.0f} s" for k, v in res.items())
        + ".",
        "",
        "| target | surgeplan | reference | result |",
        "|---|---|---|---|",
    ]
    for name, a, b, ok in checks:
        lines.append(f"| {name}: >= 30% lower | {a:.3f} | {b:.3f} | {'PASS' if ok else 'FAIL'} |")
    lines.append(
        f"| 80% interval coverage in [0.75, 0.85] | {cov80:.3f} | | "
        f"{'PASS' if 0.75 <= cov80 <= 0.85 else 'FAIL'} |"
    )
    lines.append(
        f"| 98% interval coverage in [0.95, 0.99] | {cov98:.3f} | | "
        f"{'PASS' if 0.95 <= cov98 <= 0.99 else 'FAIL'} |"
    )
    lines.append(
        f"| shortages foreseen >= 7 days ahead where indicators warned >= 7 days | {foreseen} / {len(need)} "
        f"| {len(ant)} shortages in all | {'PASS' if foreseen == len(need) else 'FAIL'} |"
    )
    shares = ", ".join(
        f"{r}: {s:.2f}" for r, s in zip(tr.get("region", []), tr.get("median share carried", []))
    )
    lines.append(
        "| regions after the first: forecast at crossing carries >= 50% of the change (resources of a kind "
        f"hit earlier elsewhere) | {n_regions_ok} / {len(tr)} regions: {shares} | | "
        f"{'PASS' if tr_ok else 'FAIL'} |"
    )
    body = "\n".join(lines)
    body += (
        "\n\nBusy-hour scores, all resources (medians over resources; coverage pooled):\n\n"
        + to_markdown(all_t)
    )
    if peer_t is not None:
        body += f"\n\nOn the {len(peer_ids)} resources the statsforecast peers ran on:\n\n" + to_markdown(
            peer_t
        )
    worst = (
        m[m["horizon_days"] == 14]
        .nlargest(5, "mase")
        .merge(data["inventory"][["resource_id", "kind", "region"]], on="resource_id")[
            ["resource_id", "kind", "region", "mase", "mape", "coverage_80"]
        ]
    )
    body += (
        "\n\nThe five resources with the largest surgeplan MASE at 14 days (where to look first):\n\n"
        + to_markdown(worst)
    )
    if len(tr):
        body += (
            "\n\nTransfer to regions hit later (forecast made the midnight after the crossing):\n\n"
            + to_markdown(tr)
        )
    if len(ant):
        body += (
            "\n\nShortages (actual busy hour above installed capacity) and their anticipation "
            "(days, p90 forecast):\n\n"
            + to_markdown(ant.assign(lockdown=ant["lockdown"].dt.date, shortage=ant["shortage"].dt.date))
        )
    body += "\n\n" + machine_markdown()
    print(body)
    if args.write_results and not args.quick:
        title = (
            "Forecast: 2020 replay"
            if args.seed == 0
            else f"Forecast: 2020 replay, held-out subsample (seed {args.seed})"
        )
        write_section(title, body)
        print("wrote RESULTS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
