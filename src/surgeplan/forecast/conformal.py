"""Honest quantiles: rolling-origin residual quantiles per kind and lead-time bucket.

During :meth:`ShockForecaster.fit` the model is re-run as it would have been used: fitted on the
history minus its last ``calibration_days`` days, then one forecast origin per day through those
days (the state folded forward with the same Kalman update :meth:`update` uses). The log
residuals, divided by each resource's noise scale, are pooled per resource kind and per lead-time
bucket; their empirical quantiles (split-conformal style, with the finite-sample correction
``ceil((m + 1) q) / m``) become the ``z`` of each quantile. Beyond the longest calibrated lead the
``z`` grows like ``sqrt(lead)`` (random-walk error growth), capped at 3x.

References
----------
.. [1] V. Vovk, A. Gammerman, G. Shafer, *Algorithmic Learning in a Random World*, Springer, 2005.
.. [2] I. Gibbs, E. Candes, "Adaptive conformal inference under distribution shift", NeurIPS 2021.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["BUCKET_EDGES_DAYS", "conformal_z", "gaussian_z", "lead_bucket"]

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
