"""Retrial queue benchmark: exact truncated chain vs the approximation vs extended Erlang B.

What is measured, in ONE process:

1. **Accuracy** on a grid (fresh traffic 2, 10, 50, 200 E; load ``traffic / circuits`` 0.7, 0.9,
   1.1, 1.3; retry probability 0.3, 0.6, 0.9; redial delay 0.02 .. 20 mean holding times): blocking
   of ``retrial(..., method="approximate")`` and of ``extended_erlang_b`` relative to the exact chain
   (``method="exact"``), where the chain fits :data:`EXACT_MAX_STATES`.
2. **Time** of one exact solve and one approximation per grid point, and of the named peer
   ``extended_erlang_b`` (the model used before: one call per point).
3. **Boundary**: large groups whose chain is near the state budget, where ``method="auto"``
   switches from the chain to the approximation; the approximation's error there.

Usage::

    .venv/bin/python benchmarks/bench_retrial.py           # ~2-4 min on 2 cores, prints markdown
    .venv/bin/python benchmarks/bench_retrial.py --quick   # smaller grid (~30 s)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _machine import load_average, machine_markdown

from surgeplan.errors import SurgeplanError
from surgeplan.teletraffic import extended_erlang_b, retrial
from surgeplan.teletraffic.retrial import EXACT_MAX_STATES

DELAYS = (0.02, 0.1, 0.5, 2.0, 5.0, 20.0)


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def grid(quick: bool) -> list[tuple[float, int, float, float]]:
    traffic = (2.0, 10.0, 50.0) if quick else (2.0, 10.0, 50.0, 200.0)
    loads = (0.7, 1.1) if quick else (0.7, 0.9, 1.1, 1.3)
    return [
        (a, max(1, round(a / rho)), p, d)
        for a in traffic
        for rho in loads
        for p in (0.3, 0.6, 0.9)
        for d in DELAYS
    ]


def accuracy(cases):
    rows = []
    for a, n, p, d in cases:
        try:
            ex, t_ex = timed(retrial, a, n, p, d, method="exact")
        except SurgeplanError:
            rows.append((a, n, p, d, np.nan, np.nan, np.nan, np.nan, np.nan))
            continue
        ap, t_ap = timed(retrial, a, n, p, d, method="approximate")
        eb, t_eb = timed(extended_erlang_b, a, n, p)
        rows.append(
            (a, n, p, d, ap.blocking / ex.blocking - 1, eb.blocking / ex.blocking - 1, t_ex, t_ap, t_eb)
        )
    return np.array(rows)


def summary(rows) -> list[str]:
    ok = ~np.isnan(rows[:, 4])
    out = [
        f"{int(ok.sum())} of {len(rows)} grid points fit the exact chain (<= {EXACT_MAX_STATES:,} states).",
        "",
        (
            "| redial delay (holding times) | points | approximation: max / median rel. error "
            "| extended Erlang B: max / median |"
        ),
        "|---|---|---|---|",
    ]
    for d in DELAYS:
        m = ok & (rows[:, 3] == d)
        if not m.any():
            continue
        e_ap, e_eb = np.abs(rows[m, 4]), np.abs(rows[m, 5])
        out.append(
            f"| {d:g} | {int(m.sum())} | {e_ap.max():.1%} / {np.median(e_ap):.1%} "
            f"| {e_eb.max():.1%} / {np.median(e_eb):.1%} |"
        )
    e_ap, e_eb = np.abs(rows[ok, 4]), np.abs(rows[ok, 5])
    out.append(
        f"| all | {int(ok.sum())} | {e_ap.max():.1%} / {np.median(e_ap):.1%} "
        f"| {e_eb.max():.1%} / {np.median(e_eb):.1%} |"
    )
    over = rows[ok, 4] > 1e-6
    high = rows[ok, 4].max()
    out += [
        "",
        f"Approximation above the exact blocking at {int(over.sum())} points (by at most {high:.2%}).",
    ]
    t_ex, t_ap, t_eb = rows[ok, 6], rows[ok, 7], rows[ok, 8]
    out += [
        "",
        "| per grid point | median | p90 | max |",
        "|---|---|---|---|",
        (
            f"| exact chain | {np.median(t_ex) * 1e3:.1f} ms | {np.quantile(t_ex, 0.9) * 1e3:.1f} ms "
            f"| {t_ex.max() * 1e3:.0f} ms |"
        ),
        (
            f"| approximation | {np.median(t_ap) * 1e3:.2f} ms | {np.quantile(t_ap, 0.9) * 1e3:.2f} ms "
            f"| {t_ap.max() * 1e3:.1f} ms |"
        ),
        (
            f"| peer: extended_erlang_b | {np.median(t_eb) * 1e6:.0f} us | "
            f"{np.quantile(t_eb, 0.9) * 1e6:.0f} us | {t_eb.max() * 1e6:.0f} us |"
        ),
        "",
        (
            f"Median time ratio exact / approximation: {np.median(t_ex / t_ap):.0f}x; "
            f"approximation / extended Erlang B: {np.median(t_ap / t_eb):.0f}x."
        ),
    ]
    return out


BOUNDARY = (
    (200.0, 190, 0.7, 5.0),
    (500.0, 500, 0.8, 0.05),
    (500.0, 500, 0.8, 2.0),
    (1000.0, 1000, 0.8, 0.05),
    (1000.0, 1000, 0.8, 1.0),
    (1000.0, 1000, 0.8, 5.0),
    (2000.0, 2100, 0.7, 0.05),
)


def boundary() -> list[str]:
    """Large groups; the exact reference may exceed the budget ``auto`` uses, so it is raised here."""
    retrial_module = sys.modules["surgeplan.teletraffic.retrial"]
    retrial_module.EXACT_MAX_STATES = 4 * EXACT_MAX_STATES
    out = [
        (
            f"Exact reference solved with the budget raised to {4 * EXACT_MAX_STATES:,} states "
            f"(``auto`` approximates above {EXACT_MAX_STATES:,})."
        ),
        "",
        (
            "| traffic E | circuits | p | delay | exact blocking | exact time | approximation | rel. error "
            "| approx. time |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for a, n, p, d in BOUNDARY:
        ap, t_ap = timed(retrial, a, n, p, d, method="approximate")
        try:
            ex, t_ex = timed(retrial, a, n, p, d, method="exact")
            cells = (
                f"{ex.blocking:.5f} | {t_ex:.2f} s | {ap.blocking:.5f} | {ap.blocking / ex.blocking - 1:+.2%}"
            )
        except SurgeplanError:
            cells = f"beyond budget | - | {ap.blocking:.5f} | -"
        out.append(f"| {a:g} | {n} | {p:g} | {d:g} | {cells} | {t_ap * 1e3:.1f} ms |")
    retrial_module.EXACT_MAX_STATES = EXACT_MAX_STATES
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller grid")
    args = ap.parse_args(argv)
    retrial(10.0, 10, 0.5, 0.05)  # load the compiled kernels before timing
    load_before = load_average()
    rows = accuracy(grid(args.quick))
    lines = ["## Teletraffic: retrial queue", "", *summary(rows), "", "### Boundary", "", *boundary()]
    lines += ["", f"Load average before / after: {load_before} / {load_average()}", "", machine_markdown()]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
