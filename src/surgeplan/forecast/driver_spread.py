"""How far the response carried to a region not hit yet may fall from the one chosen.

The driver choice (:func:`surgeplan.forecast.driver.select_drivers`) gives a kind's response as
seen in the regions hit earlier. A region not hit yet is one more draw: its size, its onset and
how long the response keeps moving are known only as well as those regions tell them.

* :func:`size_spread`: predictive sd of a region's log size, from the out-of-region errors;
* :func:`onset_sd`: sd (days) of the onset, from the delays the regions' own fits tell apart;
* :func:`levelled`: whether the response was seen level (then it is carried as a level).

:mod:`surgeplan.forecast.learned` turns them into the spreads added at forecast time.

References
----------
.. [1] A. Gelman et al., *Bayesian Data Analysis*, 3rd ed., CRC Press, 2013, sec. 3.2 (the
   predictive of a new draw from a normal of unknown variance: Student's t).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import t as student_t

from surgeplan.forecast.driver_fit import WEEKEND_DOUBT_DAYS, fit_errors, shaped

__all__ = [
    "at_least_last_seen",
    "LEVEL_NOISE",
    "ONSET_DAY_SD",
    "SPREAD_FLOOR",
    "SPREAD_MIN_DAYS",
    "SPREAD_QUANTILE",
    "THIN_SD_SHARE",
    "levelled",
    "onset_sd",
    "size_spread",
]

#: sd (days) of an onset uniform within the day a delay stands for (the search is to the day)
ONSET_DAY_SD = 1.0 / np.sqrt(12.0)
#: sds of the difference compared (:func:`levelled`) within which a response at its plateau is level
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
    X = shaped(u[None], tuple(delays), (tau_up,), tau_down)[0, :, 0]  # (L, R, D)
    _, err = fit_errors(X, z, wk, loro=False)  # (L, R) each region's error at each delay
    driven = np.maximum(((X >= 0.25) & np.isfinite(z)[None]).sum(-1).max(0), 1)  # (R,)
    told = shown & ((err.max(0) - err.min(0)) > noise * driven)
    if told.sum() < 2:
        return float(ONSET_DAY_SD)
    best = np.asarray(delays, float)[np.argmin(err[:, told], axis=0)]
    return float(np.hypot(np.std(best, ddof=1), ONSET_DAY_SD))


def levelled(X: np.ndarray, z: np.ndarray, wk: np.ndarray, b: np.ndarray, noise: float) -> bool:
    """Was the response seen level? In some region, the last observed working days at the
    shape's plateau (``x >= 0.9``; weekends may answer otherwise) moved by less than
    :data:`LEVEL_NOISE` sd of noise, either as the load itself (it stopped moving) or beyond what
    the shape moves (it moves as a shape near its plateau says). With four such days or more, the
    mean of the last two against the mean of the two before (the sd of that difference is the
    noise's); with two or three, the last day against the one before (``sqrt(2)`` noise sd). One
    pair alone calls a plateau moving one time in five where the plateau's day-to-day scatter is
    half as large again as the days before the shock (generators, x5-8 conferencing seen level for
    a week: not level, and carried with half its log size as sd beyond it: p90 4x the median).
    A ramp fitted with too short a rise (x8 over 10 days, seen for 4, looks like a quick x3)
    still climbs about 0.2 a day in log and is not level. The load alone is asked too because a
    shape at 90% of its plateau still moves: a 4-day linear ramp fitted by a first-order rise (95%
    in 6 days) leaves the load flat while the shape climbs 0.15 in log over three days, which read
    as a fall (generators, vpn_workplace seed 1: a x6.6 response seen level in Czechia was
    carried with an sd of half its log size, p90 4-5x the load that came).

    ``b``: (working day, weekend) slopes; ``noise``: robust sd of the pre-shock daily log change.
    """
    ok = np.isfinite(z)
    for r in range(X.shape[0]):  # regions, few
        days = np.flatnonzero((X[r] >= 0.9) & ok[r] & wk[r])
        if len(days) < 2:
            continue
        if len(days) >= 4:
            last, prev, tol = days[-2:], days[-4:-2], LEVEL_NOISE * noise
        else:
            last, prev, tol = days[-1:], days[-2:-1], LEVEL_NOISE * np.sqrt(2.0) * noise
        load_moved = float(z[r, last].mean() - z[r, prev].mean())
        beyond_shape = load_moved - b[0] * float(X[r, last].mean() - X[r, prev].mean())
        if min(abs(load_moved), abs(beyond_shape)) <= tol:
            return True
    return False


def at_least_last_seen(X: np.ndarray, z: np.ndarray, wk: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(2,) slopes (working day, weekend) no smaller than the response the last day of each type
    showed under the driver (``x >= 0.5``; the median over regions), for a response not seen level.

    A response still rising when the data end is at least what its last day showed: a ramp does
    not turn back while its driver holds. Fitted on the first days of a ramp, the slopes average
    its start in (and the ridge pulls them toward no response): two days of a stay-at-home voice
    ramp seen in Italy, x1.5 on the Friday and x2 on the Saturday, gave x1.39 / x1.67, and the
    country crossing four days later was carried at 43-47% of its x2 (scratch generator of the
    issue's four countries). A size only where the last day has the slope's sign (a fall stays a
    fall) and where that day type was seen under the driver.
    """
    ok = np.isfinite(z) & (X >= 0.5)
    out = np.array(b, float)
    for t, of_type in enumerate((wk, ~wk)):
        last = []
        for r in range(X.shape[0]):  # regions, few
            days = np.flatnonzero(ok[r] & of_type[r])
            if len(days):
                last.append(float(z[r, days[-1]]))
        if last:
            seen = float(np.median(last))
            if np.sign(seen) == np.sign(out[t]) and abs(seen) > abs(out[t]):
                out[t] = seen
    return out


def size_spread(
    X: np.ndarray,
    z: np.ndarray,
    wk: np.ndarray,
    log_size: tuple[float, float],
    members: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, float]:
    """Predictive sd of the log response of a region not hit yet, (working day, weekend).

    Measured where it happens: each region's daily log change on the days its shaped driver is
    on (``x >= 0.5``) against the response learned on the *other* regions (leave-one-region-out,
    as when a country is about to be hit). The sd is the one that puts the normal's p10-p90 on
    the 80% quantile of those absolute errors (:data:`SPREAD_QUANTILE`): size, delay and shape
    errors together, as the next region will meet them. Measured on ``R`` regions, that
    quantile is scaled by Student's t over the normal (``t(0.9, R) / z(0.9)``: 1.47 with two
    regions, 1.15 with five) [1]: a spread read off a few regions' errors is itself uncertain,
    and the next region is one more draw. ``R`` degrees of freedom, not ``R - 1``: the errors are
    out-of-region predictions, centred on zero by construction, none of them fitted to the
    others. (Without it, p10-p90 held 71-78% of the hours after a crossing on the test
    generators; with ``R - 1`` the spreads of two regions doubled and the replay's guard fired
    twice as often.) With fewer than
    :data:`SPREAD_MIN_DAYS` such days of a day type in two regions or more, the sizes' spread is
    not measured: :data:`THIN_SD_SHARE` of the size (working day), and the weekend adds the
    share of its size that would still lean on the working day's under a whole day's doubt
    (``P / (sum x^2 + P)``, ``P`` = :data:`.driver_fit.WEEKEND_DOUBT_DAYS`): a response seen on
    working days only may or may not hold at weekends. At least :data:`SPREAD_FLOOR`.

    ``members``: ``(z_res, region)``, the daily log change of each resource of the kind (m, D)
    and its region's row in ``z``. The errors are then each resource's against its region's
    out-of-region response: resources of one region differ in size (a country's VPN gateways
    serve different firms), and its median alone made a spread that held a x0.45-0.7 fall drawn
    per link to p10-p90 of +/-15% (scratch generator, two links per country: 40-60% of the
    hours inside).
    """
    ok = np.isfinite(z)
    b_out, _ = fit_errors(X, z, wk, loro=True)  # (R, 2)
    wd_size, _ = log_size
    lean = WEEKEND_DOUBT_DAYS / (float((X * X * (~wk & ok)).sum()) + WEEKEND_DOUBT_DAYS)
    fallback = (THIN_SD_SHARE * abs(wd_size), float(np.hypot(THIN_SD_SHARE * abs(wd_size), lean * wd_size)))
    out = []
    for t, mask in enumerate((wk, ~wk)):
        on = ok & mask & (X >= 0.5)
        regions = int((on.sum(-1) > 0).sum())
        if on.sum() < SPREAD_MIN_DAYS or regions < 2:
            out.append(max(fallback[t], SPREAD_FLOOR))
            continue
        if members is None:
            res = np.abs(z - b_out[:, t : t + 1] * X)[on]
        else:
            zr, ri = members
            on_r = np.isfinite(zr) & on[ri]
            res = np.abs(zr - b_out[ri, t : t + 1] * X[ri])[on_r]
        small = float(student_t.ppf(0.5 + SPREAD_QUANTILE / 2, regions)) / _Z80
        out.append(max(small * float(np.quantile(res, SPREAD_QUANTILE)) / _Z80, SPREAD_FLOOR))
    return out[0], out[1]
