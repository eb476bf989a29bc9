"""Engset against mpmath binomial sums and the Erlang B limit; link sizing against hand computation."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pandas as pd
import pytest

from surgeplan.errors import SurgeplanError
from surgeplan.teletraffic import engset, engset_servers, erlang_b, link_capacity


def mp_engset_time(s: int, n: int, beta: float) -> mp.mpf:
    """Time congestion C(S,N) beta^N / sum_{k<=N} C(S,k) beta^k (Engset 1918), mpmath."""
    if n > s:
        return mp.mpf(0)
    with mp.workdps(40):
        beta = mp.mpf(beta)
        terms = [mp.binomial(s, k) * beta**k for k in range(n + 1)]
        return terms[n] / mp.fsum(terms)


@pytest.mark.parametrize(
    ("s", "n", "beta"),
    [
        (2, 1, 1.0),
        (10, 3, 0.2),
        (200, 20, 0.08),
        (1000, 60, 0.05),
        (50, 50, 0.5),
        (30, 0, 0.1),
        (5000, 300, 0.05),
    ],
)
def test_engset_against_mpmath(s, n, beta):
    r = engset(s, n, beta)
    assert r.time_congestion == pytest.approx(float(mp_engset_time(s, n, beta)), rel=1e-12, abs=1e-300)
    assert r.call_congestion == pytest.approx(float(mp_engset_time(s - 1, n, beta)), rel=1e-12, abs=1e-300)


def test_engset_hand_values_and_limits():
    # S = 2, N = 1, beta = 1: time 2/(1+2), call (one other source) 1/(1+1)
    r = engset(2, 1, 1.0)
    assert r.time_congestion == pytest.approx(2 / 3) and r.call_congestion == pytest.approx(0.5)
    # more servers than sources: nobody is blocked
    assert engset(5, 6, 3.0).call_congestion == 0.0
    # many sources at fixed total offered traffic -> Erlang B (Poisson limit); the relative gap is
    # O(N^2 / S) = 625 / 1e8 here
    s = 10**8
    a = 20.0
    assert engset(s, 25, a / s).call_congestion == pytest.approx(erlang_b(a, 25), rel=2e-5)


def test_engset_servers_minimal():
    for s, beta, b in [(200, 0.08, 0.01), (2, 1.0, 0.6), (1000, 0.05, 0.001), (20, 2.0, 0.05)]:
        n = engset_servers(s, beta, b)
        assert engset(s, n, beta).call_congestion <= b
        if n > 0:
            assert engset(s, n - 1, beta).call_congestion > b
        nt = engset_servers(s, beta, b, congestion="time")
        assert engset(s, nt, beta).time_congestion <= b
        assert engset(s, nt - 1, beta).time_congestion > b


def test_engset_errors_and_containers():
    with pytest.raises(SurgeplanError, match="sources"):
        engset(2.5, 1, 0.1)
    with pytest.raises(SurgeplanError, match="servers"):
        engset(10, -1, 0.1)
    with pytest.raises(SurgeplanError, match="congestion"):
        engset_servers(10, 0.1, 0.01, congestion="both")
    out = engset(pd.Series([10, 20]), 3, 0.1)
    assert isinstance(out.call_congestion, pd.Series)


def test_link_capacity_hand_computed():
    # 150 Gbps, 100G modules, ceiling 0.7, N+1: need 150/0.7 = 214.3 Gbps + one spare module
    # -> ceil(3.14) = 4 modules, 400 Gbps; 37.5% busy, 50% after one fails
    r = link_capacity(150.0, 100.0, 0.7)
    assert (r.modules, r.capacity_gbps) == (4.0, 400.0)
    assert r.utilization == pytest.approx(0.375) and r.utilization_after_failure == pytest.approx(0.5)
    # exactly at the ceiling is fine (no spurious extra module from 70/(0.7*100) = 1.0000000000000002)
    r = link_capacity(70.0, 100.0, 0.7, n_plus_one=False)
    assert r.modules == 1.0 and r.utilization == pytest.approx(0.7)
    # 10G modules: 23 Gbps / 0.7 = 32.9 -> 4 modules, + 1 -> 5
    r = link_capacity(np.array([23.0, 0.0]), 10.0, 0.7)
    assert list(r.modules) == [5.0, 1.0]
    # failure bigger than a module (member of a larger group): 400G lost, 100G modules
    r = link_capacity(300.0, 100.0, 0.75, failure_gbps=400.0)
    assert r.modules == 8.0 and r.utilization_after_failure == pytest.approx(0.75)
    s = pd.Series([50.0, 500.0], index=["a", "b"])
    out = link_capacity(s, 400.0)
    assert isinstance(out.modules, pd.Series) and list(out.modules) == [2.0, 3.0]
    with pytest.raises(SurgeplanError, match="utilization_max"):
        link_capacity(10.0, utilization_max=1.2)
    with pytest.raises(SurgeplanError, match="module_gbps"):
        link_capacity(10.0, module_gbps=0.0)
