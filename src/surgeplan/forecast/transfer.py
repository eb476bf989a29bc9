"""Cross-region transfer of the shock response: a kind-level pool with shrinkage.

A resource whose region has not been hit yet cannot learn its response from its own data. It
borrows the *long-run* response ``beta / (1 - sum(phi))`` (``phi`` = its autoregressive day
lags) learned by resources of the same kind in regions hit earlier, per hour of the day, weighted
by their evidence (days at full restriction, else days of shock seen, capped at 28). The pooled
value becomes the prior mean of
its shock coefficients, converted back through its own lags; the prior standard deviation is the
between-resource spread of the pool (plus a floor), so its own data, once it has any, overrides
the pool in proportion to the evidence (a normal-normal hierarchical model, Gelman et al. ch. 5).
Centre and spread are a weighted median and median absolute deviation: fits that are
extrapolations (a response seen only at partial intensity) must not set the pool.

Units: the pooled value is the log of ``1 + response`` at full restriction intensity (``u = 1``)
per hour of the day (weekend size, and the weekday interaction). A resource with little evidence
of its own (``extrapolation_band``) keeps its full-intensity response within the pool's band: a
slope learned at ``u = 0.4`` would otherwise be extrapolated to ``u = 1`` many-fold.

References
----------
.. [1] A. Gelman et al., *Bayesian Data Analysis*, 3rd ed., CRC Press, 2013, ch. 5.
.. [2] D. Obst, J. de Vilmarest, Y. Goude, "Adaptive Methods for Short-Term Electricity Load
   Forecasting During COVID-19 Lockdown in France", IEEE Trans. Power Systems 36(5), 2021
   (transfer of the Italian lockdown response to France).
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from surgeplan.forecast import features as _ft

__all__ = [
    "Pool",
    "apply_to_prior",
    "apply_to_state",
    "block_hours",
    "bound_to_pool",
    "extrapolation_band",
    "full_evidence_kinds",
    "full_response_known",
    "kind_pools",
    "shrink_to_pool",
    "give_pools",
    "response_pools",
    "transfer_responses",
]

_SD_FLOOR = 0.05
#: most days of evidence a resource weighs in a pool; the pool's weight in days when shrinking
EVIDENCE_CAP = 28.0
#: restriction intensity from which a day is direct evidence of the response at full restriction
FULL_INTENSITY = 0.9


class Pool(NamedTuple):
    """A kind's pooled response: ``centre`` and ``sd`` (24, 2) per hour of the day, (weekend size,
    working-day extra) in log at full intensity.

    ``load_space``: the centre is the log multiple of the *load* (a driver learned on daily load,
    :func:`surgeplan.forecast.learned.learned_pools`), which each resource converts to its started
    log ``log(load + c)`` hour by hour (:func:`_to_started_log`); otherwise it is already in that
    scale (pooled from fitted coefficients, :func:`kind_pools`).
    """

    centre: np.ndarray
    sd: np.ndarray
    load_space: bool = False


def block_hours(g: Any) -> np.ndarray:
    """Hour-of-day bin (0-23) of the centre of each intra-day block of group ``g``."""
    centre_h = (np.arange(g.nb) + 0.5) * g.r * g.cadence_s / 3600.0
    return np.floor(centre_h).astype(int) % 24


def _long_run(g: Any) -> tuple[np.ndarray, np.ndarray]:
    lag = g.groups["lag"]
    phi = g.beta[:, :, lag].sum(-1) if len(lag) else np.zeros((g.n, g.nb))
    denom = np.clip(1.0 - phi, 0.3, None)  # lags summing near/above 1: no blow-up
    return g.beta[:, :, g.groups["shock"]] / denom[..., None], denom


def _weighted_quantile(v: np.ndarray, w: np.ndarray, q: float) -> np.ndarray:
    """Weighted quantile along axis 0 (NaN values ignored); NaN where no weight."""
    w = np.where(np.isfinite(v), w, 0.0)
    order = np.argsort(np.where(np.isfinite(v), v, np.inf), axis=0)
    vs = np.take_along_axis(v, order, 0)
    ws = np.take_along_axis(w, order, 0)
    cw = np.cumsum(ws, axis=0)
    tot = cw[-1:]
    idx = np.argmax(cw >= q * tot, axis=0)[None]
    out = np.take_along_axis(vs, idx, 0)[0]
    return np.where(tot[0] > 0, out, np.nan)


def full_evidence_kinds(groups: list[Any], min_evidence: float) -> set[str]:
    """Kinds with at least one resource with ``min_evidence`` days at full restriction."""
    return {
        str(k)
        for g in groups
        if g.beta is not None and getattr(g, "evidence_full", None) is not None
        for k in np.unique(g.kinds[g.evidence_full >= min_evidence])
    }


def _response_evidence(g: Any, full_kinds: set[str]) -> np.ndarray:
    """(n,) days that tell a resource's response at full restriction: days at full restriction
    where its kind has such evidence somewhere, else its days of shock."""
    full = getattr(g, "evidence_full", None)
    full = np.zeros(g.n) if full is None else full
    return np.where(np.isin(g.kinds.astype(str), list(full_kinds)), full, g.evidence)


def kind_pools(
    groups: list[Any], min_evidence: float, full_kinds: set[str] | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Evidence-weighted robust centre and spread of long-run shock coefficients per kind and hour.

    Centre: the evidence-weighted median of the resources' long-run coefficients (log of
    ``1 + response`` at full intensity ``u = 1``); spread: 1.4826 x their weighted median
    absolute deviation, plus a floor. A median, not a mean: a few resources whose fit is an
    extrapolation (a response seen only at partial intensity, or through a long lag or rise that
    kept the filtered driver small during the evidence) carry slopes many times the others, and
    a mean and a standard deviation would pass them on to every region hit later (measured on
    the bundled demo: VPN pool sd 1.2 in log, i.e. no shrinkage at all).

    Weights: a resource's days at full restriction (``u >= FULL_INTENSITY``, ``g.evidence_full``,
    capped at 28) when its kind has a resource with ``min_evidence`` of them; else its days of
    shock (``u >= 0.5``). The pool is the response at full restriction: a region held at
    intermediate restrictions for weeks (``u`` 0.5-0.7) has many days of shock but its slope is
    an extrapolation to ``u = 1`` (measured: on a held-out subsample of the 2020 replay, two such
    resources set the voice pool at +5% while the regions fully locked down showed +95%).

    Returns
    -------
    {kind: (centre (24, 2), sd (24, 2))} for kinds with at least one resource with
    ``evidence >= min_evidence``; hours with no contributing block take the kind's all-hours value.
    """
    vals: dict[str, list[np.ndarray]] = {}
    wts: dict[str, list[np.ndarray]] = {}
    if full_kinds is None:
        full_kinds = full_evidence_kinds(groups, min_evidence)
    for g in groups:
        if g.beta is None:
            continue
        hit = g.evidence >= min_evidence
        if not hit.any():
            continue
        lr, _ = _long_run(g)
        w = np.minimum(_response_evidence(g, full_kinds), EVIDENCE_CAP)  # (n,)
        hit = hit & (w > 0)
        hours = block_hours(g)
        onehot = (hours[:, None] == np.arange(24)[None, :]).astype(float)  # (nb, 24)
        cnt = onehot.sum(0)  # blocks per hour
        per_h = np.einsum("nbj,bh->nhj", lr, onehot) / np.where(cnt > 0, cnt, 1.0)[None, :, None]
        per_h[:, cnt == 0, :] = np.nan  # (n, 24, 2)
        for kind in np.unique(g.kinds[hit]):
            rows = (g.kinds == kind) & hit
            vals.setdefault(str(kind), []).append(per_h[rows])
            wts.setdefault(str(kind), []).append(np.broadcast_to(w[rows][:, None, None], per_h[rows].shape))
    pools = {}
    for kind, parts in vals.items():
        v = np.concatenate(parts)  # (N, 24, 2)
        w = np.concatenate(wts[kind])
        centre = _weighted_quantile(v, w, 0.5)
        spread = 1.4826 * _weighted_quantile(np.abs(v - centre[None]), w, 0.5)
        # hours without a block: the all-hours value
        flat_v = v.transpose(1, 0, 2).reshape(-1, 2)
        flat_w = w.transpose(1, 0, 2).reshape(-1, 2)
        c_all = _weighted_quantile(flat_v, flat_w, 0.5)
        s_all = 1.4826 * _weighted_quantile(np.abs(v - c_all).transpose(1, 0, 2).reshape(-1, 2), flat_w, 0.5)
        centre = np.where(np.isfinite(centre), centre, c_all[None])
        spread = np.where(np.isfinite(spread), spread, s_all[None])
        pools[kind] = Pool(centre, np.sqrt(np.nan_to_num(spread) ** 2 + _SD_FLOOR**2))
    return pools


def _rows(mask: np.ndarray, among: np.ndarray | None) -> np.ndarray:
    """Positions where ``mask`` holds, among the resources ``among`` selects (all when None)."""
    return np.flatnonzero(mask if among is None else mask & among)


def extrapolation_band(
    g: Any, pools: dict, min_evidence: float, width: float = 1.0, among: np.ndarray | None = None
) -> np.ndarray:
    """Shock coefficients bounded for extrapolation to harder restrictions than the data saw.

    A response learned at partial intensity (``u`` well below 1, or on the first days of a ramp)
    is a slope that the linear-in-``u`` model extrapolates to ``u = 1``: a saturating true
    response (most of the effect already there at ``u = 0.4``) becomes a many-fold overshoot.
    Where a resource has less than ``min_evidence`` days of shock (``u >= 0.5``), its long-run
    shock coefficients are clipped to its kind's pool, ``centre +/- width sd`` per hour (log of
    ``1 + response`` at ``u = 1``, from regions hit earlier), the weekend size (``shock``) and
    the weekday size (``shock + shock_weekday``) each; resources with enough evidence, or of a
    kind without a pool, keep theirs (``among``: (n,) bool, only these resources are bounded).

    Returns
    -------
    (n, nb, k) copy of ``g.beta`` with the shock columns bounded.
    """
    beta = g.beta.copy()
    rows = _rows(g.evidence < min_evidence, among)
    if len(rows) == 0 or not pools:
        return beta
    m, s, ok = _pooled_values(g, rows, pools)  # short-run units (x (1 - sum phi)), like beta
    rows, m, s = rows[ok], m[ok], s[ok]
    if len(rows) == 0:
        return beta
    iu, iw = g.groups["shock"]
    lo, hi = m - width * s, m + width * s
    we = beta[rows, :, iu]
    wd = beta[rows, :, iu] + beta[rows, :, iw]
    # the pool's weekday size: centre of both columns summed, its spread the larger of the two
    # (the two columns' spreads are not independent: adding them would double the band)
    wd_lo = m.sum(-1) - width * s.max(-1)
    wd_hi = m.sum(-1) + width * s.max(-1)
    we_b = np.clip(we, lo[..., 0], hi[..., 0])
    wd_b = np.clip(wd, wd_lo, wd_hi)
    beta[rows, :, iu] = we_b
    beta[rows, :, iw] = wd_b - we_b
    return beta


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
        pool = pools[kind]
        centre = np.broadcast_to(pool.centre[hours][None], (int(sel.sum()), g.nb, 2))
        if pool.load_space:
            centre = _to_started_log(centre, _load_over_shift(g, rows[sel]))
        m[sel] = centre * denom[rows[sel]][..., None]
        s[sel] = pool.sd[hours][None] * denom[rows[sel]][..., None]
        ok[sel] = True
    return m, s, ok


def _load_over_shift(g: Any, rows: np.ndarray) -> np.ndarray:
    """(len(rows), nb, 2) typical load over the log shift ``c`` per intra-day block, (weekend,
    working day): the median over the days before any shock (``u < 0.5``); inf where ``c = 0``."""
    D = g.zraw.shape[1] // g.p
    c = g.c[rows]
    with np.errstate(over="ignore"):
        load = np.exp(g.zraw[rows, : D * g.p] + g.mu[rows, None]) - c[:, None]
    load = load.reshape(len(rows), D, g.nb, g.r)
    days = g.wall_days(0, D * g.p)
    calm = np.ones((len(rows), D), bool)
    if getattr(g, "evidence_daily", None) is not None:
        # days appended by update() after the fit have no evidence count yet: not taken as calm
        seen = np.asarray(g.evidence_daily[rows, :D]) <= 0
        calm[:, seen.shape[1] :] = False
        calm[:, : seen.shape[1]] = seen
    work = _ft.working_days(g.regions[rows].astype(str), days)
    out = np.full((len(rows), g.nb, 2), np.inf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # blocks never seen calm
        block = np.nanmean(load, -1)  # (n, D, nb)
        for t, mask in enumerate((~work, work)):
            sel = (calm & mask)[..., None]
            typical = np.nanmedian(np.where(sel, block, np.nan), axis=1)  # (n, nb)
            ratio = typical / np.where(c > 0, c, np.nan)[:, None]
            out[..., t] = np.where(c[:, None] > 0, ratio, np.inf)
    return np.where(np.isnan(out), np.inf, out)


def _to_started_log(centre: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """(n, nb, 2) (weekend, working-day extra) from log multiples of the load to the started log.

    A load ``L`` multiplied by ``m`` moves ``log(L + c)`` by ``log((r m + 1) / (r + 1))``,
    ``r = L / c``: the full ``log m`` where the load is far above ``c`` (busy hours), less at
    idle hours. Carried unconverted, a x8 conference-bridge response put weekend hours (load
    about ``c``) at 2-3x the load that came.
    """
    r = np.clip(ratio, 0.0, None)

    def started(log_m: np.ndarray, r: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.where(np.isinf(r), log_m, np.log((r * np.exp(log_m) + 1.0) / (r + 1.0)))
        return np.where(np.isfinite(out), out, log_m)

    we_c = started(centre[..., 0], r[..., 0])
    wd_c = started(centre[..., 0] + centre[..., 1], r[..., 1])
    return np.stack([we_c, wd_c - we_c], axis=-1)


def apply_to_prior(g: Any, pools: dict, rows: np.ndarray | None = None) -> None:
    """Set the pooled prior on the shock coefficients of resources with too little evidence
    (``rows``: of those, only these)."""
    rows = np.flatnonzero(g.shock_source != "fitted") if rows is None else np.asarray(rows)
    if len(rows) == 0 or not pools:
        return
    m, s, ok = _pooled_values(g, rows, pools)
    rows, m, s = rows[ok], m[ok], s[ok]
    sh = g.groups["shock"]
    for j, col in enumerate(sh):
        g.prior_mean[rows, :, col] = m[..., j]
        g.prior_sd[rows, :, col] = s[..., j]
    g.shock_source[rows] = "pooled"


def apply_to_state(g: Any, pools: dict, among: np.ndarray | None = None) -> None:
    """Online transfer: resources not hit yet (no shock seen) take the pool as their state
    (``among``: (n,) bool, only these resources)."""
    if g.beta is None:
        return
    rows = _rows(g.evidence <= 0.0, among)
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


def shrink_to_pool(
    g: Any,
    pools: dict,
    min_evidence: float,
    k: float = EVIDENCE_CAP,
    full_kinds: set[str] | None = None,
    among: np.ndarray | None = None,
) -> np.ndarray:
    """Shrink the shock response of resources with evidence toward their kind's pool.

    Precision weighting by evidence in the log-effect scale (long-run response, log of
    ``1 + response`` at ``u = 1``): ``post = (n * own + k * pool) / (n + k)``, ``n`` the
    resource's days of shock (``g.evidence``), ``k`` the pool's weight in days (default: one fully
    evidenced resource, the 28-day evidence cap of :func:`kind_pools`). A region whose
    indicator passed the threshold long before its load responded has a small, early-biased own
    fit; the pool keeps part of the response learned elsewhere (Gelman et al. ch. 5: the
    posterior mean of a normal-normal model with the prior counted as ``k`` observations).
    Only rows with ``evidence >= min_evidence`` change (thinner ones are banded by
    :func:`extrapolation_band`); kinds without a pool keep theirs. With ``full_kinds``
    (:func:`full_evidence_kinds`), ``n`` counts the days at full restriction for those kinds: a
    region held for weeks at intermediate restrictions knows its response there, not at full
    restriction (measured on the held-out replay subsample: India's voice, +85% after its
    lockdown, forecast at +28% from its own partial-intensity slope).

    Returns
    -------
    (n, nb, k) copy of ``g.beta`` with the shock columns shrunk.
    """
    beta = g.beta.copy()
    rows = _rows(g.evidence >= min_evidence, among)
    if len(rows) == 0 or not pools or k <= 0:
        return beta
    m, _, ok = _pooled_values(g, rows, pools)  # short-run units, like beta
    rows, m = rows[ok], m[ok]
    if len(rows) == 0:
        return beta
    n_ev = _response_evidence(g, full_kinds or set())[rows]
    wt = (n_ev / (n_ev + k))[:, None, None]
    sh = g.groups["shock"]
    beta[rows[:, None], :, np.asarray(sh)[None, :]] = np.swapaxes(
        wt * beta[rows][..., sh] + (1.0 - wt) * m, 1, 2
    )
    return beta


def transfer_responses(
    groups: list[Any], min_evidence: float, in_update: bool, learned: dict | None = None
) -> tuple[dict, set[str]]:
    """Pool the long-run responses per kind and give them to the resources not hit yet.

    At fit (``in_update=False``) the pool becomes the prior of resources with too little evidence
    and their coefficients are re-solved under it; online it becomes the state of resources that
    have seen no shock at all. ``learned``: pools of kinds whose driver was chosen out of region
    (:func:`surgeplan.forecast.learned.learned_pools`), which replace the fitted ones. Returns the
    pools and the kinds with evidence at full restriction.
    """
    pools, full_kinds = response_pools(groups, min_evidence, learned)
    for g in groups:
        give_pools(g, pools, min_evidence, in_update)
    return pools, full_kinds


def response_pools(
    groups: list[Any], min_evidence: float, learned: dict | None = None
) -> tuple[dict, set[str]]:
    """The pools of :func:`transfer_responses` and the kinds with evidence at full restriction
    (reads each group's ``beta``, evidence, kinds and block layout only)."""
    full_kinds = full_evidence_kinds(groups, min_evidence)
    return {**kind_pools(groups, min_evidence, full_kinds), **(learned or {})}, full_kinds


def give_pools(
    g: Any, pools: dict, min_evidence: float, in_update: bool, among: np.ndarray | None = None
) -> None:
    """One group's part of :func:`transfer_responses` (``among``: in an update, only these)."""
    from surgeplan.forecast import baseline as _bl

    if in_update:
        apply_to_state(g, pools, among)
        g.shock_source[g.evidence >= min_evidence] = "fitted"
        return
    apply_to_prior(g, pools)
    rows = np.flatnonzero(g.shock_source == "pooled")
    if len(rows):
        g.beta[rows], g.cov[rows] = _bl.posterior(
            g.xtx[rows], g.xty[rows], g.sigma2[rows], g.prior_mean[rows], g.prior_sd[rows]
        )


def bound_to_pool(
    g: Any, pools: dict, full_kinds: set[str], min_evidence: float, among: np.ndarray | None = None
) -> None:
    """Keep the full-intensity response of thinly evidenced resources within their kind's pool.

    Resources with less than ``min_evidence`` days of shock have a response slope learned at
    partial intensity or on the first days of a ramp, which the linear-in-``u`` model would
    extrapolate many-fold to ``u = 1``: their long-run shock coefficients are clipped to the pool
    band (:func:`extrapolation_band`); ``source`` is then 'pooled'. Resources with enough evidence
    are shrunk toward the pool (:func:`shrink_to_pool`: the pool counts as one fully evidenced
    resource), so an early, weak own response keeps part of the response learned elsewhere.
    ``among``: (n,) bool, only these resources.
    """
    banded = extrapolation_band(g, pools, min_evidence, among=among)
    sh = g.groups["shock"]
    moved = np.any(np.abs(banded[..., sh] - g.beta[..., sh]) > 1e-12, axis=(1, 2))
    g.beta = banded
    g.beta = shrink_to_pool(g, pools, min_evidence, full_kinds=full_kinds, among=among)
    enough = g.evidence >= min_evidence
    was = g.shock_source.astype(str)
    g.shock_source = np.where(enough, "fitted", np.where(moved | (was != "prior"), "pooled", was)).astype(
        object
    )


def full_response_known(g: Any, pools: dict, min_evidence: float) -> np.ndarray:
    """(n,) resources whose response at full intensity is known: their kind has a pool (from
    regions hit earlier, :func:`kind_pools`), or they have ``min_evidence`` days of shock of their
    own. The others' responses are not extrapolated beyond the intensity they were seen at
    (:func:`surgeplan.forecast.paths.carried_intensity`)."""
    return np.isin(g.kinds.astype(str), list(pools)) | (g.evidence >= min_evidence)
