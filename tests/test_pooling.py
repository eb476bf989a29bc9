"""Service centres pooled into one virtual centre, and closures placed by the continuity LP.

References: Erlang C staffing by its closed form in mpmath (infinite patience), hand arithmetic in
comments; the pooling property (hypothesis) is the economies of scale of Erlang staffing.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surgeplan import teletraffic as tt
from surgeplan.continuity.centres import closure_staffing
from surgeplan.dimension.pooling import pooling_gain, skill_table

mp.mp.dps = 40


def mp_erlang_c_agents(a, aht, target, within):
    """Fewest agents with 1 - C(A, N) exp(-(N - A) t / h) >= target (Erlang C, 40 digits)."""
    a = mp.mpf(a)
    n = math.floor(a) + 1
    while True:
        terms = [a**k / mp.factorial(k) for k in range(n + 1)]
        b = terms[-1] / mp.fsum(terms)
        c = n * b / (n - a * (1 - b))
        if 1 - c * mp.e ** (-(n - a) * within / aht) >= target:
            return n
        n += 1


def queue(rid, site, language, capacity=20, **kw):
    r = {
        "resource_id": rid,
        "kind": "contact_center",
        "region": "FRA",
        "capacity": capacity,
        "module_size": 5,
        "max_capacity": 200,
        "lead_time_days": 14,
        "module_cost": 1000.0,
        "group": kw.pop("group", ""),
        "priority_class": kw.pop("priority_class", "standard"),
        "site": site,
        "language": language,
        "aht_s": 360.0,
        "patience_s": math.inf,
        "answer_within_s": 20.0,
    }
    r.update(kw)
    return r


def test_two_equal_queues_pooled_by_hand():
    # 100 calls/h x 360 s = 10 E at each of Paris and Ebene, French, SL 80 % in 20 s, no abandonment:
    # apart 2 x N(10 E), pooled N(20 E) (Erlang C staffing in mpmath)
    inv = pd.DataFrame([queue("PAR-FR", "FRA-PAR", "fr"), queue("EBN-FR", "MUS-EBN", "fr")])
    t = pooling_gain(inv, {"PAR-FR": 100.0, "EBN-FR": 100.0}).iloc[0]
    apart = 2 * mp_erlang_c_agents(10, 360, 0.8, 20)
    pooled = mp_erlang_c_agents(20, 360, 0.8, 20)
    assert (t["agents_apart"], t["agents_pooled"]) == (apart, pooled)
    assert t["pooling_gain"] == apart - pooled > 0
    assert t["sites"] == "FRA-PAR,MUS-EBN" and t["queues"] == 2 and t["calls_per_hour"] == 200.0


def test_skill_table_limits_the_pool():
    inv = pd.DataFrame(
        [
            queue("PAR-FR", "FRA-PAR", "fr"),
            queue("CAI-FR", "EGY-CAI", "fr"),
            queue("CAI-AR", "EGY-CAI", "ar"),
            queue("PAR-V", "FRA-PAR", "fr", priority_class="vital"),
        ]
    )
    assert set(map(tuple, skill_table(inv).to_numpy())) == {
        ("FRA-PAR", "fr"),
        ("EGY-CAI", "fr"),
        ("EGY-CAI", "ar"),
    }
    # Cairo loses its French skill: its French queue stays apart, Paris's pool is Paris alone
    skills = pd.DataFrame({"site": ["FRA-PAR", "EGY-CAI"], "language": ["fr", "ar"]})
    t = pooling_gain(inv, {"PAR-FR": 100.0, "CAI-FR": 100.0, "CAI-AR": 50.0, "PAR-V": 30.0}, skills=skills)
    fr = t[(t["language"] == "fr") & (t["priority_class"] == "standard")].iloc[0]
    assert fr["sites"] == "FRA-PAR" and fr["pooling_gain"] == 0
    # vital queues never pool with standard ones
    assert set(t["priority_class"]) == {"standard", "vital"}


@settings(max_examples=60, deadline=None)
@given(
    loads=st.lists(st.floats(0.0, 600.0), min_size=2, max_size=6),
    aht=st.floats(120.0, 600.0),
    patience=st.floats(20.0, 900.0),
    target=st.floats(0.5, 0.95),
)
def test_pooling_never_needs_more_agents(loads, aht, patience, target):
    sites = ["EGY-CAI", "IND-GGN", "MUS-EBN", "BRA-RIO", "FRA-PAR", "FRA-LYS"]
    inv = pd.DataFrame(
        [
            queue(f"Q{i}", sites[i], "en", aht_s=aht, patience_s=patience, gos_target=target)
            for i in range(len(loads))
        ]
    )
    t = pooling_gain(inv, {f"Q{i}": x for i, x in enumerate(loads)}).iloc[0]
    assert t["agents_pooled"] <= t["agents_apart"]


def test_closure_moves_calls_to_the_same_language_and_resizes():
    # Paris closes. Its French calls (300/h) may go to Ebene (French) but not to Cairo (Arabic only);
    # Ebene can staff up to 200 agents x 3600 / 360 = 2,000 calls/h, so all 300 + 100 land there.
    inv = pd.DataFrame(
        [queue("PAR-FR", "FRA-PAR", "fr"), queue("EBN-FR", "MUS-EBN", "fr"), queue("CAI-AR", "EGY-CAI", "ar")]
    )
    load = {"PAR-FR": 300.0, "EBN-FR": 100.0, "CAI-AR": 80.0}
    out = closure_staffing(inv, load, sites=["FRA-PAR"]).set_index("site")
    assert out.loc["MUS-EBN", "calls_per_hour"] == pytest.approx(400.0, rel=1e-6)
    assert out.loc["EGY-CAI", "calls_per_hour"] == pytest.approx(80.0, rel=1e-6)
    assert out.loc["FRA-PAR", "calls_unplaced"] == pytest.approx(0.0, abs=1e-6)
    # 400/h x 360 s = 40 E at Ebene, 8 E at Cairo (Erlang C, 80 % in 20 s)
    assert out.loc["MUS-EBN", "agents_needed"] == mp_erlang_c_agents(40, 360, 0.8, 20)
    assert out.loc["EGY-CAI", "agents_needed"] == mp_erlang_c_agents(8, 360, 0.8, 20)
    assert out.loc["MUS-EBN", "agents_installed"] == 20


def test_pooling_matches_erlang_a_agents_with_patience():
    inv = pd.DataFrame(
        [queue(f"Q{i}", s, "es", patience_s=120.0, aht_s=300.0) for i, s in enumerate(["EGY-CAI", "BRA-RIO"])]
    )
    t = pooling_gain(inv, {"Q0": 250.0, "Q1": 350.0}).iloc[0]
    # equal parameters: the pool is Erlang A at 600 calls/h, 300 s, patience 120 s
    assert t["agents_pooled"] == tt.erlang_a_agents(600 / 3600, 300, 120, 0.8, 20, 0.05)
    assert t["agents_apart"] == sum(tt.erlang_a_agents(x / 3600, 300, 120, 0.8, 20, 0.05) for x in (250, 350))
    assert np.isfinite(t["pooling_gain"])
