"""Retrial queue (M/M/N/N with an orbit of redialling callers) against independent references.

References: a discrete-event simulation written here (per-call holding and redial clocks on heaps,
batch means, 99% Student-t intervals); a dense generator built state by state and solved with
numpy least squares; extended Erlang B (the slow-redial limit) and Erlang B (no retries).
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from surgeplan.errors import SurgeplanError
from surgeplan.teletraffic import (
    erlang_b,
    extended_erlang_b,
    extended_erlang_b_servers,
    retrial,
    retrial_servers,
    retrial_traffic,
)


def simulate(traffic, servers, retry_probability, redial_delay, fresh_calls, *, seed, batches=20):
    """Discrete-event simulation; per batch: attempts, blocked attempts, fresh calls, lost calls, length.

    Time unit: the mean holding time. The first 5% of the horizon is discarded as warm-up.
    """
    rng = np.random.default_rng(seed)
    horizon = fresh_calls / traffic
    start = 0.05 * horizon
    width = (horizon - start) / batches
    counts = np.zeros((4, batches))
    draws = iter(())

    def draw():
        nonlocal draws
        value = next(draws, None)
        if value is None:
            draws = iter(zip(rng.exponential(size=1 << 16).tolist(), rng.random(size=1 << 16).tolist()))
            value = next(draws)
        return value

    busy: list[float] = []  # departure times of the calls in progress
    orbit: list[float] = []  # redial times of the callers in the orbit
    next_fresh = draw()[0] / traffic
    while True:
        ends = busy[0] if busy else math.inf
        redial = orbit[0] if orbit else math.inf
        if ends <= min(next_fresh, redial):
            heapq.heappop(busy)
            continue
        fresh = next_fresh <= redial
        if fresh:
            t = next_fresh
            next_fresh = t + draw()[0] / traffic
        else:
            t = heapq.heappop(orbit)
        if t >= horizon:
            break
        b = int((t - start) // width) if t >= start else -1
        holding, coin = draw()
        if b >= 0:
            counts[0, b] += 1
            counts[2, b] += fresh
        if len(busy) < servers:
            heapq.heappush(busy, t + holding)
            continue
        if b >= 0:
            counts[1, b] += 1
        if coin < retry_probability:
            heapq.heappush(orbit, t + redial_delay * draw()[0])
        elif b >= 0:
            counts[3, b] += 1
    return counts, width


def interval(num, den, level=0.99):
    """Ratio estimate and its batch-means Student-t interval."""
    ratio = num / den
    half = stats.t.ppf(0.5 + level / 2.0, ratio.size - 1) * ratio.std(ddof=1) / math.sqrt(ratio.size)
    est = num.sum() / den.sum()
    return est - half, est + half


# The cases: (traffic E, circuits, retry probability, redial delay in holding times),
# simulated blocking quoted there (1e6 calls), fresh calls simulated here.
CASES = [
    ((10.0, 10, 0.5, 0.05), 0.337, 600_000),
    ((20.0, 22, 0.8, 0.05), 0.309, 600_000),
    ((90.0, 100, 0.7, 0.05), 0.065, 600_000),
    ((10.0, 10, 0.5, 20.0), 0.290, 600_000),
]


@pytest.mark.slow
@pytest.mark.parametrize(("case", "quoted", "calls"), CASES)
def test_model_lies_in_the_simulation_interval(case, quoted, calls):
    counts, width = simulate(*case, calls, seed=2020)
    attempts, blocked, fresh, lost = counts
    r = retrial(*case)
    lo, hi = interval(blocked, attempts)
    assert lo <= r.blocking <= hi
    lo, hi = interval(lost, fresh)
    assert lo <= r.lost_share <= hi
    lo, hi = interval(attempts, np.full(attempts.size, width))
    assert lo <= r.offered_traffic <= hi
    assert r.blocking == pytest.approx(quoted, abs=0.0025)  # the 1e6-call simulation


def test_fast_redials_block_more_than_extended_erlang_b():
    for case, _, _ in CASES[:3]:
        assert retrial(*case).blocking > extended_erlang_b(*case[:3]).blocking * 1.15


def _dense_reference(a, n, p, d, top):
    """Generator built state by state, solved densely (pi Q = 0, sum pi = 1)."""
    index = {(i, j): k for k, (i, j) in enumerate((i, j) for j in range(top + 1) for i in range(n + 1))}
    q = np.zeros((len(index), len(index)))
    for (i, j), k in index.items():
        if i < n:
            q[k, index[i + 1, j]] += a
            if j > 0:
                q[k, index[i + 1, j - 1]] += j / d
        else:
            if j < top:
                q[k, index[i, j + 1]] += a * p
            if j > 0:
                q[k, index[i, j - 1]] += j / d * (1 - p)
        if i > 0:
            q[k, index[i - 1, j]] += i
    q -= np.diag(q.sum(axis=1))
    lhs = q.T.copy()
    lhs[0] = 1.0  # one balance equation is redundant: replaced by the normalisation
    pi = np.linalg.solve(lhs, np.r_[1.0, np.zeros(len(index) - 1)])
    full = sum(pi[index[n, j]] for j in range(top + 1))
    full_orbit = sum(j * pi[index[n, j]] for j in range(top + 1))
    orbit = sum(j * pi[k] for (i, j), k in index.items())
    attempts = a + orbit / d
    blocked = a * full + full_orbit / d
    return blocked / attempts, attempts, (1 - p) * blocked / a


@pytest.mark.parametrize("case", [(4.0, 3, 0.6, 0.3), (2.0, 4, 0.9, 0.05), (6.0, 5, 0.3, 2.0)])
def test_exact_chain_matches_a_dense_solve(case):
    ref = _dense_reference(*case, top=80)
    r = retrial(*case, method="exact")
    assert (r.blocking, r.offered_traffic, r.lost_share) == pytest.approx(ref, rel=1e-9)


def test_slow_redials_approach_extended_erlang_b():
    ext = extended_erlang_b(10.0, 10, 0.5)
    assert retrial(10.0, 10, 0.5, np.inf).blocking == ext.blocking
    gaps = [abs(retrial(10.0, 10, 0.5, d).blocking / ext.blocking - 1.0) for d in (1.0, 20.0, 1e3, 1e5)]
    assert gaps[1] < 0.005 and gaps[2] < 1e-3 and gaps[3] < 1e-5
    assert gaps == sorted(gaps, reverse=True)
    r = retrial(10.0, 10, 0.5, 1e5)
    assert r.offered_traffic == pytest.approx(ext.offered_traffic, rel=1e-5)
    assert r.lost_share == pytest.approx(ext.lost_traffic / 10.0, rel=1e-5)


@pytest.mark.parametrize(
    "case",
    [
        (10.0, 10, 0.5, 0.05),
        (50.0, 50, 0.8, 0.1),
        (154.44, 195, 0.959, 0.028),  # persistent fast redials at low blocking (Poisson closure: -27%)
        (200.0, 190, 0.7, 5.0),
        (120.0, 130, 0.6, 10.0),
        (200.0, 154, 0.9, 2.0),  # heavy overload: under-dispersed orbit, Poisson closure kept
        (1000.0, 1000, 0.8, 0.05),  # near the exact chain's state budget
    ],
)
def test_approximation_against_the_exact_chain(case):
    """The error bounds stated in the module docstring (and measured in bench_retrial.py)."""
    exact = retrial(*case, method="exact").blocking
    approx = retrial(*case, method="approximate").blocking
    assert approx == pytest.approx(exact, rel=0.04 if case[3] < 5 else 0.01)


def test_no_retries_is_erlang_b_and_edge_cases():
    assert retrial(10.0, 10, 0.0, 0.05).blocking == pytest.approx(erlang_b(10.0, 10), rel=1e-14)
    r = retrial(0.0, 5, 0.5, 0.1)
    assert (r.blocking, r.offered_traffic, r.lost_share) == (0.0, 0.0, 0.0)
    r = retrial(3.0, 0, 0.5, 0.1)  # every attempt blocked: fresh / (1 - p) attempts
    assert (r.blocking, r.offered_traffic, r.lost_share) == (1.0, 6.0, 1.0)
    r = retrial(3.0, np.inf, 0.5, 0.1)
    assert (r.blocking, r.offered_traffic, r.lost_share) == (0.0, 3.0, 0.0)
    assert math.isnan(retrial(np.nan, 5, 0.5, 0.1).blocking)


def test_vectorised_and_series():
    r = retrial(np.array([[5.0], [10.0]]), np.array([10, 10, 12]), 0.5, 0.05)
    assert r.blocking.shape == (2, 3)
    assert r.blocking[1, 0] == pytest.approx(retrial(10.0, 10, 0.5, 0.05).blocking, rel=1e-12)
    s = retrial(pd.Series([10.0, 5.0], index=["x", "y"]), 10, 0.5, pd.Series([0.05, 20.0], index=["x", "y"]))
    assert isinstance(s.blocking, pd.Series) and list(s.blocking.index) == ["x", "y"]
    assert s.blocking["x"] == pytest.approx(0.3362, abs=1e-4)
    assert isinstance(retrial(10.0, 10, 0.5, 0.05).blocking, float)
    swapped = retrial(
        pd.Series([10.0, 5.0], index=["x", "y"]), 10, 0.5, pd.Series([20.0, 0.05], index=["y", "x"])
    )
    assert swapped.blocking["x"] == s.blocking["x"]  # paired by label


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"retry_probability": 1.0}, "retry_probability"),
        ({"redial_delay": 0.0}, "redial_delay"),
        ({"servers": 2.5}, "servers"),
        ({"traffic": -1.0}, "traffic"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name):
    args = {"traffic": 5.0, "servers": 5, "retry_probability": 0.5, "redial_delay": 0.1} | kwargs
    with pytest.raises(SurgeplanError, match=name):
        retrial(**args)


def test_exact_refuses_a_chain_too_big():
    with pytest.raises(SurgeplanError, match="approximate"):
        retrial(1000.0, 1000, 0.8, 50.0, method="exact")


def test_servers_meet_the_target_with_one_fewer_failing():
    for a, p, d in [(10.0, 0.5, 0.05), (90.0, 0.7, 0.05), (20.0, 0.8, 1.0)]:
        n = retrial_servers(a, 0.01, p, d)
        assert retrial(a, n, p, d).blocking <= 0.01 < retrial(a, n - 1, p, d).blocking
        assert n >= extended_erlang_b_servers(a, 0.01, p)
    out = retrial_servers(np.array([10.0, 0.0]), 0.01, 0.5, 0.05)
    assert out.tolist() == [retrial_servers(10.0, 0.01, 0.5, 0.05), 0.0]


def test_traffic_inverse():
    a = retrial_traffic(20, 0.02, 0.7, 0.05)
    assert retrial(a, 20, 0.7, 0.05).blocking == pytest.approx(0.02, rel=1e-6)
    assert a < extended_erlang_b_servers(a, 0.02, 0.7) * 10  # finite and sensible
    assert retrial_traffic(0, 0.02, 0.7, 0.05) == 0.0


# --- trunk-group sizing with redials (dimension) and the inventory columns (store) ---------------


def _dense_servers(a, target, p, d, top=40):
    n = extended_erlang_b_servers(a, target, p) - 1  # redials only add blocking: start below
    assert _dense_reference(a, n, p, d, top)[0] > target
    while _dense_reference(a, n, p, d, top)[0] > target:
        n += 1
    return n


def test_dimension_sizes_trunk_groups_with_the_retrial_queue():
    from surgeplan.dimension import dimension

    # 10 E fresh, half of the blocked callers redial after 9 s on 3-minute calls (0.05 holding
    # times), 5% blocking target, 14 circuits installed. Reference: the dense generator above.
    needed = _dense_servers(10.0, 0.05, 0.5, 0.05)
    blocking14 = _dense_reference(10.0, 14, 0.5, 0.05, 40)[0]
    base = {
        "region": "FRA",
        "capacity": 14,
        "module_size": 1,
        "max_capacity": 1e9,
        "lead_time_days": 10,
        "module_cost": 1.0,
        "group": "",
        "priority_class": "standard",
        "kind": "trunk_group",
        "gos_target": 0.05,
        "retry_probability": 0.5,
    }
    inv = pd.DataFrame(
        [
            base | {"resource_id": "R", "redial_delay_s": 9.0, "holding_time_s": 180.0},
            base | {"resource_id": "E", "redial_delay_s": np.nan, "holding_time_s": 180.0},
        ]
    )
    loads = pd.DataFrame(
        {"resource_id": ["R", "E"], "period": pd.to_datetime(["2020-03-02"] * 2), "p90": [10.0, 10.0]}
    )
    loads["busy_hour"] = loads["period"] + pd.Timedelta(hours=10)
    out = dimension(inv, loads).set_index("resource_id")
    assert out.loc["R", "needed"] == needed
    assert out.loc["R", "gos"] == pytest.approx(blocking14, rel=1e-8)
    assert out.loc["E", "needed"] == extended_erlang_b_servers(10.0, 0.05, 0.5) < needed
    assert out.loc["E", "gos"] == pytest.approx(extended_erlang_b(10.0, 14, 0.5).blocking, rel=1e-9)
    # the carriable fresh traffic of 14 circuits meets the target exactly
    assert _dense_reference(out.loc["R", "carriable"], 14, 0.5, 0.05, 40)[0] == pytest.approx(0.05, rel=1e-5)


def test_store_accepts_the_redial_columns(tmp_path):
    from surgeplan.errors import ValidationError
    from surgeplan.store import Store

    header = "resource_id,kind,region,capacity,module_size,max_capacity,lead_time_days,module_cost,group,"
    header += "priority_class,retry_probability,redial_delay_s,holding_time_s"
    good = tmp_path / "inv.csv"
    good.write_text(
        header + "\nT1,trunk_group,FRA,30,30,600,14,5000,,vital,0.7,9,150\n"
        "T2,trunk_group,FRA,30,30,600,14,5000,,vital,0.7,,\n"
    )
    with Store(tmp_path / "v.duckdb") as store:
        store.ingest_inventory(good)
        inv = store.inventory().set_index("resource_id")
        assert (inv.loc["T1", "redial_delay_s"], inv.loc["T1", "holding_time_s"]) == (9.0, 150.0)
        assert np.isnan(inv.loc["T2", "redial_delay_s"]) and inv.loc["T2", "holding_time_s"] == 180.0
        bad = tmp_path / "bad.csv"
        bad.write_text(header + "\nT3,trunk_group,FRA,30,30,600,14,5000,,vital,0.7,0,150\n")
        with pytest.raises(ValidationError) as e:
            store.ingest_inventory(bad)
        assert (e.value.row, e.value.column) == (1, "redial_delay_s")
