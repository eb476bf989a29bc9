"""Kalman updates: new measurements move the coefficients without a refit.

The coefficients of every (resource, block) follow a random walk whose variance per
observation, relative to the noise variance, is set per feature family (``adaptation``): a
recursive least squares with forgetting [1]. Each step also cleans the lag source (an outlier is
clipped toward the prediction, a level shift passes), updates the online error scale that widens
or narrows the quantiles, and counts the days of shock seen.

References
----------
.. [1] D. Obst, J. de Vilmarest, Y. Goude, "Adaptive Methods for Short-Term Electricity Load
   Forecasting During COVID-19 Lockdown in France", IEEE Trans. Power Systems 36(5), 2021.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surgeplan.forecast import baseline as _bl
from surgeplan.forecast import persistence as _persistence
from surgeplan.forecast import transfer as _tr
from surgeplan.forecast.design import cov_features, design
from surgeplan.forecast.intensity import DriverTables, intensity
from surgeplan.forecast.shape import SHOCK_DAY
from surgeplan.forecast.state import Group, Options

__all__ = ["DEFAULT_ADAPTATION", "kalman_pass"]

#: state-noise variances per observation relative to the noise variance, per feature family: the
#: level and the shock move fastest (a regime change), the calendar and covariates slowly
DEFAULT_ADAPTATION = {"level": 3e-3, "dow": 3e-4, "shock": 3e-2, "lag": 0.0, "covariate": 1e-4, "other": 1e-5}
#: standardized innovations are clipped at this many sd in the online scale
_SCALE_CLIP = 6.0
#: the lag source's clipping limit, in Huber thresholds: a level shift must reach the lags, a spike must not
_LAG_CLIP_HUBERS = 3.0


def _state_noise(g: Group, opt: Options) -> np.ndarray:
    q = np.full(g.k, opt.adaptation["other"])
    for fam in ("level", "dow", "shock", "lag", "covariate"):
        q[g.groups[fam]] = opt.adaptation[fam]
    return q / g.r


def kalman_pass(
    g: Group, opt: Options, tables: DriverTables, covs: pd.DataFrame, a: int, b: int, unit: np.ndarray
) -> None:
    """Kalman updates of all (resource, block) states with the observations on steps [a, b).

    ``unit``: (n,) the online scale's unit per resource (1 before calibration).
    """
    q = _state_noise(g, opt)
    lam = 1.0 - 0.5 ** (1.0 / max(opt.scale_halflife_days * g.p, 1.0))
    iu = g.groups["shock"][0]
    innov = None
    for c0 in range(a, b, g.p):
        c1 = min(c0 + g.p, b)
        innov = np.full((g.n, c1 - c0), np.nan)
        u, _ = intensity(g, tables, None, g.wall_days(c0, c1), g.shock_lag, g.shock_tau)
        covf = cov_features(g, c0, c1, covs, opt.covariate_smoothing_hours) if len(g.cov_names) else None
        X = design(g, c0, c1, u, covf)
        steps = np.arange(c0, c1)
        blocks = g.block_of(steps)
        order = np.lexsort((steps, blocks))
        bsorted = blocks[order]
        rank = np.arange(len(order)) - np.searchsorted(bsorted, bsorted, side="left")
        for j in range(g.r):  # sub-steps within a block (1 when cadence >= 30 min)
            sel = np.sort(order[rank == j])  # the j-th occurrence of each block in this chunk
            if len(sel):
                innov[:, sel] = _update_steps(g, opt, X, c0, sel, blocks[sel], q, lam, unit)
        y_all = g.zraw[:, c0:c1]
        seen = np.isfinite(y_all).mean(1) * (c1 - c0) / g.p
        umax = np.nanmax(X[..., iu], axis=1)
        if g.x_seen is not None:
            g.x_seen = np.maximum(g.x_seen, np.where(np.isfinite(y_all).any(1), umax, 0.0))
        g.evidence += (umax >= SHOCK_DAY) * seen
        g.evidence_full += (umax >= _tr.FULL_INTENSITY) * seen
    if innov is not None:
        g.resid_tail = _persistence.tail(innov, g.cadence_s)


def _update_steps(g, opt, X, c0, sel, bb, q, lam, unit) -> np.ndarray:
    """One Kalman step of every resource on the steps ``c0 + sel`` (one per block ``bb``); returns
    the residuals after the step, ``observation - updated prediction`` (n, len(sel)), log, NaN
    where not observed."""
    xs = X[:, sel, :].reshape(-1, g.k)
    ys = g.zraw[:, c0 + sel].reshape(-1)
    beta = g.beta[:, bb, :].reshape(-1, g.k).copy()
    cov = g.cov[:, bb, :, :].reshape(-1, g.k, g.k).copy()
    s2 = g.sigma2[:, bb].reshape(-1)
    pred = np.einsum("bk,bk->b", np.nan_to_num(xs), beta)
    # at a fresh shock (restrictions on, little shock seen yet) large innovations are the signal,
    # not outliers: no clipping there, so the response is learned in a day
    fresh = (X[:, sel, g.groups["shock"][0]] >= SHOCK_DAY) & (g.evidence < opt.min_evidence_days)[:, None]
    clip = np.where(fresh, np.inf, opt.robust)
    beta, cov, z = _bl.kalman_update(beta, cov, xs, ys, s2, q, clip=clip.reshape(-1))
    # what the updated state still leaves unexplained: a fresh shock the step has just learned
    # is no longer an error to carry forward (surgeplan.forecast.persistence)
    after = ys - np.einsum("bk,bk->b", np.nan_to_num(xs), beta)
    g.beta[:, bb, :] = beta.reshape(g.n, len(sel), g.k)
    g.cov[:, bb, :, :] = cov.reshape(g.n, len(sel), g.k, g.k)
    z = z.reshape(g.n, len(sel))
    pred = pred.reshape(g.n, len(sel))
    sd = np.sqrt(g.sigma2[:, bb])
    obs = g.zraw[:, c0 + sel]
    # lag source: the observation, clipped toward the prediction if it is an outlier (limit scaled
    # by the online error level)
    lim = _LAG_CLIP_HUBERS * opt.robust * sd * np.sqrt(np.maximum(g.v / unit, 1.0))[:, None]
    lim = np.where(fresh, np.inf, lim)
    g.zfill[:, c0 + sel] = np.where(np.isfinite(obs), pred + np.clip(obs - pred, -lim, lim), pred)
    # online scale (mean square of innovations standardized by the block noise sd)
    e2 = np.where(np.isfinite(z), np.square(np.clip((obs - pred) / sd, -_SCALE_CLIP, _SCALE_CLIP)), np.nan)
    m_ = e2.shape[1]
    wts = lam * (1 - lam) ** (m_ - 1 - np.arange(m_))
    e2 = np.where(np.isfinite(e2), e2, g.v[:, None])
    g.v = (1 - lam) ** m_ * g.v + e2 @ wts
    return after.reshape(g.n, len(sel))
