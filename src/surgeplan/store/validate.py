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
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from surgeplan.errors import ValidationError
from surgeplan.kinds import INVENTORY_OPTIONAL, KINDS, PRIORITY_CLASSES
from surgeplan.store.schema import quote_ident

__all__ = ["RULES", "STAGE", "Column", "Rule", "TableRules", "sql_literal", "stage_and_validate"]

STAGE = "__stage"

# status codes (0 = ok)
_EMPTY, _NOT_NUMBER, _NOT_FINITE, _TOO_LOW, _TOO_HIGH, _CHOICE = 1, 2, 3, 4, 5, 6
_NAIVE, _NONEXISTENT, _AMBIGUOUS, _BAD_TIME, _BAD_DATE, _AWARE_DATE = 7, 8, 9, 10, 11, 12

_NUMERIC_TYPES = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|"
    r"REAL|DECIMAL.*)$"
)
_NAIVE_TYPES = re.compile(r"^(TIMESTAMP|TIMESTAMP_NS|TIMESTAMP_MS|TIMESTAMP_S|DATE|DATETIME)$")
_AWARE_TYPES = re.compile(r"^TIMESTAMP WITH TIME ZONE$|^TIMESTAMPTZ$")
#: an ISO-8601 time of day followed by a UTC offset ('Z', '+01', '+0100', '+01:00')
_OFFSET_RE = r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?)$"
_ISO_START = r"^[+-]?\d{4,}-\d{1,2}-\d{1,2}"
_DATE_RE = r"\d{4}-\d{2}-\d{2}([ T]00:00(:00(\.0+)?)?)?"


# Instants and days must fit pandas' datetime64[ns] (1677-09-21 .. 2262-04-11) so that readers can
# return them; naive local times keep a day of margin for the time-zone arithmetic.
def _rng_tz(x: str) -> str:
    return f"({x} >= TIMESTAMPTZ '1678-01-01 00:00:00+00' AND {x} < TIMESTAMPTZ '2262-01-01 00:00:00+00')"


def _rng_naive(x: str) -> str:
    return f"({x} >= TIMESTAMP '1678-01-02' AND {x} < TIMESTAMP '2261-12-31')"


def _rng_date(x: str) -> str:
    return f"({x} >= DATE '1678-01-01' AND {x} < DATE '2262-01-01')"


def sql_literal(value: str) -> str:
    """Quote a Python string as an SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class Column:
    """How to read and check one input column.

    ``kind`` is ``text``, ``number``, ``timestamp`` (tz-aware instant, stored UTC) or ``date``
    (calendar day). ``low``/``high`` bound numbers (``low_open``: strictly greater); ``allow_inf``
    lets ``inf`` through (e.g. infinite patience); ``choices`` restricts text; ``default`` fills
    empty optional cells.
    """

    name: str
    kind: str
    required: bool = True
    low: float | None = None
    low_open: bool = False
    high: float | None = None
    high_open: bool = False
    allow_inf: bool = False
    choices: tuple[str, ...] | None = None
    default: object = None


@dataclass(frozen=True)
class Rule:
    """A cross-column condition: rows where ``bad_sql`` (over staged values) holds are rejected."""

    column: str
    bad_sql: str
    message: str
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableRules:
    """Everything needed to validate one input table."""

    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    optional: frozenset[str] = frozenset()
    aliases: dict[str, str] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    references_resources: str | None = None  # staged column that must name a known resource

    @property
    def required_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.name not in self.optional)


def _num(name: str, **kw) -> Column:
    return Column(name, "number", **kw)


_INVENTORY_COLUMNS = (
    Column("resource_id", "text"),
    Column("kind", "text", choices=tuple(KINDS)),
    Column("region", "text"),
    _num("capacity", low=0.0),
    _num("module_size", low=0.0, low_open=True),
    _num("max_capacity", low=0.0, allow_inf=True),
    _num("lead_time_days", low=0.0),
    _num("module_cost", low=0.0),
    Column("group", "text", required=False),
    Column("priority_class", "text", choices=PRIORITY_CLASSES),
    Column("name", "text", required=False),
    Column("site", "text", required=False),
    _num("gos_target", required=False, low=0.0, low_open=True, high=1.0),
    _num(
        "retry_probability",
        required=False,
        low=0.0,
        high=1.0,
        high_open=True,
        default=INVENTORY_OPTIONAL["retry_probability"],
    ),
    _num("redial_delay_s", required=False, low=0.0, low_open=True, allow_inf=True),  # empty: not given
    _num(
        "holding_time_s",
        required=False,
        low=0.0,
        low_open=True,
        default=INVENTORY_OPTIONAL["holding_time_s"],
    ),
    _num("aht_s", required=False, low=0.0, low_open=True, default=INVENTORY_OPTIONAL["aht_s"]),
    _num(
        "patience_s",
        required=False,
        low=0.0,
        low_open=True,
        allow_inf=True,
        default=INVENTORY_OPTIONAL["patience_s"],
    ),
    _num("answer_within_s", required=False, low=0.0, default=INVENTORY_OPTIONAL["answer_within_s"]),
    _num("abandon_max", required=False, low=0.0, high=1.0, default=INVENTORY_OPTIONAL["abandon_max"]),
    Column("feeds", "text", required=False),
    Column("language", "text", required=False),
    _num("ivr_time_s", required=False, low=0.0, default=INVENTORY_OPTIONAL["ivr_time_s"]),
    *(
        _num(c, required=False, low=0.0, high=1.0, default=INVENTORY_OPTIONAL[c])
        for c in ("self_service_share", "containment_share", "callback_share")
    ),
    _num("concurrency", required=False, low=1.0, default=INVENTORY_OPTIONAL["concurrency"]),
    _num("concurrency_slowdown", required=False, low=0.0, default=INVENTORY_OPTIONAL["concurrency_slowdown"]),
    _num(
        "service_window_s",
        required=False,
        low=0.0,
        low_open=True,
        default=INVENTORY_OPTIONAL["service_window_s"],
    ),
)

RULES: dict[str, TableRules] = {
    "resources": TableRules(
        "resources",
        _INVENTORY_COLUMNS,
        key=("resource_id",),
        optional=frozenset(INVENTORY_OPTIONAL),
        rules=(
            Rule(
                "max_capacity",
                "max_capacity < capacity",
                "max_capacity is below capacity",
                needs=("capacity", "max_capacity"),
            ),
        ),
    ),
    "measurements": TableRules(
        "measurements",
        (Column("resource_id", "text"), Column("ts", "timestamp"), _num("load", low=0.0)),
        key=("resource_id", "ts"),
        aliases={"unique_id": "resource_id", "ds": "ts", "y": "load"},
        references_resources="resource_id",
    ),
    "indicators": TableRules(
        "indicators",
        (Column("region", "text"), Column("date", "date"), Column("name", "text"), _num("value")),
        key=("region", "date", "name"),
    ),
    # covariates: the key column is 'resource_id' or 'region'; ingest renames it to 'key'
    "covariates_resource_id": TableRules(
        "covariates",
        (Column("key", "text"), Column("ts", "timestamp"), Column("name", "text"), _num("value")),
        key=("key", "ts", "name"),
        aliases={"resource_id": "key", "unique_id": "key", "ds": "ts"},
        references_resources="key",
    ),
    "covariates_region": TableRules(
        "covariates",
        (Column("key", "text"), Column("ts", "timestamp"), Column("name", "text"), _num("value")),
        key=("key", "ts", "name"),
        aliases={"region": "key", "ds": "ts"},
    ),
}


# --------------------------------------------------------------------------------------------
# SQL builders: each returns (helper select items, value expression, status expression)


def _text_sql(c: Column, src: str) -> tuple[list[str], str, str]:
    v = f"__v_{c.name}"
    helpers = [f"NULLIF(trim(CAST({src} AS VARCHAR)), '') AS {v}"]
    status = f"CASE WHEN {v} IS NULL THEN {_EMPTY if c.required else 0} "
    if c.choices:
        status += f"WHEN {v} NOT IN ({', '.join(sql_literal(x) for x in c.choices)}) THEN {_CHOICE} "
    status += "ELSE 0 END"
    value = v if c.default is None else f"coalesce({v}, {sql_literal(str(c.default))})"
    return helpers, value, status


def _number_sql(c: Column, src: str, dtype: str) -> tuple[list[str], str, str]:
    v, s = f"__v_{c.name}", f"__s_{c.name}"
    if _NUMERIC_TYPES.match(dtype):
        helpers = [f"CAST({src} AS DOUBLE) AS {v}"]
        empty = f"{v} IS NULL"
        not_number = "false"
    else:
        helpers = [f"NULLIF(trim(CAST({src} AS VARCHAR)), '') AS {s}", f"TRY_CAST({s} AS DOUBLE) AS {v}"]
        empty = f"{s} IS NULL"
        not_number = f"{v} IS NULL"
    if _NUMERIC_TYPES.match(dtype) and not c.required:
        empty = f"({empty} OR isnan({v}))"  # a NaN in a numeric column is a missing optional value
    parts = [
        f"WHEN {empty} THEN {_EMPTY if c.required else 0}",
        f"WHEN {not_number} OR isnan({v}) THEN {_NOT_NUMBER}",
    ]
    if not c.allow_inf:
        parts.append(f"WHEN isinf({v}) THEN {_NOT_FINITE}")
    if c.low is not None:
        parts.append(f"WHEN {v} {'<=' if c.low_open else '<'} {c.low!r} THEN {_TOO_LOW}")
    if c.high is not None:
        parts.append(f"WHEN {v} {'>=' if c.high_open else '>'} {c.high!r} THEN {_TOO_HIGH}")
    status = "CASE " + " ".join(parts) + " ELSE 0 END"
    value = v if c.required else f"CASE WHEN isnan({v}) THEN NULL ELSE {v} END"
    if c.default is not None:
        value = f"coalesce({value}, {float(c.default)!r})"  # type: ignore[arg-type]
    return helpers, value, status


def _timestamp_sql(c: Column, src: str, dtype: str, tz: str | None) -> tuple[list[str], str, str]:
    """Instants: aware values are converted to UTC; naive ones need ``tz`` and are localized.

    Localizing a naive local time ``n`` in zone ``tz`` (DST-safe): take the UTC offsets one day
    before and one day after DuckDB's first guess; each offset gives a candidate instant
    ``n - offset``; a candidate is valid when converting it back to ``tz`` gives ``n`` again.
    Two distinct valid candidates = ambiguous (clocks went back), none = nonexistent (clocks
    went forward). Assumes at most one offset change within two days, true of every tz database
    zone in practice.
    """
    p = c.name
    s, n, a = f"__s_{p}", f"__n_{p}", f"__a_{p}"
    helpers: list[str] = []
    if _AWARE_TYPES.match(dtype):
        helpers.append(f"CAST({src} AS TIMESTAMPTZ) AS {a}")
        helpers.append(f"CAST(NULL AS TIMESTAMP) AS {n}")
        empty, unparseable, is_naive = f"{a} IS NULL", "false", "false"
    elif _NAIVE_TYPES.match(dtype):
        helpers.append(f"CAST(NULL AS TIMESTAMPTZ) AS {a}")
        helpers.append(f"CAST({src} AS TIMESTAMP) AS {n}")
        empty, unparseable, is_naive = f"{n} IS NULL", "false", "true"
    else:
        helpers.append(f"NULLIF(trim(CAST({src} AS VARCHAR)), '') AS {s}")
        helpers.append(f"regexp_matches({s}, {sql_literal(_OFFSET_RE)}) AS __aw_{p}")
        helpers.append(f"regexp_matches({s}, {sql_literal(_ISO_START)}) AS __iso_{p}")  # not 'infinity'
        helpers.append(f"CASE WHEN __iso_{p} AND __aw_{p} THEN TRY_CAST({s} AS TIMESTAMPTZ) END AS {a}")
        helpers.append(f"CASE WHEN __iso_{p} AND NOT __aw_{p} THEN TRY_CAST({s} AS TIMESTAMP) END AS {n}")
        empty = f"{s} IS NULL"
        unparseable = f"({a} IS NULL AND {n} IS NULL)"
        is_naive = f"NOT __aw_{p}"
    if tz is None:
        value = f"CASE WHEN {_rng_tz(a)} THEN {a} END"
        parts = [
            f"WHEN {empty} THEN {_EMPTY}",
            f"WHEN {unparseable} THEN {_NOT_NUMBER}",
            f"WHEN {is_naive} THEN {_NAIVE}",
            f"WHEN NOT {_rng_tz(a)} THEN {_BAD_TIME}",
        ]
    else:
        z = sql_literal(tz)
        nf = f"__nf_{p}"
        helpers += [
            f"CASE WHEN {_rng_naive(n)} THEN {n} END AS {nf}",
            f"timezone({z}, {nf}) AS __g_{p}",
            f"timezone({z}, __g_{p} - INTERVAL 1 DAY) - timezone('UTC', __g_{p} - INTERVAL 1 DAY) AS "
            f"__o1_{p}",
            f"timezone({z}, __g_{p} + INTERVAL 1 DAY) - timezone('UTC', __g_{p} + INTERVAL 1 DAY) AS "
            f"__o2_{p}",
            f"timezone('UTC', {nf} - __o1_{p}) AS __c1_{p}",
            f"timezone('UTC', {nf} - __o2_{p}) AS __c2_{p}",
            f"coalesce(timezone({z}, __c1_{p}) = {nf}, false) AS __k1_{p}",
            f"coalesce(timezone({z}, __c2_{p}) = {nf}, false) AS __k2_{p}",
        ]
        k1, k2, c1, c2 = f"__k1_{p}", f"__k2_{p}", f"__c1_{p}", f"__c2_{p}"
        value = (
            f"CASE WHEN {a} IS NOT NULL THEN (CASE WHEN {_rng_tz(a)} THEN {a} END) "
            f"WHEN {k1} AND {k2} AND {c1} <> {c2} THEN NULL WHEN {k1} THEN {c1} WHEN {k2} THEN {c2} END"
        )
        parts = [
            f"WHEN {empty} THEN {_EMPTY}",
            f"WHEN {unparseable} THEN {_NOT_NUMBER}",
            f"WHEN {a} IS NOT NULL THEN (CASE WHEN {_rng_tz(a)} THEN 0 ELSE {_BAD_TIME} END)",
            f"WHEN {nf} IS NULL THEN {_BAD_TIME}",
            f"WHEN {k1} AND {k2} AND {c1} <> {c2} THEN {_AMBIGUOUS}",
            f"WHEN NOT {k1} AND NOT {k2} THEN {_NONEXISTENT}",
        ]
    status = "CASE " + " ".join(parts) + " ELSE 0 END"
    return helpers, value, status


def _date_sql(c: Column, src: str, dtype: str) -> tuple[list[str], str, str]:
    p = c.name
    s, v = f"__s_{p}", f"__v_{p}"
    if dtype == "DATE":
        helpers = [f"CAST({src} AS DATE) AS {v}"]
        parts = [f"WHEN {v} IS NULL THEN {_EMPTY}", f"WHEN NOT {_rng_date(v)} THEN {_BAD_DATE}"]
    elif _NAIVE_TYPES.match(dtype):
        helpers = [
            f"CAST({src} AS TIMESTAMP) AS __t_{p}",
            f"CASE WHEN __t_{p} = date_trunc('day', __t_{p}) THEN CAST(__t_{p} AS DATE) END AS {v}",
        ]
        parts = [
            f"WHEN __t_{p} IS NULL THEN {_EMPTY}",
            f"WHEN {v} IS NULL OR NOT {_rng_date(v)} THEN {_BAD_DATE}",
        ]
    elif _AWARE_TYPES.match(dtype):
        helpers = [f"CAST({src} AS TIMESTAMPTZ) AS __t_{p}", f"CAST(NULL AS DATE) AS {v}"]
        parts = [f"WHEN __t_{p} IS NULL THEN {_EMPTY}", f"WHEN true THEN {_AWARE_DATE}"]
    else:
        helpers = [
            f"NULLIF(trim(CAST({src} AS VARCHAR)), '') AS {s}",
            f"CASE WHEN regexp_full_match({s}, {sql_literal(_DATE_RE)}) THEN TRY_CAST(left({s}, 10) AS DATE) "
            f"END AS {v}",
        ]
        parts = [
            f"WHEN {s} IS NULL THEN {_EMPTY}",
            f"WHEN {v} IS NULL OR NOT {_rng_date(v)} THEN {_BAD_DATE}",
        ]
    return helpers, v, "CASE " + " ".join(parts) + " ELSE 0 END"


def _message(c: Column, code: int, raw: object, tz: str | None) -> str:
    shown = repr(raw) if raw is not None else "empty"
    if code == _EMPTY:
        return f"{c.name} is empty (required)"
    if code == _NOT_NUMBER:
        if c.kind == "timestamp":
            return f"cannot parse {shown} as an ISO-8601 timestamp"
        return f"{shown} is not a number"
    if code == _NOT_FINITE:
        return f"{shown} is not a finite number"
    if code in (_TOO_LOW, _TOO_HIGH):
        bounds = []
        if c.low is not None:
            bounds.append(f"{'>' if c.low_open else '>='} {c.low:g}")
        if c.high is not None:
            bounds.append(f"{'<' if c.high_open else '<='} {c.high:g}")
        what = "negative" if (code == _TOO_LOW and c.low == 0 and not c.low_open) else "out of range"
        return f"{c.name} {shown} is {what}; it must be {' and '.join(bounds)}"
    if code == _CHOICE:
        return f"{shown} is not a valid {c.name}; expected one of {', '.join(c.choices or ())}"
    if code == _NAIVE:
        return (
            f"naive timestamp {shown} has no UTC offset; write it with an offset ('Z', '+01:00') "
            "or name its time zone (tz=... / --tz ZONE)"
        )
    if code == _NONEXISTENT:
        return f"local time {shown} does not exist in {tz} (clocks went forward: DST gap)"
    if code == _AMBIGUOUS:
        return (
            f"local time {shown} is ambiguous in {tz} (clocks went back: it happens twice); use UTC offsets"
        )
    if code == _BAD_TIME:
        return f"timestamp {shown} is out of range (years 1678 to 2261)"
    if code == _BAD_DATE:
        return f"cannot read {shown} as a calendar day (YYYY-MM-DD, years 1678 to 2261)"
    if code == _AWARE_DATE:
        return f"{c.name} {shown} is a time-zone-aware instant; expected a calendar day (YYYY-MM-DD)"
    return f"invalid value {shown}"  # pragma: no cover


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
    helpers: list[str] = []
    values: list[str] = []
    statuses: list[str] = []
    present: list[Column] = []
    for c in rules.columns:
        if c.name not in mapping:
            # optional column absent from the file: its default (or NULL) everywhere
            default = (
                "NULL"
                if c.default is None
                else (
                    f"{float(c.default)!r}" if c.kind == "number" else sql_literal(str(c.default))  # type: ignore[arg-type]
                )
            )
            typ = "DOUBLE" if c.kind == "number" else "VARCHAR"
            values.append(f"CAST({default} AS {typ}) AS {quote_ident(c.name)}")
            continue
        src = quote_ident(mapping[c.name])
        dtype = types[mapping[c.name]].upper()
        if c.kind == "text":
            h, v, st = _text_sql(c, src)
        elif c.kind == "number":
            h, v, st = _number_sql(c, src, dtype)
        elif c.kind == "timestamp":
            h, v, st = _timestamp_sql(c, src, dtype, tz)
        else:
            h, v, st = _date_sql(c, src, dtype)
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

    # --- one aggregate: first bad row per column and per rule, and the row count -------------
    aggs = [f"min(__row) FILTER (WHERE __st_{c.name} <> 0)" for c in present]
    live_rules = [r for r in rules.rules if all(n in mapping for n in r.needs)]
    for r in live_rules:
        ok = " AND ".join(f"__st_{n} = 0" for n in r.needs) or "true"
        aggs.append(f"min(__row) FILTER (WHERE {ok} AND ({r.bad_sql}))")
    first = con.execute(f"SELECT count(*), {', '.join(aggs)} FROM {STAGE}").fetchall()[0]
    n_rows = int(first[0])
    candidates: list[tuple[int, int, str, str]] = []  # (row, order, column, message)
    for i, c in enumerate(present):
        row = first[1 + i]
        if row is not None:
            code = con.execute(f"SELECT __st_{c.name} FROM {STAGE} WHERE __row = ?", [row]).fetchall()[0][0]
            raw = _raw_value(con, source_sql, mapping[c.name], row)
            candidates.append((int(row), i, c.name, _message(c, int(code), raw, tz)))
    for j, r in enumerate(live_rules):
        row = first[1 + len(present) + j]
        if row is not None:
            detail = ", ".join(f"{n}={_raw_value(con, source_sql, mapping[n], row)!r}" for n in r.needs)
            candidates.append((int(row), len(present) + j, r.column, f"{r.message} ({detail})"))

    # --- duplicate keys and unknown resources ------------------------------------------------
    fast = None if candidates else _keys_fast(con, rules)
    if fast is not None:
        candidates += [(row, order, mapping.get(col, col), msg) for row, order, col, msg in fast]
    else:
        candidates += _keys_sql(con, rules, mapping)

    if candidates:
        row, _, column, message = min(candidates)
        raise ValidationError(message, file=file, row=row, column=column)
    return n_rows


def _dup_message(rules: TableRules, first_row: object) -> str:
    return f"duplicate {' + '.join(rules.key)}: this row repeats the key of row {first_row}"


def _unknown_message(rid: object) -> str:
    return f"unknown resource {rid!r}: not in the inventory (ingest the inventory first)"


def _keys_sql(con: duckdb.DuckDBPyConnection, rules: TableRules, mapping: dict[str, str]) -> list:
    """Duplicate-key and unknown-resource checks in SQL (exact, any row order)."""
    out: list[tuple[int, int, str, str]] = []
    keys = ", ".join(quote_ident(k) for k in rules.key)
    key_ok = " AND ".join(f"__st_{k} = 0" for k in rules.key)
    dup = con.execute(
        f"WITH d AS (SELECT {keys}, min(__row) AS __first FROM {STAGE} WHERE {key_ok} "
        f"GROUP BY {keys} HAVING count(*) > 1) "
        f"SELECT min(s.__row), arg_min(d.__first, s.__row) FROM {STAGE} s JOIN d USING ({keys}) "
        f"WHERE s.__row > d.__first"
    ).fetchall()[0]
    if dup[0] is not None:
        column = rules.key[-1]
        out.append((int(dup[0]), 10_000, mapping.get(column, column), _dup_message(rules, dup[1])))
    ref = rules.references_resources
    if ref is not None:
        row = con.execute(
            f"SELECT min(s.__row) FROM {STAGE} s ANTI JOIN main.resources r ON s.{quote_ident(ref)} = "
            f"r.resource_id WHERE s.__st_{ref} = 0"
        ).fetchall()[0][0]
        if row is not None:
            rid = con.execute(f"SELECT {quote_ident(ref)} FROM {STAGE} WHERE __row = ?", [row]).fetchall()[0][
                0
            ]
            out.append((int(row), 20_000, mapping.get(ref, ref), _unknown_message(rid)))
    return out


def _strictly_increasing(arrays: list[np.ndarray]) -> bool:
    """True if consecutive rows strictly increase in the tuple of ``arrays`` (lexicographic)."""
    if not arrays or len(arrays[0]) < 2:
        return True
    greater = np.zeros(len(arrays[0]) - 1, dtype=bool)
    equal = np.ones_like(greater)
    for a in arrays:
        lo, hi = a[:-1], a[1:]
        greater |= equal & (hi > lo)
        equal &= hi == lo
    return bool(greater.all())


def _keys_fast(con: duckdb.DuckDBPyConnection, rules: TableRules) -> list | None:
    """Same checks in O(n) with Arrow/numpy when the rows are sorted by key (the usual case).

    Text key columns are dictionary-encoded (codes in order of first appearance), instants and
    days become int64; if consecutive rows are strictly increasing in the key tuple, no key
    repeats. Unknown resources: dictionary values not in ``resources``. Returns None (caller
    falls back to :func:`_keys_sql`) when the rows are not in key order.
    """
    cols = ", ".join(quote_ident(k) for k in rules.key)
    table = con.sql(f"SELECT __row, {cols} FROM {STAGE}").to_arrow_table()
    rows = table.column("__row").to_numpy()
    if len(rows) < 2 and rules.references_resources is None:
        return []
    arrays: list[np.ndarray] = []
    dictionaries: dict[str, tuple[pa.Array, np.ndarray]] = {}
    for k in rules.key:
        col = table.column(k).combine_chunks()
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            enc = pc.dictionary_encode(col)
            codes = enc.indices.to_numpy(zero_copy_only=False)
            dictionaries[k] = (enc.dictionary, codes)
        elif pa.types.is_date32(col.type):
            codes = col.cast(pa.int32()).to_numpy(zero_copy_only=False)
        else:
            codes = col.cast(pa.int64()).to_numpy(zero_copy_only=False)
        arrays.append(codes)
    # files are usually sorted by key in some column order: (resource, time) or (time, resource)
    if not any(
        _strictly_increasing([arrays[i] for i in order])
        for order in itertools.permutations(range(len(arrays)))
    ):
        return None
    out: list[tuple[int, int, str, str]] = []
    ref = rules.references_resources
    if ref is not None:
        dictionary, codes = dictionaries[ref]
        known = con.sql("SELECT resource_id FROM main.resources").to_arrow_table().column(0)
        bad = np.flatnonzero(
            ~pc.is_in(dictionary, value_set=known.combine_chunks()).to_numpy(zero_copy_only=False)
        )
        if len(bad):
            where = np.flatnonzero(np.isin(codes, bad))
            i = where[np.argmin(rows[where])]
            out.append((int(rows[i]), 20_000, ref, _unknown_message(dictionary[codes[i]].as_py())))
    return out


def _raw_value(con: duckdb.DuckDBPyConnection, source_sql: str, column: str, row: int) -> object:
    """The cell as the user wrote it (for messages)."""
    got = con.execute(
        f"SELECT CAST({quote_ident(column)} AS VARCHAR) FROM {source_sql} WHERE __row = ?", [row]
    ).fetchall()
    value = got[0][0] if got else None
    if isinstance(value, float) and math.isnan(value):  # pragma: no cover - VARCHAR cast
        return "nan"
    return value
