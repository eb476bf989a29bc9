"""The last hours' error carried into the next ones (``surgeplan.forecast.persistence``).

References are independent: ordinary least squares by ``numpy.linalg.lstsq`` for the coefficients,
and, for the forecaster, the same fitted state with the carried error removed (an ablation): on
AR(1) noise (hourly autocorrelation 0.97, as weather episodes give a city's load) carrying it must
cut the day-ahead error; on independent noise there is nothing to carry and it must not matter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surgeplan.forecast import ShockForecaster
from surgeplan.forecast import persistence as ps


class _G:
    """The few fields of a group the correction reads."""

    def __init__(self, n, cadence_s, kinds, tail):
        self.n, self.cadence_s = n, cadence_s
        self.resid_kind = np.asarray(kinds)
        self.resid_tail = np.asarray(tail, float)
        self.resid_beta = None


def test_tail_is_the_mean_of_the_last_hours_finite_residuals():
    e = np.array([[9.0, 1.0, 2.0, 3.0], [9.0, np.nan, np.nan, np.nan], [1.0, np.nan, 4.0, np.nan]])
    out = ps.tail(e, 3600)  # 3 hours at hourly cadence: the last three columns
    assert np.allclose(out, [2.0, 0.0, 4.0])
    assert np.allclose(ps.tail(np.arange(400.0)[None, :], 60), np.arange(220.0, 400.0).mean())


def test_coefficients_are_least_squares_by_lead_bucket_shrunk_toward_zero():
    rng = np.random.default_rng(3)
    n, h, origins = 40, 6, 30  # hourly: leads 0, 1, 2-3, 4-5 h are buckets 0, 1, 2, 3
    bucket = ps.lead_bucket(h, 3600)
    assert bucket.tolist() == [0, 1, 2, 2, 3, 3]
    true = np.array([0.9, 0.7, 0.5, 0.5, 0.3, 0.3])
    kinds = np.r_[np.zeros(20, int), np.ones(20, int)]
    acc = None
    xs, ys = [], []
    for _ in range(origins):
        r0 = rng.normal(0, 0.05, n)
        g = _G(n, 3600, kinds, r0)
        acc = acc or ps.Accumulator.for_group(g)
        err = r0[:, None] * true[None, :] + rng.normal(0, 0.02, (n, h))
        err[kinds == 1] = rng.normal(0, 0.05, (20, h))  # kind 1: nothing persists
        acc.add(g, err)
        xs.append(r0[kinds == 0])
        ys.append(err[kinds == 0])
    b = acc.coefficients()
    x, y = np.concatenate(xs), np.concatenate(ys)
    shrink = 1.0 + ps.PRIOR_COUNT / (origins * 20)
    for k in range(4):
        cols = bucket == k
        xk = np.repeat(x, cols.sum())
        ols = np.linalg.lstsq(xk[:, None], y[:, cols].ravel(), rcond=None)[0][0]
        assert b[0, k] == pytest.approx(min(max(ols / shrink, 0.0), 1.0), abs=1e-12)
        assert abs(b[0, k] - true[cols][0]) < 0.06
    assert np.all(b[1] == 0.0)  # not told from zero: nothing carried
    assert np.all(b[:, 4:] == 0.0)  # leads never seen


def test_errors_already_corrected_are_read_back_raw():
    """The pass folds in errors of a forecast that carried the tail: the coefficient is still the
    raw errors' regression, not a correction of the correction."""
    rng = np.random.default_rng(4)
    n, h = 50, 3
    g = _G(n, 3600, np.zeros(n, int), rng.normal(0, 0.05, n))
    g.resid_beta = np.full((1, ps.NBUCKETS), 0.4)
    raw = 0.8 * g.resid_tail[:, None] + rng.normal(0, 0.01, (n, h))
    acc = ps.Accumulator.for_group(g)
    acc.add(g, raw - ps.correction(g, h))
    b = acc.coefficients()
    assert np.all(np.abs(b[0, :3] - 0.8 / (1 + ps.PRIOR_COUNT / n)) < 0.05)


def _series(noise: np.ndarray, ts: pd.DatetimeIndex) -> pd.DataFrame:
    local = ts.tz_convert("Europe/Paris")
    h = local.hour.to_numpy()
    profile = (
        100.0 * (1.0 + 0.3 * np.sin(2 * np.pi * (h - 8) / 24)) * np.where(local.dayofweek >= 5, 0.8, 1.0)
    )
    return pd.DataFrame({"resource_id": "r", "ts": ts, "load": profile * np.exp(noise)})


def _day_ahead_ape(meas: pd.DataFrame, origins: list[pd.Timestamp], carry: bool) -> float:
    apes = []
    for o in origins:
        model = ShockForecaster(quantiles=(0.1, 0.5, 0.9)).fit(meas[meas.ts < o], cutoff=o)
        if not carry:
            for g in model.state_.groups:
                g.resid_tail = None
        f = model.predict("1D").merge(meas, on=["resource_id", "ts"])
        apes.append(float((f["mean"] / f["load"] - 1).abs().mean()))
    return float(np.mean(apes))


@pytest.mark.parametrize("rho, gain", [(0.97, 0.10), (0.0, None)])
def test_forecast_carries_persistent_errors_only(rho, gain):
    rng = np.random.default_rng(11)
    ts = pd.date_range("2021-04-05", periods=70 * 24, freq="h", tz="UTC")
    e = rng.normal(0, 0.03, len(ts))
    noise = np.empty(len(ts))
    noise[0] = e[0]
    for t in range(1, len(ts)):  # AR(1) in log, hourly
        noise[t] = rho * noise[t - 1] + e[t]
    meas = _series(noise, ts)
    origins = [pd.Timestamp("2021-06-01", tz="UTC") + pd.Timedelta(days=2 * k) for k in range(6)]
    with_tail = _day_ahead_ape(meas, origins, carry=True)
    without = _day_ahead_ape(meas, origins, carry=False)
    if gain is not None:
        assert with_tail < (1.0 - gain) * without, (with_tail, without)
    else:
        assert abs(with_tail - without) < 0.05 * without, (with_tail, without)
