"""Benchmark: the planning job (fit, update, plan) in one process and on 1 and 2 local Dask workers.

The operator is the bundled one, or ``--copies K`` copies of it (each copy's ids, groups, sites and
flows renamed, so K times the resources in the same 37 regions and time zones: the forecaster's
partitions grow K-fold). Hourly load is simulated from ``--start`` to the as-of date; the job fits a
week before the as-of date, folds the last week in (``update``), then plans (:func:`plan_once`):
the replay's step. Each configuration runs in a fresh child process (so its peak memory is its
own), after a warm-up of numba's caches.

With workers, the forecaster writes the measurements once as a dataset partitioned by group (Arrow IPC)
(``exchange_dir``), each worker builds its groups from it and keeps them (Dask futures).

Measured: wall time of the job and of its fit / update / plan (cluster start-up apart), speed-up
of 2 workers over 1, peak resident memory of the driver and of each worker (``ru_maxrss``), the
bytes each worker and the driver read and wrote during the job (``/proc/<pid>/io``), the time the
workers spent computing tasks (Dask's task stream; the rest of the wall time is the serial share),
and the SHA-256 of the plan tables and busy-hour forecasts (must be identical).

Run: ``.venv/bin/python benchmarks/bench_scale.py [--copies K] [--start DATE] [--write-results]``;
``--copies 31 --start 2019-09-16`` is the issue's 19,933 resources x 6 months hourly.
Target (issue 15): 2 workers at least 1.6x faster than 1 on a 2-core machine, peak memory per worker
under half the single-process peak, for 20,000 resources x 6 months hourly.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import load_average, machine_markdown  # noqa: E402

ASOF = pd.Timestamp("2020-03-16")
SECTION = "bench_scale"


def operator(copies: int) -> pd.DataFrame:
    """The bundled operator, ``copies`` times (ids, groups, sites, flows renamed per copy)."""
    from surgeplan.simulate import bundled_inventory

    inv = bundled_inventory()
    if copies == 1:
        return inv
    frames = []
    for k in range(copies):
        tag = f"~{k}"
        c = inv.copy()
        for col in ("resource_id", "group", "site", "feeds"):
            c[col] = c[col].where(c[col].isna() | (c[col].astype(str) == ""), c[col].astype(str) + tag)
        frames.append(c)
    return pd.concat(frames, ignore_index=True)


def _io() -> dict[str, int]:
    """This process's I/O counters (``/proc/self/io``: ``rchar`` = bytes read by read calls, files
    and sockets alike; ``wchar`` = written)."""
    out = {}
    for line in Path("/proc/self/io").read_text().splitlines():
        k, v = line.split(":")
        out[k] = int(v)
    return out


def _install_read_meter() -> None:
    """On a worker: count the exchange-file bytes its tasks read (``read_partition``)."""
    from surgeplan.forecast import tasks

    if getattr(tasks.read_partition, "metered", False):
        return
    inner = tasks.read_partition

    def metered(src):
        rows, n = inner(src)
        tasks.bench_read_bytes = getattr(tasks, "bench_read_bytes", 0) + n
        return rows, n

    metered.metered = True
    tasks.read_partition = metered


def _read_bytes() -> int:
    from surgeplan.forecast import tasks

    return getattr(tasks, "bench_read_bytes", 0)


def _sent_bytes(dask_worker) -> int:
    """Bytes this worker sent to others (workers and the driver's gathers), by Dask's count."""
    return dask_worker.transfer_outgoing_bytes_total


class _DriverMeter:
    """Around :class:`surgeplan._parallel.Partitions` on the driver: size (``dask.sizeof``) of the
    task arguments it sends (functions with their global state, values that are not futures) and
    of the values it gathers."""

    def __init__(self) -> None:
        from surgeplan._parallel import Partitions

        self.sent = self.received = 0
        self.map0, self.run0 = Partitions.map, Partitions.run
        meter = self

        def map_(parts, fn, *its, local=False, sizes=None):
            if parts.client is not None:
                meter.sent += _size_of(fn, *its)
            return meter.map0(parts, fn, *its, local=local, sizes=sizes)

        def run_(parts, fn, *its, local=False, sizes=None):
            out = meter.run0(parts, fn, *its, local=local, sizes=sizes)
            if parts.client is not None:
                meter.received += sum(_gathered_size(v) for v in out)
            return out

        Partitions.map, Partitions.run = map_, run_


def _gathered_size(v) -> int:
    """``dask.sizeof`` of a gathered value, looking into dataclasses (a group's summary, a group's
    calibration errors), which ``sizeof`` would count as one small object."""
    import dataclasses

    from dask.sizeof import sizeof

    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return sum(_gathered_size(getattr(v, f.name)) for f in dataclasses.fields(v))
    if isinstance(v, (tuple, list)):
        return sum(_gathered_size(x) for x in v)
    return sizeof(v)


def _size_of(fn, *its) -> int:
    from dask.sizeof import sizeof
    from distributed import Future

    n = len(its[0]) if its else 0
    args = getattr(fn, "args", ()) + tuple(getattr(fn, "keywords", {}).values())
    values = sum(sizeof(x) for it in its for x in it if not isinstance(x, Future))
    return n * sum(sizeof(a) for a in args) + values


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mib() -> float:
    """Resident memory now (on a worker after the job: mostly its resident groups)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _job(executor, inv, ind, meas, settings, max_partition, exchange) -> tuple[dict, dict[str, str]]:
    from surgeplan.forecast import ShockForecaster
    from surgeplan.plan.once import known_before, plan_once

    times = {}
    t0 = time.perf_counter()
    cut = pd.Timestamp(ASOF - pd.Timedelta(days=7), tz="UTC")
    f = ShockForecaster(
        quantiles=settings.forecast_quantiles,
        executor=executor,
        max_partition=max_partition,
        exchange_dir=exchange,
    )
    # the whole table with the cutoff: the fit reads the rows before it (no filtered copy of 88 M rows)
    f.fit(meas, inv, known_before(ind, cut.tz_localize(None)), cutoff=cut)
    times["fit_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    f.update(
        meas.loc[(pd.to_datetime(meas["ts"], utc=True) >= cut).to_numpy()], indicators=known_before(ind, ASOF)
    )
    times["update_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    day = plan_once(meas, inv, ind, ASOF, settings, forecaster=f)
    times["plan_s"] = time.perf_counter() - t1
    times["wall_s"] = time.perf_counter() - t0
    # the exchange files (the key keeps its name: the RESULTS blocks of earlier sessions)
    times["parquet_bytes"] = sum(x.stat().st_size for x in Path(exchange).rglob("data.*"))
    tables = {
        "actions": day.plan.actions,
        "dimensioning": day.plan.dimensioning,
        "alerts": day.plan.alerts,
        "busy_hour": day.busy_hour,
    }
    digest = {k: hashlib.sha256(v.to_csv(index=False).encode()).hexdigest()[:16] for k, v in tables.items()}
    return times, digest


def _warm_data() -> tuple:
    """A small job (12 resources, 5 weeks): compiles numba's functions in every process before
    the timed job (its peak memory is far below the job's)."""
    from surgeplan.signals import bundled_indicators
    from surgeplan.simulate import simulate

    inv = operator(1)
    inv = inv[inv["region"].isin(["FRA", "ITA"])].head(12)
    ind = bundled_indicators(regions=sorted(inv["region"].unique()), start="2019-12-01", end="2020-12-31")
    return inv, ind, simulate(inv, ind, None, "2020-02-10", f"{ASOF:%Y-%m-%d}", "1h", 2020)


def history(copies: int, start: str, cache: str | None) -> tuple:
    """The operator, its indicators and its simulated hourly history (seeded: the same every time).
    With ``cache`` (a folder) the three are pickled there once and read back by later runs: the
    simulation of x31 takes minutes of one core, a pair of runs on a quiet machine need not."""
    from surgeplan.signals import bundled_indicators
    from surgeplan.simulate import simulate

    path = None if cache is None else Path(cache) / f"history-x{copies}-{start}.pkl"
    if path is not None and path.exists():
        return pd.read_pickle(path)
    inv = operator(copies)
    ind = bundled_indicators(regions=sorted(inv["region"].unique()), start="2019-12-01", end="2020-12-31")
    meas = simulate(inv, ind, None, start, f"{ASOF:%Y-%m-%d}", "1h", 2020)
    if path is not None:
        tmp = path.with_suffix(".tmp")
        pd.to_pickle((inv, ind, meas), tmp)
        tmp.rename(path)  # whole or absent, if two runs write it at once
    return inv, ind, meas


def child(copies: int, start: str, workers: int, max_partition: int | None, cache: str | None = None) -> dict:
    """One configuration, in this (fresh) process."""
    from surgeplan.pipeline import DemoConfig
    from surgeplan.scale import compute

    inv, ind, meas = history(copies, start, cache)
    settings = DemoConfig().settings
    out = {"resources": len(inv), "rows": len(meas), "workers": workers}
    out["data_peak_mib"] = _peak_mib()  # the operator and its simulated history, before the job
    small = _warm_data()
    t0 = time.perf_counter()
    with compute(workers=workers or None) as ex, tempfile.TemporaryDirectory() as exchange:
        out["startup_s"] = time.perf_counter() - t0
        _job(ex, *small, settings, max_partition, exchange)  # numba compiles in every process once
        client = ex._client if workers else None
        if client is not None:
            from distributed import get_task_stream

            client.run(_install_read_meter)
            read0, sent0 = client.run(_read_bytes), client.run(_sent_bytes)
            meter = _DriverMeter()
            with get_task_stream(client) as stream:
                times, out["digest"] = _job(ex, inv, ind, meas, settings, max_partition, exchange)
            read1, sent1 = client.run(_read_bytes), client.run(_sent_bytes)
            out["worker_peak_mib"] = sorted(client.run(_peak_mib).values())
            out["worker_rss_end_mib"] = sorted(client.run(_rss_mib).values())
            out["worker_parquet_mib"] = sorted((read1[w] - read0[w]) / 2**20 for w in read1)
            out["worker_sent_mib"] = sorted((sent1[w] - sent0[w]) / 2**20 for w in sent1)
            out["driver_sent_mib"], out["driver_received_mib"] = meter.sent / 2**20, meter.received / 2**20
            busy = {}
            for t in stream.data:
                for s in t["startstops"]:
                    if s["action"] == "compute":
                        busy[t["worker"]] = busy.get(t["worker"], 0.0) + s["stop"] - s["start"]
            out["worker_busy_s"] = sorted(busy.values())
            out["tasks"] = len(stream.data)
        else:
            times, out["digest"] = _job(ex, inv, ind, meas, settings, max_partition, exchange)
        out.update(times)
    out["driver_peak_mib"] = _peak_mib()
    out["load_end"] = load_average()
    return out


def _run_child(
    copies: int, start: str, workers: int, max_partition: int | None = None, cache: str | None = None
) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as fh:
        cmd = [
            sys.executable,
            __file__,
            "--child",
            str(workers),
            "--copies",
            str(copies),
            "--start",
            start,
            "--json-out",
            fh.name,
        ]
        cmd += [] if max_partition is None else ["--max-partition", str(max_partition)]
        cmd += [] if cache is None else ["--cache", cache]
        subprocess.run(cmd, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        return json.loads(Path(fh.name).read_text())


def _markdown(results: list[dict], copies: int, start: str, max_partition: int | None, machine: str) -> str:
    r0 = results[0]
    lines = [
        f"## Scale: the planning job on Dask ({r0['resources']:,} resources)",
        "",
        "Script: `benchmarks/bench_scale.py`.",
        "",
        machine,
        f"- operator: bundled x {copies} ({r0['resources']:,} resources, 37 regions), hourly from {start} "
        f"to {ASOF:%Y-%m-%d} ({r0['rows'] / 1e6:.1f} M rows); job = fit, update one week, plan_once; "
        "partitions: "
        + ("one per time zone" if max_partition is None else f"at most {max_partition} resources"),
        "- groups built on the workers from an Arrow IPC dataset and resident there (Dask futures); "
        "sent per worker: Dask's count of the bytes it sent (to the other worker and to the driver's "
        "gathers); driver sent / gathered: `dask.sizeof` of the task arguments (no futures) and of "
        "the gathered summaries and forecasts",
        "",
        "| run | fit / update / plan (s) | job wall (s) | driver peak RSS (MiB) | worker peak RSS (MiB) "
        "| worker RSS at end (MiB) | exchange read per worker (MiB) | sent per worker (MiB) "
        "| driver sent / gathered (MiB) | worker busy (s) | load (1 min) at end | outputs |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    ref = r0["digest"]
    for r in results:
        name = "one process" if not r["workers"] else f"{r['workers']} worker(s)"
        wk = ", ".join(f"{x:.0f}" for x in r.get("worker_peak_mib", [])) or "-"
        end = ", ".join(f"{x:.0f}" for x in r.get("worker_rss_end_mib", [])) or "-"
        rd = ", ".join(f"{x:.0f}" for x in r.get("worker_parquet_mib", [])) or "-"
        sent = ", ".join(f"{x:.0f}" for x in r.get("worker_sent_mib", [])) or "-"
        busy = ", ".join(f"{x:.0f}" for x in r.get("worker_busy_s", [])) or "-"
        drv = f"{r['driver_sent_mib']:.0f} / {r['driver_received_mib']:.0f}" if r["workers"] else "-"
        same = "identical" if r["digest"] == ref else "DIFFERENT"
        lines.append(
            f"| {name} | {r['fit_s']:.1f} / {r['update_s']:.1f} / {r['plan_s']:.1f} | {r['wall_s']:.1f} "
            f"| {r['driver_peak_mib']:.0f} | {wk} | {end} | {rd} | {sent} | {drv} | {busy} "
            f"| {(r['load_end'] or [float('nan')])[0]:.1f} | {same} |"
        )
    by = {r["workers"]: r for r in results}
    lines.append("")
    lines.append(
        f"- exchange dataset (Arrow IPC, LZ4) written by the driver: "
        f"{results[-1]['parquet_bytes'] / 2**20:.0f} MiB; "
        f"driver peak before the job (operator + simulated history): {r0['data_peak_mib']:.0f} MiB"
    )
    if 1 in by:
        one = by[1]
        serial = one["wall_s"] - sum(one["worker_busy_s"])
        share = serial / one["wall_s"]
        lines.append(
            f"- 1 worker: {sum(one['worker_busy_s']):.1f} s computing tasks, {serial:.1f} s not "
            f"({share:.0%}: the driver's global steps, plan, and moving data): "
            f"Amdahl bound for 2 workers {1 / (share + (1 - share) / 2):.2f}x"
        )
    if 1 in by and 2 in by:
        lines.append(f"- speed-up 2 workers over 1: {by[1]['wall_s'] / by[2]['wall_s']:.2f}x (target 1.6x)")
        inflation = sum(by[2]["worker_busy_s"]) / sum(by[1]["worker_busy_s"])
        lines.append(
            f"- task time of 2 workers / of 1 worker: {inflation:.2f} (about 1 when each worker had a core "
            "to itself; well above 1, they shared the cores with other work and the speed-up is not measured)"
        )
    if 0 in by and 2 in by:
        peak = max(by[2]["worker_peak_mib"])
        lines.append(
            f"- 2 workers over one process: {by[0]['wall_s'] / by[2]['wall_s']:.2f}x; peak RSS per worker "
            f"{peak:.0f} MiB = {peak / by[0]['driver_peak_mib']:.0%} of the single-process peak "
            "(target < 50%)"
        )
    lines.append(
        f"- load average at end: {' / '.join(f'{x:.2f}' for x in results[-1]['load_end'] or ())}; "
        "the machine is shared by several engineers, so every time here is noisy (pessimistic)"
    )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--start", default="2020-01-06")
    ap.add_argument("--runs", default="0,1,2", help="worker counts (0 = one process)")
    ap.add_argument("--child", type=int, default=None)
    ap.add_argument("--json-out", default=None)
    ap.add_argument(
        "--max-partition", type=int, default=None, help="resources per partition (default: time zone)"
    )
    ap.add_argument("--write-results", action="store_true")
    ap.add_argument("--cache", default=None, help="folder of simulated histories (read, else written)")
    a = ap.parse_args()
    if a.child == -1:  # only the simulated history, into the cache
        history(a.copies, a.start, a.cache)
        Path(a.json_out).write_text("{}")
        return
    if a.child is not None:
        res = child(a.copies, a.start, a.child, a.max_partition, a.cache)
        print(json.dumps(res), file=sys.stderr)
        Path(a.json_out).write_text(json.dumps(res))
        return
    machine = machine_markdown()  # with the load average at the start
    _run_child(1, "2020-02-24", 0)  # warm numba's caches
    if a.cache is not None:  # simulated once, before the timed runs
        _run_child(a.copies, a.start, -1, a.max_partition, a.cache)
    results = [_run_child(a.copies, a.start, int(w), a.max_partition, a.cache) for w in a.runs.split(",")]
    text = _markdown(results, a.copies, a.start, a.max_partition, machine)
    print(text)
    if a.write_results:
        path = Path(__file__).resolve().parent / "RESULTS.md"
        body = path.read_text()
        tag = f"{SECTION}-{a.copies}-{a.max_partition or 'tz'}"
        begin, end = f"<!-- {tag}:begin -->", f"<!-- {tag}:end -->"
        block = f"{begin}\n{text}\n{end}"
        if begin in body:
            body = body[: body.index(begin)] + block + body[body.index(end) + len(end) :]
        else:
            body = body.rstrip() + "\n\n" + block + "\n"
        path.write_text(body)


if __name__ == "__main__":
    main()
