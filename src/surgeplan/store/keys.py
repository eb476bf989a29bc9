"""Duplicate natural keys within a file and references to unknown resources, over the staged rows.

Each finding is ``(row, order, column, message)``; orders 10 000 (duplicate) and 20 000 (unknown
resource) sort them after the cell and rule findings of the same row.
"""

from __future__ import annotations

import itertools

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from surgeplan.store.rules import TableRules
from surgeplan.store.schema import STAGE, quote_ident


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
