"""Schema versions and migrations: old files are migrated on open, newer or foreign files refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from surgeplan.errors import SurgeplanError
from surgeplan.store import MIGRATIONS, SCHEMA_VERSION, Store


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# The version-1 layout written out by hand (as surgeplan 0.1 development builds created it).
V1_SQL = """
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL,
                             description VARCHAR);
CREATE TABLE kinds (kind VARCHAR NOT NULL, load_unit VARCHAR, capacity_unit VARCHAR, gos VARCHAR,
                    gos_default DOUBLE, dimensioned BOOLEAN, PRIMARY KEY (kind));
CREATE TABLE resources (resource_id VARCHAR NOT NULL, kind VARCHAR, region VARCHAR, capacity DOUBLE,
    module_size DOUBLE, max_capacity DOUBLE, lead_time_days DOUBLE, module_cost DOUBLE, "group" VARCHAR,
    priority_class VARCHAR, name VARCHAR, site VARCHAR, gos_target DOUBLE, retry_probability DOUBLE,
    aht_s DOUBLE, patience_s DOUBLE, answer_within_s DOUBLE, abandon_max DOUBLE, PRIMARY KEY (resource_id));
CREATE TABLE measurements (resource_id VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL, load DOUBLE,
                           PRIMARY KEY (resource_id, ts));
CREATE TABLE indicators (region VARCHAR NOT NULL, date DATE NOT NULL, name VARCHAR NOT NULL, value DOUBLE,
                         PRIMARY KEY (region, date, name));
INSERT INTO schema_version VALUES (1, TIMESTAMPTZ '2026-01-01 00:00:00+00', 'core data');
INSERT INTO resources VALUES ('TG1', 'trunk_group', 'FRA', 120, 30, 600, 14, 5000, NULL, 'vital',
                              NULL, NULL, NULL, 0, 300, 120, 20, 0.05);
INSERT INTO measurements VALUES ('TG1', TIMESTAMPTZ '2020-03-16 09:00:00+00', 80.5);
"""


def test_migration_list_is_ordered():
    versions = [m.version for m in MIGRATIONS]
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    assert SCHEMA_VERSION == versions[-1]


def test_empty_duckdb_file_is_version_0_and_gets_everything(tmp_path):
    path = tmp_path / "v0.duckdb"
    duckdb.connect(str(path)).close()  # an empty DuckDB file, no schema_version: version 0
    with Store(path) as s:
        assert s.migrated_from == 0 and s.version == SCHEMA_VERSION
        assert {"resources", "measurements", "indicators", "covariates", "runs", "forecasts", "kinds"} <= set(
            s.tables()["table"]
        )
    assert not Path(str(path) + ".wal").exists()  # checkpointed: self-contained


def test_version_1_file_is_migrated_keeping_data(tmp_path):
    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    con.execute(V1_SQL)
    con.close()
    with pytest.raises(SurgeplanError, match="needs migrating"):
        Store(path, read_only=True)
    with Store(path) as s:
        assert s.migrated_from == 1 and s.version == SCHEMA_VERSION
        inv = s.inventory()
        assert inv["resource_id"].tolist() == ["TG1"]
        # v3 added the optional columns introduced since v1, empty for the old row
        assert {"feeds", "language", "ivr_time_s", "concurrency", "redial_delay_s", "holding_time_s"} <= set(
            inv.columns
        )
        m = s.measurements()
        assert m["load"].tolist() == [80.5] and m["ts"].iloc[0] == pd.Timestamp("2020-03-16 09:00", tz="UTC")
        assert len(s.read_table("kinds")) > 0  # filled from the registry on open
        assert "covariates" in set(s.tables()["table"])
        versions = s.read_table("schema_version")["version"].tolist()
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    # opening again migrates nothing and writes nothing
    before = sha(path)
    with Store(path) as s:
        assert s.migrated_from == SCHEMA_VERSION
    assert sha(path) == before
    with Store(path, read_only=True) as s:
        assert s.version == SCHEMA_VERSION


def test_newer_file_is_refused_untouched(tmp_path):
    path = tmp_path / "future.duckdb"
    with Store(path):
        pass
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (?, now(), 'from the future')", [SCHEMA_VERSION + 7])
    con.close()
    before = sha(path)
    with pytest.raises(SurgeplanError, match=f"version {SCHEMA_VERSION + 7} is newer"):
        Store(path)
    assert sha(path) == before


def test_foreign_duckdb_file_is_refused(tmp_path):
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE sales (x INTEGER)")
    con.close()
    with pytest.raises(SurgeplanError, match="not a surgeplan store"):
        Store(path)
    with pytest.raises(SurgeplanError, match="no such store"):
        Store(tmp_path / "missing.duckdb", read_only=True)
