"""Honest quantiles: rolling-origin residual quantiles per kind and lead-time bucket.

During :meth:`ShockForecaster.fit` the model is re-run as it would have been used: fitted on the
history minus its last ``calibration_days`` days, then one forecast origin per day through those
days (the state folded forward with the same Kalman update :meth:`update` uses). The log
residuals, divided by each resource's noise scale, are pooled per resource kind and per lead-time
bucket; their empirical quantiles (split-conformal style, with the finite-sample correction
``ceil((m + 1) q) / m``) become the ``z`` of each quantile. Beyond the longest calibrated lead the
``z`` grows like ``sqrt(lead)`` (random-walk error growth), capped at 3x.

The calibration windows are calm (origins facing a shock not learned yet are left out), so these
quantiles ignore the chance that restrictions change within the lead time. At prediction time
:func:`regime_mixture_z` mixes the calibrated law with its copy moved by the shock response (and
widened by the response's own uncertainty), with the probability of :func:`regime_probability`.

References
----------
.. [1] V. Vovk, A. Gammerman, G. Shafer, *Algorithmic Learning in a Random World*, Springer, 2005.
.. [2] I. Gibbs, E. Candes, "Adaptive conformal inference under distribution shift", NeurIPS 2021.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "BUCKET_EDGES_DAYS",
    "conformal_z",
    "gaussian_z",
    "lead_bucket",
    "regime_mixture_z",
    "regime_probability",
]

#: Lead-time bucket edges, in days: (0, 1], (1, 2], (2, 4], (4, 7], (7, 14], (14, 28], (28, inf).
BUCKET_EDGES_DAYS = np.array([0.0, 1.0, 2.0, 4.0, 7.0, 14.0, 28.0, np.inf])


def lead_bucket(lead_days: np.ndarray) -> np.ndarray:
    """Index of the lead-time bucket of each lead (in days, > 0)."""
    return np.clip(np.searchsorted(BUCKET_EDGES_DAYS, np.asarray(lead_days, float), side="left") - 1, 0, 6)


def gaussian_z(quantiles: np.ndarray) -> np.ndarray:
    """Standard normal quantiles (fallback when there is no calibration set)."""
    from scipy.stats import norm

    return norm.ppf(np.asarray(quantiles, float))


def conformal_z(
    z: np.ndarray, kinds: np.ndarray, buckets: np.ndarray, quantiles: np.ndarray, min_count: int = 50
) -> tuple[dict[tuple[str, int], np.ndarray], pd.DataFrame]:
    """Empirical quantiles of standardized residuals per (kind, bucket), with coverage.

    Parameters
    ----------
    z : (m,) standardized log residuals (actual - forecast) / scale.
    kinds : (m,) kind of the resource of each residual.
    buckets : (m,) lead bucket of each residual.
    quantiles : (nq,) probabilities.
    min_count : buckets with fewer residuals borrow the kind's pooled residuals (all buckets up to
        this one), then the Gaussian.

    Returns
    -------
    table : {(kind, bucket): z-quantiles (nq,)} for buckets that have data;
    report : DataFrame ``kind, bucket, lead_days_max, n, quantile, z, coverage, coverage_split``:
        ``coverage`` = share of calibration residuals at or below the quantile (in-sample),
        ``coverage_split`` = the same with quantiles estimated on the first half of the origins
        and counted on the second half (an out-of-sample check).
    """
    q = np.asarray(quantiles, float)
    ok = np.isfinite(z)
    z, kinds, buckets = z[ok], np.asarray(kinds)[ok], np.asarray(buckets)[ok]
    codes, uniq = pd.factorize(kinds)
    table: dict[tuple[str, int], np.ndarray] = {}
    rows = []
    for code, kind in enumerate(uniq):  # few kinds
        mk = codes == code
        for b in np.unique(buckets[mk]):
            sel = mk & (buckets == b)
            if sel.sum() < min_count:
                sel = mk & (buckets <= b)
            vals = z[sel]
            m = len(vals)
            if m < min_count:
                continue
            level = np.clip(np.where(q >= 0.5, np.ceil((m + 1) * q) / m, np.floor((m + 1) * q) / m), 0.0, 1.0)
            zq = np.quantile(vals, level)
            table[(str(kind), int(b))] = zq
            half = m // 2
            zq1 = np.quantile(vals[:half], q) if half >= 20 else zq
            for j, qq in enumerate(q):
                rows.append(
                    {
                        "kind": str(kind),
                        "bucket": int(b),
                        "lead_days_max": float(BUCKET_EDGES_DAYS[int(b) + 1]),
                        "n": int(m),
                        "quantile": float(qq),
                        "z": float(zq[j]),
                        "coverage": float(np.mean(vals <= zq[j])),
                        "coverage_split": float(np.mean(vals[half:] <= zq1[j]))
                        if half >= 20
                        else float("nan"),
                    }
                )
    return table, pd.DataFrame(rows)


def regime_mixture_z(
    zq: np.ndarray,
    quantiles: np.ndarray,
    spread: np.ndarray,
    shift: np.ndarray,
    prob: np.ndarray,
    shift_sd: np.ndarray | float = 0.0,
    iters: int = 40,
) -> np.ndarray:
    """Calibrated z-quantiles widened for a possible regime change within the lead time.

    The calm-period calibration (:func:`conformal_z`) describes the errors when restrictions stay
    as they are. With probability ``prob`` they change before the lead time, and the load moves by
    ``shift`` (the shock response, in z units). The predictive law is then the two-component
    mixture ``(1 - p) F(z) + p F2(z)`` of the calibrated law ``F`` and its copy shifted by
    ``shift`` and widened by the uncertainty ``shift_sd`` of the response itself (a response known
    only from a prior or a pool). ``F`` is taken as a normal with scale ``spread`` for the
    *increment* only: the returned quantile is ``zq + spread * (x - Phi^-1(q))``, where ``x``
    solves ``(1 - p) Phi(x) + p Phi((x - d) / r) = q`` with ``d = shift / spread`` and
    ``r = sqrt(1 + (shift_sd / spread)^2)`` (bisection, vectorized), so ``prob = 0`` gives ``zq``
    back exactly.

    Parameters
    ----------
    zq : (..., nq) calibrated z-quantiles.
    quantiles : (nq,) their probabilities.
    spread : (...) scale of the calibrated law in z units (> 0).
    shift : (...) log-load shift of the changed regime, in z units (either sign).
    prob : (...) probability in [0, 1] that the regime has changed by the lead time.
    shift_sd : (...) standard deviation of the shift (z units, >= 0).

    Returns
    -------
    (..., nq) widened z-quantiles (non-decreasing in ``prob`` for upper quantiles when ``shift > 0``).

    References
    ----------
    .. [1] G. McLachlan, D. Peel, *Finite Mixture Models*, Wiley, 2000 (mixture quantiles).
    """
    from scipy.special import ndtr, ndtri

    q = np.asarray(quantiles, float)
    zq = np.asarray(zq, float)
    s = np.clip(np.asarray(spread, float), 1e-9, None)[..., None]
    d = (np.asarray(shift, float)[..., None]) / s
    p = np.clip(np.asarray(prob, float), 0.0, 1.0)[..., None]
    d = np.where(np.isfinite(d), d, 0.0)
    r = np.sqrt(1.0 + (np.nan_to_num(np.asarray(shift_sd, float))[..., None] / s) ** 2)
    z0 = ndtri(q)
    lo = np.minimum(z0, d + r * z0)  # the mixture quantile lies between its components'
    hi = np.maximum(z0, d + r * z0)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        below = (1.0 - p) * ndtr(mid) + p * ndtr((mid - d) / r) < q
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return np.where((p > 0) & ((d != 0) | (r > 1)), zq + s * (0.5 * (lo + hi) - z0), zq)


def regime_probability(
    lead_days: np.ndarray,
    median_days: np.ndarray,
    sd_low: np.ndarray,
    sd_high: np.ndarray,
    hazard: np.ndarray,
) -> np.ndarray:
    """Probability that a region's restrictions have changed within ``lead_days``.

    The larger of (a) a split-normal law of the change day (median ``median_days`` after the
    origin, scale ``sd_low`` before and ``sd_high`` after it; NaN median = no projection), e.g.
    from the earliest/median/latest case-threshold crossing of :func:`surgeplan.signals.anticipate_crossing`,
    and (b) a constant daily ``hazard``: ``1 - (1 - hazard) ** lead``.

    Parameters
    ----------
    lead_days : (h,) lead times, days.
    median_days, sd_low, sd_high, hazard : (n,) per resource (days; hazard per day).

    Returns
    -------
    (n, h) probabilities in [0, 1].
    """
    from scipy.special import ndtr

    L = np.asarray(lead_days, float)[None, :]
    m = np.asarray(median_days, float)[:, None]
    sd = np.where(L < m, np.asarray(sd_low, float)[:, None], np.asarray(sd_high, float)[:, None])
    pa = np.where(np.isfinite(m), ndtr((L - m) / np.clip(sd, 0.5, None)), 0.0)
    lam = np.clip(np.nan_to_num(np.asarray(hazard, float)), 0.0, 1.0)[:, None]
    ph = 1.0 - (1.0 - lam) ** L
    return np.clip(np.maximum(pa, ph), 0.0, 1.0)
