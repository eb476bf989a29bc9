"""The replay's four policies on a hand-made case whose orders can be worked out by hand.

One VPN gateway: 100 sessions installed, modules of 50 sessions (cost 10), lead time 7 days, a
0.9 concurrency ceiling (it carries 0.9 x 100 = 90 sessions). Its busy hour is 60 sessions a day
until Sunday 8 March 2020 and 150 from Monday 9 March. Planning dates: Mondays 2, 9 and 16 March.

* do nothing: 150 > 90 from 9 March to the end (29 March): 21 short days.
* reactive: on 2 and 9 March the past week's busy hour is 60 <= 0.8 x 90 = 72: no order. On
  16 March it is 150 > 72: sized for 1.2 x 150 = 180 sessions, i.e. 180 / 0.9 = 200 installed,
  (200 - 100) / 50 = 2 modules, in service 16 + 7 = 23 March: short 9-22 March, 14 days.
* oracle: on 2 March it knows 150 comes on 9 March: 150 / 0.9 = 166.7 -> 2 modules (200), ordered
  2 March, in service 9 March: never short.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surgeplan.plan.replay import POLICY_COLUMNS, headline, reactive_busy_hour, replay
from surgeplan.plan.settings import PlanSettings

INV = pd.DataFrame(
    [
        dict(
            resource_id="V",
            kind="vpn_gateway",
            region="FRA",
            capacity=100.0,
            module_size=50.0,
            max_capacity=1000.0,
            lead_time_days=7.0,
            module_cost=10.0,
            group="",
            priority_class="vital",
        )
    ]
)


def _measurements() -> pd.DataFrame:
    ts = pd.date_range("2020-02-03", "2020-03-30", freq="h", tz="UTC", inclusive="left")
    peak = np.where(ts < pd.Timestamp("2020-03-09", tz="UTC"), 60.0, 150.0)
    # a busy hour at 10:00 UTC, quieter elsewhere
    load = np.where(ts.hour == 10, peak, 0.5 * peak)
    return pd.DataFrame({"resource_id": "V", "ts": ts, "load": load})


@pytest.fixture(scope="module")
def result():
    asofs = pd.to_datetime(["2020-03-02", "2020-03-09", "2020-03-16"])
    return replay(_measurements(), INV, None, asofs, PlanSettings(horizon_days=14), refit_every_days=0)


def test_policy_table_has_the_contract_columns(result):
    assert tuple(result.policies.columns) == POLICY_COLUMNS
    assert list(result.policies["policy"]) == ["surgeplan", "reactive", "oracle", "do_nothing"]


def test_hand_worked_orders_and_shortages(result):
    p = result.policies.set_index("policy")
    assert p.loc["do_nothing", "shortage_resource_days"] == 21
    assert p.loc["do_nothing", "vital_shortage_resource_days"] == 21  # the gateway is vital
    assert p.loc["reactive", "shortage_resource_days"] == 14
    assert p.loc["oracle", "shortage_resource_days"] == 0
    for name in ("reactive", "oracle"):
        assert p.loc[name, "orders"] == 1 and p.loc[name, "cost"] == pytest.approx(20.0)
    r = result.orders["reactive"].iloc[0]
    assert r["modules_funded"] == 2 and pd.Timestamp(r["ordered_on"]) == pd.Timestamp("2020-03-16")
    assert pd.Timestamp(r["install_done"]) == pd.Timestamp("2020-03-23")
    o = result.orders["oracle"].iloc[0]
    assert o["modules_funded"] == 2 and pd.Timestamp(o["ordered_on"]) == pd.Timestamp("2020-03-02")
    # unserved share of doing nothing: 28 scored days (2-29 March), 7 at 0 and 21 at
    # 1 - 90/150 = 0.4: 21 x 0.4 / 28 = 0.3
    assert p.loc["do_nothing", "unserved_load_share"] == pytest.approx(0.3, abs=1e-9)


def test_losses_add_up_to_surgeplans_shortage(result):
    p = result.policies.set_index("policy")
    assert result.losses["shortage_resource_days"].sum() == p.loc["surgeplan", "shortage_resource_days"]
    assert set(result.losses["cause"]) == {"lead time", "budget and operations", "forecast"}


def test_reactive_rule_triggers_at_80_percent_only():
    measured = pd.DataFrame(
        {
            "resource_id": ["V"] * 7,
            "period": pd.date_range("2020-03-09", periods=7),
            "load": [60, 60, 72, 60, 60, 60, 60.0],
        }
    )
    t = reactive_busy_hour(INV, measured, pd.Timestamp("2020-03-16"), "p90")
    assert t["p90"].iloc[0] == 72.0  # 72 = 0.8 x 90: not above, not resized
    measured.loc[2, "load"] = 72.5
    t = reactive_busy_hour(INV, measured, pd.Timestamp("2020-03-16"), "p90")
    assert t["p90"].iloc[0] == pytest.approx(1.2 * 72.5)


def test_headline_sentence():
    t = pd.DataFrame(
        {
            "policy": ["surgeplan", "reactive", "oracle", "do_nothing"],
            "shortage_resource_days": [25, 100, 0, 300],
            "vital_shortage_resource_days": [0, 0, 0, 0],
            "unserved_load_share": [0, 0, 0, 0],
            "orders": [3, 2, 2, 0],
            "cost": [30.0, 20, 20, 0],
        }
    )
    # (100 - 25) / (100 - 0) = 75 %; 30 / 20 = 1.5
    assert headline(t) == (
        "surgeplan avoided 75% of the shortage that reactive planning suffers beyond the "
        "oracle, at 1.50 times the oracle's cost."
    )


def test_forecasts_on_a_process_pool_give_the_same_replay(result):
    """The as-of dates forecast in other processes (one task per fit) plan exactly as in one."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    asofs = pd.to_datetime(["2020-03-02", "2020-03-09", "2020-03-16"])
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pooled = replay(
            _measurements(),
            INV,
            None,
            asofs,
            PlanSettings(horizon_days=14),
            refit_every_days=7,
            executor=pool,
        )
    alone = replay(_measurements(), INV, None, asofs, PlanSettings(horizon_days=14), refit_every_days=7)
    pd.testing.assert_frame_equal(pooled.policies, alone.policies)
    pd.testing.assert_frame_equal(pooled.summary, alone.summary)
    for p in alone.orders:
        pd.testing.assert_frame_equal(pooled.orders[p], alone.orders[p])


def test_chains_cut_at_each_refit():
    from surgeplan.plan.replay import _chains

    d = list(pd.date_range("2020-03-02", periods=5, freq="7D"))
    assert _chains(d, 7) == [[x] for x in d]
    assert _chains(d, 14) == [d[0:2], d[2:4], d[4:5]]
    assert _chains(d, 0) == [d]
