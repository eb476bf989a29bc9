"""Store schema: table layouts, units per kind, schema version and the migration path.

The store is one DuckDB file. Its layout is defined by an ordered list of :data:`MIGRATIONS`;
``schema_version`` records each migration applied (one row per version). Opening a file applies the
missing migrations in order, each in its own transaction, then checkpoints so the file is
self-contained. A file written by a newer surgeplan (a version above :data:`SCHEMA_VERSION`) is
refused rather than misread.

Version history
---------------
0
    No ``schema_version`` table: a brand-new (empty) DuckDB file. A non-empty file without
    ``schema_version`` is not a surgeplan store and is refused.
1
    Core data: ``kinds`` (units and GoS per resource kind), ``resources`` (inventory),
    ``measurements``, ``indicators``.
2
    ``covariates``, ``runs`` (one row per command that wrote derived data), ``forecasts`` (long),
    ``derived_tables`` (catalogue of tables written by :meth:`Store.write_table`).
3
    ``users`` (service accounts: name, role, SHA-256 of the bearer token; never the token).

Table layouts (natural keys in brackets)::

    kinds          [kind] load_unit, capacity_unit, gos, gos_default, dimensioned
    resources      [resource_id] kind, region, capacity, module_size, max_capacity, lead_time_days,
                   module_cost, group, priority_class, name, site, gos_target, retry_probability,
                   redial_delay_s, holding_time_s,
                   aht_s, patience_s, answer_within_s, abandon_max
    measurements   [resource_id, ts] load                       ts TIMESTAMPTZ (UTC)
    indicators     [region, date, name] value                   date DATE (the region's day)
    covariates     [key_type, key, ts, name] value              key_type 'resource_id' | 'region'
    runs           [run_id] created_at, command, parameters (JSON)
    forecasts      [run_id, resource_id, ts, statistic] value   statistic 'mean', 'p50', 'p97.5' ...
    derived_tables [name] created_at, updated_at, columns (JSON)
    users          [name] role, token_sha256, created_at, revoked_at
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import duckdb

from surgeplan.errors import SurgeplanError
from surgeplan.kinds import INVENTORY_OPTIONAL, INVENTORY_REQUIRED, INVENTORY_TEXT, KINDS

__all__ = [
    "CORE_TABLES",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "TABLES",
    "Migration",
    "TableSpec",
    "current_version",
    "migrate",
    "quote_ident",
    "sync_kinds",
    "transaction",
]


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll the open transaction back; a failure here must not hide the error that caused it."""
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection, what: str) -> Iterator[None]:
    """One all-or-nothing write: BEGIN, COMMIT on success, ROLLBACK on any error, then CHECKPOINT.

    A DuckDB error becomes ``SurgeplanError("<what> failed and was rolled back: ...")``; other
    exceptions (validation, KeyboardInterrupt) propagate unchanged after the rollback. The checkpoint
    keeps the file self-contained (no WAL left beside it) after every committed write.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException as exc:
        rollback(con)
        if isinstance(exc, duckdb.Error):
            raise SurgeplanError(f"{what} failed and was rolled back: {exc}") from exc
        raise
    con.execute("CHECKPOINT")


def quote_ident(name: str) -> str:
    """Quote an SQL identifier for DuckDB (``group`` is a keyword)."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    """Quote a Python string as an SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


#: in-memory temp table holding the typed rows of an ingest while they are checked (never in the store file)
STAGE = "__stage"


@dataclass(frozen=True)
class TableSpec:
    """Layout of one data table: its natural key and its value columns with DuckDB types."""

    name: str
    key: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]  # (name, DuckDB type), key columns first

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    @property
    def value_columns(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns if c not in self.key)

    def create_sql(self, primary_key: bool = True) -> str:
        """``CREATE TABLE``; without ``primary_key`` the key is added later by :meth:`add_key_sql`."""
        cols = ", ".join(
            f"{quote_ident(c)} {t}{' NOT NULL' if c in self.key else ''}" for c, t in self.columns
        )
        pk = ", ".join(quote_ident(c) for c in self.key)
        return (
            f"CREATE TABLE {quote_ident(self.name)} ({cols}{f', PRIMARY KEY ({pk})' if primary_key else ''})"
        )

    def add_key_sql(self) -> str:
        """``ALTER TABLE ... ADD PRIMARY KEY``: builds the index in bulk (faster than row by row)."""
        pk = ", ".join(quote_ident(c) for c in self.key)
        return f"ALTER TABLE {quote_ident(self.name)} ADD PRIMARY KEY ({pk})"


_TEXT_INVENTORY = {"resource_id", "kind", "region", "group", "priority_class", *INVENTORY_TEXT}

RESOURCES = TableSpec(
    "resources",
    ("resource_id",),
    tuple(
        (c, "VARCHAR" if c in _TEXT_INVENTORY else "DOUBLE")
        for c in (*INVENTORY_REQUIRED, *INVENTORY_OPTIONAL)
    ),
)
MEASUREMENTS = TableSpec(
    "measurements",
    ("resource_id", "ts"),
    (("resource_id", "VARCHAR"), ("ts", "TIMESTAMPTZ"), ("load", "DOUBLE")),
)
INDICATORS = TableSpec(
    "indicators",
    ("region", "date", "name"),
    (("region", "VARCHAR"), ("date", "DATE"), ("name", "VARCHAR"), ("value", "DOUBLE")),
)
COVARIATES = TableSpec(
    "covariates",
    ("key_type", "key", "ts", "name"),
    (
        ("key_type", "VARCHAR"),
        ("key", "VARCHAR"),
        ("ts", "TIMESTAMPTZ"),
        ("name", "VARCHAR"),
        ("value", "DOUBLE"),
    ),
)
KINDS_TABLE = TableSpec(
    "kinds",
    ("kind",),
    (
        ("kind", "VARCHAR"),
        ("load_unit", "VARCHAR"),
        ("capacity_unit", "VARCHAR"),
        ("gos", "VARCHAR"),
        ("gos_default", "DOUBLE"),
        ("dimensioned", "BOOLEAN"),
    ),
)
RUNS = TableSpec(
    "runs",
    ("run_id",),
    (("run_id", "VARCHAR"), ("created_at", "TIMESTAMPTZ"), ("command", "VARCHAR"), ("parameters", "JSON")),
)
FORECASTS = TableSpec(
    "forecasts",
    ("run_id", "resource_id", "ts", "statistic"),
    (
        ("run_id", "VARCHAR"),
        ("resource_id", "VARCHAR"),
        ("ts", "TIMESTAMPTZ"),
        ("statistic", "VARCHAR"),
        ("value", "DOUBLE"),
    ),
)
DERIVED_TABLES = TableSpec(
    "derived_tables",
    ("name",),
    (("name", "VARCHAR"), ("created_at", "TIMESTAMPTZ"), ("updated_at", "TIMESTAMPTZ"), ("columns", "JSON")),
)
USERS = TableSpec(
    "users",
    ("name",),
    (
        ("name", "VARCHAR"),
        ("role", "VARCHAR"),
        ("token_sha256", "VARCHAR"),
        ("created_at", "TIMESTAMPTZ"),
        ("revoked_at", "TIMESTAMPTZ"),
    ),
)

#: Every table surgeplan itself defines, by name.
TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        KINDS_TABLE,
        RESOURCES,
        MEASUREMENTS,
        INDICATORS,
        COVARIATES,
        RUNS,
        FORECASTS,
        DERIVED_TABLES,
        USERS,
    )
}
#: Tables never read or exported through the generic table readers (credentials).
PRIVATE_TABLES = frozenset({"users"})
#: Names :meth:`Store.write_table` may not use.
CORE_TABLES = frozenset(TABLES) | {"schema_version"}


@dataclass(frozen=True)
class Migration:
    """One step of the schema: ``apply(con)`` brings a file from ``version - 1`` to ``version``."""

    version: int
    description: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


def _v1(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL, "
        "description VARCHAR)"
    )
    for spec in (KINDS_TABLE, RESOURCES, MEASUREMENTS, INDICATORS):
        con.execute(spec.create_sql())


def _v2(con: duckdb.DuckDBPyConnection) -> None:
    for spec in (COVARIATES, RUNS, FORECASTS, DERIVED_TABLES):
        con.execute(spec.create_sql())


def _v3(con: duckdb.DuckDBPyConnection) -> None:
    # v1 creates `resources` with the columns of its day: add every optional column added since
    # (whatever RESOURCES lists: redials, customer-relation flow), so an older file reads like a new one.
    have = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'resources' AND database_name = "
            "current_database()"
        ).fetchall()
    }
    for col, typ in RESOURCES.columns:
        if col not in have:
            con.execute(f"ALTER TABLE resources ADD COLUMN {quote_ident(col)} {typ}")


def _v4(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(USERS.create_sql())


#: The migration path, applied in order. Append, never edit a released step.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "core data: kinds, resources, measurements, indicators", _v1),
    Migration(2, "covariates, runs, forecasts, derived_tables", _v2),
    Migration(
        3,
        "resources: optional inventory columns added after v1 (trunk-group redials, customer-relation flow)",
        _v3,
    ),
    Migration(4, "users (service accounts, hashed tokens)", _v4),
)
#: Version of the layout this code writes.
SCHEMA_VERSION: int = MIGRATIONS[-1].version


def _user_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary"
    ).fetchall()
    return sorted(r[0] for r in rows)


def current_version(con: duckdb.DuckDBPyConnection, path: str = "<store>") -> int:
    """Schema version of the open file (0 for an empty file).

    Raises
    ------
    SurgeplanError
        If the file holds tables but no ``schema_version`` (not a surgeplan store).
    """
    tables = _user_tables(con)
    if "schema_version" not in tables:
        if tables:
            raise SurgeplanError(
                f"{path}: not a surgeplan store (it has tables {', '.join(tables[:5])} but no schema_version)"
            )
        return 0
    (v,) = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0]
    return int(v)


def migrate(con: duckdb.DuckDBPyConnection, path: str = "<store>", *, read_only: bool = False) -> int:
    """Bring the open file to :data:`SCHEMA_VERSION`; return the version it had before.

    Each missing migration runs in its own transaction together with its ``schema_version`` row,
    then the file is checkpointed. A newer-than-known file is refused.
    """
    before = current_version(con, path)
    if before > SCHEMA_VERSION:
        raise SurgeplanError(
            f"{path}: store schema version {before} is newer than this surgeplan understands "
            f"(up to {SCHEMA_VERSION}); upgrade surgeplan to open it"
        )
    pending = [m for m in MIGRATIONS if m.version > before]
    if pending and read_only:
        raise SurgeplanError(
            f"{path}: store schema version {before} needs migrating to {SCHEMA_VERSION}; open it writable "
            "once"
        )
    for m in pending:
        con.execute("BEGIN TRANSACTION")
        try:
            m.apply(con)
            con.execute("INSERT INTO schema_version VALUES (?, now(), ?)", [m.version, m.description])
            con.execute("COMMIT")
        except BaseException:
            rollback(con)
            raise
    if pending:
        con.execute("CHECKPOINT")
    return before


def _kind_rows() -> list[tuple]:
    return [
        (
            k.name,
            k.load_unit,
            k.capacity_unit,
            k.gos,
            None if math.isnan(k.gos_default) else float(k.gos_default),
            bool(k.dimensioned),
        )
        for k in KINDS.values()
    ]


def sync_kinds(con: duckdb.DuckDBPyConnection, *, read_only: bool = False) -> bool:
    """Make the ``kinds`` table equal to :data:`surgeplan.kinds.KINDS`; return True if it changed.

    Nothing is written when the table already matches, so opening a store never touches the file
    needlessly.
    """
    want = sorted(_kind_rows())
    have = sorted(
        tuple(r)
        for r in con.execute(
            "SELECT kind, load_unit, capacity_unit, gos, gos_default, dimensioned FROM kinds"
        ).fetchall()
    )
    if have == want or read_only:
        return False
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM kinds")
        con.executemany("INSERT INTO kinds VALUES (?, ?, ?, ?, ?, ?)", want)
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    con.execute("CHECKPOINT")
    return True
