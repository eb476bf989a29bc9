"""``ShockForecaster``: baseline x shock response, honest quantiles, any cadence, many resources.

Per resource and intra-day block, the centred log load is a calendar baseline, covariates, day
lags and a shock response ``beta x_r(d)``, with ``x_r`` the shaped restriction intensity of the
resource's region: ``load = baseline x (1 + response)``, the response of either sign, saturating,
decaying when restrictions lift. ``docs/FORECAST.md`` gives the model in one page and the job of
each module of ``surgeplan.forecast``.

This module is the facade: the parameters, their checks, and the calls. The fit and the fold-in
of new measurements are :mod:`.fit_job`, the per-group work :mod:`.tasks`, the future indicators
:mod:`.future`, a group's forecast :mod:`.predict`.

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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.forecast import conformal as _cf
from surgeplan.forecast import features as _ft
from surgeplan.forecast import fit_job as _fj
from surgeplan.forecast import tasks as _tk
from surgeplan.forecast.future import given_future
from surgeplan.forecast.intensity import used_specs
from surgeplan.forecast.kalman import DEFAULT_ADAPTATION
from surgeplan.forecast.learned import driver_table
from surgeplan.forecast.panel import resource_meta
from surgeplan.forecast.response import response_table
from surgeplan.forecast.state import History, Options

__all__ = ["ShockForecaster"]

#: stringency ranges searched for the mapping to restriction intensity (``driver_grid``): from a
#: mild 20-50 to a strict 60-100, wide and narrow
DEFAULT_DRIVER_GRID = (
    (20.0, 50.0), (20.0, 70.0), (30.0, 60.0), (30.0, 80.0), (40.0, 60.0),
    (40.0, 90.0), (50.0, 70.0), (50.0, 90.0), (60.0, 80.0), (60.0, 100.0),
)  # fmt: skip
#: longest horizon (days): the calendar and the calibration say nothing beyond a year
_MAX_HORIZON_DAYS = 366
#: the options computed from the parameters; every other option is the parameter of its name
_DERIVED_OPTIONS = ("specs", "search_driver", "adaptation")


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
        Days between the indicators and the load response. ``'auto'``: per (region, kind) with
        ``min_evidence_days`` of shock, the lag and rise / decay time constants are searched
        (:mod:`.shape`); other resources take their kind's median shape from regions hit
        earlier, else ``default_shock_lag``. An int fixes the lag (immediate response).
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
        Where the groups of resources are fitted, updated and predicted (None = here). On a Dask
        client (:func:`surgeplan.scale.compute`) they are built on the workers from an Arrow IPC
        dataset and stay there; only small summaries come back, and the pooling across regions
        stays here, so the results do not depend on it (``docs/SCALE.md``).
    exchange_dir : str, optional
        With a Dask executor, a directory the workers can read where ``fit`` writes that
        dataset. None: a temporary directory on this machine (enough for a ``LocalCluster``).
    max_partition : int, optional
        Most resources in one group; a (region, kind) is never split. None = one group per
        cadence and time zone. A model parameter: quantities pooled over groups are summed group
        by group, so another split may move them in the last bits (and a near-tie with them).
    learn_driver : bool
        With ``shock_lag='auto'``, choose per kind the indicator, rule, delay, rise, decay and size
        that best predicted the regions hit earlier, left out one at a time (:mod:`.driver`;
        report in ``driver_``). ``False``: the stringency / stay-at-home mappings only.

    Attributes (after fit)
    ----------------------
    state_ : FitState
        What the fit learned, kept current by :meth:`update` and read by :meth:`predict`
        (:class:`surgeplan.forecast.fit_job.FitState`).
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
        out_of_region_error, no_driver_error, evidence`` (``'loro'``: chosen out of region;
        ``'thin'``: one region hit, intervals widened; ``'none'``), ``decay_seen``, and how far a
        region not hit yet may differ (:mod:`.driver_spread`): ``size_sd_weekday,
        size_sd_weekend, exposure_days, levelled, onset_sd_days``.
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
        same = {f.name: getattr(self, f.name) for f in fields(Options) if f.name not in _DERIVED_OPTIONS}
        return Options(
            **same,
            specs=tuple((tuple(r), c6) for c6 in (True, False) for r in ranges),
            search_driver=bool(self.driver_grid),
            adaptation={**DEFAULT_ADAPTATION, **dict(self.adaptation or {})},
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
            ``region, date, name, value``: any indicators (the driver is learned among them).
        covariates : DataFrame, optional
            ``resource_id`` or ``region``, ``ts, name, value``, known for past and future.
        cutoff : timestamp, optional
            Use only measurements before it; the forecast origin is then ``cutoff``.
        """
        cutoff = None if cutoff is None else _utc(cutoff)
        meas = _ft.normalize_measurements(measurements, before=cutoff)  # the rows before it only
        if meas.empty:
            raise SurgeplanError("measurements: no rows to fit (before cutoff)")
        history = History(
            measurements=meas,
            indicators=_ft.normalize_indicators(indicators),
            covariates=_ft.normalize_covariates(covariates),
            inventory=resource_meta(meas, inventory),
            cutoff=cutoff,
        )
        del meas  # the history holds the rows: a Dask fit drops them once written (fit_job._built)
        return self._fit(history)

    def refit(self) -> ShockForecaster:
        """Full refit on everything seen so far (``fit`` data plus all ``update`` data)."""
        history = self._require_fit().history
        history.cutoff = None  # the origin moves to the end of the data folded in
        return self._fit(history)

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
        state = self._require_fit()
        new = _ft.normalize_measurements(new_measurements, what="new_measurements")
        ind = None if indicators is None else _ft.normalize_indicators(indicators)
        cov = None if covariates is None else _ft.normalize_covariates(covariates)
        _fj.fold_in(state, new, ind, cov, None if cutoff is None else _utc(cutoff))
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
        state = self._require_fit()
        h, opt, groups = state.history, state.opt, state.groups
        future = state.held
        if indicators_future is not None:
            drv, asof = state.tables.observed(0), _fj.asof_day(groups)
            future = given_future(
                indicators_future, h.indicators, drv, asof, specs=opt.specs, used=used_specs(groups)
            )
        covs = h.covariates
        if covariates is not None:
            covs = pd.concat([covs, _ft.normalize_covariates(covariates)], ignore_index=True)
            covs = covs.drop_duplicates(["key_type", "key", "ts", "name"], keep="last")
        task = partial(
            _tk.predicted,
            opt=opt,
            cal=state.calibration,
            tables=state.tables,
            scen=future.scen_tables,
            covs=covs,
            regime=future.regime,
            regime_scen=future.regime_tables,
            drivers=state.pooling.drivers,
            per_group=per_group,
        )
        steps = [self._horizon_steps(horizon, g.cadence_s) for g in groups]
        frames, sources = [], {}
        for f, src in state.parts.run(task, state.handles, steps, sizes=state.sizes):
            frames.append(f)
            sources.update(src)
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        self.indicator_source_ = future.report(sources)
        out.attrs["indicator_source"] = dict(self.indicator_source_)
        return out

    @property
    def response_(self) -> pd.DataFrame:
        """Fitted shock response per resource (see the class docstring)."""
        state = self._require_fit()
        if not state.parts.resident:
            return response_table(state.groups, state.opt.specs)
        task = partial(_tk.responses, specs=state.opt.specs)
        return pd.concat(state.parts.run(task, state.handles), ignore_index=True)

    @property
    def driver_(self) -> pd.DataFrame:
        """The driver learned per kind, with its evidence (see the class docstring)."""
        return driver_table(self._require_fit().pooling.drivers)

    @property
    def combination_(self) -> pd.DataFrame:
        """Weight of the model (vs the seasonal naive) per kind and lead bucket, from calibration."""
        rows = [
            {"kind": k, "bucket": b, "lead_days_max": float(_cf.BUCKET_EDGES_DAYS[b + 1]), "weight_model": w}
            for (k, b), w in sorted(self._require_fit().calibration.wtable.items())
        ]
        return pd.DataFrame(rows, columns=["kind", "bucket", "lead_days_max", "weight_model"])

    # ------------------------------------------------------------------ internals
    def _fit(self, history: History) -> ShockForecaster:
        outlook = _fj.Outlook(self.regime_change, self.project_restrictions, self.projection_window_days)
        state = _fj.fit(
            history,
            self._options(),
            executor=self.executor,
            max_partition=self.max_partition,
            exchange_dir=self.exchange_dir,
            learn_driver=self.learn_driver,
            outlook=outlook,
        )
        self.state_, self.cadence_, self.calibration_ = state, state.cadence, state.calibration.report
        self.indicator_source_: dict[str, str] = {}
        return self

    def _require_fit(self) -> _fj.FitState:
        state = getattr(self, "state_", None)
        if state is None:
            raise SurgeplanError("ShockForecaster is not fitted: call fit() first")
        return state

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
