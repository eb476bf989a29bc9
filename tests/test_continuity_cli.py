"""``surgeplan whatif`` contract (flags, files, columns, errors), make_plan(survive=), report section."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surgeplan.cli import main
from surgeplan.continuity import WHATIF_COLUMNS, WORST_COLUMNS, whatif
from surgeplan.plan import make_plan


def inv_rows():
    base = {
        "region": "FRA",
        "module_size": 1.0,
        "max_capacity": 1e9,
        "lead_time_days": 10,
        "module_cost": 100.0,
        "priority_class": "standard",
    }
    rows = [
        dict(resource_id=f"L{i}", kind="link", capacity=100.0, group="G", site="PAR", **base)
        for i in range(1, 4)
    ]
    rows += [
        dict(
            resource_id="C1",
            kind="contact_center",
            capacity=30.0,
            group="",
            site="MUS",
            aht_s=240.0,
            patience_s=120.0,
            **{**base, "priority_class": "vital"},
        ),
        dict(
            resource_id="C2",
            kind="contact_center",
            capacity=40.0,
            group="",
            site="FRA",
            aht_s=240.0,
            patience_s=120.0,
            **base,
        ),
    ]
    return pd.DataFrame(rows)


@pytest.fixture()
def files(tmp_path):
    inv = inv_rows()
    inv.to_csv(tmp_path / "inv.csv", index=False)
    pd.DataFrame(
        {"resource_id": ["L1", "L2", "L3", "C1", "C2"], "load": [50.0, 50.0, 50.0, 200.0, 300.0]}
    ).to_csv(tmp_path / "load.csv", index=False)
    pd.DataFrame({"from_resource": ["C1"], "to_resource": ["C2"], "max_load": [""]}).to_csv(
        tmp_path / "routes.csv", index=False
    )
    return tmp_path


def run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_fail_writes_exact_columns(files, capsys):
    out = files / "out"
    code, _, err = run(
        [
            "whatif",
            "--inventory",
            str(files / "inv.csv"),
            "--load",
            str(files / "load.csv"),
            "--routes",
            str(files / "routes.csv"),
            "--fail",
            "site:MUS",
            "--fail",
            "L1",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, err
    w = pd.read_csv(out / "whatif.csv")
    assert list(w.columns) == list(WHATIF_COLUMNS)
    assert set(w["scenario"]) == {"site:MUS+L1"}  # several --fail make one scenario
    assert len(w) == 5 and not (out / "worst.csv").exists()
    r = w.set_index("resource_id")
    assert r.loc["C1", "capacity"] == 0 and r.loc["C1", "carried_load"] == 0
    assert r.loc["C2", "offered_load"] == pytest.approx(500.0)  # 300 own + 200 from Mauritius
    # links: 150 Gbps over the two survivors: 75 each, 75% > 70%
    assert r.loc[["L2", "L3"], "carried_load"].sum() == pytest.approx(150.0)
    assert set(w["gos_metric"]) <= {"blocking", "utilization", "service_level"}
    assert np.allclose(w["carried_load"] + w["unserved_load"], w["offered_load"])


def test_sweep_json_and_worst(files, capsys):
    import json

    out = files / "sw"
    code, stdout, err = run(
        [
            "whatif",
            "--inventory",
            str(files / "inv.csv"),
            "--load",
            str(files / "load.csv"),
            "--sweep",
            "n-1",
            "--mode",
            "hashing",
            "--out",
            str(out),
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["scenarios"] == 5
    wst = pd.read_csv(out / "worst.csv")
    assert list(wst.columns) == list(WORST_COLUMNS)
    # L2's worst: L1 or L3 failing puts 150 Gbps on two 100G links: 0.75, two scenarios break it
    r = wst.set_index("resource_id")
    assert r.loc["L2", "worst_gos_value"] == pytest.approx(0.75)
    assert r.loc["L2", "scenarios_breaking"] == 2
    code, _, _ = run(
        [
            "whatif",
            "--inventory",
            str(files / "inv.csv"),
            "--load",
            str(files / "load.csv"),
            "--sweep",
            "sites",
            "--out",
            str(files / "st"),
        ],
        capsys,
    )
    assert code == 0
    assert set(pd.read_csv(files / "st" / "whatif.csv")["scenario"]) == {"site:PAR", "site:MUS", "site:FRA"}


@pytest.mark.parametrize(
    "name, text, args, expect",
    [
        ("load.csv", "resource_id,load\nL1,5\nNOPE,3\n", [], "load.csv, row 2, column 'resource_id'"),
        ("load.csv", "resource_id,load\nL1,5\nL2,-3\n", [], "load.csv, row 2, column 'load': negative"),
        (
            "routes.csv",
            "from_resource,to_resource,max_load\nC1,X9,\n",
            ["--routes"],
            "routes.csv, row 1, column 'to_resource'",
        ),
        (
            "routes.csv",
            "from_resource,to_resource,max_load\nC1,C2,\nC1,L1,5\n",
            ["--routes"],
            "routes.csv, row 2, column 'to_resource': route between different kinds",
        ),
    ],
)
def test_bad_input_one_line_exit_2(files, capsys, name, text, args, expect):
    p = files / ("bad_" + name)
    p.write_text(text)
    load = p if name == "load.csv" else files / "load.csv"
    argv = [
        "whatif",
        "--inventory",
        str(files / "inv.csv"),
        "--load",
        str(load),
        "--fail",
        "C1",
        "--out",
        str(files / "o"),
    ]
    if args:
        argv += [args[0], str(p)]
    code, _, err = run(argv, capsys)
    assert code == 2
    assert expect in err and err.count("\n") == 1


def test_unknown_site_and_bad_flags(files, capsys):
    base = [
        "whatif",
        "--inventory",
        str(files / "inv.csv"),
        "--load",
        str(files / "load.csv"),
        "--out",
        str(files / "o"),
    ]
    code, _, err = run(base + ["--fail", "site:NOWHERE"], capsys)
    assert code == 2 and "site" in err and err.count("\n") == 1
    code, _, err = run(base + ["--fail", "L1", "--sweep", "n-1"], capsys)
    assert code == 2
    code, _, err = run(base + ["--sweep", "n-2"], capsys)
    assert code == 2


def test_db_reads_the_latest_plan_busy_hour(files, capsys):
    from surgeplan.store import Store

    db = files / "s.duckdb"
    p = pd.Timestamp("2020-03-20")
    bh = pd.DataFrame(
        {
            "resource_id": ["L1", "L1", "L2", "L3", "C1", "C2"],
            "period": [p, p + pd.Timedelta(days=1), p, p, p, p],
            "p90": [40.0, 60.0, 50.0, 50.0, 200.0, 300.0],
        }
    )
    with Store(db) as s:
        s.ingest_inventory(files / "inv.csv")
        s.write_table("plan_busy_hour", bh, s.start_run("plan"))
    code, _, err = run(["whatif", "--db", str(db), "--fail", "L2", "--out", str(files / "db")], capsys)
    assert code == 0, err
    w = pd.read_csv(files / "db" / "whatif.csv").set_index("resource_id")
    # L1's load is its peak p90 (60); L2's 50 goes to L1 and L3
    assert w["offered_load"].sum() == pytest.approx(60 + 50 + 50 + 200 + 300)


def test_make_plan_survives_n_minus_1_at_least_cost():
    # Three 10-circuit groups backing each other up at 3 E each. Normal state fine (B(3,10) << 1%).
    # Any one failing leaves 9 E on the other two: 10 + 10 circuits carry 2 x 4.46 = 8.92 E at 1%
    # (erlang_b_traffic(10, 0.01) = 4.4612): short. 11 + 10 carry 5.1599 + 4.4612 = 9.62 E: enough,
    # so every pair needs an 11: two groups at 11 (one circuit each) is the minimum (one at 11
    # leaves the pair of 10s short when it fails).
    base = {
        "kind": "trunk_group",
        "region": "FRA",
        "capacity": 10.0,
        "module_size": 1.0,
        "max_capacity": 1e9,
        "lead_time_days": 5,
        "module_cost": 10.0,
        "group": "G",
        "priority_class": "standard",
    }
    inv = pd.DataFrame([dict(resource_id=r, **base) for r in ("T1", "T2", "T3")])
    p = pd.Timestamp("2020-03-20")
    bh = pd.DataFrame(
        {
            "resource_id": ["T1", "T2", "T3"],
            "period": p,
            "busy_hour": p,
            "mean": 3.0,
            "p50": 3.0,
            "p90": 3.0,
            "p99": 3.0,
        }
    )
    plain = make_plan(inv, bh, "2020-02-01")
    assert len(plain.actions) == 0
    plan = make_plan(inv, bh, "2020-02-01", survive="n-1")
    assert plan.actions["modules"].sum() == 2 and plan.summary["survive_modules"] == 2
    assert plan.actions["reason"].str.contains("to survive n-1").all()
    cap = inv.set_index("resource_id")["capacity"].copy()
    cap[plan.actions["resource_id"]] += plan.actions["modules"].to_numpy()
    res = whatif(inv.assign(capacity=cap.to_numpy()), {"T1": 3.0, "T2": 3.0, "T3": 3.0}, scenarios="n-1")
    assert res.whatif["gos_ok"].all()


def test_scenario_toml_survive():
    from surgeplan.errors import SurgeplanError
    from surgeplan.pipeline import load_plan_settings

    assert load_plan_settings(raw={"plan": {"survive": "n-1"}}).survive == "n-1"
    assert load_plan_settings(raw={"plan": {"survive": ["site:MUS", ["L1", "L2"]]}}).survive == [
        "site:MUS",
        ["L1", "L2"],
    ]
    with pytest.raises(SurgeplanError, match="survive"):
        load_plan_settings(raw={"plan": {"survive": 3}})


def test_report_section_names_vital_at_risk():
    from surgeplan.report.whatif import vital_at_risk, whatif_section

    inv = inv_rows()
    routes = pd.DataFrame({"from_resource": ["C2"], "to_resource": ["C1"], "max_load": [np.nan]})
    res = whatif(
        inv, {"L1": 50.0, "L2": 50.0, "L3": 50.0, "C1": 200.0, "C2": 300.0}, routes, ["n-1", "sites"]
    )
    risk = vital_at_risk(res)
    # C2 (300 calls/h) closing sends its calls to the vital C1 (30 agents, 200 calls/h of its own):
    # 500 calls/h x 240 s = 33.3 E on 30 agents, over its 450 calls/h hard limit: C1 breaks.
    assert "C1" in set(risk["resource_id"])
    html = whatif_section(res)
    assert "Vital customers at risk" in html and "C1" in html and "<table>" in html


def test_peak_load_at_a_date_or_over_a_period():
    from surgeplan.continuity import peak_load

    d = pd.to_datetime(["2020-03-01", "2020-03-02", "2020-03-03"])
    bh = pd.DataFrame({"resource_id": ["A", "A", "A"], "period": d, "p90": [1.0, 5.0, 3.0]})
    assert peak_load(bh)["A"] == 5.0
    assert peak_load(bh, start="2020-03-03")["A"] == 3.0  # at a date
    assert peak_load(bh, start="2020-03-01", end="2020-03-02")["A"] == 5.0  # over a period


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(5, 20), st.integers(1, 8)), min_size=2, max_size=4))
def test_property_survive_holds_and_no_module_is_spare(groups):
    # trunk groups backing each other up (one group): after survive_capacity every N-1 scenario
    # keeps every GoS, and taking any one added circuit back breaks some scenario
    from surgeplan.continuity import survive_capacity

    base = {
        "kind": "trunk_group",
        "region": "FRA",
        "module_size": 1.0,
        "max_capacity": 1e9,
        "lead_time_days": 5,
        "module_cost": 10.0,
        "group": "G",
        "priority_class": "standard",
    }
    inv = pd.DataFrame(
        [{"resource_id": f"T{i}", "capacity": float(c), **base} for i, (c, _) in enumerate(groups)]
    )
    load = {f"T{i}": float(a) for i, (_, a) in enumerate(groups)}
    sp = survive_capacity(inv, load)
    cap = sp.capacity.reindex(inv["resource_id"]).to_numpy()
    res = whatif(inv.assign(capacity=cap), load, scenarios="n-1")
    assert res.whatif["gos_ok"].all()
    for _, a in sp.additions.iterrows():
        less = cap.copy()
        less[inv["resource_id"].to_numpy() == a["resource_id"]] -= 1.0
        assert not whatif(inv.assign(capacity=less), load, scenarios="n-1").whatif["gos_ok"].all()


def test_demo_hook_writes_the_sweep_and_the_section(tmp_path):
    from surgeplan.pipeline import continuity_sweeps

    inv = inv_rows()
    p = pd.Timestamp("2020-03-20")
    bh = pd.DataFrame(
        {"resource_id": inv["resource_id"], "period": p, "p90": [50.0, 50.0, 50.0, 200.0, 300.0]}
    )
    html, files = continuity_sweeps(inv, bh, "p90", tmp_path / "whatif")
    assert {f.name for f in files} == {"whatif.csv", "worst.csv", "flows.csv"}
    w = pd.read_csv(tmp_path / "whatif" / "whatif.csv")
    assert len(w) == 5 * (5 + 3)  # N-1 (5) + sites (PAR, MUS, FRA), every resource each
    assert "What if" in html and "Vital customers at risk" in html
