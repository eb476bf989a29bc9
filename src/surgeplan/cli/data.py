"""CLI commands for the data layer: ``surgeplan ingest ...``, ``surgeplan export ...``, ``surgeplan tables``.

Examples::

    surgeplan ingest inventory inventory.csv --db plan.duckdb
    surgeplan ingest measurements load.parquet
    surgeplan ingest measurements local.csv --tz Europe/Paris
    surgeplan export measurements --format parquet --out load.parquet
    surgeplan export inventory --format xlsx

Bad input prints one line ``error: FILE, row N, column 'C': what is wrong`` on stderr and exits 2.
"""

from __future__ import annotations

import json
import os
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from surgeplan.errors import SurgeplanError

DB_OPTION = typer.Option("--db", help="Store file (DuckDB).", envvar="SURGEPLAN_DB")
_DEFAULT_DB = "surgeplan.duckdb"


class Table(str, Enum):
    """Ingestible tables."""

    inventory = "inventory"
    measurements = "measurements"
    indicators = "indicators"
    covariates = "covariates"


class Format(str, Enum):
    """Export formats."""

    csv = "csv"
    parquet = "parquet"
    xlsx = "xlsx"


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


def ingest(
    table: Annotated[Table, typer.Argument(help="What the file holds.")],
    file: Annotated[Path, typer.Argument(help="CSV (.csv, .csv.gz, .tsv) or Parquet file.")],
    db: Annotated[str, DB_OPTION] = _DEFAULT_DB,
    tz: Annotated[
        str | None,
        typer.Option(
            "--tz", help="IANA zone of naive timestamps (measurements, covariates), e.g. Europe/Paris."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Validate FILE and upsert it into the store in one transaction (all rows or none)."""
    from surgeplan.store import Store

    if tz is not None and table not in (Table.measurements, Table.covariates):
        _fail(SurgeplanError(f"--tz applies to measurements and covariates, not {table.value}"))
    try:
        with Store(db) as store:
            if table is Table.inventory:
                report = store.ingest_inventory(file)
            elif table is Table.measurements:
                report = store.ingest_measurements(file, tz=tz)
            elif table is Table.indicators:
                report = store.ingest_indicators(file)
            else:
                report = store.ingest_covariates(file, tz=tz)
    except (SurgeplanError, OSError) as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps({**report.as_dict(), "db": str(db)}))
    else:
        typer.echo(f"{report.summary()} -> {db}")


def export(
    table: Annotated[str, typer.Argument(help="Table to export (inventory, measurements, indicators, ...).")],
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.csv,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output file (default: TABLE.FORMAT in the working directory)."),
    ] = None,
    db: Annotated[str, DB_OPTION] = _DEFAULT_DB,
) -> None:
    """Write a store table to CSV, Parquet or XLSX (timestamps ISO-8601 UTC)."""
    from surgeplan.store import Store

    path = out if out is not None else Path(f"{table}.{format.value}")
    try:
        if not os.path.exists(db):
            raise SurgeplanError(f"{db}: no such store (ingest something first, or give --db)")
        with Store(db) as store:
            written = store.export(table, path, format.value)
            n = int(
                store.tables().set_index("table").loc[{"inventory": "resources"}.get(table, table), "rows"]
            )
    except (SurgeplanError, OSError) as exc:
        _fail(exc)
        return
    typer.echo(f"{table}: {n:,} rows -> {written} ({format.value})")


def tables(db: Annotated[str, DB_OPTION] = _DEFAULT_DB) -> None:
    """List the store's tables with their row counts."""
    from surgeplan.store import Store

    try:
        if not os.path.exists(db):
            raise SurgeplanError(f"{db}: no such store")
        with Store(db) as store:
            frame = store.tables()
            version = store.version
    except (SurgeplanError, OSError) as exc:
        _fail(exc)
        return
    typer.echo(f"{db} (schema version {version})")
    for row in frame.itertuples(index=False):
        typer.echo(f"  {row.table:<16} {row.rows:>14,}  {row.role}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("ingest")(ingest)
    app.command("export")(export)
    app.command("tables")(tables)
