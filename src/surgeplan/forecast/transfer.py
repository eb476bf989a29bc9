"""Cross-region transfer of the shock response: a kind-level pool with shrinkage.

A resource whose region has not been hit yet cannot learn its response from its own data. It
borrows the *long-run* response ``beta / (1 - sum(phi))`` (``phi`` = its autoregressive day
lags) learned by resources of the same kind in regions hit earlier, per hour of the day, weighted
by their evidence (days of shock seen, capped at 28). The pooled value becomes the prior mean of
its shock coefficients, converted back through its own lags; the prior standard deviation is the
between-resource spread of the pool (plus a floor), so its own data, once it has any, overrides
the pool in proportion to the evidence (a normal-normal hierarchical model, Gelman et al. ch. 5).

References
----------
.. [1] A. Gelman et al., *Bayesian Data Analysis*, 3rd ed., CRC Press, 2013, ch. 5.
.. [2] D. Obst, J. de Vilmarest, Y. Goude, "Adaptive Methods for Short-Term Electricity Load
   Forecasting During COVID-19 Lockdown in France", IEEE Trans. Power Systems 36(5), 2021
   (transfer of the Italian lockdown response to France).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["apply_to_prior", "apply_to_state", "block_hours", "kind_pools"]

_SD_FLOOR = 0.05
_EVIDENCE_CAP = 28.0


def block_hours(g: Any) -> np.ndarray:
    """Hour-of-day bin (0-23) of the centre of each intra-day block of group ``g``."""
    centre_h = (np.arange(g.nb) + 0.5) * g.r * g.cadence_s / 3600.0
    return np.floor(centre_h).astype(int) % 24


def _long_run(g: Any) -> tuple[np.ndarray, np.ndarray]:
    lag = g.groups["lag"]
    phi = g.beta[:, :, lag].sum(-1) if len(lag) else np.zeros((g.n, g.nb))
    denom = np.clip(1.0 - phi, 0.3, None)  # lags summing near/above 1: no blow-up
    return g.beta[:, :, g.groups["shock"]] / denom[..., None], denom


def kind_pools(groups: list[Any], min_evidence: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Evidence-weighted mean and spread of long-run shock coefficients per kind and hour.

    Returns
    -------
    {kind: (mean (24, 2), sd (24, 2))} for kinds with at least one resource with
    ``evidence >= min_evidence``; hours with no contributing block take the kind's all-hours value.
    """
    acc: dict[str, list[np.ndarray]] = {}
    for g in groups:
        if g.beta is None:
            continue
        hit = g.evidence >= min_evidence
        if not hit.any():
            continue
        lr, _ = _long_run(g)
        w = np.minimum(g.evidence, _EVIDENCE_CAP) * hit  # (n,)
        hours = block_hours(g)
        onehot = (hours[:, None] == np.arange(24)[None, :]).astype(float)  # (nb, 24)
        for kind in np.unique(g.kinds[hit]):
            rows = (g.kinds == kind) & hit
            wr = w[rows][:, None, None] * np.ones((1, g.nb, 2))
            s0 = np.einsum("nbj,bh->hj", wr, onehot)
            s1 = np.einsum("nbj,bh->hj", wr * lr[rows], onehot)
            s2 = np.einsum("nbj,bh->hj", wr * lr[rows] ** 2, onehot)
            cur = acc.setdefault(str(kind), [np.zeros((24, 2)), np.zeros((24, 2)), np.zeros((24, 2))])
            cur[0] += s0
            cur[1] += s1
            cur[2] += s2
    pools = {}
    for kind, (s0, s1, s2) in acc.items():
        tot0, tot1, tot2 = s0.sum(0), s1.sum(0), s2.sum(0)
        all_mean = tot1 / np.maximum(tot0, 1e-12)
        all_var = np.maximum(tot2 / np.maximum(tot0, 1e-12) - all_mean**2, 0.0)
        has = s0 > 0
        mean = np.where(has, s1 / np.where(has, s0, 1.0), all_mean)
        var = np.where(has, np.maximum(s2 / np.where(has, s0, 1.0) - mean**2, 0.0), all_var)
        pools[kind] = (mean, np.sqrt(var + _SD_FLOOR**2))
    return pools


def _pooled_values(g: Any, rows: np.ndarray, pools: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    hours = block_hours(g)
    _, denom = _long_run(g)
    m = np.zeros((len(rows), g.nb, 2))
    s = np.zeros((len(rows), g.nb, 2))
    ok = np.zeros(len(rows), bool)
    for kind in np.unique(g.kinds[rows]):
        if kind not in pools:
            continue
        sel = g.kinds[rows] == kind
        pm, ps = pools[kind]
        m[sel] = pm[hours][None] * denom[rows[sel]][..., None]
        s[sel] = ps[hours][None] * denom[rows[sel]][..., None]
        ok[sel] = True
    return m, s, ok


def apply_to_prior(g: Any, pools: dict) -> None:
    """Set the pooled prior on the shock coefficients of resources with too little evidence."""
    rows = np.flatnonzero(g.shock_source != "fitted")
    if len(rows) == 0 or not pools:
        return
    m, s, ok = _pooled_values(g, rows, pools)
    rows, m, s = rows[ok], m[ok], s[ok]
    sh = g.groups["shock"]
    for j, col in enumerate(sh):
        g.prior_mean[rows, :, col] = m[..., j]
        g.prior_sd[rows, :, col] = s[..., j]
    g.shock_source[rows] = "pooled"


def apply_to_state(g: Any, pools: dict, min_evidence: float | None = None) -> None:
    """Online transfer: resources not hit yet (no shock seen) take the pool as their state."""
    if g.beta is None:
        return
    rows = np.flatnonzero(g.evidence <= 0.0)
    if len(rows) and pools:
        m, s, ok = _pooled_values(g, rows, pools)
        rows, m, s = rows[ok], m[ok], s[ok]
        sh = g.groups["shock"]
        for j, col in enumerate(sh):
            g.beta[rows, :, col] = m[..., j]
            g.cov[rows, :, col, :] = 0.0
            g.cov[rows, :, :, col] = 0.0
            g.cov[rows, :, col, col] = s[..., j] ** 2
        g.shock_source[rows] = "pooled"
