"""Erlang C and Erlang A against mpmath sums, a discrete-event simulation and hand computation."""

from __future__ import annotations

import heapq

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surgeplan.errors import SurgeplanError
from surgeplan.teletraffic import (
    agents_for_service_level,
    average_speed_of_answer,
    erlang_a,
    erlang_a_abandon_probability,
    erlang_a_agents,
    erlang_a_average_wait,
    erlang_a_service_level,
    erlang_a_wait_probability,
    erlang_c,
    occupancy,
    service_level,
)

# ---------------------------------------------------------------- Erlang C


def mp_erlang_c(a: float, n: int) -> mp.mpf:
    """C = (A^N/N! N/(N-A)) / (sum_{k<N} A^k/k! + A^N/N! N/(N-A)), mpmath."""
    with mp.workdps(40):
        a = mp.mpf(a)
        terms = [a**k / mp.factorial(k) for k in range(n + 1)]
        top = terms[n] * n / (n - a)
        return top / (mp.fsum(terms[:n]) + top)


def test_erlang_c_hand_value():
    # A = 2, N = 3: (8/6 * 3) / (1 + 2 + 2 + 4) = 4/9
    assert erlang_c(2.0, 3) == pytest.approx(4 / 9, rel=1e-14)
    # ASA = C h / (N - A) = 4/9 * 2 / 1 with lambda = 1/s, h = 2 s
    assert average_speed_of_answer(1.0, 2.0, 3) == pytest.approx(8 / 9, rel=1e-14)
    assert erlang_c(3.0, 3) == 1.0 and erlang_c(5.0, 3) == 1.0
    assert service_level(1.0, 5.0, 3, 20) == 0.0
    assert np.isinf(average_speed_of_answer(1.0, 5.0, 3))


@pytest.mark.parametrize(
    ("a", "n"), [(0.5, 1), (8.0, 10), (40.0, 46), (95.5, 100), (480.0, 500), (900.0, 990)]
)
def test_erlang_c_against_mpmath(a, n):
    ref = mp_erlang_c(a, n)
    assert erlang_c(a, n) == pytest.approx(float(ref), rel=1e-12)
    lam, h, t = a / 180.0, 180.0, 20.0
    sl_ref = 1 - ref * mp.exp(-(n - a) * t / h)
    assert service_level(lam, h, n, t) == pytest.approx(float(sl_ref), rel=1e-12)
    assert average_speed_of_answer(lam, h, n) == pytest.approx(float(ref * h / (n - a)), rel=1e-12)
    assert occupancy(lam, h, n) == pytest.approx(a / n, rel=1e-14)


def test_agents_for_service_level_minimal_against_mpmath():
    for cph, aht, sl, t, occ in [
        (600, 240, 0.8, 20, None),
        (600, 240, 0.8, 20, 0.85),
        (50, 300, 0.9, 30, None),
        (20000, 180, 0.8, 20, None),
        (1.0, 60, 0.95, 10, None),
    ]:
        lam = cph / 3600
        a = lam * aht
        n = agents_for_service_level(lam, aht, sl, t, occ)
        assert isinstance(n, int)

        def sl_mp(k, a=a, t=t, aht=aht):
            return 1 - mp_erlang_c(a, k) * mp.exp(-(k - a) * t / aht) if k > a else 0

        assert sl_mp(n) >= sl
        if occ is not None:
            assert a / n <= occ
            assert sl_mp(n - 1) < sl or a / (n - 1) > occ
        else:
            assert sl_mp(n - 1) < sl
    assert agents_for_service_level(0.0, 240, 0.8, 20) == 0


@settings(max_examples=40, deadline=None)
@given(cph=st.floats(1.0, 5e4), aht=st.floats(10.0, 900.0), sl=st.floats(0.05, 0.99), t=st.floats(0.0, 120.0))
def test_property_agents_minimal(cph, aht, sl, t):
    lam = cph / 3600
    n = agents_for_service_level(lam, aht, sl, t)
    assert service_level(lam, aht, n, t) >= sl
    assert service_level(lam, aht, n - 1, t) < sl


def test_erlang_c_containers_and_errors():
    s = pd.Series([0.1, 0.2], index=[3, 4])
    out = service_level(s, 240.0, 60, 20)
    assert isinstance(out, pd.Series) and list(out.index) == [3, 4]
    assert isinstance(agents_for_service_level(s, 240, 0.8, 20), pd.Series)
    with pytest.raises(SurgeplanError, match="handling_time"):
        service_level(0.1, 0.0, 10, 20)
    with pytest.raises(SurgeplanError, match="service_level"):
        agents_for_service_level(0.1, 240, 1.0, 20)
    with pytest.raises(SurgeplanError, match="max_occupancy"):
        agents_for_service_level(0.1, 240, 0.8, 20, max_occupancy=1.5)
    with pytest.raises(SurgeplanError, match="arrival_rate"):
        erlang_a(-0.1, 240, 60, 10)


# ---------------------------------------------------------------- Erlang A


def mp_erlang_a(lam: float, h: float, pat: float, n: int, t: float) -> tuple[float, float, float]:
    """(P(wait), P(abandon), P(answered within t)) by brute force in mpmath.

    Birth-death stationary distribution summed term by term; the answered-within-t probability of
    a caller who finds j callers waiting is E[exp(-theta T) 1{T <= t}] with T a sum of independent
    exponentials of rates N mu + i theta (i = j..0), evaluated with the hypoexponential
    partial-fraction density (distinct rates), so this is independent of the closed form in the
    package.
    """
    with mp.workdps(50):
        lam, h, pat, t = (mp.mpf(v) for v in (lam, h, pat, t))
        mu, th = 1 / h, 1 / pat
        a = lam / mu
        p = [a**k / mp.factorial(k) for k in range(n + 1)]
        q = [p[n]]
        j = 0
        while True:
            j += 1
            q.append(q[-1] * lam / (n * mu + j * th))
            if q[-1] < mp.mpf(10) ** -22 * q[0] and j > 5:
                break
        z = mp.fsum(p[:n]) + mp.fsum(q)
        pw = mp.fsum(q) / z
        pab = mp.fsum(k * th * qk for k, qk in enumerate(q)) / z / lam
        sl = mp.fsum(p[:n]) / z
        for jj, qk in enumerate(q):
            rates = [n * mu + i * th for i in range(jj + 1)]
            tot = mp.mpf(0)
            for i, ri in enumerate(rates):
                ci = mp.fprod(rk / (rk - ri) for k, rk in enumerate(rates) if k != i)
                tot += ci * ri * (1 - mp.exp(-(ri + th) * t)) / (ri + th)
            sl += qk / z * tot
        return float(pw), float(pab), float(sl)


@pytest.mark.parametrize(
    ("lam", "h", "pat", "n", "t"),
    [
        (40 / 240, 240.0, 120.0, 40, 20.0),  # x < y (under the diagonal)
        (15 / 240, 240.0, 120.0, 10, 20.0),  # overloaded A = 15 > N = 10: x >= y, x' >= y
        (15 / 240, 240.0, 120.0, 10, 200.0),  # overloaded, x' < y
        (0.05, 100.0, 30.0, 5, 15.0),
        (0.2, 30.0, 60.0, 3, 5.0),  # A = 6 > N = 3: abandonment keeps it stable
        (0.01, 100.0, 1.0, 1, 0.5),  # y = x = 0.01: patience far below handling time
        (0.5, 100.0, 10.0, 2, 3.0),  # y = 0.2 < 1 < x = 5
    ],
)
def test_erlang_a_against_mpmath(lam, h, pat, n, t):
    pw, pab, sl = mp_erlang_a(lam, h, pat, n, t)
    m = erlang_a(lam, h, pat, n, t)
    assert m.wait_probability == pytest.approx(pw, rel=1e-11)
    assert m.abandon_probability == pytest.approx(pab, rel=1e-11)
    assert m.service_level == pytest.approx(sl, rel=1e-10)
    assert m.average_wait == pytest.approx(pab * pat, rel=1e-11)
    assert erlang_a_wait_probability(lam, h, pat, n) == m.wait_probability
    assert erlang_a_abandon_probability(lam, h, pat, n) == m.abandon_probability
    assert erlang_a_service_level(lam, h, pat, n, t) == m.service_level
    assert erlang_a_average_wait(lam, h, pat, n) == m.average_wait


def test_erlang_a_tends_to_erlang_c():
    lam, h, n, t = 40 / 240, 240.0, 45, 20.0
    c = erlang_c(lam * h, n)
    sl_c = service_level(lam, h, n, t)
    asa_c = average_speed_of_answer(lam, h, n)
    errs = []
    for pat in (1e4, 1e6, 1e8):
        m = erlang_a(lam, h, pat, n, t)
        errs.append(abs(m.wait_probability - c))
        assert m.abandon_probability < 100 / pat
    # converges like 1/patience
    assert errs[1] < errs[0] / 50 and errs[2] < errs[1] / 50 and errs[2] < 2e-6
    m = erlang_a(lam, h, 1e12, n, t)
    assert m.wait_probability == pytest.approx(c, rel=1e-8)
    assert m.service_level == pytest.approx(sl_c, rel=1e-8)
    assert m.average_wait == pytest.approx(asa_c, rel=1e-8)
    inf = erlang_a(lam, h, np.inf, n, t)
    assert inf.wait_probability == pytest.approx(c, rel=1e-14)
    assert inf.service_level == pytest.approx(sl_c, rel=1e-14)
    assert inf.abandon_probability == 0.0


def _simulate(lam, h, pat, n, t, calls, seed):
    """FCFS M/M/N+M by the Kiefer-Wolfowitz recursion on the agents' free times.

    With FCFS the k-th caller would start service at the earliest free time of any agent (callers
    who abandoned occupy nobody), so one heap of agent free times simulates the queue exactly.
    Returns per-call indicators (waited, abandoned, answered within t).
    """
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / lam, calls))
    services = rng.exponential(h, calls)
    patience = rng.exponential(pat, calls)
    free = [0.0] * n
    out = np.zeros((calls, 3))
    for k in range(calls):
        arr = arrivals[k]
        wait = free[0] - arr
        if wait <= 0:
            heapq.heapreplace(free, arr + services[k])
            out[k, 2] = 1.0
        elif wait <= patience[k]:
            heapq.heapreplace(free, free[0] + services[k])
            out[k, 0] = 1.0
            out[k, 2] = float(wait <= t)
        else:
            out[k, 0] = 1.0
            out[k, 1] = 1.0
    return out


@pytest.mark.parametrize(
    ("lam", "h", "pat", "n", "t"),
    [(40 / 240, 240.0, 120.0, 40, 20.0), (55 / 240, 240.0, 90.0, 40, 20.0), (0.05, 100.0, 30.0, 5, 15.0)],
)
def test_erlang_a_against_simulation(lam, h, pat, n, t):
    # 400 000 calls after a 10 000-call warm-up; tolerance 4.5 standard errors from 40 batch means
    # (batches of 10 000 calls are much longer than the queue's relaxation time, so they are
    # nearly independent); with these run lengths the standard errors are 1e-3 .. 5e-3.
    sim = _simulate(lam, h, pat, n, t, 410_000, seed=7)[10_000:]
    batches = sim.reshape(40, -1, 3).mean(axis=1)
    mean = batches.mean(axis=0)
    se = batches.std(axis=0, ddof=1) / np.sqrt(len(batches))
    m = erlang_a(lam, h, pat, n, t)
    exact = np.array([m.wait_probability, m.abandon_probability, m.service_level])
    assert np.all(se < 1e-2)
    assert np.all(np.abs(mean - exact) <= 4.5 * se + 1e-4), (mean, exact, se)


def test_erlang_a_agents_minimal():
    cases = [
        (600 / 3600, 240.0, 120.0, 0.8, 20.0, 0.05, None),
        (600 / 3600, 240.0, 120.0, 0.8, 20.0, None, None),
        (2.0, 300.0, 60.0, 0.9, 30.0, 0.02, 0.9),
        (0.01, 200.0, 10.0, 0.7, 10.0, None, None),
    ]
    for lam, h, pat, sl, t, ab, occ in cases:
        n = erlang_a_agents(lam, h, pat, sl, t, ab, occ)

        def ok(k, lam=lam, h=h, pat=pat, sl=sl, t=t, ab=ab, occ=occ):
            m = erlang_a(lam, h, pat, k, t)
            good = m.service_level >= sl
            if ab is not None:
                good &= m.abandon_probability <= ab
            if occ is not None:
                good &= m.occupancy <= occ
            return bool(good)

        assert ok(n) and not ok(n - 1)
    # infinite patience: the Erlang C answer
    assert erlang_a_agents(600 / 3600, 240, np.inf, 0.8, 20) == agents_for_service_level(
        600 / 3600, 240, 0.8, 20
    )


def test_erlang_a_edge_cases():
    m = erlang_a(0.1, 100.0, 60.0, 0, 20.0)
    assert (m.wait_probability, m.abandon_probability, m.service_level, m.average_wait) == (
        1.0,
        1.0,
        0.0,
        60.0,
    )
    m = erlang_a(0.0, 100.0, 60.0, 3, 20.0)
    assert m.service_level == 1.0 and m.abandon_probability == 0.0
    # zero patience: a loss system, abandonment = Erlang B blocking
    from surgeplan.teletraffic import erlang_b

    m = erlang_a(0.1, 100.0, 0.0, 12, 20.0)
    assert m.abandon_probability == pytest.approx(erlang_b(10.0, 12), rel=1e-14)
    arr = erlang_a(np.array([0.1, 0.2]), 100.0, np.array([[30.0], [60.0]]), 12, 20.0)
    assert arr.service_level.shape == (2, 2)


def mp_erlang_a_pw_pab(lam: float, h: float, pat: float, n: int) -> tuple[float, float]:
    """P(wait), P(abandon) by summing the birth-death distribution in mpmath (no SL)."""
    with mp.workdps(40):
        lam, h, pat = mp.mpf(lam), mp.mpf(h), mp.mpf(pat)
        a = lam * h
        p = mp.fsum(a**k / mp.factorial(k) for k in range(n))
        q = [a**n / mp.factorial(n)]
        j = 0
        while q[-1] > mp.mpf(10) ** -25 * q[0] or j < 5:
            j += 1
            q.append(q[-1] * lam / (n / h + j / pat))
        z = p + mp.fsum(q)
        return float(mp.fsum(q) / z), float(mp.fsum(k * qk for k, qk in enumerate(q)) / pat / z / lam)


@pytest.mark.parametrize(
    ("lam", "h", "pat", "n"),
    [
        (45 / 240, 240.0, 600.0, 40),  # y = 100, x = 112.5: upper gamma from the Temme branch
        (35 / 240, 240.0, 600.0, 40),  # y = 100, x = 87.5: near-diagonal series
        (900 / 240, 240.0, 300.0, 1000),  # A = 900, N = 1000
        (1100 / 240, 240.0, 300.0, 1000),  # overloaded large group
    ],
)
def test_erlang_a_large_groups_against_mpmath(lam, h, pat, n):
    pw, pab = mp_erlang_a_pw_pab(lam, h, pat, n)
    m = erlang_a(lam, h, pat, n, 20.0)
    assert m.wait_probability == pytest.approx(pw, rel=1e-11)
    assert m.abandon_probability == pytest.approx(pab, rel=1e-10)
    # every caller is eventually answered or abandons: SL(t -> inf) = 1 - P(abandon); SL(0) = 1 - P(wait)
    assert erlang_a_service_level(lam, h, pat, n, 1e6 * pat) == pytest.approx(1 - pab, rel=1e-10, abs=1e-13)
    assert erlang_a_service_level(lam, h, pat, n, 0.0) == pytest.approx(1 - pw, rel=1e-10, abs=1e-13)


@settings(max_examples=30, deadline=None)
@given(
    cph=st.floats(10.0, 2e4),
    aht=st.floats(30.0, 600.0),
    pat=st.floats(1.0, 1e4),
    n=st.integers(1, 400),
)
def test_property_erlang_a_monotone_in_agents(cph, aht, pat, n):
    lam = cph / 3600
    m0 = erlang_a(lam, aht, pat, n, 20.0)
    m1 = erlang_a(lam, aht, pat, n + 1, 20.0)
    assert 0.0 <= m0.abandon_probability <= m0.wait_probability <= 1.0
    assert m1.service_level >= m0.service_level - 1e-12
    assert m1.abandon_probability <= m0.abandon_probability + 1e-12
    assert m1.wait_probability <= m0.wait_probability + 1e-12
