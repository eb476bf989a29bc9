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
   of region), ``'thin'`` when the response was on in one region only (the choice is its
   in-sample fit: say so and widen the intervals), ``'none'`` when no region shows a response,
   or when one on in two or more predicts none of them better than no response.

Everything is vectorised over candidates, shapes and regions (a loop over days only, inside
:func:`surgeplan.forecast.shock.response_filter`), on daily data aggregated per (kind, region): the
cost does not grow with the number of resources. The fit of steps 2-4 is
:mod:`surgeplan.forecast.driver_fit`; what the choice leaves uncertain for a region not hit yet
(the spread of its size and onset, whether the response was seen level) is
:mod:`surgeplan.forecast.driver_spread`.

References
----------
.. [1] T. Hale et al., "A global panel database of pandemic policies (Oxford COVID-19 Government
   Response Tracker)", Nature Human Behaviour 5, 529-538, 2021 (C2, C6 and their flags).
.. [2] T. Hastie, R. Tibshirani, J. Friedman, *The Elements of Statistical Learning*, 2nd ed.,
   Springer, 2009, sec. 7.10 (cross-validation; leaving a whole group out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from surgeplan.forecast.candidates import (
    LEVEL_QUANTILES,
    ORDINAL_LEVELS,
    THRESHOLD_QUANTILES,
    Candidate,
    candidates,
    driver_cube,
    refined,
    rule_table,
)
from surgeplan.forecast.driver_fit import (
    RIDGE_DAYS,
    WEEKEND_DOUBT_DAYS,
    error_totals,
    fit_errors,
    shaped,
)
from surgeplan.forecast.driver_spread import (
    ONSET_DAY_SD,
    THIN_SD_SHARE,
    at_least_last_seen,
    levelled,
    onset_sd,
    size_spread,
)

__all__ = [
    "LEVEL_QUANTILES",
    "ORDINAL_LEVELS",
    "THRESHOLD_QUANTILES",
    "Candidate",
    "DriverChoice",
    "ONSET_DAY_SD",
    "THIN_SD_SHARE",
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
#: a region counts as hit under a candidate after this many observed days at u >= 0.5
MIN_HIT_DAYS = 1
#: candidates whose shaped drivers are held in memory at once
CHUNK = 32
#: days at the start of the window whose median is the pre-shock level of each day type
BASELINE_DAYS = 28


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
    # each resource's daily change and its region's row: the sizes' spread is the resources'
    members = {kind: (z[kinds == kind], np.searchsorted(reg_list, regions[kinds == kind])) for kind in zks}
    scores = _scores(U, zks, wk_r, delays, taus_up)
    out = {
        kind: _select_kind(
            kind, zk, wk_r, U, scores[kind], cands, reg_list, delays, taus_up, taus_down, members[kind]
        )
        for kind, zk in zks.items()
    }
    for kind, ch in out.items():
        if ch.evidence == "loro":
            out[kind] = _second_pass(
                kind,
                ch,
                indicators,
                (U, scores[kind], cands),
                zks[kind],
                members[kind],
                wk_r,
                reg_list,
                days,
                (delays, taus_up, taus_down),
            )
    return out


def _second_pass(kind, ch, indicators, searched, zk, members, wk, reg_list, days, shapes) -> DriverChoice:
    """The choice again, with the best threshold of the chosen indicator searched between its grid
    neighbours (:func:`surgeplan.forecast.candidates.refined`): a level may have won only for want
    of the right threshold. Only for drivers chosen out of region: in sample, one region's data
    would pick whichever threshold fits its noise."""
    U, scores, cands = searched
    delays, taus_up, taus_down = shapes
    same = [
        i
        for i, c in enumerate(cands)
        if c.indicator == ch.candidate.indicator and c.form == "threshold" and c.flag is None
    ]
    if not same:
        return ch
    best = same[int(np.argmin(scores[0][same].min(axis=(1, 2))))]
    extra = [c for c in dict.fromkeys(refined(indicators, cands[best], cands)) if c not in cands]
    if not extra:
        return ch
    Uf = driver_cube(indicators, extra, reg_list, days)
    sf = _scores(Uf, {kind: zk}, wk, delays, taus_up)[kind]
    both = tuple(np.concatenate([a, b]) for a, b in zip(scores, sf, strict=True))
    return _select_kind(
        kind,
        zk,
        wk,
        np.concatenate([U, Uf]),
        both,
        cands + extra,
        reg_list,
        delays,
        taus_up,
        taus_down,
        members,
    )


def _scores(U: np.ndarray, zks: dict, wk: np.ndarray, delays, taus_up) -> dict[str, tuple[np.ndarray, ...]]:
    """Per kind, (C, L, A) total error out of region, in sample, and region-days driven (x >= 0.25),
    for every candidate, delay and rise; candidates in chunks of :data:`CHUNK` (memory bound)."""
    C, L, A = len(U), len(delays), len(taus_up)
    out = {k: tuple(np.zeros((C, L, A)) for _ in range(3)) for k in zks}
    R, D = U.shape[1:]
    for a in range(0, C, CHUNK):  # candidate chunks
        X = shaped(U[a : a + CHUNK], delays, taus_up, 0.0)
        n = len(X)
        flat = np.ascontiguousarray(X.reshape(-1, R, D))
        for kind, zk in zks.items():
            ok = np.isfinite(zk)
            res = error_totals(
                flat,
                np.where(ok, zk, 0.0),
                ok,
                np.asarray(wk, bool),
                RIDGE_DAYS,
                WEEKEND_DOUBT_DAYS,
            )
            for dst, src in zip(out[kind], res):
                dst[a : a + n] = src.reshape(n, L, A)
    return out


def _hit(U: np.ndarray, zk: np.ndarray) -> np.ndarray:
    """(C, R) region observed under the candidate at u >= 0.5 for :data:`MIN_HIT_DAYS` days."""
    return ((U >= 0.5) & np.isfinite(zk)[None]).sum(-1) >= MIN_HIT_DAYS


def _select_kind(
    kind, zk, wk, U, scores, cands, reg_list, delays, taus_up, taus_down, members=None
) -> DriverChoice:
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
        tot = np.where((n_hit >= 1)[:, None, None], inside, np.inf)
        pick = _choose(tot, e_none, active, noise, n_hit)
        evidence = "thin" if pick is not None else "none"
    if pick is None:
        return none
    ci, li, ai = np.unravel_index(pick, loro.shape)
    tau_dn, seen = _decay(U[ci], zk, wk, delays[li], taus_up[ai], taus_down)
    Xc = shaped(U[ci : ci + 1], (delays[li],), (taus_up[ai],), tau_dn)[0, 0, 0]
    # the regions whose response informed the size: observed while the shaped driver was on
    shown = ((Xc >= 0.5) & ok).sum(-1) >= MIN_HIT_DAYS
    used = tuple(r for r, h in zip(reg_list, shown) if h)
    b, e_in = fit_errors(Xc, zk, wk, loro=False)
    if evidence == "thin" and len(used) >= 2 and loro.reshape(-1)[pick] >= e_none:
        # in sample, yet on in 2+ regions, none of them predicted better out of region than with
        # no response, and a size within the daily noise: no response (generators, links_fall
        # seed 0: contact centres flat, `confirmed_cases >= 4.65` on in 10 regions, x1.007). A
        # size beyond the noise is kept: one region's real response under a rule others crossed
        # without it (x3 in one region: in sample it halves the error of no response).
        if np.abs(b[0]).max() * n_days <= e_none:
            return none
    if evidence == "loro":
        _, e_out = fit_errors(Xc, zk, wk, loro=True)
        err_rep = float(e_out.sum())
    else:
        err_rep = float(e_in.sum())
    level = levelled(Xc, zk, wk, b[0], noise)
    size = b[0] if level or evidence != "thin" else at_least_last_seen(Xc, zk, wk, b[0])
    return DriverChoice(
        kind,
        cands[ci],
        int(delays[li]),
        float(taus_up[ai]),
        float(tau_dn),
        (float(size[0]), float(size[1])),
        used,
        err_rep / n_days,
        e_none / n_days,
        evidence,
        seen,
        size_spread(Xc, zk, wk, (float(size[0]), float(size[1])), members),
        int(((Xc >= 0.5) & ok).sum(-1).max()),
        level,
        onset_sd(U[ci], zk, wk, delays, taus_up[ai], tau_dn, shown, noise),
    )


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
        X = shaped(u[None], (delay,), (tau_up,), td)[0, 0, 0]
        errs.append(fit_errors(X, zk, wk, loro=False)[1].sum())
    errs = np.asarray(errs)
    return float(taus_down[int(np.flatnonzero(errs <= errs.min() * (1 + TIE))[0])]), True
