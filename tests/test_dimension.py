"""surgeplan.dimension on hand-checkable inventories, against independent references.

References used here, never the code's own output:
* Erlang B by mpmath in 50-digit arithmetic, B(A, N) = (A^N / N!) / sum_k A^k / k!, and the
  published Erlang B table (e.g. ITU-T E.520 tables / any teletraffic textbook): 18 circuits carry
  10.437 E at 1% blocking, 17 circuits 9.650 E.
* Erlang C by mpmath: C = B N / (N - A (1 - B)), SL = 1 - C exp(-(N - A) t / h).
* Erlang A abandonment from the birth-death chain of M/M/n+M solved with mpmath.
* Link N+1 and VPN ceilings computed by hand in the comments.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pandas as pd
import pytest

from surgeplan.dimension import dimension, quantile_column
from surgeplan.errors import SurgeplanError, ValidationError

mp.mp.dps = 50


def mp_erlang_b(a: float, n: int) -> float:
    a = mp.mpf(a)
    terms = [a**k / mp.factorial(k) for k in range(n + 1)]
    return float(terms[-1] / mp.fsum(terms))


def mp_servers(a: float, target: float) -> int:
    """Smallest N with B(A, N) <= target, by the exact recurrence B(N) = A B(N-1) / (N + A B(N-1))
    in 50-digit arithmetic."""
    a = mp.mpf(a)
    b, n = mp.mpf(1), 0
    while b > target:
        n += 1
        b = a * b / (n + a * b)
    return n


def inv_row(rid, kind, capacity, **kw):
    row = dict(
        resource_id=rid,
        kind=kind,
        region="FRA",
        capacity=capacity,
        module_size=kw.pop("module_size", 1),
        max_capacity=kw.pop("max_capacity", 1e9),
        lead_time_days=kw.pop("lead_time_days", 10),
        module_cost=kw.pop("module_cost", 1.0),
        group=kw.pop("group", ""),
        priority_class=kw.pop("priority_class", "standard"),
    )
    row.update(kw)
    return row


def bh(rows):
    """rows: (resource_id, day 'YYYY-MM-DD', load) -> busy-hour table with p90 = load."""
    df = pd.DataFrame(rows, columns=["resource_id", "period", "p90"])
    df["period"] = pd.to_datetime(df["period"])
    df["busy_hour"] = df["period"] + pd.Timedelta(hours=10)
    return df


def test_trunk_group_matches_published_table_and_mpmath():
    # 10 E at 1%: the published table gives 18 circuits (17 carry only 9.650 E).
    inv = pd.DataFrame([inv_row("T", "trunk_group", 15)])
    d = dimension(inv, bh([("T", "2020-03-02", 10.0), ("T", "2020-03-03", 9.6)]), "p90")
    assert list(d["needed"]) == [18, 17]
    assert mp_servers(10.0, 0.01) == 18 and mp_servers(9.6, 0.01) == 17
    assert d["gos"].iloc[0] == pytest.approx(mp_erlang_b(10.0, 15), rel=1e-9)
    assert not d["gos_ok"].any()
    # blocked Erlangs = A x B(A, 15)
    assert d["shortfall"].iloc[0] == pytest.approx(10.0 * mp_erlang_b(10.0, 15), rel=1e-9)
    # 15 circuits carry A* with B(A*, 15) = 1%: published 8.108 E
    assert d["carriable"].iloc[0] == pytest.approx(8.108, abs=2e-3)
    assert d["headroom"].iloc[0] == pytest.approx(8.108 - 10.0, abs=2e-3)


def test_trunk_group_large_route_mpmath():
    # the FRA-ITA example size: 1,840 E at 1%
    inv = pd.DataFrame([inv_row("T", "trunk_group", 1560)])
    d = dimension(inv, bh([("T", "2020-03-19", 1840.0)]))
    assert d["needed"].iloc[0] == mp_servers(1840.0, 0.01)


def mp_extended_blocking(a0: float, n: int, r: float) -> float:
    """Extended Erlang B equilibrium by plain fixed-point iteration A = A0 + r B(A, N) A (mpmath)."""
    a = mp.mpf(a0)
    for _ in range(200):
        a = a0 / (1 - r * mp.mpf(mp_erlang_b(float(a), n)))
    return mp_erlang_b(float(a), n)


def test_extended_erlang_b_retries_need_more_circuits():
    # 10.4 E fresh, 80% of blocked callers retry, 1% target. Without retries 18 circuits suffice
    # (they carry 10.437 E at 1%, published table). With retries the attempts grow to about
    # 10.4 / (1 - 0.8 x 0.01) = 10.48 E: 18 circuits block more than 1%, 19 do not (fixed point
    # iterated in mpmath below).
    assert mp_extended_blocking(10.4, 18, 0.8) > 0.01 >= mp_extended_blocking(10.4, 19, 0.8)
    inv = pd.DataFrame(
        [inv_row("R", "trunk_group", 18, retry_probability=0.8), inv_row("P", "trunk_group", 18)]
    )
    d = dimension(inv, bh([("R", "2020-03-02", 10.4), ("P", "2020-03-02", 10.4)])).set_index("resource_id")
    assert d.loc["P", "needed"] == 18
    assert d.loc["R", "needed"] == 19
    assert d.loc["R", "gos"] == pytest.approx(mp_extended_blocking(10.4, 18, 0.8), rel=1e-6)


def test_link_bundle_n_plus_one_by_hand():
    # Two 100G links in group G, 50 + 40 Gbps, ceiling 0.7, 1G modules. Normal state fine (50%, 40%),
    # but if one fails the survivor carries 90 Gbps on 100G = 90% > 70%. N+1 needs the smaller
    # member (what survives the larger one's failure) >= 90 / 0.7 = 128.57 G, and both members are
    # symmetric: 129G each (whole 1G modules), 29 modules each at the minimum.
    inv = pd.DataFrame(
        [
            inv_row("L1", "link", 100, group="G"),
            inv_row("L2", "link", 100, group="G"),
            inv_row("L3", "link", 100),
        ]
    )  # L3 alone: no N+1
    d = dimension(
        inv, bh([("L1", "2020-03-02", 50.0), ("L2", "2020-03-02", 40.0), ("L3", "2020-03-02", 50.0)])
    ).set_index("resource_id")
    assert d.loc["L1", "needed"] == 129.0
    assert d.loc["L2", "needed"] == 129.0
    assert d.loc["L1", "gos"] == pytest.approx(0.9)  # post-failure utilisation
    assert not d.loc["L1", "gos_ok"]
    # Gbps over the ceiling: 0.7 x (129 - 100) = 20.3
    assert d.loc["L1", "shortfall"] == pytest.approx(0.7 * 29)
    # L3 alone: 50 / 0.7 = 71.43 needed, 100 installed, ok
    assert d.loc["L3", "needed"] == pytest.approx(50 / 0.7)
    assert d.loc["L3", "gos_ok"]


def test_link_group_largest_member_fails():
    # 100G + 100G + 400G, loads 30 + 30 + 90 = 150 Gbps. The 400G failing leaves 200G: 75% > 70%.
    # N+1 needs C - max c >= 150 / 0.7 = 214.29 G: adding 15 x 1G to A or B (115 + 100 = 215) is
    # the cheapest (the 400G's own capacity is what its failure removes; growing it buys nothing).
    inv = pd.DataFrame(
        [
            inv_row("A", "link", 100, group="G"),
            inv_row("B", "link", 100, group="G"),
            inv_row("C", "link", 400, group="G"),
        ]
    )
    d = dimension(
        inv, bh([("A", "2020-03-02", 30.0), ("B", "2020-03-02", 30.0), ("C", "2020-03-02", 90.0)])
    ).set_index("resource_id")
    added = d["needed"].clip(lower=d["capacity"]) - d["capacity"]
    assert added.sum() == 15.0
    assert added["C"] == 0.0
    # a member busier than its share: its own ceiling dominates (e.g. A at 80 Gbps: 80/0.7 = 114.3)
    d2 = dimension(
        inv, bh([("A", "2020-03-02", 80.0), ("B", "2020-03-02", 5.0), ("C", "2020-03-02", 5.0)])
    ).set_index("resource_id")
    # group 90 Gbps over 200G survivors = 45%: fine; A alone: 80/0.7
    assert d2.loc["A", "needed"] == pytest.approx(80 / 0.7)
    assert d2.loc["B", "needed"] == pytest.approx(100 * 0.45 / 0.7)


def test_vpn_gateway_ceiling():
    # 950 sessions at a 0.9 ceiling: ceil(950 / 0.9) = ceil(1055.6) = 1056 sessions
    inv = pd.DataFrame([inv_row("V", "vpn_gateway", 1000)])
    d = dimension(inv, bh([("V", "2020-03-02", 950.0), ("V", "2020-03-03", 900.0)]))
    assert list(d["needed"]) == [1056, 1000]
    assert list(d["gos_ok"]) == [False, True]
    assert d["shortfall"].iloc[0] == pytest.approx(50.0)  # 950 - 900


def _mp_erlang_c_sl(a, n, t, h):
    b = mp.mpf(mp_erlang_b(a, n))
    c = b * n / (n - a * (1 - b))
    return float(1 - c * mp.exp(-(n - a) * mp.mpf(t) / h))


def test_contact_center_erlang_c_when_patience_infinite():
    # 600 calls/h x 240 s = 40 E. Smallest n with SL(20 s) >= 80% by Erlang C in mpmath.
    inv = pd.DataFrame(
        [
            inv_row(
                "C",
                "contact_center",
                40,
                aht_s=240.0,
                patience_s=math.inf,
                answer_within_s=20.0,
                abandon_max=1.0,
            )
        ]
    )
    d = dimension(inv, bh([("C", "2020-03-02", 600.0)]))
    n = 41
    while _mp_erlang_c_sl(40.0, n, 20.0, 240.0) < 0.8:
        n += 1
    assert d["needed"].iloc[0] == n
    assert d["gos"].iloc[0] == pytest.approx(0.0, abs=1e-9)  # 40 agents for 40 E: unstable, SL 0


def _mp_abandon(lam, mu, theta, n, k_max=2000):
    # birth-death chain of M/M/n+M: P(abandon) = theta E[queue] / lam
    p = [mp.mpf(1)]
    for k in range(1, k_max):
        p.append(p[-1] * lam / (min(k, n) * mu + max(k - n, 0) * theta))
        if p[-1] < mp.mpf(10) ** -40:
            break
    z = mp.fsum(p)
    eq = mp.fsum((k - n) * pk for k, pk in enumerate(p) if k > n) / z
    return float(theta * eq / lam)


def test_contact_center_abandonment_ceiling_erlang_a():
    # 360 calls/h (0.1/s), aht 300 s (30 E), patience 60 s, SL target 0 (only abandonment counts),
    # abandon_max 2%: the smallest n with P(ab) <= 2% from the birth-death chain.
    lam, mu, theta = 0.1, 1 / 300, 1 / 60
    inv = pd.DataFrame(
        [
            inv_row(
                "C",
                "contact_center",
                30,
                aht_s=300.0,
                patience_s=60.0,
                answer_within_s=20.0,
                abandon_max=0.02,
                gos_target=1e-9,
            )
        ]
    )
    d = dimension(inv, bh([("C", "2020-03-02", 360.0)]))
    n = 1
    while _mp_abandon(lam, mu, theta, n) > 0.02:
        n += 1
    assert d["needed"].iloc[0] == n
    # abandoned calls per hour with the installed 30 agents
    assert d["shortfall"].iloc[0] == pytest.approx(360.0 * _mp_abandon(lam, mu, theta, 30), rel=1e-4)


def test_conference_bridge_and_generic():
    inv = pd.DataFrame([inv_row("B", "conference_bridge", 20), inv_row("X", "generic", 5)])
    d = dimension(inv, bh([("B", "2020-03-02", 10.0), ("X", "2020-03-02", 99.0)]))
    assert list(d["resource_id"]) == ["B"]  # generic is never dimensioned
    assert d["needed"].iloc[0] == 18
    assert d["capacity_unit"].iloc[0] == "ports"


def test_gos_overrides_precedence():
    inv = pd.DataFrame([inv_row("T1", "trunk_group", 20, gos_target=0.01), inv_row("T2", "trunk_group", 20)])
    rows = bh([("T1", "2020-03-02", 10.0), ("T2", "2020-03-02", 10.0)])
    d = dimension(inv, rows, gos_overrides={"trunk_group": 0.05, "T1": 0.001}).set_index("resource_id")
    assert d.loc["T1", "gos_target"] == 0.001 and d.loc["T1", "needed"] == mp_servers(10.0, 0.001)
    assert d.loc["T2", "gos_target"] == 0.05 and d.loc["T2", "needed"] == mp_servers(10.0, 0.05)
    with pytest.raises(SurgeplanError, match="neither a kind"):
        dimension(inv, rows, gos_overrides={"nope": 0.1})


def test_quantile_names_and_errors():
    assert (
        quantile_column(0.9) == "p90"
        and quantile_column(0.975) == "p97.5"
        and quantile_column("mean") == "mean"
    )
    inv = pd.DataFrame([inv_row("T", "trunk_group", 20)])
    with pytest.raises(ValidationError, match="p99"):
        dimension(inv, bh([("T", "2020-03-02", 10.0)]), "p99")
    with pytest.raises(ValidationError, match="not in the inventory"):
        dimension(inv, bh([("Z", "2020-03-02", 10.0)]))
    with pytest.raises(ValidationError, match="module_cost"):
        dimension(inv.drop(columns="module_cost"), bh([("T", "2020-03-02", 10.0)]))


def test_vectorized_many_rows_consistent_with_scalar_reference():
    rng = np.random.default_rng(1)
    n = 300
    a = rng.uniform(0.5, 60, n)
    inv = pd.DataFrame([inv_row(f"T{i}", "trunk_group", 30) for i in range(n)])
    d = dimension(inv, bh([(f"T{i}", "2020-03-02", a[i]) for i in range(n)]))
    for i in rng.choice(n, 12, replace=False):
        assert d["needed"].iloc[i] == mp_servers(a[i], 0.01)
