"""Design matrices of the regression, the coefficients' priors, and the block layout.

Columns (:func:`setup_names`): level, day of the working week (7), holiday, trend, annual
harmonics (a year of history), covariate features (raw, exponentially smoothed, hinges at the
20/50/80% knots of the smoothed value; binary covariates raw only), the day lags (same step
``L`` days earlier, read from the cleaned series ``zfill``), and the shock pair (``u`` and
``u x working day``). Every (resource, intra-day block) has its own coefficients: arrays are
regrouped by block with :func:`block_view`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from surgeplan.forecast import features as _ft
from surgeplan.forecast.state import Group, Options

__all__ = ["block_view", "cov_features", "design", "prior", "setup_covariates", "setup_names", "unblock"]

#: prior sd of the level (log units): uninformative
_LEVEL_PRIOR_SD = 10.0
#: prior sd of the other coefficients (day of week, holiday, covariates; log units)
_DEFAULT_PRIOR_SD = 1.0
#: knots of the covariate hinges (quantiles of the smoothed standardized covariate)
_HINGE_KNOTS = (0.2, 0.5, 0.8)
#: warm-up of the covariate smoothing, in time constants (5: the start value weighs < 1%)
_WARM_TAUS = 5


def _cov_raw(g: Group, a: int, b: int, covs: pd.DataFrame) -> np.ndarray:
    """Raw covariate values on wall steps [a, b): (n, b - a, C), gaps interpolated inside."""
    nc = len(g.cov_names)
    out = np.full((g.n, b - a, nc), np.nan)
    if nc == 0 or b <= a:
        return out
    regions = pd.Series(g.regions)
    for j, name in enumerate(g.cov_names):  # few covariates
        cn = covs[covs["name"] == name]
        if cn.empty:
            continue
        wall = cn["ts"].dt.tz_convert(g.tz).dt.tz_localize(None).to_numpy()
        pos = (wall - g.w0) / g.step  # fractional step position
        keep = (pos >= a - 2 * g.p) & (pos < b + 2 * g.p)
        cn, pos = cn[keep], pos[keep]
        if cn.empty:
            continue
        for key_type in ("region", "resource_id"):
            part = cn["key_type"].to_numpy() == key_type
            if not part.any():
                continue
            wide = pd.DataFrame(
                {"key": cn["key"].to_numpy()[part], "pos": pos[part], "v": cn["value"].to_numpy()[part]}
            )
            wide = wide.groupby(["pos", "key"])["v"].mean().unstack("key")
            grid = np.arange(a, b, dtype=float)
            full = (
                wide.reindex(wide.index.union(grid))
                .interpolate(method="index", limit_area="inside")
                .reindex(grid)
            )
            keys = regions if key_type == "region" else pd.Series(g.ids)
            col = full.columns.get_indexer(keys.to_numpy())
            hit = col >= 0
            vals = full.to_numpy()[:, col[hit]].T
            out[hit, :, j] = np.where(np.isfinite(vals), vals, out[hit, :, j])
    return out


def _fill_time(raw: np.ndarray) -> np.ndarray:
    """Fill covariate gaps along time (axis 1): hold last, then back-fill."""
    if raw.size == 0:
        return raw
    n, m, c = raw.shape
    df = pd.DataFrame(raw.transpose(1, 0, 2).reshape(m, n * c)).ffill().bfill()
    return df.to_numpy().reshape(m, n, c).transpose(1, 0, 2)


def _alpha(cadence_s: int, hours: float) -> float:
    """EWMA weight of one step for a time constant of ``hours``."""
    return 1.0 - np.exp(-cadence_s / 3600.0 / hours)


def setup_covariates(g: Group, covs: pd.DataFrame, smoothing_hours: tuple[float, ...]) -> None:
    """Covariate names, standardization and hinge knots of ``g`` from the history."""
    names = sorted(pd.unique(covs["name"])) if not covs.empty else []
    g.cov_names = list(names)
    if not names:
        return
    raw = _fill_time(_cov_raw(g, 0, g.t_obs, covs))
    mean = np.nanmean(raw, axis=1)  # (n, C)
    sd = np.nanstd(raw, axis=1)
    g.cov_binary = np.array(
        [np.unique(raw[..., j][np.isfinite(raw[..., j])]).size <= 2 for j in range(len(names))]
    )
    g.cov_sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
    g.cov_mean = np.where(np.isfinite(mean), mean, 0.0)
    xs = (raw - g.cov_mean[:, None, :]) / g.cov_sd[:, None, :]
    alpha = _alpha(g.cadence_s, smoothing_hours[0]) if smoothing_hours else 1.0
    e1 = _ft.ewma(np.nan_to_num(xs), alpha, axis=1)
    knots = np.nanquantile(np.where(np.isfinite(xs), e1, np.nan), list(_HINGE_KNOTS), axis=1)
    g.cov_knots = np.nan_to_num(knots.transpose(1, 2, 0))


def cov_features(
    g: Group, a: int, b: int, covs: pd.DataFrame, smoothing_hours: tuple[float, ...]
) -> np.ndarray:
    """Covariate feature block on [a, b): (n, b - a, F)."""
    nc = len(g.cov_names)
    if nc == 0:
        return np.zeros((g.n, b - a, 0))
    hmax = max(smoothing_hours) if smoothing_hours else 0.0
    a0 = max(0, a - int(np.ceil(_WARM_TAUS * hmax * 3600.0 / g.cadence_s)))
    raw = _fill_time(_cov_raw(g, a0, b, covs))
    xs = np.nan_to_num((raw - g.cov_mean[:, None, :]) / g.cov_sd[:, None, :])
    feats = []
    for j in range(nc):
        x = xs[..., j]
        if g.cov_binary[j]:
            feats.append(x[..., None])
            continue
        sm = [_ft.ewma(x, _alpha(g.cadence_s, h), axis=1) for h in smoothing_hours]
        e1 = sm[0] if sm else x
        kn = g.cov_knots[:, j, :]  # (n, 3)
        hinges = [
            np.maximum(kn[:, 0:1] - e1, 0.0),
            np.maximum(kn[:, 1:2] - e1, 0.0),
            np.maximum(e1 - kn[:, 2:3], 0.0),
        ]
        feats.append(np.stack([x, *sm, *hinges], axis=-1))
    return np.concatenate(feats, axis=-1)[:, a - a0 :, :]


def setup_names(g: Group, smoothing_hours: tuple[float, ...]) -> None:
    """Column names of ``g``'s design and the column indices of each feature family."""
    names = ["level"] + [f"dow{d}" for d in range(7)] + ["holiday", "trend"]
    if g.annual:
        names += ["annual_sin", "annual_cos"]
    cov_feats = []
    for j, cname in enumerate(g.cov_names):
        if g.cov_binary[j]:
            cov_feats.append(cname)
        else:
            cov_feats += [cname] + [f"{cname}_s{h:g}h" for h in smoothing_hours]
            cov_feats += [f"{cname}_below_q20", f"{cname}_below_q50", f"{cname}_above_q80"]
    names += cov_feats + [f"lag{L}d" for L in g.lags] + ["shock", "shock_weekday"]
    g.names = names
    idx = {nm: i for i, nm in enumerate(names)}
    g.groups = {
        "level": np.array([idx["level"]]),
        "dow": np.array([idx[f"dow{d}"] for d in range(7)]),
        "covariate": np.array([idx[nm] for nm in cov_feats], dtype=np.int64),
        "lag": np.array([idx[f"lag{L}d"] for L in g.lags], dtype=np.int64),
        "shock": np.array([idx["shock"], idx["shock_weekday"]]),
        "other": np.array(
            [idx[nm] for nm in names if nm in ("holiday", "trend", "annual_sin", "annual_cos")]
        ),
    }


def _day_types(g: Group, regs: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, days) day of the region's working week (0-4 working, 5-6 weekend) and holidays."""
    return _ft.day_types(regs, days)


def design(
    g: Group,
    a: int,
    b: int,
    u: np.ndarray,
    covf: np.ndarray | None,
    rows: np.ndarray | None = None,
    zfill: np.ndarray | None = None,
) -> np.ndarray:
    """Design rows for wall steps [a, b): (len(rows), b - a, k).

    ``u``: (len(rows), days of [a, b)) driver; ``covf``: covariate features of every resource on
    [a, b) (:func:`cov_features`; None without covariates); ``zfill``: lag source (default
    ``g.zfill``; a forecast passes its own copy extended with its predictions).
    """
    rows = np.arange(g.n) if rows is None else rows
    zfill = g.zfill if zfill is None else zfill
    n, m = len(rows), b - a
    steps = np.arange(a, b)
    dpos = steps // g.p - a // g.p
    days = g.wall_days(a, b)[dpos]
    wd, hol = _day_types(g, g.regions[rows], days)
    dtype = np.where(hol, 6, wd)  # a public holiday takes the last weekend day's coefficients
    X = np.zeros((n, m, g.k))
    X[..., 0] = 1.0
    X[..., 1:8] = dtype[..., None] == np.arange(7)
    X[..., g.names.index("holiday")] = hol
    X[..., g.names.index("trend")] = ((steps * g.cadence_s / 86400.0 - g.t_ref_days) / 365.25)[None, :]
    if g.annual:
        doy = 2 * np.pi * (days.astype("datetime64[D]").astype(np.int64) % 365.25) / 365.25
        X[..., g.names.index("annual_sin")] = np.sin(doy)
        X[..., g.names.index("annual_cos")] = np.cos(doy)
    ic = g.groups["covariate"]
    if len(ic):
        X[..., ic] = covf[rows]
    for L, j in zip(g.lags, g.groups["lag"]):
        src = steps - L * g.p
        okk = src >= 0
        vals = np.full((n, m), np.nan)
        vals[:, okk] = zfill[rows][:, src[okk]]
        X[..., j] = vals
    ud = u[:, dpos]
    iu, iw = g.groups["shock"]
    X[..., iu] = ud
    X[..., iw] = ud * (dtype < 5)
    return X


def prior(g: Group, opt: Options) -> tuple[np.ndarray, np.ndarray]:
    """(n, nb, k) prior mean and sd of the coefficients (log units)."""
    m = np.zeros((g.n, g.nb, g.k))
    sd = np.full((g.n, g.nb, g.k), _DEFAULT_PRIOR_SD)
    sd[..., g.groups["level"]] = _LEVEL_PRIOR_SD
    sd[..., g.groups["lag"]] = opt.lag_prior_sd
    sd[..., g.names.index("trend")] = opt.trend_prior_sd
    iu, iw = g.groups["shock"]
    rp = opt.response_prior
    m[..., iu] = np.array([rp.get(kd, 0.0) if isinstance(rp, Mapping) else float(rp) for kd in g.kinds])[
        :, None
    ]
    sd[..., iu] = opt.response_prior_sd
    sd[..., iw] = opt.response_prior_sd / 2.0  # profile change: a smaller correction a priori
    return m, sd


def block_view(g: Group, X: np.ndarray) -> np.ndarray:
    """(n, D*p, ...) -> (n, nb, D*r, ...) grouping steps by intra-day block."""
    n, T = X.shape[:2]
    D = T // g.p
    rest = X.shape[2:]
    Y = np.moveaxis(X.reshape(n, D, g.nb, g.r, *rest), 2, 1)
    return Y.reshape(n, g.nb, D * g.r, *rest)


def unblock(g: Group, a: np.ndarray, upto: int) -> np.ndarray:
    """(n, nb, D*r) -> (n, D*p): the inverse of :func:`block_view` on steps [0, upto)."""
    n = a.shape[0]
    D = upto // g.p
    return np.moveaxis(a.reshape(n, g.nb, D, g.r), 1, 2).reshape(n, D * g.p)


def working_day_blocks(g: Group, rows: np.ndarray, T: int) -> np.ndarray:
    """Blocked working-day indicator (not a holiday, in the region's working week) on steps [0, T)."""
    out = _ft.working_days(g.regions[rows], g.wall_days(0, T)).astype(float)
    return block_view(g, np.repeat(out, g.p, axis=1))
