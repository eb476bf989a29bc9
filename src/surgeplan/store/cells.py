"""One input column as DuckDB SQL: the helper select items that parse it, its typed value and a small
status code saying *why* a cell is bad (0 = fine), and the message for each code.

Each builder returns ``(helper select items, value expression, status expression)``; they run inside the
one ``CREATE TEMP TABLE`` scan of :func:`surgeplan.store.validate.stage_and_validate`.
"""

from __future__ import annotations

import re

from surgeplan.store.rules import Column
from surgeplan.store.schema import sql_literal

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


def cell_message(c: Column, code: int, raw: object, tz: str | None) -> str:
    """What is wrong with a cell of column ``c`` whose status is ``code`` (``raw``: the cell as written)."""
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


def cell_sql(c: Column, src: str, dtype: str, tz: str | None) -> tuple[list[str], str, str]:
    """Helper select items, value and status expressions for column ``c`` read from the source column
    ``src`` of DuckDB type ``dtype`` (naive instants read in the zone ``tz``)."""
    if c.kind == "text":
        return _text_sql(c, src)
    if c.kind == "number":
        return _number_sql(c, src, dtype)
    if c.kind == "timestamp":
        return _timestamp_sql(c, src, dtype, tz)
    return _date_sql(c, src, dtype)
