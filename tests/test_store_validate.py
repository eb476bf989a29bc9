"""Validation: every rejected input names the file, the 1-based data row and the column.

Row convention: the header is row 0, the first data record row 1 (so for CSV without quoted line
breaks, row = line number - 1). Expected rows below are counted by hand from the literals.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from surgeplan.errors import SurgeplanError, ValidationError
from surgeplan.store import Store

HEADER = (
    "resource_id,kind,region,capacity,module_size,max_capacity,lead_time_days,module_cost,"
    "group,priority_class"
)
GOOD_INV = [
    "TG1,trunk_group,FRA,120,30,600,14,5000,,vital",
    "L1,link,FRA,100,100,400,30,20000,core,standard",
]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _open(directory: Path) -> Store:
    p = directory / "inv.csv"
    p.write_text(HEADER + "\n" + "\n".join(GOOD_INV) + "\n")
    s = Store(directory / "v.duckdb")
    s.ingest_inventory(p)
    return s


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Shared by the rejection tests: a rejected input never changes the store (checked by hash)."""
    with _open(tmp_path_factory.mktemp("validate")) as s:
        yield s


@pytest.fixture
def fresh(tmp_path):
    """For tests that also ingest good rows."""
    with _open(tmp_path) as s:
        yield s


def _reject(store: Store, tmp_path: Path, method: str, text: str, **kw) -> ValidationError:
    f = tmp_path / "in.csv"
    f.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    before = sha(store.path)
    with pytest.raises(ValidationError) as e:
        getattr(store, method)(f, **kw)
    assert sha(store.path) == before
    assert e.value.file == str(f)
    return e.value


# (third data row is the bad one unless said otherwise)
INVENTORY_CASES = [
    ("kind", "X1,trunk_grp,FRA,1,1,1,0,0,,vital", "not a valid kind"),
    ("priority_class", "X1,link,FRA,1,1,1,0,0,,urgent", "expected one of vital, standard"),
    ("priority_class", "X1,link,FRA,1,1,1,0,0,,", "empty"),
    ("capacity", "X1,link,FRA,-5,1,1,0,0,,vital", "negative"),
    ("capacity", "X1,link,FRA,ten,1,1,0,0,,vital", "not a number"),
    ("module_size", "X1,link,FRA,1,0,1,0,0,,vital", "> 0"),
    ("max_capacity", "X1,link,FRA,10,1,5,0,0,,vital", "max_capacity is below capacity"),
    ("lead_time_days", "X1,link,FRA,1,1,1,-1,0,,vital", "negative"),
    ("module_cost", "X1,link,FRA,1,1,1,0,-0.01,,vital", "negative"),
    ("module_cost", "X1,link,FRA,1,1,1,0,nan,,vital", "not a number"),
    ("capacity", "X1,link,FRA,inf,1,inf,0,0,,vital", "not a finite number"),
    ("resource_id", ",link,FRA,1,1,1,0,0,,vital", "empty"),
    ("region", "X1,link,,1,1,1,0,0,,vital", "empty"),
    ("resource_id", "TG1,link,FRA,1,1,1,0,0,,vital", "duplicate"),  # repeats row 1
]


@pytest.mark.parametrize(("column", "row", "message"), INVENTORY_CASES)
def test_inventory_errors_name_file_row_column(store, tmp_path, column, row, message):
    err = _reject(store, tmp_path, "ingest_inventory", HEADER + "\n" + "\n".join([*GOOD_INV, row]) + "\n")
    assert (err.row, err.column) == (3, column), str(err)
    assert message in err.reason, str(err)
    assert f"row 3, column '{column}'" in str(err)


def test_inventory_optional_columns_checked(fresh, tmp_path):
    store = fresh
    text = HEADER + ",aht_s,patience_s,gos_target\nC1,contact_center,FRA,1,1,1,0,0,,vital,240,inf,0.8\n"
    text += "C2,contact_center,FRA,1,1,1,0,0,,vital,0,60,0.8\n"
    err = _reject(store, tmp_path, "ingest_inventory", text)
    assert (err.row, err.column) == (2, "aht_s")
    # inf patience (Erlang C) is accepted
    ok = tmp_path / "ok.csv"
    ok.write_text(text.splitlines()[0] + "\n" + text.splitlines()[1] + "\n")
    store.ingest_inventory(ok)
    assert np.isinf(store.inventory().set_index("resource_id").loc["C1", "patience_s"])


def test_missing_and_unknown_columns_are_header_errors(store, tmp_path):
    err = _reject(
        store, tmp_path, "ingest_inventory", HEADER.replace(",group", "") + "\nX,link,FRA,1,1,1,0,0,vital\n"
    )
    assert (err.row, err.column) == (0, "group") and "missing required column" in err.reason
    err = _reject(store, tmp_path, "ingest_measurements", "resource_id,ts,load,lod\n")
    assert (err.row, err.column) == (0, "lod") and "unknown column" in err.reason
    err = _reject(store, tmp_path, "ingest_measurements", "resource_id,load\nTG1,1\n")
    assert (err.row, err.column) == (0, "ts")


MEASUREMENT_CASES = [
    ("TG1,2020-03-16T10:00:00Z,-1", "load", "negative"),
    ("TG1,2020-03-16T10:00:00Z,abc", "load", "not a number"),
    ("TG1,2020-03-16T10:00:00Z,", "load", "empty"),
    ("TG1,16/03/2020 10:00,1", "ts", "cannot parse"),
    ("TG1,,1", "ts", "empty"),
    ("TG1,2020-03-16 10:00:00,1", "ts", "naive timestamp"),
    ("TG1,infinity,1", "ts", "cannot parse"),
    ("GHOST,2020-03-16T10:00:00Z,1", "resource_id", "unknown resource 'GHOST'"),
    ("TG1,2020-03-16T09:00:00Z,1", "ts", "repeats the key of row 1"),
]


@pytest.mark.parametrize(("line", "column", "message"), MEASUREMENT_CASES)
def test_measurement_errors_name_file_row_column(store, tmp_path, line, column, message):
    text = "resource_id,ts,load\nTG1,2020-03-16T09:00:00Z,5\nL1,2020-03-16T09:00:00Z,5\n" + line + "\n"
    err = _reject(store, tmp_path, "ingest_measurements", text)
    assert (err.row, err.column) == (3, column), str(err)
    assert message in err.reason, str(err)


def test_earliest_problem_is_reported(store, tmp_path):
    text = "resource_id,ts,load\nTG1,2020-03-16T09:00:00Z,5\nGHOST,2020-03-16T09:00:00Z,5\nTG1,x,-1\n"
    err = _reject(store, tmp_path, "ingest_measurements", text)
    assert (err.row, err.column) == (2, "resource_id")


def test_row_numbers_count_records_not_lines(store, tmp_path):
    # a quoted field with a line break: the bad record is on line 5 but is data row 3
    text = (
        "resource_id,kind,region,capacity,module_size,max_capacity,lead_time_days,module_cost,group,"
        "priority_class,name\n"
    )
    text += 'A,link,FRA,1,1,1,0,0,,vital,"two\nlines"\nB,link,FRA,1,1,1,0,0,,vital,x\n'
    text += "C,link,FRA,-1,1,1,0,0,,vital,y\n"
    err = _reject(store, tmp_path, "ingest_inventory", text)
    assert (err.row, err.column) == (3, "capacity")


def test_structural_csv_errors(store, tmp_path):
    err = _reject(
        store, tmp_path, "ingest_measurements", "resource_id,ts,load\nTG1,2020-03-16T09:00Z,5\nTG1,x\n"
    )
    assert err.row == 2 and "expected 3 fields, found 2" in err.reason
    err = _reject(
        store, tmp_path, "ingest_measurements", b"resource_id,ts,load\nTG1,2020-03-16T09:00Z,5\nT\xff1,a,1\n"
    )
    assert (err.row, err.column) == (2, "resource_id") and "UTF-8" in err.reason
    err = _reject(store, tmp_path, "ingest_measurements", "")
    assert err.row == 0 and "empty" in err.reason


def test_parquet_and_frame_rows_are_positions(store, tmp_path):
    frame = pd.DataFrame(
        {
            "resource_id": ["TG1"] * 4,
            "ts": pd.date_range("2020-01-01", periods=4, freq="h", tz="UTC"),
            "load": [1.0, 2.0, np.nan, 4.0],
        }
    )
    with pytest.raises(ValidationError) as e:
        store.ingest_measurements(frame)
    assert (e.value.file, e.value.row, e.value.column) == ("<pandas frame>", 3, "load")
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "f.parquet")
    with pytest.raises(ValidationError) as e:
        store.ingest_measurements(tmp_path / "f.parquet")
    assert (e.value.row, e.value.column) == (3, "load")
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ValidationError, match="Parquet"):
        store.ingest_measurements(tmp_path / "junk.parquet")
    with pytest.raises(ValidationError, match="no such file"):
        store.ingest_measurements(tmp_path / "absent.csv")
    with pytest.raises(SurgeplanError):
        store.ingest_measurements(42)


def test_unsorted_duplicates_found(store, tmp_path):
    # rows out of key order take the exact SQL path; the repeat is row 4 (first seen at row 2)
    text = (
        "resource_id,ts,load\nTG1,2020-01-01T02:00Z,1\nTG1,2020-01-01T00:00Z,1\n"
        "L1,2020-01-01T00:00Z,1\nTG1,2020-01-01T00:00Z,2\n"
    )
    err = _reject(store, tmp_path, "ingest_measurements", text)
    assert (err.row, err.column) == (4, "ts") and "row 2" in err.reason


# ----------------------------------------------------------------------------- time zones


def test_naive_timestamps_need_a_zone_and_are_localized(fresh, tmp_path):
    store = fresh
    local = pd.date_range("2020-03-27 00:00", "2020-03-30 23:00", freq="h")  # spans the CET->CEST change
    local = local[
        local.map(lambda t: not (t.month == 3 and t.day == 29 and t.hour == 2))
    ]  # 02:xx does not exist
    f = tmp_path / "naive.csv"
    pd.DataFrame({"resource_id": "TG1", "ts": local.strftime("%Y-%m-%d %H:%M:%S"), "load": 1.0}).to_csv(
        f, index=False
    )
    with pytest.raises(ValidationError, match="naive timestamp"):
        store.ingest_measurements(f)
    store.ingest_measurements(f, tz="Europe/Paris")
    got = store.measurements("TG1")["ts"]
    # independent reference: pandas/zoneinfo localization
    want = local.tz_localize("Europe/Paris", ambiguous="raise", nonexistent="raise").tz_convert("UTC")
    assert (got.to_numpy() == want.to_numpy()).all()
    # a naive pandas column behaves the same
    frame = pd.DataFrame({"resource_id": "L1", "ts": local, "load": 2.0})
    with pytest.raises(ValidationError) as e:
        store.ingest_measurements(frame)
    assert (e.value.row, e.value.column) == (1, "ts")
    assert store.ingest_measurements(frame, tz="Europe/Paris").inserted == len(local)
    assert (store.measurements("L1")["ts"].to_numpy() == want.to_numpy()).all()


@pytest.mark.parametrize(
    ("zone", "local", "what"),
    [
        ("Europe/Paris", "2020-03-29 02:30:00", "does not exist"),  # clocks 02:00 -> 03:00
        ("Europe/Paris", "2020-10-25 02:30:00", "ambiguous"),  # clocks 03:00 -> 02:00
        ("America/New_York", "2020-03-08 02:15:00", "does not exist"),
        ("America/New_York", "2020-11-01 01:30:00", "ambiguous"),
        ("Australia/Lord_Howe", "2020-04-05 01:45:00", "ambiguous"),  # 30-minute DST shift
    ],
)
def test_dst_gaps_and_folds_are_errors(store, tmp_path, zone, local, what):
    # reference: pandas refuses the same local time
    with pytest.raises(Exception) as ref:
        pd.Timestamp(local).tz_localize(zone, ambiguous="raise", nonexistent="raise")
    assert "TimeError" in type(ref.value).__name__
    text = f"resource_id,ts,load\nTG1,2020-01-01 00:00:00,1\nTG1,{local},1\n"
    err = _reject(store, tmp_path, "ingest_measurements", text, tz=zone)
    assert (err.row, err.column) == (2, "ts") and what in err.reason


def test_unknown_zone(store, tmp_path):
    with pytest.raises(SurgeplanError, match="unknown time zone"):
        store.ingest_measurements(tmp_path / "x.csv", tz="Mars/Olympus")


def test_indicator_dates(store, tmp_path):
    err = _reject(
        store,
        tmp_path,
        "ingest_indicators",
        "region,date,name,value\nFRA,2020-03-17,s,1\nFRA,17.03.2020,s,1\n",
    )
    assert (err.row, err.column) == (2, "date")
    err = _reject(store, tmp_path, "ingest_indicators", "region,date,name,value\nFRA,2020-03-17T10:00,s,1\n")
    assert (err.row, err.column) == (1, "date")
    err = _reject(
        store,
        tmp_path,
        "ingest_indicators",
        "region,date,name,value\nFRA,2020-03-17,s,1\nFRA,2020-03-17,s,2\n",
    )
    assert (err.row, err.column) == (2, "name") and "duplicate" in err.reason


def test_time_major_files_checked_for_duplicates(store, tmp_path):
    # sorted by (ts, resource): valid rows pass the O(n) check; a repeat is still caught (row 5 = row 2)
    rows = [
        "TG1,2020-01-01T00:00Z,1",
        "L1,2020-01-01T00:00Z,1",
        "TG1,2020-01-01T01:00Z,1",
        "L1,2020-01-01T01:00Z,1",
    ]
    err = _reject(
        store,
        tmp_path,
        "ingest_measurements",
        "resource_id,ts,load\n"
        + "\n".join([*rows, "L1,2020-01-01T00:00Z,3", "GHOST,2020-01-02T00:00Z,1"])
        + "\n",
    )
    assert (err.row, err.column) == (5, "ts") and "row 2" in err.reason
    err = _reject(
        store,
        tmp_path,
        "ingest_measurements",
        "resource_id,ts,load\n" + "\n".join([*rows, "GHOST,2020-01-02T00:00Z,1"]) + "\n",
    )
    assert (err.row, err.column) == (5, "resource_id") and "GHOST" in err.reason


def test_nan_in_optional_numeric_column_means_default(fresh):
    # Arrow frame (keeps NaN as a value, unlike pandas -> Arrow which turns it into null)
    cols = HEADER.split(",")
    values = [["C9"], ["contact_center"], ["FRA"], [10.0], [1.0], [50.0], [3.0], [0.0], [None], ["vital"]]
    table = pa.table({**dict(zip(cols, values)), "aht_s": [float("nan")], "gos_target": [float("nan")]})
    fresh.ingest_inventory(table)
    row = fresh.inventory().set_index("resource_id").loc["C9"]
    assert row["aht_s"] == 300.0 and pd.isna(row["gos_target"])  # default / no override
    bad = table.set_column(cols.index("capacity"), "capacity", pa.array([float("nan")]))
    with pytest.raises(ValidationError) as e:
        fresh.ingest_inventory(bad)
    assert (e.value.file, e.value.row, e.value.column) == ("<arrow table>", 1, "capacity")
