"""Benchmark: validated ingest of 10 million measurement rows from Parquet into the store.

Generates ``--resources`` x ``--hours`` hourly measurements (default 1,000 x 10,000 = 10 M rows)
in a temporary directory, then times:

1. ``Store.ingest_measurements`` into an empty store (full validation + upsert + checkpoint),
2. the same ingest again (idempotent: every row unchanged, nothing written),
3. the peer: plain DuckDB ``INSERT INTO measurements SELECT * FROM read_parquet(...)`` into the
   same table layout (primary key on ``resource_id, ts``), without any validation.

Prints rows/s, the ratio to the peer, and peak memory (``ru_maxrss`` of this process, which
includes generating the data, and Python-heap peak from ``tracemalloc`` during the ingest; DuckDB
allocates outside the Python heap, so ``ru_maxrss`` is the number that matters).

Run: ``python benchmarks/bench_store.py [--resources 1000 --hours 10000]``.
Target (issue 3): the 10 M-row ingest under 30 s on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import load_average, machine_markdown  # noqa: E402

from surgeplan.store import Store  # noqa: E402


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def make_data(tmp: Path, n_resources: int, n_hours: int, seed: int = 0) -> tuple[Path, Path]:
    """Write inventory.csv and measurements.parquet (row groups of 1 M rows)."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"R{i:06d}" for i in range(n_resources)])
    inv = pd.DataFrame(
        {
            "resource_id": ids,
            "kind": "trunk_group",
            "region": "FRA",
            "capacity": 120.0,
            "module_size": 30.0,
            "max_capacity": 1200.0,
            "lead_time_days": 14,
            "module_cost": 5000.0,
            "group": "",
            "priority_class": "standard",
        }
    )
    inv_path = tmp / "inventory.csv"
    inv.to_csv(inv_path, index=False)
    ts = pd.date_range("2019-01-01", periods=n_hours, freq="h", tz="UTC")
    table = pa.table(
        {
            "resource_id": pa.array(np.repeat(ids, n_hours)),
            "ts": pa.array(np.tile(ts.values.astype("datetime64[us]"), n_resources), pa.timestamp("us", tz="UTC")),
            "load": rng.gamma(4.0, 20.0, n_resources * n_hours),
        }
    )
    path = tmp / "measurements.parquet"
    pq.write_table(table, path, row_group_size=1_000_000, compression="zstd")
    return inv_path, path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=1_000)
    parser.add_argument("--hours", type=int, default=10_000)
    args = parser.parse_args(argv)
    n = args.resources * args.hours

    print("## Store ingest\n")
    print(machine_markdown())
    with tempfile.TemporaryDirectory(prefix="bench_store_") as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        inv_path, parquet = make_data(tmp, args.resources, args.hours)
        gen = time.perf_counter() - t0
        size_mb = parquet.stat().st_size / 1e6
        rss_after_gen = _rss_mib()

        db = tmp / "store.duckdb"
        with Store(db) as store:
            store.ingest_inventory(inv_path)
            tracemalloc.start()
            rep1 = store.ingest_measurements(parquet)
            _, py_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rep2 = store.ingest_measurements(parquet)
        rss_store = _rss_mib()
        db_mb = db.stat().st_size / 1e6

        peer_db = tmp / "peer.duckdb"
        con = duckdb.connect(str(peer_db))
        con.execute(
            "CREATE TABLE measurements (resource_id VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL, load DOUBLE, "
            "PRIMARY KEY (resource_id, ts))"
        )
        t0 = time.perf_counter()
        con.execute(f"INSERT INTO measurements SELECT resource_id, ts, load FROM read_parquet('{parquet}')")
        con.execute("CHECKPOINT")
        peer = time.perf_counter() - t0
        con.close()

    assert rep1.inserted == n and rep1.updated == 0, rep1
    assert rep2.unchanged == n and rep2.inserted == rep2.updated == 0, rep2
    la = load_average()
    print(
        f"\n{n:,} rows ({args.resources:,} resources x {args.hours:,} hours), Parquet {size_mb:.0f} MB "
        f"(generated in {gen:.1f} s); store file after ingest {db_mb:.0f} MB\n"
    )
    print("| step | seconds | rows/s | vs peer |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| ingest into empty store (validate + upsert + checkpoint) | {rep1.seconds:.2f} | "
          f"{n / rep1.seconds:,.0f} | {rep1.seconds / peer:.2f}x |")
    print(f"| re-ingest, all rows unchanged (validate + diff, no write) | {rep2.seconds:.2f} | "
          f"{n / rep2.seconds:,.0f} | {rep2.seconds / peer:.2f}x |")
    print(f"| peer: plain DuckDB INSERT from read_parquet, PK, no validation | {peer:.2f} | {n / peer:,.0f} | 1.00x |")
    print(
        f"\npeak RSS {rss_store:,.0f} MiB (of which {rss_after_gen:,.0f} MiB already after generating the data); "
        f"Python-heap peak during ingest {py_peak / 2**20:,.1f} MiB"
    )
    if la is not None:
        print(f"load average at end (1/5/15 min): {la[0]:.2f} / {la[1]:.2f} / {la[2]:.2f}")
    target = 30.0 * n / 10_000_000
    verdict = "PASS" if rep1.seconds < target else "FAIL"
    print(f"target: < {target:.0f} s for {n:,} rows -> {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
