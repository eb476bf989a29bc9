"""Pipeline helpers: scenario settings, measured busy hour, forecast guard, realized outcome.

Expected values are computed by hand in the comments (Erlang B values from the published table:
15 circuits carry 8.108 E at 1%, 18 circuits 10.437 E).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surgeplan.errors import SurgeplanError
from surgeplan.forecast.busy_hour import busy_hour
from surgeplan.plan.once import bound_forecast
from surgeplan.plan.replay import realized_outcome
from surgeplan.plan.settings import load_plan_settings


def test_settings_defaults_and_errors_name_the_key(tmp_path):
    s = load_plan_settings(None)
    assert s.quantile == 0.9 and s.quantile_column == "p90" and s.horizon_days == 42 and s.budget is None
    assert s.forecast_quantiles == (0.5, 0.9, 0.99)
    s = load_plan_settings(
        raw={"plan": {"quantile": 0.99, "budget": 1000, "ops_per_day": 7}, "gos": {"trunk_group": 0.02}}
    )
    assert (
        s.quantile == 0.99
        and s.quantile_column == "p99"
        and s.budget == 1000.0
        and s.ops_per_day == 7
        and s.gos == {"trunk_group": 0.02}
    )
    bad = {
        "horizon_dayz": ({"plan": {"horizon_dayz": 3}}, "horizon_dayz"),
        "cadence": ({"plan": {"cadence": "M"}}, "cadence"),
        "quantile": ({"plan": {"quantile": "p150"}}, "p150"),
        "quantile word": ({"plan": {"quantile": "high"}}, "high"),
        "gos": ({"gos": {"trunk_group": 5}}, "trunk_group"),
        "indicators": ({"indicators": {"FRA": {"stringency": 80}}}, "lockdown_start"),
        "ops kind": ({"plan": {"ops_per_module": {"router": 1}}}, "router"),
    }
    for raw, word in bad.values():
        with pytest.raises(SurgeplanError, match=word):
            load_plan_settings(raw=raw)
    f = tmp_path / "s.toml"
    f.write_text("[plan\n")
    with pytest.raises(SurgeplanError, match="s.toml"):
        load_plan_settings(f)


def test_measured_busy_hour_is_the_hour_with_the_highest_mean():
    # 15-minute data on one day: hour 09 averages (10+10+10+50)/4 = 20, hour 10 averages 18
    # (18 x 4); the single 50 peak must not win on its own: the busy hour is 09:00 with 20.
    ts = pd.date_range("2020-03-02 09:00", periods=8, freq="15min", tz="UTC")
    m = pd.DataFrame({"resource_id": "A", "ts": ts, "load": [10, 10, 10, 50, 18, 18, 18, 18]})
    bh = busy_hour(m)
    assert len(bh) == 1
    assert bh["busy_hour"].iloc[0] == pd.Timestamp("2020-03-02 09:00", tz="UTC")
    assert bh["load"].iloc[0] == pytest.approx(20.0)
    assert bh["period"].iloc[0] == pd.Timestamp("2020-03-02")


def test_bound_forecast_caps_runaways_only():
    hist = pd.DataFrame(
        {
            "resource_id": ["A", "A", "B"],
            "period": pd.to_datetime(["2020-02-01"] * 3),
            "load": [10.0, 12.0, 5.0],
        }
    )
    bh = pd.DataFrame(
        {
            "resource_id": ["A", "A", "A", "B", "C"],
            "period": pd.to_datetime(["2020-03-01"] * 5),
            "mean": [50.0, 500.0, 100.0, np.inf, 1e9],
            "p50": [45.0, 400.0, 90.0, 30.0, 1e9],
            "p90": [60.0, 600.0, 150.0, 40.0, 1e9],
            "p99": [70.0, 800.0, 400.0, 45.0, 1e9],
        }
    )
    out, n = bound_forecast(bh, hist, 10)
    # A: bound 10 x 12 = 120. Row 2's centre (mean 500) runs away: the whole law is scaled by
    # 120 / 500, its quantiles keeping their ratios. Row 3's centre (100) is below the bound: its
    # p90 and p99 above it are the law's tail, kept. B: bound 50, the infinite mean is set to it.
    # C: no history, untouched.
    assert list(out["mean"]) == [50.0, 120.0, 100.0, 50.0, 1e9]
    assert list(out["p50"]) == pytest.approx([45.0, 96.0, 90.0, 30.0, 1e9])
    assert list(out["p90"]) == pytest.approx([60.0, 144.0, 150.0, 40.0, 1e9])
    assert list(out["p99"]) == pytest.approx([70.0, 192.0, 400.0, 45.0, 1e9])
    assert n == 2
    assert bound_forecast(bh, hist, None)[1] == 0


def test_bound_forecast_reads_the_median_as_a_centre():
    hist = pd.DataFrame({"resource_id": ["A"], "period": pd.to_datetime(["2020-02-01"]), "load": [10.0]})
    # a median beyond the bound with a winsorized mean under it is still a runaway
    bh = pd.DataFrame({"resource_id": ["A"], "period": pd.to_datetime(["2020-03-01"]),
                       "mean": [90.0], "p50": [200.0], "p90": [300.0]})  # fmt: skip
    out, n = bound_forecast(bh, hist, 10)
    assert n == 1
    assert out["p50"].iloc[0] == pytest.approx(100.0) and out["p90"].iloc[0] == pytest.approx(150.0)
    # without mean or median, the lowest quantile is the centre
    only = bh[["resource_id", "period", "p90"]]
    assert bound_forecast(only, hist, 10)[0]["p90"].iloc[0] == pytest.approx(100.0)


def test_realized_outcome_counts_upgrades_from_their_install_day():
    # a trunk group of 15 circuits (carries 8.108 E at 1%) gets +3 circuits in service on 03-03:
    # 18 circuits carry 10.437 E. Load 10 E every day: short on 03-01 and 03-02, fine from 03-03.
    inv = pd.DataFrame(
        [
            dict(
                resource_id="T",
                kind="trunk_group",
                region="FRA",
                capacity=15.0,
                module_size=3.0,
                max_capacity=60.0,
                lead_time_days=2.0,
                module_cost=1.0,
                group="",
                priority_class="standard",
            )
        ]
    )
    actual = pd.DataFrame(
        {
            "resource_id": "T",
            "period": pd.date_range("2020-03-01", periods=4),
            "busy_hour": pd.date_range("2020-03-01 10:00", periods=4),
            "load": 10.0,
        }
    )
    orders = pd.DataFrame(
        {
            "resource_id": ["T"],
            "modules_funded": [1],
            "module_size": [3.0],
            "install_done": [pd.Timestamp("2020-03-03")],
        }
    )
    r = realized_outcome(inv, actual, orders, pd.Timestamp("2020-03-01"))
    assert list(r["capacity"]) == [15, 15, 18, 18]
    assert list(r["gos_ok"]) == [False, False, True, True]
    assert r["carriable"].iloc[0] == pytest.approx(8.108, abs=2e-3)
    assert r["carriable"].iloc[3] == pytest.approx(10.437, abs=2e-3)


def test_a_plan_made_on_a_day_does_not_know_later_indicators():
    """A store filled after the fact holds the indicators of later days; a plan made on the as-of
    day must forecast without them: FRA locks down (stringency 90) ten days after the as-of day,
    and the forecast neither knows it ('observed') nor moves before it."""
    from surgeplan.plan import plan_once
    from surgeplan.plan.once import known_before

    days = pd.date_range("2021-03-01", "2021-05-31", freq="D")
    ind = pd.DataFrame(
        {
            "region": "FRA",
            "date": days,
            "name": "stringency_index",
            "value": np.where(days >= pd.Timestamp("2021-05-11"), 90.0, 10.0),
        }
    )
    assert known_before(ind, pd.Timestamp("2021-05-01"))["date"].max() == pd.Timestamp("2021-04-30")
    ts = pd.date_range("2021-03-01", "2021-05-01", freq="h", tz="UTC", inclusive="left")
    rng = np.random.default_rng(4)
    meas = pd.DataFrame(
        {
            "resource_id": "TG-FRA",
            "ts": ts,
            "load": 100 * (1 + 0.3 * np.sin(2 * np.pi * ts.hour / 24)) * np.exp(rng.normal(0, 0.02, len(ts))),
        }
    )
    inv = pd.DataFrame(
        [
            dict(
                resource_id="TG-FRA",
                kind="trunk_group",
                region="FRA",
                capacity=300.0,
                module_size=30.0,
                max_capacity=900.0,
                lead_time_days=7.0,
                module_cost=1.0,
                group="",
                priority_class="standard",
            )
        ]
    )
    settings = load_plan_settings(raw={"horizon_days": 21})
    assert settings.horizon_days == 21
    day = plan_once(meas, inv, ind, pd.Timestamp("2021-05-01"), settings)
    bh, model = day.busy_hour, day.forecaster
    assert model.indicator_source_["FRA"] == "held_last"
    after = bh.loc[bh["period"] >= pd.Timestamp("2021-05-12"), "p50"]
    before = bh.loc[bh["period"] < pd.Timestamp("2021-05-11"), "p50"]
    assert abs(after.mean() / before.mean() - 1) < 0.05
