"""``ShockForecaster``: baseline x shock response, honest quantiles, any cadence, many resources.

Model (one per resource and intra-day block, all solved at once)
-----------------------------------------------------------------
For resource ``i`` at local wall-clock step ``t`` (day ``d``, block ``b`` of the day)::

    z_it = log(load_it + c_i) - mu_i
         = level + dow(d) + holiday(d) + trend(t) [+ annual(t)]          calendar
           + sum_c f_c(covariate_c, smoothed_c)                           weather, events
           + phi_1 z_{i,t-1 day} + phi_7 z_{i,t-7 days}                   same step yesterday / last week
           + beta_u x_r(d) + beta_w x_r(d) workday_r(d)                    shock response
           + eps,   eps ~ N(0, sigma2_ib)

    x_r = F_{tau_up, tau_down}(u_r(. - lag))                              response shape

so ``load = baseline x (1 + response)``: either sign, saturating (``u`` in [0, 1]), decaying when
restrictions lift, with its own daily profile and weekday/weekend contrast. ``docs/FORECAST.md``
describes the model in one page; each stage lives in its own module:

============================  ============================================================
:mod:`.panel`                 long tables -> arrays on a local wall-clock grid (started log)
:mod:`.design`                design matrices, priors, block layout
:mod:`.intensity`             restriction intensity ``u`` per resource and day
:mod:`.shape`                 driver mapping per kind, response shape per region and kind
:mod:`.fitting`               robust Bayesian batch fit, stable day-lag recursion
:mod:`.transfer`              response pooled per kind, given to regions not hit yet
:mod:`.kalman`                online updates of the coefficients (``update``)
:mod:`.calibration`           rolling-origin errors -> conformal quantiles, combination
:mod:`.future`                future indicators when none are given (held, projected, anticipated)
:mod:`.paths`, :mod:`.predict`  mean paths, quantiles, regime-change mixture
============================  ============================================================

References
----------
.. [1] D. Obst, J. de Vilmarest, Y. Goude, "Adaptive Methods for Short-Term Electricity Load
   Forecasting During COVID-19 Lockdown in France", IEEE Trans. Power Systems 36(5), 2021.
.. [2] T. Hale et al., "A global panel database of pandemic policies (Oxford COVID-19 Government
   Response Tracker)", Nature Human Behaviour 5, 2021.
.. [3] J. M. Bates, C. W. J. Granger, "The combination of forecasts", Operational Research
   Quarterly 20(4), 451-468, 1969.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from surgeplan._parallel import Partitions
from surgeplan.errors import SurgeplanError
from surgeplan.forecast import conformal as _cf
from surgeplan.forecast import features as _ft
from surgeplan.forecast import shock as _sh
from surgeplan.forecast import tasks as _tk
from surgeplan.forecast import transfer as _tr
from surgeplan.forecast.calibration import build_tables
from surgeplan.forecast.future import HeldFuture, IndicatorSource, anticipate, held_future
from surgeplan.forecast.intensity import DriverTables, scenario_tables, used_specs
from surgeplan.forecast.kalman import DEFAULT_ADAPTATION
from surgeplan.forecast.learned import (
    assign_specs,
    daily_summary,
    driver_table,
    drivers_from_daily,
    learned_pools,
    stringency_ranges,
    with_learned_specs,
)
from surgeplan.forecast.panel import partitions, resource_meta, split_rows, write_partition
from surgeplan.forecast.response import response_table
from surgeplan.forecast.shape import choose_driver, kind_shapes
from surgeplan.forecast.state import Calibration, Group, History, Options, Pooling

__all__ = ["ShockForecaster"]

#: stringency ranges searched for the mapping to restriction intensity (``driver_grid``): from a
#: mild 20-50 to a strict 60-100, wide and narrow
DEFAULT_DRIVER_GRID = (
    (20.0, 50.0), (20.0, 70.0), (30.0, 60.0), (30.0, 80.0), (40.0, 60.0),
    (40.0, 90.0), (50.0, 70.0), (50.0, 90.0), (60.0, 80.0), (60.0, 100.0),
)  # fmt: skip
#: longest horizon (days): the calendar and the calibration say nothing beyond a year
_MAX_HORIZON_DAYS = 366


def _utc(ts: Any) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


class ShockForecaster:
    """Forecast every resource's load through a demand shock, with calibrated quantiles.

    Parameters
    ----------
    quantiles : sequence of float
        Probabilities of the quantile columns (named by :func:`quantile_column`: ``p50``...).
    lags_days : sequence of int
        Autoregressive lags, in days, at the same local step (default yesterday and last week).
    shock_lag : int or 'auto'
        Days between the indicators and the load response. ``'auto'`` chooses, per (region,
        kind) with at least ``min_evidence_days`` of shock, the lag in ``shock_lag_grid`` and the
        rise / decay time constants in ``shock_tau_grid`` (:mod:`.shape`); other resources take
        their kind's median shape from regions hit earlier, else ``default_shock_lag`` with an
        immediate response. An int fixes the lag (immediate response).
    default_shock_lag : int
        Lag used when it cannot be estimated (days).
    shock_lag_grid : sequence of int
        Candidate lags for ``'auto'`` (days; negative = the load moves before the indicator).
    shock_tau_grid : (sequence of float, sequence of float)
        Candidate time constants (days) of the response's rise and decay
        (:func:`surgeplan.forecast.shock.response_filter`).
    stringency_range : (float, float)
        Stringency index mapped to driver 0 and 1 (:func:`surgeplan.forecast.shock.driver`): the
        default mapping and the first candidate of the search.
    driver_grid : sequence of (float, float), or None
        Stringency ranges searched per kind (with and without the stay-at-home level) over the
        regions with shock history. ``None``: ``stringency_range`` with the stay-at-home level.
    response_prior : dict or float
        Prior mean of the log response at ``u = 1`` per kind, where no earlier-hit region of the
        same kind exists (default 0: no change).
    response_prior_sd : float
        Prior sd of the shock coefficients (log units).
    min_evidence_days : float
        Days of shock (``u >= 0.5``) a resource needs before its own fit feeds the kind pool.
    calibration_days : int
        Days at the end of the history used for rolling-origin calibration (0 = Gaussian).
    calibration_horizon_days : int
        Longest lead calibrated directly (days); beyond it the spread grows like sqrt(lead).
    adaptation : dict
        Kalman state-noise variances per observation, relative to the noise variance, for the
        feature families ``level, dow, shock, lag, covariate, other`` (0 = static).
    covariate_smoothing_hours : sequence of float
        Time constants of the exponentially smoothed covariate features (hours).
    max_blocks : int
        Most intra-day regression blocks (48 = half-hourly coefficients).
    scale_halflife_days : float
        Half-life of the online noise-scale estimate that widens/narrows the intervals (days).
    robust : float
        Huber threshold (in noise sd) for fitting and for clipping Kalman innovations.
    lag_prior_sd : float
        Prior sd of the day-lag coefficients (keeps the recursion stable).
    trend_prior_sd : float
        Prior sd of the linear trend (log load per year).
    batch_size : int
        Resources processed together (memory bound, not a loop per resource).
    anchor_days : int
        Beyond this lead (days) the forecast is anchored on the forecast ``anchor_days`` earlier
        (:mod:`.paths`). 0 = pure recursion.
    regime_change : bool
        With held indicators, widen the quantiles of calm regions for the chance that
        restrictions start within the lead (:mod:`.future`, :mod:`.predict`).
    project_restrictions : bool
        With held indicators, a region that crossed its lockdown threshold within
        ``projection_window_days`` follows the median restriction path of the regions that
        crossed before it (source ``'projected'``).
    projection_window_days : int
        Days after a region's crossing during which its indicators are projected.
    executor : concurrent.futures.Executor, optional
        Where the groups of resources are fitted, calibrated, updated and predicted
        (:func:`surgeplan.scale.compute`: Dask workers); None = here. The pooling across regions
        stays here, so the results do not depend on it. On a Dask client the groups are built on
        the workers from a Parquet dataset of the measurements and stay there between calls; only
        small per-group summaries come back (``docs/SCALE.md``).
    exchange_dir : str, optional
        Directory the workers can read (a shared file system on a cluster) where ``fit`` writes
        the measurements as a Parquet dataset partitioned by group, with a Dask executor. None:
        a temporary directory on this machine (enough for a ``LocalCluster``).
    max_partition : int, optional
        Most resources in one group (partition); a (region, kind) is never split. None = one group
        per cadence and time zone. Smaller groups: less memory per worker and better balance. A
        model parameter: quantities pooled over groups are summed group by group, so another split
        may move them in the last bits (and a near-tie choice with them).
    learn_driver : bool
        With ``shock_lag='auto'``, choose per kind which indicator drives the load, by which rule
        (any indicator of the table: thresholds, flags, levels), with which delay, rise, decay and
        size, by how well it predicted the regions hit earlier, left out one at a time
        (:mod:`surgeplan.forecast.driver`; report in ``driver_``). ``False``: the stringency /
        stay-at-home mappings only.

    Attributes (after fit)
    ----------------------
    indicator_source_ : dict
        Region -> which future indicators the last :meth:`predict` used: ``'observed'``,
        ``'held_last'``, ``'projected'``, ``'scenario'``, ``'anticipated'`` or ``'none'``
        (:class:`surgeplan.forecast.future.IndicatorSource`: ``.reason`` says why a fallback
        was taken).
    response_ : DataFrame
        Per resource: ``kind, region, lag_days, tau_up_days, tau_down_days, response,
        response_weekend, evidence_days, source, stringency_zero, stringency_full,
        stay_home_counts, driver_rule`` (relative change of the day's load at full restriction,
        long-run; ``driver_rule`` the learned rule the resource follows, if any).
    driver_ : DataFrame
        Per kind, the learned driver and its evidence: ``indicator, rule, delay_days, ramp_days,
        tau_down_days, size_weekday, size_weekend, sign, regions_used, n_regions,
        out_of_region_error, no_driver_error, evidence, decay_seen, size_sd_weekday,
        size_sd_weekend, exposure_days, levelled, onset_sd_days`` (``'loro'``: chosen out of
        region; ``'thin'``: one region hit, intervals widened; ``'none'``: no response seen; the
        last five: the spread of the size (log) and onset (days) a region not hit yet may show,
        the most days any region was seen under the driver, whether it was seen level).
    calibration_ : DataFrame
        Achieved coverage on the calibration set (see :func:`conformal.conformal_z`).
    combination_ : DataFrame
        Weight of the model against the seasonal naive per kind and lead bucket.
    cadence_ : Series
        Inferred cadence per resource (seconds).

    Notes
    -----
    Nixtla mapping: ``unique_id = resource_id, ds = ts, y = load``; both spellings are accepted.
    """

    def __init__(
        self,
        quantiles: Sequence[float] = (0.5, 0.9, 0.99),
        *,
        lags_days: Sequence[int] = (1, 7),
        shock_lag: int | str = "auto",
        default_shock_lag: int = 0,
        shock_lag_grid: Sequence[int] = (0, 1, 2, 3, 5, 7, 10, 14),
        shock_tau_grid: tuple[Sequence[float], Sequence[float]] = ((2.0, 4.0, 7.0, 14.0), (7.0, 21.0, 60.0)),
        stringency_range: tuple[float, float] = (40.0, 80.0),
        driver_grid: Sequence[tuple[float, float]] | None = DEFAULT_DRIVER_GRID,
        response_prior: Mapping[str, float] | float = 0.0,
        response_prior_sd: float = 0.3,
        min_evidence_days: float = 7.0,
        calibration_days: int = 28,
        calibration_horizon_days: int = 7,
        adaptation: Mapping[str, float] | None = None,
        covariate_smoothing_hours: Sequence[float] = (12.0, 48.0),
        max_blocks: int = 48,
        scale_halflife_days: float = 7.0,
        robust: float = 3.0,
        lag_prior_sd: float = 0.3,
        trend_prior_sd: float = 0.1,
        batch_size: int = 256,
        anchor_days: int = 7,
        regime_change: bool = True,
        project_restrictions: bool = True,
        projection_window_days: int = 28,
        executor: Any = None,
        max_partition: int | None = None,
        learn_driver: bool = True,
        exchange_dir: str | None = None,
    ) -> None:
        self.quantiles = tuple(float(q) for q in quantiles)
        self.lags_days = tuple(int(x) for x in lags_days)
        self.shock_lag = shock_lag
        self.default_shock_lag = int(default_shock_lag)
        self.shock_lag_grid = tuple(int(x) for x in shock_lag_grid)
        self.shock_tau_grid = (tuple(map(float, shock_tau_grid[0])), tuple(map(float, shock_tau_grid[1])))
        self.stringency_range = tuple(stringency_range)
        self.driver_grid = None if driver_grid is None else tuple(tuple(map(float, r)) for r in driver_grid)
        self.response_prior = response_prior
        self.response_prior_sd = float(response_prior_sd)
        self.min_evidence_days = float(min_evidence_days)
        self.calibration_days = int(calibration_days)
        self.calibration_horizon_days = int(calibration_horizon_days)
        self.adaptation = adaptation
        self.covariate_smoothing_hours = tuple(float(h) for h in covariate_smoothing_hours)
        self.max_blocks = int(max_blocks)
        self.scale_halflife_days = float(scale_halflife_days)
        self.robust = float(robust)
        self.lag_prior_sd = float(lag_prior_sd)
        self.trend_prior_sd = float(trend_prior_sd)
        self.batch_size = int(batch_size)
        self.anchor_days = int(anchor_days)
        self.regime_change = bool(regime_change)
        self.project_restrictions = bool(project_restrictions)
        self.projection_window_days = int(projection_window_days)
        self.executor = executor
        self.max_partition = max_partition
        self.learn_driver = bool(learn_driver)
        self.exchange_dir = exchange_dir
        self._options()  # bad parameters fail here, not at fit
        self._groups: list[Group] = []  # the groups, or their summaries when they stay on workers
        self._handles: list[Any] = []  # the groups where they are (Partitions)
        self._sizes: list[int] = []  # resources per group: the order tasks start in on Dask
        self.indicator_source_: dict[str, str] = {}

    @property
    def driver_specs_(self) -> list[tuple[tuple[float, float], bool]]:
        """Candidate mappings from indicators to restriction intensity; index 0 is the default."""
        return list(self._options().specs)

    def _options(self) -> Options:
        """The parameters, checked, as the frozen options every stage reads."""
        for q in self.quantiles:
            _ft.quantile_column(q)
        ranges = [self.stringency_range] + [r for r in (self.driver_grid or ()) if r != self.stringency_range]
        for lo, hi in ranges:
            if not hi > lo:
                raise SurgeplanError(f"stringency ranges must be increasing, got {(lo, hi)!r}")
        if self.projection_window_days < 0:
            raise SurgeplanError(
                f"projection_window_days must be >= 0 days, got {self.projection_window_days!r}"
            )
        return Options(
            quantiles=self.quantiles,
            lags_days=self.lags_days,
            shock_lag=self.shock_lag,
            default_shock_lag=self.default_shock_lag,
            shock_lag_grid=self.shock_lag_grid,
            shock_tau_grid=self.shock_tau_grid,
            specs=tuple((tuple(r), c6) for c6 in (True, False) for r in ranges),
            search_driver=bool(self.driver_grid),
            response_prior=self.response_prior,
            response_prior_sd=self.response_prior_sd,
            min_evidence_days=self.min_evidence_days,
            calibration_days=self.calibration_days,
            calibration_horizon_days=self.calibration_horizon_days,
            adaptation={**DEFAULT_ADAPTATION, **dict(self.adaptation or {})},
            covariate_smoothing_hours=self.covariate_smoothing_hours,
            max_blocks=self.max_blocks,
            scale_halflife_days=self.scale_halflife_days,
            robust=self.robust,
            lag_prior_sd=self.lag_prior_sd,
            trend_prior_sd=self.trend_prior_sd,
            batch_size=self.batch_size,
            anchor_days=self.anchor_days,
        )

    # ------------------------------------------------------------------ public API
    def fit(
        self,
        measurements: pd.DataFrame,
        inventory: pd.DataFrame | None = None,
        indicators: pd.DataFrame | None = None,
        covariates: pd.DataFrame | None = None,
        cutoff: Any = None,
    ) -> ShockForecaster:
        """Fit every resource in ``measurements`` (long table ``resource_id, ts, load``).

        Parameters
        ----------
        measurements : DataFrame
            ``resource_id, ts, load`` (or ``unique_id, ds, y``); load in the kind's unit.
        inventory : DataFrame, optional
            Gives ``kind`` and ``region`` per resource; without it every resource is
            ``generic`` with no region (no holidays, UTC day, no indicators).
        indicators : DataFrame, optional
            ``region, date, name, value`` (uses ``stringency_index`` and ``stay_home_required``).
        covariates : DataFrame, optional
            ``resource_id`` or ``region``, ``ts, name, value``, known for past and future.
        cutoff : timestamp, optional
            Use only measurements before it; the forecast origin is then ``cutoff``.
        """
        meas = _ft.normalize_measurements(measurements)
        cutoff = None if cutoff is None else _utc(cutoff)
        if cutoff is not None:
            meas = meas[meas["ts"] < cutoff]
        if meas.empty:
            raise SurgeplanError("measurements: no rows to fit (before cutoff)")
        self._history = History(
            measurements=meas,
            indicators=_ft.normalize_indicators(indicators),
            covariates=_ft.normalize_covariates(covariates),
            inventory=resource_meta(meas, inventory),
            cutoff=cutoff,
        )
        self._fit_all()
        return self

    def refit(self) -> ShockForecaster:
        """Full refit on everything seen so far (``fit`` data plus all ``update`` data)."""
        self._require_fit()
        self._history.cutoff = None  # the origin moves to the end of the data folded in
        self._fit_all()
        return self

    def update(
        self,
        new_measurements: pd.DataFrame,
        indicators: pd.DataFrame | None = None,
        covariates: pd.DataFrame | None = None,
        cutoff: Any = None,
    ) -> ShockForecaster:
        """Fold new measurements in without refitting (Kalman step on the coefficients).

        ``cutoff`` (optional timestamp) moves the forecast origin to it even when the last steps
        before it have no data (they become gaps); rows at or after it are ignored. Rows before a
        resource's next expected step are ignored (no rewriting of the past); resources unknown
        to the fit are kept for :meth:`refit` but not forecast until then. New indicators and
        covariates are appended to the stored ones (same keys: last wins).

        Cost: one batched Kalman step per new time step (all resources and blocks at once):
        O(new steps x resources x k^2), independent of the history length.
        """
        self._require_fit()
        h, opt = self._history, self._opt
        new = _ft.normalize_measurements(new_measurements, what="new_measurements")
        if indicators is not None:
            ind = pd.concat([h.indicators, _ft.normalize_indicators(indicators)], ignore_index=True)
            h.indicators = ind.drop_duplicates(["region", "date", "name"], keep="last")
            self._tables = DriverTables.build(h.indicators, opt.specs, used_specs(self._groups))
        if covariates is not None:
            cov = pd.concat([h.covariates, _ft.normalize_covariates(covariates)], ignore_index=True)
            h.covariates = cov.drop_duplicates(["key_type", "key", "ts", "name"], keep="last")
        h.appended.append(new)
        cutoff = None if cutoff is None else _utc(cutoff)
        if cutoff is not None:
            new = new[new["ts"] < cutoff]
        subs = split_rows(new, [pd.DataFrame({"resource_id": g.ids}) for g in self._groups])
        units = [self._calibration.unit(g.kinds) for g in self._groups]
        parts = self._parts
        task = partial(_tk.updated, opt=opt, tables=self._tables, covs=h.covariates, cutoff=cutoff)
        handles = parts.map(task, self._handles, subs, units, sizes=self._sizes)
        pools, full = _tr.response_pools(
            self._view(handles), opt.min_evidence_days, self._pooling.learned_pools
        )
        self._pooling.pools, self._pooling.full_kinds = pools, full
        task = partial(_tk.repooled, pools=pools, min_evidence=opt.min_evidence_days)
        self._handles = parts.map(task, handles, local=True)
        self._groups = self._view(self._handles)
        if indicators is not None or self._held.asof != self._asof_day():
            self._held = self._held_future()
        return self

    def predict(
        self,
        horizon: int | str | pd.Timedelta,
        indicators_future: pd.DataFrame | Mapping[str, Mapping[str, Any]] | str | None = None,
        covariates: pd.DataFrame | None = None,
        per_group: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    ) -> pd.DataFrame:
        """Forecast ``horizon`` ahead of each resource's last folded-in step.

        Reads the fitted state only; its one write is :attr:`indicator_source_`, the report of
        this call.

        Parameters
        ----------
        horizon : int or str or Timedelta
            Steps at each resource's own cadence (int), or a duration (``'14D'``).
        indicators_future : DataFrame or dict or 'anticipate', optional
            Scenario for the future indicators: a long table ``region, date, name, value`` or
            ``{region: {"lockdown_start": date, "stringency": 80, "lockdown_end": date}}``; or
            ``'anticipate'``: calm regions lock down on the day their case incidence is
            projected to reach the level at which earlier regions did (source ``'anticipated'``).
            Without it the last observed indicators are held (``'held_last'``), except in regions
            that crossed recently (``project_restrictions``; ``'projected'``).
        covariates : DataFrame, optional
            Future (or any) covariate values, overriding stored ones.
        per_group : callable, optional
            A per-resource reduction of the forecast (its busy hours...), applied to each group's
            forecast where the group is (on its worker with a Dask executor): only its result
            comes back. The return value is then its results concatenated in the groups' order.

        Returns
        -------
        DataFrame ``resource_id, ts, mean, p50, p90, p99`` (one column per quantile), ``ts`` UTC.
        ``mean`` is the predictive distribution's mean winsorized at its 10% / 90% quantiles.
        ``attrs['indicator_source']``: as :attr:`indicator_source_`.
        """
        self._require_fit()
        h, opt = self._history, self._opt
        regime, notes, how = None, {}, {}
        if isinstance(indicators_future, str):
            if indicators_future != "anticipate":
                raise SurgeplanError(
                    f"indicators_future: unknown projection {indicators_future!r} (use 'anticipate')"
                )
            indicators_future, how, notes = anticipate(
                h.indicators, self._tables.observed(0), self._asof_day()
            )
        if indicators_future is None:
            held = self._held
            regime, scen_t, regime_t = held.regime, held.scen_tables, held.regime_tables
            how, notes = held.projected, held.notes
        else:
            scen_t = scenario_tables(
                _sh.scenario_indicators(indicators_future), opt.specs, used_specs(self._groups), h.indicators
            )
            regime_t = None
        covs = h.covariates
        if covariates is not None:
            covs = pd.concat([covs, _ft.normalize_covariates(covariates)], ignore_index=True)
            covs = covs.drop_duplicates(["key_type", "key", "ts", "name"], keep="last")
        frames, sources = [], {}
        steps = [self._horizon_steps(horizon, g.cadence_s) for g in self._groups]
        task = partial(
            _tk.predicted,
            opt=opt,
            cal=self._calibration,
            tables=self._tables,
            scen=scen_t,
            covs=covs,
            regime=regime,
            regime_scen=regime_t,
            drivers=self._pooling.drivers,
            per_group=per_group,
        )
        for f, src in self._parts.run(task, self._handles, steps, sizes=self._sizes):
            frames.append(f)
            sources.update(src)
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        for region, value in how.items():
            if sources.get(region) == "scenario":
                sources[region] = value
        for region, reason in notes.items():
            if region in sources:
                sources[region] = IndicatorSource(sources[region], reason)
        self.indicator_source_ = sources
        out.attrs["indicator_source"] = dict(sources)
        return out

    @property
    def response_(self) -> pd.DataFrame:
        """Fitted shock response per resource (see the class docstring)."""
        self._require_fit()
        if not self._parts.resident:
            return response_table(self._groups, self._opt.specs)
        task = partial(_tk.responses, specs=self._opt.specs)
        return pd.concat(self._parts.run(task, self._handles), ignore_index=True)

    @property
    def driver_(self) -> pd.DataFrame:
        """The driver learned per kind, with its evidence (see the class docstring)."""
        self._require_fit()
        return driver_table(self._pooling.drivers)

    @property
    def combination_(self) -> pd.DataFrame:
        """Weight of the model (vs the seasonal naive) per kind and lead bucket, from calibration."""
        self._require_fit()
        rows = [
            {"kind": k, "bucket": b, "lead_days_max": float(_cf.BUCKET_EDGES_DAYS[b + 1]), "weight_model": w}
            for (k, b), w in sorted(self._calibration.wtable.items())
        ]
        return pd.DataFrame(rows, columns=["kind", "bucket", "lead_days_max", "weight_model"])

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _horizon_steps(horizon: Any, cadence_s: int) -> int:
        if isinstance(horizon, (int, np.integer)):
            steps = int(horizon)
        else:
            steps = int(np.ceil(pd.Timedelta(horizon).total_seconds() / cadence_s))
        if steps <= 0:
            raise SurgeplanError(f"horizon must be positive, got {horizon!r}")
        if steps * cadence_s > _MAX_HORIZON_DAYS * 86400:
            raise SurgeplanError(f"horizon {horizon!r} is longer than a year")
        return steps

    def _require_fit(self) -> None:
        if not self._groups:
            raise SurgeplanError("ShockForecaster is not fitted: call fit() first")

    def _asof_day(self) -> pd.Timestamp:
        """First day whose indicators the forecast cannot know: the day after the origin's day."""
        end = max(g.end_utc for g in self._groups)
        return end.tz_convert("UTC").tz_localize(None).normalize() + pd.Timedelta(days=1)

    def _held_future(self) -> HeldFuture:
        return held_future(
            self._history.indicators,
            self._tables.observed(0),
            self._asof_day(),
            regime_change=self.regime_change,
            project_restrictions=self.project_restrictions,
            window_days=self.projection_window_days,
            specs=self._opt.specs,
            used=used_specs(self._groups),
        )

    def _partition_meta(self) -> list[pd.DataFrame]:
        """The resources (``resource_id, kind, region, cadence_s, tz``) of each group, in order."""
        h = self._history
        meas, meta = h.all_measurements(), h.inventory
        ids_all = pd.unique(meas["resource_id"])
        if len(meta) < len(ids_all):  # resources first seen in update(): generic, no region
            extra = ids_all[~np.isin(ids_all, meta["resource_id"])]
            meta = pd.concat([meta, pd.DataFrame({"resource_id": extra, "kind": "generic", "region": ""})])
            h.inventory = meta = meta.reset_index(drop=True)
        self.cadence_ = _ft.infer_cadence(meas)
        meta = meta.assign(
            cadence_s=self.cadence_.reindex(meta["resource_id"]).to_numpy(),
            tz=[_ft.region_timezone(r or None) for r in meta["region"]],
        )
        return partitions(meta, self.max_partition)

    def _built(self, metas: list[pd.DataFrame], opt: Options) -> list[Any]:
        """Each group built where it will stay, from its rows. On Dask the driver writes each
        group's Parquet file (largest first) just before it submits the group's build task, so the
        workers build while the driver writes; the task reads the file (``exchange_dir``)."""
        h, parts = self._history, self._parts
        task = partial(_tk.built, cutoff=h.cutoff, opt=opt, covs=h.covariates)
        rows = split_rows(h.all_measurements(), metas)
        sizes = [len(m) for m in metas]  # resources (their histories are about as long)
        if not parts.resident:
            return parts.map(task, metas, rows, local=True)
        try:
            self._exchange = tempfile.TemporaryDirectory(prefix="surgeplan-fit-", dir=self.exchange_dir)
        except OSError as exc:
            raise SurgeplanError(
                f"exchange_dir {self.exchange_dir!r}: cannot create the workers' Parquet folder there ({exc})"
            ) from None
        handles: list[Any] = [None] * len(metas)
        for i in sorted(range(len(metas)), key=lambda i: -sizes[i]):
            src = write_partition(rows[i], metas[i], self._exchange.name, i)
            rows[i] = None  # written: the driver keeps one copy of the rows, not two
            handles[i] = parts.map(task, [metas[i]], [src], sizes=[sizes[i]])[0]
        return handles

    def _view(self, handles: list[Any]) -> list[Group]:
        """The groups as the global steps read them: the groups themselves here, or their
        summaries (:func:`surgeplan.forecast.tasks.summary`) from the workers."""
        return self._parts.run(_tk.summary, handles) if self._parts.resident else list(handles)

    def _learn_drivers(self, groups: list[Any], opt: Options) -> dict:
        h = self._history
        if not (self.learn_driver and opt.shock_lag == "auto") or h.indicators is None or h.indicators.empty:
            return {}
        daily = self._parts.run(daily_summary, groups, local=True)
        return drivers_from_daily(daily, h.indicators, stringency_ranges(opt))

    def _choose_shapes(self, groups: list[Any], opt: Options, tables: DriverTables, fixed: set[str]) -> tuple:
        """:func:`surgeplan.forecast.shape.choose_shapes` over the groups where they are: each
        search stays with its group; the driver sums the scores it gets back in the groups' order."""
        parts, covs = self._parts, self._history.covariates
        task = partial(_tk.search_started, opt=opt, tables=tables, covs=covs)
        searching = parts.map(task, groups, local=True, sizes=self._sizes)
        kinds = parts.run(_tk.search_kinds, searching, local=True)
        live = [sr for sr, kd in zip(searching, kinds, strict=True) if kd is not None]
        shocked = [len(kd) for kd in kinds if kd is not None]  # the search's cost

        def scores(kd: list[str], cands: list[np.ndarray]) -> list:
            task = partial(_tk.search_scores, kinds=kd, cands=cands)
            return parts.run(task, live, local=True, sizes=shocked)

        kind_spec = choose_driver([kd for kd in kinds if kd is not None], opt, scores, fixed)
        task = partial(_tk.search_finished, kind_spec=kind_spec, tables=tables)
        groups = parts.map(task, searching, local=True, sizes=self._sizes)
        return groups, kind_spec, kind_shapes(self._view(groups))

    def _fit_all(self) -> None:
        opt = self._opt = self._options()
        h = self._history
        parts = self._parts = Partitions(self.executor)
        metas = self._partition_meta()
        self._sizes = [len(m) for m in metas]  # resources: a group's relative cost at every stage
        groups = self._built(metas, opt)
        drivers = self._learn_drivers(groups, opt)
        opt = self._opt = with_learned_specs(opt, drivers)
        fixed = assign_specs([], opt, drivers)
        groups = parts.map(partial(_tk.specs_assigned, opt=opt, drivers=drivers), groups, local=True)
        search = opt.search_driver and opt.shock_lag == "auto"
        first = range(len(opt.specs)) if search else used_specs(self._view(groups))
        tables = DriverTables.build(h.indicators, opt.specs, first)
        groups, kind_spec, shapes = self._choose_shapes(groups, opt, tables, fixed)
        task = partial(_tk.shapes_given, shapes=shapes, drivers=drivers)
        groups = parts.map(task, groups, local=True)
        pooling = Pooling(kind_spec=kind_spec, kind_shape=shapes, drivers=drivers)
        pooling.learned_pools = learned_pools(drivers)
        tables = DriverTables.build(h.indicators, opt.specs, used_specs(self._view(groups)))
        task = partial(_tk.fitted, opt=opt, tables=tables, covs=h.covariates)
        groups = parts.map(task, groups, sizes=self._sizes)
        pooling.pools, pooling.full_kinds = _tr.response_pools(
            self._view(groups), opt.min_evidence_days, pooling.learned_pools
        )
        task = partial(_tk.pooled, pools=pooling.pools, min_evidence=opt.min_evidence_days, drivers=drivers)
        groups = parts.map(task, groups, local=True)
        task = partial(
            _tk.calibrated,
            opt=opt,
            tables=tables,
            covs=h.covariates,
            pools=pooling.pools,
            full_kinds=pooling.full_kinds,
        )
        groups, errors = parts.unzip(parts.map(task, groups, sizes=self._sizes), 2)
        errors = parts.run(_tk.same, errors) if parts.resident else errors
        self._handles, self._groups = groups, self._view(groups)
        self._calibration: Calibration = build_tables(self._groups, errors, opt.quantiles)
        self.calibration_ = self._calibration.report
        self._tables, self._pooling = tables, pooling
        self._held = self._held_future()
