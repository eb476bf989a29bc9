"""Benchmark: continuity what-ifs (N-1 and site sweeps) against re-dimensioning per scenario.

Cases (one process, timings best of ``--repeat``):

1. the bundled operator (631 resources): the N-1 sweep plus the site sweep in one call of
   :func:`surgeplan.continuity.whatif` with every row (``rows='all'``: one row per resource per
   scenario, what ``whatif.csv`` holds); target < 5 s for >= 600 scenarios;
2. 10,000 resources (the bundled operator copied 16 times, groups kept apart): the N-1 sweep with
   the touched rows (``rows='affected'``; all rows would be 10^8); target < 60 s;
3. the peer: re-dimensioning the whole inventory for each scenario with
   :func:`surgeplan.dimension.dimension` after moving each failed resource's load to the other
   members of its group in proportion to capacity (no LP, no routes, no priorities), timed on a
   sample of scenarios and scaled to the sweep; the ratio peer / what-if.

Loads: busy-hour load = capacity x U(0.3, 0.8) (seeded; contact centres in calls per hour at a
300 s AHT), so some failures break something. Run: ``python benchmarks/bench_continuity.py``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from _machine import load_average, machine_markdown

from surgeplan.continuity import whatif
from surgeplan.dimension import dimension
from surgeplan.simulate import bundled_inventory


def loads(inv: pd.DataFrame, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    x = inv["capacity"].to_numpy(float) * rng.uniform(0.3, 0.8, len(inv))
    cc = inv["kind"].to_numpy() == "contact_center"
    x[cc] *= 3600.0 / 300.0
    return pd.Series(x, index=inv["resource_id"].astype(str).to_numpy())


def scaled(inv: pd.DataFrame, copies: int) -> pd.DataFrame:
    out = []
    for k in range(copies):
        c = inv.copy()
        c["resource_id"] = c["resource_id"] + f"~{k}"
        c["group"] = np.where(c["group"] != "", c["group"] + f"~{k}", "")
        c["site"] = np.where(c["site"].notna(), c["site"].astype(str) + f"~{k}", None)
        out.append(c)
    return pd.concat(out, ignore_index=True)


def best(fn, repeat: int):
    times, res = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        res = fn()
        times.append(time.perf_counter() - t)
    return min(times), res


def peer_per_scenario(inv: pd.DataFrame, load: pd.Series, failed_ids: list[str]) -> float:
    """Seconds to re-dimension the whole inventory after one failure (group-proportional move)."""
    p = pd.Timestamp("2020-03-20")
    grp = inv.set_index("resource_id")["group"]
    cap = inv.set_index("resource_id")["capacity"].astype(float)
    t = time.perf_counter()
    for r in failed_ids:
        x = load.copy()
        g = grp[r]
        if g:
            mates = grp.index[(grp == g).to_numpy() & (grp.index != r)]
            w = cap[mates] / cap[mates].sum() if cap[mates].sum() > 0 else cap[mates] * 0
            x[mates] += x[r] * w.to_numpy()
        x[r] = 0.0
        bh = pd.DataFrame({"resource_id": x.index, "period": p, "p90": x.to_numpy()})
        dimension(inv.assign(capacity=np.where(inv["resource_id"] == r, 0.0, inv["capacity"])), bh, "p90")
    return (time.perf_counter() - t) / len(failed_ids)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peer-sample", type=int, default=20)
    args = ap.parse_args()
    print(machine_markdown())
    print(f"- load average at start: {load_average()}")
    inv = bundled_inventory()
    load = loads(inv)
    whatif(inv.head(20), load, scenarios="n-1")  # warm-up (imports, numba caches)
    t_all, res = best(lambda: whatif(inv, load, scenarios=["n-1", "sites"], mode="hashing"), args.repeat)
    n_scen = len(res.scenarios)
    t_opt, _ = best(lambda: whatif(inv, load, scenarios=["n-1", "sites"], mode="optimal"), args.repeat)
    print("\n| case | scenarios | rows | best wall (s) | target |\n|---|---:|---:|---:|---|")
    print(
        f"| bundled operator, N-1 + sites, hashing, all rows | {n_scen} | {len(res.whatif):,} | {t_all:.2f} "
        f"| < 5 s: {'MET' if t_all < 5 and n_scen >= 600 else 'FAIL'} |"
    )
    print(
        f"| bundled operator, N-1 + sites, optimal (LP for link groups too), all rows | {n_scen} | "
        f"{len(res.whatif):,} | {t_opt:.2f} | < 5 s: {'MET' if t_opt < 5 else 'FAIL'} |"
    )
    big = scaled(inv, 16)
    big_load = loads(big, 1)
    t_big, rbig = best(lambda: whatif(big, big_load, scenarios="n-1", rows="affected"), 1)
    print(
        f"| {len(big):,} resources, N-1, optimal, touched rows | {len(rbig.scenarios):,} | "
        f"{len(rbig.whatif):,} | {t_big:.2f} | < 60 s: {'MET' if t_big < 60 else 'FAIL'} |"
    )
    print(f"\nsteps (bundled, hashing): {', '.join(f'{k} {v:.2f} s' for k, v in res.timings.items())}")
    print(f"steps (10k, optimal): {', '.join(f'{k} {v:.2f} s' for k, v in rbig.timings.items())}")
    sample = [s.failed[0] for s in res.scenarios[: args.peer_sample]]
    per = peer_per_scenario(inv, load, sample)
    peer = per * n_scen
    print(
        f"\npeer: re-dimension the whole inventory per scenario: {per * 1000:.0f} ms per scenario (sample of "
        f"{len(sample)}), {peer:.1f} s for the {n_scen} scenarios: what-if is {peer / t_all:.1f}x faster "
        "(and it redistributes by LP with priorities, which the peer does not)"
    )
    print(f"- load average at end: {load_average()}")


if __name__ == "__main__":
    main()
