"""Benchmark: dimension + plan for 100,000 resources x 26 weekly periods (forecasts given).

Synthetic inventory of every dimensioned kind (trunk groups, link bundles of 2-4 members with
N+1, VPN gateways, conference bridges, contact centres) over 30 regions, busy-hour forecasts
p50/p90/p99 growing through a shock. Times :func:`surgeplan.dimension.dimension` alone and the
whole :func:`surgeplan.plan.make_plan` (dimension at p90, actions, priorities, budget + ops
scheduling, re-dimensioning under the plan, temporary measures, alerts at p50/p90/p99), after a
warm-up on a small problem so numba compilation is not counted. Peak memory is the process's
maximum resident set size.

Run: ``.venv/bin/python benchmarks/bench_plan.py [n_resources] [n_periods] [--write-results]``.
Target: under 30 s on the 2-core reference machine. Prints a markdown section; with
``--write-results`` it also replaces the ``## Plan`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from surgeplan.dimension import dimension
from surgeplan.plan import make_plan


def synthetic(n: int, periods: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Inventory of ``n`` resources and weekly busy-hour forecasts over ``periods`` weeks."""
    rng = np.random.default_rng(seed)
    kinds = rng.choice(
        ["trunk_group", "link", "vpn_gateway", "conference_bridge", "contact_center"],
        n,
        p=[0.5, 0.2, 0.15, 0.05, 0.1],
    )
    regions = np.array([f"R{i:02d}" for i in range(30)])[rng.integers(0, 30, n)]
    cap = np.select(
        [kinds == "trunk_group", kinds == "link", kinds == "vpn_gateway", kinds == "conference_bridge"],
        [
            rng.integers(2, 60, n) * 30.0,
            rng.choice([100.0, 200.0, 400.0], n),
            rng.integers(2, 40, n) * 250.0,
            rng.integers(2, 20, n) * 100.0,
        ],
        rng.integers(5, 120, n).astype(float),
    )
    module = np.select(
        [kinds == "trunk_group", kinds == "link", kinds == "vpn_gateway", kinds == "conference_bridge"],
        [30.0, 100.0, 250.0, 100.0],
        5.0,
    )
    ids = np.char.add("X", np.arange(n).astype(str))
    group = np.where(kinds == "link", np.char.add("G", (np.arange(n) // 3).astype(str)), "")
    inv = pd.DataFrame(
        {
            "resource_id": ids,
            "kind": kinds,
            "region": regions,
            "capacity": cap,
            "module_size": module,
            "max_capacity": cap * 4,
            "lead_time_days": rng.choice([2, 7, 14, 30, 60], n).astype(float),
            "module_cost": module * 50.0,
            "group": group,
            "priority_class": np.where(rng.random(n) < 0.1, "vital", "standard"),
            "retry_probability": np.where((kinds == "trunk_group") & (rng.random(n) < 0.3), 0.5, 0.0),
            "aht_s": 240.0,
            "patience_s": 90.0,
            "answer_within_s": 20.0,
            "abandon_max": 0.05,
        }
    )
    # base busy-hour load in the kind's unit, ~60% of what the capacity carries; shock up to x2
    base = np.select(
        [kinds == "trunk_group", kinds == "link", kinds == "vpn_gateway", kinds == "conference_bridge"],
        [cap * 0.75, cap * 0.35, cap * 0.6, cap * 0.75],
        cap * 3600 / 240 * 0.7,
    )
    shock = 1 + rng.uniform(0.0, 1.0, n)
    weeks = pd.date_range("2020-03-02", periods=periods, freq="7D")
    ramp = np.clip(np.arange(periods) / 4.0, 0, 1)
    p50 = base[:, None] * (1 + (shock[:, None] - 1) * ramp[None, :]) * rng.uniform(0.95, 1.05, (n, periods))
    bh = pd.DataFrame(
        {
            "resource_id": np.repeat(ids, periods),
            "period": np.tile(weeks, n),
            "busy_hour": np.tile(weeks + pd.Timedelta(hours=10), n),
            "mean": p50.ravel(),
            "p50": p50.ravel(),
            "p90": (p50 * 1.1).ravel(),
            "p99": (p50 * 1.2).ravel(),
        }
    )
    return inv, bh


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    write = "--write-results" in sys.argv
    n = int(args[0]) if args else 100_000
    periods = int(args[1]) if len(args) > 1 else 26
    sys.path.insert(0, str(Path(__file__).parent))
    from _machine import load_average, machine_markdown

    load_average()
    t = time.perf_counter()
    inv_s, bh_s = synthetic(3000, 26, seed=1)  # warm-up: numba compilation (serial and parallel kernels)
    make_plan(inv_s, bh_s, "2020-03-01", budget=1e6, ops_per_day=50)
    t_warm = time.perf_counter() - t
    t = time.perf_counter()
    inv, bh = synthetic(n, periods)
    t_gen = time.perf_counter() - t
    t = time.perf_counter()
    d = dimension(inv, bh, "p90")
    t_dim = time.perf_counter() - t
    del d
    t = time.perf_counter()
    cpu0 = time.process_time()
    p = make_plan(inv, bh, "2020-03-01", budget=5e8, ops_per_day={"*": 400})
    t_plan = time.perf_counter() - t
    cpu_plan = time.process_time() - cpu0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    s = p.summary
    lines = [
        "<!-- bench_plan:begin (generated by benchmarks/bench_plan.py --write-results) -->",
        "## Plan",
        "",
        "Script: `benchmarks/bench_plan.py` (synthetic inventory of every dimensioned kind over 30 regions, "
        "weekly busy-hour forecasts p50/p90/p99 through a shock; forecasts given).",
        "",
        machine_markdown(),
        "",
        "| step | rows | wall (s) |",
        "|---|---:|---:|",
        f"| `dimension` at p90 ({n:,} resources x {periods} periods) | {n * periods:,} | {t_dim:.1f} |",
        "| `make_plan`: dimension, actions, priorities, budget + ops scheduling, re-dimension under the "
        f"plan, temporary measures, alerts p50/p90/p99 | {n * periods:,} | {t_plan:.1f} (CPU {cpu_plan:.1f}) "
        "|",
        "",
        f"- plan: {s['actions']:,} actions, {s['late_actions']:,} late or unfunded, "
        f"{s['temporary_measures']:,} temporary measures, {len(p.alerts):,} alert rows",
        f"- warm-up (numba compilation or cache load, 3,000 resources): {t_warm:.1f} s; synthetic data: "
        f"{t_gen:.1f} s",
        f"- peak memory (process max RSS): {peak_mb:,.0f} MB",
        f"- target `make_plan` < 30 s: {'MET' if t_plan < 30 else 'MISSED'} ({t_plan:.1f} s wall, "
        f"{cpu_plan:.1f} s CPU)",
        "<!-- bench_plan:end -->",
    ]
    text = "\n".join(lines)
    print(text)
    if write:
        path = Path(__file__).parent / "RESULTS.md"
        old = path.read_text(encoding="utf-8")
        a, b = old.find("<!-- bench_plan:begin"), old.find("<!-- bench_plan:end -->")
        new = (
            (old[:a] + text + old[b + len("<!-- bench_plan:end -->") :])
            if a >= 0 and b > a
            else old.rstrip("\n") + "\n\n" + text + "\n"
        )
        path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
