"""Batch fit: robust (Huber IRLS) Bayesian regression of every (resource, block) at once.

Given the shock shape, :func:`fit_group` fits the whole history. Identification of the shock:
where a resource's driver moved, its day lags are first estimated on the calm days only and then
held nearly fixed (with free lags a level shift is "explained" by lags summing above 1, the onset
day being down-weighted as an outlier, which leaves the shock term unidentified).
:func:`stabilize` keeps the day-lag recursion stable at any horizon.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from surgeplan.forecast import baseline as _bl
from surgeplan.forecast.design import block_view, cov_features, design, prior, unblock
from surgeplan.forecast.intensity import DriverTables, intensity
from surgeplan.forecast.state import Group, Options, chunks

__all__ = ["PHI_MAX", "fit_group", "robust_fit", "stabilize"]

#: bound on the sum of |day-lag coefficients|: below 1 keeps the recursion stable (see :func:`stabilize`)
PHI_MAX = 0.9
#: driver level below which a day is calm (baseline dynamics are learned there)
_CALM = 0.05
#: prior sd of the day lags once learned on calm days: held nearly fixed
_HELD_LAG_SD = 0.02
#: noise sd (log units) where it cannot be estimated (fewer rows than coefficients)
_DEFAULT_NOISE_SD = 0.05
#: floor of the noise sd (log units): a flat series keeps a spread
_NOISE_FLOOR_SD = 1e-3
#: weight (in rows) of the resource's median block scale when shrinking a block's scale
_SCALE_SHRINK_ROWS = 10
#: IRLS passes with Huber weights (the third only re-solves)
_IRLS_PASSES = 3


def fit_group(g: Group, opt: Options, tables: DriverTables, covs: pd.DataFrame) -> None:
    """Fit ``g`` on its whole history: coefficients, noise, normal equations and priors."""
    T = g.zraw.shape[1]
    k = g.k
    covf = cov_features(g, 0, T, covs, opt.covariate_smoothing_hours) if len(g.cov_names) else None
    days = g.wall_days(0, T)
    pm, psd = prior(g, opt)
    g.xtx = np.zeros((g.n, g.nb, k, k))
    g.xty = np.zeros((g.n, g.nb, k))
    g.sigma2 = np.zeros((g.n, g.nb))
    g.beta = np.zeros((g.n, g.nb, k))
    g.cov = np.zeros((g.n, g.nb, k, k))
    lag = g.groups["lag"]
    seen = np.isfinite(g.zraw).reshape(g.n, T // g.p, g.p).any(-1)  # (n, D) days with data
    g.x_seen = np.zeros(g.n)
    for rows in chunks(g.n, opt.batch_size):
        u, _ = intensity(g, tables, rows, days, g.shock_lag[rows], g.shock_tau[rows])
        g.x_seen[rows] = np.where(seen[rows], u, 0.0).max(1)
        hit = np.flatnonzero(u.max(1) > _CALM)
        if len(hit):
            calm = np.repeat(u < _CALM, g.p, axis=1)
            res0 = robust_fit(g, opt, rows, covf, u, pm[rows], psd[rows], upto=T, mask=calm)
            pm[rows[hit][:, None], :, lag[None, :]] = np.swapaxes(res0[3][hit][..., lag], 1, 2)
            psd[rows[hit][:, None], :, lag[None, :]] = _HELD_LAG_SD
        res = robust_fit(g, opt, rows, covf, u, pm[rows], psd[rows], upto=T)
        g.xtx[rows], g.xty[rows], g.sigma2[rows], g.beta[rows], g.cov[rows] = res
    g.shock_source = np.where(g.evidence >= opt.min_evidence_days, "fitted", "prior").astype(object)
    g.prior_mean, g.prior_sd = pm, psd


def robust_fit(g, opt, rows, covf, u, pm, psd, upto, mask=None):
    """Huber IRLS Bayesian fit of rows ``rows`` on steps [0, upto) (``mask``: usable steps).

    Returns ``xtx, xty, sigma2, beta, cov`` of the rows. The first pass also cleans the lag
    source ``g.zfill`` (outliers and gaps take the fitted value).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks (short or gappy series)
        return _robust_fit(g, opt, rows, covf, u, pm, psd, upto, mask)


def _initial_scale(yb: np.ndarray) -> np.ndarray:
    """Noise guess per (resource, block): robust scale of day-to-day differences."""
    d1 = yb[..., 1:] - yb[..., :-1]
    s0 = 1.4826 * np.nanmedian(np.abs(d1 - np.nanmedian(d1, axis=-1, keepdims=True)), axis=-1) / np.sqrt(2)
    s0 = np.where(np.isfinite(s0) & (s0 > 0), s0, _DEFAULT_NOISE_SD)
    return np.maximum(s0**2, 1e-8)


def _block_scale(g: Group, resid: np.ndarray, okr: np.ndarray) -> np.ndarray:
    """Robust noise sd per (resource, block), shrunk toward the resource's median block scale."""
    mad = 1.4826 * np.nanmedian(np.where(okr, np.abs(resid), np.nan), axis=-1)
    mad = np.where(np.isfinite(mad) & (mad > 0), mad, np.nan)
    cnt = okr.sum(-1)
    # residuals of a fit with k coefficients understate the noise: degrees-of-freedom correction
    k_eff = min(g.k, 3 + len(g.groups["covariate"]) + len(g.groups["lag"]) + 8)
    dof = np.where(cnt > k_eff, cnt / np.maximum(cnt - k_eff, 1), np.nan)
    mad = mad * np.sqrt(dof)
    med = np.nanmedian(mad, axis=1, keepdims=True)
    med = np.where(np.isfinite(med), med, _DEFAULT_NOISE_SD)
    w0 = _SCALE_SHRINK_ROWS
    scale = np.sqrt((cnt * np.nan_to_num(mad, nan=0.0) ** 2 + w0 * med**2) / (cnt + w0))
    return np.maximum(scale, _NOISE_FLOOR_SD)


def _robust_fit(g, opt, rows, covf, u, pm, psd, upto, mask):
    Xb = block_view(g, design(g, 0, upto, u, covf, rows=rows))
    y = g.zraw[rows, :upto]
    if mask is not None:
        y = np.where(mask[:, :upto], y, np.nan)
    yb = block_view(g, y)
    w = (np.isfinite(yb) & np.all(np.isfinite(Xb), axis=-1)).astype(float)
    sigma2 = _initial_scale(yb)
    for it in range(_IRLS_PASSES):
        xtx, xty, _ = _bl.normal_stats(Xb, yb, w)
        beta, cov = _bl.posterior(xtx, xty, sigma2, pm, psd)
        fitted = np.einsum("nbmk,nbk->nbm", np.nan_to_num(Xb), beta)
        resid = yb - fitted
        okr = np.isfinite(resid) & (w > 0)
        scale = _block_scale(g, resid, okr)
        sigma2 = scale**2
        hw = _bl.huber_weights(resid, scale[..., None], c=opt.robust)
        w = np.where(okr, hw, 0.0) if it < _IRLS_PASSES - 1 else w
        if it == 0:
            _clean_lag_source(g, opt, rows, upto, fitted, resid, scale)
            del Xb, fitted  # the design is rebuilt on the cleaned lag source: one alive at a time
            Xb = block_view(g, design(g, 0, upto, u, covf, rows=rows))
            w = np.where(np.isfinite(yb) & np.all(np.isfinite(Xb), axis=-1), hw, 0.0)
    xtx, xty, _ = _bl.normal_stats(Xb, yb, w)
    beta, cov = _bl.posterior(xtx, xty, sigma2, pm, psd)
    beta, cov = stabilize(g, xtx, xty, sigma2, pm, psd, beta, cov)
    return xtx, xty, sigma2, beta, cov


def _clean_lag_source(g, opt, rows, upto, fitted, resid, scale) -> None:
    """Gaps and outliers (beyond twice the Huber threshold) of the lag source take the fitted value."""
    fit_t = unblock(g, fitted, upto)
    res_t = unblock(g, resid, upto)
    sc_t = unblock(g, np.broadcast_to(scale[..., None], fitted.shape), upto)
    raw_t = g.zraw[rows, :upto]
    bad = ~np.isfinite(raw_t) | (np.isfinite(res_t) & (np.abs(res_t) > 2 * opt.robust * sc_t))
    zf = g.zfill[rows, :upto]
    zf[bad] = np.where(np.isfinite(fit_t[bad]), fit_t[bad], zf[bad])
    g.zfill[rows, :upto] = zf


def stabilize(g, xtx, xty, sigma2, pm, psd, beta, cov, phi_max: float = PHI_MAX):
    """Keep the day-lag recursion stable: where the lags' absolute values sum above ``phi_max``,
    scale them down to ``phi_max`` and re-solve the other coefficients given them.

    ``sum |phi_j| < 1`` is what makes the recursion ``z_d = sum_j phi_j z_{d-j} + ...`` stable
    (every root of its characteristic polynomial inside the unit circle); a bound on the plain
    sum is not: lags of opposite signs (1.30 yesterday, -1.77 last week, seen on a night block of
    a contact centre whose lags and weekday terms were interchangeable) made one hour's forecast
    grow x3 a day."""
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
