"""Vectorized validation of an input table before anything touches the store file.

Validation runs as DuckDB SQL over the source (a registered Arrow table or ``read_parquet``), in a
handful of scans whatever the row count:

1. one ``CREATE TEMP TABLE __stage AS SELECT ...`` computes, for every column, the typed value and a
   small status code (0 = fine, otherwise *why* the cell is bad);
2. one aggregate finds the first row with a non-zero status per column, plus the first row breaking
   each cross-column rule (e.g. ``max_capacity >= capacity``);
3. a ``GROUP BY`` on the natural key finds duplicate keys within the file;
4. an anti-join finds references to unknown resources.

The error reported is the one at the **earliest row** (ties: column order), as a
:class:`surgeplan.errors.ValidationError` naming the file, the row and the column.

Row numbers
-----------
``row`` is the 1-based number of the *data record* as the user sees it: the header is row 0, the
first data line is row 1 (for a CSV without quoted line breaks, ``row`` = line number - 1; for a
Parquet file or a frame, the 0-based position + 1). Problems with the header or the whole column
(missing, unknown or duplicated column names) carry ``row=0``.

Temp tables live in DuckDB's in-memory ``temp`` catalogue and never reach the store file.

What each table must hold is in :mod:`surgeplan.store.rules`, the SQL and messages of step 1 in
:mod:`surgeplan.store.cells`, steps 3 and 4 in :mod:`surgeplan.store.keys`.
"""

from __future__ import annotations

import math

import duckdb

from surgeplan.errors import ValidationError
from surgeplan.store.cells import cell_message, cell_sql
from surgeplan.store.keys import _keys_fast, _keys_sql
from surgeplan.store.rules import RULES, Column, Rule, TableRules
from surgeplan.store.schema import STAGE, quote_ident, sql_literal

__all__ = ["RULES", "STAGE", "Column", "Rule", "TableRules", "sql_literal", "stage_and_validate"]

#: a finding: (row, order among the row's findings, column, message); the least one is reported
Finding = tuple[int, int, str, str]


def resolve_columns(names: list[str], rules: TableRules, file: str) -> dict[str, str]:
    """Map target column -> source column name; reject missing, unknown and duplicated names."""
    seen: dict[str, str] = {}
    targets = {c.name for c in rules.columns}
    for name in names:
        target = rules.aliases.get(name, name)
        if target not in targets:
            allowed = sorted(targets - {"key"} | set(rules.aliases))
            raise ValidationError(
                f"unknown column {name!r}; expected {', '.join(allowed)}", file=file, row=0, column=name
            )
        if target in seen:
            raise ValidationError(
                f"columns {seen[target]!r} and {name!r} both give {target!r}", file=file, row=0, column=name
            )
        seen[target] = name
    for req in rules.required_names:
        if req not in seen:
            aka = [a for a, t in rules.aliases.items() if t == req]
            alt = f" (or {' / '.join(aka)})" if aka else ""
            raise ValidationError(f"missing required column {req!r}{alt}", file=file, row=0, column=req)
    return seen


def stage_and_validate(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    types: dict[str, str],
    rules: TableRules,
    file: str,
    *,
    tz: str | None = None,
    extra_select: str = "",
) -> int:
    """Create temp table ``__stage`` holding validated, typed rows; raise on the earliest bad row.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Store connection (only its in-memory ``temp`` catalogue is written).
    source_sql : str
        A FROM-able SQL expression yielding the input columns plus ``__row`` (1-based).
    types : dict
        Input column name -> DuckDB type name.
    rules : TableRules
        What to check.
    file : str
        Name used in error messages.
    tz : str, optional
        IANA zone in which naive timestamps are read (already checked to exist).
    extra_select : str
        Constant columns added to the stage (e.g. ``'region' AS key_type``).

    Returns
    -------
    int
        Number of data rows read.
    """
    mapping = resolve_columns([n for n in types if n != "__row"], rules, file)
    present = _create_stage(con, source_sql, types, rules, mapping, tz, extra_select)
    n_rows, findings = _cell_and_rule_findings(con, source_sql, rules, mapping, present, tz)
    fast = None if findings else _keys_fast(con, rules)
    if fast is not None:
        findings += [(row, order, mapping.get(col, col), msg) for row, order, col, msg in fast]
    else:
        findings += _keys_sql(con, rules, mapping)
    if findings:
        row, _, column, message = min(findings)
        raise ValidationError(message, file=file, row=row, column=column)
    return n_rows


def _absent_value(c: Column) -> str:
    """Select item of an optional column absent from the file: its default (or NULL) everywhere."""
    if c.default is None:
        default = "NULL"
    elif c.kind == "number":
        default = f"{float(c.default)!r}"  # type: ignore[arg-type]
    else:
        default = sql_literal(str(c.default))
    typ = "DOUBLE" if c.kind == "number" else "VARCHAR"
    return f"CAST({default} AS {typ}) AS {quote_ident(c.name)}"


def _create_stage(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    types: dict[str, str],
    rules: TableRules,
    mapping: dict[str, str],
    tz: str | None,
    extra_select: str,
) -> list[Column]:
    """One scan of the source into temp table ``__stage``: per column its typed value and its status
    code (``__st_<column>``). Returns the columns present in the file."""
    helpers: list[str] = []
    values: list[str] = []
    statuses: list[str] = []
    present: list[Column] = []
    for c in rules.columns:
        if c.name not in mapping:
            values.append(_absent_value(c))
            continue
        src = quote_ident(mapping[c.name])
        h, v, st = cell_sql(c, src, types[mapping[c.name]].upper(), tz)
        helpers += h
        values.append(f"{v} AS {quote_ident(c.name)}")
        statuses.append(f"CAST({st} AS UTINYINT) AS __st_{c.name}")
        present.append(c)
    extra = f", {extra_select}" if extra_select else ""
    con.execute(f"DROP TABLE IF EXISTS temp.{STAGE}")
    con.execute(
        f"CREATE TEMP TABLE {STAGE} AS SELECT __row, {', '.join(values)}, {', '.join(statuses)}{extra} "
        f"FROM (SELECT __row, {', '.join(helpers)} FROM {source_sql})"
    )
    return present


def _cell_and_rule_findings(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    rules: TableRules,
    mapping: dict[str, str],
    present: list[Column],
    tz: str | None,
) -> tuple[int, list[Finding]]:
    """The row count and, in one aggregate over the stage, the first bad row of each column and of each
    cross-column rule whose columns are all in the file."""
    aggs = [f"min(__row) FILTER (WHERE __st_{c.name} <> 0)" for c in present]
    live_rules = [r for r in rules.rules if all(n in mapping for n in r.needs)]
    for r in live_rules:
        ok = " AND ".join(f"__st_{n} = 0" for n in r.needs) or "true"
        aggs.append(f"min(__row) FILTER (WHERE {ok} AND ({r.bad_sql}))")
    first = con.execute(f"SELECT count(*), {', '.join(aggs)} FROM {STAGE}").fetchall()[0]
    findings: list[Finding] = []
    for i, c in enumerate(present):
        row = first[1 + i]
        if row is not None:
            code = con.execute(f"SELECT __st_{c.name} FROM {STAGE} WHERE __row = ?", [row]).fetchall()[0][0]
            raw = _raw_value(con, source_sql, mapping[c.name], row)
            findings.append((int(row), i, c.name, cell_message(c, int(code), raw, tz)))
    for j, r in enumerate(live_rules):
        row = first[1 + len(present) + j]
        if row is not None:
            detail = ", ".join(f"{n}={_raw_value(con, source_sql, mapping[n], row)!r}" for n in r.needs)
            findings.append((int(row), len(present) + j, r.column, f"{r.message} ({detail})"))
    return int(first[0]), findings


def _raw_value(con: duckdb.DuckDBPyConnection, source_sql: str, column: str, row: int) -> object:
    """The cell as the user wrote it (for messages)."""
    got = con.execute(
        f"SELECT CAST({quote_ident(column)} AS VARCHAR) FROM {source_sql} WHERE __row = ?", [row]
    ).fetchall()
    value = got[0][0] if got else None
    if isinstance(value, float) and math.isnan(value):  # pragma: no cover - VARCHAR cast
        return "nan"
    return value
