"""Batched linear-Gaussian kernels: Bayesian (ridge) regression, Huber IRLS and Kalman updates.

The baseline of every resource is a linear model in log load, one coefficient vector per
(resource, intra-day block), with a Gaussian prior (mean ``m``, standard deviation ``tau``).
All resources and blocks are solved at once with stacked normal equations
(``numpy.linalg.solve`` on ``(..., k, k)`` arrays); adaptation between refits is a Kalman filter
on the coefficients with random-walk state noise (recursive least squares with forgetting), the
method Obst et al. found to track the 2020 lockdown break.

References
----------
.. [1] D. Obst, J. de Vilmarest, Y. Goude, "Adaptive Methods for Short-Term Electricity Load
   Forecasting During COVID-19 Lockdown in France", IEEE Trans. Power Systems 36(5), 2021.
.. [2] P. J. Huber, "Robust estimation of a location parameter", Ann. Math. Statist. 35, 1964.
.. [3] A. C. Harvey, *Forecasting, Structural Time Series Models and the Kalman Filter*,
   Cambridge University Press, 1989.
"""

from __future__ import annotations

import numpy as np

__all__ = ["huber_weights", "kalman_update", "normal_stats", "posterior"]


def normal_stats(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted sufficient statistics summed over the observation axis.

    Parameters
    ----------
    x : ndarray, shape (..., m, k)
        Design rows (``m`` observations per batch element).
    y : ndarray, shape (..., m)
        Responses (log load). NaN where missing (must have ``w = 0`` there).
    w : ndarray, shape (..., m)
        Weights (0 = ignore).

    Returns
    -------
    xtx : (..., k, k), xty : (..., k), n : (...,) effective number of observations.
    """
    xw = x * w[..., None]
    y0 = np.where(w > 0, y, 0.0)
    np.copyto(xw, 0.0, where=~np.isfinite(xw))  # in place: one design-sized temporary fewer
    xx = np.where(np.isfinite(x), x, 0.0)
    xtx = np.matmul(np.swapaxes(xw, -1, -2), xx)  # batched BLAS
    xty = np.matmul(np.swapaxes(xw, -1, -2), y0[..., None])[..., 0]
    return xtx, xty, (w > 0).sum(-1)


def posterior(
    xtx: np.ndarray, xty: np.ndarray, sigma2: np.ndarray, prior_mean: np.ndarray, prior_sd: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian posterior of regression coefficients, for all batch elements at once.

    ``A = X'WX / sigma2 + diag(1/tau^2)``, ``beta = A^{-1} (X'Wy / sigma2 + m / tau^2)``.

    Parameters
    ----------
    xtx, xty : sufficient statistics from :func:`normal_stats`.
    sigma2 : (...,) noise variance (log units squared).
    prior_mean, prior_sd : (..., k) prior mean and standard deviation.

    Returns
    -------
    beta : (..., k) posterior mean; cov : (..., k, k) posterior covariance.
    """
    k = xtx.shape[-1]
    prec = 1.0 / np.square(prior_sd)
    a = xtx / sigma2[..., None, None] + np.eye(k) * prec[..., None, :]
    b = xty / sigma2[..., None] + prior_mean * prec
    cov = np.linalg.inv(a)
    cov = 0.5 * (cov + np.swapaxes(cov, -1, -2))
    beta = np.einsum("...kl,...l->...k", cov, b)
    return beta, cov


def huber_weights(resid: np.ndarray, scale: np.ndarray, c: float = 2.5) -> np.ndarray:
    """Huber IRLS weights ``min(1, c * scale / |r|)`` (1 where the residual is missing)."""
    a = np.abs(resid) / np.maximum(scale, 1e-12)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(a > c, c / a, 1.0)
    return np.where(np.isfinite(w), w, 1.0)


def kalman_update(
    beta: np.ndarray,
    cov: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    sigma2: np.ndarray,
    q: np.ndarray,
    clip: float | np.ndarray = 3.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One robust Kalman step for a batch of regression states (updated in place).

    State ``beta_t = beta_{t-1} + eta``, ``eta ~ N(0, diag(q) sigma2)``; observation
    ``y = x' beta + eps``, ``eps ~ N(0, sigma2)``. The innovation is Huber-clipped at ``clip``
    predictive standard deviations so one spike cannot drag the state.

    Parameters
    ----------
    beta : (B, k); cov : (B, k, k); x : (B, k); y : (B,) (NaN = no observation: predict only);
    sigma2 : (B,); q : (B, k) or (k,) state-noise variances relative to ``sigma2``;
    clip : float or (B,) Huber threshold in predictive sd (``inf`` = no clipping).

    Returns
    -------
    beta, cov, innovation standardized by the predictive sd (NaN where ``y`` is missing).
    """
    ok = np.isfinite(y) & np.all(np.isfinite(x), axis=-1)
    xs = np.where(np.isfinite(x), x, 0.0)
    cov += np.eye(cov.shape[-1]) * (np.broadcast_to(q, beta.shape) * sigma2[:, None])[:, None, :]
    px = np.einsum("bkl,bl->bk", cov, xs)
    s = np.einsum("bk,bk->b", xs, px) + sigma2
    e = np.where(ok, y - np.einsum("bk,bk->b", xs, beta), 0.0)
    z = e / np.sqrt(s)
    clip = np.broadcast_to(np.asarray(clip, float), z.shape)
    ec = np.clip(z, -clip, clip) * np.sqrt(s)
    gain = px / s[:, None]
    gain[~ok] = 0.0
    beta += gain * ec[:, None]
    cov -= np.einsum("bk,bl->bkl", gain, px)
    return beta, cov, np.where(ok, z, np.nan)
