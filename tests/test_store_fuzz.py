"""Fuzz: bad input files never crash with anything but ValidationError, and never change the store.

Inputs: random bytes, valid files with one garbled row (random text in a cell, missing / extra
fields, stray quotes, non-UTF-8 bytes, huge or odd numbers and dates). Each example either ingests
(it happened to be valid) or raises ValidationError naming the file, with the store file
byte-for-byte unchanged.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surgeplan.errors import ValidationError
from surgeplan.store import Store

INV_HEADER = (
    "resource_id,kind,region,capacity,module_size,max_capacity,lead_time_days,module_cost,"
    "group,priority_class"
)
INV_ROWS = [
    "TG1,trunk_group,FRA,120,30,600,14,5000,,vital",
    "L1,link,FRA,100,100,400,30,20000,core,standard",
    "V1,vpn_gateway,DEU,100,10,1000,7,10,,vital",
]
MEAS_HEADER = "resource_id,ts,load"
MEAS_ROWS = [f"{r},2020-03-16T{h:02d}:00:00Z,{h * 1.5}" for r in ("TG1", "L1") for h in range(4)]
IND_HEADER = "region,date,name,value"
IND_ROWS = [f"FRA,2020-03-{d:02d},stringency_index,{d * 2.5}" for d in range(1, 5)]

FILES = {
    "ingest_inventory": (INV_HEADER, INV_ROWS),
    "ingest_measurements": (MEAS_HEADER, MEAS_ROWS),
    "ingest_indicators": (IND_HEADER, IND_ROWS),
    "ingest_covariates": (
        "resource_id,ts,name,value",
        [f"TG1,2020-03-16T0{h}:00:00Z,temp,{h}" for h in range(4)],
    ),
}

_counter = itertools.count()

NASTY = st.sampled_from(
    [
        "",
        " ",
        '"',
        '""',
        "'",
        ",",
        "\t",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "-0",
        "1e309",
        "-1e-320",
        "0x1F",
        "1,5",
        "١٢",
        "\u00a0",
        "2020-02-30",
        "2020-13-01",
        "0001-01-01T00:00:00Z",
        "9999-12-31",
        "infinity",
        "2020-03-16T25:00:00Z",
        "2020-03-16T10:00:00+25:00",
        "2020-03-16 10:00",
        "TG1",
        "trunk_group",
        "vital",
        "NULL",
        "None",
        "true",
        "-1",
        "18446744073709551616",
        "１２",
        "😀",
        "DROP TABLE resources;",
    ]
)
CELL = st.one_of(NASTY, st.text(max_size=12), st.floats(allow_nan=True).map(repr), st.integers().map(str))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    (d / "inv.csv").write_text(INV_HEADER + "\n" + "\n".join(INV_ROWS) + "\n")
    (d / "m.csv").write_text(MEAS_HEADER + "\n" + "\n".join(MEAS_ROWS) + "\n")
    with Store(d / "fuzz.duckdb") as s:
        s.ingest_inventory(d / "inv.csv")
        s.ingest_measurements(d / "m.csv")
        s._fuzz_dir = d  # type: ignore[attr-defined]
        yield s


def _check(store: Store, method: str, data: bytes, suffix: str = ".csv") -> None:
    path: Path = store._fuzz_dir / f"in{next(_counter)}{suffix}"  # type: ignore[attr-defined]
    path.write_bytes(data)
    before = hashlib.sha256(store.path.read_bytes()).digest()
    try:
        getattr(store, method)(path)
    except ValidationError as exc:
        assert exc.file == str(path)
        assert hashlib.sha256(store.path.read_bytes()).digest() == before
        assert not Path(str(store.path) + ".wal").exists()
    finally:
        path.unlink()


# SURGEPLAN_FUZZ_EXAMPLES=2000 for a long local run; the suite default stays fast
FUZZ = settings(
    max_examples=int(os.environ.get("SURGEPLAN_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


@FUZZ
@given(method=st.sampled_from(sorted(FILES)), data=st.binary(max_size=300), parquet=st.booleans())
def test_random_bytes(store, method, data, parquet):
    _check(store, method, data, ".parquet" if parquet else ".csv")


@FUZZ
@given(
    method=st.sampled_from(sorted(FILES)),
    which=st.integers(min_value=0, max_value=100),
    op=st.sampled_from(["cell", "drop", "extra", "quote", "bytes", "header"]),
    cells=st.lists(CELL, min_size=1, max_size=3),
    junk=st.binary(min_size=1, max_size=8),
)
def test_garbled_rows(store, method, which, op, cells, junk):
    header, rows = FILES[method]
    rows = list(rows)
    i = which % len(rows)
    fields = rows[i].split(",")
    if op == "cell":
        for k, value in enumerate(cells):
            fields[(which + k) % len(fields)] = value
    elif op == "drop":
        fields = fields[: -1 - which % (len(fields) - 1)]
    elif op == "extra":
        fields += cells
    elif op == "quote":
        fields[which % len(fields)] = '"' + cells[0]
    elif op == "header":
        h = header.split(",")
        h[which % len(h)] = cells[0]
        header = ",".join(h)
    rows[i] = ",".join(fields)
    data = (header + "\n" + "\n".join(rows) + "\n").encode("utf-8")
    if op == "bytes":
        cut = (which * 7) % len(data)
        data = data[:cut] + junk + data[cut:]
    _check(store, method, data)


@FUZZ
@given(
    values=st.lists(
        st.one_of(
            st.none(), CELL, st.floats(), st.integers(min_value=-(2**62), max_value=2**62), st.booleans()
        ),
        min_size=1,
        max_size=6,
    ),
    column=st.sampled_from(["resource_id", "ts", "load"]),
)
def test_frames_with_odd_values(store, values, column):
    import pandas as pd

    n = len(values)
    frame = pd.DataFrame(
        {
            "resource_id": ["TG1"] * n,
            "ts": pd.date_range("2021-01-01", periods=n, freq="h", tz="UTC"),
            "load": [1.0] * n,
        }
    )
    frame[column] = pd.Series(values, dtype=object)
    before = hashlib.sha256(store.path.read_bytes()).digest()
    try:
        store.ingest_measurements(frame)
    except ValidationError as exc:
        assert exc.file == "<pandas frame>"
        assert hashlib.sha256(store.path.read_bytes()).digest() == before
