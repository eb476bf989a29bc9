"""The demo's time, and how the replay plans with fewer refits of the forecaster.

Runs the whole demo (simulate, store, replay under four policies, what-if sweeps, report) and
prints its timings, then, with ``--refits 7,14,0``, the replay alone at each refit cadence (days
between full refits; 0 = one fit, then Kalman updates only) with the policy table's surgeplan row,
so the cadence is chosen by how it plans, not by how fast it runs.

    python benchmarks/bench_demo.py [--refits 7,14,0] [--out /tmp/bench-demo]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

from surgeplan.pipeline import DemoConfig, run_demo


def _replay_at(refit: int, cfg: DemoConfig) -> dict:
    from surgeplan.plan.replay import replay
    from surgeplan.signals import bundled_indicators
    from surgeplan.simulate import bundled_inventory, simulate

    inv = bundled_inventory()
    ind = bundled_indicators(regions=sorted(inv["region"].unique()), start="2019-12-01", end="2020-12-31")
    meas = simulate(inv, ind, None, cfg.sim_start, cfg.sim_end, "1h", cfg.seed)
    asofs = pd.date_range(cfg.replay_start, cfg.replay_end, freq=f"{cfg.replay_every_days}D")
    t = time.perf_counter()
    rp = replay(meas, inv, ind, asofs, cfg.settings, refit_every_days=refit)
    row = rp.policies.set_index("policy").loc["surgeplan"].to_dict()
    return {
        "refit_every_days": refit,
        "replay_s": round(time.perf_counter() - t, 1),
        "capped_rows": int(rp.summary["forecast_rows_capped"].sum()),
        **row,
        "headline": rp.headline,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refits", default="", help="refit cadences to compare, e.g. 7,14,0 (default: none)")
    ap.add_argument("--out", default="/tmp/bench-demo")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    t = time.perf_counter()
    res = run_demo(DemoConfig(out_dir=Path(args.out)))
    wall = time.perf_counter() - t
    print(f"demo: {wall:.1f} s wall; " + ", ".join(f"{k} {v:.1f} s" for k, v in res.timings.items()))
    print(res.replay.policies.to_string(index=False))
    print(res.replay.headline)
    print(res.replay.losses.to_string(index=False))
    rows = [_replay_at(int(r), DemoConfig()) for r in args.refits.split(",") if r.strip()]
    if rows:
        print(pd.DataFrame(rows).to_string(index=False))
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
