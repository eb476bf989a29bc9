"""Continuity what-ifs: hand-checked cases, the LP against brute force, properties.

Independent references: arithmetic in the comments, an Erlang A reference built here from the
birth-death chain of M/M/n+M (PASTA + the phase-type time to reach an agent, scipy expm), and
brute-force enumeration of integer allocations.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.linalg import expm

from surgeplan.continuity import WHATIF_COLUMNS, WORST_COLUMNS, parse_spec, scenario, sweep, whatif
from surgeplan.errors import SurgeplanError, ValidationError


def row(rid, kind="link", capacity=100.0, group="G", **kw):
    r = {
        "resource_id": rid,
        "kind": kind,
        "region": kw.pop("region", "FRA"),
        "capacity": capacity,
        "module_size": kw.pop("module_size", 100.0),
        "max_capacity": kw.pop("max_capacity", 1e9),
        "lead_time_days": 10,
        "module_cost": kw.pop("module_cost", 1000.0),
        "group": group,
        "priority_class": kw.pop("priority_class", "standard"),
    }
    r.update(kw)
    return r


def by_id(res, scen):
    w = res.whatif
    return w.loc[w["scenario"] == scen].set_index("resource_id")


# ------------------------------------------------------------------------------------------ hand cases


@pytest.mark.parametrize("mode", ["hashing", "optimal"])
def test_four_links_at_55_percent_losing_one(mode):
    # 4 x 100G at 55 Gbps each = 220 Gbps. One fails: 220 Gbps on 300G = 73.3% > 70% ceiling.
    inv = pd.DataFrame([row(x) for x in "ABCD"])
    res = whatif(inv, {x: 55.0 for x in "ABCD"}, scenarios=["A"], mode=mode)
    w = by_id(res, "A")
    assert list(res.whatif.columns) == list(WHATIF_COLUMNS)
    assert w.loc["A", "capacity"] == 0 and w.loc["A", "carried_load"] == 0
    assert w.loc["A", "unserved_load"] == pytest.approx(0, abs=1e-6)  # all of it moved
    assert w.loc[list("BCD"), "carried_load"].sum() == pytest.approx(220.0)
    assert not w.loc[list("BCD"), "gos_ok"].any()
    if mode == "hashing":  # spread by capacity: 220 / 3 = 73.33 Gbps on each 100G
        assert w.loc[list("BCD"), "utilization"].to_numpy() == pytest.approx([220 / 300] * 3)
        assert w.loc["B", "gos_value"] == pytest.approx(0.7333333, rel=1e-6) and w.loc["B", "gos_value"] > 0.7
    else:  # the LP spreads the excess too: no survivor above 74%, none under 73%
        assert w.loc[list("BCD"), "utilization"].between(0.73 - 1e-5, 0.74 + 1e-5).all()
    assert set(res.flows["to_resource"]) == set("BCD")
    assert res.flows["load"].sum() == pytest.approx(55.0)


def test_reproducer_group_hashing_after_either_fails():
    # LA 400G + LB 100G after the plan: 500G + 500G, 250 Gbps: after either fails 250/500 = 0.5.
    inv = pd.DataFrame([row("LA", capacity=500.0), row("LB", capacity=500.0)])
    res = whatif(inv, {"LA": 200.0, "LB": 50.0}, scenarios="n-1", mode="hashing")
    for s, other in (("LA", "LB"), ("LB", "LA")):
        assert by_id(res, s).loc[other, "utilization"] == pytest.approx(0.5)
    assert list(res.worst.columns) == list(WORST_COLUMNS)
    assert (res.worst["scenarios_breaking"] == 0).all()


def erlang_a_reference(lam, aht, patience, n, t, kmax=400):
    """P(answered within t) over all arrivals of M/M/n+M, from the birth-death chain.

    Stationary pi_k by the product formula (death rate min(k, n)/aht + max(k - n, 0)/patience);
    an arrival seeing k < n is answered at once; seeing k >= n it must see k - n + 1 advances of
    the queue (phase rates n/aht + m/patience, m callers still ahead) before its own patience
    (rate 1/patience) runs out: P = prod_m (n/aht + m/pat) / (n/aht + (m+1)/pat) x
    P(hypoexponential with rates n/aht + (m+1)/pat <= t) (PASTA).
    """
    mu, th = 1.0 / aht, 1.0 / patience
    logp = np.zeros(kmax + 1)
    for k in range(1, kmax + 1):
        logp[k] = logp[k - 1] + np.log(lam) - np.log(min(k, n) * mu + max(k - n, 0) * th)
    pi = np.exp(logp - logp.max())
    pi /= pi.sum()
    sl = pi[:n].sum()
    for k in range(n, kmax):
        j = k - n + 1  # phases to pass: m = j-1 ... 0 callers ahead
        rates = np.array([n * mu + (m + 1) * th for m in range(j - 1, -1, -1)])
        succ = np.prod([(n * mu + m * th) / (n * mu + (m + 1) * th) for m in range(j - 1, -1, -1)])
        q = np.diag(-rates) + np.diag(rates[:-1], 1)
        p0 = np.zeros(j)
        p0[0] = 1.0
        within = 1.0 - (p0 @ expm(q * t)).sum()
        sl += pi[k] * succ * within
        if pi[k] < 1e-14 and k > n + 50:
            break
    return sl


def test_five_centres_one_closing_erlang_a_by_the_chain():
    # Five service centres (Egypt, India, Mauritius, Brazil, France), one queue each. Mauritius
    # closes; a declared route sends its 300 calls/h to France (unbounded). France then takes
    # 400 + 300 = 700 calls/h = 700 x 240 / 3600 = 46.67 Erlangs on its own 50 agents (hard limit
    # 50 x 3600 / 240 = 750 calls/h, so nothing is unserved); its service level (answered within
    # 20 s over all arrivals, patience 120 s) comes from the chain reference above.
    centres = [
        ("EGY", 40, 300.0),
        ("IND", 40, 300.0),
        ("MUS", 30, 300.0),
        ("BRA", 40, 300.0),
        ("FRA", 50, 400.0),
    ]
    inv = pd.DataFrame(
        [
            row(
                f"CC-{s}",
                "contact_center",
                n,
                group="",
                site=s,
                aht_s=240.0,
                patience_s=120.0,
                answer_within_s=20.0,
                abandon_max=0.5,
                module_size=1.0,
            )
            for s, n, _ in centres
        ]
    )
    load = {f"CC-{s}": x for s, _, x in centres}
    routes = pd.DataFrame({"from_resource": ["CC-MUS"], "to_resource": ["CC-FRA"], "max_load": [np.nan]})
    res = whatif(inv, load, routes, scenarios=["site:MUS"])
    w = by_id(res, "site:MUS")
    assert w.loc["CC-MUS", "carried_load"] == 0 and w.loc["CC-MUS", "capacity"] == 0
    assert w.loc["CC-FRA", "offered_load"] == pytest.approx(700.0)
    assert w.loc["CC-FRA", "unserved_load"] == pytest.approx(0.0, abs=1e-6)
    assert w.loc["CC-FRA", "utilization"] == pytest.approx(700 * 240 / 3600 / 50)
    ref = erlang_a_reference(700 / 3600, 240.0, 120.0, 50, 20.0)
    assert w.loc["CC-FRA", "gos_metric"] == "service_level"
    assert w.loc["CC-FRA", "gos_value"] == pytest.approx(ref, rel=1e-6)
    assert w.loc["CC-FRA", "gos_ok"] == (ref >= 0.8)
    # the other three keep their own 300 calls/h on their own agents
    for s in ("EGY", "IND", "BRA"):
        assert w.loc[f"CC-{s}", "gos_value"] == pytest.approx(
            erlang_a_reference(300 / 3600, 240.0, 120.0, 40, 20.0), rel=1e-6
        )
    # with a route capped at 100 calls/h, 200 calls/h of Mauritius are unserved
    routes2 = routes.assign(max_load=[100.0])
    w2 = by_id(whatif(inv, load, routes2, scenarios=["site:MUS"]), "site:MUS")
    assert w2.loc["CC-MUS", "unserved_load"] == pytest.approx(200.0)
    assert w2.loc["CC-MUS", "offered_load"] == pytest.approx(200.0)
    assert w2.loc["CC-FRA", "offered_load"] == pytest.approx(500.0)


def test_trunk_group_blocking_after_failure_by_hand():
    # Two 10-circuit groups backing each other up, 3 E each. One fails: 6 E on 10 circuits.
    # Erlang B(6, 10) = (6^10/10!) / sum_{k<=10} 6^k/k! = 0.043142... (by hand below).
    inv = pd.DataFrame([row("T1", "trunk_group", 10.0), row("T2", "trunk_group", 10.0)])
    w = by_id(whatif(inv, {"T1": 3.0, "T2": 3.0}, scenarios=["T1"]), "T1")
    terms = [6.0**k / np.prod(np.arange(1, k + 1)) for k in range(11)]
    assert w.loc["T2", "gos_value"] == pytest.approx(terms[10] / sum(terms), rel=1e-9)
    assert w.loc["T2", "gos_metric"] == "blocking" and not w.loc["T2", "gos_ok"]


# ------------------------------------------------------------------------------------------ scenarios


def test_specs_and_sweeps():
    inv = pd.DataFrame(
        [
            row("A", capacity=100.0, site="S1", region="FRA"),
            row("B", capacity=400.0, site="S1"),
            row("C", capacity=100.0, group="H", site="S2", region="ITA"),
            row("Z", "generic", 1.0, group=""),
        ]
    )
    assert parse_spec("group:G", inv) == ("B",)  # the largest member
    assert parse_spec("site:S1", inv) == ("A", "B")
    assert parse_spec("region:ita", inv) == ("C",)
    assert scenario(["A", "site:S2"], inv).failed == ("A", "C")
    assert [s.name for s in sweep(inv, "n-1")] == ["A", "B", "C"]  # generic is never dimensioned
    assert [s.name for s in sweep(inv, "sites")] == ["site:S1", "site:S2"]
    with pytest.raises(SurgeplanError, match="unknown resource"):
        parse_spec("NOPE", inv)
    with pytest.raises(SurgeplanError, match="site"):
        parse_spec("site:NOPE", inv)


def test_routes_checked_against_the_inventory():
    inv = pd.DataFrame([row("L1"), row("L2"), row("T1", "trunk_group", 10.0, group="")])
    bad_kind = pd.DataFrame({"from_resource": ["L1"], "to_resource": ["T1"], "max_load": [1.0]})
    with pytest.raises(ValidationError, match="row 1, column 'to_resource'.*different kinds"):
        whatif(inv, {"L1": 1.0}, bad_kind, scenarios=["L1"], routes_source="routes.csv")
    unknown = pd.DataFrame(
        {"from_resource": ["L1", "X"], "to_resource": ["L2", "L1"], "max_load": [1.0, 1.0]}
    )
    with pytest.raises(ValidationError, match="row 2, column 'from_resource'"):
        whatif(inv, {"L1": 1.0}, unknown, scenarios=["L1"])


def test_worst_case_per_resource_over_a_sweep():
    # A, B, C 100G in one group at 30, 30, 40 Gbps (hashing). Losing C puts 100 Gbps on A + B
    # (50% each); losing A or B puts 100 Gbps on the two others (50%): every worst is 0.5, none
    # breaks 0.7. With C at 70: losing A or B -> 130/200 = 65%; losing C -> 130/200 = 65%.
    inv = pd.DataFrame([row(x) for x in "ABC"])
    res = whatif(inv, {"A": 30.0, "B": 30.0, "C": 70.0}, scenarios="n-1", mode="hashing")
    wst = res.worst.set_index("resource_id")
    assert wst["worst_gos_value"].to_numpy() == pytest.approx([0.65, 0.65, 0.65])
    assert wst.loc["A", "worst_scenario"] in ("B", "C")
    assert (wst["scenarios_breaking"] == 0).all()
    # at 0.6 ceiling all three break twice (their own failure loses nothing: it all moved)
    res6 = whatif(
        inv, {"A": 30.0, "B": 30.0, "C": 70.0}, scenarios="n-1", mode="hashing", gos_overrides={"link": 0.6}
    )
    assert (res6.worst["scenarios_breaking"] == 2).all()
    assert len(res6.worst_top) == 6 and set(res6.worst_top["rank"]) == {1, 2}


# ------------------------------------------------------------------------------------------ LP vs brute force


def brute_force(load, hard, failed, edges, vital):
    """Lexicographic (vital unserved, standard unserved) minimum over integer allocations."""
    n = len(load)
    best = None
    f_edges = [(s, d, m) for s, d, m in edges if s in failed and d not in failed]
    ranges = [range(int(min(load[s], m)) + 1) for s, d, m in f_edges]
    for x in itertools.product(*ranges):
        moved = np.zeros(n)
        recv = np.zeros(n)
        for (s, d, _), v in zip(f_edges, x):
            moved[s] += v
            recv[d] += v
        if np.any(moved > load):
            continue
        unserved = np.zeros(n)
        ok = True
        for i in range(n):
            if i in failed:
                unserved[i] = load[i] - moved[i]
            else:
                room = hard[i] - recv[i]
                if room < 0:
                    ok = False
                    break
                unserved[i] = max(load[i] - room, 0.0)
        if not ok:
            continue
        key = (unserved[vital].sum(), unserved[~vital].sum())
        best = key if best is None or key < best else best
    return best


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 8), st.booleans()), min_size=3, max_size=4),
    st.data(),
)
def test_lp_matches_brute_force(spec, data):
    n = len(spec)
    load = np.array([float(s[0]) for s in spec])
    hard = np.array([float(s[1]) for s in spec])
    vital = np.array([s[2] for s in spec])
    failed = {0} if n < 4 else {0, 1}
    edges = []
    for f in failed:
        for d in range(n):
            if d not in failed and data.draw(st.booleans()):
                edges.append((f, d, float(data.draw(st.integers(0, 6)))))
    inv = pd.DataFrame(
        [
            row(f"R{i}", "vpn_gateway", hard[i], group="", priority_class="vital" if vital[i] else "standard")
            for i in range(n)
        ]
    )
    routes = pd.DataFrame(
        {
            "from_resource": [f"R{s}" for s, _, _ in edges],
            "to_resource": [f"R{d}" for _, d, _ in edges],
            "max_load": [m for *_, m in edges],
        }
    )
    res = whatif(
        inv, {f"R{i}": load[i] for i in range(n)}, routes, scenarios=[[f"R{i}" for i in sorted(failed)]]
    )
    w = res.whatif.set_index("resource_id").loc[[f"R{i}" for i in range(n)]]
    u = w["unserved_load"].to_numpy()
    ref = brute_force(load, hard, failed, edges, vital)
    assert u[vital].sum() == pytest.approx(ref[0], abs=1e-6)
    assert u[~vital].sum() == pytest.approx(ref[1], abs=1e-6)


# ------------------------------------------------------------------------------------------ properties


@st.composite
def networks(draw):
    n = draw(st.integers(3, 6))
    rows, load = [], {}
    for i in range(n):
        rows.append(
            row(
                f"R{i}",
                "vpn_gateway",
                float(draw(st.integers(0, 50))),
                group=draw(st.sampled_from(["", "g"])),
                priority_class=draw(st.sampled_from(["vital", "standard"])),
            )
        )
        load[f"R{i}"] = float(draw(st.integers(0, 40)))
    k = draw(st.integers(0, 4))
    routes = pd.DataFrame(
        {
            "from_resource": [f"R{draw(st.integers(0, n - 1))}" for _ in range(k)],
            "to_resource": [f"R{draw(st.integers(0, n - 1))}" for _ in range(k)],
            "max_load": [float(draw(st.integers(0, 30))) for _ in range(k)],
        }
    )
    routes = routes.loc[routes["from_resource"] != routes["to_resource"]]
    return pd.DataFrame(rows), load, routes


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.integers(0, 5), st.integers(1, 30))
def test_property_conservation_priority_and_more_capacity(net, who, extra):
    inv, load, routes = net
    res = whatif(inv, load, routes, scenarios="n-1")
    w = res.whatif
    # conservation per row, per scenario, and a failed resource carries nothing
    assert np.allclose(w["carried_load"] + w["unserved_load"], w["offered_load"], atol=1e-6)
    assert np.allclose(w.groupby("scenario")["offered_load"].sum(), sum(load.values()), atol=1e-6)
    failed = w["scenario"] == w["resource_id"]
    assert (w.loc[failed, "carried_load"] == 0).all() and (w.loc[failed, "capacity"] == 0).all()
    # vital never shed while standard load is carried where it could have gone
    fl = res.flows
    for s, ws in w.groupby("scenario"):
        ws = ws.set_index("resource_id")
        f = s
        if ws.loc[f, "priority_class"] != "vital" or ws.loc[f, "unserved_load"] <= 1e-6:
            continue
        dests = set(
            inv.loc[
                (inv["group"] == inv.set_index("resource_id").loc[f, "group"])
                & (inv["group"] != "")
                & (inv["resource_id"] != f),
                "resource_id",
            ]
        )
        bounded = routes.loc[routes["from_resource"] == f]
        for _, r in bounded.iterrows():
            sent = fl.loc[(fl["scenario"] == s) & (fl["to_resource"] == r["to_resource"]), "load"].sum()
            if r["to_resource"] not in dests and sent < r["max_load"] - 1e-6:
                dests.add(r["to_resource"])
        for d in dests:
            std_in = fl.loc[
                (fl["scenario"] == s)
                & (fl["to_resource"] == d)
                & (
                    fl["from_resource"].map(dict(zip(inv["resource_id"], inv["priority_class"])))
                    == "standard"
                ),
                "load",
            ].sum()
            own_std = (
                ws.loc[d, "carried_load"]
                - fl.loc[(fl["scenario"] == s) & (fl["to_resource"] == d), "load"].sum()
                if ws.loc[d, "priority_class"] == "standard"
                else 0.0
            )
            assert std_in + own_std <= 1e-6, (s, d)
    # more capacity on one resource never increases unserved load (vital, then in total)
    inv2 = inv.copy()
    inv2.loc[who % len(inv2), "capacity"] += extra
    res2 = whatif(inv2, load, routes, scenarios="n-1")
    u1 = res.whatif.groupby(["scenario", "priority_class"])["unserved_load"].sum().unstack(fill_value=0.0)
    u2 = res2.whatif.groupby(["scenario", "priority_class"])["unserved_load"].sum().unstack(fill_value=0.0)
    if "vital" in u1:
        assert (u2["vital"] <= u1["vital"] + 1e-6).all()
    assert (u2.sum(axis=1) <= u1.sum(axis=1) + 1e-6).all()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_property_worst_agrees_with_the_rows(net):
    # worst.csv recomputed from whatif.csv by a plain group-by: worst value (VPN utilisation: the
    # highest), its scenario's row, number of scenarios breaking
    inv, load, routes = net
    res = whatif(inv, load, routes, scenarios="n-1")
    w = res.whatif
    per = w["gos_value"].groupby(w["resource_id"]).max()
    nb = (~w["gos_ok"]).groupby(w["resource_id"]).sum()
    wst = res.worst.set_index("resource_id")
    assert np.allclose(wst["worst_gos_value"], per.reindex(wst.index), equal_nan=True)
    assert (wst["scenarios_breaking"] == nb.reindex(wst.index)).all()
    rows = w.set_index(["scenario", "resource_id"])["gos_value"]
    named = wst.dropna(subset=["worst_scenario"])
    got = rows.loc[list(zip(named["worst_scenario"], named.index))].to_numpy()
    assert np.allclose(got, named["worst_gos_value"].to_numpy(), equal_nan=True)
