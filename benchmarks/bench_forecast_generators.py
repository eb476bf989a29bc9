"""Does the forecaster carry a shock to the next country, whatever drives it? (issue 16)

Runs every generator of ``tests/generators/family.py`` (five response mechanisms tied to different
indicator rules, 6-11 countries each with real OxCGRT dates) through the scoring harness of
``tests/generators/scoring.py``, for surgeplan's ``ShockForecaster`` and the peers a planner would
otherwise use, on the SAME origins:

* ``naive``: the seasonal naive (same hour one week earlier);
* ``MSTL`` (seasons 24 h and 168 h) and ``AutoETS`` (season 24 h) from statsforecast, fitted per
  series on the last 8 weeks (no indicators: they cannot take them).

Per generator it prints one markdown table: the share of the change in forecast days 8-14 carried
per country (origin = the day after the country crosses), the summary (countries carrying >= 50%,
coverage of p10-p90 over days 1-14) and, for surgeplan, the no-runaway ratio (p90 daily peak /
realised daily peak over days 8-42 of a forecast made 8 days after the first crossing) and the
driver it chose for each kind at that origin.

Usage::

    .venv/bin/python benchmarks/bench_forecast_generators.py                 # all generators, all peers
    .venv/bin/python benchmarks/bench_forecast_generators.py --only links_fall --no-peers
    .venv/bin/python benchmarks/bench_forecast_generators.py --speed    # 1,000 series, < 60 s
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from _machine import machine_markdown
from generators import scoring as sc
from generators.family import GENERATORS, VARIANTS, generate, spec_of


def _peers(with_peers: bool) -> dict:
    peers = {"surgeplan": sc.shock_forecaster()}
    if with_peers:
        peers["naive"] = sc.seasonal_naive()
        peers["MSTL"] = sc.statsforecast_peer("MSTL")
        peers["AutoETS"] = sc.statsforecast_peer("AutoETS")
    return peers


def run_generator(name: str, with_peers: bool, seed: int, per_kind: int) -> str:
    data = generate(name, seed=seed, per_kind=per_kind)
    shares, summaries, seconds = {}, {}, {}
    for peer, fc in _peers(with_peers).items():
        t0 = time.perf_counter()
        table = sc.carried_share(data, fc)
        seconds[peer] = time.perf_counter() - t0
        shares[peer] = sc.country_shares(table)
        summaries[peer] = sc.summary(table)
    ratios = sc.runaway_ratios(data, _drivers_probe)
    spec = spec_of(name)
    rule = f"{spec.indicator} {spec.op} {spec.threshold:g}" + (" (general flag)" if spec.general_only else "")
    lines = [
        f"#### `{name}`: {rule}; "
        + ", ".join(
            f"{k} x{r.size[0]:g}-{r.size[1]:g} (delay {r.delay} d, ramp {r.ramp} d"
            + (", working days" if r.weekdays_only else "")
            + ")"
            for k, r in spec.responses.items()
            if r.size != (1.0, 1.0)
        ),
        "",
    ]
    table = pd.DataFrame(shares)
    table.index.name = "country (crossing)"
    table.index = [f"{r} ({data.crossing[r]:%d %b})" for r in table.index]
    lines.append(_md(table.round(2)))
    lines.append("")
    summ = pd.DataFrame(summaries).T[["countries", "carried", "median_share", "coverage"]]
    summ["seconds"] = pd.Series(seconds)
    lines.append(_md(summ.round(3)))
    lines.append("")
    lines.append(
        f"No runaway (surgeplan): p90 peak / realised peak, days 8-42: median "
        f"{ratios['ratio'].median():.2f}, 95th percentile {ratios['ratio'].quantile(0.95):.2f} "
        f"(target [0.9, 1.6] and <= 2.5)."
    )
    drivers = _drivers_probe.last
    if drivers is not None and len(drivers):
        lines.append("")
        lines.append("Driver chosen 8 days after the first crossing:")
        lines.append("")
        cols = [
            c
            for c in (
                "kind",
                "rule",
                "delay_days",
                "ramp_days",
                "size_weekday",
                "size_weekend",
                "n_regions",
                "out_of_region_error",
                "no_driver_error",
                "evidence",
            )
            if c in drivers
        ]
        lines.append(_md(drivers[cols].round(3), index=False))
    return "\n".join(lines) + "\n"


def _md(frame: pd.DataFrame, index: bool = True) -> str:
    """A markdown table (pandas' ``to_markdown`` needs the optional ``tabulate``)."""
    f = frame.reset_index() if index else frame
    rows = [[str(c) for c in f.columns]] + [[str(v) for v in r] for r in f.itertuples(index=False)]
    head = "| " + " | ".join(rows[0]) + " |"
    sep = "| " + " | ".join("---" for _ in rows[0]) + " |"
    return "\n".join([head, sep] + ["| " + " | ".join(r) + " |" for r in rows[1:]])


class _DriversProbe:
    """surgeplan's forecaster, keeping the driver table of its last fit for the report."""

    def __init__(self) -> None:
        self.last = None
        self._fc = sc.shock_forecaster()

    def __call__(self, *args):
        out = self._fc(*args)
        model = out.attrs.get("model")
        self.last = getattr(model, "driver_", None)
        return out


_drivers_probe = _DriversProbe()


def speed(n: int = 1000, n_regions: int = 20) -> str:
    """Fit + 14-day forecast of ``n`` hourly series (8 weeks, 5 kinds, bundled regions and their
    OxCGRT indicators to 22 Mar 2020), with and without the learned driver (target < 60 s)."""
    import numpy as np

    from surgeplan.forecast import ShockForecaster
    from surgeplan.signals import bundled_indicators, bundled_regions

    rng = np.random.default_rng(0)
    ts = pd.date_range("2020-01-27", periods=8 * 168, freq="h", tz="UTC")
    regs = bundled_regions()[:n_regions]
    kinds = ["trunk_group", "link", "vpn_gateway", "conference_bridge", "contact_center"]
    hod, dow = ts.hour.to_numpy(), ts.dayofweek.to_numpy()
    shape = 1 + 0.6 * np.sin(2 * np.pi * (hod - 8) / 24)[None, :] * (1 - 0.4 * (dow >= 5))[None, :]
    y = rng.lognormal(4, 1, n)[:, None] * shape * np.exp(rng.normal(0, 0.08, (n, len(ts))))
    ids = [f"s{i:04d}" for i in range(n)]
    meas = pd.DataFrame({"resource_id": np.repeat(ids, len(ts)), "ts": np.tile(ts, n), "load": y.ravel()})
    inv = pd.DataFrame(
        {
            "resource_id": ids,
            "kind": [kinds[i % 5] for i in range(n)],
            "region": [regs[i % len(regs)] for i in range(n)],
        }
    )
    ind = bundled_indicators(regs, start="2020-01-01", end="2020-03-22")
    lines = []
    for learn in (False, True):
        t = time.perf_counter()
        ShockForecaster(quantiles=(0.1, 0.5, 0.9), learn_driver=learn).fit(meas, inv, ind).predict("14D")
        lines.append(
            f"- learn_driver={learn}: fit + 14-day forecast of {n} hourly series in {len(regs)} "
            f"regions: {time.perf_counter() - t:.1f} s (target < 60 s)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None, help="generator names (default: all)")
    ap.add_argument("--no-peers", action="store_true", help="surgeplan only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-kind", type=int, default=1, help="resources per (country, kind)")
    ap.add_argument("--speed", action="store_true", help="only the 1,000-series speed check")
    ap.add_argument(
        "--variants", action="store_true", help="the variants (family.VARIANTS), two resources per kind"
    )
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    print(machine_markdown())
    if args.speed:
        print(speed())
        return
    names = args.only or list(VARIANTS if args.variants else GENERATORS)
    per_kind = max(args.per_kind, 2) if args.variants else args.per_kind
    for name in names:
        print(run_generator(name, not args.no_peers, args.seed, per_kind))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
