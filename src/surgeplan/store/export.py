"""Export a store table to CSV, Parquet or XLSX.

* **csv**: UTF-8, header, comma; instants as ISO-8601 UTC (``2020-03-16T10:00:00Z``, with
  ``.ffffff`` only when there are sub-second digits); days as ``YYYY-MM-DD``; empty = NULL.
* **parquet**: typed (instants as UTC-adjusted timestamps, days as DATE), zstd compressed.
* **xlsx**: one sheet named after the table; instants are Excel date-times in UTC shown as
  ``yyyy-mm-ddThh:mm:ssZ`` (Excel has no time zones; millisecond resolution); NaN is an empty
  cell, infinities are written as the text ``inf`` / ``-inf``. An XLSX sheet holds at most
  1,048,576 rows including the header: larger tables are refused (use csv or parquet).

Rows are written sorted by the table's natural key, to a temporary file renamed into place, so a
failed export never leaves a half-written file behind.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import tempfile
from pathlib import Path

import duckdb

from surgeplan.errors import SurgeplanError
from surgeplan.store.schema import quote_ident
from surgeplan.store.validate import sql_literal

__all__ = ["FORMATS", "XLSX_MAX_ROWS", "export_query", "export_tables", "infer_format"]

FORMATS = ("csv", "parquet", "xlsx")
#: Rows in one XLSX worksheet, header included (Excel specification and limits).
XLSX_MAX_ROWS = 1_048_576
_SUFFIX = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx"}


def infer_format(path: str | os.PathLike, fmt: str | None) -> str:
    """The export format: ``fmt`` if given, else from the file suffix."""
    if fmt is None:
        fmt = _SUFFIX.get(Path(path).suffix.lower())
        if fmt is None:
            raise SurgeplanError(
                f"cannot tell the export format of {str(path)!r}; give format= csv, parquet or xlsx"
            )
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise SurgeplanError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    return fmt


def _iso_utc(column: str) -> str:
    c = quote_ident(column)
    return (
        f"CASE WHEN {c} IS NULL THEN NULL WHEN microsecond({c}) % 1000000 = 0 "
        f"THEN strftime({c}, '%Y-%m-%dT%H:%M:%SZ') ELSE strftime({c}, '%Y-%m-%dT%H:%M:%S.%fZ') END AS {c}"
    )


def export_query(
    con: duckdb.DuckDBPyConnection,
    query: str,
    types: dict[str, str],
    path: str | os.PathLike,
    fmt: str,
    *,
    sheet: str = "data",
) -> Path:
    """Write the result of ``query`` (columns ``types``) to ``path`` in format ``fmt``."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise SurgeplanError(f"out: directory {str(path.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or ".")
    os.close(fd)
    try:
        if fmt == "csv":
            cols = ", ".join(
                _iso_utc(n) if t.startswith("TIMESTAMP WITH TIME ZONE") else quote_ident(n)
                for n, t in types.items()
            )
            con.execute(
                f"COPY (SELECT {cols} FROM ({query})) TO {sql_literal(tmp)} (FORMAT csv, HEADER true, "
                "DELIMITER ',')"
            )
        elif fmt == "parquet":
            con.execute(f"COPY ({query}) TO {sql_literal(tmp)} (FORMAT parquet, COMPRESSION zstd)")
        else:
            _write_xlsx(con, query, types, tmp, sheet)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _write_xlsx(
    con: duckdb.DuckDBPyConnection, query: str, types: dict[str, str], tmp: str, sheet: str
) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    (n,) = con.execute(f"SELECT count(*) FROM ({query})").fetchall()[0]
    if n + 1 > XLSX_MAX_ROWS:
        raise SurgeplanError(
            f"table has {n:,} rows but an XLSX sheet holds at most {XLSX_MAX_ROWS - 1:,} data rows "
            "(plus the header); export as csv or parquet, or filter first"
        )
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=sheet[:31])
    names = list(types)
    ws.append(names)
    # instants: naive UTC datetimes (Excel has no zones) with an explicit ISO format
    select = ", ".join(
        f"timezone('UTC', {quote_ident(c)}) AS {quote_ident(c)}"
        if t.startswith("TIMESTAMP WITH TIME ZONE")
        else quote_ident(c)
        for c, t in types.items()
    )
    aware = [t.startswith("TIMESTAMP WITH TIME ZONE") for t in types.values()]
    is_date = [t == "DATE" for t in types.values()]
    cur = con.execute(f"SELECT {select} FROM ({query})")
    while True:
        batch = cur.fetchmany(50_000)
        if not batch:
            break
        for record in batch:
            out = []
            for value, is_ts, is_day in zip(record, aware, is_date):
                if isinstance(value, float):
                    if math.isnan(value):
                        value = None
                    elif math.isinf(value):
                        value = "inf" if value > 0 else "-inf"
                elif is_ts and value is not None:
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = 'yyyy-mm-dd"T"hh:mm:ss"Z"'
                    value = cell
                elif is_day and isinstance(value, _dt.date):
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = "yyyy-mm-dd"
                    value = cell
                elif isinstance(value, (dict, list)):
                    value = str(value)
                out.append(value)
            ws.append(out)
    wb.save(tmp)


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, renamed into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        # mkstemp makes the file private (0600): give it the mode a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_tables(
    tables: dict,
    out_dir: str | os.PathLike,
    stem: str,
    summary: dict | None = None,
    xlsx_sheets: tuple[str, ...] | None = None,
) -> list[Path]:
    """Write DataFrames as ``<stem>_<name>.csv`` files plus one ``<stem>.xlsx`` workbook.

    The workbook has a ``summary`` sheet (when ``summary`` is given) and one sheet per table in
    ``xlsx_sheets`` (default: all). Each file is written to a temporary name and renamed, so an
    interrupted export leaves the previous files whole.
    """
    import pandas as pd

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in tables.items():
        p = out / f"{stem}_{name}.csv"
        _atomic_write(p, lambda t, f=frame: f.to_csv(t, index=False))
        paths.append(p)
    sheets = xlsx_sheets if xlsx_sheets is not None else tuple(tables)

    def workbook(t: Path) -> None:
        with pd.ExcelWriter(t, engine="openpyxl") as xw:
            if summary is not None:
                pd.DataFrame({"item": list(summary), "value": [str(v) for v in summary.values()]}).to_excel(
                    xw, sheet_name="summary", index=False
                )
            for name in sheets:
                tables[name].to_excel(xw, sheet_name=name[:31], index=False)

    xlsx = out / f"{stem}.xlsx"
    _atomic_write(xlsx, workbook)
    paths.append(xlsx)
    return paths
