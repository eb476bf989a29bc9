"""The response fit the driver choice scores: ``z_r(d) = b_t x_r(d) + e`` for a shaped driver.

``z_r(d)`` is the daily log load's change of region ``r`` from its pre-shock level
(:func:`surgeplan.forecast.driver.daily_log_change`, the median over a kind's resources), ``x_r``
a candidate driver shaped by a delay, a first-order rise and a decay after lifting
(:func:`shaped`; :func:`surgeplan.forecast.shock.response_filter`), and ``b_t`` one slope per day
type ``t`` (working day / weekend or holiday; :func:`slopes`). The errors are absolute errors of
the daily log load, with each region's slopes learned on the *other* regions (leave one region
out [1]) or on all of them (in sample): :func:`fit_errors` for a few shaped drivers,
:func:`error_totals` (compiled) for the thousands the search scores.

References
----------
.. [1] T. Hastie, R. Tibshirani, J. Friedman, *The Elements of Statistical Learning*, 2nd ed.,
   Springer, 2009, sec. 7.10 (cross-validation; leaving a whole group out).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from surgeplan.forecast.shock import response_filter

__all__ = [
    "RIDGE_DAYS",
    "WEEKEND_DOUBT_DAYS",
    "WEEKEND_PRIOR_DAYS",
    "error_totals",
    "fit_errors",
    "shaped",
    "slopes",
]

#: ridge on the working-day slope (days at full intensity), toward no response: a day of evidence
#: at a daily noise of 2-4% already tells a size of 15% or more
RIDGE_DAYS = 0.25
#: days at full intensity by which the weekend slope leans on the working-day one: until weekends
#: under the driver are seen, a response is assumed to hold every day. Half a day, so that the
#: few weekend days seen decide: with a whole day, three Saturdays of no VPN response in five
#: regions still carried 21% of a x7.2 working-day size (log) to weekends, and their spread with
#: it: p90 2.6-2.8x the load that came at the 95th percentile (generators, vpn_alone)
WEEKEND_PRIOR_DAYS = 0.5
#: the same prior where a weekend response is still in doubt: where rules and shapes are compared
#: (:func:`error_totals`), which favours the rule that explains the data with a response every
#: day, and in the spread of a weekend seen on too few days to measure it
#: (:func:`surgeplan.forecast.driver_spread.size_spread`). Measured, not derived: at half a day
#: in the comparison, the conference bridges of vpn_workplace (x2.8-3.2 on working days) chose a
#: 12-day rise and were carried at x3.6 (no-runaway median 1.7-1.8); in the spread, p10-p90 held
#: 74.8% of the hours after a crossing on cases_incidence (75.3% with a whole day)
WEEKEND_DOUBT_DAYS = 1.0


def shaped(U: np.ndarray, delays, taus_up, tau_down: float) -> np.ndarray:
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


def fit_errors(X: np.ndarray, z: np.ndarray, wk: np.ndarray, loro: bool) -> tuple[np.ndarray, np.ndarray]:
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
    b = slopes(sxz, sxx)
    bd = np.where(wk, b[..., 0:1], b[..., 1:2])  # (..., R, D)
    err = (np.abs(zz - bd * X) * ok).sum(-1)
    return b, err


def slopes(sxz: np.ndarray, sxx: np.ndarray) -> np.ndarray:
    """(..., 2) working-day and weekend slopes from their sums (see :data:`WEEKEND_PRIOR_DAYS`)."""
    wd = sxz[..., 0] / (sxx[..., 0] + RIDGE_DAYS)
    we = (sxz[..., 1] + WEEKEND_PRIOR_DAYS * wd) / (sxx[..., 1] + WEEKEND_PRIOR_DAYS)
    return np.stack([wd, we], axis=-1)


@njit(cache=True)
def error_totals(X, z, ok, wk, ridge, prior_we):  # pragma: no cover - compiled
    """Per shaped candidate ``s`` of ``X`` (S, R, D): total absolute error of ``z ~ b_t x`` with each
    region's slopes from the other regions (out of region) and from all (in sample), and the
    region-days driven (``x >= 0.25``). The loops of :func:`fit_errors`, without its temporaries."""
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
