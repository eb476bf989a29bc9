"""Interval coverage when restrictions may change within the lead time (regime-change mixture).

Known answers: the mixture quantile is checked against root finding on the mixture CDF written
out with ``scipy.stats.norm`` and against a Monte Carlo simulation of calm errors plus a shock of
known size that starts on a random day (constant daily hazard, known probability); the onset law
against the normal CDF; end to end, a region still calm when another one has locked down gets
upper quantiles that cover its own lockdown path, and only when the option is on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from surgeplan.forecast import ShockForecaster
from surgeplan.forecast.conformal import regime_mixture_z, regime_probability

Q = np.array([0.01, 0.1, 0.5, 0.9, 0.99])


@pytest.mark.parametrize("p, d", [(0.3, 2.0), (0.05, 4.0), (0.6, -1.5), (0.0, 3.0), (1.0, 1.0)])
def test_mixture_quantile_matches_root_finding(p, d):
    out = regime_mixture_z(norm.ppf(Q)[None], Q, np.array([1.0]), np.array([d]), np.array([p]))[0]
    # reference: solve (1 - p) Phi(x) + p Phi(x - d) = q with Brent's method
    ref = [brentq(lambda x, qq=qq: (1 - p) * norm.cdf(x) + p * norm.cdf(x - d) - qq, -20, 20) for qq in Q]
    np.testing.assert_allclose(out, ref, atol=1e-7)


@pytest.mark.parametrize("p, d, sd", [(0.2, 0.0, 3.0), (0.1, 2.0, 1.5), (0.4, -1.0, 0.5)])
def test_mixture_with_uncertain_shift_matches_root_finding(p, d, sd):
    """Changed regime N(d, 1 + sd^2): (1 - p) Phi(x) + p Phi((x - d) / sqrt(1 + sd^2)) = q."""
    out = regime_mixture_z(
        norm.ppf(Q)[None], Q, np.array([1.0]), np.array([d]), np.array([p]), np.array([sd])
    )[0]
    r = np.sqrt(1 + sd**2)
    ref = [
        brentq(lambda x, qq=qq: (1 - p) * norm.cdf(x) + p * norm.cdf((x - d) / r) - qq, -30, 30) for qq in Q
    ]
    np.testing.assert_allclose(out, ref, atol=1e-7)


def test_mixture_keeps_calibrated_quantiles_without_risk_and_scales_with_spread():
    zq = np.array([[-2.9, -1.1, 0.2, 1.4, 3.5]])  # asymmetric calibrated law
    np.testing.assert_array_equal(
        regime_mixture_z(zq, Q, np.array([1.3]), np.array([2.0]), np.array([0.0])), zq
    )
    # with spread s, a shift of s * d in z units moves x by the same as a shift d at spread 1, times s
    a = regime_mixture_z(zq, Q, np.array([1.0]), np.array([2.0]), np.array([0.2])) - zq
    b = regime_mixture_z(zq, Q, np.array([2.5]), np.array([5.0]), np.array([0.2])) - zq
    np.testing.assert_allclose(b, 2.5 * a, atol=1e-8)


def test_onset_probability_laws():
    lead = np.array([1.0, 7.0, 10.0, 14.0, 28.0])
    p = regime_probability(
        lead, np.array([10.0, np.nan]), np.array([3.0, 1.0]), np.array([6.0, 1.0]), np.array([0.0, 0.02])
    )
    # split normal: below the median scale 3, above it 6
    ref0 = np.where(lead < 10, norm.cdf((lead - 10) / 3.0), norm.cdf((lead - 10) / 6.0))
    np.testing.assert_allclose(p[0], ref0, atol=1e-12)
    # no projection: constant daily hazard 2% -> 1 - 0.98 ** lead
    np.testing.assert_allclose(p[1], 1 - 0.98**lead, atol=1e-12)


def test_upper_quantile_covers_at_the_right_rate_monte_carlo():
    """Calm errors N(0, 1) (z units); a lockdown starts on day tau ~ geometric(hazard 3%/day) and
    then moves the load by +2.5. At lead 14 days P(changed) = 1 - 0.97**14 = 0.348. The widened
    quantiles must cover at their nominal rates; the calm-only ones must not (the test can fail)."""
    rng = np.random.default_rng(7)
    n, lead, hazard, d = 400_000, 14.0, 0.03, 2.5
    tau = rng.geometric(hazard, n)  # onset day, 1, 2, ...
    y = rng.normal(0, 1, n) + d * (tau <= lead)
    prob = regime_probability(
        np.array([lead]), np.array([np.nan]), np.ones(1), np.ones(1), np.array([hazard])
    )
    zq = regime_mixture_z(norm.ppf(Q)[None], Q, np.array([1.0]), np.array([d]), prob[:, 0])[0]
    cov = (y[:, None] <= zq[None, :]).mean(0)
    tol = 4 * np.sqrt(Q * (1 - Q) / n)  # 4 binomial standard errors
    assert np.all(np.abs(cov - Q) <= tol), (cov, Q)
    calm_cov = (y[:, None] <= norm.ppf(Q)[None, :]).mean(0)
    assert calm_cov[-1] < 0.95 and calm_cov[-2] < 0.75  # calm-only 99% / 90% quantiles under-cover


# --------------------------------------------------------------------------- end to end
def _hourly(region_of: dict[str, str], lock: dict[str, str | None], days: int, jump: float, seed: int):
    ts = pd.date_range("2021-04-05", periods=days * 24, freq="h", tz="UTC")
    rng = np.random.default_rng(seed)
    h = ts.hour.to_numpy()
    base = 100 * (1 + 0.3 * np.sin(2 * np.pi * (h - 8) / 24))
    frames = []
    for rid, reg in region_of.items():
        on = (
            np.zeros(len(ts))
            if lock[reg] is None
            else (ts >= pd.Timestamp(lock[reg], tz="UTC")).astype(float)
        )
        y = base * (1 + (jump - 1) * on) * np.exp(rng.normal(0, 0.01, len(ts)))
        frames.append(pd.DataFrame({"resource_id": rid, "ts": ts, "load": y}))
    dates = pd.date_range("2021-04-05", periods=days, freq="D")
    ind = []
    for reg, start in lock.items():
        on = np.zeros(days) if start is None else (dates >= pd.Timestamp(start)).astype(float)
        ind.append(pd.DataFrame({"region": reg, "date": dates, "name": "stringency_index", "value": 90 * on}))
        ind.append(
            pd.DataFrame({"region": reg, "date": dates, "name": "stay_home_required", "value": 2 * on})
        )
    return ts, pd.concat(frames, ignore_index=True), pd.concat(ind, ignore_index=True)


def test_calm_region_upper_quantile_covers_its_possible_lockdown():
    """ITA locks down on day 30 (load x1.5, known), FRA stays calm through day 60. Empirical onset
    rate: 1 onset in 30 + 59 calm region-days -> 1/89 per day, so P(FRA locked by 14 days) =
    1 - (88/89)**14 = 0.146 > 1%: the 99% quantile of FRA at 10-14 days must reach the x1.5
    path (with the transferred response), the calm-only one must stay near the calm load."""
    regions = {"i1": "ITA", "i2": "ITA", "f1": "FRA", "f2": "FRA"}
    lock = {"ITA": "2021-05-05", "FRA": None}
    ts, meas, ind = _hourly(regions, lock, 60, 1.5, seed=3)
    inv = pd.DataFrame(
        {"resource_id": list(regions), "kind": "trunk_group", "region": list(regions.values())}
    )
    on = ShockForecaster(quantiles=(0.5, 0.9, 0.99)).fit(meas, inventory=inv, indicators=ind)
    off = ShockForecaster(quantiles=(0.5, 0.9, 0.99), regime_change=False).fit(
        meas, inventory=inv, indicators=ind
    )
    fa, fb = on.predict("14D"), off.predict("14D")
    assert on.indicator_source_.get("FRA") == "held_last"
    fut = pd.to_datetime(fa["ts"])
    calm_truth = 100 * (1 + 0.3 * np.sin(2 * np.pi * (fut.dt.hour.to_numpy() - 8) / 24))
    lead_days = (fut - ts[-1]).dt.total_seconds().to_numpy() / 86400
    sel = fa["resource_id"].isin(["f1", "f2"]).to_numpy() & (lead_days >= 10)
    assert np.mean(fa["p99"].to_numpy()[sel] >= 0.97 * 1.5 * calm_truth[sel]) > 0.9
    assert np.mean(fb["p99"].to_numpy()[sel] <= 1.25 * calm_truth[sel]) > 0.9
    # the median stays on the calm path (P(change) < 0.5), and ITA (already locked) is untouched
    np.testing.assert_allclose(fa["p50"].to_numpy()[sel], calm_truth[sel], rtol=0.05)
    ita = fa["resource_id"].isin(["i1", "i2"]).to_numpy()
    np.testing.assert_allclose(fa["p99"].to_numpy()[ita], fb["p99"].to_numpy()[ita], rtol=1e-9)
