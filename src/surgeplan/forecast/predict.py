"""Prediction of one group: the mean path, the calibrated quantiles, the regime-change mixture.

``log load = mu + combined mean + z x sd x online scale``, with ``z`` the calibrated
z-quantiles (:func:`surgeplan.forecast.calibration.z_quantiles`). Where a calm region may lock
down within the lead (:class:`surgeplan.forecast.future.Regime`), the law is mixed with its copy
shifted by the resource's shock response (:func:`surgeplan.forecast.conformal.regime_mixture_z`).
The mean is the predictive distribution's mean winsorized at its 10% and 90% quantiles, and the
upper spread of a day's quiet steps is bounded by its busy step's (:func:`cap_idle_spread`).

Everything here reads the group and returns new arrays: a forecast changes no state.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from surgeplan.forecast import conformal as _cf
from surgeplan.forecast import features as _ft
from surgeplan.forecast import persistence as _persistence
from surgeplan.forecast.calibration import combine, z_quantiles
from surgeplan.forecast.future import Regime
from surgeplan.forecast.intensity import DriverTables, intensity
from surgeplan.forecast.learned import (
    carried_log_response,
    exposure_spread,
    onset_shift_days,
    response_spread,
    shock_reference,
    thin_spread,
    timing_spread,
    unseen_spread,
)
from surgeplan.forecast.paths import forecast_log, long_run_denominator, naive_week
from surgeplan.forecast.state import Calibration, Group, Options

__all__ = [
    "GRID",
    "cap_idle_spread",
    "online_multiplier",
    "predict_group",
    "response_sd",
    "with_response_spread",
]

#: probability grid of the predictive distribution (mean, mixtures)
GRID = np.linspace(0.005, 0.995, 99)
#: tail share winsorized on each side when averaging the grid into the mean: the plain average of
#: the calibrated quantile function is ruled by its upper tail wherever the log scale is wide
#: (near-idle hours, a large online scale just after a shock): measured on a conference bridge 4
#: weeks ahead, a busy-hour mean of 20,000 with p90 at 150
MEAN_WINSOR = 0.10
#: days before the origin read to count how long each region has been under its driver
_EXPOSURE_LOOKBACK_DAYS = 90
#: most values of the (resources, steps, 99) grid of z-quantiles held at once (16 MiB)
_GRID_VALUES = 2**21
#: bounds of the online scale relative to its calibrated unit (variance ratio): x0.5 to x4 in sd
_SCALE_RATIO = (0.25, 16.0)


@dataclass(slots=True, frozen=True)
class _Shift:
    """Regime-change mixture per (resource, step): probability, log shift and its sd."""

    prob: np.ndarray
    shift: np.ndarray
    shift_sd: np.ndarray


def _regime_shift(
    g, opt, tables, regime: Regime, regime_scen, scen, utc, widx, hw, ml, pos, covs
) -> _Shift | None:
    at_risk = np.isin(g.regions.astype(str), list(regime.calm))
    if not at_risk.any():
        return None
    shocked, _ = forecast_log(g, opt, tables, g.t_obs, hw, regime_scen, covs)
    shift = np.where(at_risk[:, None], shocked[:, pos] - ml, 0.0)
    # the response's own uncertainty enters as far as the change of regime moves the resource's
    # driver: a resource whose rule reads an indicator the restrictions leave alone (case counts),
    # or is already on, has no response to add, hence no uncertainty of it (bundled operator, fit
    # 2 Mar 2020: French contact centres, already under their rule, got a p90 1.9x their median)
    moved = np.abs(_step_intensity(g, tables, regime_scen, widx) - _step_intensity(g, tables, scen, widx))
    # leads counted from the origin day (the first forecast step's UTC day)
    lead_from = (utc.tz_convert("UTC").tz_localize(None) - regime.asof) / pd.Timedelta(days=1) + 1.0
    law = np.array([regime.law.get(str(r), (np.nan, 1.0, 1.0)) for r in g.regions], float)
    haz = np.where(at_risk, regime.hazard, 0.0)
    prob = _cf.regime_probability(np.asarray(lead_from, float), law[:, 0], law[:, 1], law[:, 2], haz)
    prob = np.where(at_risk[:, None] & np.isfinite(shift), prob, 0.0)
    return _Shift(prob, np.nan_to_num(shift), response_sd(g, widx) * moved)


def response_sd(g: Group, widx: np.ndarray) -> np.ndarray:
    """(n, h) sd of the log response at full intensity at each forecast step: the posterior of the
    shock coefficients (prior or pool spread until the resource's own data say more), long run,
    ``sd(beta) / (1 - sum of day lags)``, the larger of the weekend and weekday sizes."""
    iu, iw = g.groups["shock"]
    cv = g.cov
    var = np.maximum(cv[..., iu, iu], cv[..., iu, iu] + cv[..., iw, iw] + 2 * cv[..., iu, iw])
    return (np.sqrt(np.clip(var, 0.0, None)) / long_run_denominator(g))[:, g.block_of(widx)]


def _step_days(g: Group, widx: np.ndarray, lookback_days: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Local days from ``lookback_days`` before the first forecast step's to the last one's, and
    each step's position in them."""
    d0 = g.wall_days(int(widx.min()), int(widx.min()) + 1)[0]
    d1 = g.wall_days(int(widx.max()), int(widx.max()) + 1)[-1]
    span = np.arange(d0 - lookback_days, d1 + 1, dtype="datetime64[D]")
    return span, (g.w0.astype("datetime64[D]") + widx // g.p - span[0]).astype(np.int64)


def _step_intensity(g: Group, tables: DriverTables, scen, widx: np.ndarray) -> np.ndarray:
    """(n, h) restriction intensity (lagged, shaped) of each resource at each forecast step."""
    span, pos = _step_days(g, widx)
    u, _ = intensity(g, tables, None, span, g.shock_lag, g.shock_tau, scen)
    return u[:, pos]


def _response_sd(
    g: Group, opt: Options, tables: DriverTables, scen, widx: np.ndarray, drivers: dict
) -> tuple[np.ndarray, np.ndarray]:
    """(n, h) log sd of the response carried to each forecast step: its size, onset and shape are
    not known until the region shows them (:func:`learned.response_spread`,
    :func:`learned.timing_spread`, :func:`learned.exposure_spread`, :func:`learned.thin_spread`),
    and a kind flat so far may still respond (:func:`learned.unseen_spread`); and (n, h) the log
    response carried (:func:`learned.carried_log_response`)."""
    # from before the origin: how many days each region has been under its driver
    span, pos = _step_days(g, widx, _EXPOSURE_LOOKBACK_DAYS)
    u, _ = intensity(g, tables, None, span, g.shock_lag, g.shock_tau, scen)
    working = _ft.working_days(g.regions, span)
    # the onset is known to a day or more: the response earlier and later
    shift = onset_shift_days(g, drivers)
    early, _ = intensity(g, tables, None, span, np.maximum(g.shock_lag - shift, 0), g.shock_tau, scen)
    late, _ = intensity(g, tables, None, span, g.shock_lag + shift, g.shock_tau, scen)
    u_steps, wk = u[:, pos], working[:, pos]
    days_on = np.cumsum(u >= 0.5, axis=1)[:, pos]
    carried = response_spread(g, drivers, u_steps, wk, opt.min_evidence_days)
    timing = timing_spread(g, drivers, early[:, pos] - late[:, pos], wk)
    exposure = exposure_spread(g, drivers, days_on, u_steps, wk)
    thin = thin_spread(g, drivers, u_steps, response_sd(g, widx))
    unseen = _unseen(g, opt, tables, scen, span, pos, drivers)
    sd = np.sqrt(carried**2 + timing**2 + exposure**2 + thin**2 + unseen**2)
    return sd, carried_log_response(g, drivers, u_steps, wk)


def _unseen(g: Group, opt: Options, tables: DriverTables, scen, span, pos, drivers: dict) -> np.ndarray:
    """:func:`learned.unseen_spread` at each step, under the driver of the kind watched longest."""
    ref = shock_reference(drivers)
    if ref is None or opt.specs.index(ref.candidate) not in tables.tables:
        return np.zeros((g.n, len(pos)))
    spec = np.full(g.n, opt.specs.index(ref.candidate), np.int64)
    lag = np.full(g.n, ref.delay_days, np.int64)
    tau = np.tile([ref.tau_up_days, ref.tau_down_days], (g.n, 1))
    u, _ = intensity(g, tables, None, span, lag, tau, scen, spec=spec)
    return unseen_spread(g, drivers, np.cumsum(u >= 0.5, axis=1)[:, pos], u[:, pos])


def _mix(zq, spread, quantiles, scale, mix: _Shift) -> np.ndarray:
    live = (mix.prob > 1e-4) & ((np.abs(mix.shift) > 1e-6) | (mix.shift_sd > 1e-6))
    if not live.any():
        return zq
    zq = zq.copy()
    zq[live] = _cf.regime_mixture_z(
        zq[live],
        np.array(quantiles),
        spread[live],
        mix.shift[live] / scale[live],
        mix.prob[live],
        mix.shift_sd[live] / scale[live],
    )
    return zq


def _winsorized_mean(mu, c, ml, zgrid, scale, mix: _Shift | None) -> np.ndarray:
    lo_w = int(np.searchsorted(GRID, MEAN_WINSOR - 1e-9))
    hi_w = int(np.searchsorted(GRID, 1.0 - MEAN_WINSOR + 1e-9)) - 1
    zw = np.clip(zgrid, zgrid[..., lo_w : lo_w + 1], zgrid[..., hi_w : hi_w + 1])
    mean = (np.exp(ml + mu[:, None])[..., None] * np.exp(zw * scale[..., None])).mean(-1)
    if mix is not None:  # the changed regime: the same law shifted by N(shift, shift_sd^2) (log)
        mean = mean * ((1.0 - mix.prob) + mix.prob * np.exp(mix.shift + 0.5 * mix.shift_sd**2))
    return mean - c[:, None]


def _grid_moments(
    g: Group, opt: Options, cal: Calibration, lead: np.ndarray, ml: np.ndarray, scale: np.ndarray, mix
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, h) each: the noise law's median (log, from ``ml + mu``), the spread of its grid of
    quantiles (the regime mixture's scale) and the winsorized mean, from the (n, h, 99) grid of
    z-quantiles (:data:`GRID`) taken a few resources at a time. Every value is per resource and
    step, so the batches change no bit; a whole group's grid was a forecast's largest transient
    (~300 MiB for 128 resources four weeks ahead, hourly)."""
    n, h = ml.shape
    centre, spread, mean = np.empty((n, h)), np.empty((n, h)), np.empty((n, h))
    size = max(1, _GRID_VALUES // max(1, h * len(GRID)))
    for a in range(0, n, size):
        r = slice(a, min(n, a + size))
        zgrid = z_quantiles(cal, opt.quantiles, g.kinds[r], lead, grid=GRID)  # (rows, h, 99)
        centre[r] = zgrid[..., len(GRID) // 2] * scale[r]
        spread[r] = (zgrid[..., -1] - zgrid[..., 0]) / (2.0 * ndtri(0.995))
        part = None if mix is None else _Shift(mix.prob[r], mix.shift[r], mix.shift_sd[r])
        mean[r] = _winsorized_mean(g.mu[r], g.c[r], ml[r], zgrid, scale[r], part)
    return centre, spread, mean


def online_multiplier(ratio: np.ndarray, lead: np.ndarray, halflife_days: float) -> np.ndarray:
    """(n, h) factor of the noise sd from the online error scale (``ratio`` = its mean square over
    the calibrated unit, per resource), fading toward 1 with the lead.

    The online scale is the recent errors' level (an average with half-life ``halflife_days``):
    it tells the next days' errors, not those of a month ahead, where the calibrated quantiles'
    own growth applies. Held over every lead, the errors of a shock's first days (not learned yet,
    large) multiplied the sqrt(lead) growth: a VPN gateway's p99 six weeks ahead reached 11x its
    median (bundled operator, fit 16 Mar 2020), 10x its highest measured busy hour.
    """
    m = np.sqrt(np.clip(ratio, *_SCALE_RATIO))[:, None]
    return 1.0 + (m - 1.0) * 0.5 ** (lead[None, :] / halflife_days)


def predict_group(
    g: Group,
    opt: Options,
    cal: Calibration,
    tables: DriverTables,
    h: int,
    scen: dict[int, pd.DataFrame],
    covs: pd.DataFrame,
    regime: Regime | None = None,
    regime_scen: dict[int, pd.DataFrame] | None = None,
    drivers: dict | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Forecast ``h`` steps of ``g`` from its origin: ``resource_id, ts, mean, p..`` and the sources.

    ``drivers``: the learned drivers per kind (:mod:`surgeplan.forecast.learned`); a response seen
    in one region only widens the law where the driver is on (:func:`learned.thin_spread`)."""
    utc = pd.date_range(g.end_utc, periods=h, freq=pd.Timedelta(seconds=g.cadence_s))
    widx = np.maximum(g.utc_to_step(utc), g.t_obs)
    hw = int(widx.max()) - g.t_obs + 1
    mean_log, src = forecast_log(g, opt, tables, g.t_obs, hw, scen, covs)
    pos = widx - g.t_obs
    ml = mean_log[:, pos]  # (n, h)
    mix = None
    if regime is not None:
        mix = _regime_shift(g, opt, tables, regime, regime_scen, scen, utc, widx, hw, ml, pos, covs)
    lead = (np.arange(h) + 1) * g.cadence_s / 86400.0
    if cal.wtable:
        first_day = g.wall_days(max(0, g.t_obs - 7 * g.p), g.t_obs + 1)[0]
        last_day = g.wall_days(int(widx.max()), int(widx.max()) + 1)[-1]
        span = np.arange(first_day, last_day + 1, dtype="datetime64[D]")
        u, _ = intensity(g, tables, None, span, g.shock_lag, g.shock_tau, scen)
        naive = naive_week(g, g.t_obs, widx, u, span[0])
        carried = _persistence.correction(g, hw)  # the recent error, as the model carries it
        ml = combine(cal, g.kinds, ml, naive if carried is None else naive + carried[:, pos], lead)
    sd = np.sqrt(g.sigma2[:, g.block_of(widx)])
    scale = sd * online_multiplier(g.v / cal.unit(g.kinds), lead, opt.scale_halflife_days)
    zq = z_quantiles(cal, opt.quantiles, g.kinds, lead)  # (n, h, nq)
    # the mean is taken at the carried response: the size's spread is symmetric in log and would
    # move the mean by up to exp(sd^2 / 2), 2x for a size two regions disagree on, not a forecast
    centre, spread, mean = _grid_moments(g, opt, cal, lead, ml, scale, mix)
    if mix is not None:
        zq = _mix(zq, spread, opt.quantiles, scale, mix)
        # the response's spread below is added around the median of the law: the mixture's, not
        # the noise law's (around the latter, a calm region's fall under a likely lockdown became
        # a spread on both sides: p50 at the pre-shock level, p90 above it)
        centre = _mix((centre / scale)[..., None], spread, (0.5,), scale, mix)[..., 0] * scale
    dev = zq * scale[..., None]
    if drivers and any(ch.evidence in ("thin", "loro") for ch in drivers.values()):
        resp, carried = _response_sd(g, opt, tables, scen, widx, drivers)
        dev = with_response_spread(dev, centre, resp, opt.quantiles, carried)
    cols = {
        _ft.quantile_column(q): np.exp(ml + g.mu[:, None] + dev[..., j]) - g.c[:, None]
        for j, q in enumerate(opt.quantiles)
    }
    # the median of the law the columns come from (a regime mixture moves it too)
    median = cols.get("p50")
    if median is None:
        median = np.exp(ml + g.mu[:, None] + centre) - g.c[:, None]
    qs = sorted(opt.quantiles)
    upper = [cols[_ft.quantile_column(q)] for q in qs if q > 0.5] + [mean]
    cap_idle_spread(median, upper, widx // g.p, g.p)
    for lo, hi in itertools.pairwise(qs):  # quantiles stay ordered
        c_lo, c_hi = cols[_ft.quantile_column(lo)], cols[_ft.quantile_column(hi)]
        np.maximum(c_hi, c_lo, out=c_hi)
    frame = pd.DataFrame(
        {
            "resource_id": np.repeat(g.ids, h),
            "ts": np.tile(utc.to_numpy(), g.n),
            "mean": mean.reshape(-1),
            **{k: v.reshape(-1) for k, v in cols.items()},
        }
    )
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame, src


def with_response_spread(
    dev: np.ndarray, centre: np.ndarray, resp_sd: np.ndarray, quantiles, carried: np.ndarray | None = None
) -> np.ndarray:
    """(n, h, nq) log deviations of the quantiles once the response's own spread is added.

    The calibrated law (``dev``: quantile minus ``ml + mu``, ``centre`` its median) describes the
    noise around a known response; the size and timing of a response carried from other regions
    (``resp_sd``, log sd, :func:`_response_sd`) is an independent term. Each quantile's distance
    to the median and the response term's at the same probability add in quadrature (exact for
    two normals). The response's spread does not grow with the lead as the noise law's
    calibrated quantiles do: it is one unknown size, not an accumulation of daily errors.

    With ``carried`` ((n, h), the log response carried to the step), the response term is a
    normal of mean ``carried`` truncated at 0 on the far side of its sign [1]: a fall seen in the
    regions hit earlier may be smaller or larger, not a rise (and a rise not a fall), so the
    spread toward no response is at most the response itself. Its quantiles' distances to its
    median replace the normal's; where the response is large against its spread they are the
    normal's.

    References
    ----------
    .. [1] N. L. Johnson, S. Kotz, N. Balakrishnan, *Continuous Univariate Distributions*, vol. 1,
       2nd ed., Wiley, 1994, sec. 10.1 (the truncated normal's distribution function).
    """
    p = np.asarray(quantiles, float)
    qn = ndtri(p)
    spread = resp_sd[..., None] * qn
    if carried is not None:
        spread = _truncated_offsets(carried, resp_sd, p, spread)
    out = centre[..., None] + np.sign(qn) * np.hypot(dev - centre[..., None], spread)
    return np.where(np.isfinite(out), out, dev)


def _truncated_offsets(mu: np.ndarray, sd: np.ndarray, p: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """(n, h, nq) quantile minus median of ``N(mu, sd)`` truncated at 0 on the side away from
    ``mu``'s sign (``normal``: the untruncated offsets, kept where ``mu`` or ``sd`` is 0)."""
    live = (sd > 0) & (mu != 0)
    m = np.where(live, mu, -1.0)[..., None]
    s = np.where(live, sd, 1.0)[..., None]
    below0 = ndtr(-m / s)  # mass of the untruncated normal below 0
    # a fall (mu < 0) keeps the mass below 0, a rise the mass above
    lo, width = np.where(m < 0, 0.0, below0), np.where(m < 0, below0, 1.0 - below0)
    width = np.maximum(width, 1e-300)  # the kept mass is never 0 (mu is on its side); rounding
    x = m + s * ndtri(np.clip(lo + p * width, 1e-300, 1.0 - 1e-16))
    x_med = m + s * ndtri(np.clip(lo + 0.5 * width, 1e-300, 1.0 - 1e-16))
    return np.where(live[..., None], x - x_med, normal)


def cap_idle_spread(median: np.ndarray, upper: list[np.ndarray], day: np.ndarray, steps_per_day: int) -> None:
    """Bound the upper spread of a day's quiet steps by its busy step's, in load units (in place).

    The quantiles come from the log scale, where a near-idle hour (a contact centre at night, 2-5
    calls) has a residual spread ten times the busy hours', widened further at long leads by the
    online scale and the sqrt(lead) growth: four weeks ahead a contact centre's 22:00 hour got
    p90 twenty times the day's busy hour. The started log (:func:`surgeplan.forecast.panel.
    log_shift`) removes most of that; this bound is the guarantee. For each resource and local
    day, the excess over the median (``column - median``) of every step of every upper column
    (quantiles above 0.5, the mean) is at most that of the day's busiest step (highest median):
    an idle hour is never less certain, in calls or Erlangs, than the busy hour. Steps of a
    partial day (start and end of the horizon) take the nearest whole day's bound; a horizon
    shorter than a day is left as it is (its leads are calibrated directly).

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
        cap = median + np.repeat(
            np.clip(np.nan_to_num(excess, nan=np.inf, neginf=0.0), 0.0, None), counts, axis=1
        )
        np.minimum(a, cap, out=a, where=np.isfinite(cap))
