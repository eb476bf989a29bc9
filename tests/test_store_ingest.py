"""Store ingest: happy paths, idempotency, upsert counts, atomicity (byte-for-byte), frame sources."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from surgeplan.errors import ValidationError
from surgeplan.kinds import INVENTORY_OPTIONAL, INVENTORY_REQUIRED, KINDS
from surgeplan.store import SCHEMA_VERSION, Store

INVENTORY = (
    "resource_id,kind,region,capacity,module_size,max_capacity,lead_time_days,module_cost,"
    "group,priority_class\n"
    """TG-FRA-ITA,trunk_group,FRA,120,30,600,14,5000,,vital
LNK-PAR-1,link,FRA,100,100,400,30,20000,core-par,standard
LNK-PAR-2,link,FRA,100,100,inf,30,20000,core-par,standard
VPN-1,vpn_gateway,DEU,20000,5000,100000,7,15000,,vital
CC-LYON,contact_center,FRA,40,5,200,21,0,,standard
"""
)

# 11:00+01:00 is 10:00 UTC; 09:00:00.5Z keeps its half second
MEASUREMENTS = """resource_id,ts,load
TG-FRA-ITA,2020-03-16T09:00:00Z,80.5
TG-FRA-ITA,2020-03-16T11:00:00+01:00,95
LNK-PAR-1,2020-03-16 09:00:00+00:00,41.25
VPN-1,2020-03-16T09:00:00.5Z,16000
"""


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def utc(*args: int) -> pd.Timestamp:
    return pd.Timestamp(dt.datetime(*args, tzinfo=dt.UTC))


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "s.duckdb") as s:
        s.ingest_inventory(write(tmp_path, "inventory.csv", INVENTORY))
        yield s


def test_new_store_has_schema_and_kinds(tmp_path):
    with Store(tmp_path / "new.duckdb") as s:
        assert s.version == SCHEMA_VERSION
        kinds = s.read_table("kinds").set_index("kind")
    # units recorded per kind, straight from the registry
    assert set(kinds.index) == set(KINDS)
    assert kinds.loc["trunk_group", "load_unit"] == "erlang"
    assert kinds.loc["contact_center", "capacity_unit"] == "agents"
    assert kinds.loc["link", "gos_default"] == 0.7
    assert pd.isna(kinds.loc["generic", "gos_default"])


def test_inventory_round_trip_and_defaults(store):
    inv = store.inventory()
    assert list(inv.columns) == [*INVENTORY_REQUIRED, *INVENTORY_OPTIONAL]
    assert list(inv["resource_id"]) == sorted(["TG-FRA-ITA", "LNK-PAR-1", "LNK-PAR-2", "VPN-1", "CC-LYON"])
    row = inv.set_index("resource_id").loc["CC-LYON"]
    assert row["capacity"] == 40 and row["module_size"] == 5 and row["module_cost"] == 0
    assert row["aht_s"] == 300.0 and row["patience_s"] == 120.0  # INVENTORY_OPTIONAL defaults
    assert pd.isna(row["group"]) and pd.isna(row["gos_target"])
    assert math.isinf(inv.set_index("resource_id").loc["LNK-PAR-2", "max_capacity"])


def test_measurements_land_in_utc(store, tmp_path):
    rep = store.ingest_measurements(write(tmp_path, "m.csv", MEASUREMENTS))
    assert (rep.rows_read, rep.inserted, rep.updated, rep.unchanged) == (4, 4, 0, 0)
    assert rep.first == "2020-03-16T09:00:00Z" and rep.last == "2020-03-16T10:00:00Z"
    m = store.measurements()
    assert str(m["ts"].dtype) == "datetime64[ns, UTC]"
    got = {(r.resource_id, r.ts): r.load for r in m.itertuples()}
    assert got == {
        ("LNK-PAR-1", utc(2020, 3, 16, 9)): 41.25,
        ("TG-FRA-ITA", utc(2020, 3, 16, 9)): 80.5,
        ("TG-FRA-ITA", utc(2020, 3, 16, 10)): 95.0,
        ("VPN-1", utc(2020, 3, 16, 9, 0, 0, 500_000)): 16000.0,
    }
    # readers filter half-open [start, end)
    sel = store.measurements("TG-FRA-ITA", start="2020-03-16T09:30:00Z", end=utc(2020, 3, 16, 10, 0, 1))
    assert list(sel["load"]) == [95.0]
    assert store.measurements(["VPN-1", "LNK-PAR-1"], end="2020-03-16 09:00:00.4+00:00")[
        "resource_id"
    ].tolist() == ["LNK-PAR-1"]


def test_reingest_is_idempotent_and_writes_nothing(store, tmp_path):
    f = write(tmp_path, "m.csv", MEASUREMENTS)
    store.ingest_measurements(f)
    before = (sha(store.path), store.measurements(), store.runs())
    again = store.ingest_measurements(f)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    assert again.run_id is None and not again.changed
    assert sha(store.path) == before[0]  # not one byte written
    pd.testing.assert_frame_equal(store.measurements(), before[1])
    pd.testing.assert_frame_equal(store.runs(), before[2])
    again_inv = store.ingest_inventory(tmp_path / "inventory.csv")
    assert (again_inv.inserted, again_inv.updated, again_inv.unchanged) == (0, 0, 5)


def test_upsert_counts_and_values(store, tmp_path):
    store.ingest_measurements(write(tmp_path, "m.csv", MEASUREMENTS))
    # one changed value, one identical, one new
    text = (
        "resource_id,ts,load\n"
        "TG-FRA-ITA,2020-03-16T09:00:00Z,81\n"
        "TG-FRA-ITA,2020-03-16T10:00:00Z,95\n"
        "TG-FRA-ITA,2020-03-16T11:00:00Z,99\n"
    )
    rep = store.ingest_measurements(write(tmp_path, "m2.csv", text))
    assert (rep.inserted, rep.updated, rep.unchanged) == (1, 1, 1)
    tg = store.measurements("TG-FRA-ITA")
    assert tg["load"].tolist() == [81.0, 95.0, 99.0]
    assert len(store.measurements()) == 5  # 4 + 1 new
    # the ingest is recorded as a run with its counts
    runs = store.runs()
    assert runs["command"].tolist()[-1] == "ingest measurements"
    assert '"updated": 1' in runs["parameters"].tolist()[-1]


def test_inventory_upsert_by_resource_id(store, tmp_path):
    changed = INVENTORY.replace("TG-FRA-ITA,trunk_group,FRA,120,", "TG-FRA-ITA,trunk_group,FRA,150,")
    extra = "NEW-1,generic,ITA,1,1,1,0,0,,standard\n"
    rep = store.ingest_inventory(write(tmp_path, "inv2.csv", changed + extra))
    assert (rep.inserted, rep.updated, rep.unchanged) == (1, 1, 4)
    inv = store.inventory().set_index("resource_id")
    assert inv.loc["TG-FRA-ITA", "capacity"] == 150 and inv.loc["NEW-1", "kind"] == "generic"
    # resources missing from a later file are kept
    store.ingest_inventory(write(tmp_path, "inv3.csv", INVENTORY.splitlines()[0] + "\n" + extra))
    assert len(store.inventory()) == 6


def test_bad_last_row_leaves_store_byte_for_byte_unchanged(store, tmp_path):
    store.ingest_measurements(write(tmp_path, "m.csv", MEASUREMENTS))
    rows = "".join(f"LNK-PAR-1,2020-04-01T{h:02d}:00:00Z,{h}\n" for h in range(24))
    bad = write(tmp_path, "bad.csv", "resource_id,ts,load\n" + rows + "LNK-PAR-1,2020-04-02T00:00:00Z,-1\n")
    before, n = sha(store.path), len(store.measurements())
    with pytest.raises(ValidationError) as e:
        store.ingest_measurements(bad)
    assert (e.value.file, e.value.row, e.value.column) == (str(bad), 25, "load")
    assert sha(store.path) == before
    assert not Path(str(store.path) + ".wal").exists()
    assert len(store.measurements()) == n
    store.close()
    assert sha(store.path) == before  # closing writes nothing either


def test_parquet_and_frames(store, tmp_path):
    ts = pd.date_range("2020-03-01", periods=48, freq="h", tz="Europe/Paris")
    frame = pd.DataFrame({"resource_id": "VPN-1", "ts": ts, "load": range(48)})
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "m.parquet")
    rep = store.ingest_measurements(tmp_path / "m.parquet")
    assert rep.inserted == 48
    m = store.measurements("VPN-1")
    # aware local timestamps are stored as the same instants in UTC
    assert (m["ts"] == ts.tz_convert("UTC")).all()
    # the same rows as pandas, polars and arrow frames (Nixtla names too) change nothing
    nixtla = frame.rename(columns={"resource_id": "unique_id", "ts": "ds", "load": "y"})
    for src in (frame, pl.from_pandas(frame), pa.Table.from_pandas(frame), nixtla):
        r = store.ingest_measurements(src)
        assert (r.inserted, r.updated, r.unchanged) == (0, 0, 48), type(src)
    assert store.ingest_measurements(pa.Table.from_pandas(frame)).source == "<arrow table>"
    # a frame indexed by ts works too
    assert store.ingest_measurements(frame.set_index("ts")).unchanged == 48


def test_indicators_and_covariates(store, tmp_path):
    ind = (
        "region,date,name,value\n"
        "FRA,2020-03-17,stringency_index,87.96\n"
        "FRA,2020-03-17,stay_home_required,2\n"
        "ITA,2020-03-10,stringency_index,85.19\n"
    )
    rep = store.ingest_indicators(write(tmp_path, "ind.csv", ind))
    assert (rep.inserted, rep.first, rep.last) == (3, "2020-03-10", "2020-03-17")
    got = store.indicators(regions="FRA", names=["stringency_index"])
    assert got["date"].dtype == "datetime64[ns]" and got["value"].tolist() == [87.96]
    assert len(store.indicators(start="2020-03-11")) == 2
    # pandas naive midnight datetimes are calendar days
    frame = pd.DataFrame(
        {"region": ["DEU"], "date": pd.to_datetime(["2020-03-22"]), "name": ["lockdown"], "value": [1]}
    )
    assert store.ingest_indicators(frame).inserted == 1

    cov_r = "resource_id,ts,name,value\nCC-LYON,2020-03-16T08:00:00Z,campaign,1\n"
    cov_g = "region,ts,name,value\nFRA,2020-03-16T00:00:00,temperature_c,9.5\n"
    assert store.ingest_covariates(write(tmp_path, "cr.csv", cov_r)).inserted == 1
    assert store.ingest_covariates(write(tmp_path, "cg.csv", cov_g), tz="Europe/Paris").inserted == 1
    cov = store.covariates()
    assert sorted(cov["key_type"]) == ["region", "resource_id"]
    fra = store.covariates(key_type="region")
    assert list(fra.columns) == ["region", "ts", "name", "value"] and fra["region"].tolist() == ["FRA"]
    assert fra["ts"].iloc[0] == utc(2020, 3, 15, 23)  # local midnight CET = 23:00 UTC the day before
    with pytest.raises(ValidationError) as e:
        store.ingest_covariates(
            write(tmp_path, "cx.csv", "resource_id,ts,name,value\nNOPE,2020-03-16T08:00Z,x,1\n")
        )
    assert (e.value.row, e.value.column) == (1, "resource_id")


def test_derived_tables_runs_and_forecasts(store):
    run = store.start_run("plan", {"quantile": 0.9})
    actions = pd.DataFrame({"resource_id": ["TG-FRA-ITA"], "modules": [2], "cost": [10000.0]})
    assert store.write_table("actions", actions, run) == run
    store.write_table("actions", actions, run)  # same run again replaces, does not duplicate
    got = store.read_table("actions")
    assert len(got) == 1 and got["run_id"].iloc[0] == run
    with pytest.raises(ValueError):
        store.write_table("measurements", actions, run)
    ts = pd.date_range("2020-03-20", periods=3, freq="h", tz="UTC")
    fc = pd.DataFrame(
        {"resource_id": "TG-FRA-ITA", "ts": ts, "mean": [1.0, 2, 3], "p50": [1.0, 2, 3], "p97.5": [2.0, 3, 4]}
    )
    frun = store.write_forecasts(fc)
    back = store.forecasts(frun)
    pd.testing.assert_frame_equal(back, fc, check_dtype=False)
    assert set(store.tables()["table"]) >= {"actions", "forecasts", "runs"}


def test_bulk_load_path_keeps_the_primary_key(store, tmp_path, monkeypatch):
    import duckdb

    import surgeplan.store.ingest as ingest_mod

    monkeypatch.setattr(ingest_mod, "BULK_ROWS", 2)  # force the "load, then build the key" path
    rep = store.ingest_measurements(write(tmp_path, "m.csv", MEASUREMENTS))
    assert rep.inserted == 4
    con = store.connection
    kinds = {
        r[0]
        for r in con.execute(
            "SELECT constraint_type FROM duckdb_constraints() WHERE table_name = 'measurements'"
        ).fetchall()
    }
    assert "PRIMARY KEY" in kinds
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO measurements VALUES ('VPN-1', TIMESTAMPTZ '2020-03-16 09:00:00.5+00', 1)")
    # upserts keep working on the rebuilt table
    text = "resource_id,ts,load\nVPN-1,2020-03-16T09:00:00.5Z,17000\n"
    assert store.ingest_measurements(write(tmp_path, "u.csv", text)).updated == 1
    assert store.measurements("VPN-1")["load"].tolist() == [17000.0]


def test_bad_last_row_in_parquet_leaves_store_unchanged(store, tmp_path):
    n = 5000
    ts = pd.date_range("2020-04-01", periods=n, freq="min", tz="UTC")
    frame = pd.DataFrame({"resource_id": "LNK-PAR-1", "ts": ts, "load": 1.0})
    frame.loc[n - 1, "load"] = -0.5
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "bad.parquet", row_group_size=1000)
    before = sha(store.path)
    with pytest.raises(ValidationError) as e:
        store.ingest_measurements(tmp_path / "bad.parquet")
    assert (e.value.row, e.value.column) == (n, "load")  # last row of the 5th row group
    assert sha(store.path) == before and len(store.measurements()) == 0


def test_gzipped_csv(store, tmp_path):
    import gzip

    (tmp_path / "m.csv.gz").write_bytes(gzip.compress(MEASUREMENTS.encode()))
    assert store.ingest_measurements(tmp_path / "m.csv.gz").inserted == 4
    bad = MEASUREMENTS + "VPN-1,2020-03-16T10:00:00Z,-3\n"
    (tmp_path / "bad.csv.gz").write_bytes(gzip.compress(bad.encode()))
    with pytest.raises(ValidationError) as e:
        store.ingest_measurements(tmp_path / "bad.csv.gz")
    assert (e.value.row, e.value.column) == (5, "load")
