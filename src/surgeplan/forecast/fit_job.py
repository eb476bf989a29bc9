"""The fit job: every group built, its driver and shape chosen, fitted, pooled and calibrated; and
the fold-in of new measurements that keeps it current.

What :class:`surgeplan.forecast.model.ShockForecaster` learns lives in one :class:`FitState`,
made by :func:`fit` and changed by :func:`fold_in` only; ``predict`` reads it. The stages run
over the groups where they are (:class:`surgeplan._parallel.Partitions`: here, or on the Dask
workers that built them) through the per-group tasks of :mod:`surgeplan.forecast.tasks`; what is
pooled across groups (the learned drivers, the shape per kind, the response pools, the
calibration tables) is computed here, from the groups' small summaries, in the groups' order, so
the result does not depend on where the groups are.

Order of a fit:

1. the resources split into groups (one cadence and time zone each, ``max_partition`` at most);
2. each group built from its rows (on Dask, from an Arrow IPC file the workers read);
3. the driver per kind learned out of region (:mod:`.learned`, :mod:`.driver`), when asked;
4. the indicator mapping and response shape chosen per kind (:mod:`.shape`);
5. each group fitted (:mod:`.fitting`), then given its kind's response pool (:mod:`.transfer`);
6. the rolling-origin pass, and the calibration tables from its errors (:mod:`.calibration`);
7. the future indicators held for a forecast given none (:mod:`.future`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from surgeplan._parallel import Partitions
from surgeplan.errors import SurgeplanError
from surgeplan.forecast import features as _ft
from surgeplan.forecast import tasks as _tk
from surgeplan.forecast import transfer as _tr
from surgeplan.forecast.calibration import build_tables
from surgeplan.forecast.future import HeldFuture, held_future
from surgeplan.forecast.intensity import DriverTables, used_specs
from surgeplan.forecast.learned import (
    assign_specs,
    daily_summary,
    drivers_from_daily,
    learned_pools,
    stringency_ranges,
    with_learned_specs,
)
from surgeplan.forecast.panel import partitions, read_measurements, split_rows, write_partition
from surgeplan.forecast.shape import choose_driver, kind_shapes
from surgeplan.forecast.state import Calibration, Group, History, Options, Pooling

__all__ = ["FitState", "Outlook", "asof_day", "fit", "fold_in"]


@dataclass(frozen=True, slots=True)
class Outlook:
    """What a forecast given no future indicators assumes of them (``ShockForecaster``'s
    ``regime_change``, ``project_restrictions``, ``projection_window_days``; :mod:`.future`)."""

    regime_change: bool
    project_restrictions: bool
    window_days: int


@dataclass(slots=True)
class FitState:
    """What a fit learned, kept current by :func:`fold_in`; ``predict`` reads it only."""

    history: History  # every table folded in so far
    opt: Options  # the tuning, with the learned drivers among its mappings
    outlook: Outlook
    parts: Partitions  # where the groups are
    handles: list[Any]  # the groups where they are (the groups themselves, or Dask futures)
    sizes: list[int]  # resources per group: a group's relative cost, the order its tasks start in
    groups: list[Group]  # the groups, or their summaries when they stay on the workers
    cadence: pd.Series  # seconds per resource
    tables: DriverTables  # daily restriction intensity per mapping in use
    pooling: Pooling
    calibration: Calibration
    held: HeldFuture  # future indicators for a forecast given none
    exchange: tempfile.TemporaryDirectory | None = None  # the workers' exchange folder (Dask)


def fit(
    history: History,
    opt: Options,
    *,
    executor: Any,
    max_partition: int | None,
    exchange_dir: str | None,
    learn_driver: bool,
    outlook: Outlook,
) -> FitState:
    """Fit every resource of ``history`` (see the module docstring for the order of the stages).

    ``history.inventory`` gains the resources measured but not in it (``generic``, no region).
    """
    parts = Partitions(executor)
    metas, cadence = _partition_meta(history, max_partition)
    sizes = [len(m) for m in metas]  # resources (their histories are about as long): a group's cost
    groups, exchange = _built(parts, history, metas, sizes, opt, exchange_dir)
    drivers = _learn_drivers(parts, history, groups, opt, learn_driver)
    opt = with_learned_specs(opt, drivers)
    groups, pooling = _shaped(parts, history, groups, opt, drivers, sizes)
    tables = DriverTables.build(history.indicators, opt.specs, used_specs(_view(parts, groups)))
    task = partial(_tk.fitted, opt=opt, tables=tables, covs=history.covariates)
    groups = parts.map(task, groups, sizes=sizes)
    pooling.pools, pooling.full_kinds = _tr.response_pools(
        _view(parts, groups), opt.min_evidence_days, pooling.learned_pools
    )
    task = partial(_tk.pooled, pools=pooling.pools, min_evidence=opt.min_evidence_days, drivers=drivers)
    groups = parts.map(task, groups, local=True)
    task = partial(
        _tk.calibrated,
        opt=opt,
        tables=tables,
        covs=history.covariates,
        pools=pooling.pools,
        full_kinds=pooling.full_kinds,
        drivers=drivers,
    )
    groups, errors = parts.unzip(parts.map(task, groups, sizes=sizes), 2)
    errors = parts.run(_tk.same, errors) if parts.resident else errors
    summaries = _view(parts, groups)
    return FitState(
        history=history,
        opt=opt,
        outlook=outlook,
        parts=parts,
        handles=groups,
        sizes=sizes,
        groups=summaries,
        cadence=cadence,
        tables=tables,
        pooling=pooling,
        calibration=build_tables(summaries, errors, opt.quantiles),
        held=_held(history, tables, opt, summaries, outlook),
        exchange=exchange,
    )


def fold_in(
    state: FitState,
    new: pd.DataFrame,
    indicators: pd.DataFrame | None,
    covariates: pd.DataFrame | None,
    cutoff: pd.Timestamp | None,
) -> None:
    """Fold normalized new measurements (and indicators, covariates: same keys, last wins) into
    ``state``: one Kalman pass per group up to ``cutoff`` (or the last new step), then the
    response pools again. Rows at or after ``cutoff`` are kept in the history only."""
    h, opt, parts = state.history, state.opt, state.parts
    if indicators is not None:
        ind = pd.concat([h.indicators, indicators], ignore_index=True)
        h.indicators = ind.drop_duplicates(["region", "date", "name"], keep="last")
        state.tables = DriverTables.build(h.indicators, opt.specs, used_specs(state.groups))
    if covariates is not None:
        cov = pd.concat([h.covariates, covariates], ignore_index=True)
        h.covariates = cov.drop_duplicates(["key_type", "key", "ts", "name"], keep="last")
    h.appended.append(new)
    if cutoff is not None:
        new = new[new["ts"] < cutoff]
    subs = split_rows(new, [pd.DataFrame({"resource_id": g.ids}) for g in state.groups])
    units = [state.calibration.unit(g.kinds) for g in state.groups]
    task = partial(_tk.updated, opt=opt, tables=state.tables, covs=h.covariates, cutoff=cutoff)
    handles = parts.map(task, state.handles, subs, units, sizes=state.sizes)
    pooling = state.pooling
    pooling.pools, pooling.full_kinds = _tr.response_pools(
        _view(parts, handles), opt.min_evidence_days, pooling.learned_pools
    )
    task = partial(
        _tk.repooled, pools=pooling.pools, min_evidence=opt.min_evidence_days, drivers=pooling.drivers
    )
    state.handles = parts.map(task, handles, local=True)
    state.groups = _view(parts, state.handles)
    if indicators is not None or state.held.asof != asof_day(state.groups):
        state.held = _held(h, state.tables, opt, state.groups, state.outlook)


def asof_day(groups: list[Group]) -> pd.Timestamp:
    """First day whose indicators the forecast cannot know: the day after the origin's day."""
    end = max(g.end_utc for g in groups)
    return end.tz_convert("UTC").tz_localize(None).normalize() + pd.Timedelta(days=1)


# ---------------------------------------------------------------------------------- the stages
def _held(h: History, tables: DriverTables, opt: Options, groups: list[Group], out: Outlook) -> HeldFuture:
    return held_future(
        h.indicators,
        tables.observed(0),
        asof_day(groups),
        regime_change=out.regime_change,
        project_restrictions=out.project_restrictions,
        window_days=out.window_days,
        specs=opt.specs,
        used=used_specs(groups),
    )


def _view(parts: Partitions, handles: list[Any]) -> list[Group]:
    """The groups as the global steps read them: the groups themselves here, or their
    summaries (:func:`surgeplan.forecast.tasks.summary`) from the workers."""
    return parts.run(_tk.summary, handles) if parts.resident else list(handles)


def _partition_meta(h: History, max_partition: int | None) -> tuple[list[pd.DataFrame], pd.Series]:
    """The resources (``resource_id, kind, region, cadence_s, tz``) of each group, in order, and
    the cadence (seconds) per resource."""
    meas, meta = h.all_measurements(), h.inventory
    ids_all = _ft.unique_ids(meas["resource_id"])
    if len(meta) < len(ids_all):  # resources first seen in update(): generic, no region
        extra = ids_all[~np.isin(ids_all, meta["resource_id"])]
        meta = pd.concat([meta, pd.DataFrame({"resource_id": extra, "kind": "generic", "region": ""})])
        h.inventory = meta = meta.reset_index(drop=True)
    cadence = _ft.infer_cadence(meas)
    meta = meta.assign(
        cadence_s=cadence.reindex(meta["resource_id"]).to_numpy(),
        tz=[_ft.region_timezone(r or None) for r in meta["region"]],
    )
    return partitions(meta, max_partition), cadence


def _built(
    parts: Partitions,
    h: History,
    metas: list[pd.DataFrame],
    sizes: list[int],
    opt: Options,
    exchange_dir: str | None,
) -> tuple[list[Any], tempfile.TemporaryDirectory | None]:
    """Each group built where it will stay, from its rows. On Dask the driver writes each
    group's file (largest first) just before it submits the group's build task, so the
    workers build while the driver writes; the task reads the file (``exchange_dir``)."""
    task = partial(_tk.built, cutoff=h.cutoff, opt=opt, covs=h.covariates)
    rows = split_rows(h.all_measurements(), metas)  # lazy: a group's rows are taken when read
    if not parts.resident:
        return parts.map(task, metas, rows, local=True), None
    try:
        exchange = tempfile.TemporaryDirectory(prefix="surgeplan-fit-", dir=exchange_dir)
    except OSError as exc:
        raise SurgeplanError(
            f"exchange_dir {exchange_dir!r}: cannot create the workers' exchange folder there ({exc})"
        ) from None
    handles: list[Any] = [None] * len(metas)
    for i in sorted(range(len(metas)), key=lambda i: -sizes[i]):
        src = write_partition(rows[i], metas[i], exchange.name, i)  # rows taken, written, dropped
        handles[i] = parts.map(task, [metas[i]], [src], sizes=[sizes[i]])[0]
    # every row is in the dataset now: the driver drops its copy (~24 bytes a row) and a refit
    # reads them back from there (the folder lives as long as this fit's state)
    h.measurements, h.stored = None, partial(read_measurements, exchange, len(metas))
    return handles, exchange


def _learn_drivers(parts: Partitions, h: History, groups: list[Any], opt: Options, learn: bool) -> dict:
    """The driver learned per kind out of region (:func:`.learned.drivers_from_daily`), from the
    groups' daily summaries; none without ``learn``, an ``'auto'`` shock lag and indicators."""
    if not (learn and opt.shock_lag == "auto") or h.indicators is None or h.indicators.empty:
        return {}
    daily = parts.run(daily_summary, groups, local=True)
    return drivers_from_daily(daily, h.indicators, stringency_ranges(opt))


def _shaped(
    parts: Partitions, h: History, groups: list[Any], opt: Options, drivers: dict, sizes: list[int]
) -> tuple[list[Any], Pooling]:
    """Each resource given its indicator mapping and response shape: a learned driver's where
    its kind has one, else the one :func:`.shape.choose_driver` finds over the groups where they
    are (each search stays with its group; the scores come back in the groups' order)."""
    fixed = assign_specs([], opt, drivers)
    groups = parts.map(partial(_tk.specs_assigned, opt=opt, drivers=drivers), groups, local=True)
    search = opt.search_driver and opt.shock_lag == "auto"
    first = range(len(opt.specs)) if search else used_specs(_view(parts, groups))
    tables = DriverTables.build(h.indicators, opt.specs, first)
    task = partial(_tk.search_started, opt=opt, tables=tables, covs=h.covariates)
    searching = parts.map(task, groups, local=True, sizes=sizes)
    kinds = parts.run(_tk.search_kinds, searching, local=True)
    live = [sr for sr, kd in zip(searching, kinds, strict=True) if kd is not None]
    shocked = [len(kd) for kd in kinds if kd is not None]  # the search's cost

    def scores(kd: list[str], cands: list[np.ndarray]) -> list:
        task = partial(_tk.search_scores, kinds=kd, cands=cands)
        return parts.run(task, live, local=True, sizes=shocked)

    kind_spec = choose_driver([kd for kd in kinds if kd is not None], opt, scores, fixed)
    task = partial(_tk.search_finished, kind_spec=kind_spec, tables=tables)
    groups = parts.map(task, searching, local=True, sizes=sizes)
    shapes = kind_shapes(_view(parts, groups))
    groups = parts.map(partial(_tk.shapes_given, shapes=shapes, drivers=drivers), groups, local=True)
    pooling = Pooling(kind_spec=kind_spec, kind_shape=shapes, drivers=drivers)
    pooling.learned_pools = learned_pools(drivers)
    return groups, pooling
