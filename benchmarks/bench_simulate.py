"""Benchmark: a year of 15-minute load for 1,000 resources with ``surgeplan.simulate``.

Inventory: the bundled fictional operator (631 resources) plus 369 of its rows resampled under new
ids = 1,000 resources of every kind in 37 regions. Indicators: the bundled OxCGRT data when
``surgeplan.signals`` is installed, else a synthetic lockdown step. Period: 2020-01-01 .. 2021-01-01,
``freq='15min'`` -> 35,136 intervals x 1,000 resources = 35.1 M rows (long table).

Prints wall time (best and median of ``--repeat`` runs), rows/s, and peak memory: the Python-heap
peak during one run from ``tracemalloc`` (numpy reports its buffers to it) and the process
``ru_maxrss``. Also times the other cadences (1h, 1D for the year; 1min for 4 weeks).

Run: ``python benchmarks/bench_simulate.py [--resources 1000 --repeat 3]``.
Target (issue 3, section 3): under 10 s on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import load_average, machine_markdown  # noqa: E402

from surgeplan.simulate import bundled_inventory, simulate  # noqa: E402


def make_inventory(n: int, seed: int = 0) -> pd.DataFrame:
    inv = bundled_inventory()
    if n <= len(inv):
        return inv.iloc[:n].reset_index(drop=True)
    extra = inv.sample(n - len(inv), replace=True, random_state=seed).reset_index(drop=True)
    extra["resource_id"] = [f"{r}-X{i}" for i, r in enumerate(extra.resource_id)]
    return pd.concat([inv, extra], ignore_index=True)


def make_indicators(regions) -> tuple[pd.DataFrame, str]:
    try:
        from surgeplan.signals import bundled_indicators

        return bundled_indicators(names="stringency_index"), "bundled OxCGRT"
    except Exception:  # noqa: BLE001 - fall back to a synthetic lockdown
        days = pd.date_range("2019-12-01", "2021-01-31")
        v = np.where((days >= "2020-03-17") & (days < "2020-05-11"), 88.0, 30.0)
        return (
            pd.concat([pd.DataFrame({"region": r, "date": days, "name": "stringency_index", "value": v}) for r in regions]),
            "synthetic step",
        )


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resources", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    inv = make_inventory(args.resources)
    ind, ind_label = make_indicators(inv.region.unique())
    warnings.simplefilter("ignore")
    print("## Simulator\n")
    print(machine_markdown())
    kw = dict(start="2020-01-01", end="2021-01-01", seed=1)

    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = simulate(inv, ind, freq="15min", **kw)
        times.append(time.perf_counter() - t0)
        n_rows = len(out)
        del out
    tracemalloc.start()
    out = simulate(inv, ind, freq="15min", **kw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out_mib = out.memory_usage(deep=False).sum() / 2**20
    del out
    best, med = min(times), statistics.median(times)
    print(
        f"\n- {len(inv)} resources x 1 year at 15 min = {n_rows / 1e6:.1f} M rows (indicators: {ind_label}): "
        f"best {best:.2f} s, median {med:.2f} s of {args.repeat} ({n_rows / best / 1e6:.1f} M rows/s); "
        f"target < 10 s: {'MET' if best < 10 else 'NOT MET'}"
    )
    print(
        f"- peak memory: Python heap {peak / 2**20:.0f} MiB during one run (the returned frame itself: "
        f"{out_mib:.0f} MiB); process max RSS {_rss_mib():.0f} MiB"
    )
    for freq, start, end in (("1h", "2020-01-01", "2021-01-01"), ("1D", "2020-01-01", "2021-01-01"),
                             ("1min", "2020-03-02", "2020-03-30")):
        t0 = time.perf_counter()
        out = simulate(inv, ind, start=start, end=end, freq=freq, seed=1)
        dt = time.perf_counter() - t0
        print(f"- freq {freq}, {start} .. {end}: {len(out) / 1e6:.2f} M rows in {dt:.2f} s")
        del out
    la = load_average()
    if la is not None:
        print(f"- load average at end (1/5/15 min): {la[0]:.2f} / {la[1]:.2f} / {la[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
