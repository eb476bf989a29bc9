"""CLI: ``surgeplan ingest``, ``surgeplan export``, ``surgeplan tables``."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
from typer.testing import CliRunner

from surgeplan.cli import app

runner = CliRunner()

INVENTORY = (
    "resource_id,kind,region,capacity,module_size,max_capacity,lead_time_days,module_cost,"
    "group,priority_class\n"
    """TG1,trunk_group,FRA,120,30,600,14,5000,,vital
"""
)


def test_ingest_export_round_trip(tmp_path):
    db = str(tmp_path / "c.duckdb")
    (tmp_path / "inv.csv").write_text(INVENTORY)
    (tmp_path / "m.csv").write_text(
        "resource_id,ts,load\nTG1,2020-03-16 10:00:00,50\nTG1,2020-03-16 11:00:00,60\n"
    )
    r = runner.invoke(app, ["ingest", "inventory", str(tmp_path / "inv.csv"), "--db", db])
    assert r.exit_code == 0, r.output
    assert "1 inserted" in r.output
    r = runner.invoke(
        app, ["ingest", "measurements", str(tmp_path / "m.csv"), "--db", db, "--tz", "Europe/Paris", "--json"]
    )
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert (rep["inserted"], rep["first"], rep["last"]) == (2, "2020-03-16T09:00:00Z", "2020-03-16T10:00:00Z")
    out = tmp_path / "m.parquet"
    r = runner.invoke(app, ["export", "measurements", "--format", "parquet", "--out", str(out), "--db", db])
    assert r.exit_code == 0, r.output
    assert "2 rows" in r.output
    back = pd.read_parquet(out)
    assert back["load"].tolist() == [50.0, 60.0]
    r = runner.invoke(
        app, ["export", "inventory", "-f", "xlsx", "-o", str(tmp_path / "inv.xlsx"), "--db", db]
    )
    assert r.exit_code == 0, r.output
    assert pd.read_excel(tmp_path / "inv.xlsx")["resource_id"].tolist() == ["TG1"]
    r = runner.invoke(app, ["tables", "--db", db])
    assert r.exit_code == 0 and "measurements" in r.output


def test_bad_file_one_line_exit_2_store_unchanged(tmp_path):
    db = tmp_path / "c.duckdb"
    (tmp_path / "inv.csv").write_text(INVENTORY)
    assert (
        runner.invoke(app, ["ingest", "inventory", str(tmp_path / "inv.csv"), "--db", str(db)]).exit_code == 0
    )
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    bad = tmp_path / "bad.csv"
    bad.write_text("resource_id,ts,load\nTG1,2020-03-16T10:00:00Z,5\nTG1,2020-03-16T11:00:00Z,-2\n")
    r = runner.invoke(app, ["ingest", "measurements", str(bad), "--db", str(db)])
    assert r.exit_code == 2
    err = r.stderr if hasattr(r, "stderr") and r.stderr else r.output
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert f"{bad}, row 2, column 'load'" in lines[0]
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    r = runner.invoke(
        app, ["ingest", "measurements", str(tmp_path / "m.csv"), "--db", str(db), "--tz", "Nowhere/X"]
    )
    assert r.exit_code == 2
    r = runner.invoke(app, ["export", "nope", "--db", str(db)])
    assert r.exit_code == 2
    r = runner.invoke(app, ["export", "measurements", "--db", str(tmp_path / "absent.duckdb")])
    assert r.exit_code == 2 and not (tmp_path / "absent.duckdb").exists()
