"""Export round trips (csv / parquet / xlsx read back equal) and the XLSX row limit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import surgeplan.store.export as export_mod
from surgeplan.errors import SurgeplanError
from surgeplan.store import Store

INVENTORY = (
    "resource_id,kind,region,capacity,module_size,max_capacity,lead_time_days,module_cost,"
    "group,priority_class\n"
    """TG1,trunk_group,FRA,120,30,600,14,5000,,vital
L1,link,FRA,100,100,400,30,20000,core,standard
"""
)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    (d / "inv.csv").write_text(INVENTORY)
    ts = pd.date_range("2020-03-16", periods=30, freq="h", tz="UTC")
    m = pd.DataFrame(
        {"resource_id": np.repeat(["L1", "TG1"], 30), "ts": np.tile(ts, 2), "load": np.arange(60) * 1.5}
    )
    m.loc[0, "ts"] = pd.Timestamp("2020-03-15 23:59:59.25", tz="UTC")  # sub-second instant
    ind = pd.DataFrame(
        {
            "region": "FRA",
            "date": pd.date_range("2020-03-01", periods=5),
            "name": "stringency_index",
            "value": [10.0, 20, 30, 40, 87.96],
        }
    )
    with Store(d / "e.duckdb") as s:
        s.ingest_inventory(d / "inv.csv")
        s.ingest_measurements(m)
        s.ingest_indicators(ind)
        yield s


def test_csv_round_trip_iso_utc(store, tmp_path):
    out = store.export("measurements", tmp_path / "m.csv", "csv")
    lines = out.read_text().splitlines()
    assert lines[0] == "resource_id,ts,load"
    assert lines[1] == "L1,2020-03-15T23:59:59.250000Z,0.0"
    assert lines[2] == "L1,2020-03-16T01:00:00Z,1.5"
    back = pd.read_csv(out)
    back["ts"] = pd.to_datetime(back["ts"], utc=True, format="ISO8601").astype("datetime64[ns, UTC]")
    pd.testing.assert_frame_equal(back, store.measurements())
    ind = pd.read_csv(store.export("indicators", tmp_path / "i.csv"), parse_dates=["date"])
    pd.testing.assert_frame_equal(ind, store.indicators())


def test_parquet_round_trip(store, tmp_path):
    out = store.export("measurements", tmp_path / "m.parquet")
    back = pq.read_table(out).to_pandas()
    back["ts"] = back["ts"].astype("datetime64[ns, UTC]")
    pd.testing.assert_frame_equal(back, store.measurements())
    inv = pq.read_table(store.export("inventory", tmp_path / "inv.parquet")).to_pandas()
    pd.testing.assert_frame_equal(inv, store.inventory())


def test_xlsx_round_trip(store, tmp_path):
    out = store.export("measurements", tmp_path / "m.xlsx", "xlsx")
    back = pd.read_excel(out, sheet_name="measurements", engine="openpyxl")
    want = store.measurements()
    # Excel keeps milliseconds and no time zone: instants are written in UTC
    assert (back["ts"].dt.tz_localize("UTC").to_numpy() == want["ts"].dt.round("ms").to_numpy()).all()
    pd.testing.assert_frame_equal(back.drop(columns="ts"), want.drop(columns="ts"))
    from openpyxl import load_workbook

    cell = load_workbook(out)["measurements"]["B2"]
    assert cell.number_format == 'yyyy-mm-dd"T"hh:mm:ss"Z"'
    inv = pd.read_excel(store.export("inventory", tmp_path / "inv.xlsx"))
    assert inv["resource_id"].tolist() == ["L1", "TG1"] and inv["capacity"].tolist() == [100, 120]


def test_xlsx_row_limit(store, tmp_path, monkeypatch):
    assert export_mod.XLSX_MAX_ROWS == 1_048_576  # Excel: 1,048,576 rows per sheet (header included)
    monkeypatch.setattr(export_mod, "XLSX_MAX_ROWS", 60)  # 60 data rows + header > 60
    with pytest.raises(SurgeplanError, match="at most 59 data rows"):
        store.export("measurements", tmp_path / "big.xlsx", "xlsx")
    assert list(tmp_path.iterdir()) == []  # no partial file left behind
    monkeypatch.setattr(export_mod, "XLSX_MAX_ROWS", 61)
    store.export("measurements", tmp_path / "ok.xlsx", "xlsx")


def test_export_errors(store, tmp_path):
    with pytest.raises(SurgeplanError, match="no table"):
        store.export("nope", tmp_path / "x.csv")
    with pytest.raises(SurgeplanError, match="format"):
        store.export("measurements", tmp_path / "x.json")
    with pytest.raises(SurgeplanError, match="does not exist"):
        store.export("measurements", tmp_path / "no" / "x.csv")


def test_export_tables_writes_whole_files_with_the_usual_mode(tmp_path):
    """CSV + XLSX of named tables, no temporary left behind, and files as open() would make
    them (mkstemp alone would leave them private, 0600)."""
    import os

    from surgeplan.store.export import export_tables

    old = os.umask(0o022)
    try:
        paths = export_tables({"a": pd.DataFrame({"x": [1, 2]})}, tmp_path, "plan", {"asof": "2020-03-16"})
    finally:
        os.umask(old)
    assert [p.name for p in paths] == ["plan_a.csv", "plan.xlsx"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.xlsx", "plan_a.csv"]
    assert all((p.stat().st_mode & 0o777) == 0o644 for p in paths)
    assert pd.read_csv(paths[0])["x"].tolist() == [1, 2]
    assert set(pd.read_excel(paths[1], sheet_name=None)) == {"summary", "a"}
