"""Mean forecast paths in the centred log scale: the model's and the seasonal naive's.

:func:`forecast_log` runs the day-lag recursion for the first ``anchor_days`` days; beyond, each
step is the forecast a week earlier plus the model's change between the two days: the long-run
change of the shock term (``beta / (1 - phi_1 - phi_7)``, the recursion's steady state) and the
direct change of the calendar, trend and covariate terms. Errors of the lag and level
coefficients then stop compounding week after week.

Both functions read the group and return arrays: they change nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surgeplan.forecast import features as _ft
from surgeplan.forecast import persistence as _persistence
from surgeplan.forecast.design import cov_features, design
from surgeplan.forecast.intensity import DriverTables, intensity
from surgeplan.forecast.state import Group, Options

__all__ = ["LONG_RUN_FLOOR", "carried_intensity", "forecast_log", "long_run_denominator", "naive_week"]

#: floor of ``1 - sum of day lags`` in the long-run multiplier: lags summing near 1 do not blow up
LONG_RUN_FLOOR = 0.3
#: a restriction level differing by more than this between the naive's source day and the target
#: day: the naive cannot know the change of regime
_REGIME_DIFF = 0.1


def long_run_denominator(g: Group) -> np.ndarray:
    """(n, nb) ``1 - sum of day-lag coefficients``, floored: the long-run multiplier's inverse."""
    lag = g.groups["lag"]
    phi = g.beta[..., lag].sum(-1) if len(lag) else np.zeros((g.n, g.nb))
    return np.clip(1.0 - phi, LONG_RUN_FLOOR, None)


def carried_intensity(g: Group, u: np.ndarray) -> np.ndarray:
    """(n, days) intensity the response is carried at: not beyond the highest seen, where unknown.

    A response learned at partial intensity only (a few days at ``u`` = 0.1-0.4, fewer than
    ``min_evidence_days`` at ``u >= 0.5``) is a slope the linear-in-``u`` model would extrapolate
    many-fold to ``u = 1``: on the bundled operator, French VPN gateways that had risen +150% at
    ``u`` = 0.1 were forecast at 6x (p50) to 12x (p90) the load that followed their lockdown.
    Where nothing else tells the response at full intensity (no pool of the kind from regions hit
    earlier, ``g.extrapolate`` False), the response is carried as the level it reached: the
    intensity is capped at the highest one seen on a measured day (``g.x_seen``).
    """
    if g.extrapolate is None or g.x_seen is None or g.extrapolate.all():
        return u
    return np.where(g.extrapolate[:, None], u, np.minimum(u, g.x_seen[:, None]))


def forecast_log(
    g: Group,
    opt: Options,
    tables: DriverTables,
    t0: int,
    h: int,
    scen: dict[int, pd.DataFrame] | None,
    covs: pd.DataFrame,
) -> tuple[np.ndarray, dict[str, str]]:
    """(n, h) centred log forecast on wall steps [t0, t0 + h) from the state and ``zfill`` before ``t0``."""
    a, b = t0, t0 + h
    u, src = intensity(g, tables, None, g.wall_days(a, b), g.shock_lag, g.shock_tau, scen)
    u = carried_intensity(g, u)
    need = int(np.ceil(b / g.p)) * g.p
    zfill = g.zfill.copy()
    if need > zfill.shape[1]:
        zfill = np.concatenate([zfill, np.full((g.n, need - zfill.shape[1]), np.nan)], axis=1)
    covf = cov_features(g, a, b, covs, opt.covariate_smoothing_hours) if len(g.cov_names) else None
    out = np.empty((g.n, h))
    d_a = a // g.p
    anchor = opt.anchor_days * g.p if (opt.anchor_days and len(g.groups["lag"])) else 0
    regime = g.groups["shock"]  # a persistent change: its long-run effect
    # calendar, trend, covariates: their direct effect (a holiday moves one day, and maps the day
    # onto the Sunday profile: the same-weekday anchor must learn that from the model)
    direct = np.setdiff1d(np.arange(g.k), np.concatenate([g.groups["lag"], regime]))
    denom = long_run_denominator(g)
    S = np.zeros((g.n, h))
    for c0 in range(a, b, g.p):
        c1 = min(c0 + g.p, b)
        uc = u[:, (c0 // g.p - d_a) : ((c1 - 1) // g.p - d_a) + 1]
        X = design(g, c0, c1, uc, None if covf is None else covf[:, c0 - a : c1 - a], zfill=zfill)
        blocks = g.block_of(np.arange(c0, c1))
        bsel = g.beta[:, blocks, :]
        yhat = np.einsum("nmk,nmk->nm", np.nan_to_num(X), bsel)
        if anchor:
            S[:, c0 - a : c1 - a] = np.einsum("nmk,nmk->nm", X[..., regime], bsel[..., regime]) / denom[
                :, blocks
            ] + np.einsum("nmk,nmk->nm", np.nan_to_num(X[..., direct]), bsel[..., direct])
            far = np.arange(c0, c1) - a >= anchor
            if far.any():
                j = np.arange(c0, c1)[far] - a
                yhat[:, far] = out[:, j - anchor] + S[:, j] - S[:, j - anchor]
        out[:, c0 - a : c1 - a] = yhat
        zfill[:, c0:c1] = yhat
    carried = _persistence.correction(g, h)
    if carried is not None:  # after the recursion: the coefficients were measured on its output
        out += carried
    return out, src


def naive_week(g: Group, t0: int, steps: np.ndarray, u: np.ndarray, day0: np.datetime64) -> np.ndarray:
    """Seasonal naive in log: the same step in the latest week before the origin ``t0``.

    NaN where that week is not in the history, had another restriction level than the target day
    (``u`` = driver per resource and day from ``day0``: the naive cannot know a change of regime,
    the model can), or either day is a public holiday ("same day last week" of Easter Monday is
    an ordinary Monday).
    """
    wk = 7 * g.p
    k = (steps - t0) // wk + 1
    src = steps - wk * k
    okk = src >= 0
    out = np.full((g.n, len(steps)), np.nan)
    out[:, okk] = g.zfill[:, src[okk]]
    d_t = g.wall_days(steps[0], steps[-1] + 1)[steps // g.p - steps[0] // g.p]
    d_s = d_t - 7 * k
    it = (d_t - day0).astype(np.int64)
    is_ = (d_s - day0).astype(np.int64)
    inside = (is_ >= 0) & (it < u.shape[1])
    differ = np.ones((g.n, len(steps)), bool)
    differ[:, inside] = np.abs(u[:, it[inside]] - u[:, is_[inside]]) > _REGIME_DIFF
    for region in pd.unique(g.regions):  # regions, few
        rr = g.regions == region
        hol = _ft.region_holidays(region or None, d_t) | _ft.region_holidays(region or None, d_s)
        differ[rr] |= hol[None, :]
    out[differ] = np.nan
    return out
