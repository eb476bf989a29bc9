"""Embedded store: one DuckDB file with inventory, measurements, indicators, covariates and results.

Public API
----------
:class:`Store`
    ``Store(path)`` (context manager): ``ingest_inventory / ingest_measurements /
    ingest_indicators / ingest_covariates``, readers ``inventory() / measurements(...) /
    indicators(...) / covariates(...)``, ``tables()``, ``start_run``, ``write_table``,
    ``write_forecasts / forecasts``, ``export(table, path, format)``.
:class:`IngestReport`
    What an ingest did (rows read, inserted, updated, unchanged).
:data:`SCHEMA_VERSION`, :data:`MIGRATIONS`
    The schema version this code writes and the ordered migration path.

See :mod:`surgeplan.store.schema` (layout, versions), :mod:`surgeplan.store.validate` (checks,
row-number convention), :mod:`surgeplan.store.ingest` (atomic upsert) and
:mod:`surgeplan.store.export` (formats).
"""

from surgeplan.store.core import DEFAULT_PATH, Store
from surgeplan.store.ingest import IngestReport
from surgeplan.store.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["DEFAULT_PATH", "MIGRATIONS", "SCHEMA_VERSION", "IngestReport", "Store"]
