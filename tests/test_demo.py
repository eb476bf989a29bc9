"""End to end: the demo on a reduced configuration, then `surgeplan plan` on the store it built.

Checks that the report and exports exist and agree with each other and with the store, not the
numbers of the plan (those are tested in test_dimension.py / test_plan.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from surgeplan.pipeline import DemoConfig, PlanSettings, load_plan_settings, run_demo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    cfg = DemoConfig(
        out_dir=out,
        sim_start="2020-02-10",
        sim_end="2020-04-06",
        replay_start="2020-03-09",
        replay_end="2020-03-16",
        replay_every_days=7,
        max_resources=16,
        regions=("FRA", "ITA", "ESP"),
        settings=PlanSettings(horizon_days=21, ops_per_day={"*": 5}, budget=5e6),
    )
    return run_demo(cfg)


def test_report_is_self_contained(demo):
    html = demo.report.read_text(encoding="utf-8")
    assert demo.report.name == "report.html"
    # no external resource: every image is inlined, no remote script / stylesheet
    assert not re.search(r'(src|href)="(http|//)', html)
    from surgeplan.report.charts import available

    if available():
        assert html.count('src="data:image/png;base64,') >= 2
    else:
        assert "Charts need matplotlib" in html
    for section in (
        "Load against capacity",
        "Action timeline",
        "Alerts",
        "What is late",
        "Temporary measures",
        "Replay",
    ):
        assert section in html


def test_exports_agree_with_plan_and_summary(demo):
    out = demo.report.parent
    names = {p.name for p in demo.exports}
    assert {
        "plan_actions.csv",
        "plan_alerts.csv",
        "plan.xlsx",
        "replay_orders.csv",
        "replay_summary.csv",
        "replay_policies.csv",
    } <= names
    actions = pd.read_csv(out / "plan_actions.csv")
    xl = pd.read_excel(out / "plan.xlsx", sheet_name=None)
    assert set(xl) >= {"summary", "actions", "alerts", "late", "temporary"}
    assert len(xl["actions"]) == len(actions) == demo.plan.summary["actions"]
    assert actions["cost_funded"].sum() == pytest.approx(demo.plan.summary["cost"])
    assert actions["cost_funded"].sum() <= 5e6 + 1e-6
    # priorities are 1..n and vital actions come first
    assert list(actions["priority"]) == list(range(1, len(actions) + 1))
    vital = (actions["priority_class"] == "vital").to_numpy()
    assert not (vital[1:] & ~vital[:-1]).any()
    # order_by = needed_by - lead time
    lag = (pd.to_datetime(actions["needed_by"]) - pd.to_datetime(actions["order_by"])).dt.days
    assert (lag == actions["lead_time_days"]).all()
    # replay: one row per as-of date; committed orders match the summaries
    replay = pd.read_csv(out / "replay_summary.csv")
    assert list(replay["asof"]) == ["2020-03-09", "2020-03-16"]
    orders = pd.read_csv(out / "replay_orders.csv")
    assert len(orders) == replay["new_orders"].sum()


def test_store_holds_inputs_and_plan(demo):
    con = duckdb.connect(str(demo.db), read_only=True)
    try:
        n_res = con.execute("SELECT count(*) FROM resources").fetchone()[0]
        n_meas = con.execute("SELECT count(DISTINCT resource_id) FROM measurements").fetchone()[0]
        n_act = con.execute("SELECT count(*) FROM plan_actions").fetchone()[0]
    finally:
        con.close()
    assert n_res == n_meas >= 12
    assert n_act == demo.plan.summary["actions"]
    # realized outcome: one row per dimensioned resource and measured day from the replay start
    assert demo.replay.realized["surgeplan"]["period"].min() >= pd.Timestamp("2020-03-09")


def test_policy_table_contract(demo):
    """replay_policies.csv: the exact columns and policy names the issue fixes, and sane values."""
    t = pd.read_csv(demo.report.parent / "replay_policies.csv")
    assert list(t.columns) == [
        "policy",
        "shortage_resource_days",
        "vital_shortage_resource_days",
        "unserved_load_share",
        "orders",
        "cost",
    ]
    assert list(t["policy"]) == ["surgeplan", "reactive", "oracle", "do_nothing"]
    t = t.set_index("policy")
    assert t.loc["do_nothing", "orders"] == 0 and t.loc["do_nothing", "cost"] == 0
    # every policy is short at most as often as doing nothing, the oracle least of all
    assert (t["shortage_resource_days"] <= t.loc["do_nothing", "shortage_resource_days"]).all()
    assert t.loc["oracle", "shortage_resource_days"] <= t["shortage_resource_days"].min()
    assert ((t["unserved_load_share"] >= 0) & (t["unserved_load_share"] <= 1)).all()
    assert (t["vital_shortage_resource_days"] <= t["shortage_resource_days"]).all()
    html = demo.report.read_text(encoding="utf-8")
    from markupsafe import escape

    assert str(escape(demo.replay.headline)) in html


def test_plan_command_on_the_demo_store(demo, tmp_path):
    from surgeplan.cli import app

    scen = Path(__file__).parents[1] / "src" / "surgeplan" / "data" / "scenarios" / "plan_example.toml"
    settings = load_plan_settings(scen)  # the documented example parses
    assert settings.ops_per_day["FRA"] == 130 and settings.gos["trunk_group"] == 0.02
    small = tmp_path / "scen.toml"
    small.write_text(
        scen.read_text()
        .replace("horizon_days = 42", "horizon_days = 14")
        .replace('output_dir = "surgeplan-plan"', f'output_dir = "{(tmp_path / "out").as_posix()}"')
    )
    res = CliRunner().invoke(
        app, ["plan", "--scenario", str(small), "--db", str(demo.db), "--asof", "2020-03-20", "--json"]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "report.html").exists()
    actions = pd.read_csv(tmp_path / "out" / "plan_actions.csv")
    # trunk groups sized at the scenario's 2% override
    tg = actions.loc[actions["kind"] == "trunk_group"]
    assert (tg["gos_target"] == 0.02).all()
    bad = tmp_path / "bad.toml"
    bad.write_text("[plan]\nhorizon_dayz = 3\n")
    res = CliRunner().invoke(app, ["plan", "--scenario", str(bad), "--db", str(demo.db)])
    assert res.exit_code != 0 and "horizon_dayz" in str(res.output) + str(res.exception)
