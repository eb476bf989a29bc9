"""The per-group tasks of :class:`surgeplan.forecast.model.ShockForecaster`.

Each reads one group (or a group and its shape search) and the driver's global state and returns
the group it changed, or a small summary of it: the same result in this process or on a Dask
worker (:class:`surgeplan._parallel.Partitions`), in any order, and when retried.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from surgeplan.forecast import shape as _sh
from surgeplan.forecast import transfer as _tr
from surgeplan.forecast.calibration import rolling_pass
from surgeplan.forecast.design import setup_covariates, setup_names
from surgeplan.forecast.fitting import fit_group
from surgeplan.forecast.intensity import DriverTables
from surgeplan.forecast.kalman import kalman_pass
from surgeplan.forecast.learned import assign_shapes, assign_specs, carry_thin, learned_pools, thin_borrowers
from surgeplan.forecast.panel import PartitionFile, append_measurements, build_group, read_partition
from surgeplan.forecast.predict import predict_group
from surgeplan.forecast.response import response_table
from surgeplan.forecast.state import Calibration, Group, Options

#: the arrays a group's summary leaves on the worker (the series, the normal equations and
#: covariances, the priors, the daily evidence): what the global steps never read
HEAVY = (
    "zraw", "zfill", "cov", "xtx", "xty", "prior_mean", "prior_sd", "evidence_daily", "evidence_full_daily",
)  # fmt: skip


def summary(g: Group) -> Group:
    """The group without its heavy arrays (:data:`HEAVY`): what the global steps read."""
    return dataclasses.replace(g, **dict.fromkeys(HEAVY))


def same(x: Any) -> Any:
    return x


def built(meta: pd.DataFrame, src: Any, cutoff: Any, opt: Options, covs: pd.DataFrame) -> Group:
    m = read_partition(src)[0] if isinstance(src, PartitionFile) else src
    cad, tz = meta["cadence_s"].iloc[0], meta["tz"].iloc[0]
    g = build_group(int(cad), str(tz), meta, m, cutoff, opt.lags_days, opt.max_blocks, opt.default_shock_lag)
    setup_covariates(g, covs, opt.covariate_smoothing_hours)
    setup_names(g, opt.covariate_smoothing_hours)
    return g


def specs_assigned(g: Group, opt: Options, drivers: dict) -> Group:
    assign_specs([g], opt, drivers)
    return g


class Searching:
    """A group and its shape search (``sr.g is g``, or None), kept together as one object: Dask
    may serialize the items of a tuple one by one, which would part the search from its group."""

    __slots__ = ("g", "sr")

    def __init__(self, g: Group, sr: _sh.ShapeSearch | None) -> None:
        self.g, self.sr = g, sr


def search_started(g: Group, opt: Options, tables: DriverTables, covs: pd.DataFrame) -> Searching:
    return Searching(g, _sh.start_search(g, opt, tables, covs))


def search_kinds(gs: Searching) -> np.ndarray | None:
    return None if gs.sr is None else gs.sr.kinds


def search_scores(gs: Searching, kinds: list[str], cands: list[np.ndarray]) -> list[np.ndarray]:
    return _sh.search_scores(gs.sr, kinds, cands)


def search_finished(gs: Searching, kind_spec: dict[str, int], tables: DriverTables) -> Group:
    g, sr = gs.g, gs.sr
    _sh.write_driver(g, kind_spec)
    if sr is not None:
        sr.finish()
    if kind_spec:  # evidence under the chosen mappings
        _sh.count_evidence(g, tables)
    return g


def shapes_given(g: Group, shapes: dict, drivers: dict) -> Group:
    _sh.give_shapes(g, shapes)
    assign_shapes([g], drivers)
    return g


def fitted(g: Group, opt: Options, tables: DriverTables, covs: pd.DataFrame) -> Group:
    fit_group(g, opt, tables, covs)
    return g


def pooled(g: Group, pools: dict, min_evidence: float, drivers: dict) -> Group:
    _tr.give_pools(g, pools, min_evidence, in_update=False)
    carry_thin([g], drivers)
    return g


def repooled(g: Group, pools: dict, min_evidence: float, drivers: dict) -> Group:
    # resources borrowing a response seen in one other region take that region's size, not the
    # pool of the kind's fitted resources (:func:`_bound_thin`)
    thin = thin_borrowers(g, drivers)
    _tr.give_pools(g, pools, min_evidence, in_update=True, among=~thin)
    if thin.any():
        _tr.apply_to_state(g, learned_pools(drivers, "thin"), among=thin)
    # a response learned online from a day or two of restrictions is a slope seen at
    # partial intensity: bounded by the kind's pool until there is enough evidence
    g.beta = _tr.extrapolation_band(g, pools, min_evidence, among=~thin)
    _bound_thin(g, drivers, pools, min_evidence, thin)
    return g


def _bound_thin(g: Group, drivers: dict, pools: dict, min_evidence: float, thin: np.ndarray) -> None:
    """Where the response at full intensity is known (``g.extrapolate``): the kind's pool, the
    resource's own evidence, or the size one other region showed (thin evidence), which bounds
    the borrowers' responses as a pool does. Without that last one, a region that crossed but is
    still within the response's delay had its response carried at the intensity it had reached:
    none, a flat forecast (Spain on 15 Mar 2020, stay-at-home voice x2 seen in Italy only).

    The borrowers are bounded by that size only, not first by the pool of the kind's fitted
    resources (the callers leave them out of it): those are the one region's, whose hourly fits
    read a response seen for a few days at partial intensity (x1.06 for Italy's voice, seen
    doubling for two days), and Spain was then carried at 13% of its change (generators,
    voice_stay_home seed 0). ``thin``: (n,) the borrowers (:func:`thin_borrowers`)."""
    if thin.any():
        g.beta = _tr.extrapolation_band(g, learned_pools(drivers, "thin"), min_evidence, among=thin)
    g.extrapolate = _tr.full_response_known(g, pools, min_evidence) | thin


def responses(g: Group, specs: Any) -> pd.DataFrame:
    return response_table([g], specs)


def calibrated(
    g: Group,
    opt: Options,
    tables: DriverTables,
    covs: pd.DataFrame,
    pools: Any,
    full_kinds: Any,
    drivers: dict,
) -> tuple[Group, Any]:
    errors = rolling_pass(g, opt, tables, covs).table()  # what goes back to the driver
    thin = thin_borrowers(g, drivers)
    _tr.bound_to_pool(g, pools, full_kinds, opt.min_evidence_days, among=~thin)
    _bound_thin(g, drivers, pools, opt.min_evidence_days, thin)
    return g, errors


def updated(
    g: Group,
    sub: pd.DataFrame,
    unit: Any,
    opt: Options,
    tables: DriverTables,
    covs: pd.DataFrame,
    cutoff: pd.Timestamp | None,
) -> Group:
    if sub.empty and cutoff is None:
        return g
    a, t_new, end_utc = append_measurements(g, sub, cutoff)
    if t_new > a:
        kalman_pass(g, opt, tables, covs, a, t_new, unit)
        g.t_obs, g.end_utc = t_new, end_utc
    return g


def predicted(
    g: Group,
    steps: int,
    opt: Options,
    cal: Calibration,
    tables: DriverTables,
    scen: Any,
    covs: pd.DataFrame,
    regime: Any,
    regime_scen: Any,
    drivers: Any = None,
    per_group: Any = None,
) -> tuple[pd.DataFrame, dict]:
    frame, sources = predict_group(
        g, opt, cal, tables, steps, scen, covs, regime, regime_scen, drivers=drivers
    )  # fmt: skip
    return (frame if per_group is None else per_group(frame)), sources
