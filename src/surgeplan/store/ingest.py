"""Reading inputs (CSV, Parquet, pandas / polars / pyarrow frames) and the atomic upsert.

An ingest runs in three phases and only the last one touches the store file:

1. **read**: the source becomes a DuckDB relation with a ``__row`` column (1-based data row).
   CSV files are parsed by Arrow's multi-threaded reader with every column as text (so that every
   conversion, and every conversion error, is ours); Parquet files are scanned by DuckDB's
   ``read_parquet(..., file_row_number=true)``; frames are converted to Arrow (zero-copy where
   possible) and registered.
2. **validate** (:mod:`surgeplan.store.validate`): typed rows land in the in-memory temp table
   ``__stage`` or the first problem is raised as a ``ValidationError``.
3. **upsert**: one join against the target table splits the rows into new / changed / unchanged;
   only new and changed rows are written, in ONE transaction
   (``INSERT ... ON CONFLICT (key) DO UPDATE``) together with a ``runs`` row describing the
   ingest, then the file is checkpointed so it is self-contained (no WAL). Re-ingesting identical
   rows writes nothing at all: the file stays byte-for-byte the same.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from surgeplan.errors import SurgeplanError, ValidationError
from surgeplan.store.schema import TABLES, quote_ident, transaction
from surgeplan.store.validate import STAGE, TableRules, sql_literal, stage_and_validate

__all__ = ["IngestReport", "Source", "open_source", "run_ingest"]

_SRC_VIEW = "__src_arrow"
#: From this many rows into an EMPTY table, the primary-key index is built after the load, in bulk
#: (about 1.3-1.8x faster than maintaining it row by row; see benchmarks/bench_store.py).
BULK_ROWS = 100_000
#: pandas index levels with these names are turned into columns on ingest
_INDEX_COLUMNS = {"resource_id", "unique_id", "ts", "ds", "region", "date", "name", "key"}
_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".txt", ".tsv")
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did.

    Attributes
    ----------
    table : str
        Target table (``resources``, ``measurements``, ``indicators``, ``covariates``).
    source : str
        File path or ``<pandas frame>`` / ``<polars frame>`` / ``<arrow table>``.
    rows_read : int
        Data rows in the source.
    inserted, updated, unchanged : int
        Rows whose natural key was new / existed with other values / existed with the same values.
        ``inserted + updated + unchanged == rows_read``.
    seconds : float
        Wall-clock time of the whole ingest.
    run_id : str or None
        ``runs.run_id`` recorded for this ingest, None when nothing changed (nothing written).
    first, last : str or None
        Earliest and latest ``ts`` / ``date`` in the source (ISO-8601, UTC for instants).
    """

    table: str
    source: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    seconds: float
    run_id: str | None = None
    first: str | None = None
    last: str | None = None

    @property
    def changed(self) -> bool:
        """True when the store was written."""
        return self.inserted + self.updated > 0

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-serialisable)."""
        return asdict(self)

    def summary(self) -> str:
        """One line for people."""
        span = f"; {self.first} .. {self.last}" if self.first is not None else ""
        return (
            f"{self.table}: {self.rows_read:,} rows read from {self.source}: {self.inserted:,} inserted, "
            f"{self.updated:,} updated, {self.unchanged:,} unchanged{span} ({self.seconds:.2f} s)"
        )


@dataclass
class Source:
    """An input made queryable: ``sql`` is FROM-able and yields the columns plus ``__row``."""

    label: str
    sql: str
    types: dict[str, str]
    registered: bool = False


def _arrow_with_rows(table: pa.Table, label: str) -> pa.Table:
    names = table.column_names
    for name in names:
        if name.startswith("__"):
            raise ValidationError("column names may not start with '__'", file=label, row=0, column=name)
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValidationError("duplicated column name", file=label, row=0, column=dup)
    rows = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    return table.append_column("__row", rows)


def _csv_error(path: Path, exc: Exception) -> ValidationError:
    """Locate a structural CSV problem by re-reading single-threaded (slow path, errors only)."""
    raw = b"" if path.name.lower().endswith((".gz", ".bz2")) else path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        found = _utf8_error(path)
        if found is not None:
            return found
        line = raw.count(b"\n", 0, err.start)  # header = line 0 = row 0
        return ValidationError(f"not valid UTF-8 text (byte {err.start})", file=str(path), row=line)
    bad: list[Any] = []

    def handler(row: Any) -> str:
        if not bad:
            bad.append(row)
        return "skip"

    with contextlib.suppress(Exception):  # the first bad row, recorded by the handler, is what we report
        pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=handler),
            convert_options=pacsv.ConvertOptions(check_utf8=False),
        )
    if bad:
        r = bad[0]
        row = None if r.number is None else r.number - 1
        return ValidationError(
            f"expected {r.expected_columns} fields, found {r.actual_columns}: {r.text[:80]!r}",
            file=str(path),
            row=row,
        )
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "UTF8" in msg or "utf8" in msg.lower():
        return _utf8_error(path) or ValidationError(f"not valid UTF-8 text ({msg})", file=str(path))
    return ValidationError(f"cannot read CSV: {msg}", file=str(path))


def _utf8_error(path: Path) -> ValidationError | None:
    """Find the first data row and column holding bytes that are not UTF-8 (errors only)."""
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                check_utf8=False, column_types={}, strings_can_be_null=False
            ),
        )
    except Exception:  # noqa: BLE001
        return None
    first: tuple[int, str] | None = None
    for name in table.column_names:
        col = table.column(name)
        if not (pa.types.is_binary(col.type) or pa.types.is_string(col.type)):
            continue
        for i, value in enumerate(col.cast(pa.binary()).to_pylist()):
            if value is None:
                continue
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                if first is None or i < first[0]:
                    first = (i, name)
                break
    if first is None:
        try:
            with open(path, "rb") as fh:
                fh.readline().decode("utf-8")
        except UnicodeDecodeError:
            return ValidationError("header is not valid UTF-8 text", file=str(path), row=0)
        return None
    return ValidationError("not valid UTF-8 text", file=str(path), row=first[0] + 1, column=first[1])


def _read_csv(path: Path) -> pa.Table:
    label = str(path)
    delimiter = "\t" if path.name.lower().endswith(".tsv") else ","
    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    try:
        with pacsv.open_csv(
            path, parse_options=parse, read_options=pacsv.ReadOptions(use_threads=False)
        ) as r:
            names = r.schema.names
    except UnicodeDecodeError:
        raise ValidationError("the header is not valid UTF-8 text", file=label, row=0) from None
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            raise ValidationError("the file is empty (no header row)", file=label, row=0) from None
        raise _csv_error(path, exc) from None
    stripped = [n.strip() for n in names]
    try:
        table = pacsv.read_csv(
            path,
            parse_options=parse,
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError) as exc:
        raise _csv_error(path, exc) from None
    if stripped != names:
        table = table.rename_columns(stripped)
    return table


def _from_frame(src: Any) -> tuple[pa.Table, str]:
    module = type(src).__module__
    if isinstance(src, pa.Table):
        return src, "<arrow table>"
    if isinstance(src, pa.RecordBatch):
        return pa.Table.from_batches([src]), "<arrow table>"
    if module.startswith("polars"):
        if hasattr(src, "collect") and not hasattr(src, "to_arrow"):
            src = src.collect()  # LazyFrame
        return src.to_arrow(), "<polars frame>"
    if module.startswith("pandas"):
        import pandas as pd

        if isinstance(src, pd.DataFrame):
            named = [n for n in src.index.names if n is not None]
            # an index that carries data ('ts', 'resource_id' ...) becomes columns; a plain one is dropped
            frame = src.reset_index() if named and set(named) <= _INDEX_COLUMNS else src
            try:
                return pa.Table.from_pandas(frame, preserve_index=False), "<pandas frame>"
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
                # mixed-type object columns: hand them over as text and let validation judge
                fixed = frame.copy()
                for name in fixed.columns:
                    if fixed[name].dtype == object:
                        fixed[name] = fixed[name].map(lambda v: None if v is None else str(v))
                return pa.Table.from_pandas(fixed, preserve_index=False), "<pandas frame>"
    raise SurgeplanError(
        f"cannot ingest a {type(src).__name__}: give a CSV or Parquet path, or a pandas / polars / pyarrow "
        "table"
    )


def open_source(con: duckdb.DuckDBPyConnection, src: Any) -> Source:
    """Make ``src`` queryable on ``con``; only the in-memory catalogue is touched."""
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        label = str(path)
        if not path.is_file():
            raise ValidationError("no such file", file=label)
        lower = path.name.lower()
        if lower.endswith(_PARQUET_SUFFIXES):
            try:
                schema = pq.read_schema(path)
            except Exception as exc:  # noqa: BLE001 - any failure means unreadable parquet
                raise ValidationError(
                    f"not a readable Parquet file ({str(exc).splitlines()[0]})", file=label
                ) from None
            for name in schema.names:
                if name.startswith("__") or name == "file_row_number":
                    raise ValidationError("reserved column name", file=label, row=0, column=name)
            if len(set(schema.names)) != len(schema.names):
                dup = next(n for n in schema.names if schema.names.count(n) > 1)
                raise ValidationError("duplicated column name", file=label, row=0, column=dup)
            sql = (
                f"(SELECT file_row_number + 1 AS __row, * EXCLUDE (file_row_number) "
                f"FROM read_parquet({sql_literal(str(path))}, file_row_number = true))"
            )
            try:
                types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {sql}").fetchall()}
            except duckdb.Error as exc:
                raise ValidationError(
                    f"cannot read Parquet: {str(exc).splitlines()[0]}", file=label
                ) from None
            return Source(label, sql, types)
        if lower.endswith(_CSV_SUFFIXES):
            table = _arrow_with_rows(_read_csv(path), label)
        else:
            raise ValidationError("unsupported file type; use .csv (.csv.gz, .tsv) or .parquet", file=label)
    else:
        table, label = _from_frame(src)
        table = _arrow_with_rows(table, label)
    con.register(_SRC_VIEW, table)
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {_SRC_VIEW}").fetchall()}
    return Source(label, _SRC_VIEW, types, registered=True)


def _span(con: duckdb.DuckDBPyConnection, column: str | None) -> tuple[str | None, str | None]:
    if column is None:
        return None, None
    lo, hi = con.execute(
        f"SELECT min({quote_ident(column)}), max({quote_ident(column)}) FROM {STAGE}"
    ).fetchall()[0]

    def fmt(v: Any) -> str | None:
        if v is None:
            return None
        return v.isoformat().replace("+00:00", "Z") if hasattr(v, "hour") else v.isoformat()

    return fmt(lo), fmt(hi)


def run_ingest(
    con: duckdb.DuckDBPyConnection,
    src: Any,
    rules: TableRules,
    *,
    tz: str | None = None,
    extra_select: str = "",
    span_column: str | None = None,
    command: str,
    parameters: dict[str, Any] | None = None,
) -> IngestReport:
    """Read, validate and upsert ``src`` into ``rules.table`` (see module docstring)."""
    t0 = time.perf_counter()
    spec = TABLES[rules.table]
    label = str(src) if isinstance(src, (str, os.PathLike)) else f"<{type(src).__name__}>"
    try:
        source = open_source(con, src)
    except (pa.ArrowException, duckdb.Error, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read input: {str(exc).splitlines()[0]}", file=label) from exc
    try:
        try:
            n_rows = stage_and_validate(
                con, source.sql, source.types, rules, source.label, tz=tz, extra_select=extra_select
            )
        except duckdb.Error as exc:  # a value DuckDB could not even try-cast: still the input's fault
            raise ValidationError(
                f"cannot read input: {str(exc).splitlines()[0]}", file=source.label
            ) from exc
        first, last = _span(con, span_column)
        empty_target, delta, inserted, updated = _delta(con, spec, n_rows)
        run_id = None
        if inserted + updated:
            counts = {
                "rows_read": n_rows,
                "inserted": inserted,
                "updated": updated,
                "unchanged": n_rows - inserted - updated,
            }
            run_id = _upsert(con, spec, source.label, delta, empty_target, counts, command, parameters)
        return IngestReport(
            table=spec.name,
            source=source.label,
            rows_read=n_rows,
            inserted=inserted,
            updated=updated,
            unchanged=n_rows - inserted - updated,
            seconds=time.perf_counter() - t0,
            run_id=run_id,
            first=first,
            last=last,
        )
    finally:
        con.execute(f"DROP TABLE IF EXISTS temp.{STAGE}")
        con.execute("DROP TABLE IF EXISTS temp.__delta")
        if source.registered:
            con.unregister(_SRC_VIEW)


def _delta(con: duckdb.DuckDBPyConnection, spec, n_rows: int) -> tuple[bool, str, int, int]:
    """Whether the target table is empty, the staged rows that are new or changed (a temp table), and
    how many of them are inserts and updates."""
    on = " AND ".join(f"s.{quote_ident(k)} = t.{quote_ident(k)}" for k in spec.key)
    differs = " OR ".join(
        f"s.{quote_ident(v)} IS DISTINCT FROM t.{quote_ident(v)}" for v in spec.value_columns
    )
    k0 = quote_ident(spec.key[0])
    target = f"main.{quote_ident(spec.name)}"
    empty_target = not con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {target} LIMIT 1)").fetchall()[0][0]
    if empty_target:
        # nothing to compare against: every row is new, written in file order
        return True, STAGE, n_rows, 0
    con.execute("DROP TABLE IF EXISTS temp.__delta")
    con.execute(
        "CREATE TEMP TABLE __delta AS SELECT "
        f"{', '.join('s.' + quote_ident(c) for c in spec.column_names)}, t.{k0} IS NULL AS __new "
        f"FROM {STAGE} s LEFT JOIN {target} t ON {on} WHERE t.{k0} IS NULL OR {differs or 'false'} "
        "ORDER BY s.__row"
    )
    inserted, updated = con.execute(
        "SELECT count(*) FILTER (WHERE __new), count(*) FILTER (WHERE NOT __new) FROM __delta"
    ).fetchall()[0]
    return False, "__delta", int(inserted), int(updated)


def _upsert(
    con: duckdb.DuckDBPyConnection,
    spec,
    label: str,
    delta: str,
    empty_target: bool,
    counts: dict[str, int],
    command: str,
    parameters: dict[str, Any] | None,
) -> str:
    """Write ``delta`` into the target and record the run, in one transaction; returns the run id."""
    run_id = uuid.uuid4().hex
    params = dict(parameters or {})
    params.update(source=label, **counts)
    cols = ", ".join(quote_ident(c) for c in spec.column_names)
    target = f"main.{quote_ident(spec.name)}"
    sets = ", ".join(f"{quote_ident(v)} = excluded.{quote_ident(v)}" for v in spec.value_columns)
    conflict = (
        f" ON CONFLICT ({', '.join(quote_ident(k) for k in spec.key)}) DO UPDATE SET {sets}"
        if counts["updated"]
        else ""
    )
    bulk = empty_target and counts["rows_read"] >= BULK_ROWS
    with transaction(con, f"{label}: ingest into {spec.name}"):
        if bulk:
            # empty table, many rows: load without the key index, then build it in one go
            con.execute(f"DROP TABLE {target}")
            con.execute(spec.create_sql(primary_key=False))
        con.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {delta}{conflict}")
        if bulk:
            con.execute(spec.add_key_sql())
        con.execute(
            "INSERT INTO main.runs VALUES (?, now(), ?, ?)",
            [run_id, command, json.dumps(params, default=str)],
        )
    return run_id
