"""What the forecaster holds between calls, as slotted dataclasses: nothing can be attached at run time.

* :class:`Options`: the tuning every stage reads, frozen, built once per fit from the
  facade's constructor parameters (:class:`surgeplan.forecast.model.ShockForecaster`).
* :class:`History`: the tables seen so far (measurements, indicators, covariates, resources).
* :class:`Group`: resources sharing a cadence and a time zone, as arrays on a local wall-clock
  grid (step ``t`` = day ``t // p``, intra-day block ``(t % p) // r``), with their fitted
  coefficients and shock response shape.
* :class:`Pooling`: what is learned across groups (driver mapping and shape per kind, response pools).
* :class:`Calibration`: quantile and combination tables from the rolling-origin pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Calibration", "DriverSpec", "Group", "History", "Options", "Pooling"]

#: a mapping from indicators to restriction intensity: (stringency range mapped to 0 and 1,
#: whether the stay-at-home level counts), see :func:`surgeplan.forecast.shock.driver`, or a rule
#: learned from the regions hit first (:class:`surgeplan.forecast.driver.Candidate`)
DriverSpec = tuple[tuple[float, float], bool] | Any


@dataclass(slots=True, frozen=True)
class Options:
    """Tuning read by the fitting, calibration and prediction stages (see ``ShockForecaster``)."""

    quantiles: tuple[float, ...]
    lags_days: tuple[int, ...]
    shock_lag: int | str
    default_shock_lag: int
    shock_lag_grid: tuple[int, ...]
    shock_tau_grid: tuple[tuple[float, ...], tuple[float, ...]]
    specs: tuple[DriverSpec, ...]  # index 0 is the default mapping
    search_driver: bool  # choose the mapping per kind among ``specs``
    response_prior: Mapping[str, float] | float
    response_prior_sd: float
    min_evidence_days: float
    calibration_days: int
    calibration_horizon_days: int
    adaptation: Mapping[str, float]
    covariate_smoothing_hours: tuple[float, ...]
    max_blocks: int
    scale_halflife_days: float
    robust: float
    lag_prior_sd: float
    trend_prior_sd: float
    batch_size: int
    anchor_days: int


@dataclass(slots=True)
class History:
    """Everything folded in so far (normalized long tables); ``cutoff`` = the fit's origin, if given."""

    measurements: pd.DataFrame | None  # None: dropped once stored (``stored``)
    indicators: pd.DataFrame
    covariates: pd.DataFrame
    inventory: pd.DataFrame
    cutoff: pd.Timestamp | None
    #: measurements of the updates since the last fit, appended to ``measurements`` when a refit
    #: reads them (:meth:`all_measurements`): an update does not copy the whole history
    appended: list[pd.DataFrame] = field(default_factory=list)
    #: gives ``measurements`` back when a fit dropped them once written elsewhere (a Dask fit:
    #: the workers' exchange dataset), so that the driver does not hold every row for a refit
    stored: Callable[[], pd.DataFrame] | None = None

    def all_measurements(self) -> pd.DataFrame:
        """``measurements`` and every update's rows after them, in order."""
        if self.measurements is None and self.stored is not None:
            self.measurements, self.stored = self.stored(), None
        if self.appended:
            self.measurements = pd.concat([self.measurements, *self.appended], ignore_index=True)
            self.appended = []
        return self.measurements


@dataclass(slots=True)
class Group:
    """Resources sharing a cadence and a time zone, held as arrays on a local wall-clock grid.

    Shapes: ``n`` resources, ``T`` wall steps (whole days of ``p`` steps), ``nb`` intra-day
    blocks of ``r`` steps, ``k`` design columns.
    """

    # layout
    cadence_s: int
    tz: str
    ids: np.ndarray
    kinds: np.ndarray
    regions: np.ndarray
    p: int
    nb: int
    r: int
    w0: np.datetime64  # wall-clock time of step 0 (a day boundary + phase)
    c: np.ndarray  # (n,) shift before the log (load units)
    mu: np.ndarray  # (n,) centring of the log
    t_ref_days: float  # trend origin (days from step 0)
    annual: bool  # a year or more of history: annual harmonics
    lags: tuple[int, ...]  # day lags in the design
    # series
    zraw: np.ndarray  # (n, T) centred log load, NaN = missing
    zfill: np.ndarray  # (n, T) gaps and outliers replaced by model values (lag source)
    t_obs: int  # next wall step to observe
    end_utc: pd.Timestamp  # forecast origin
    # design
    names: list[str] = field(default_factory=list)
    groups: dict[str, np.ndarray] = field(default_factory=dict)  # feature family -> column indices
    cov_names: list[str] = field(default_factory=list)
    cov_mean: np.ndarray | None = None  # (n, C)
    cov_sd: np.ndarray | None = None  # (n, C)
    cov_knots: np.ndarray | None = None  # (n, C, 3) hinge knots of the smoothed covariate
    cov_binary: np.ndarray | None = None  # (C,) covariates with two values: no smoothing, no hinges
    # shock response shape and evidence
    shock_lag: np.ndarray | None = None  # (n,) days (negative: the load moves first)
    shock_tau: np.ndarray | None = None  # (n, 2) response time constants up / down (days)
    spec: np.ndarray | None = None  # (n,) index of the driver mapping (Options.specs)
    shape_hit: np.ndarray | None = None  # (n,) shape searched on the resource's own history
    evidence: np.ndarray | None = None  # (n,) days of shock seen (u >= 0.5)
    evidence_full: np.ndarray | None = None  # (n,) days at full restriction (u >= FULL_INTENSITY)
    evidence_daily: np.ndarray | None = None  # (n, D) share of each history day seen with u >= 0.5
    evidence_full_daily: np.ndarray | None = None  # (n, D) same at full restriction
    shock_source: np.ndarray | None = None  # (n,) 'fitted' | 'pooled' | 'prior'
    # coefficients
    beta: np.ndarray | None = None  # (n, nb, k)
    cov: np.ndarray | None = None  # (n, nb, k, k)
    sigma2: np.ndarray | None = None  # (n, nb)
    xtx: np.ndarray | None = None  # (n, nb, k, k) weighted normal equations of the batch fit
    xty: np.ndarray | None = None  # (n, nb, k)
    prior_mean: np.ndarray | None = None  # (n, nb, k)
    prior_sd: np.ndarray | None = None  # (n, nb, k)
    v: np.ndarray | None = None  # (n,) online mean square of standardized innovations
    # how far a response may be carried (surgeplan.forecast.paths.carried_intensity)
    x_seen: np.ndarray | None = None  # (n,) highest response intensity on a measured day
    extrapolate: np.ndarray | None = None  # (n,) the response at full intensity is known
    # the last hours' error carried forward (surgeplan.forecast.persistence)
    resid_tail: np.ndarray | None = None  # (n,) mean residual after the Kalman step (log), last hours
    resid_kind: np.ndarray | None = None  # (n,) index of the resource's kind in ``resid_beta``
    resid_beta: np.ndarray | None = None  # (kinds, lead bins) coefficient of ``resid_tail``

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def k(self) -> int:
        return len(self.names)

    @property
    def step(self) -> np.timedelta64:
        return np.timedelta64(self.cadence_s, "s").astype("timedelta64[ns]")

    def wall_days(self, a: int, b: int) -> np.ndarray:
        """Local calendar days (datetime64[D]) of wall steps a..b-1 (by day index)."""
        return self.w0.astype("datetime64[D]") + np.arange(a // self.p, (b - 1) // self.p + 1)

    def utc_to_step(self, utc: pd.DatetimeIndex) -> np.ndarray:
        """Wall step of each UTC time (floor)."""
        return utc_to_step(utc, self.tz, self.w0, self.step)

    def block_of(self, steps: np.ndarray) -> np.ndarray:
        """Intra-day block of each wall step."""
        return (np.asarray(steps) % self.p) // self.r


def utc_to_step(utc: pd.DatetimeIndex, tz: str, w0: np.datetime64, step: np.timedelta64) -> np.ndarray:
    wall = utc.tz_convert(tz).tz_localize(None).to_numpy()
    return np.floor((wall - w0) / step).astype(np.int64)


@dataclass(slots=True)
class Pooling:
    """Learned across groups: per kind the driver mapping and pooled shape, and the response pools."""

    kind_spec: dict[str, int] = field(default_factory=dict)
    kind_shape: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    pools: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    full_kinds: set[str] = field(default_factory=set)
    drivers: dict[str, Any] = field(default_factory=dict)  # kind -> driver.DriverChoice
    learned_pools: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


@dataclass(slots=True)
class Calibration:
    """Quantile and combination tables from the rolling-origin calibration.

    ``ztable[(kind, bucket)]``: calibrated z-quantiles of the standardized errors per lead bucket;
    ``wtable[(kind, bucket)]``: weight of the model against the seasonal naive; ``ms1[kind]``:
    mean square of the one-day-ahead standardized errors (the online scale's unit);
    ``report``: achieved coverage (``ShockForecaster.calibration_``).
    """

    ztable: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    wtable: dict[tuple[str, int], float] = field(default_factory=dict)
    ms1: dict[str, float] = field(default_factory=dict)
    report: pd.DataFrame = field(default_factory=pd.DataFrame)

    def unit(self, kinds: np.ndarray) -> np.ndarray:
        """(n,) the online scale's unit per resource (1 where the kind was not calibrated)."""
        return np.array([self.ms1.get(str(kd), 1.0) for kd in kinds])


def chunks(n: int, size: int) -> Any:
    """Row indices in batches of ``size`` (memory bound, not a loop per resource)."""
    for a in range(0, n, max(1, size)):
        yield np.arange(a, min(n, a + size))
