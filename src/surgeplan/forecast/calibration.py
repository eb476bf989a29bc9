"""Rolling-origin calibration: the adapted state, honest quantiles and the forecast combination.

:func:`rolling_pass` refits each group on the history before the last ``calibration_days`` days,
then rolls the origin forward one day at a time (forecast ``calibration_horizon_days`` ahead,
record the standardized errors of the model and of the seasonal naive, fold the day in with a
Kalman step). :func:`build_tables` turns the errors of every group into

* per kind and lead bucket, the weight of the model against the seasonal naive (least squares
  on the calibration errors, Bates & Granger 1969 [1]);
* per kind and lead bucket, split-conformal z-quantiles of the combined errors
  (:func:`surgeplan.forecast.conformal.conformal_z`);
* per kind, the mean square of one-day-ahead errors: the unit of the online scale.

:func:`z_quantiles` reads the tables at any lead (sqrt(lead) growth beyond the longest
calibrated bucket) and :func:`combine` blends the model with the naive.

References
----------
.. [1] J. M. Bates, C. W. J. Granger, "The combination of forecasts", Operational Research
   Quarterly 20(4), 451-468, 1969.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm

from surgeplan.forecast import baseline as _bl
from surgeplan.forecast import conformal as _cf
from surgeplan.forecast import persistence as _persistence
from surgeplan.forecast.design import block_view, cov_features, design
from surgeplan.forecast.fitting import stabilize
from surgeplan.forecast.intensity import DriverTables, intensity
from surgeplan.forecast.kalman import kalman_pass
from surgeplan.forecast.paths import forecast_log, naive_week
from surgeplan.forecast.shape import SHOCK_DAY
from surgeplan.forecast.state import Calibration, Group, Options, chunks

__all__ = ["ErrorTable", "Errors", "build_tables", "combine", "rolling_pass", "z_quantiles"]

#: fewest calibration days (origins) for a calibrated group; the window is at most a third of the history
_MIN_DAYS = 3
#: fewest errors for a combination weight of a (kind, bucket)
_MIN_COMBINATION = 50
#: most errors kept per kind for the quantiles (an even stride; ~200k pin a 1% quantile well)
_MAX_PER_KIND = 200_000
#: fewest one-day-ahead errors for a kind's online-scale unit
_MIN_UNIT = 20
#: growth of the spread beyond the longest calibrated lead: sqrt(lead / lmax), at most 3x
_MAX_GROWTH_RATIO = 9.0
#: an origin facing restrictions harder than any seen by more than this is not a "normal" error
_HARDER = 0.1


@dataclass(slots=True)
class Errors:
    """Standardized calibration errors of one group (model ``z``, seasonal naive ``zn``), per origin."""

    z: list[np.ndarray] = field(default_factory=list)
    zn: list[np.ndarray] = field(default_factory=list)
    lead: list[np.ndarray] = field(default_factory=list)
    row: list[np.ndarray] = field(default_factory=list)

    def table(self) -> ErrorTable | None:
        """The errors concatenated over origins, as :func:`build_tables` reads them (None: none)."""
        if not self.z:
            return None
        row = np.concatenate(self.row)
        return ErrorTable(
            z=np.concatenate(self.z),
            zn=np.concatenate(self.zn),
            bucket=_cf.lead_bucket(np.concatenate(self.lead)).astype(np.int8),
            row=row.astype(np.min_scalar_type(int(row.max(initial=0)))),
        )


@dataclass(slots=True, frozen=True)
class ErrorTable:
    """One group's calibration errors in four arrays (what a worker sends back: a lead bucket in a
    byte and the row in the fewest bytes, not a float and an int64 each)."""

    z: np.ndarray
    zn: np.ndarray
    bucket: np.ndarray
    row: np.ndarray

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.z, self.zn, self.bucket, self.row))


def _refit_before(g: Group, opt: Options, tables: DriverTables, covs: pd.DataFrame, D0: int) -> None:
    """Refit ``g``'s coefficients on the days before ``D0`` (same priors, cleaned lags, Huber weights)."""
    T = g.zraw.shape[1]
    covf = cov_features(g, 0, T, covs, opt.covariate_smoothing_hours) if len(g.cov_names) else None
    days = g.wall_days(0, T)
    for rows in chunks(g.n, opt.batch_size):
        u, _ = intensity(g, tables, rows, days, g.shock_lag[rows], g.shock_tau[rows])
        cf = None if covf is None else covf[:, : D0 * g.p]
        X = block_view(g, design(g, 0, D0 * g.p, u[:, :D0], cf, rows=rows))
        yb = block_view(g, g.zraw[rows, : D0 * g.p])
        resid = yb - np.einsum("nbmk,nbk->nbm", np.nan_to_num(X), g.beta[rows])
        w = np.isfinite(yb) & np.all(np.isfinite(X), axis=-1)
        hw = np.where(w, _bl.huber_weights(resid, np.sqrt(g.sigma2[rows])[..., None], c=opt.robust), 0.0)
        xtx, xty, _ = _bl.normal_stats(X, yb, hw)
        pm, psd, s2 = g.prior_mean[rows], g.prior_sd[rows], g.sigma2[rows]
        beta, cov = _bl.posterior(xtx, xty, s2, pm, psd)
        g.beta[rows], g.cov[rows] = stabilize(g, xtx, xty, s2, pm, psd, beta, cov)


def rolling_pass(g: Group, opt: Options, tables: DriverTables, covs: pd.DataFrame) -> Errors:
    """Rolling-origin pass over the last days of ``g``: adapts its state, returns the errors."""
    T = g.zraw.shape[1]
    D = T // g.p
    C = min(opt.calibration_days, max(0, D // 3 - 1))
    errors = Errors()
    g.v = np.ones(g.n)
    if C < _MIN_DAYS:
        return errors
    start = min((D - C) * g.p, g.t_obs)
    D0 = start // g.p
    _refit_before(g, opt, tables, covs, D0)
    # roll forward one day at a time; the evidence restarts from the window's start
    g.evidence = g.evidence_daily[:, :D0].sum(1)
    g.evidence_full = g.evidence_full_daily[:, :D0].sum(1)
    days = g.wall_days(0, T)
    u_all, _ = intensity(g, tables, None, days, g.shock_lag, g.shock_tau)
    H = opt.calibration_horizon_days * g.p
    unit = np.ones(g.n)
    # the residual correction restarts with the pass: learned online, origin by origin
    g.resid_tail, g.resid_beta = None, None
    g.resid_kind = np.unique(g.kinds.astype(str), return_inverse=True)[1].astype(np.int32)
    carry = _persistence.Accumulator.for_group(g)
    t = start
    while t < g.t_obs:
        h = min(H, g.t_obs - t)
        d0, d1 = t // g.p, (t + h - 1) // g.p + 1
        # origins facing a shock they have not learned yet are not "normal" errors: the online
        # scale covers them when they happen; they would inflate every later interval
        u_win = u_all[:, d0:d1].max(1)
        u_seen = u_all[:, :d0].max(1) if d0 > 0 else np.zeros(g.n)
        fresh = ((g.evidence < opt.min_evidence_days) & (u_win >= SHOCK_DAY)) | (u_win > u_seen + _HARDER)
        mean_log, _ = forecast_log(g, opt, tables, t, h, None, covs)
        actual = g.zraw[:, t : t + h]
        err = actual - mean_log
        steps = np.arange(t, t + h)
        sd = np.sqrt(g.sigma2[:, g.block_of(steps)])
        lead = (np.arange(h) + 1) * g.cadence_s / 86400.0
        ok = np.isfinite(err) & ~fresh[:, None]
        naive = naive_week(g, t, steps, u_all, days[0])
        applied = _persistence.correction(g, h)  # the naive carries the recent error as the model does
        if applied is not None:
            naive = naive + applied
        errors.zn.append(((actual - naive) / sd)[ok])
        errors.z.append((err / sd)[ok])
        errors.lead.append(np.broadcast_to(lead, err.shape)[ok])
        errors.row.append(np.broadcast_to(np.arange(g.n)[:, None], err.shape)[ok])
        carry.add(g, np.where(ok, err, np.nan), applied)
        g.resid_beta = carry.coefficients()
        nxt = min(t + g.p, g.t_obs)
        kalman_pass(g, opt, tables, covs, t, nxt, unit)
        t = nxt
    return errors


def _combination_weights(z, zn, kc, b, names) -> dict[tuple[str, int], float]:
    both = np.isfinite(z) & np.isfinite(zn)
    out = {}
    if not len(z):
        return out
    nb = int(b.max()) + 1
    key = kc * nb + b
    # each (kind, bucket)'s errors in their order, through one stable sort (a radix sort on a
    # short key) instead of a mask of every error per (kind, bucket)
    order = np.argsort(key.astype(np.int16) if key.max() < 2**15 else key, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(key[order]) != 0, True])
    for s, e in itertools.pairwise(bounds):
        sel = order[s:e][both[order[s:e]]]
        if len(sel) < _MIN_COMBINATION:
            continue
        c, bb = divmod(int(key[order[s]]), nb)
        d = zn[sel] - z[sel]
        den = float(np.sum(d * d))
        out[(names[c], bb)] = float(np.clip(np.sum(zn[sel] * d) / den, 0.0, 1.0)) if den > 0 else 1.0
    return out


def _thin(kc: np.ndarray) -> np.ndarray:
    """Keep at most ``_MAX_PER_KIND`` errors per kind, an even stride in origin order (so the
    split-half coverage check stays out of sample)."""
    keep = np.ones(len(kc), bool)
    for c in np.unique(kc):
        idx = np.flatnonzero(kc == c)
        if len(idx) > _MAX_PER_KIND:
            keep[idx] = False
            keep[idx[:: int(np.ceil(len(idx) / _MAX_PER_KIND))]] = True
    return keep


def build_tables(
    groups: Sequence[Group], errors: Sequence[ErrorTable | None], quantiles: Sequence[float]
) -> Calibration:
    """Combination weights, conformal z-quantiles and online-scale units from every group's errors.

    The groups keep the online scale ``g.v`` their rolling pass ended with: the innovations of
    the last days (half-life ``scale_halflife_days``), against the calibration set's unit. A fit
    made a few days into a shock thus starts with the intervals the shock's errors call for, as a
    fit before it followed by daily updates does (French load, refit weekly from 16 Mar 2020:
    p10-p90 coverage 69% when the scale restarted at its unit, 77% when kept).
    """
    names = sorted({str(k) for g in groups for k in g.kinds})
    code_of = {k: i for i, k in enumerate(names)}
    zs, zns, codes, buckets = [], [], [], []
    # the kind's code and the lead bucket in two bytes and one an error, not two int64 (memory
    # only: the same values; 67 M errors at 20,000 resources x 6 months hourly)
    code_type = np.int16 if len(names) < 2**7 else np.int64
    for g, e in zip(groups, errors):
        if e is not None:
            kc = np.array([code_of[str(k)] for k in g.kinds], dtype=code_type)
            zs.append(e.z)
            zns.append(e.zn)
            codes.append(kc[e.row])
            buckets.append(e.bucket)
    cal = Calibration()
    if not zs:
        return cal
    z, zn, kc, b = (np.concatenate(x) for x in (zs, zns, codes, buckets))
    cal.wtable = _combination_weights(z, zn, kc, b, names)
    weight = np.ones((len(names), int(b.max()) + 1 if len(b) else 1))  # (kind, bucket): 1 = the model
    for (kind, bb), w in cal.wtable.items():
        weight[code_of[kind], bb] = w
    if len(z):  # z <- wv z + (1 - wv) zn where zn is finite: the same operations, in place
        wv = weight[kc, b]
        rest = 1.0 - wv
        rest *= zn
        wv *= z
        wv += rest
        del rest
        np.copyto(z, wv, where=np.isfinite(zn))
        del wv
    keep = _thin(kc)
    z, kc, b = z[keep], kc[keep], b[keep]
    table, report = _cf.conformal_z(z, kc, b, np.array(quantiles))
    cal.ztable = {(names[int(k)], bb): v for (k, bb), v in table.items()}
    if len(report):
        report["kind"] = [names[int(k)] for k in report["kind"]]
    cal.report = report
    for c in np.unique(kc):
        sel = (kc == c) & (b == 0) & np.isfinite(z)
        if sel.sum() > _MIN_UNIT:
            lim = 6 * 1.4826 * np.median(np.abs(z[sel]))
            ms = float(np.mean(np.clip(z[sel], -lim, lim) ** 2))
            cal.ms1[names[int(c)]] = ms if np.isfinite(ms) and ms > 1e-6 else 1.0
    return cal


def _grid_from(zq: np.ndarray, q: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Quantile function on ``grid`` from a few calibrated quantiles: a normal with the calibrated
    median and the widest calibrated spread (a mean needs the whole distribution)."""
    qn = norm.ppf(q)
    med = np.interp(0.5, q, zq) if len(q) > 1 else 0.0
    far = np.argmax(np.abs(qn))
    s = abs((zq[far] - med) / qn[far]) if abs(qn[far]) > 1e-9 else 1.0
    return med + s * norm.ppf(grid)


def z_quantiles(
    cal: Calibration,
    quantiles: Sequence[float],
    kinds: np.ndarray,
    lead: np.ndarray,
    grid: np.ndarray | None = None,
) -> np.ndarray:
    """(n, h, nq) z-quantiles per (resource, lead): calibrated where possible, sqrt(lead) growth beyond.

    With ``grid``: the whole quantile function on that probability grid (:func:`_grid_from`).
    """
    qcal = np.array(quantiles)
    q = qcal if grid is None else grid
    bucket = _cf.lead_bucket(lead)
    out = np.empty((len(kinds), len(lead), len(q)))
    for kind in pd.unique(kinds):
        rows = kinds == kind
        have = sorted(b for (kd, b) in cal.ztable if kd == kind)
        for b in np.unique(bucket):
            cols = bucket == b
            if not have:
                out[np.ix_(rows, cols)] = _cf.gaussian_z(q)[None, None, :]
                continue
            bb = max([x for x in have if x <= b], default=have[0])
            zq = cal.ztable[(str(kind), bb)]
            if grid is not None:
                zq = _grid_from(zq, qcal, q)
            lmax = _cf.BUCKET_EDGES_DAYS[bb + 1]
            growth = (
                np.sqrt(np.clip(lead[cols] / lmax, 1.0, _MAX_GROWTH_RATIO))
                if np.isfinite(lmax)
                else np.ones(cols.sum())
            )
            med = zq[np.argmin(np.abs(q - 0.5))] if (np.abs(q - 0.5) < 1e-9).any() else 0.0
            out[np.ix_(rows, cols)] = (med + (zq[None, :] - med) * growth[:, None])[None]
    return out


def combine(
    cal: Calibration, kinds: np.ndarray, ml: np.ndarray, naive: np.ndarray, lead: np.ndarray
) -> np.ndarray:
    """Calibrated combination of the model and the seasonal naive (log scale; the model where no naive)."""
    if not cal.wtable:
        return ml
    bucket = _cf.lead_bucket(lead)
    w = np.ones(ml.shape)
    for kind in pd.unique(kinds):
        rows = kinds == kind
        have = sorted(bb for (kd, bb) in cal.wtable if kd == kind)
        if not have:
            continue
        for bb in np.unique(bucket):
            use = max([x for x in have if x <= bb], default=have[0])
            w[np.ix_(rows, bucket == bb)] = cal.wtable[(str(kind), use)]
    return np.where(np.isfinite(naive), w * ml + (1.0 - w) * naive, ml)
