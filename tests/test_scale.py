"""The planning job on Dask gives the same files, byte for byte, as in one process.

One job (fit a week before the as-of date, update with the last week, plan, N-1 and site sweeps) runs
in this process and on a ``LocalCluster`` of 1 and 2 single-threaded worker processes; the SHA-256 of
every output file (actions, alerts, late, temporary, dimensioning, busy-hour forecasts, what-ifs) must
match. Also with the inventory and measurement rows (the regions) shuffled, with the tasks submitted
in a shuffled order, and after a task kills its own worker process (Dask retries it elsewhere).
The reference is the in-process run: the distribution layer must not change a single bit.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
from concurrent.futures import Executor
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from surgeplan.forecast import ShockForecaster
from surgeplan.pipeline import DemoConfig, _subset, continuity_sweeps, export_plan
from surgeplan.plan.once import known_before, plan_once
from surgeplan.scale import SerialExecutor, compute, executor_map
from surgeplan.signals import bundled_indicators
from surgeplan.simulate import bundled_inventory, simulate

pytestmark = pytest.mark.slow

# the tasks below run on worker processes that cannot import this test module
cloudpickle.register_pickle_by_value(sys.modules[__name__])

ASOF = pd.Timestamp("2020-03-16")


@pytest.fixture(scope="module")
def data():
    """Four regions (four time zones: four partitions) of the bundled operator, 6 weeks hourly."""
    cfg = DemoConfig(max_resources=40, regions=("FRA", "ITA", "DEU", "ESP"))
    inv = _subset(bundled_inventory(), cfg)
    ind = bundled_indicators(regions=sorted(inv["region"].unique()), start="2019-12-01", end="2020-12-31")
    meas = simulate(inv, ind, None, "2020-02-03", "2020-03-16", "1h", 2020)
    return inv, ind, meas, cfg.settings


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        with Client(lc) as client:
            yield lc, client


def _job(executor, out: Path, inv, ind, meas, settings, max_partition=None) -> dict[str, str]:
    """Fit, update, plan, sweep; the SHA-256 of every file written."""
    out.mkdir(parents=True, exist_ok=True)
    ts = pd.to_datetime(meas["ts"], utc=True)
    cut = pd.Timestamp(ASOF - pd.Timedelta(days=7), tz="UTC")
    f = ShockForecaster(quantiles=settings.forecast_quantiles, executor=executor, max_partition=max_partition)
    f.fit(meas.loc[(ts < cut).to_numpy()], inv, known_before(ind, cut.tz_localize(None)), cutoff=cut)
    f.update(meas.loc[(ts >= cut).to_numpy()], indicators=known_before(ind, ASOF))
    day = plan_once(meas, inv, ind, ASOF, settings, forecaster=f)
    files = [p for p in export_plan(day.plan, out) if p.suffix == ".csv"]
    day.busy_hour.to_csv(out / "forecast_busy_hour.csv", index=False)
    files.append(out / "forecast_busy_hour.csv")
    files += continuity_sweeps(inv, day.busy_hour, settings.quantile_column, out / "whatif")[1]
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    return _job(None, tmp_path_factory.mktemp("ref"), *data)


@pytest.fixture(scope="module")
def reference_parts4(data, tmp_path_factory):
    """The in-process run with partitions of at most 4 resources (9 partitions instead of one per
    time zone): a model parameter, so the runs that use it compare against this one."""
    return _job(None, tmp_path_factory.mktemp("ref4"), *data, max_partition=4)


class _ShuffledSubmit(Executor):
    """Submits the tasks in a shuffled order and hands the results back in input order."""

    def __init__(self, inner: Executor, seed: int) -> None:
        self.inner, self.rng = inner, random.Random(seed)

    def map(self, fn, *iterables, **kwargs):
        args = list(zip(*iterables, strict=True))
        order = list(range(len(args)))
        self.rng.shuffle(order)
        futures = {i: self.inner.submit(fn, *args[i]) for i in order}
        return iter([futures[i].result() for i in range(len(args))])


class _KillOnce:
    """The first task to run kills its own worker process (as a crash or an OOM kill would)."""

    def __init__(self, fn, marker: str) -> None:
        self.fn, self.marker = fn, marker

    def __call__(self, *args, **kwargs):
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            return self.fn(*args, **kwargs)
        os.close(fd)
        os._exit(1)


class _KillingExecutor(Executor):
    def __init__(self, inner: Executor, marker: Path) -> None:
        self.inner, self.marker = inner, str(marker)

    def map(self, fn, *iterables, **kwargs):
        return self.inner.map(_KillOnce(fn, self.marker), *iterables)


def test_serial_executor_and_map_keep_input_order():
    ex = SerialExecutor()
    assert list(ex.map(pow, [2, 3, 4], [3, 2, 1])) == [8, 9, 4]
    assert executor_map(None, pow, [2, 3], [2, 2]) == [4, 9]
    assert ex.submit(divmod, 7, 2).result() == (3, 1)
    with pytest.raises(ZeroDivisionError):
        ex.submit(divmod, 1, 0).result()


def test_two_workers_identical_to_one_process(data, cluster, reference, tmp_path):
    _, client = cluster
    assert len(reference) >= 8  # plan tables, forecasts, what-ifs
    got = _job(client.get_executor(pure=False), tmp_path, *data)
    assert got == reference


def test_one_worker_identical_to_one_process(data, reference, tmp_path):
    with compute(workers=1) as ex:
        got = _job(ex, tmp_path, *data)
    assert got == reference


def test_four_workers_identical_to_one_process(data, reference_parts4, tmp_path):
    # 9 partitions on 4 single-threaded workers (2 cores: slower, same bytes)
    with compute(workers=4) as ex:
        assert len(ex._client.scheduler_info()["workers"]) == 4
        got = _job(ex, tmp_path, *data, max_partition=4)
    assert got == reference_parts4


def test_busy_hours_reduced_per_group_are_those_of_the_whole_forecast(data, cluster):
    """plan_once takes each group's busy hours where the group is forecast: the same table as
    the busy hours of the whole forecast (one process and workers alike)."""
    from surgeplan.forecast.busy_hour import busy_hour
    from surgeplan.plan.once import forecast_busy_hour, forecast_horizon

    inv, ind, meas, settings = data
    _, client = cluster
    for executor in (None, client.get_executor(pure=False)):
        f = ShockForecaster(quantiles=settings.forecast_quantiles, executor=executor, max_partition=4)
        f.fit(meas, inv, known_before(ind, ASOF), cutoff=pd.Timestamp(ASOF, tz="UTC"))
        whole = busy_hour(forecast_horizon(f, settings), settings.cadence, tz=settings.tz)
        got = forecast_busy_hour(f, settings)
        assert len(f.state_.groups) > 1 and len(got) > 28 * len(f.state_.groups)
        pd.testing.assert_frame_equal(got, whole, check_exact=True)


def test_shuffled_regions_and_task_order_identical(data, cluster, reference, tmp_path):
    inv, ind, meas, settings = data
    _, client = cluster
    inv_s = inv.sample(frac=1.0, random_state=11).reset_index(drop=True)
    meas_s = meas.sample(frac=1.0, random_state=12).reset_index(drop=True)
    assert inv_s["region"].tolist() != inv["region"].tolist()
    got = _job(
        _ShuffledSubmit(client.get_executor(pure=False), seed=5), tmp_path, inv_s, ind, meas_s, settings
    )
    assert got == reference


def test_worker_killed_mid_run_identical(data, cluster, reference_parts4, tmp_path):
    lc, client = cluster
    marker = tmp_path / "killed"
    got = _job(
        _KillingExecutor(client.get_executor(pure=False), marker), tmp_path / "out", *data, max_partition=4
    )
    assert marker.exists()  # a worker did die ...
    # ... and the retried task gave the same result
    assert got == reference_parts4
    # the nanny restarts the killed worker for the tests after this one; on two busy cores (the
    # suite runs two at a time) its start took more than a minute once (CI, session 11)
    client.wait_for_workers(2, timeout=300)


class _Alternating:
    """``Partitions.map`` with every stage's tasks pinned to the worker the previous stage did not
    use: each group and each search moves between the workers at every stage."""

    def __init__(self, original, workers: list[str]) -> None:
        self.original, self.workers, self.calls = original, workers, 0

    def __call__(self, parts, fn, *iterables, local=False):
        if parts.client is None or not len(iterables[0]):
            return self.original(parts, fn, *iterables, local=local)
        self.calls += 1
        where = [self.workers[self.calls % len(self.workers)]]
        its = map(list, iterables)
        return parts.client.map(fn, *its, pure=False, workers=where, allow_other_workers=False)


def test_exchange_partition_read_gives_the_in_memory_groups(data, tmp_path):
    from dataclasses import fields

    from surgeplan.forecast import features as _ft
    from surgeplan.forecast import tasks
    from surgeplan.forecast.panel import (
        EXCHANGE_FILE,
        partitions,
        read_partition,
        resource_meta,
        write_partitions,
    )

    inv, _, meas, _ = data
    m = _ft.normalize_measurements(meas.sample(frac=1.0, random_state=3))
    m = m.iloc[::-1].reset_index(drop=True)  # rows of a resource not in time order
    meta = resource_meta(m, inv)
    meta = meta.assign(cadence_s=3600, tz=[_ft.region_timezone(r) for r in meta["region"]])
    metas = partitions(meta, 4)
    srcs = write_partitions(m, metas, tmp_path / "ds")
    assert len(list((tmp_path / "ds").glob(f"part=*/{EXCHANGE_FILE}"))) == len(metas) >= 9
    (tmp_path / "ds" / "part=99").mkdir()
    (tmp_path / "ds" / "part=99" / EXCHANGE_FILE).write_bytes(b"half-written")  # another part, being written
    opt = ShockForecaster()._options()
    cutoff = pd.Timestamp("2020-03-09", tz="UTC")
    for sub, src in zip(metas, srcs, strict=True):
        rows, nbytes = read_partition(src)
        here = m[m["resource_id"].isin(sub["resource_id"])].reset_index(drop=True)
        pd.testing.assert_frame_equal(rows, here)  # same rows, dtypes and order
        assert 0 < nbytes < 30 * len(here)  # this partition's file only
        a = tasks.built(sub, here, cutoff, opt, _ft.normalize_covariates(None))
        b = tasks.built(sub, src, cutoff, opt, _ft.normalize_covariates(None))
        for f in fields(a):
            assert _same(getattr(a, f.name), getattr(b, f.name)), f.name


def _same(x, y) -> bool:
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x)
    if isinstance(x, np.ndarray):
        return x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
    return type(x) is type(y) and x == y


def test_split_rows_is_the_isin_selection():
    from surgeplan.forecast.panel import split_rows

    rng = np.random.default_rng(4)
    ids = rng.choice(["a", "b", "c", "d", "zz"], 500).astype(object)
    frame = pd.DataFrame({"resource_id": ids, "load": rng.random(500)})
    frame.index = rng.permutation(1000)[:500]  # labels kept, not positions
    parts = [pd.DataFrame({"resource_id": ids}) for ids in (["c", "a"], ["d"], ["b", "q"])]  # "zz" in none
    got = split_rows(frame, parts)
    for sub, rows in zip(parts, got, strict=True):
        pd.testing.assert_frame_equal(rows, frame[frame["resource_id"].isin(sub["resource_id"])])
    assert sum(map(len, got)) == (frame["resource_id"] != "zz").sum()


def test_resident_groups_moved_between_workers_identical(data, cluster, reference, tmp_path, monkeypatch):
    from distributed import Future

    from surgeplan._parallel import Partitions

    _, client = cluster
    workers = sorted(client.scheduler_info()["workers"])
    pin = _Alternating(Partitions.map, workers)
    monkeypatch.setattr(Partitions, "map", lambda p, fn, *it, local=False, **_: pin(p, fn, *it, local=local))
    seen = []
    real = ShockForecaster.predict

    def predict(self, *a, **k):
        seen.append(self)
        return real(self, *a, **k)

    monkeypatch.setattr(ShockForecaster, "predict", predict)
    got = _job(client.get_executor(pure=False), tmp_path, *data)
    assert pin.calls > 10
    f = seen[0]
    assert all(isinstance(h, Future) for h in f.state_.handles)  # the groups stayed on the workers ...
    assert all(g.zraw is None and g.beta is not None for g in f.state_.groups)  # ... the driver has summaries
    assert got == reference


def test_worker_killed_with_resident_groups_identical(data, cluster, reference_parts4, tmp_path, monkeypatch):
    from surgeplan.forecast import tasks

    lc, client = cluster
    marker = tmp_path / "killed"
    # the first fit task kills its worker: the groups resident there are lost and Dask rebuilds
    # them from the tasks that made them (read from the exchange files, search, ...)
    monkeypatch.setattr(tasks, "fitted", _KillOnce(tasks.fitted, str(marker)))
    got = _job(client.get_executor(pure=False), tmp_path / "out", *data, max_partition=4)
    assert marker.exists()
    assert got == reference_parts4
    # the nanny restarts the killed worker for the tests after this one; on two busy cores (the
    # suite runs two at a time) its start took more than a minute once (CI, session 11)
    client.wait_for_workers(2, timeout=300)


def _cli_plan(db: Path, scenario: Path, out: Path, *flags: str) -> dict[str, str]:
    from surgeplan.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["plan", "--scenario", str(scenario), "--db", str(db), "--out", str(out), "--json", *flags])
    assert exit_.value.code == 0
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("plan_*.csv"))}


def test_cli_plan_on_a_running_scheduler_identical(data, cluster, tmp_path):
    from surgeplan.pipeline import _build_store

    inv, ind, meas, _ = data
    lc, _ = cluster
    db = tmp_path / "store.duckdb"
    _build_store(db, inv, ind, meas)
    scenario = tmp_path / "scenario.toml"
    scenario.write_text('[plan]\nasof = "2020-03-16"\nhorizon_days = 28\n')
    here = _cli_plan(db, scenario, tmp_path / "here")
    there = _cli_plan(db, scenario, tmp_path / "there", "--scheduler", lc.scheduler_address)
    assert len(here) == 5 and there == here


def test_cli_refuses_both_flags(tmp_path, capsys):
    from surgeplan.cli import main

    (tmp_path / "s.toml").write_text("[plan]\n")
    with pytest.raises(SystemExit) as exit_:
        main(["plan", "--scenario", str(tmp_path / "s.toml"), "--workers", "2", "--scheduler", "tcp://x:1"])
    assert exit_.value.code == 2
    assert "--workers" in capsys.readouterr().err


def test_partitions_keep_region_kind_blocks_whole():
    from surgeplan.forecast.panel import partitions

    meta = pd.DataFrame({
        "resource_id": [f"r{i}" for i in range(9)],
        "cadence_s": 3600, "tz": ["Europe/Paris"] * 7 + ["Europe/Rome"] * 2,
        "region": ["FRA"] * 5 + ["BEL"] * 2 + ["ITA"] * 2,
        "kind": ["link", "link", "link", "vpn_gateway", "vpn_gateway", "link", "link", "link", "link"],
    })  # fmt: skip
    parts = partitions(meta, 3)
    assert [sorted(p["resource_id"]) for p in parts] == [
        ["r5", "r6"],
        ["r0", "r1", "r2"],
        ["r3", "r4"],
        ["r7", "r8"],
    ]  # BEL/link | FRA/link (3: full) | FRA/vpn | ITA: Rome is its own time zone
    assert [len(p) for p in partitions(meta, None)] == [7, 2]
    assert [len(p) for p in partitions(meta, 1)] == [2, 3, 2, 2]  # a block larger than the bound stays whole


def test_measurements_come_out_in_resource_then_time_order():
    """normalize_measurements sorts through integer keys; the order is the one Python's sort of
    (resource_id, ts) gives, duplicates are averaged, and shuffling the input changes nothing."""
    from surgeplan.forecast.features import normalize_measurements

    rng = np.random.default_rng(3)
    ids = ["b-2", "a-10", "a-9", "B", "a-1"]
    ts = pd.date_range("2020-03-01", periods=6, freq="h", tz="UTC")
    rows = [(r, t, float(rng.random())) for r in ids for t in ts]
    rows.append(("a-9", ts[2], 5.0))  # a duplicate (resource, hour): averaged
    frame = pd.DataFrame(rows, columns=["resource_id", "ts", "load"]).sample(frac=1.0, random_state=4)
    got = normalize_measurements(frame)
    by_key: dict = {}
    for r, t, v in rows:
        by_key.setdefault((r, t.value), []).append(v)
    want = sorted(by_key)
    assert list(zip(got["resource_id"], got["ts"].array.asi8)) == want
    np.testing.assert_allclose(got["load"], [np.mean(by_key[k]) for k in want])
    uniq = frame.drop_duplicates(["resource_id", "ts"])
    again = normalize_measurements(uniq.sample(frac=1.0, random_state=5))
    assert list(zip(again["resource_id"], again["ts"].array.asi8)) == sorted(
        zip(uniq["resource_id"], uniq["ts"].array.asi8)
    )


def test_unusable_exchange_dir_is_named(data, cluster, tmp_path):
    """On Dask the workers read their groups from ``exchange_dir``: a folder that cannot be made
    there is refused with its name, before any work is sent."""
    from surgeplan.errors import SurgeplanError

    inv, ind, meas, _ = data
    missing = tmp_path / "no" / "such" / "folder"
    _, client = cluster
    model = ShockForecaster(executor=client.get_executor(pure=False), exchange_dir=str(missing))
    with pytest.raises(SurgeplanError, match="exchange_dir .*no/such/folder"):
        model.fit(meas, inv, ind)


def test_measured_peak_is_the_highest_measured_busy_hour():
    """The guard reads the highest measured busy-hour load per resource; measured_peak finds it
    without the busy hours: the same numbers, bit for bit, on 15-minute rows with duplicates,
    gaps (NaN) and a resource with no load at all, as from busy_hour by brute force."""
    from surgeplan.forecast.busy_hour import busy_hour
    from surgeplan.plan.once import bound_forecast, measured_peak

    rng = np.random.default_rng(8)
    ts = pd.date_range("2020-03-01", periods=400, freq="15min", tz="UTC")
    frame = pd.DataFrame({
        "resource_id": np.repeat(["b", "a", "c", "nan-only"], len(ts)),
        "ts": np.tile(ts, 4), "load": rng.gamma(2.0, 10.0, 4 * len(ts)),
    })  # fmt: skip
    frame.loc[rng.random(len(frame)) < 0.1, "load"] = np.nan
    frame.loc[frame["resource_id"] == "nan-only", "load"] = np.nan
    dup = frame[frame["resource_id"] != "nan-only"].sample(50, random_state=2).assign(load=7.0)  # duplicates
    frame = pd.concat([frame, dup]).sample(frac=1.0, random_state=3)
    before = (frame["ts"] < ts[300]).to_numpy()
    past = frame.loc[before]
    want = busy_hour(past, "D", tz="Europe/Paris").groupby("resource_id")["load"].max()
    for ids in (frame, frame.astype({"resource_id": "category"})):
        got = measured_peak(ids, before).set_index("resource_id")["load"]
        assert sorted(got.index) == ["a", "b", "c"]
        np.testing.assert_array_equal(got.reindex(want.index).to_numpy(), want.to_numpy())
    bh = pd.DataFrame({"resource_id": ["a", "b", "c"], "period": pd.Timestamp("2020-03-05"), "mean": 1e9})
    assert bound_forecast(bh, measured_peak(frame, before), 2.0)[0].equals(
        bound_forecast(bh, busy_hour(past, "D"), 2.0)[0]
    )


def test_normalized_ids_are_one_string_per_resource():
    """A categorical (or a database read) gives the same normalized table as plain strings, with
    one string object per resource shared by its rows (not one per row: ~70 bytes a row)."""
    from surgeplan.forecast.features import normalize_measurements

    ts = pd.date_range("2020-03-01", periods=50, freq="h", tz="UTC")
    ids = np.repeat(["r-2", "r-10", "r-1"], len(ts))
    plain = pd.DataFrame({"resource_id": ids, "ts": np.tile(ts, 3), "load": np.arange(150.0)})
    rows = [f"{r}" for r in ids]  # a fresh string object per row, as a database driver returns them
    for frame in (plain.astype({"resource_id": "category"}), plain.assign(resource_id=rows)):
        got = normalize_measurements(frame.sample(frac=1.0, random_state=1))
        pd.testing.assert_frame_equal(got, normalize_measurements(plain), check_exact=True)
        assert len({id(x) for x in got["resource_id"]}) == 3


def test_refit_after_a_dask_fit_reads_the_rows_back(data, cluster):
    """A Dask fit drops the driver's copy of the measurements once the workers' exchange dataset
    holds them; a refit reads them back from there: the same rows as kept in one process (table
    compared exactly), and the same forecast after the refit."""
    inv, ind, meas, _ = data
    _, client = cluster
    ts = pd.to_datetime(meas["ts"], utc=True)
    cut = pd.Timestamp(ASOF - pd.Timedelta(days=7), tz="UTC")
    models = []
    for executor in (None, client.get_executor(pure=False)):
        f = ShockForecaster(executor=executor, calibration_days=0)
        f.fit(meas, inv, ind, cutoff=cut)
        f.update(meas.loc[(ts >= cut).to_numpy()])
        models.append(f)
    here, there = (f.state_.history for f in models)
    assert here.measurements is not None and there.measurements is None  # dropped on Dask
    pd.testing.assert_frame_equal(there.all_measurements(), here.all_measurements(), check_exact=True)
    for f in models:
        f.refit()
    a, b = (f.predict("2D") for f in models)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
