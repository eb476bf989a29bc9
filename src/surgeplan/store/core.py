"""The :class:`Store`: one DuckDB file holding inventory, measurements, indicators and results."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Self

import duckdb
import pandas as pd
import pyarrow as pa

from surgeplan.errors import SurgeplanError, ValidationError
from surgeplan.kinds import INVENTORY_OPTIONAL, INVENTORY_REQUIRED
from surgeplan.store import schema
from surgeplan.store.export import export_query, infer_format
from surgeplan.store.ingest import IngestReport, _from_frame, run_ingest
from surgeplan.store.validate import RULES, sql_literal

__all__ = ["DEFAULT_PATH", "Store"]

#: Default store file, relative to the working directory.
DEFAULT_PATH = "surgeplan.duckdb"
_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_ALIASES = {"inventory": "resources"}
_STAT_RE = re.compile(r"^(mean|p\d+(\.\d+)?)$")


def _ts_arg(value: Any, name: str) -> pd.Timestamp | None:
    """A reader bound as a UTC Timestamp; naive values are read as UTC (documented)."""
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise SurgeplanError(f"{name}: cannot read {value!r} as a timestamp ({exc})") from None
    if ts is pd.NaT:
        raise SurgeplanError(f"{name}: {value!r} is not a timestamp")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


class Store:
    """An embedded surgeplan store (a DuckDB file).

    Parameters
    ----------
    path : str or os.PathLike, default ``"surgeplan.duckdb"``
        The store file; created (with the current schema) if it does not exist. An older file is
        migrated on open; a file from a newer surgeplan is refused.
    read_only : bool, default False
        Open without write access (several readers may share a file; a writer needs it alone).

    Notes
    -----
    Every ingest is one transaction: all rows land or none do. Inputs are validated in full
    (vectorized DuckDB SQL over Arrow/Parquet) before the file is touched, so a rejected input
    leaves the file byte-for-byte unchanged, and re-ingesting identical rows writes nothing.
    Timestamps are stored as ``TIMESTAMPTZ`` in UTC and returned as ``datetime64[ns, UTC]``.
    The connection's session time zone is UTC.

    Examples
    --------
    >>> with Store("surgeplan.duckdb") as store:                     # doctest: +SKIP
    ...     store.ingest_inventory("inventory.csv")
    ...     store.ingest_measurements("load.parquet")
    ...     load = store.measurements(["FRA-ITA-1"], start="2020-03-01")
    """

    def __init__(self, path: str | os.PathLike = DEFAULT_PATH, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise SurgeplanError(f"{self.path}: no such store")
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise SurgeplanError(f"{self.path}: cannot open store: {str(exc).splitlines()[0]}") from None
            raise SurgeplanError(
                f"{self.path}: the store is held by another process (a running `surgeplan serve`?); "
                "write through its API or stop it first"
            ) from None
        except duckdb.Error as exc:
            raise SurgeplanError(f"{self.path}: cannot open store: {str(exc).splitlines()[0]}") from None
        try:
            self._con.execute("SET TimeZone = 'UTC'")
            self.migrated_from = schema.migrate(self._con, str(self.path), read_only=read_only)
            schema.sync_kinds(self._con, read_only=read_only)
        except BaseException:
            self._con.close()
            raise

    # ------------------------------------------------------------------ life cycle
    def close(self) -> None:
        """Close the file (idempotent)."""
        con = getattr(self, "_con", None)
        if con is not None:
            con.close()
            self._con = None  # type: ignore[assignment]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, version={self.version})"

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The underlying DuckDB connection (for read queries; write through the Store API)."""
        if self._con is None:
            raise SurgeplanError(f"{self.path}: store is closed")
        return self._con

    @property
    def version(self) -> int:
        """Schema version of the file."""
        return schema.current_version(self.connection, str(self.path))

    def _writable(self) -> duckdb.DuckDBPyConnection:
        if self.read_only:
            raise SurgeplanError(f"{self.path}: store is open read-only")
        return self.connection

    # ------------------------------------------------------------------ ingest
    def ingest_inventory(self, src: Any) -> IngestReport:
        """Upsert resources (by ``resource_id``) from a CSV / Parquet path or a frame.

        Columns are exactly ``surgeplan.kinds.INVENTORY_REQUIRED`` plus any of
        ``INVENTORY_OPTIONAL`` (absent or empty optional cells take their defaults; ``group``,
        ``name``, ``site``, ``gos_target`` and ``redial_delay_s`` may stay empty). Checked: ``kind``
        exists, ``priority_class`` is ``vital`` or ``standard``, ``capacity >= 0``,
        ``module_size > 0``, ``max_capacity >= capacity`` (``inf`` = no ceiling),
        ``lead_time_days >= 0``, ``module_cost >= 0``, ``0 < gos_target <= 1``,
        ``0 <= retry_probability < 1``, ``redial_delay_s > 0`` (``inf`` allowed),
        ``holding_time_s > 0``, ``aht_s > 0``, ``patience_s > 0`` (``inf`` = Erlang C),
        ``answer_within_s >= 0``, ``0 <= abandon_max <= 1``, unique ``resource_id``. Resources
        absent from the input are kept.

        Returns
        -------
        IngestReport

        Raises
        ------
        ValidationError
            Naming the file, the 1-based data row and the column of the earliest problem.
        """
        self._writable()
        return run_ingest(self._con, src, RULES["resources"], command="ingest inventory")

    def ingest_measurements(self, src: Any, tz: str | None = None) -> IngestReport:
        """Upsert measurements (by ``resource_id, ts``) from a CSV / Parquet path or a frame.

        Columns ``resource_id, ts, load`` (Nixtla names ``unique_id, ds, y`` are accepted).
        ``load`` is a finite number >= 0 in the kind's load unit (``kinds`` table). ``ts`` is an
        instant: a timezone-aware timestamp, or an ISO-8601 text with an offset
        (``2020-03-16T10:00:00Z``, ``...+01:00``). Naive timestamps are refused unless ``tz``
        names their IANA zone (``"Europe/Paris"``); local times that do not exist or happen twice
        at a DST change are refused. Every ``resource_id`` must be in the inventory.

        Parameters
        ----------
        src : path or frame
            CSV, Parquet, pandas / polars DataFrame or pyarrow Table.
        tz : str, optional
            IANA time zone of naive timestamps.
        """
        self._writable()
        return run_ingest(
            self._con,
            src,
            RULES["measurements"],
            tz=self._check_tz(tz),
            span_column="ts",
            command="ingest measurements",
            parameters={"tz": tz},
        )

    def ingest_indicators(self, src: Any) -> IngestReport:
        """Upsert indicators (by ``region, date, name``): long table ``region, date, name, value``.

        ``date`` is a calendar day (``YYYY-MM-DD``, a DATE, or a naive midnight timestamp);
        ``value`` a finite number.
        """
        self._writable()
        return run_ingest(
            self._con, src, RULES["indicators"], span_column="date", command="ingest indicators"
        )

    def ingest_covariates(self, src: Any, tz: str | None = None) -> IngestReport:
        """Upsert covariates: ``resource_id`` or ``region``, then ``ts, name, value``.

        Keyed by resource (which must be in the inventory) or by region; stored with
        ``key_type`` = ``'resource_id'`` / ``'region'`` and ``key``. Timestamps as in
        :meth:`ingest_measurements`.
        """
        self._writable()
        tz = self._check_tz(tz)
        from surgeplan.store.ingest import open_source  # column names decide the key type

        names = self._peek_columns(src, open_source)
        has_rid = bool({"resource_id", "unique_id"} & set(names))
        has_region = "region" in names
        label = str(src) if isinstance(src, (str, os.PathLike)) else "<frame>"
        if has_rid == has_region:
            raise ValidationError(
                "covariates need exactly one key column: resource_id (or unique_id) or region",
                file=label,
                row=0,
                column="resource_id" if has_rid else "region",
            )
        key_type = "resource_id" if has_rid else "region"
        return run_ingest(
            self._con,
            src,
            RULES[f"covariates_{key_type}"],
            tz=tz,
            extra_select=f"{sql_literal(key_type)} AS key_type",
            span_column="ts",
            command="ingest covariates",
            parameters={"tz": tz, "key_type": key_type},
        )

    def _peek_columns(self, src: Any, open_source: Any) -> list[str]:
        if isinstance(src, (str, os.PathLike)):
            try:
                source = open_source(self._con, src)
            except (pa.ArrowException, duckdb.Error, UnicodeDecodeError) as exc:
                raise ValidationError(
                    f"cannot read input: {str(exc).splitlines()[0]}", file=str(src)
                ) from exc
            if source.registered:
                self._con.unregister("__src_arrow")
            return [n for n in source.types if n != "__row"]
        table, _ = _from_frame(src)
        return list(table.column_names)

    def _check_tz(self, tz: str | None) -> str | None:
        if tz is None:
            return None
        (ok,) = self.connection.execute(
            "SELECT count(*) FROM pg_timezone_names() WHERE name = ?", [tz]
        ).fetchall()[0]
        if not ok:
            raise SurgeplanError(
                f"tz: unknown time zone {tz!r}; use an IANA name such as 'Europe/Paris' or 'UTC'"
            )
        return tz

    # ------------------------------------------------------------------ readers
    def _df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        frame = self.connection.sql(sql, params=list(params)).to_arrow_table().to_pandas()
        for name, dtype in frame.dtypes.items():
            if isinstance(dtype, pd.DatetimeTZDtype):
                frame[name] = frame[name].dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        return frame

    def inventory(self) -> pd.DataFrame:
        """All resources, columns ``INVENTORY_REQUIRED + INVENTORY_OPTIONAL``, sorted by id."""
        cols = ", ".join(schema.quote_ident(c) for c in (*INVENTORY_REQUIRED, *INVENTORY_OPTIONAL))
        return self._df(f"SELECT {cols} FROM resources ORDER BY resource_id")

    def measurements(
        self,
        resource_ids: str | Iterable[str] | None = None,
        start: Any = None,
        end: Any = None,
    ) -> pd.DataFrame:
        """Measurements ``resource_id, ts (datetime64[ns, UTC]), load`` with ``start <= ts < end``.

        Naive ``start`` / ``end`` are read as UTC. Sorted by ``resource_id, ts``.
        """
        where, params = self._filters(("resource_id", _as_list(resource_ids)), ts=("ts", start, end))
        return self._df(
            f"SELECT resource_id, ts, load FROM measurements{where} ORDER BY resource_id, ts", params
        )

    def indicators(
        self,
        regions: str | Iterable[str] | None = None,
        names: str | Iterable[str] | None = None,
        start: Any = None,
        end: Any = None,
    ) -> pd.DataFrame:
        """Indicators ``region, date (datetime64[ns], naive day), name, value``, ``start <= date < end``."""
        where, params = self._filters(
            ("region", _as_list(regions)), ("name", _as_list(names)), date=("date", start, end)
        )
        frame = self._df(
            f"SELECT region, CAST(date AS TIMESTAMP) AS date, name, value FROM indicators{where} "
            "ORDER BY region, name, date",
            params,
        )
        frame["date"] = frame["date"].astype("datetime64[ns]")
        return frame

    def covariates(
        self,
        keys: str | Iterable[str] | None = None,
        names: str | Iterable[str] | None = None,
        start: Any = None,
        end: Any = None,
        key_type: str | None = None,
    ) -> pd.DataFrame:
        """Covariates with ``start <= ts < end``.

        Returns ``key_type, key, ts, name, value`` (``key_type`` is ``resource_id`` or
        ``region``); with ``key_type`` given, only those rows, in the long shape of
        ``docs/DEVELOPING.md``: ``resource_id`` (or ``region``), ``ts, name, value``.
        """
        if key_type not in (None, "resource_id", "region"):
            raise SurgeplanError(f"key_type: {key_type!r} is not 'resource_id' or 'region'")
        where, params = self._filters(
            ("key", _as_list(keys)),
            ("name", _as_list(names)),
            ("key_type", None if key_type is None else [key_type]),
            ts=("ts", start, end),
        )
        if key_type is not None:
            return self._df(
                f"SELECT key AS {key_type}, ts, name, value FROM covariates{where} ORDER BY key, name, ts",
                params,
            )
        return self._df(
            f"SELECT key_type, key, ts, name, value FROM covariates{where} ORDER BY key_type, key, name, ts",
            params,
        )

    def _filters(
        self, *lists: tuple[str, list[str] | None], ts: Any = None, date: Any = None
    ) -> tuple[str, list]:
        clauses, params = [], []
        for column, values in lists:
            if values is not None:
                clauses.append(f"{schema.quote_ident(column)} IN (SELECT unnest(?::VARCHAR[]))")
                params.append(values)
        for spec, is_date in ((ts, False), (date, True)):
            if spec is None:
                continue
            column, start, end = spec
            for bound, op, argname in ((start, ">=", "start"), (end, "<", "end")):
                value = _ts_arg(bound, argname)
                if value is None:
                    continue
                if is_date:
                    clauses.append(f"{column} {op} ?::DATE")
                    params.append(value.tz_localize(None).date())
                else:
                    clauses.append(f"{column} {op} ?::TIMESTAMPTZ")
                    params.append(value.to_pydatetime())
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def tables(self) -> pd.DataFrame:
        """Every table with its row count: columns ``table, rows, role`` (data / derived / system)."""
        names = [
            r[0]
            for r in self.connection.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                "AND schema_name = 'main' AND NOT temporary ORDER BY table_name"
            ).fetchall()
        ]
        data = {"resources", "measurements", "indicators", "covariates", "forecasts"}
        rows = []
        for name in names:
            (n,) = self.connection.execute(
                f"SELECT count(*) FROM main.{schema.quote_ident(name)}"
            ).fetchall()[0]
            role = "data" if name in data else ("system" if name in schema.CORE_TABLES else "derived")
            rows.append((name, int(n), role))
        return pd.DataFrame(rows, columns=["table", "rows", "role"])

    def _resolve_table(self, table: str) -> str:
        name = _ALIASES.get(table, table)
        known = set(self.tables()["table"]) - schema.PRIVATE_TABLES
        if name not in known:
            raise SurgeplanError(
                f"table: no table {table!r}; tables: {', '.join(sorted(known | set(_ALIASES)))}"
            )
        return name

    def read_table(self, name: str, run_id: str | None = None) -> pd.DataFrame:
        """A whole table (or the rows of one run for a derived table) as a DataFrame."""
        name = self._resolve_table(name)
        cols = [r[0] for r in self.connection.execute(f"DESCRIBE main.{schema.quote_ident(name)}").fetchall()]
        if run_id is not None:
            if "run_id" not in cols:
                raise SurgeplanError(f"run_id: table {name!r} has no run_id column")
            return self._df(f"SELECT * FROM main.{schema.quote_ident(name)} WHERE run_id = ?", [run_id])
        order = self._order_by(name)
        return self._df(f"SELECT * FROM main.{schema.quote_ident(name)}{order}")

    def _order_by(self, name: str) -> str:
        spec = schema.TABLES.get(name)
        if spec is None:
            return ""
        return " ORDER BY " + ", ".join(schema.quote_ident(k) for k in spec.key)

    # ------------------------------------------------------------------ runs & derived tables
    def start_run(self, command: str, parameters: dict[str, Any] | None = None) -> str:
        """Record a run (a command that will write derived tables); return its ``run_id``."""
        con = self._writable()
        run_id = uuid.uuid4().hex
        try:
            payload = json.dumps(parameters or {}, default=str, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise SurgeplanError(f"parameters: not JSON-serialisable ({exc})") from None
        con.execute("INSERT INTO runs VALUES (?, now(), ?, ?)", [run_id, command, payload])
        con.execute("CHECKPOINT")
        return run_id

    def runs(self) -> pd.DataFrame:
        """All runs: ``run_id, created_at, command, parameters`` (JSON text), oldest first."""
        return self._df(
            "SELECT run_id, created_at, command, CAST(parameters AS VARCHAR) AS parameters "
            "FROM runs ORDER BY created_at, run_id"
        )

    def _check_run(self, run_id: str | None, command: str) -> str:
        if run_id is None:
            return self.start_run(command)
        (n,) = self.connection.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]).fetchall()[0]
        if not n:
            raise SurgeplanError(f"run_id: no run {run_id!r} (create one with start_run)")
        return run_id

    def write_table(self, name: str, frame: Any, run_id: str | None = None) -> str:
        """Write a derived output (actions, alerts, busy_hour ...) under a run; return the run_id.

        The table gets a leading ``run_id`` column. Writing the same run again replaces that
        run's rows (idempotent); other runs' rows are kept. The columns must match the existing
        table. All in one transaction.

        Parameters
        ----------
        name : str
            Lower-case SQL identifier, not one of the store's own tables.
        frame : pandas / polars DataFrame or pyarrow Table
        run_id : str, optional
            From :meth:`start_run`; a new run is recorded when omitted.
        """
        con = self._writable()
        if not _NAME_RE.match(name) or name in schema.CORE_TABLES:
            raise SurgeplanError(
                f"name: {name!r} is not a valid derived table name (lower-case identifier, not "
                f"one of {', '.join(sorted(schema.CORE_TABLES))})"
            )
        table, _ = _from_frame(frame)
        if "run_id" in table.column_names:
            table = table.drop_columns(["run_id"])
        run_id = self._check_run(run_id, f"write_table {name}")
        con.register("__derived", table)
        q = schema.quote_ident(name)
        try:
            exists = name in set(self.tables()["table"])
            with schema.transaction(con, f"write_table {name!r}"):
                if not exists:
                    con.execute(
                        f"CREATE TABLE main.{q} AS SELECT CAST(? AS VARCHAR) AS run_id, * FROM __derived",
                        [run_id],
                    )
                    con.execute(
                        "INSERT INTO derived_tables VALUES (?, now(), now(), ?)",
                        [name, json.dumps(table.column_names)],
                    )
                else:
                    have = [r[0] for r in con.execute(f"DESCRIBE main.{q}").fetchall()][1:]
                    if have != table.column_names:
                        raise SurgeplanError(
                            f"frame: columns {table.column_names} do not match table {name!r} columns {have}"
                        )
                    con.execute(f"DELETE FROM main.{q} WHERE run_id = ?", [run_id])
                    con.execute(f"INSERT INTO main.{q} SELECT CAST(? AS VARCHAR), * FROM __derived", [run_id])
                    con.execute("UPDATE derived_tables SET updated_at = now() WHERE name = ?", [name])
        finally:
            con.unregister("__derived")
        return run_id

    def write_forecasts(self, frame: Any, run_id: str | None = None) -> str:
        """Store a wide forecast frame (``resource_id, ts, mean, p50, p90 ...``) in long form.

        ``ts`` must be timezone-aware; statistic columns are ``mean`` and ``p<percent>``
        (``p97.5``). Writing the same run again replaces it. Returns the run_id.
        """
        con = self._writable()
        table, _ = _from_frame(frame)
        names = [{"unique_id": "resource_id", "ds": "ts"}.get(n, n) for n in table.column_names]
        table = table.rename_columns(names)
        for need in ("resource_id", "ts"):
            if need not in names:
                raise ValidationError(
                    f"missing required column {need!r}", file="<forecasts>", row=0, column=need
                )
        stats = [n for n in names if n not in ("resource_id", "ts")]
        bad = [s for s in stats if not _STAT_RE.match(s)]
        if bad or not stats:
            raise ValidationError(
                "forecast statistic columns must be 'mean' or 'p<percent>' (p50, p97.5)",
                file="<forecasts>",
                row=0,
                column=(bad or ["<none>"])[0],
            )
        ts_type = table.schema.field("ts").type
        if not (pa.types.is_timestamp(ts_type) and ts_type.tz is not None):
            raise ValidationError(
                "ts must be timezone-aware timestamps", file="<forecasts>", row=0, column="ts"
            )
        run_id = self._check_run(run_id, "write_forecasts")
        con.register("__fc", table)
        try:
            unpivot = " UNION ALL ".join(
                f"SELECT CAST(? AS VARCHAR), CAST(resource_id AS VARCHAR), ts, {sql_literal(s)}, "
                f"CAST({schema.quote_ident(s)} AS DOUBLE) FROM __fc"
                for s in stats
            )
            with schema.transaction(con, "write_forecasts"):
                con.execute("DELETE FROM forecasts WHERE run_id = ?", [run_id])
                con.execute(f"INSERT INTO forecasts {unpivot}", [run_id] * len(stats))
        finally:
            con.unregister("__fc")
        return run_id

    def latest_forecast_run(self) -> str | None:
        """The id of the forecast run written last (None when no forecast is stored)."""
        got = self.connection.execute(
            "SELECT f.run_id FROM (SELECT DISTINCT run_id FROM forecasts) f JOIN runs USING (run_id) "
            "ORDER BY runs.created_at DESC, f.run_id DESC LIMIT 1"
        ).fetchall()
        return got[0][0] if got else None

    def forecasts(
        self, run_id: str | None = None, resource_ids: str | Iterable[str] | None = None
    ) -> pd.DataFrame:
        """A forecast run back in wide form ``resource_id, ts, mean, p50 ...`` (latest run by default)."""
        if run_id is None:
            run_id = self.latest_forecast_run()
            if run_id is None:
                return pd.DataFrame(
                    {
                        "resource_id": pd.Series([], dtype=object),
                        "ts": pd.Series([], dtype="datetime64[ns, UTC]"),
                    }
                )
        where, params = self._filters(("resource_id", _as_list(resource_ids)))
        where = (where + " AND" if where else " WHERE") + " run_id = ?"
        long = self._df(f"SELECT resource_id, ts, statistic, value FROM forecasts{where}", [*params, run_id])
        wide = long.pivot(index=["resource_id", "ts"], columns="statistic", values="value")
        order = sorted(wide.columns, key=lambda s: -1.0 if s == "mean" else float(s[1:]))
        wide = wide[order].reset_index().sort_values(["resource_id", "ts"], ignore_index=True)
        wide.columns.name = None
        return wide

    # ------------------------------------------------------------------ export
    def export(self, table: str, path: str | os.PathLike, format: str | None = None) -> Path:
        """Write a table to ``path`` as csv, parquet or xlsx (format from the suffix if omitted).

        Instants are ISO-8601 UTC; see :mod:`surgeplan.store.export` for each format's details.
        ``inventory`` is an alias of ``resources``.
        """
        fmt = infer_format(path, format)
        name = self._resolve_table(table)
        q = f"main.{schema.quote_ident(name)}"
        types = {r[0]: r[1] for r in self.connection.execute(f"DESCRIBE {q}").fetchall()}
        return export_query(
            self.connection, f"SELECT * FROM {q}{self._order_by(name)}", types, path, fmt, sheet=name
        )
