"""Customer-relation benchmark: sizing speed for 100,000 chains, pooling gain of the bundled centres.

1. **Chains.** ``n`` synthetic chains (default 100,000), each a contact number -> IVR -> voice queue
   (callback offer) -> callback message queue, plus a chatbot -> chat queue (concurrency 3): six
   resources a chain, one busy-hour row each. Timed: ``dimension()`` on the whole inventory (flow
   push, number holding times with the queue staffed for its targets, every stage sized). Peer, in
   the same process on the same chains: the per-chain loop a planner would write around the same
   scalar functions (surgeplan's own teletraffic called one chain at a time), timed on a random
   subsample for a fixed budget and extrapolated (stated).
2. **Pooling.** The bundled operator simulated through March 2020 (seed 0); on the day with the
   most calls at the voice queues, agents needed by every queue apart against the queues of each
   language and class pooled across the five service centres (``pooling_gain``), and each centre's
   staffing when another closes (``closure_staffing``, the continuity LP).

Run: ``.venv/bin/python benchmarks/bench_customer_relation.py [n_chains] [--write-results]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from surgeplan import teletraffic as tt
from surgeplan.dimension import dimension
from surgeplan.dimension.customer_relation import number_holding_time
from surgeplan.dimension.pooling import pooling_gain

PEER_BUDGET_S = 20.0


def synthetic(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Inventory of ``n`` six-stage chains and one busy-hour row per resource."""
    rng = np.random.default_rng(seed)
    i = np.arange(n).astype(str)
    calls = rng.uniform(50, 3000, n)  # calls per hour at the number
    aht = rng.uniform(180, 600, n)

    def block(suffix, kind, capacity, **cols):
        d = {
            "resource_id": np.char.add(np.char.add("C", i), suffix),
            "kind": kind,
            "region": "FRA",
            "capacity": capacity,
            "module_size": 1.0,
            "max_capacity": 1e6,
            "lead_time_days": 14.0,
            "module_cost": 100.0,
            "group": "",
            "priority_class": "standard",
        }
        d.update(cols)
        return pd.DataFrame(d)

    def to(suffix):
        return np.char.add(np.char.add("C", i), suffix)

    inv = pd.concat(
        [
            block("N", "contact_number", np.ceil(calls * 0.1), feeds=to("I")),
            block(
                "I",
                "ivr",
                np.ceil(calls / 60),
                feeds=to("Q"),
                ivr_time_s=rng.uniform(20, 90, n),
                self_service_share=rng.uniform(0, 0.3, n),
            ),
            block(
                "Q",
                "contact_center",
                np.ceil(calls * aht / 3600),
                feeds=to("M"),
                aht_s=aht,
                patience_s=rng.uniform(60, 300, n),
                callback_share=rng.uniform(0, 0.4, n),
            ),
            block("M", "message_queue", 5.0, aht_s=aht),
            block(
                "B",
                "chatbot",
                np.ceil(calls / 10),
                feeds=to("C"),
                aht_s=240.0,
                containment_share=rng.uniform(0.1, 0.5, n),
            ),
            block(
                "C",
                "chat_queue",
                np.ceil(calls / 30),
                aht_s=600.0,
                patience_s=300.0,
                answer_within_s=60.0,
                concurrency=3.0,
            ),
        ],
        ignore_index=True,
    )
    load = np.concatenate([calls, np.ones(n), np.ones(n), np.ones(n), calls * 0.8, np.ones(n)])
    bh = pd.DataFrame({"resource_id": inv["resource_id"], "period": pd.Timestamp("2020-03-23"), "p90": load})
    return inv, bh


def peer_chain(r: pd.Series, bot: float) -> None:
    """One chain the slow way: scalar calls of the same models, stage by stage."""
    hold, _ = number_holding_time(r.calls, r.ivr_time, r.ss, r.aht, r.pat, 20.0, 0.8, 0.05, r.cb)
    tt.erlang_b_servers(r.calls * float(hold) / 3600, 0.01)
    tt.erlang_b_servers(r.calls * r.ivr_time / 3600, 0.01)
    lam = r.calls * (1 - r.ss) / 3600
    n = tt.callback_agents(lam, r.aht, r.pat, 0.8, 20.0, 0.05, r.cb)
    cb = tt.callback_queue(lam, r.aht, r.pat, n, 20.0, r.cb).callback_probability
    tt.backlog_agents(max(r.calls * (1 - r.ss) * cb, 1e-9), r.aht, 0.95, 14400.0)
    tt.chat_agents(bot * (1 - r.cont) / 3600, 600.0, 300.0, 0.8, 60.0, 0.05, 3, 0.25)


def bench_chains(n: int) -> list[str]:
    inv_w, bh_w = synthetic(2000, seed=1)
    t = time.perf_counter()
    dimension(inv_w, bh_w)  # warm-up: numba compilation or cache load
    t_warm = time.perf_counter() - t
    t = time.perf_counter()
    inv, bh = synthetic(n)
    t_gen = time.perf_counter() - t
    t = time.perf_counter()
    out = dimension(inv, bh)
    t_dim = time.perf_counter() - t
    # peer: per-chain scalar loop on a random subsample, extrapolated
    rng = np.random.default_rng(2)
    w = inv.set_index("resource_id")
    sample = rng.permutation(n)
    done, t0 = 0, time.perf_counter()
    for k in sample:
        if time.perf_counter() - t0 > PEER_BUDGET_S:
            break
        c = f"C{k}"
        r = pd.Series(
            {
                "calls": float(bh["p90"].iloc[k]),
                "ivr_time": w.at[c + "I", "ivr_time_s"],
                "ss": w.at[c + "I", "self_service_share"],
                "aht": w.at[c + "Q", "aht_s"],
                "pat": w.at[c + "Q", "patience_s"],
                "cb": w.at[c + "Q", "callback_share"],
                "cont": w.at[c + "B", "containment_share"],
            }
        )
        peer_chain(r, float(bh["p90"].iloc[4 * n + k]))
        done += 1
    t_peer = (time.perf_counter() - t0) / max(done, 1) * n
    ok = out["needed"].notna().mean()
    return [
        "| step | chains | resources | wall (s) | chains/s |",
        "|---|---:|---:|---:|---:|",
        (
            f"| `dimension()`: flow push, number holding times, every stage sized | {n:,} | {len(inv):,} | "
            f"{t_dim:.1f} | {n / t_dim:,.0f} |"
        ),
        (
            f"| peer: per-chain loop over the same scalar models (timed on {done:,} chains for "
            f"{PEER_BUDGET_S:.0f} s, extrapolated) | {n:,} | {len(inv):,} | {t_peer:,.0f} | "
            f"{n / t_peer:,.0f} |"
        ),
        "",
        (
            f"- vectorised / per-chain loop: **{t_peer / t_dim:,.0f}x**; rows sized: {ok:.1%}; "
            "warm-up (2,000 chains, "
            f"numba compilation or cache load): {t_warm:.1f} s; synthetic data: {t_gen:.1f} s"
        ),
    ]


def bench_pooling() -> list[str]:
    from surgeplan.continuity.centres import closure_staffing
    from surgeplan.pipeline import measured_busy_hour
    from surgeplan.signals import bundled_indicators
    from surgeplan.simulate import bundled_inventory, simulate

    inv = bundled_inventory()
    m = simulate(inv, bundled_indicators(), start="2020-03-01", end="2020-04-01", freq="1h", seed=0)
    bh = measured_busy_hour(m)
    cc = inv.loc[inv["kind"] == "contact_center", "resource_id"]
    rows = bh[bh["resource_id"].astype(str).isin(cc)]
    day = rows.groupby("period")["load"].sum().idxmax()
    d = dimension(inv, bh[bh["period"] == day], "load")
    d = d[d["kind"].astype(str) == "contact_center"]
    load = pd.Series(d["load"].to_numpy(), index=d["resource_id"].astype(str).to_numpy())
    t = time.perf_counter()
    pool = pooling_gain(inv, load)
    t_pool = time.perf_counter() - t
    t = time.perf_counter()
    cl = closure_staffing(inv, load)
    t_cl = time.perf_counter() - t
    apart, pooled = pool["agents_apart"].sum(), pool["agents_pooled"].sum()
    lines = [
        (
            f"Bundled operator, {len(cc)} voice queues at 5 centres, simulated March 2020 (seed 0), "
            "busy hour of "
            f"{pd.Timestamp(day):%d %b %Y} ({load.sum():,.0f} calls/h in all):"
        ),
        "",
        "| language | class | centres | queues | calls/h | agents apart | agents pooled | gain |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in pool.itertuples():
        lines.append(
            f"| {r.language} | {r.priority_class} | {r.sites} | {r.queues} | {r.calls_per_hour:,.0f} | "
            f"{r.agents_apart:,.0f} | {r.agents_pooled:,.0f} | {r.pooling_gain:,.0f} |"
        )
    lines += [
        (
            f"| **all** | | | {int(pool['queues'].sum())} | {pool['calls_per_hour'].sum():,.0f} | "
            f"**{apart:,.0f}** | **{pooled:,.0f}** | "
            f"**{apart - pooled:,.0f} ({(apart - pooled) / apart:.1%})** |"
        ),
        "",
        (
            "One centre closed (continuity LP moves its calls to the same language and class elsewhere, "
            "within hiring ceilings):"
        ),
        "",
        "| closed | agents needed at the others | installed there | calls/h placed nowhere |",
        "|---|---:|---:|---:|",
    ]
    for closed, g in cl.groupby("closed"):
        own = g[g["site"] == closed]
        rest = g[g["site"] != closed]
        lines.append(
            f"| {closed} | {rest['agents_needed'].sum():,.0f} | {rest['agents_installed'].sum():,.0f} | "
            f"{own['calls_unplaced'].sum():,.0f} |"
        )
    lines += ["", f"- pooling_gain {t_pool:.2f} s, closure_staffing (5 closures, LP) {t_cl:.2f} s"]
    return lines


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    write = "--write-results" in sys.argv
    n = int(args[0]) if args else 100_000
    sys.path.insert(0, str(Path(__file__).parent))
    from _machine import load_average, machine_markdown

    load_average()
    chains = bench_chains(n)
    pooling = bench_pooling()
    lines = [
        (
            "<!-- bench_customer_relation:begin (generated by benchmarks/bench_customer_relation.py "
            "--write-results) -->"
        ),
        "## Customer relation: chains and pooled centres",
        "",
        (
            "Script: `benchmarks/bench_customer_relation.py` (issue 17). "
            "Timings on the shared 2-core machine "
            "are noisy."
        ),
        "",
        machine_markdown(),
        "",
        "### Sizing speed",
        "",
        *chains,
        "",
        "### Pooling gain of the bundled service centres",
        "",
        *pooling,
        "<!-- bench_customer_relation:end -->",
    ]
    text = "\n".join(lines)
    print(text)
    if write:
        path = Path(__file__).parent / "RESULTS.md"
        old = path.read_text(encoding="utf-8")
        tag_a, tag_b = "<!-- bench_customer_relation:begin", "<!-- bench_customer_relation:end -->"
        a, b = old.find(tag_a), old.find(tag_b)
        new = (
            (old[:a] + text + old[b + len(tag_b) :])
            if a >= 0 and b > a
            else old.rstrip("\n") + "\n\n" + text + "\n"
        )
        path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
