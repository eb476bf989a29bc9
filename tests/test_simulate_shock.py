"""Shock response: activation, lag / ramp / decay dynamics, calibrated saturation, flatter weeks.

References are hand computations (in comments) of the documented formulas, and the calibration
figures of the default scenario (mobile voice x2, VPN users x8: Orange press release, March 2020).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from surgeplan.errors import SurgeplanError
from surgeplan.simulate import (
    activation,
    habituation,
    load_scenario,
    multiplier,
    region_response,
    response,
    simulate,
)
from surgeplan.simulate.scenario import ShockParams


def test_activation_smoothstep_hand_values():
    # threshold 30, saturation 75: z = (v - 30) / 45; S(z) = 3 z^2 - 2 z^3
    v = np.array([0.0, 30.0, 41.25, 52.5, 75.0, 100.0])
    expected = [0.0, 0.0, 3 / 16 - 2 / 64, 0.5, 1.0, 1.0]  # z = 0.25 -> 0.15625; z = 0.5 -> 0.5
    np.testing.assert_allclose(activation(v, 30.0, 75.0), expected, atol=1e-12)
    assert activation(52.5, 30.0, 75.0) == pytest.approx(0.5)
    s = activation(pd.Series([30.0, 75.0], index=["a", "b"]), 30.0, 75.0)
    assert list(s.index) == ["a", "b"]
    with pytest.raises(SurgeplanError):
        activation(50.0, 60.0, 40.0)


def test_response_step_lag_ramp_decay_hand_computed():
    a = np.zeros(120)
    a[10:60] = 1.0
    x = response(a, lag_days=2, ramp_days=3, decay_days=21)
    # nothing before the lag: the lagged step starts on day 12
    assert np.all(x[:12] == 0.0)
    # x[12 + k] = 1 - exp(-(k + 1) / 3)   (first-order, one-day steps)
    k = np.arange(48)
    np.testing.assert_allclose(x[12 + k], 1 - np.exp(-(k + 1) / 3), rtol=1e-12)
    # lifted on day 60 -> lagged drop on day 62: x[62 + k] = x[61] exp(-(k + 1) / 21)
    k = np.arange(50)
    np.testing.assert_allclose(x[62 + k], x[61] * np.exp(-(k + 1) / 21), rtol=1e-12)
    # saturates: 3 * 16 time constants after the start it is 1 to 1e-6
    assert x[61] == pytest.approx(1.0, abs=1e-6)
    # 2-D: columns are independent series
    x2 = response(np.stack([a, np.zeros(120)], axis=1), 2, 3, 21)
    np.testing.assert_allclose(x2[:, 0], x)
    assert np.all(x2[:, 1] == 0)


def test_fractional_lag_interpolates():
    a = np.zeros(20)
    a[5:] = 1.0
    x = response(a, lag_days=1.5, ramp_days=0, decay_days=0)  # tau = 0: follows the lagged input
    # lagged(t) = 0.5 a(t - 1) + 0.5 a(t - 2): 0 up to day 5, 0.5 on day 6, 1 from day 7
    np.testing.assert_allclose(x[:9], [0, 0, 0, 0, 0, 0, 0.5, 1, 1])


def test_multiplier_formula():
    assert multiplier(0.5, 8.0) == pytest.approx(4.5)  # 1 + 7 * 0.5
    np.testing.assert_allclose(multiplier(np.array([0.0, 1.0]), 2.0), [1.0, 2.0])


def test_region_response_ffill_missing_region_warns():
    days = pd.date_range("2020-03-01", "2020-03-10")
    ind = pd.DataFrame(
        {
            "region": "AAA",
            "date": pd.to_datetime(["2020-03-01", "2020-03-03"]),
            "name": "stringency_index",
            "value": [0.0, 100.0],
        }
    )
    p = ShockParams("stringency_index", 100.0, 30.0, 75.0, lag_days=0.0, ramp_days=0.0, decay_days=0.0)
    with pytest.warns(UserWarning, match="BBB"):
        x = region_response(ind, ["AAA", "BBB"], days, p)
    # 100 from the 3rd, carried forward; BBB has no data: no shock
    np.testing.assert_allclose(x[:, 0], [0, 0, 1, 1, 1, 1, 1, 1, 1, 1])
    assert np.all(x[:, 1] == 0)


# ------------------------------------------------------------------------------------------------
# end to end through simulate(): calibrated saturation and flatter weeks
# ------------------------------------------------------------------------------------------------
QUIET = {
    "kinds": {
        k: {"noise_cv": 0.0, "day_sd": 0.0, "growth_per_year": 0.0}
        for k in ("trunk_group", "link", "vpn_gateway", "conference_bridge", "contact_center", "generic")
    }
}
LOCK_START, LOCK_END = pd.Timestamp("2020-03-16"), pd.Timestamp("2020-05-11")


def _step_indicators(region: str = "FRA") -> pd.DataFrame:
    days = pd.date_range("2020-01-01", "2020-07-31")
    value = np.where((days >= LOCK_START) & (days < LOCK_END), 90.0, 5.0)
    return pd.DataFrame({"region": region, "date": days, "name": "stringency_index", "value": value})


def _inv() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "resource_id": ["tg", "vpn", "link", "cb", "cc"],
            "kind": ["trunk_group", "vpn_gateway", "link", "conference_bridge", "contact_center"],
            "region": "FRA",
            "capacity": [300.0, 2000.0, 100.0, 1000.0, 50.0],
            "aht_s": [np.nan, np.nan, np.nan, np.nan, 300.0],
        }
    )


@pytest.fixture(scope="module")
def shocked() -> pd.DataFrame:
    sc = load_scenario(overrides=QUIET)
    return simulate(
        _inv(), _step_indicators(), sc, start="2020-02-03", end="2020-06-29", freq="1h", seed=5, truth=True
    )


def test_uplift_reaches_calibrated_saturation_after_lag_then_decays(shocked):
    sc = load_scenario()
    lag = sc.shock.lag_days
    for rid, kind, uplift in (
        ("vpn", "vpn_gateway", 8.0),
        ("tg", "trunk_group", 2.0),
        ("link", "link", 1.2),
        ("cb", "conference_bridge", 1.6),
    ):
        assert sc.kinds[kind].uplift == uplift  # the published calibration figures
        s = shocked[shocked.resource_id == rid].set_index("ts")
        kind_lag = sc.kinds[kind].lag_days if sc.kinds[kind].lag_days is not None else lag
        before = s.loc[
            : LOCK_START.tz_localize("Europe/Paris") + pd.Timedelta(days=kind_lag) - pd.Timedelta(hours=1)
        ]
        assert np.allclose(before["multiplier"], 1.0)
        # three weeks in: 1 + (U - 1)(1 - exp(-20/3)) ~ U within 0.2 %
        week4 = s.loc["2020-04-06":"2020-04-12"]
        assert week4["multiplier"].mean() == pytest.approx(uplift, rel=2e-3)
        # the busy hour of that week vs a normal week: x U (profile peak may move by < 3 %)
        ratio = week4["expected"].max() / s.loc["2020-02-10":"2020-02-16", "expected"].max()
        assert uplift * 0.96 <= ratio <= uplift * 1.01
        # decay after lifting: 21-day time constant -> after ~3 weeks, 1 + (U-1) e^-1 (+-0.1 (U-1))
        m_after = s.loc["2020-06-01":"2020-06-01", "multiplier"].mean()
        days_after = (pd.Timestamp("2020-06-01") - LOCK_END).days - kind_lag
        assert m_after == pytest.approx(1 + (uplift - 1) * math.exp(-(days_after + 0.5) / 21), rel=0.03)


def test_weekday_weekend_contrast_shrinks_in_lockdown(shocked):
    for rid in ("tg", "link", "vpn"):
        s = shocked[shocked.resource_id == rid].set_index("ts")["expected"].tz_convert("Europe/Paris")

        def contrast(a, b):
            w = s.loc[a:b]
            wd = w[w.index.dayofweek < 5].mean()
            we = w[w.index.dayofweek >= 5].mean()
            return wd / we

        before, during = contrast("2020-02-10", "2020-03-08"), contrast("2020-04-06", "2020-05-03")
        assert abs(before - 1.0) > 0.05  # a real weekly pattern to start with
        # flatter and weekend-like: the weekday/weekend ratio moves toward 1
        assert abs(during - 1.0) < abs(before - 1.0) * 0.9, (rid, before, during)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=60),
    st.floats(0.0, 5.0),
    st.floats(0.0, 10.0),
    st.floats(0.0, 30.0),
)
def test_response_stays_between_its_inputs(a, lag, ramp, decay):
    x = response(np.array(a), lag, ramp, decay)
    # a convex combination of past lagged inputs: never outside their range
    assert np.all(x >= min(a) - 1e-12) and np.all(x <= max(a) + 1e-12)
    if ramp == 0 and decay == 0 and lag == 0:
        np.testing.assert_allclose(x, a, rtol=0, atol=1e-12)


def test_habituation_hand_computed():
    x = np.array([0.0, 1.0, 1.0, 1.0, 0.0, 1.0])
    out = habituation(x, fade_days=2.0, persistent=0.25)
    # D = cumsum(x) = [0, 1, 2, 3, 3, 4]; factor = 0.25 + 0.75 exp(-D / 2)
    d = np.array([0, 1, 2, 3, 3, 4])
    np.testing.assert_allclose(out, x * (0.25 + 0.75 * np.exp(-d / 2)))
    np.testing.assert_array_equal(habituation(x, 0.0, 0.25), x)  # off


def test_second_lockdown_moves_traffic_less_with_habituation():
    days = pd.date_range("2020-01-01", "2020-12-31")
    v = np.where(
        ((days >= "2020-03-16") & (days < "2020-05-11")) | ((days >= "2020-10-30") & (days < "2020-12-15")),
        90.0,
        5.0,
    )
    ind = pd.DataFrame({"region": "FRA", "date": days, "name": "stringency_index", "value": v})
    sc = load_scenario(overrides={"shock": {"fade_days": 60.0, "persistent": 0.3}})
    out = simulate(_inv().iloc[[0]], ind, sc, start="2020-02-01", end="2020-12-31", freq="1D", truth=True)
    m = out.set_index(out.ts.dt.tz_localize(None))["multiplier"]
    first, second = m["2020-04-01":"2020-05-01"].max(), m["2020-11-10":"2020-12-10"].max()
    assert 1.0 < second < first < 2.0
    # by hand: ~30 full days into the second lockdown D ~ 56 (first) + 30; factor 0.3 + 0.7 e^(-86/60) = 0.467
    assert second == pytest.approx(1 + (2.0 - 1) * (0.3 + 0.7 * np.exp(-(55 + 30) / 60)), rel=0.08)


def test_per_kind_indicator_override_drives_that_kind_only():
    days = pd.date_range("2020-01-01", "2020-06-30")
    ind = pd.concat(
        [
            pd.DataFrame({"region": "FRA", "date": days, "name": "stringency_index", "value": 5.0}),
            pd.DataFrame(
                {
                    "region": "FRA",
                    "date": days,
                    "name": "workplace_closing",
                    "value": np.where(days >= "2020-03-16", 3.0, 0.0),
                }
            ),
        ]
    )
    over = {
        "kinds": {
            "vpn_gateway": {
                "indicator": "workplace_closing",
                "indicator_max": 3.0,
                "threshold": 0.5,
                "saturation": 2.5,
            }
        }
    }
    out = simulate(
        _inv().iloc[[0, 1]],
        ind,
        load_scenario(overrides=over),
        start="2020-04-01",
        end="2020-04-10",
        freq="1D",
        truth=True,
    )
    m = out.groupby("resource_id", observed=True)["multiplier"].max()
    assert m["vpn"] == pytest.approx(8.0, rel=1e-3)  # workplaces closed: full VPN response
    assert m["tg"] == pytest.approx(1.0)  # stringency 5: no voice response
    with pytest.raises(SurgeplanError, match="saturation"):
        load_scenario(overrides={"kinds": {"link": {"threshold": 3.0, "saturation": 2.0}}})
