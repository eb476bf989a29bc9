"""Which indicator drives a kind's load, and how: chosen by leave-one-region-out error.

A shock response follows *some* indicator of the user's table (the stay-at-home order, workplace
closing, the stringency index, case incidence, a mobility index, an event flag ...) through
*some* rule (a threshold crossed, a level) with *some* shape (a delay, a ramp, a return after
lifting). None of these is assumed. Per kind:

1. **candidates** (:mod:`surgeplan.forecast.candidates`): every indicator of the table under any
   name, in simple forms: thresholds crossed (``>=`` each level of an ordinal indicator, and with a
   companion 0/1 flag of the same prefix, e.g. OxCGRT C6 ``stay_home_required >= 2`` with
   ``stay_home_general == 1``; ``==`` the top level; ``>=`` and ``<=`` quantiles of a continuous
   one) and levels (a linear ramp between two quantiles). The driver ``u_r(d)`` of region ``r`` on
   day ``d`` is in [0, 1] (:func:`rule_table`); days since crossing enter through the shape.
2. **shape**: ``x = F_{tau_up, tau_down}(u(. - delay))`` (:func:`surgeplan.forecast.shock.
   response_filter`): a delay of 0-7 days, a first-order rise (a ramp of about ``3 tau_up`` days to
   95%), a return with ``tau_down`` after lifting.
3. **size**: the daily log load's change from its pre-shock level, per resource, aggregated per
   (kind, region) by the median, ``z_r(d) = b_t x_r(d) + e``, with one slope per day type ``t``
   (working day / weekend or holiday): sign free, weekday-only responses have ``b_weekend ~ 0``.
4. **choice**: the (candidate, delay, rise) whose slopes, learned on the other regions, predict
   each region best (sum of absolute errors over its days: leave-one-region-out, the situation
   of a country about to be hit, whose forecast at leads 7-14 days is ``b x`` from its crossing);
   then the decay after lifting on the regions that lifted. Near-ties keep the earlier candidate
   (the table's order: ordinal thresholds first, simpler before composite).
5. **evidence**: ``'loro'`` when two or more regions were hit (the choice beats "no response" out
   of region), ``'thin'`` when one region was hit, or when the regions' out-of-region gain is
   below the bar but above none (the choice is its in-sample fit: say so and widen the
   intervals), ``'none'`` when no region shows a response.

Everything is vectorised over candidates, shapes and regions (a loop over days only, inside
:func:`response_filter`), on daily data aggregated per (kind, region): the cost does not grow with
the number of resources.

References
----------
.. [1] T. Hale et al., "A global panel database of pandemic policies (Oxford COVID-19 Government
   Response Tracker)", Nature Human Behaviour 5, 529-538, 2021 (C2, C6 and their flags).
.. [2] T. Hastie, R. Tibshirani, J. Friedman, *The Elements of Statistical Learning*, 2nd ed.,
   Springer, 2009, sec. 7.10 (cross-validation; leaving a whole group out).
.. [3] A. Gelman et al., *Bayesian Data Analysis*, 3rd ed., CRC Press, 2013, sec. 3.2 (the
   predictive of a new draw from a normal of unknown variance: Student's t).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit
from scipy.stats import t as student_t

from surgeplan.forecast.candidates import (
    LEVEL_QUANTILES,
    ORDINAL_LEVELS,
    THRESHOLD_QUANTILES,
    Candidate,
    candidates,
    driver_cube,
    rule_table,
)
from surgeplan.forecast.shock import response_filter

__all__ = [
    "LEVEL_QUANTILES",
    "ORDINAL_LEVELS",
    "THRESHOLD_QUANTILES",
    "Candidate",
    "DriverChoice",
    "candidates",
    "daily_log_change",
    "driver_cube",
    "rule_table",
    "select_drivers",
]

#: delays searched (days): the issue's family has 0-7
DELAYS = tuple(range(8))
#: rise time constants searched (days): immediate, and ramps of about 3, 6, 12 days to 95%
TAUS_UP = (0.0, 1.0, 2.0, 4.0)
#: decay time constants after lifting (days), searched only where some region lifted
TAUS_DOWN = (0.0, 7.0, 21.0, 60.0)
#: decay assumed when no region has lifted yet (days; a month-scale return of habits)
DEFAULT_TAU_DOWN = 21.0
#: a candidate counts as a driver when it lowers the absolute error by at least this many noise
#: units (robust sd of the pre-shock daily log load) per region-day it drives (x >= 0.25): below
#: it the "response" is noise fitted by one of a hundred candidates
MIN_GAIN_NOISE = 1.0
#: relative error within which a later candidate does not displace an earlier one
TIE = 0.01
#: ridge on the working-day slope (days at full intensity), toward no response: a day of evidence
#: at a daily noise of 2-4% already tells a size of 15% or more
RIDGE_DAYS = 0.25
#: days at full intensity by which the weekend slope leans on the working-day one: until weekends
#: under the driver are seen, a response is assumed to hold every day
WEEKEND_PRIOR_DAYS = 1.0
#: a region counts as hit under a candidate after this many observed days at u >= 0.5
MIN_HIT_DAYS = 1
#: candidates whose shaped drivers are held in memory at once
CHUNK = 32
#: days at the start of the window whose median is the pre-shock level of each day type
BASELINE_DAYS = 28
#: sd (days) of an onset uniform within the day a delay stands for (the search is to the day)
ONSET_DAY_SD = 1.0 / np.sqrt(12.0)
#: noise units (sd of a two-day difference) within which a response at its plateau is level
LEVEL_NOISE = 2.0
#: fewest region-days under the driver (of a day type) from which the spread is measured
SPREAD_MIN_DAYS = 4
#: the spread's sd puts the normal p10-p90 on this quantile of the out-of-region absolute errors
SPREAD_QUANTILE = 0.8
_Z80 = 1.2815515655446004  # normal quantile at 0.9: p10-p90 = +/- _Z80 sd
#: least predictive sd of a size (log): sizes drawn per resource and region differ even when the
#: regions seen so far agree
SPREAD_FLOOR = 0.05
#: sd of a size seen in one region only, as a share of it (log)
THIN_SD_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class DriverChoice:
    """The driver chosen for one kind, with its evidence (see the module docstring).

    ``size_weekday`` / ``size_weekend``: multiple of the pre-shock daily load at full intensity;
    ``error`` / ``error_none``: mean absolute error of the daily log load per region-day out of
    region (in sample for ``'thin'``), with the driver and with no response.
    """

    kind: str
    candidate: Candidate | None
    delay_days: int
    tau_up_days: float
    tau_down_days: float
    log_size: tuple[float, float]  # (working day, weekend) slopes, log of the multiple
    regions_used: tuple[str, ...]
    error: float
    error_none: float
    evidence: str  # 'loro' | 'thin' | 'none'
    decay_seen: bool
    #: predictive sd of a region's log size not seen yet (working day, weekend): the spread of
    #: the regions' own sizes, and the part of the weekend size that is still the working day's
    log_size_sd: tuple[float, float] = (0.0, 0.0)
    #: most days any region has been seen under the shaped driver (``x >= 0.5``): how far into a
    #: response the size and shape were seen
    exposure_days: int = 0
    #: the response was seen level (:func:`levelled`): carried as a level beyond the exposure
    levelled: bool = False
    #: sd (days) of the response's onset: the delays the selection's errors do not tell apart,
    #: and the day the chosen one stands for (:func:`onset_sd`)
    onset_sd_days: float = 0.0

    @property
    def ramp_days(self) -> float:
        """Days from the delayed crossing to 95% of the response (3 time constants)."""
        return 3.0 * self.tau_up_days

    def as_dict(self) -> dict:
        c = self.candidate
        return {
            "kind": self.kind,
            "indicator": c.indicator if c else None,
            "rule": c.rule if c else None,
            "delay_days": self.delay_days,
            "ramp_days": self.ramp_days,
            "tau_down_days": self.tau_down_days,
            "size_weekday": float(np.exp(self.log_size[0])),
            "size_weekend": float(np.exp(self.log_size[1])),
            "sign": int(np.sign(self.log_size[0] + self.log_size[1])),
            "regions_used": ",".join(self.regions_used),
            "n_regions": len(self.regions_used),
            "out_of_region_error": self.error,
            "no_driver_error": self.error_none,
            "evidence": self.evidence,
            "decay_seen": self.decay_seen,
            "size_sd_weekday": self.log_size_sd[0],
            "size_sd_weekend": self.log_size_sd[1],
            "exposure_days": self.exposure_days,
            "levelled": self.levelled,
            "onset_sd_days": self.onset_sd_days,
        }


# ---------------------------------------------------------------------------------- the target
def daily_log_change(
    daily_load: np.ndarray, working: np.ndarray, baseline_days: int = BASELINE_DAYS
) -> np.ndarray:
    """(n, D) log of each day's mean load over its day type's pre-shock level (NaN where unseen).

    The level of working days and of weekends / holidays is each the median over the first
    ``baseline_days`` of the window (at most a third of it): the window starts before the shock.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(np.where(daily_load > 0, daily_load, np.nan))
    nb = max(1, min(baseline_days, y.shape[1] // 3))
    out = np.full_like(y, np.nan)
    for wk in (True, False):  # the two day types
        sel = working == wk
        base = np.where(sel[:, :nb], y[:, :nb], np.nan)
        with np.errstate(all="ignore"), _quiet():
            lvl = np.nanmedian(base, axis=1)
        out = np.where(sel, y - lvl[:, None], out)
    return out


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)


def _aggregate(
    z: np.ndarray, kinds: np.ndarray, regions: np.ndarray, kind: str, reg_list: list[str]
) -> np.ndarray:
    """(R, D) median change over the kind's resources of each region (NaN where none)."""
    out = np.full((len(reg_list), z.shape[1]), np.nan)
    for j, r in enumerate(reg_list):  # regions, tens
        rows = (kinds == kind) & (regions == r)
        if rows.any():
            with _quiet():
                out[j] = np.nanmedian(z[rows], axis=0)
    return out


# ---------------------------------------------------------------------------------- selection
def _shaped(U: np.ndarray, delays, taus_up, tau_down: float) -> np.ndarray:
    """(C, L, A, R, D): ``response_filter(u(. - delay), tau_up, tau_down)`` for every combination."""
    C, R, D = U.shape
    L, A = len(delays), len(taus_up)
    sh = np.zeros((C, L, R, D))
    for i, lag in enumerate(delays):  # delays, 8
        sh[:, i, :, lag:] = U[:, :, : D - lag] if lag else U
    rows = np.broadcast_to(sh[:, :, None], (C, L, A, R, D)).reshape(-1, D)
    tu = np.broadcast_to(np.asarray(taus_up, float)[None, None, :, None], (C, L, A, R)).reshape(-1)
    if tau_down > 0:
        return response_filter(rows, tu, tau_down).reshape(C, L, A, R, D)
    # no decay (the search's first stage): the same filter, compiled (the rows are many)
    with np.errstate(divide="ignore"):
        a_up = np.where(tu > 0, 1.0 - np.exp(-1.0 / np.where(tu > 0, tu, 1.0)), 1.0)
    return _rise(np.ascontiguousarray(rows), a_up).reshape(C, L, A, R, D)


@njit(cache=True)
def _rise(u, a_up):  # pragma: no cover - compiled
    """:func:`surgeplan.forecast.shock.response_filter` with ``tau_down = 0``, row by row."""
    n, nd = u.shape
    out = np.empty_like(u)
    for i in range(n):
        x = 0.0
        for d in range(nd):
            x = x + a_up[i] * (u[i, d] - x) if u[i, d] > x else u[i, d]
            out[i, d] = x
    return out


def _fit_errors(X: np.ndarray, z: np.ndarray, wk: np.ndarray, loro: bool) -> tuple[np.ndarray, np.ndarray]:
    """Slopes (..., R, 2) and absolute errors (..., R) of ``z ~ b_t x`` per region.

    ``loro``: each region's slopes come from the other regions; else from all (in sample).
    """
    ok = np.isfinite(z)
    zz = np.where(ok, z, 0.0)
    types = np.stack([wk & ok, ~wk & ok])  # (2, R, D)
    sxz = np.einsum("...rd,trd->...rt", X, types * zz)
    sxx = np.einsum("...rd,trd->...rt", X * X, types.astype(float))
    if loro:
        sxz = sxz.sum(-2, keepdims=True) - sxz
        sxx = sxx.sum(-2, keepdims=True) - sxx
    else:
        sxz = np.broadcast_to(sxz.sum(-2, keepdims=True), sxz.shape)
        sxx = np.broadcast_to(sxx.sum(-2, keepdims=True), sxx.shape)
    b = _slopes(sxz, sxx)
    bd = np.where(wk, b[..., 0:1], b[..., 1:2])  # (..., R, D)
    err = (np.abs(zz - bd * X) * ok).sum(-1)
    return b, err


def _slopes(sxz: np.ndarray, sxx: np.ndarray) -> np.ndarray:
    """(..., 2) working-day and weekend slopes from their sums (see :data:`WEEKEND_PRIOR_DAYS`)."""
    wd = sxz[..., 0] / (sxx[..., 0] + RIDGE_DAYS)
    we = (sxz[..., 1] + WEEKEND_PRIOR_DAYS * wd) / (sxx[..., 1] + WEEKEND_PRIOR_DAYS)
    return np.stack([wd, we], axis=-1)


def _choose(err: np.ndarray, base: float, active: np.ndarray, noise: float, n_hit: np.ndarray) -> int | None:
    """Flat index of the smallest error (``err`` (C, L, A)); None unless it gains :data:`MIN_GAIN_NOISE`
    noise units per active region-day over ``base`` (no response). Within :data:`TIE` of it, the
    candidate under which most regions were hit wins (the rule that also fired where the response
    is still to come explains as much with more regions at stake), then the earliest."""
    flat = err.reshape(-1)
    i = int(np.argmin(flat))
    if not np.isfinite(flat[i]) or base - flat[i] < MIN_GAIN_NOISE * noise * max(active.reshape(-1)[i], 1):
        return None
    near = np.flatnonzero(flat <= flat[i] * (1.0 + TIE) + 1e-12)
    hits = np.broadcast_to(n_hit[:, None, None], err.shape).reshape(-1)[near]
    return int(near[np.flatnonzero(hits == hits.max())[0]])


def select_drivers(
    daily_load: np.ndarray,
    working: np.ndarray,
    kinds: np.ndarray,
    regions: np.ndarray,
    days: np.ndarray,
    indicators: pd.DataFrame,
    delays=DELAYS,
    taus_up=TAUS_UP,
    taus_down=TAUS_DOWN,
    levels: Mapping[str, Sequence[tuple[float, float]]] | None = None,
) -> dict[str, DriverChoice]:
    """Choose per kind the driver, its shape and size (module docstring).

    Parameters
    ----------
    daily_load : (n, D) mean load of each resource and local day (kind's unit; NaN = not seen).
    working : (n, D) bool, working day of the resource's region (False on weekends and holidays).
    kinds, regions : (n,) kind and region of each resource.
    days : (D,) ``datetime64[D]`` local days (the last is the last day before the origin).
    indicators : long table ``region, date, name, value``, only what is known at the origin.
    levels : extra level candidates per indicator (see :func:`candidates`).

    Returns
    -------
    {kind: DriverChoice} for every kind of ``kinds``.
    """
    kinds = np.asarray(kinds).astype(str)
    regions = np.asarray(regions).astype(str)
    z = daily_log_change(np.asarray(daily_load, float), np.asarray(working, bool))
    cands = candidates(indicators, levels)
    reg_list = sorted(set(regions))
    wk_r = np.array([np.asarray(working)[regions == r][0] for r in reg_list])
    U = driver_cube(indicators, cands, reg_list, days) if cands else np.zeros((0, len(reg_list), len(days)))
    zks = {kind: _aggregate(z, kinds, regions, kind, reg_list) for kind in sorted(set(kinds))}
    scores = _scores(U, zks, wk_r, delays, taus_up)
    return {
        kind: _select_kind(kind, zk, wk_r, U, scores[kind], cands, reg_list, delays, taus_up, taus_down)
        for kind, zk in zks.items()
    }


def _scores(U: np.ndarray, zks: dict, wk: np.ndarray, delays, taus_up) -> dict[str, tuple[np.ndarray, ...]]:
    """Per kind, (C, L, A) total error out of region, in sample, and region-days driven (x >= 0.25),
    for every candidate, delay and rise; candidates in chunks of :data:`CHUNK` (memory bound)."""
    C, L, A = len(U), len(delays), len(taus_up)
    out = {k: tuple(np.zeros((C, L, A)) for _ in range(3)) for k in zks}
    R, D = U.shape[1:]
    for a in range(0, C, CHUNK):  # candidate chunks
        X = _shaped(U[a : a + CHUNK], delays, taus_up, 0.0)
        n = len(X)
        flat = np.ascontiguousarray(X.reshape(-1, R, D))
        for kind, zk in zks.items():
            ok = np.isfinite(zk)
            res = _error_kernel(
                flat, np.where(ok, zk, 0.0), ok, np.asarray(wk, bool), RIDGE_DAYS, WEEKEND_PRIOR_DAYS
            )
            for dst, src in zip(out[kind], res):
                dst[a : a + n] = src.reshape(n, L, A)
    return out


@njit(cache=True)
def _error_kernel(X, z, ok, wk, ridge, prior_we):  # pragma: no cover - compiled
    """Per shaped candidate ``s`` of ``X`` (S, R, D): total absolute error of ``z ~ b_t x`` with each
    region's slopes from the other regions (out of region) and from all (in sample), and the
    region-days driven (``x >= 0.25``). The loops of :func:`_fit_errors`, without its temporaries."""
    S, R, D = X.shape
    loro = np.zeros(S)
    inside = np.zeros(S)
    active = np.zeros(S)
    sxz = np.zeros((R, 2))
    sxx = np.zeros((R, 2))
    first = np.zeros(R, np.int64)
    # |z| summed over the days before each day: the error of the days the driver is still 0
    before = np.zeros((R, D + 1))
    for r in range(R):
        for d in range(D):
            before[r, d + 1] = before[r, d] + (abs(z[r, d]) if ok[r, d] else 0.0)
    for s in range(S):
        sxz[:] = 0.0
        sxx[:] = 0.0
        for r in range(R):
            first[r] = D
            for d in range(D):
                x = X[s, r, d]
                if x != 0.0 and first[r] == D:
                    first[r] = d
                if ok[r, d] and x != 0.0:
                    t = 0 if wk[r, d] else 1
                    sxz[r, t] += x * z[r, d]
                    sxx[r, t] += x * x
                    if x >= 0.25:
                        active[s] += 1.0
        txz0, txz1 = sxz[:, 0].sum(), sxz[:, 1].sum()
        txx0, txx1 = sxx[:, 0].sum(), sxx[:, 1].sum()
        bi0 = txz0 / (txx0 + ridge)
        bi1 = (txz1 + prior_we * bi0) / (txx1 + prior_we)
        for r in range(R):
            bo0 = (txz0 - sxz[r, 0]) / (txx0 - sxx[r, 0] + ridge)
            bo1 = (txz1 - sxz[r, 1] + prior_we * bo0) / (txx1 - sxx[r, 1] + prior_we)
            loro[s] += before[r, first[r]]
            inside[s] += before[r, first[r]]
            for d in range(first[r], D):
                if ok[r, d]:
                    x = X[s, r, d]
                    if wk[r, d]:
                        loro[s] += abs(z[r, d] - bo0 * x)
                        inside[s] += abs(z[r, d] - bi0 * x)
                    else:
                        loro[s] += abs(z[r, d] - bo1 * x)
                        inside[s] += abs(z[r, d] - bi1 * x)
    return loro, inside, active


def _hit(U: np.ndarray, zk: np.ndarray) -> np.ndarray:
    """(C, R) region observed under the candidate at u >= 0.5 for :data:`MIN_HIT_DAYS` days."""
    return ((U >= 0.5) & np.isfinite(zk)[None]).sum(-1) >= MIN_HIT_DAYS


def _select_kind(kind, zk, wk, U, scores, cands, reg_list, delays, taus_up, taus_down) -> DriverChoice:
    ok = np.isfinite(zk)
    n_days = max(int(ok.sum()), 1)
    e_none = float(np.abs(np.where(ok, zk, 0.0)).sum())
    none = DriverChoice(
        kind, None, 0, 0.0, DEFAULT_TAU_DOWN, (0.0, 0.0), (), e_none / n_days, e_none / n_days, "none", False
    )
    if not len(cands):
        return none
    loro, inside, active = scores
    hit = _hit(U, zk)
    n_hit = hit.sum(1)
    nb = max(1, min(BASELINE_DAYS, zk.shape[1] // 3))
    with _quiet():
        noise = float(1.4826 * np.nanmedian(np.abs(zk[:, :nb])))
    noise = noise if np.isfinite(noise) and noise > 0 else 0.01
    evidence, pick = "none", None
    if (n_hit >= 2).any():
        tot = np.where((n_hit >= 2)[:, None, None], loro, np.inf)
        pick = _choose(tot, e_none, active, noise, n_hit)
        evidence = "loro" if pick is not None else "none"
    if pick is None and (n_hit >= 1).any():
        # in sample: a rule seen in one region, or in more if out of region it still beats no
        # response; one that predicted the other regions no better than no response is no response
        # (generators, links_fall seed 0: contact centres flat, `confirmed_cases >= 4.65` seen in 10
        # regions, x1.007 in sample, took the flat kind's place in the unseen-response spread)
        seen_once = (n_hit == 1)[:, None, None] | ((n_hit >= 2)[:, None, None] & (loro < e_none))
        tot = np.where(seen_once, inside, np.inf)
        pick = _choose(tot, e_none, active, noise, n_hit)
        evidence = "thin" if pick is not None else "none"
    if pick is None:
        return none
    ci, li, ai = np.unravel_index(pick, loro.shape)
    tau_dn, seen = _decay(U[ci], zk, wk, delays[li], taus_up[ai], taus_down)
    Xc = _shaped(U[ci : ci + 1], (delays[li],), (taus_up[ai],), tau_dn)[0, 0, 0]
    # the regions whose response informed the size: observed while the shaped driver was on
    shown = ((Xc >= 0.5) & ok).sum(-1) >= MIN_HIT_DAYS
    used = tuple(r for r, h in zip(reg_list, shown) if h)
    b, e_in = _fit_errors(Xc, zk, wk, loro=False)
    if evidence == "loro":
        _, e_out = _fit_errors(Xc, zk, wk, loro=True)
        err_rep = float(e_out.sum())
    else:
        err_rep = float(e_in.sum())
    return DriverChoice(
        kind,
        cands[ci],
        int(delays[li]),
        float(taus_up[ai]),
        float(tau_dn),
        (float(b[0, 0]), float(b[0, 1])),
        used,
        err_rep / n_days,
        e_none / n_days,
        evidence,
        seen,
        size_spread(Xc, zk, wk, (float(b[0, 0]), float(b[0, 1]))),
        int(((Xc >= 0.5) & ok).sum(-1).max()),
        levelled(Xc, zk, wk, b[0], noise),
        onset_sd(U[ci], zk, wk, delays, taus_up[ai], tau_dn, shown, noise),
    )


def onset_sd(
    u: np.ndarray,
    z: np.ndarray,
    wk: np.ndarray,
    delays,
    tau_up: float,
    tau_down: float,
    shown: np.ndarray,
    noise: float,
) -> float:
    """sd (days) of the response's onset in a region not hit yet.

    Each region that showed the response (``shown``) has the delay that fits it best on its own
    (the kind's size and rise); the sd of those delays across regions, where the fit tells the
    delays apart (best and worst differ by more than ``noise`` per day driven), is how far the
    next region's onset may fall from the chosen one. With the day the delay stands for (uniform:
    ``1 / 12`` day squared); with fewer than two such regions, that day only.
    """
    X = _shaped(u[None], tuple(delays), (tau_up,), tau_down)[0, :, 0]  # (L, R, D)
    _, err = _fit_errors(X, z, wk, loro=False)  # (L, R) each region's error at each delay
    driven = np.maximum(((X >= 0.25) & np.isfinite(z)[None]).sum(-1).max(0), 1)  # (R,)
    told = shown & ((err.max(0) - err.min(0)) > noise * driven)
    if told.sum() < 2:
        return float(ONSET_DAY_SD)
    best = np.asarray(delays, float)[np.argmin(err[:, told], axis=0)]
    return float(np.hypot(np.std(best, ddof=1), ONSET_DAY_SD))


def levelled(X: np.ndarray, z: np.ndarray, wk: np.ndarray, b: np.ndarray, noise: float) -> bool:
    """Was the response seen level? In some region, the last two observed working days at the
    shape's plateau (``x >= 0.9``; weekends may answer otherwise) moved by less than
    :data:`LEVEL_NOISE` sd of a two-day difference of noise, beyond what the shape moves: the
    data agree the response stopped moving. A ramp fitted with too short a rise (x8 over 10
    days, seen for 4, looks like a quick x3) still climbs about 0.2 a day in log and is not level.

    ``b``: (working day, weekend) slopes; ``noise``: robust sd of the pre-shock daily log change.
    """
    ok = np.isfinite(z)
    tol = LEVEL_NOISE * np.sqrt(2.0) * noise
    for r in range(X.shape[0]):  # regions, few
        days = np.flatnonzero((X[r] >= 0.9) & ok[r] & wk[r])
        if len(days) < 2:
            continue
        prev, last = days[-2], days[-1]
        moved = (z[r, last] - z[r, prev]) - b[0] * (X[r, last] - X[r, prev])
        if abs(float(moved)) <= tol:
            return True
    return False


def size_spread(
    X: np.ndarray, z: np.ndarray, wk: np.ndarray, log_size: tuple[float, float]
) -> tuple[float, float]:
    """Predictive sd of the log response of a region not hit yet, (working day, weekend).

    Measured where it happens: each region's daily log change on the days its shaped driver is
    on (``x >= 0.5``) against the response learned on the *other* regions (leave-one-region-out,
    as when a country is about to be hit). The sd is the one that puts the normal's p10-p90 on
    the 80% quantile of those absolute errors (:data:`SPREAD_QUANTILE`): size, delay and shape
    errors together, as the next region will meet them. Measured on ``R`` regions, that
    quantile is scaled by Student's t over the normal (``t(0.9, R) / z(0.9)``: 1.47 with two
    regions, 1.15 with five) [3]: a spread read off a few regions' errors is itself uncertain,
    and the next region is one more draw. ``R`` degrees of freedom, not ``R - 1``: the errors are
    out-of-region predictions, centred on zero by construction, none of them fitted to the
    others. (Without it, p10-p90 held 71-78% of the hours after a crossing on the test
    generators; with ``R - 1`` the spreads of two regions doubled and the replay's guard fired
    twice as often.) With fewer than
    :data:`SPREAD_MIN_DAYS` such days of a day type in two regions or more, the sizes' spread is
    not measured: :data:`THIN_SD_SHARE` of the size (working day), and the weekend adds the
    share of its size that still leans on the working day's (:func:`_slopes`:
    ``P / (sum x^2 + P)``, ``P`` = :data:`WEEKEND_PRIOR_DAYS`): a response seen on working days
    only may or may not hold at weekends. At least :data:`SPREAD_FLOOR`.
    """
    ok = np.isfinite(z)
    b_out, _ = _fit_errors(X, z, wk, loro=True)  # (R, 2)
    wd_size, _ = log_size
    lean = WEEKEND_PRIOR_DAYS / (float((X * X * (~wk & ok)).sum()) + WEEKEND_PRIOR_DAYS)
    fallback = (THIN_SD_SHARE * abs(wd_size), float(np.hypot(THIN_SD_SHARE * abs(wd_size), lean * wd_size)))
    out = []
    for t, mask in enumerate((wk, ~wk)):
        on = ok & mask & (X >= 0.5)
        regions = int((on.sum(-1) > 0).sum())
        if on.sum() < SPREAD_MIN_DAYS or regions < 2:
            out.append(max(fallback[t], SPREAD_FLOOR))
            continue
        res = np.abs(z - b_out[:, t : t + 1] * X)[on]
        small = float(student_t.ppf(0.5 + SPREAD_QUANTILE / 2, regions)) / _Z80
        out.append(max(small * float(np.quantile(res, SPREAD_QUANTILE)) / _Z80, SPREAD_FLOOR))
    return out[0], out[1]


def _decay(
    u: np.ndarray, zk: np.ndarray, wk: np.ndarray, delay: int, tau_up: float, taus_down
) -> tuple[float, bool]:
    """Time constant of the return after lifting: searched (in sample) where the driver fell in some
    region after being on, else :data:`DEFAULT_TAU_DOWN`."""
    on = u >= 0.5
    lifted = (on[:, :-1] & ~on[:, 1:] & np.isfinite(zk[:, 1:])).any()
    if not lifted:
        return DEFAULT_TAU_DOWN, False
    errs = []
    for td in taus_down:  # four values
        X = _shaped(u[None], (delay,), (tau_up,), td)[0, 0, 0]
        errs.append(_fit_errors(X, zk, wk, loro=False)[1].sum())
    errs = np.asarray(errs)
    return float(taus_down[int(np.flatnonzero(errs <= errs.min() * (1 + TIE))[0])]), True
