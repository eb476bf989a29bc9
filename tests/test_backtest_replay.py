"""Small, fast version of the 2020 replay (benchmarks/replay_2020.py): few resources, few origins.

The simulated bundled operator through March-April 2020, rolling origins every 4 days, 14-day
forecasts. Loose checks that can still fail: the model beats the weekly seasonal naive day-ahead
(median busy-hour MASE) through the shock, its day-ahead 80% intervals are not far off, the
outputs have the contract's shape, and a resource that ran short gets a shortage date on a day
whose actual busy hour exceeds its capacity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surgeplan.forecast.backtest import SeasonalNaive, backtest

simulate_mod = pytest.importorskip("surgeplan.simulate")
signals_mod = pytest.importorskip("surgeplan.signals")
pytest.importorskip("surgeplan.forecast.model")


@pytest.fixture(scope="module")
def replay():
    inv = simulate_mod.bundled_inventory()
    inv = inv[inv["kind"] != "generic"]
    # a fixed, varied handful: 2 per kind among the first regions locked down
    inv = inv[inv["region"].isin(["ITA", "ESP", "FRA", "BEL"])].groupby("kind", group_keys=False).head(2)
    inv = inv.reset_index(drop=True)
    ind = signals_mod.bundled_indicators(
        regions=sorted(inv["region"].unique()), start="2019-12-01", end="2020-05-31"
    )
    meas = simulate_mod.simulate(inv, ind, None, "2020-01-01", "2020-05-01", "1h", 7)
    kw = {"start": "2020-03-05", "end": "2020-04-14", "every": "5d", "horizon": "14d"}
    ours = backtest(meas, inv, ind, refit_every=3, **kw)
    naive = backtest(meas, inv, ind, model=lambda q: SeasonalNaive("week", q), refit_every=3, **kw)
    return inv, meas, ours, naive


def test_replay_contract(replay):
    inv, _, ours, _ = replay
    assert list(ours.forecasts.columns) == ["resource_id", "origin", "ts", "mean", "p10", "p50", "p90"]
    assert set(ours.metrics["resource_id"]) == set(inv["resource_id"])
    assert sorted(ours.metrics["horizon_days"].unique()) == list(range(1, 15))
    assert np.isfinite(ours.forecasts[["mean", "p10", "p50", "p90"]].to_numpy()).all()


def test_replay_beats_weekly_naive_day_ahead(replay):
    _, _, ours, naive = replay
    a = ours.metrics.query("horizon_days == 1")["mase"].median()
    b = naive.metrics.query("horizon_days == 1")["mase"].median()
    assert a < b, (a, b)


def test_replay_day_ahead_intervals(replay):
    _, _, ours, _ = replay
    m = ours.metrics.query("horizon_days == 1")
    assert 0.55 <= m["coverage_80"].mean() <= 0.97
    assert m["coverage_98"].mean() >= 0.8


def test_replay_shortage_dates_are_real_shortages(replay):
    inv, _, ours, _ = replay
    short = ours.metrics.dropna(subset=["shortage_date"]).drop_duplicates("resource_id")
    cap = inv.set_index("resource_id")["capacity"]
    bh = ours.busy_hour.drop_duplicates(["resource_id", "day"])
    for rid, day in zip(short["resource_id"], short["shortage_date"]):  # a handful of resources
        actual = bh[(bh["resource_id"] == rid) & (bh["day"] == pd.Timestamp(day))]["actual"]
        assert len(actual) and float(actual.iloc[0]) > cap[rid]
        earlier = bh[(bh["resource_id"] == rid) & (bh["day"] < pd.Timestamp(day))]["actual"]
        assert (earlier.dropna() <= cap[rid]).all()
