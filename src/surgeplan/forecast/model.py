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

so ``load = baseline x (1 + response)`` with ``1 + response = exp(beta_u u + ...)``: either sign,
saturating (``u`` in [0, 1]), decaying when restrictions lift, with its own daily profile (one
coefficient per block) and weekday/weekend contrast. ``u`` comes from the region's indicators
(:mod:`surgeplan.forecast.shock`), delayed by ``lag`` days and passed through an asymmetric
first-order filter ``F`` (:func:`surgeplan.forecast.shock.response_filter`): a step of the
restrictions becomes a ramp with time constant ``tau_up``, a lifting a return with ``tau_down``
(habits that persist). The shape ``(lag, tau_up, tau_down)`` is chosen per (region, kind) on
the resources' shock history (least absolute deviations), and resources without a shock history
of their own take the shape most resources of their kind were given in regions hit earlier.
``c_i`` is 0 for series that stay well above zero, else a few % of the busy
level (:func:`log_shift`: idle hours otherwise get unbounded log-scale noise; zeros allowed). The coefficients have Gaussian priors; the shock coefficients' prior is pooled from the
resources of the same kind in regions hit earlier (:mod:`surgeplan.forecast.transfer`).

Identification: the day lags are estimated on the "calm" days (driver ~ 0) and then held nearly
fixed, the sum of their absolute values is capped at 0.9 (stable recursion at any horizon), and the shock lag is chosen
without the day lags (otherwise yesterday's load carries any level shift and every lag fits).

Long leads: the day-lag recursion runs for the first ``anchor_days`` (7) days; beyond, each step
is the forecast a week earlier plus the model's change between the two days: the long-run change
of the shock term (``beta / (1 - phi_1 - phi_7)``: the recursion's steady state) and the direct
change of calendar, trend and covariate terms. Errors of the lag and level coefficients then stop
compounding week after week (on the second generator, 28-day busy-hour MASE 8.70 -> 7.28).

Forecast combination: at each lead bucket the model's log forecast is blended with the seasonal
naive (same step in the latest week) with a weight per kind fitted by least squares on the
calibration errors (Bates & Granger 1969); the naive is left out where the restriction level of
its source day differs from the target day's (it cannot know a change of regime). Day-ahead the
weight is ~1; at two weeks the naive's persistence often helps. See ``combination_``.

Fit: robust (Huber IRLS) Bayesian regression for every (resource, block) at once; then a rolling-
origin pass over the last ``calibration_days`` days with a Kalman filter on the coefficients
(random-walk state noise: recursive least squares with forgetting) gives both the adapted state
and the calibration residuals for the quantiles (:mod:`surgeplan.forecast.conformal`).
``update`` runs the same Kalman step on new measurements: no refit.

References
----------
.. [1] D. Obst, J. de Vilmarest, Y. Goude, "Adaptive Methods for Short-Term Electricity Load
   Forecasting During COVID-19 Lockdown in France", IEEE Trans. Power Systems 36(5), 2021.
.. [2] T. Hale et al., "A global panel database of pandemic policies (Oxford COVID-19 Government
   Response Tracker)", Nature Human Behaviour 5, 2021.
.. [3] A. Pierrot, Y. Goude, "Short-term electricity load forecasting with generalized additive
   models", Proc. ISAP Power, 2011.
.. [4] ITU-T Recommendation E.500, "Traffic intensity measurement principles", 1998.
.. [5] J. M. Bates, C. W. J. Granger, "The combination of forecasts", Operational Research
   Quarterly 20(4), 451-468, 1969.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.forecast import baseline as _bl
from surgeplan.forecast import conformal as _cf
from surgeplan.forecast import features as _ft
from surgeplan.forecast import projection as _pj
from surgeplan.forecast import shock as _sh
from surgeplan.forecast import transfer as _tr
from surgeplan.kinds import KINDS

__all__ = ["ShockForecaster"]

_EMPTY_SCEN = _sh.scenario_indicators(None)
#: probability grid of the predictive distribution (mean, mixtures)
_GRID = np.linspace(0.005, 0.995, 99)
#: tail share winsorized on each side when averaging the grid into the mean
_MEAN_WINSOR = 0.10
#: the log's shift lifts a series' 1st percentile to at least this share of its 95th (:func:`log_shift`)
LOG_FLOOR_SHARE = 0.05
_DEFAULT_Q = {"level": 3e-3, "dow": 3e-4, "shock": 3e-2, "lag": 0.0, "covariate": 1e-4, "other": 1e-5}


@dataclass
class _Group:
    """Resources sharing a cadence and a time zone, held as arrays on a local wall-clock grid."""

    cadence_s: int
    tz: str
    ids: np.ndarray
    kinds: np.ndarray
    regions: np.ndarray
    p: int
    nb: int
    r: int
    w0: np.datetime64  # wall-clock time of step 0 (a day boundary + phase)
    zraw: np.ndarray  # (n, T) centred log load, NaN = missing
    zfill: np.ndarray  # (n, T) gaps and outliers replaced by model values (lag source)
    c: np.ndarray  # (n,) shift before the log
    mu: np.ndarray  # (n,) centring
    t_obs: int  # next wall step to observe
    end_utc: pd.Timestamp
    cov_names: list[str] = field(default_factory=list)
    cov_mean: np.ndarray | None = None
    cov_sd: np.ndarray | None = None
    cov_knots: np.ndarray | None = None
    cov_binary: np.ndarray | None = None
    t_ref_days: float = 0.0
    annual: bool = False
    lags: tuple[int, ...] = ()
    names: list[str] = field(default_factory=list)
    groups: dict[str, np.ndarray] = field(default_factory=dict)  # feature family -> column indices
    beta: np.ndarray | None = None  # (n, nb, k)
    cov: np.ndarray | None = None  # (n, nb, k, k)
    sigma2: np.ndarray | None = None  # (n, nb)
    v: np.ndarray | None = None  # (n,) online mean square of standardized innovations
    shock_lag: np.ndarray | None = None  # (n,) days (negative: the load moves first)
    shock_tau: np.ndarray | None = None  # (n, 2) response time constants up / down (days)
    evidence: np.ndarray | None = None  # (n,) days of shock seen (u >= 0.5)
    shock_source: np.ndarray | None = None  # (n,) 'fitted' | 'pooled' | 'prior'
    spec: np.ndarray | None = None  # (n,) index of the driver mapping (ShockForecaster.driver_specs_)

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def k(self) -> int:
        return len(self.names)

    def wall_days(self, a: int, b: int) -> np.ndarray:
        """Local calendar days (datetime64[D]) of wall steps a..b-1 (by day index)."""
        d0 = (self.w0 - self._phase()).astype("datetime64[D]")
        return d0 + np.arange(a // self.p, (b - 1) // self.p + 1)

    def _phase(self) -> np.timedelta64:
        day = self.w0.astype("datetime64[D]").astype("datetime64[ns]")
        return self.w0 - day


class ShockForecaster:
    """Forecast every resource's load through a demand shock, with calibrated quantiles.

    Parameters
    ----------
    quantiles : sequence of float
        Probabilities of the quantile columns (named by :func:`quantile_column`: ``p50``...).
    lags_days : sequence of int
        Autoregressive lags, in days, at the same local step (default yesterday and last week).
    shock_lag : int or 'auto'
        Days between the indicators and the load response. ``'auto'`` picks, per (region, kind)
        for resources with at least ``min_evidence_days`` of shock in their history, the lag in
        ``shock_lag_grid`` and the rise / decay time constants in ``shock_tau_grid`` that fit
        best; other resources take their kind's most common shape from regions hit earlier, else
        ``default_shock_lag`` with an immediate response. An int fixes the lag (immediate
        response).
    default_shock_lag : int
        Lag used when it cannot be estimated (days).
    shock_lag_grid : sequence of int
        Candidate lags for ``'auto'`` (days). Negative lags (the load moves before the
        indicator: announcements) are supported but not in the default grid: in real time the
        last ``|lag|`` days of history would be fitted against indicators not yet published
        (held last), which on the second generator made day-ahead VPN errors 2.4x worse; pass a
        scenario (``indicators_future``) when using them.
    shock_tau_grid : (sequence of float, sequence of float)
        Candidate time constants (days) of the response's rise and decay (``'auto'``):
        the lagged driver goes through :func:`surgeplan.forecast.shock.response_filter`, so a step
        of the indicators becomes a ramp, and a lifting a slow return (habits that persist).
    stringency_range : (float, float)
        Stringency index mapped to driver 0 and 1 (:func:`surgeplan.forecast.shock.driver`): the
        mapping of kinds with no shock history anywhere, and the first candidate of the search.
    driver_grid : sequence of (float, float), or None
        With ``shock_lag='auto'``, the stringency ranges searched for the mapping from
        indicators to restriction intensity, per kind over all regions with shock history
        (whether the stay-at-home level counts is searched too): how much a country's measures
        move a service's load is learned from the regions hit first, and a region hit later at
        intermediate stringency takes it. ``None``: ``stringency_range`` with the stay-at-home
        level, fixed.
    response_prior : dict or float
        Prior mean of the log response at ``u = 1`` per kind (``{'trunk_group': log(2)}``), used
        when no earlier-hit region of the same kind exists. Default 0 (no change), sd
        ``response_prior_sd``.
    response_prior_sd : float
        Prior standard deviation of the shock coefficients (log units).
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
        Half-life of the online noise-scale estimate that widens/narrows the intervals.
    robust : float
        Huber threshold (in noise sd) for fitting and for clipping Kalman innovations.
    lag_prior_sd : float
        Prior sd of the day-lag coefficients (shrinks them toward 0, keeps the recursion stable:
        a strongly periodic series can otherwise trade its calendar terms for lags summing > 1).
    trend_prior_sd : float
        Prior sd of the linear trend (log load per year): small values keep a ramp inside the
        history from being extrapolated over long horizons.
    batch_size : int
        Resources processed together (memory bound, not a loop per resource).
    anchor_days : int
        Beyond this lead (days) the forecast is the forecast ``anchor_days`` earlier plus the
        long-run change of the shock term (``beta / (1 - sum of day-lag coefficients)``) and the
        direct change of the calendar (holidays), trend and covariate terms, instead of the day-lag recursion, whose coefficient errors compound
        over long horizons. 0 = pure recursion.
    regime_change : bool
        When the future indicators are held at their last value (no ``indicators_future``), widen
        the quantiles of resources in regions not under restrictions yet for the chance that
        restrictions start within the lead time: the calibrated (calm-period) law is mixed with its
        copy shifted by the resource's shock response (its forecast under a lockdown starting at
        the origin), with the probability of a lockdown by each lead from the projected
        case-threshold crossing (:func:`surgeplan.signals.anticipate_crossing`, its
        earliest/median/latest range read as a split normal) or, at least, the empirical daily
        rate of restriction onsets among calm regions (see
        :func:`surgeplan.forecast.conformal.regime_mixture_z`). The mean follows the mixture.
    project_restrictions : bool
        When the future indicators are held (no ``indicators_future``), a region whose first
        lockdown started within ``projection_window_days`` follows the median restriction path
        of the regions that crossed before it, from the same number of days after their
        crossing, never below its own last value (:func:`surgeplan.forecast.projection.
        project_after_crossing`; source ``'projected'``): a region crossing at stringency 45 is
        not assumed to stay at 45. ``False``: its last value is held.
    projection_window_days : int
        Days after a region's crossing during which its indicators are projected.

    Attributes (after fit)
    ----------------------
    indicator_source_ : dict
        Region -> which future indicators the last :meth:`predict` used: ``'observed'``,
        ``'held_last'``, ``'projected'``, ``'scenario'``, ``'anticipated'`` or ``'none'``.
    response_ : DataFrame
        Per resource: ``kind, region, lag_days, tau_up_days, tau_down_days, response,
        response_weekend, evidence_days, source, stringency_zero, stringency_full,
        stay_home_counts`` (relative change of the day's load at full restriction, long-run,
        weekday / weekend, each intra-day block taken at its typical load; the response follows the lagged driver through a first-order rise / decay with
        the two time constants, see :func:`shock.response_filter`; the driver is 0 at stringency
        ``stringency_zero`` and 1 at ``stringency_full``, or at stay-at-home level 2 where
        ``stay_home_counts``).
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
        driver_grid: Sequence[tuple[float, float]] | None = (
            (20.0, 50.0), (20.0, 70.0), (30.0, 60.0), (30.0, 80.0), (40.0, 60.0),
            (40.0, 90.0), (50.0, 70.0), (50.0, 90.0), (60.0, 80.0), (60.0, 100.0),
        ),
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
    ) -> None:
        self.quantiles = tuple(float(q) for q in quantiles)
        for q in self.quantiles:
            _ft.quantile_column(q)
        self.lags_days = tuple(int(x) for x in lags_days)
        self.shock_lag = shock_lag
        self.default_shock_lag = int(default_shock_lag)
        self.shock_lag_grid = tuple(int(x) for x in shock_lag_grid)
        self.shock_tau_grid = (
            tuple(float(x) for x in shock_tau_grid[0]),
            tuple(float(x) for x in shock_tau_grid[1]),
        )
        self.stringency_range = tuple(stringency_range)
        self.driver_grid = None if driver_grid is None else tuple(tuple(map(float, r)) for r in driver_grid)
        ranges = [self.stringency_range] + [r for r in (self.driver_grid or ()) if r != self.stringency_range]
        for lo, hi in ranges:
            if not hi > lo:
                raise SurgeplanError(f"stringency ranges must be increasing, got {(lo, hi)!r}")
        # driver mappings (stringency range, stay-at-home counts): index 0 is the default
        self.driver_specs_: list[tuple[tuple[float, float], bool]] = [(tuple(r), c6) for c6 in (True, False)
                                                                      for r in ranges]
        self.response_prior = response_prior
        self.response_prior_sd = float(response_prior_sd)
        self.min_evidence_days = float(min_evidence_days)
        self.calibration_days = int(calibration_days)
        self.calibration_horizon_days = int(calibration_horizon_days)
        self.adaptation = {**_DEFAULT_Q, **dict(adaptation or {})}
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
        if self.projection_window_days < 0:
            raise SurgeplanError(f"projection_window_days must be >= 0 days, got {projection_window_days!r}")
        self._groups: list[_Group] = []
        self.indicator_source_: dict[str, str] = {}

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

        Returns
        -------
        self
        """
        meas = _ft.normalize_measurements(measurements)
        if cutoff is not None:
            cutoff = pd.Timestamp(cutoff)
            cutoff = cutoff.tz_localize("UTC") if cutoff.tz is None else cutoff.tz_convert("UTC")
            meas = meas[meas["ts"] < cutoff]
        if meas.empty:
            raise SurgeplanError("measurements: no rows to fit (before cutoff)")
        self._measurements = meas
        self._indicators = _ft.normalize_indicators(indicators)
        self._covariates = _ft.normalize_covariates(covariates)
        self._inventory = self._resource_meta(meas, inventory)
        self._cutoff = cutoff
        self.cadence_ = _ft.infer_cadence(meas)
        self._fit_all()
        return self

    def refit(self) -> ShockForecaster:
        """Full refit on everything seen so far (``fit`` data plus all ``update`` data)."""
        self._require_fit()
        self._cutoff = None  # the origin moves to the end of the data folded in
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
        before it have no data (they become gaps); rows at or after it are ignored.

        Rows before a resource's next expected step are ignored (no rewriting of the past);
        resources unknown to the fit are kept for :meth:`refit` but not forecast until then. New
        indicators and covariates are appended to the stored ones (same keys: last wins).

        Cost: one batched Kalman step per new time step (all resources and blocks at once), plus
        the design rows of the new steps: O(new steps x resources x k^2), independent of the
        history length. The innovations also update the online error scale that widens or
        narrows the quantiles, and resources of regions not hit yet take the kind pool's
        response as soon as another region's resources have learned one.
        """
        self._require_fit()
        new = _ft.normalize_measurements(new_measurements, what="new_measurements")
        if indicators is not None:
            self._indicators = pd.concat(
                [self._indicators, _ft.normalize_indicators(indicators)], ignore_index=True
            )
            self._indicators = self._indicators.drop_duplicates(["region", "date", "name"], keep="last")
        if covariates is not None:
            self._covariates = pd.concat(
                [self._covariates, _ft.normalize_covariates(covariates)], ignore_index=True
            )
            self._covariates = self._covariates.drop_duplicates(
                ["key_type", "key", "ts", "name"], keep="last"
            )
        self._measurements = pd.concat([self._measurements, new], ignore_index=True)
        if cutoff is not None:
            cutoff = pd.Timestamp(cutoff)
            cutoff = cutoff.tz_localize("UTC") if cutoff.tz is None else cutoff.tz_convert("UTC")
            new = new[new["ts"] < cutoff]
        for g in self._groups:
            sub = new[new["resource_id"].isin(g.ids)]
            if sub.empty and cutoff is None:
                continue
            self._update_group(g, sub, cutoff)
        self._transfer(in_update=True)
        pools = getattr(self, "_pools", None) or {}
        for g in self._groups:
            # a response learned online from a day or two of restrictions is a slope seen at partial
            # intensity: bounded by the kind's pool as in fit() until there is enough evidence
            g.beta = _tr.extrapolation_band(g, pools, self.min_evidence_days)
        return self

    def predict(
        self,
        horizon: int | str | pd.Timedelta,
        indicators_future: pd.DataFrame | Mapping[str, Mapping[str, Any]] | None = None,
        covariates: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Forecast ``horizon`` ahead of each resource's last folded-in step.

        Parameters
        ----------
        horizon : int or str or Timedelta
            Steps at each resource's own cadence (int), or a duration (``'14D'``, up to 26 weeks).
        indicators_future : DataFrame or dict or 'anticipate', optional
            Scenario for the future indicators: a long table ``region, date, name, value`` or
            ``{region: {"lockdown_start": date, "stringency": 80, "lockdown_end": date}}``; or
            ``'anticipate'``: regions not under restrictions yet lock down on the day their case
            incidence is projected to reach the level at which earlier regions did
            (``surgeplan.signals.anticipate_crossing``; source ``'anticipated'``). Without it the
            last observed indicators are held (source ``'held_last'``), except in regions that
            crossed their lockdown threshold recently, which follow the restriction path of the
            regions that crossed before them (``project_restrictions``; source ``'projected'``).
        covariates : DataFrame, optional
            Future (or any) covariate values, overriding stored ones.

        Returns
        -------
        DataFrame ``resource_id, ts, mean, p50, p90, p99`` (one column per quantile), ``ts`` UTC.
        ``mean`` is the predictive distribution's mean winsorized at its 10% / 90% quantiles (a
        robust mean, between p10 and p90 unless a regime change is mixed in; see the class notes).
        ``attrs['indicator_source']`` = {region: 'observed' | 'held_last' | 'projected' |
        'scenario' | 'anticipated' | 'none'}, also in ``indicator_source_``.
        """
        self._require_fit()
        anticipated: dict[str, str] = {}
        if isinstance(indicators_future, str):
            if indicators_future != "anticipate":
                raise SurgeplanError(
                    f"indicators_future: unknown projection {indicators_future!r} (use 'anticipate')"
                )
            indicators_future, anticipated = self._anticipate()
        regime = None
        if indicators_future is None:
            regime, scen, anticipated = self._held_future()
        else:
            scen = _sh.scenario_indicators(indicators_future)
        covs = self._covariates
        if covariates is not None:
            covs = pd.concat([covs, _ft.normalize_covariates(covariates)], ignore_index=True)
            covs = covs.drop_duplicates(["key_type", "key", "ts", "name"], keep="last")
        frames, sources = [], {}
        for g in self._groups:
            if isinstance(horizon, (int, np.integer)):
                h = int(horizon)
            else:
                td = pd.Timedelta(horizon)
                h = int(np.ceil(td.total_seconds() / g.cadence_s))
            if h <= 0:
                raise SurgeplanError(f"horizon must be positive, got {horizon!r}")
            if h * g.cadence_s > 366 * 86400:
                raise SurgeplanError(f"horizon {horizon!r} is longer than a year")
            f, src = self._predict_group(g, h, scen, covs, regime)
            frames.append(f)
            sources.update(src)
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        for region, how in anticipated.items():
            if sources.get(region) == "scenario":
                sources[region] = how
        self.indicator_source_ = sources
        out.attrs["indicator_source"] = dict(sources)
        return out

    def _held_future(self) -> tuple[dict[str, Any] | None, pd.DataFrame, dict[str, str]]:
        """Regime risk of calm regions and the scenario of projected paths of regions that crossed
        (with their sources), when no scenario is given. They change only with the origin's day or the indicators: computed once per
        day, not at every minute of a minute-by-minute loop."""
        key = (id(self._indicators), len(self._indicators), self._asof_day())
        cached = getattr(self, "_held_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        regime = self._regime_risk() if self.regime_change else None
        scen, projected = _EMPTY_SCEN, {}
        if self.project_restrictions and not self._indicators.empty:
            table, projected = _pj.project_after_crossing(
                self._indicators, key[2], window_days=self.projection_window_days
            )
            if projected:
                scen = _sh.scenario_indicators(table)
        self._held_cache = (key, (regime, scen, projected))
        return regime, scen, projected

    def _regime_risk(self) -> dict[str, Any] | None:
        """Calm regions and the law of their restriction onset day, relative to the origin.

        Returns ``None`` without indicators or calm regions, else ``{"asof": day, "scen": scenario
        with every calm region locked down from the origin, "law": {region: (median, sd_low,
        sd_high) days}, "hazard": daily onset rate}``.
        """
        ind = self._indicators
        drv = self._obs_driver()
        if ind.empty or drv.empty:
            return None
        asof = self._asof_day()
        last = drv.ffill().iloc[-1]
        calm = [str(r) for r in drv.columns if np.isfinite(last[r]) and last[r] < 0.5]
        if not calm:
            return None
        # empirical daily onset rate among calm region-days (restrictions crossing u = 0.5)
        on = drv.ffill().to_numpy(float) >= 0.5
        prev, now = on[:-1], on[1:]
        at_risk = float((~prev).sum())
        hazard = float((now & ~prev).sum()) / at_risk if at_risk > 0 else 0.0
        law: dict[str, tuple[float, float, float]] = {}
        z90 = 1.6448536269514722
        try:
            from surgeplan.signals import anticipate_crossing, threshold_from_earlier_regions

            thr = threshold_from_earlier_regions(ind, asof=asof)
            est = anticipate_crossing(ind, asof=asof, threshold=thr, regions=calm)
        except (SurgeplanError, KeyError, ValueError, ImportError):
            est = pd.DataFrame()
        for _, row in est.iterrows():
            st = row.get("status")
            if st == "crossed":  # threshold reached, restrictions not yet: any day now
                law[str(row["region"])] = (0.0, 1.0, 7.0)
            elif st == "forecast" and pd.notna(row.get("median")):
                med = (pd.Timestamp(row["median"]) - asof).days
                e, lt = row.get("earliest"), row.get("latest")
                sl = (med - (pd.Timestamp(e) - asof).days) / z90 if pd.notna(e) else med / 2.0
                sh = ((pd.Timestamp(lt) - asof).days - med) / z90 if pd.notna(lt) else 3.0 * max(sl, 1.0)
                law[str(row["region"])] = (float(med), float(max(sl, 1.0)), float(max(sh, 1.0)))
        scen = _sh.scenario_indicators({r: {"lockdown_start": asof} for r in calm})
        return {"asof": asof, "calm": set(calm), "law": law, "hazard": hazard, "scen": scen}

    def _anticipate(self) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """Lockdown dates projected from the case indicators (``surgeplan.signals``).

        For every region not under restrictions yet, the day its 7-day incidence is projected to
        reach the level at which earlier regions locked down (median of
        :func:`surgeplan.signals.threshold_from_earlier_regions`, date from
        :func:`surgeplan.signals.anticipate_crossing`) becomes a scenario lockdown start.
        Regions without a projection keep their last value.
        """
        from surgeplan.signals import anticipate_crossing, threshold_from_earlier_regions

        ind = self._indicators
        if ind.empty:
            return {}, {}
        asof = self._asof_day()
        drv = self._obs_driver()
        calm = [r for r in drv.columns if drv[r].dropna().iloc[-1] < 0.5] if not drv.empty else []
        if not calm:
            return {}, {}
        try:
            thr = threshold_from_earlier_regions(ind, asof=asof)
            est = anticipate_crossing(ind, asof=asof, threshold=thr, regions=calm)
        except (SurgeplanError, KeyError, ValueError):
            return {}, {}
        scen, how = {}, {}
        for _, row in est.iterrows():
            day = row.get("crossed_on") if row.get("status") == "crossed" else row.get("median")
            if row.get("status") in ("crossed", "forecast") and pd.notna(day):
                scen[str(row["region"])] = {"lockdown_start": pd.Timestamp(day)}
                how[str(row["region"])] = "anticipated"
        return scen, how

    def _asof_day(self) -> pd.Timestamp:
        """First day whose indicators the forecast cannot know: the day after the last origin's day."""
        end = max(g.end_utc for g in self._groups)
        return end.tz_convert("UTC").tz_localize(None).normalize() + pd.Timedelta(days=1)

    @property
    def combination_(self) -> pd.DataFrame:
        """Weight of the model (vs the seasonal naive) per kind and lead bucket, from calibration."""
        self._require_fit()
        rows = [
            {"kind": k, "bucket": b, "lead_days_max": float(_cf.BUCKET_EDGES_DAYS[b + 1]), "weight_model": w}
            for (k, b), w in sorted(getattr(self, "_wtable", {}).items())
        ]
        return pd.DataFrame(rows, columns=["kind", "bucket", "lead_days_max", "weight_model"])

    @property
    def response_(self) -> pd.DataFrame:
        """Fitted shock response per resource (see class docstring)."""
        self._require_fit()
        rows = []
        for g in self._groups:
            iu, iw = g.groups["shock"]
            phi = g.beta[:, :, g.groups["lag"]].sum(-1) if len(g.groups["lag"]) else np.zeros((g.n, g.nb))
            denom = np.clip(1.0 - phi, 0.3, None)
            lr_u = g.beta[:, :, iu] / denom
            lr_w = g.beta[:, :, iw] / denom
            # relative change of the day's load: with a started log (c > 0) a coefficient moves
            # log(load + c), so each block's change is taken at its typical load (median of the
            # history) and the blocks are summed: sum((L + c) e^b - c - L) / sum(L)
            level = np.clip(np.nan_to_num(self._block_level(g), nan=0.0), 0.0, None)
            c = g.c[:, None]

            def rel(lr: np.ndarray) -> np.ndarray:
                tot = level.sum(1)
                chg = ((level + c) * np.exp(lr) - c - level).sum(1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    return np.where(tot > 0, chg / tot, np.exp(lr).mean(1) - 1.0)

            rows.append(
                pd.DataFrame(
                    {
                        "resource_id": g.ids,
                        "kind": g.kinds,
                        "region": g.regions,
                        "lag_days": g.shock_lag,
                        "tau_up_days": g.shock_tau[:, 0],
                        "tau_down_days": g.shock_tau[:, 1],
                        "response": rel(lr_u + lr_w),
                        "response_weekend": rel(lr_u),
                        "evidence_days": g.evidence,
                        "source": g.shock_source,
                        "stringency_zero": [self.driver_specs_[i][0][0] for i in g.spec],
                        "stringency_full": [self.driver_specs_[i][0][1] for i in g.spec],
                        "stay_home_counts": [self.driver_specs_[i][1] for i in g.spec],
                    }
                )
            )
        return pd.concat(rows, ignore_index=True)

    @staticmethod
    def _block_level(g: _Group) -> np.ndarray:
        """(n, nb) median load per intra-day block over the history (load units)."""
        T = (g.zraw.shape[1] // g.p) * g.p
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # blocks never observed
            z = np.nanmedian(g.zraw[:, :T].reshape(g.n, T // g.p, g.nb, g.r), axis=(1, 3))
        return np.exp(z + g.mu[:, None]) - g.c[:, None]

    # ------------------------------------------------------------------ setup
    def _obs_driver(self, spec: int = 0) -> pd.DataFrame:
        """Daily driver of the observed indicators under mapping ``spec`` (cached until they change)."""
        key = (id(self._indicators), len(self._indicators))
        if getattr(self, "_drv_key", None) != key:
            self._drv = {}
            self._drv_key = key
        if spec not in self._drv:
            rng, c6 = self.driver_specs_[spec]
            drv = _sh._daily_driver(self._indicators, rng, c6)
            if drv.empty:
                drv = pd.DataFrame(index=pd.DatetimeIndex([], name="date"))
            self._drv[spec] = drv
        return self._drv[spec]

    def _scen_driver(self, scen: pd.DataFrame, spec: int) -> pd.DataFrame:
        """Daily driver of a scenario table under mapping ``spec``, pivoted once per scenario (a
        forecast reads it for every group of resources and every day chunk)."""
        if scen.empty or "name" not in scen.columns:
            return scen
        cache = getattr(self, "_scen_cache", None)
        if cache is None or cache[0] is not scen:
            cache = self._scen_cache = (scen, {})
        if spec not in cache[1]:
            rng, c6 = self.driver_specs_[spec]
            drv = _sh._daily_driver(scen, rng, c6)
            cache[1][spec] = drv if not drv.empty else scen
        return cache[1][spec]

    def _u(
        self,
        g: _Group,
        rows: np.ndarray | None,
        days: np.ndarray,
        lags: np.ndarray,
        taus: np.ndarray | None,
        scen: pd.DataFrame = _EMPTY_SCEN,
        spec: np.ndarray | None = None,
    ) -> tuple[np.ndarray, dict[str, str]]:
        """Driver per row and day (:func:`shock.driver_matrix`) under each row's own mapping."""
        rows = np.arange(g.n) if rows is None else np.asarray(rows)
        spec = (g.spec[rows] if g.spec is not None else np.zeros(len(rows), np.int64)) if spec is None else spec
        lags = np.asarray(lags)
        out = np.zeros((len(rows), len(days)))
        src: dict[str, str] = {}
        for sp in np.unique(spec):  # distinct mappings, few
            sel = np.flatnonzero(spec == sp)
            rng, c6 = self.driver_specs_[int(sp)]
            out[sel], s1 = _sh.driver_matrix(
                self._obs_driver(int(sp)),
                self._scen_driver(scen, int(sp)),
                g.regions[rows[sel]],
                days,
                lags[sel],
                rng,
                taus=None if taus is None else np.asarray(taus)[sel],
                use_stay_home=c6,
            )
            src.update(s1)
        return out, src

    def _require_fit(self) -> None:
        if not self._groups:
            raise SurgeplanError("ShockForecaster is not fitted: call fit() first")

    @staticmethod
    def _resource_meta(meas: pd.DataFrame, inventory: pd.DataFrame | None) -> pd.DataFrame:
        ids = pd.unique(meas["resource_id"])
        meta = pd.DataFrame({"resource_id": ids, "kind": "generic", "region": ""})
        if inventory is not None:
            for col in ("resource_id", "kind"):
                if col not in inventory.columns:
                    raise SurgeplanError(f"inventory: missing column {col!r}")
            inv = inventory.assign(resource_id=inventory["resource_id"].astype(str)).drop_duplicates(
                "resource_id"
            )
            inv = inv.set_index("resource_id")
            kinds = inv["kind"].reindex(ids)
            bad = kinds.dropna()[~kinds.dropna().isin(list(KINDS))]
            if len(bad):
                raise SurgeplanError(f"inventory: unknown kind {bad.iloc[0]!r} for resource {bad.index[0]!r}")
            meta["kind"] = kinds.fillna("generic").to_numpy()
            if "region" in inv.columns:
                meta["region"] = inv["region"].reindex(ids).fillna("").astype(str).to_numpy()
        return meta

    def _fit_all(self) -> None:
        meas = self._measurements
        meta = self._inventory
        ids_all = pd.unique(meas["resource_id"])
        if len(meta) < len(ids_all):
            extra = pd.DataFrame(
                {
                    "resource_id": ids_all[~np.isin(ids_all, meta["resource_id"])],
                    "kind": "generic",
                    "region": "",
                }
            )
            meta = self._inventory = pd.concat([meta, extra], ignore_index=True)
        self.cadence_ = _ft.infer_cadence(meas)
        meta = meta.assign(
            cadence_s=self.cadence_.reindex(meta["resource_id"]).to_numpy(),
            tz=[_ft.region_timezone(r or None) for r in meta["region"]],
        )
        self._groups = []
        for (cad, tz), sub in meta.groupby(["cadence_s", "tz"], sort=True):  # few groups
            m = meas[meas["resource_id"].isin(sub["resource_id"])]
            self._groups.append(self._build_group(int(cad), str(tz), sub, m))
        for g in self._groups:
            self._shape_stage(g)
        self._select_driver()
        for g in self._groups:
            if getattr(g, "search", None) is not None:
                g.search.finish()
                g.search = None
            if self._kind_spec:  # evidence under the chosen mappings
                self._count_evidence(g)
        self._pool_shapes()
        for g in self._groups:
            self._fit_stage1(g)
        self._transfer(in_update=False)
        for g in self._groups:
            self._calibrate(g)
            self._bound_extrapolation(g)
        self._finish_calibration()

    def _build_group(self, cad: int, tz: str, sub: pd.DataFrame, m: pd.DataFrame) -> _Group:
        ids = sub["resource_id"].to_numpy()
        p = _ft.steps_per_day(cad)
        nb = _ft.n_blocks(p, self.max_blocks)
        step = np.timedelta64(cad, "s").astype("timedelta64[ns]")
        wall = m["ts"].dt.tz_convert(tz).dt.tz_localize(None).to_numpy()
        first = wall.min()
        day0 = first.astype("datetime64[D]").astype("datetime64[ns]")
        phase = (first - day0) % step
        w0 = day0 + phase
        idx = ((wall - w0) / step).round().astype(np.int64)
        if self._cutoff is not None:
            end_utc = self._cutoff
        else:
            end_utc = m["ts"].max() + pd.Timedelta(seconds=cad)
        t_obs = int(self._utc_to_step(pd.DatetimeIndex([end_utc]), tz, w0, step)[0])
        t_obs = max(t_obs, int(idx.max()) + 1)
        ndays = int(np.ceil(t_obs / p))
        T = ndays * p
        row = pd.Index(ids).get_indexer(m["resource_id"].to_numpy())
        y = m["load"].to_numpy()
        acc = np.zeros((len(ids), T))
        cnt = np.zeros((len(ids), T))
        np.add.at(acc, (row, idx), y)
        np.add.at(cnt, (row, idx), 1.0)
        with np.errstate(invalid="ignore"):
            load = acc / cnt
        c = log_shift(load)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.log(load + c[:, None])
        mu = np.nanmedian(z, axis=1)
        z = z - mu[:, None]
        z[:, t_obs:] = np.nan
        g = _Group(
            cadence_s=cad,
            tz=tz,
            ids=ids,
            kinds=sub["kind"].to_numpy().astype(str),
            regions=sub["region"].to_numpy().astype(str),
            p=p,
            nb=nb,
            r=p // nb,
            w0=w0,
            zraw=z,
            zfill=_seasonal_fill(z, p),
            c=c,
            mu=mu,
            t_obs=t_obs,
            end_utc=pd.Timestamp(end_utc),
        )
        g.t_ref_days = ndays
        g.annual = ndays >= 365
        # a day lag needs history to learn from: keep lags shorter than a third of the history
        g.lags = tuple(L for L in self.lags_days if 3 * L <= ndays)
        g.shock_lag = np.full(g.n, self.default_shock_lag, dtype=np.int64)
        g.shock_tau = np.zeros((g.n, 2))
        g.evidence = np.zeros(g.n)
        g.evidence_full = np.zeros(g.n)
        g.shock_source = np.full(g.n, "prior", dtype=object)
        g.spec = np.zeros(g.n, dtype=np.int64)
        self._setup_covariates(g, self._covariates)
        self._setup_names(g)
        return g

    @staticmethod
    def _utc_to_step(utc: pd.DatetimeIndex, tz: str, w0: np.datetime64, step: np.timedelta64) -> np.ndarray:
        wall = utc.tz_convert(tz).tz_localize(None).to_numpy()
        return np.floor((wall - w0) / step).astype(np.int64)

    # ------------------------------------------------------------------ covariates
    def _cov_raw(self, g: _Group, a: int, b: int, covs: pd.DataFrame) -> np.ndarray:
        """Raw covariate values on wall steps [a, b): (n, b - a, C), gaps interpolated/held."""
        nc = len(g.cov_names)
        out = np.full((g.n, b - a, nc), np.nan)
        if nc == 0 or b <= a:
            return out
        step = np.timedelta64(g.cadence_s, "s").astype("timedelta64[ns]")
        regions = pd.Series(g.regions)
        for j, name in enumerate(g.cov_names):  # few covariates
            cn = covs[covs["name"] == name]
            if cn.empty:
                continue
            wall = cn["ts"].dt.tz_convert(g.tz).dt.tz_localize(None).to_numpy()
            pos = (wall - g.w0) / step  # fractional step position
            keep = (pos >= a - 2 * g.p) & (pos < b + 2 * g.p)
            cn, pos = cn[keep], pos[keep]
            if cn.empty:
                continue
            for key_type in ("region", "resource_id"):
                part = cn["key_type"].to_numpy() == key_type
                if not part.any():
                    continue
                wide = pd.DataFrame(
                    {"key": cn["key"].to_numpy()[part], "pos": pos[part], "v": cn["value"].to_numpy()[part]}
                )
                wide = wide.groupby(["pos", "key"])["v"].mean().unstack("key")
                grid = np.arange(a, b, dtype=float)
                full = (
                    wide.reindex(wide.index.union(grid))
                    .interpolate(method="index", limit_area="inside")
                    .reindex(grid)
                )
                keys = regions if key_type == "region" else pd.Series(g.ids)
                col = full.columns.get_indexer(keys.to_numpy())
                hit = col >= 0
                vals = full.to_numpy()[:, col[hit]].T
                cur = out[hit, :, j]
                out[hit, :, j] = np.where(np.isfinite(vals), vals, cur)
        return out

    def _setup_covariates(self, g: _Group, covs: pd.DataFrame) -> None:
        names = sorted(pd.unique(covs["name"])) if not covs.empty else []
        g.cov_names = list(names)
        if not names:
            return
        raw = self._cov_raw(g, 0, g.t_obs, covs)
        raw = _fill_time(raw)
        g.cov_mean = np.nanmean(raw, axis=1)  # (n, C)
        sd = np.nanstd(raw, axis=1)
        g.cov_binary = np.array(
            [np.unique(raw[..., j][np.isfinite(raw[..., j])]).size <= 2 for j in range(len(names))]
        )
        g.cov_sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
        g.cov_mean = np.where(np.isfinite(g.cov_mean), g.cov_mean, 0.0)
        xs = (raw - g.cov_mean[:, None, :]) / g.cov_sd[:, None, :]
        alpha = (
            1.0 - np.exp(-g.cadence_s / 3600.0 / self.covariate_smoothing_hours[0])
            if self.covariate_smoothing_hours
            else 1.0
        )
        e1 = _ft.ewma(np.nan_to_num(xs), alpha, axis=1)
        g.cov_knots = np.nanquantile(
            np.where(np.isfinite(xs), e1, np.nan), [0.2, 0.5, 0.8], axis=1
        ).transpose(1, 2, 0)
        g.cov_knots = np.nan_to_num(g.cov_knots)

    def _cov_features(self, g: _Group, a: int, b: int, covs: pd.DataFrame) -> np.ndarray:
        """Covariate feature block on [a, b): (n, b - a, F)."""
        nc = len(g.cov_names)
        if nc == 0:
            return np.zeros((g.n, b - a, 0))
        hmax = max(self.covariate_smoothing_hours) if self.covariate_smoothing_hours else 0.0
        warm = int(np.ceil(5 * hmax * 3600.0 / g.cadence_s))
        a0 = max(0, a - warm)
        raw = _fill_time(self._cov_raw(g, a0, b, covs))
        xs = (raw - g.cov_mean[:, None, :]) / g.cov_sd[:, None, :]
        xs = np.nan_to_num(xs)
        feats = []
        for j in range(nc):
            x = xs[..., j]
            if g.cov_binary[j]:
                feats.append(x[..., None])
                continue
            sm = [
                _ft.ewma(x, 1.0 - np.exp(-g.cadence_s / 3600.0 / h), axis=1)
                for h in self.covariate_smoothing_hours
            ]
            e1 = sm[0] if sm else x
            kn = g.cov_knots[:, j, :]  # (n, 3)
            hinges = [
                np.maximum(kn[:, 0:1] - e1, 0.0),
                np.maximum(kn[:, 1:2] - e1, 0.0),
                np.maximum(e1 - kn[:, 2:3], 0.0),
            ]
            feats.append(np.stack([x, *sm, *hinges], axis=-1))
        return np.concatenate(feats, axis=-1)[:, a - a0 :, :]

    def _setup_names(self, g: _Group) -> None:
        names = ["level"] + [f"dow{d}" for d in range(7)] + ["holiday", "trend"]
        if g.annual:
            names += ["annual_sin", "annual_cos"]
        cov_feats = []
        for j, cname in enumerate(g.cov_names):
            if g.cov_binary[j]:
                cov_feats.append(cname)
            else:
                cov_feats += [cname] + [f"{cname}_s{h:g}h" for h in self.covariate_smoothing_hours]
                cov_feats += [f"{cname}_below_q20", f"{cname}_below_q50", f"{cname}_above_q80"]
        names += cov_feats
        names += [f"lag{L}d" for L in g.lags]
        names += ["shock", "shock_weekday"]
        g.names = names
        idx = {nm: i for i, nm in enumerate(names)}
        g.groups = {
            "level": np.array([idx["level"]]),
            "dow": np.array([idx[f"dow{d}"] for d in range(7)]),
            "covariate": np.array([idx[nm] for nm in cov_feats], dtype=np.int64),
            "lag": np.array([idx[f"lag{L}d"] for L in g.lags], dtype=np.int64),
            "shock": np.array([idx["shock"], idx["shock_weekday"]]),
            "other": np.array(
                [idx[nm] for nm in names if nm in ("holiday", "trend", "annual_sin", "annual_cos")]
            ),
        }

    # ------------------------------------------------------------------ design
    def _design(
        self,
        g: _Group,
        a: int,
        b: int,
        covs: pd.DataFrame,
        u: np.ndarray | None = None,
        rows: np.ndarray | None = None,
        covf: np.ndarray | None = None,
    ) -> np.ndarray:
        """Design rows for wall steps [a, b): (n, b - a, k). Lag columns read ``g.zfill``."""
        rows = np.arange(g.n) if rows is None else rows
        n, m = len(rows), b - a
        steps = np.arange(a, b)
        dayidx = steps // g.p
        days_all = g.wall_days(a, b)
        dpos = dayidx - a // g.p
        days = days_all[dpos]
        # day of the region's working week (0-4 working, 5-6 weekend: Friday-Saturday weekends
        # too); a public holiday takes the last weekend day's coefficients
        wd = np.zeros((n, m), np.int64)
        hol = np.zeros((n, m), bool)
        regs = g.regions[rows]
        for region in pd.unique(regs):  # regions, few
            rr = regs == region
            hol[rr] = _ft.region_holidays(region or None, days)[None, :]
            wd[rr] = _ft.working_week_day(region or None, days)[None, :]
        dtype = np.where(hol, 6, wd)
        X = np.zeros((n, m, g.k))
        X[..., 0] = 1.0
        X[..., 1:8] = dtype[..., None] == np.arange(7)
        ih = g.names.index("holiday")
        X[..., ih] = hol
        t_days = (steps * g.cadence_s / 86400.0 - g.t_ref_days) / 365.25
        X[..., g.names.index("trend")] = t_days[None, :]
        if g.annual:
            doy = 2 * np.pi * (days.astype("datetime64[D]").astype(np.int64) % 365.25) / 365.25
            X[..., g.names.index("annual_sin")] = np.sin(doy)
            X[..., g.names.index("annual_cos")] = np.cos(doy)
        ic = g.groups["covariate"]
        if len(ic):
            cf = self._cov_features(g, a, b, covs) if covf is None else covf
            X[..., ic] = cf[rows]
        for L, j in zip(g.lags, g.groups["lag"]):
            src = steps - L * g.p
            okk = src >= 0
            vals = np.full((n, m), np.nan)
            vals[:, okk] = g.zfill[rows][:, src[okk]]
            X[..., j] = vals
        if u is None:
            u, _ = self._u(g, rows, days_all, g.shock_lag[rows], g.shock_tau[rows])
        ud = u[:, dpos]
        weekday = (dtype < 5).astype(float)
        iu, iw = g.groups["shock"]
        X[..., iu] = ud
        X[..., iw] = ud * weekday
        return X

    def _prior(self, g: _Group) -> tuple[np.ndarray, np.ndarray]:
        k = g.k
        m = np.zeros((g.n, g.nb, k))
        sd = np.ones((g.n, g.nb, k))
        sd[..., g.groups["level"]] = 10.0
        sd[..., g.groups["dow"]] = 1.0
        sd[..., g.groups["lag"]] = self.lag_prior_sd
        sd[..., g.names.index("trend")] = self.trend_prior_sd
        iu, iw = g.groups["shock"]
        prior = self.response_prior
        pm = np.array([prior.get(kd, 0.0) if isinstance(prior, Mapping) else float(prior) for kd in g.kinds])
        m[..., iu] = pm[:, None]
        sd[..., iu] = self.response_prior_sd
        sd[..., iw] = self.response_prior_sd / 2.0  # profile change: a smaller correction a priori
        return m, sd

    def _block_view(self, g: _Group, X: np.ndarray) -> np.ndarray:
        """(n, D*p, ...) -> (n, nb, D*r, ...) grouping steps by block."""
        n, T = X.shape[:2]
        D = T // g.p
        rest = X.shape[2:]
        Y = X.reshape(n, D, g.nb, g.r, *rest)
        Y = np.moveaxis(Y, 2, 1)
        return Y.reshape(n, g.nb, D * g.r, *rest)

    # ------------------------------------------------------------------ fitting
    def _count_evidence(self, g: _Group) -> None:
        """Days of shock in the history, per resource and day: share of the day measured where
        ``u >= 0.5`` (``g.evidence_daily``) and where ``u >= FULL_INTENSITY`` (``g.evidence_full_daily``:
        direct evidence of the response at full restriction, what the kind pools are weighted by)."""
        T = g.zraw.shape[1]
        D = T // g.p
        u0, _ = self._u(g, None, g.wall_days(0, T), np.zeros(g.n, np.int64), None)
        seen = np.isfinite(g.zraw).reshape(g.n, D, g.p).mean(-1)
        g.evidence_daily = (u0 >= 0.5) * seen
        g.evidence_full_daily = (u0 >= _tr.FULL_INTENSITY) * seen
        g.evidence = g.evidence_daily.sum(1)
        g.evidence_full = g.evidence_full_daily.sum(1)

    def _shape_stage(self, g: _Group) -> None:
        """Shock evidence in the history, and the first step of the shape search (the lag)."""
        T = g.zraw.shape[1]
        self._count_evidence(g)
        g.shape_hit = np.zeros(g.n, bool)
        g.search = None
        if self.shock_lag == "auto":
            g.shape_hit = g.evidence >= self.min_evidence_days
            if g.shape_hit.any() and len(self.shock_lag_grid) >= 2:
                covf = self._cov_features(g, 0, T, self._covariates) if len(g.cov_names) else None
                g.search = _ShapeSearch(self, g, covf)
                g.search.lag_step()
        elif self.shock_lag is not None:
            g.shock_lag = np.full(g.n, int(self.shock_lag), dtype=np.int64)

    def _select_driver(self) -> None:
        """Mapping from indicators to restriction intensity, per kind, over every group and region.

        Candidates (``driver_specs_``) are scored by the total absolute residual of the resources
        with shock history at their own lag (immediate response): first with and without the
        stay-at-home level at the default stringency range, then the stringency ranges of
        ``driver_grid``. Near-ties (1%) keep the earlier (default) candidate. Every resource of
        the kind, hit or not, takes the kind's mapping.
        """
        searches = [g.search for g in self._groups if getattr(g, "search", None) is not None]
        self._kind_spec = {}
        if not searches or not self.driver_grid:
            return
        kinds = sorted({str(k) for sr in searches for k in sr.kinds})
        nr = len(self.driver_specs_) // 2

        def totals(cands: list[np.ndarray]) -> np.ndarray:
            """(len(cands), len(kinds)) total LAD; cands[i] = spec index per kind."""
            out = np.zeros((len(cands), len(kinds)))
            for sr in searches:
                kidx = np.array([kinds.index(str(k)) for k in sr.kinds])
                for i, cand in enumerate(cands):
                    sse = sr.score(sr.lag, sr.tau0, spec=cand[kidx])
                    np.add.at(out[i], kidx, sse)
            return out

        def best(tot: np.ndarray) -> np.ndarray:
            return np.array([int(np.flatnonzero(c <= 1.01 * c.min() + 1e-12)[0]) for c in tot.T])

        c6_cands = [np.zeros(len(kinds), np.int64), np.full(len(kinds), nr, np.int64)]
        off = np.where(best(totals(c6_cands)) == 1, nr, 0)
        range_cands = [off + j for j in range(nr)]
        choice = best(totals(range_cands))
        spec = off + choice
        self._kind_spec = {kd: int(sp) for kd, sp in zip(kinds, spec)}
        for g in self._groups:
            for kd, sp in self._kind_spec.items():
                g.spec[g.kinds == kd] = sp

    def _pool_shapes(self) -> None:
        """Resources without shock history take their kind's shape from regions hit earlier.

        The pooled shape of a kind is the (lag, rise, decay) most of its resources with enough
        shock history were given (over all regions and groups); a kind nobody has learned keeps
        the defaults (``default_shock_lag``, immediate response).
        """
        rows = [
            pd.DataFrame(
                {
                    "kind": g.kinds[g.shape_hit],
                    "lag": g.shock_lag[g.shape_hit],
                    "up": g.shock_tau[g.shape_hit, 0],
                    "dn": g.shock_tau[g.shape_hit, 1],
                }
            )
            for g in self._groups
            if getattr(g, "shape_hit", None) is not None and g.shape_hit.any()
        ]
        self._kind_shape = {}
        if not rows:
            return
        allr = pd.concat(rows, ignore_index=True)
        for kd, sub in allr.groupby("kind"):  # kinds, few
            # median of each: a robust central shape (a mode of 3-tuples is unstable with few)
            L, up, dn = (float(np.median(sub[c])) for c in ("lag", "up", "dn"))
            L = int(np.floor(L))
            self._kind_shape[str(kd)] = (int(L), float(up), float(dn))
        for g in self._groups:
            for kd, (L, up, dn) in self._kind_shape.items():
                miss = (~g.shape_hit) & (g.kinds == kd)
                g.shock_lag[miss], g.shock_tau[miss, 0], g.shock_tau[miss, 1] = L, up, dn

    def _fit_stage1(self, g: _Group) -> None:
        """Robust batch fit on the whole history (given the shock shape); statistics for pooling."""
        T = g.zraw.shape[1]
        k = g.k
        covf = self._cov_features(g, 0, T, self._covariates) if len(g.cov_names) else None
        days = g.wall_days(0, T)
        pm, psd = self._prior(g)
        g.xtx = np.zeros((g.n, g.nb, k, k))
        g.xty = np.zeros((g.n, g.nb, k))
        g.sigma2 = np.zeros((g.n, g.nb))
        g.beta = np.zeros((g.n, g.nb, k))
        g.cov = np.zeros((g.n, g.nb, k, k))
        for rows in _chunks(g.n, self.batch_size):
            u, _ = self._u(g, rows, days, g.shock_lag[rows], g.shock_tau[rows])
            hit = np.flatnonzero(u.max(1) > 0.05)
            if len(hit):
                # baseline dynamics (day lags) from normal times only, then held nearly fixed: with
                # free lags a level shift is "explained" by lags summing > 1 (the onset day being
                # down-weighted as an outlier), which leaves the shock term unidentified
                calm = np.repeat(u < 0.05, g.p, axis=1)
                res0 = self._robust_fit(g, rows, covf, u, pm[rows], psd[rows], upto=T, mask=calm)
                lag = g.groups["lag"]
                pm[rows[hit][:, None], :, lag[None, :]] = np.swapaxes(res0[3][hit][..., lag], 1, 2)
                psd[rows[hit][:, None], :, lag[None, :]] = 0.02
            res = self._robust_fit(g, rows, covf, u, pm[rows], psd[rows], upto=T)
            g.xtx[rows], g.xty[rows], g.sigma2[rows], g.beta[rows], g.cov[rows] = res
        g.shock_source = np.where(g.evidence >= self.min_evidence_days, "fitted", "prior").astype(object)
        g.prior_mean, g.prior_sd = pm, psd

    def _robust_fit(self, g, rows, covf, u, pm, psd, upto, mask=None):
        """Two-pass Huber IRLS Bayesian fit of rows ``rows`` on steps [0, upto) (``mask``: usable)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks (short or gappy series)
            return self._robust_fit_inner(g, rows, covf, u, pm, psd, upto, mask)

    def _robust_fit_inner(self, g, rows, covf, u, pm, psd, upto, mask):
        X = self._design(g, 0, upto, self._covariates, u=u, rows=rows, covf=covf)
        y = g.zraw[rows, :upto]
        if mask is not None:
            y = np.where(mask[:, :upto], y, np.nan)
        Xb = self._block_view(g, X)
        yb = self._block_view(g, y)
        w = np.isfinite(yb) & np.all(np.isfinite(Xb), axis=-1)
        w = w.astype(float)
        # noise guess: robust scale of day-to-day differences
        d1 = yb[..., 1:] - yb[..., :-1]
        s0 = (
            1.4826 * np.nanmedian(np.abs(d1 - np.nanmedian(d1, axis=-1, keepdims=True)), axis=-1) / np.sqrt(2)
        )
        s0 = np.where(np.isfinite(s0) & (s0 > 0), s0, 0.05)
        sigma2 = np.maximum(s0**2, 1e-8)
        for it in range(3):
            xtx, xty, _ = _bl.normal_stats(Xb, yb, w)
            beta, cov = _bl.posterior(xtx, xty, sigma2, pm, psd)
            fitted = np.einsum("nbmk,nbk->nbm", np.nan_to_num(Xb), beta)
            resid = yb - fitted
            okr = np.isfinite(resid) & (w > 0)
            # robust scale per (resource, block), shrunk toward the resource's median block scale
            mad = 1.4826 * np.nanmedian(np.where(okr, np.abs(resid), np.nan), axis=-1)
            mad = np.where(np.isfinite(mad) & (mad > 0), mad, np.nan)
            med = np.nanmedian(mad, axis=1, keepdims=True)
            med = np.where(np.isfinite(med), med, 0.05)
            cnt = okr.sum(-1)
            # residuals of a fit with k coefficients understate the noise: degrees-of-freedom
            # correction; blocks with fewer rows than coefficients fall back on a 5% default
            k_eff = min(g.k, 3 + len(g.groups["covariate"]) + len(g.groups["lag"]) + 8)
            dof = np.where(cnt > k_eff, cnt / np.maximum(cnt - k_eff, 1), np.nan)
            mad = mad * np.sqrt(dof)
            med = np.nanmedian(mad, axis=1, keepdims=True)
            med = np.where(np.isfinite(med), med, 0.05)
            scale = np.sqrt((cnt * np.nan_to_num(mad, nan=0.0) ** 2 + 10 * med**2) / (cnt + 10))
            scale = np.maximum(scale, 1e-3)  # 0.1%: a floor so a flat series keeps a spread
            sigma2 = scale**2
            hw = _bl.huber_weights(resid, scale[..., None], c=self.robust)
            w = np.where(okr, hw, 0.0) if it < 2 else w
            if it == 0:
                # clean the lag source: outliers and gaps take the fitted value
                fit_t = self._unblock(g, fitted, upto)
                res_t = self._unblock(g, resid, upto)
                sc_t = self._unblock(g, np.broadcast_to(scale[..., None], fitted.shape), upto)
                raw_t = g.zraw[rows, :upto]
                bad = ~np.isfinite(raw_t) | (np.isfinite(res_t) & (np.abs(res_t) > 2 * self.robust * sc_t))
                zf = g.zfill[rows, :upto]
                zf[bad] = np.where(np.isfinite(fit_t[bad]), fit_t[bad], zf[bad])
                g.zfill[rows, :upto] = zf
                X = self._design(g, 0, upto, self._covariates, u=u, rows=rows, covf=covf)
                Xb = self._block_view(g, X)
                w = np.where(np.isfinite(yb) & np.all(np.isfinite(Xb), axis=-1), hw, 0.0)
        xtx, xty, _ = _bl.normal_stats(Xb, yb, w)
        beta, cov = _bl.posterior(xtx, xty, sigma2, pm, psd)
        beta, cov = self._stabilize(g, xtx, xty, sigma2, pm, psd, beta, cov)
        return xtx, xty, sigma2, beta, cov

    def _stabilize(self, g, xtx, xty, sigma2, pm, psd, beta, cov, phi_max: float = 0.9):
        """Keep the day-lag recursion stable: where the lags' absolute values sum above ``phi_max``,
        scale them down to ``phi_max`` and re-solve the other coefficients given them.

        ``sum |phi_j| < 1`` is what makes the recursion ``z_d = sum_j phi_j z_{d-j} + ...`` stable
        (every root of its characteristic polynomial inside the unit circle); a bound on the plain
        sum is not: lags of opposite signs (1.30 yesterday, -1.77 last week, sum -0.47, seen on a
        night block of a contact centre whose lags and weekday terms were interchangeable) made
        one hour's forecast grow x3 a day, to 300x the load within a week."""
        lag = g.groups["lag"]
        if len(lag) == 0:
            return beta, cov
        tot = np.abs(beta[..., lag]).sum(-1)
        over = tot > phi_max
        if not over.any():
            return beta, cov
        pm2, psd2 = pm.copy(), psd.copy()
        fixed = beta[..., lag] * (phi_max / np.where(over, tot, 1.0))[..., None]
        for j, col in enumerate(lag):
            pm2[..., col] = np.where(over, fixed[..., j], pm[..., col])
            psd2[..., col] = np.where(over, 1e-4, psd[..., col])
        b2, c2 = _bl.posterior(xtx, xty, sigma2, pm2, psd2)
        return np.where(over[..., None], b2, beta), np.where(over[..., None, None], c2, cov)

    def _unblock(self, g: _Group, a: np.ndarray, upto: int) -> np.ndarray:
        n = a.shape[0]
        D = upto // g.p
        x = a.reshape(n, g.nb, D, g.r)
        return np.moveaxis(x, 1, 2).reshape(n, D * g.p)

    def _weekday_b(self, g: _Group, rows: np.ndarray, T: int) -> np.ndarray:
        """Blocked working-day indicator (non-holiday, the region's working week) for rows on steps [0, T)."""
        days = g.wall_days(0, T)
        out = np.zeros((len(rows), T // g.p))
        regs = g.regions[rows]
        for region in pd.unique(regs):  # regions, few
            rr = regs == region
            hol = _ft.region_holidays(region or None, days)
            out[rr] = ((_ft.working_week_day(region or None, days) < 5) & ~hol)[None, :]
        return self._block_view(g, np.repeat(out, g.p, axis=1))

    # ------------------------------------------------------------------ transfer
    def _transfer(self, in_update: bool) -> None:
        """Pool long-run shock responses per kind and give them to resources not hit yet."""
        self._full_kinds = _tr.full_evidence_kinds(self._groups, self.min_evidence_days)
        pools = _tr.kind_pools(self._groups, self.min_evidence_days, self._full_kinds)
        self._pools = pools
        for g in self._groups:
            if in_update:
                _tr.apply_to_state(g, pools)
                g.shock_source[g.evidence >= self.min_evidence_days] = "fitted"
            else:
                _tr.apply_to_prior(g, pools)
                if (g.shock_source == "pooled").any():
                    rows = np.flatnonzero(g.shock_source == "pooled")
                    g.beta[rows], g.cov[rows] = _bl.posterior(
                        g.xtx[rows], g.xty[rows], g.sigma2[rows], g.prior_mean[rows], g.prior_sd[rows]
                    )

    def _bound_extrapolation(self, g: _Group) -> None:
        """Keep the full-intensity response of thinly evidenced resources within their kind's pool.

        Resources with less than ``min_evidence_days`` of shock (``u >= 0.5``, counted by the
        rolling pass on the lagged, filtered driver) have a response slope learned at partial
        intensity or on the first days of a ramp; the linear-in-``u`` model would extrapolate it
        many-fold to ``u = 1`` (the regime-change scenario, a hardening of restrictions). Their
        long-run shock coefficients are clipped to the pool band
        (:func:`surgeplan.forecast.transfer.extrapolation_band`); ``source`` is then 'pooled',
        and 'fitted' only with enough evidence.
        """
        if g.beta is None:
            return
        pools = getattr(self, "_pools", None) or {}
        banded = _tr.extrapolation_band(g, pools, self.min_evidence_days)
        sh = g.groups["shock"]
        moved = np.any(np.abs(banded[..., sh] - g.beta[..., sh]) > 1e-12, axis=(1, 2))
        g.beta = banded
        # resources with enough evidence: precision-weighted shrinkage toward the pool (the pool
        # counts as one fully evidenced resource, 28 days), so an early, weak own response keeps
        # part of the response learned elsewhere
        g.beta = _tr.shrink_to_pool(
            g, pools, self.min_evidence_days, full_kinds=getattr(self, "_full_kinds", None)
        )
        enough = g.evidence >= self.min_evidence_days
        was = g.shock_source.astype(str)
        g.shock_source = np.where(enough, "fitted", np.where(moved | (was != "prior"), "pooled", was)).astype(
            object
        )

    # ------------------------------------------------------------------ calibration
    def _calibrate(self, g: _Group) -> None:
        """Rolling-origin pass over the last days: adapted state + calibration residuals."""
        T = g.zraw.shape[1]
        D = T // g.p
        C = min(self.calibration_days, max(0, D // 3 - 1))
        g.cal_z, g.cal_lead, g.cal_row, g.cal_zn = [], [], [], []
        g.v = np.ones(g.n)
        if C < 3:
            return
        start = (D - C) * g.p
        start = min(start, g.t_obs)
        # refit on the history before the calibration window (same priors, cleaned lags)
        covf = self._cov_features(g, 0, T, self._covariates) if len(g.cov_names) else None
        days = g.wall_days(0, T)
        D0 = start // g.p
        for rows in _chunks(g.n, self.batch_size):
            u, _ = self._u(g, rows, days, g.shock_lag[rows], g.shock_tau[rows])
            X = self._block_view(
                g,
                self._design(
                    g,
                    0,
                    D0 * g.p,
                    self._covariates,
                    u=u[:, :D0],
                    rows=rows,
                    covf=None if covf is None else covf[:, : D0 * g.p],
                ),
            )
            yb = self._block_view(g, g.zraw[rows, : D0 * g.p])
            resid = yb - np.einsum("nbmk,nbk->nbm", np.nan_to_num(X), g.beta[rows])
            w = np.isfinite(yb) & np.all(np.isfinite(X), axis=-1)
            hw = np.where(w, _bl.huber_weights(resid, np.sqrt(g.sigma2[rows])[..., None], c=self.robust), 0.0)
            xtx, xty, _ = _bl.normal_stats(X, yb, hw)
            pm, psd, s2 = g.prior_mean[rows], g.prior_sd[rows], g.sigma2[rows]
            beta, cov = _bl.posterior(xtx, xty, s2, pm, psd)
            g.beta[rows], g.cov[rows] = self._stabilize(g, xtx, xty, s2, pm, psd, beta, cov)
        # roll forward one day at a time; the evidence restarts from the window's start
        g.evidence = g.evidence_daily[:, :D0].sum(1)
        g.evidence_full = g.evidence_full_daily[:, :D0].sum(1)
        u_all, _ = self._u(g, None, days, g.shock_lag, g.shock_tau)
        H = self.calibration_horizon_days * g.p
        t_end = g.t_obs
        g.t_obs = start
        while g.t_obs < t_end:
            h = min(H, t_end - g.t_obs)
            d0, d1 = g.t_obs // g.p, (g.t_obs + h - 1) // g.p + 1
            # origins facing a shock they have not learned yet are not "normal" errors: the
            # online scale covers them when they happen; they would inflate every later interval
            # (restrictions on and little shock seen, or harder restrictions than ever seen)
            u_win = u_all[:, d0:d1].max(1)
            u_seen = u_all[:, :d0].max(1) if d0 > 0 else np.zeros(g.n)
            fresh = ((g.evidence < self.min_evidence_days) & (u_win >= 0.5)) | (u_win > u_seen + 0.1)
            mean_log, _ = self._forecast_log(
                g, h, _sh.scenario_indicators(None), self._covariates, observed_only=True
            )
            actual = g.zraw[:, g.t_obs : g.t_obs + h]
            err = actual - mean_log
            blocks = (np.arange(g.t_obs, g.t_obs + h) % g.p) // g.r
            sd = np.sqrt(g.sigma2[:, blocks])
            lead = (np.arange(h) + 1) * g.cadence_s / 86400.0
            ok = np.isfinite(err) & ~fresh[:, None]
            naive = self._naive_week(g, np.arange(g.t_obs, g.t_obs + h), u_all, days[0])
            g.cal_zn.append(((actual - naive) / sd)[ok])
            g.cal_z.append((err / sd)[ok])
            g.cal_lead.append(np.broadcast_to(lead, err.shape)[ok])
            g.cal_row.append(np.broadcast_to(np.arange(g.n)[:, None], err.shape)[ok])
            nxt = min(g.t_obs + g.p, t_end)
            self._kalman_pass(g, g.t_obs, nxt, self._covariates, from_raw=True)
            g.t_obs = nxt
        g.t_obs = t_end

    def _finish_calibration(self) -> None:
        names = sorted({str(k) for g in self._groups for k in g.kinds})
        code_of = {k: i for i, k in enumerate(names)}
        zs, zns, codes, buckets = [], [], [], []
        for g in self._groups:
            if g.cal_z:
                kc = np.array([code_of[str(k)] for k in g.kinds], dtype=np.int64)
                zs.append(np.concatenate(g.cal_z))
                zns.append(np.concatenate(g.cal_zn))
                codes.append(kc[np.concatenate(g.cal_row)])
                buckets.append(_cf.lead_bucket(np.concatenate(g.cal_lead)))
            g.cal_z = g.cal_lead = g.cal_row = g.cal_zn = None
        q = np.array(self.quantiles)
        self._ms1 = {}
        self._wtable = {}
        if zs:
            z, zn, kc, b = (
                np.concatenate(zs),
                np.concatenate(zns),
                np.concatenate(codes),
                np.concatenate(buckets),
            )
            # forecast combination with the seasonal naive (same step, latest week), one weight per
            # kind and lead bucket, least squares on the calibration errors (Bates & Granger 1969)
            both = np.isfinite(z) & np.isfinite(zn)
            for c in np.unique(kc):
                for bb in np.unique(b[kc == c]):
                    sel = both & (kc == c) & (b == bb)
                    if sel.sum() < 50:
                        continue
                    d = zn[sel] - z[sel]
                    den = float(np.sum(d * d))
                    w = float(np.clip(np.sum(zn[sel] * d) / den, 0.0, 1.0)) if den > 0 else 1.0
                    self._wtable[(names[int(c)], int(bb))] = w
            wv = (
                np.array([self._wtable.get((names[int(c)], int(bb)), 1.0) for c, bb in zip(kc, b)])
                if len(z)
                else z
            )
            z = np.where(np.isfinite(zn), wv * z + (1.0 - wv) * zn, z)
            # quantiles need no more than ~200k residuals per kind: keep an even stride (in
            # origin order, so the split-half coverage check stays out of sample)
            keep = np.ones(len(z), bool)
            for c in np.unique(kc):
                idx = np.flatnonzero(kc == c)
                if len(idx) > 200_000:
                    keep[idx] = False
                    keep[idx[:: int(np.ceil(len(idx) / 200_000))]] = True
            z, kc, b = z[keep], kc[keep], b[keep]
            table, report = _cf.conformal_z(z, kc, b, q)
            self._ztable = {(names[int(k)], bb): v for (k, bb), v in table.items()}
            if len(report):
                report["kind"] = [names[int(k)] for k in report["kind"]]
            self.calibration_ = report
            # mean square of one-day-ahead standardized residuals per kind: the online scale's unit
            for c in np.unique(kc):
                sel = (kc == c) & (b == 0) & np.isfinite(z)
                if sel.sum() > 20:
                    lim = 6 * 1.4826 * np.median(np.abs(z[sel]))
                    ms = float(np.mean(np.clip(z[sel], -lim, lim) ** 2))
                    self._ms1[names[int(c)]] = ms if np.isfinite(ms) and ms > 1e-6 else 1.0
        else:
            self._ztable, self.calibration_ = {}, pd.DataFrame()
        for g in self._groups:
            g.v = np.array([self._ms1.get(str(kd), 1.0) for kd in g.kinds])

    # ------------------------------------------------------------------ Kalman pass
    def _q(self, g: _Group) -> np.ndarray:
        q = np.full(g.k, self.adaptation["other"])
        for fam in ("level", "dow", "shock", "lag", "covariate"):
            q[g.groups[fam]] = self.adaptation[fam]
        return q / g.r

    def _kalman_pass(self, g: _Group, a: int, b: int, covs: pd.DataFrame, from_raw: bool) -> None:
        """Kalman updates of all (resource, block) states with observations on steps [a, b)."""
        q = self._q(g)
        lam = 1.0 - 0.5 ** (1.0 / max(self.scale_halflife_days * g.p, 1.0))
        for c0 in range(a, b, g.p):
            c1 = min(c0 + g.p, b)
            X = self._design(g, c0, c1, covs)
            steps = np.arange(c0, c1)
            blocks = (steps % g.p) // g.r
            order = np.lexsort((steps, blocks))
            y_all = g.zraw[:, c0:c1]
            bsorted = blocks[order]
            rank = np.arange(len(order)) - np.searchsorted(bsorted, bsorted, side="left")
            for j in range(g.r):  # sub-steps within a block (1 when cadence >= 30 min)
                sel = np.sort(order[rank == j])  # the j-th occurrence of each block in this chunk
                if len(sel) == 0:
                    continue
                bb = blocks[sel]
                xs = X[:, sel, :].reshape(-1, g.k)
                ys = y_all[:, sel].reshape(-1)
                beta = g.beta[:, bb, :].reshape(-1, g.k).copy()
                cov = g.cov[:, bb, :, :].reshape(-1, g.k, g.k).copy()
                s2 = g.sigma2[:, bb].reshape(-1)
                pred = np.einsum("bk,bk->b", np.nan_to_num(xs), beta)
                # at a fresh shock (restrictions on, little shock seen yet) large innovations are
                # the signal, not outliers: no clipping there, so the response is learned in a day
                fresh = (X[:, sel, g.groups["shock"][0]] >= 0.5) & (g.evidence < self.min_evidence_days)[
                    :, None
                ]
                clip = np.where(fresh, np.inf, self.robust)
                beta, cov, z = _bl.kalman_update(beta, cov, xs, ys, s2, q, clip=clip.reshape(-1))
                g.beta[:, bb, :] = beta.reshape(g.n, len(sel), g.k)
                g.cov[:, bb, :, :] = cov.reshape(g.n, len(sel), g.k, g.k)
                z = z.reshape(g.n, len(sel))
                # lag source: observed value, clipped toward the prediction if it is an outlier
                pred = pred.reshape(g.n, len(sel))
                sd = np.sqrt(g.sigma2[:, bb])
                obs = g.zraw[:, c0 + sel]
                # wide limit (3x the Huber threshold, scaled by the online error level): a level
                # shift must reach the lags, a spike must not
                ms1 = (
                    np.array([self._ms1.get(str(kd), 1.0) for kd in g.kinds])
                    if hasattr(self, "_ms1")
                    else 1.0
                )
                lim = 3 * self.robust * sd * np.sqrt(np.maximum(g.v / ms1, 1.0))[:, None]
                lim = np.where(fresh, np.inf, lim)
                clean = np.where(np.isfinite(obs), pred + np.clip(obs - pred, -lim, lim), pred)
                g.zfill[:, c0 + sel] = clean
                # online scale (standardized by the block noise sd)
                e2 = np.where(np.isfinite(z), np.square(np.clip((obs - pred) / sd, -6, 6)), np.nan)
                m_ = e2.shape[1]
                wts = lam * (1 - lam) ** (m_ - 1 - np.arange(m_))
                e2 = np.where(np.isfinite(e2), e2, g.v[:, None])
                g.v = (1 - lam) ** m_ * g.v + e2 @ wts
            # shock evidence
            iu = g.groups["shock"][0]
            seen = np.isfinite(y_all).mean(1) * (c1 - c0) / g.p
            g.evidence += (np.nanmax(X[..., iu], axis=1) >= 0.5) * seen
            g.evidence_full += (np.nanmax(X[..., iu], axis=1) >= _tr.FULL_INTENSITY) * seen

    def _update_group(self, g: _Group, sub: pd.DataFrame, cutoff: pd.Timestamp | None = None) -> None:
        step = np.timedelta64(g.cadence_s, "s").astype("timedelta64[ns]")
        idx = self._utc_to_step(pd.DatetimeIndex(sub["ts"]), g.tz, g.w0, step)
        keep = idx >= g.t_obs
        sub, idx = sub[keep], idx[keep]
        t_new, end_utc = g.t_obs, g.end_utc
        if len(sub):
            last = sub["ts"].max() + pd.Timedelta(seconds=g.cadence_s)
            t_last = int(self._utc_to_step(pd.DatetimeIndex([last]), g.tz, g.w0, step)[0])
            t_new, end_utc = max(t_new, int(idx.max()) + 1, t_last), max(end_utc, last)
        if cutoff is not None and cutoff > end_utc:
            # the origin moves to the cutoff: steps without data are gaps (predicted, not learned)
            t_new = max(t_new, int(self._utc_to_step(pd.DatetimeIndex([cutoff]), g.tz, g.w0, step)[0]))
            end_utc = cutoff
        if t_new <= g.t_obs:
            return
        T = g.zraw.shape[1]
        need = int(np.ceil(t_new / g.p)) * g.p
        if need > T:
            pad = np.full((g.n, need - T), np.nan)
            g.zraw = np.concatenate([g.zraw, pad], axis=1)
            g.zfill = np.concatenate([g.zfill, pad.copy()], axis=1)
        row = pd.Index(g.ids).get_indexer(sub["resource_id"].to_numpy())
        acc = np.zeros((g.n, t_new - g.t_obs))
        cnt = np.zeros_like(acc)
        np.add.at(acc, (row, idx - g.t_obs), sub["load"].to_numpy())
        np.add.at(cnt, (row, idx - g.t_obs), 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.log(acc / cnt + g.c[:, None]) - g.mu[:, None]
        g.zraw[:, g.t_obs : t_new] = z
        self._kalman_pass(g, g.t_obs, t_new, self._covariates, from_raw=True)
        g.t_obs = t_new
        g.end_utc = end_utc

    # ------------------------------------------------------------------ forecasting
    def _forecast_log(
        self, g: _Group, h: int, scen: pd.DataFrame, covs: pd.DataFrame, observed_only: bool = False
    ):
        """Recursive day-by-day forecast of the centred log load on wall steps [t_obs, t_obs + h)."""
        a, b = g.t_obs, g.t_obs + h
        days = g.wall_days(a, b)
        u, src = self._u(g, None, days, g.shock_lag, g.shock_tau, scen)
        need = int(np.ceil(b / g.p)) * g.p
        saved = g.zfill
        if need > g.zfill.shape[1]:
            g.zfill = np.concatenate([g.zfill, np.full((g.n, need - g.zfill.shape[1]), np.nan)], axis=1)
        else:
            g.zfill = g.zfill.copy()
        covf = self._cov_features(g, a, b, covs) if len(g.cov_names) else None
        out = np.empty((g.n, h))
        d_a = a // g.p
        # long leads: anchored on the forecast a week earlier, moved by the long-run change of the
        # shock term and the direct change of the calendar and covariate terms, instead of running the day-lag recursion on: the
        # recursion compounds any error of its coefficients (a level learned during a ramp, lags
        # fitted on calm days) week after week, the anchor does not
        anchor = self.anchor_days * g.p if (self.anchor_days and len(g.groups["lag"])) else 0
        regime = g.groups["shock"]  # a persistent change: its long-run effect
        # calendar, trend, covariates: their direct effect (a holiday moves one day, and maps the
        # day onto the Sunday profile: the same-weekday anchor must learn that from the model)
        direct = np.setdiff1d(np.arange(g.k), np.concatenate([g.groups["lag"], regime]))
        phi = g.beta[..., g.groups["lag"]].sum(-1) if len(g.groups["lag"]) else np.zeros((g.n, g.nb))
        denom = np.clip(1.0 - phi, 0.3, None)  # (n, nb): long-run multiplier 1 / (1 - phi)
        S = np.zeros((g.n, h))
        try:
            for c0 in range(a, b, g.p):
                c1 = min(c0 + g.p, b)
                uc = u[:, (c0 // g.p - d_a) : ((c1 - 1) // g.p - d_a) + 1]
                X = self._design(
                    g, c0, c1, covs, u=uc, covf=None if covf is None else covf[:, c0 - a : c1 - a]
                )
                blocks = (np.arange(c0, c1) % g.p) // g.r
                bsel = g.beta[:, blocks, :]
                yhat = np.einsum("nmk,nmk->nm", np.nan_to_num(X), bsel)
                if anchor:
                    S[:, c0 - a : c1 - a] = np.einsum(
                        "nmk,nmk->nm", X[..., regime], bsel[..., regime]
                    ) / denom[:, blocks] + np.einsum(
                        "nmk,nmk->nm", np.nan_to_num(X[..., direct]), bsel[..., direct]
                    )
                    far = np.arange(c0, c1) - a >= anchor
                    if far.any():
                        j = np.arange(c0, c1)[far] - a
                        yhat[:, far] = out[:, j - anchor] + S[:, j] - S[:, j - anchor]
                out[:, c0 - a : c1 - a] = yhat
                g.zfill[:, c0:c1] = yhat
        finally:
            g.zfill = saved
        return out, src

    def _naive_week(self, g: _Group, steps: np.ndarray, u: np.ndarray, day0: np.datetime64) -> np.ndarray:
        """Seasonal naive in log: the same step in the latest week before the origin ``g.t_obs``.

        NaN where that week is not in the history or had another restriction level than the
        target day (``u`` = driver per resource and day from ``day0``): the naive cannot know a
        change of regime, the model can.
        """
        wk = 7 * g.p
        k = (steps - g.t_obs) // wk + 1
        src = steps - wk * k
        okk = src >= 0
        out = np.full((g.n, len(steps)), np.nan)
        out[:, okk] = g.zfill[:, src[okk]]
        d_t = g.wall_days(steps[0], steps[-1] + 1)[steps // g.p - steps[0] // g.p]
        d_s = d_t - 7 * k
        it = (d_t - day0).astype(np.int64)
        is_ = (d_s - day0).astype(np.int64)
        inside = (is_ >= 0) & (it < u.shape[1])
        differ = np.ones((g.n, len(steps)), bool)
        differ[:, inside] = np.abs(u[:, it[inside]] - u[:, is_[inside]]) > 0.1
        # nor a public holiday: "same day last week" of Easter Monday is an ordinary Monday
        for region in pd.unique(g.regions):  # regions, few
            rr = g.regions == region
            hol_t = _ft.region_holidays(region or None, d_t)
            hol_s = _ft.region_holidays(region or None, d_s)
            differ[rr] |= (hol_t | hol_s)[None, :]
        out[differ] = np.nan
        return out

    def _combine(self, g: _Group, ml: np.ndarray, naive: np.ndarray, lead: np.ndarray) -> np.ndarray:
        """Calibrated combination of the model and the seasonal naive (log scale)."""
        if not getattr(self, "_wtable", None):
            return ml
        bucket = _cf.lead_bucket(lead)
        w = np.ones(ml.shape)
        for kind in pd.unique(g.kinds):
            rows = g.kinds == kind
            have = sorted(bb for (kd, bb) in self._wtable if kd == kind)
            if not have:
                continue
            for bb in np.unique(bucket):
                use = max([x for x in have if x <= bb], default=have[0])
                w[np.ix_(rows, bucket == bb)] = self._wtable[(str(kind), use)]
        return np.where(np.isfinite(naive), w * ml + (1.0 - w) * naive, ml)

    def _predict_group(
        self, g: _Group, h: int, scen: pd.DataFrame, covs: pd.DataFrame, regime: dict[str, Any] | None = None
    ):
        step = np.timedelta64(g.cadence_s, "s").astype("timedelta64[ns]")
        utc = pd.date_range(g.end_utc, periods=h, freq=pd.Timedelta(seconds=g.cadence_s))
        widx = self._utc_to_step(utc, g.tz, g.w0, step)
        widx = np.maximum(widx, g.t_obs)
        hw = int(widx.max()) - g.t_obs + 1
        mean_log, src = self._forecast_log(g, hw, scen, covs)
        pos = widx - g.t_obs
        ml = mean_log[:, pos]  # (n, h)
        prob = shift = shift_sd = None
        if regime is not None:
            at_risk = np.isin(g.regions.astype(str), list(regime["calm"]))
            if at_risk.any():
                shocked, _ = self._forecast_log(g, hw, regime["scen"], covs)
                shift = np.where(at_risk[:, None], shocked[:, pos] - ml, 0.0)
                # leads counted from the origin day (the first forecast step's UTC day)
                day0 = regime["asof"]
                lead_from = (utc.tz_convert("UTC").tz_localize(None) - day0) / pd.Timedelta(days=1) + 1.0
                law = np.array([regime["law"].get(str(r), (np.nan, 1.0, 1.0)) for r in g.regions], float)
                haz = np.where(at_risk, regime["hazard"], 0.0)
                prob = _cf.regime_probability(
                    np.asarray(lead_from, float), law[:, 0], law[:, 1], law[:, 2], haz
                )
                prob = np.where(at_risk[:, None] & np.isfinite(shift), prob, 0.0)
                shift = np.nan_to_num(shift)
                # uncertainty of the response itself (prior / pool spread, posterior once seen),
                # long run: sd(beta) / (1 - sum of day lags), the larger of weekend / weekday size
                iu, iw = g.groups["shock"]
                cv = g.cov
                var = np.maximum(cv[..., iu, iu], cv[..., iu, iu] + cv[..., iw, iw] + 2 * cv[..., iu, iw])
                lagc = g.groups["lag"]
                phi = g.beta[..., lagc].sum(-1) if len(lagc) else np.zeros((g.n, g.nb))
                shift_sd = (np.sqrt(np.clip(var, 0.0, None)) / np.clip(1.0 - phi, 0.3, None))[
                    :, (widx % g.p) // g.r
                ]
        lead0 = (np.arange(h) + 1) * g.cadence_s / 86400.0
        if getattr(self, "_wtable", None):
            first_day = g.wall_days(max(0, g.t_obs - 7 * g.p), g.t_obs + 1)[0]
            last_day = g.wall_days(int(widx.max()), int(widx.max()) + 1)[-1]
            span = np.arange(first_day, last_day + 1, dtype="datetime64[D]")
            u, _ = self._u(g, None, span, g.shock_lag, g.shock_tau, scen)
            naive = self._naive_week(g, widx, u, span[0])
            ml = self._combine(g, ml, naive, lead0)
        blocks = (widx % g.p) // g.r
        sd = np.sqrt(g.sigma2[:, blocks])
        ms1 = np.array([self._ms1.get(str(kd), 1.0) for kd in g.kinds])
        mult = np.sqrt(np.clip(g.v / ms1, 0.25, 16.0))[:, None]
        lead = (np.arange(h) + 1) * g.cadence_s / 86400.0
        zq = self._zq(g.kinds, lead)  # (n, h, nq)
        scale = sd * mult
        zgrid = self._zq(g.kinds, lead, grid=True)  # (n, h, 99)
        if prob is not None:
            live = (prob > 1e-4) & ((np.abs(shift) > 1e-6) | (shift_sd > 1e-6))
            if live.any():
                from scipy.special import ndtri

                spread = (zgrid[..., -1] - zgrid[..., 0]) / (2.0 * ndtri(0.995))
                zq = zq.copy()
                zq[live] = _cf.regime_mixture_z(
                    zq[live],
                    np.array(self.quantiles),
                    spread[live],
                    shift[live] / scale[live],
                    prob[live],
                    shift_sd[live] / scale[live],
                )
        cols = {}
        for j, q in enumerate(self.quantiles):
            cols[_ft.quantile_column(q)] = np.exp(ml + g.mu[:, None] + zq[..., j] * scale) - g.c[:, None]
        # mean of the predictive distribution, winsorized at its 10% and 90% quantiles (a robust
        # mean: it stays between p10 and p90). The plain average of the calibrated quantile
        # function is ruled by its upper tail wherever the log scale is wide (near-idle night and
        # weekend hours, a large online scale just after a shock, the sqrt(lead) growth past the
        # calibrated leads): measured on a conference bridge 4 weeks ahead, a busy-hour mean of
        # 20,000 with p90 at 150. The regime mixture below moves it beyond p90 where it applies.
        lo_w = int(np.searchsorted(_GRID, _MEAN_WINSOR - 1e-9))
        hi_w = int(np.searchsorted(_GRID, 1.0 - _MEAN_WINSOR + 1e-9)) - 1
        zw = np.clip(zgrid, zgrid[..., lo_w : lo_w + 1], zgrid[..., hi_w : hi_w + 1])
        mean = (np.exp(ml + g.mu[:, None])[..., None] * np.exp(zw * scale[..., None])).mean(-1)
        if prob is not None:  # the changed regime: the same law shifted by N(shift, shift_sd^2) (log)
            mean = mean * ((1.0 - prob) + prob * np.exp(shift + 0.5 * shift_sd**2))
        mean = mean - g.c[:, None]
        # the median of the law the columns come from (a regime mixture moves it too)
        median = cols.get("p50")
        if median is None:
            median = np.exp(ml + g.mu[:, None] + zgrid[..., len(_GRID) // 2] * scale) - g.c[:, None]
        qs = sorted(self.quantiles)
        cap_idle_spread(median, [cols[_ft.quantile_column(q)] for q in qs if q > 0.5] + [mean], widx // g.p, g.p)
        for lo, hi in zip(qs[:-1], qs[1:]):  # quantiles stay ordered
            np.maximum(cols[_ft.quantile_column(hi)], cols[_ft.quantile_column(lo)], out=cols[_ft.quantile_column(hi)])
        n = g.n
        frame = pd.DataFrame(
            {
                "resource_id": np.repeat(g.ids, h),
                "ts": np.tile(utc.to_numpy(), n),
                "mean": mean.reshape(-1),
                **{k: v.reshape(-1) for k, v in cols.items()},
            }
        )
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        return frame, src

    def _zq(self, kinds: np.ndarray, lead: np.ndarray, grid: bool = False) -> np.ndarray:
        """z-quantiles per (resource, lead): calibrated where possible, sqrt(lead) growth beyond."""
        q = _GRID if grid else np.array(self.quantiles)
        bucket = _cf.lead_bucket(lead)
        out = np.empty((len(kinds), len(lead), len(q)))
        for kind in pd.unique(kinds):
            rows = kinds == kind
            have = sorted(b for (kd, b) in self._ztable if kd == kind)
            for b in np.unique(bucket):
                cols = bucket == b
                if have:
                    bb = max([x for x in have if x <= b], default=have[0])
                    zq = self._ztable[(str(kind), bb)]
                    if grid:
                        zq = _grid_from(zq, np.array(self.quantiles), q)
                    lmax = _cf.BUCKET_EDGES_DAYS[bb + 1]
                    growth = (
                        np.sqrt(np.clip(lead[cols] / lmax, 1.0, 9.0))
                        if np.isfinite(lmax)
                        else np.ones(cols.sum())
                    )
                    med = zq[np.argmin(np.abs(q - 0.5))] if (np.abs(q - 0.5) < 1e-9).any() else 0.0
                    out[np.ix_(rows, cols)] = (med + (zq[None, :] - med) * growth[:, None])[None]
                else:
                    out[np.ix_(rows, cols)] = _cf.gaussian_z(q)[None, None, :]
        return out



class _ShapeSearch:
    """Search of the shock response shape of one group's resources with shock history.

    The total least absolute deviation of a fit without the day lags (they would carry any
    level shift one day later and make every shape fit about equally well) is computed per
    resource for each candidate shape; candidates are compared on the totals over the resources
    of one (region, kind) (a shape is a property of a service in a country); the kind's pooled
    shape, which resources without enough shock history of their own take (transfer from regions
    hit earlier), is the median over them (``ShockForecaster._pool_shapes``). Steps: the lag on
    ``shock_lag_grid`` (negative = the load moves before the indicator) with an immediate
    response (:meth:`lag_step`); then, once the driver mapping is chosen over all groups
    (``ShockForecaster._select_driver``, which calls :meth:`score`), (lag, rise time constant)
    jointly around the lag, and the decay time constant (habits that persist after restrictions
    lift) (:meth:`finish`). Near-ties (1%) keep the simpler shape.
    """

    def __init__(self, model: ShockForecaster, g: _Group, covf: np.ndarray | None) -> None:
        self.m, self.g = model, g
        self.rows = rows = np.flatnonzero(g.evidence >= model.min_evidence_days)
        self.kinds = g.kinds[rows]
        self.keys = np.array([f"{r}\x00{k}" for r, k in zip(g.regions[rows], g.kinds[rows])])
        self.lag = np.full(len(rows), model.default_shock_lag, dtype=np.int64)
        self.tau0 = np.zeros((len(rows), 2))
        T = g.zraw.shape[1]
        self.days = g.wall_days(0, T)
        self.pm, self.psd = model._prior(g)
        grid = model.shock_lag_grid
        skip = (max(max(grid), 0) + max(g.lags, default=0)) * g.r
        self.cache = []
        for ch in _chunks(len(rows), model.batch_size):
            rr = rows[ch]
            X = model._block_view(
                g, model._design(g, 0, T, model._covariates, u=np.zeros((len(rr), T // g.p)), rows=rr, covf=covf)
            )
            X[..., g.groups["lag"]] = 0.0
            yb = model._block_view(g, g.zraw[rr])
            w = (np.isfinite(yb) & np.all(np.isfinite(X), axis=-1)).astype(float)
            w[..., :skip] = 0.0  # compare on the same rows for every shape
            self.cache.append((rr, ch, X, yb, w, model._weekday_b(g, rr, T)))

    def score(self, lag: np.ndarray, tau: np.ndarray, spec: np.ndarray | None = None) -> np.ndarray:
        """(len(rows),) total absolute residual per resource for one shape (and mapping) per resource."""
        g, m = self.g, self.m
        iu, iw = g.groups["shock"]
        out = np.zeros(len(self.rows))
        for rr, ch, X, yb, w, wd in self.cache:
            u, _ = m._u(g, rr, self.days, lag[ch], tau[ch], spec=None if spec is None else spec[ch])
            ub = m._block_view(g, np.repeat(u, g.p, axis=1))
            X[..., iu] = ub
            X[..., iw] = ub * wd
            xtx, xty, _ = _bl.normal_stats(X, yb, w)
            beta, _ = _bl.posterior(xtx, xty, np.full(xtx.shape[:2], 1e-4), self.pm[rr], self.psd[rr])
            res = yb - np.einsum("nbmk,nbk->nbm", np.nan_to_num(X), beta)
            out[ch] = np.where(w > 0, np.abs(res), 0.0).sum((1, 2))  # LAD: robust to spikes
        return out

    def pick(self, sse: np.ndarray) -> np.ndarray:
        """Best candidate per (region, kind); near-ties (1%): the first (simplest) one."""
        best = np.zeros(len(self.rows), dtype=np.int64)
        for key in pd.unique(self.keys):
            sel = self.keys == key
            tot = sse[:, sel].sum(1)
            best[sel] = int(np.flatnonzero(tot <= 1.01 * tot.min() + 1e-12)[0])
        return best

    def lag_step(self) -> None:
        grid = self.m.shock_lag_grid
        n = len(self.rows)
        sse = np.stack([self.score(np.full(n, L), self.tau0) for L in grid])
        self.lag = np.array([grid[i] for i in self.pick(sse)], dtype=np.int64)

    def finish(self) -> None:
        m, g = self.m, self.g
        n = len(self.rows)
        z2 = self.tau0
        # (lag, rise) jointly: a ramp centred later than its start is a shorter lag + a rise
        cand = [(0, 0.0)] + [(dl, tu) for tu in m.shock_tau_grid[0] if tu > 0 for dl in (0, -2, -4)]
        lo = min(m.shock_lag_grid)
        sse2 = np.stack(
            [
                self.score(np.maximum(self.lag + dl, lo), np.column_stack([np.full(n, tu), z2[:, 1]]))
                for dl, tu in cand
            ]
        )
        i2 = self.pick(sse2)
        lag = np.maximum(self.lag + np.array([cand[i][0] for i in i2]), lo)
        up = np.array([cand[i][1] for i in i2])
        # decay (persistence after lifting)
        dn = [0.0] + [t for t in m.shock_tau_grid[1] if t > 0]
        sse3 = np.stack([self.score(lag, np.column_stack([up, np.full(n, td)])) for td in dn])
        down = np.array([dn[i] for i in self.pick(sse3)])
        g.shock_lag[self.rows], g.shock_tau[self.rows, 0], g.shock_tau[self.rows, 1] = lag, up, down
        self.cache = []


def cap_idle_spread(median: np.ndarray, upper: list[np.ndarray], day: np.ndarray, steps_per_day: int) -> None:
    """Bound the upper spread of a day's quiet steps by its busy step's, in load units (in place).

    The quantiles come from the log scale, where a near-idle hour (a contact centre at night, 2-5
    calls) has a residual spread ten times the busy hours', widened further at long leads by the
    online scale and the sqrt(lead) growth: four weeks ahead a contact centre's 22:00 hour got
    p50 = 0.2, p90 = 730 and p99 = 37 million calls, its p90 twenty times the day's busy hour. The
    started log (:func:`log_shift`) removes most of that; this bound is the guarantee. For each
    resource and local day, the excess over the median (``column - median``) of every step of
    every upper column (quantiles above 0.5, the mean) is at most that of the day's busiest step
    (highest median): an idle hour is never less certain, in calls or Erlangs, than the busy hour.
    Steps of a partial day (start and end of the horizon) take the nearest whole day's bound;
    a horizon shorter than a day is left as it is (its leads are calibrated directly).

    Parameters
    ----------
    median : (n, h) predictive median per resource and step (load units).
    upper : list of (n, h) arrays (quantile columns above 0.5, the mean), capped in place.
    day : (h,) non-decreasing local day index of each step.
    steps_per_day : steps in a whole day at the cadence.
    """
    if median.shape[1] == 0:
        return
    starts = np.flatnonzero(np.r_[True, np.diff(day) > 0])
    counts = np.diff(np.r_[starts, len(day)])
    whole = np.flatnonzero(counts >= steps_per_day - steps_per_day // 24)  # a DST day has 23 h
    if len(whole) == 0:
        return
    nearest = whole[np.abs(np.arange(len(starts))[:, None] - whole[None, :]).argmin(1)]
    med = np.nan_to_num(median, nan=-np.inf)
    busy = med >= np.repeat(np.maximum.reduceat(med, starts, axis=1), counts, axis=1)
    for a in upper:
        with np.errstate(invalid="ignore"):
            excess = np.maximum.reduceat(np.where(busy, a - median, -np.inf), starts, axis=1)[:, nearest]
        cap = median + np.repeat(np.clip(np.nan_to_num(excess, nan=np.inf, neginf=0.0), 0.0, None), counts, axis=1)
        np.minimum(a, cap, out=a, where=np.isfinite(cap))


def log_shift(load: np.ndarray, floor_share: float = LOG_FLOOR_SHARE) -> np.ndarray:
    """Shift ``c`` added before the log, per row of ``load`` (n, T; NaN = missing), in load units.

    The log makes a multiplicative shock additive, but near zero it has no bounded variance: a
    contact centre taking 2-5 calls an hour at night (sd of the log ~0.5) or 0 (log of the shift
    alone) has night-time log residuals ten times the busy hours', and their calibrated quantiles
    turn to p90 = 1,500 calls where 89 came. ``c`` lifts the low end so that
    ``1st percentile + c >= floor_share x 95th percentile``: series that never come near zero
    (electricity, trunk groups with base traffic) keep ``c = 0``, a pure log; series idle at
    night get ``c`` of a few % of their busy level (a started log, Box & Cox 1964), which bounds
    the log-scale noise of idle hours while the busy hours, which dimensioning uses, stay within
    ``floor_share`` of a pure log. Series with zeros or negative values get at least
    ``1% x |median| - min``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        q01, q50, q95 = np.nanquantile(load, [0.01, 0.5, 0.95], axis=1)
        mn = np.nanmin(load, axis=1)
    started = np.clip(floor_share * np.clip(q95, 0.0, None) - q01, 0.0, None)
    at_zero = np.where(mn > 0, 0.0, 0.01 * np.where(np.abs(q50) > 0, np.abs(q50), 1.0) - np.minimum(mn, 0.0))
    return np.nan_to_num(np.maximum(started, at_zero), nan=0.0)


def _grid_from(zq: np.ndarray, q: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Quantile function on ``grid`` from a few calibrated quantiles: a normal with the calibrated
    median and the widest calibrated spread (a mean needs the whole distribution)."""
    from scipy.stats import norm

    qn = norm.ppf(q)
    med = np.interp(0.5, q, zq) if len(q) > 1 else 0.0
    far = np.argmax(np.abs(qn))
    s = abs((zq[far] - med) / qn[far]) if abs(qn[far]) > 1e-9 else 1.0
    return med + s * norm.ppf(grid)


def _chunks(n: int, size: int):
    for a in range(0, n, max(1, size)):
        yield np.arange(a, min(n, a + size))


def _seasonal_fill(z: np.ndarray, p: int) -> np.ndarray:
    """Fill gaps with the same step on the nearest earlier day, then later day, then the median."""
    n, T = z.shape
    D = T // p
    x = pd.DataFrame(
        z.reshape(n * D, p) if False else z.reshape(n, D, p).transpose(0, 2, 1).reshape(n * p, D).T
    )
    x = x.ffill().bfill()
    out = x.T.to_numpy().reshape(n, p, D).transpose(0, 2, 1).reshape(n, T)
    med = np.nanmedian(z, axis=1)
    return np.where(np.isfinite(out), out, med[:, None])


def _fill_time(raw: np.ndarray) -> np.ndarray:
    """Fill covariate gaps along time (axis 1): hold last, then back-fill."""
    if raw.size == 0:
        return raw
    n, m, c = raw.shape
    df = pd.DataFrame(raw.transpose(1, 0, 2).reshape(m, n * c))
    df = df.ffill().bfill()
    return df.to_numpy().reshape(m, n, c).transpose(1, 0, 2)
