"""Customer-relation queue models against independent references.

* Concurrent chat (``teletraffic.chat``): equal to Erlang A at concurrency 1 (closed form by mpmath's
  birth-death chain); against a simpy discrete-event simulation at concurrency 1, 2 and 3
  (tests/generators/chat_des.py), with a slowdown of 0.25 per extra chat.
* Callback offer (``teletraffic.callback``): Erlang A at q = 0, the same simulation at q = 0.3.
* Message backlog (``teletraffic.backlog``): a step-by-step fluid computation on cumulative arrival and
  departure curves (10-second steps), not the closed-form hour-by-hour one.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from generators.chat_des import simulate_chat

from surgeplan import teletraffic as tt

mp.mp.dps = 30


def mp_erlang_a(lam, h, pat, n, t, jmax=4000):
    """Erlang A by its birth-death chain (truncated far in the tail): P(wait), P(abandon), SL.

    SL by the pure-death representation of the queue ahead: a caller finding j waiting is
    answered when j + 1 departures (rate n/h + i/pat with i ahead) happen before its patience;
    computed here by the exact recursion on the hypoexponential CDF is heavy, so SL is checked by
    simulation elsewhere and only P(wait), P(abandon) here."""
    lam, h, pat = mp.mpf(lam), mp.mpf(h), mp.mpf(pat)
    p = [mp.mpf(1)]
    for k in range(1, n + jmax):
        rate = (min(k, n) / h) + (max(k - n, 0) / pat)
        p.append(p[-1] * lam / rate)
    z = mp.fsum(p)
    pw = mp.fsum(p[n:]) / z
    pab = mp.fsum(p[k] * (k - n) / pat for k in range(n, len(p))) / z / lam
    return float(pw), float(pab)


def test_chat_at_concurrency_1_is_erlang_a():
    # K = 1: one chat per agent, the slowdown never applies: M/M/16+M with h = 600 s, patience 300 s
    for slowdown in (0.0, 0.25, 1.0):
        q = tt.chat_queue(0.025, 600.0, 300.0, 16, 1, slowdown, 60.0)
        pw, pab = mp_erlang_a(0.025, 600.0, 300.0, 16, 60.0)
        assert q.wait_probability == pytest.approx(pw, rel=1e-9)
        assert q.abandon_probability == pytest.approx(pab, rel=1e-9)
        a = tt.erlang_a(0.025, 600.0, 300.0, 16, 60.0)
        assert q.service_level == pytest.approx(a.service_level, rel=1e-12)


def test_chat_without_slowdown_is_erlang_a_on_slots():
    # beta = 0: a chat lasts h whatever the agent holds, so c agents x K chats = c K servers
    q = tt.chat_queue(0.025, 600.0, 300.0, 8, 3, 0.0, 60.0)
    pw, pab = mp_erlang_a(0.025, 600.0, 300.0, 24, 60.0)
    assert q.wait_probability == pytest.approx(pw, rel=1e-9)
    assert q.abandon_probability == pytest.approx(pab, rel=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("agents, concurrency", [(16, 1), (10, 2), (8, 3)])
def test_chat_against_discrete_event_simulation(agents, concurrency):
    # 90 chats/h, 600 s alone, each extra chat slows all of an agent's chats by 25 %:
    # the full line completes 16/600 = 10 x 2/750 = 8 x 3/900 = 0.0267 chats/s in all three cases.
    # 60,000 simulated chats; model SL 0.772 / 0.817 / 0.849. At K = 2 six seeds gave 0.820 +- 0.0055
    # (sd of one run): tolerance 0.02 = 3 sd of simulation noise + the even-spread error.
    sim = simulate_chat(0.025, 600.0, 300.0, agents, concurrency, 0.25, 60.0, 60_000, seed=1)
    q = tt.chat_queue(0.025, 600.0, 300.0, agents, concurrency, 0.25, 60.0)
    assert sim["service_level"] == pytest.approx(float(q.service_level), abs=0.02)
    assert sim["abandon"] == pytest.approx(float(q.abandon_probability), abs=0.01)


def test_chat_agents_is_the_fewest_meeting_both_targets():
    lam, h, pat = 0.05, 600.0, 300.0
    for k in (1, 2, 3):
        n = tt.chat_agents(lam, h, pat, 0.8, 60.0, 0.05, concurrency=k, slowdown=0.25)
        ok = tt.chat_queue(lam, h, pat, n, k, 0.25, 60.0)
        short = tt.chat_queue(lam, h, pat, n - 1, k, 0.25, 60.0)
        assert ok.service_level >= 0.8 and ok.abandon_probability <= 0.05
        assert short.service_level < 0.8 or short.abandon_probability > 0.05
    # concurrency 1 = Erlang A's answer
    assert tt.chat_agents(lam, h, pat, 0.8, 60.0, 0.05) == tt.erlang_a_agents(lam, h, pat, 0.8, 60.0, 0.05)


def test_callback_share_zero_is_erlang_a_and_simulation_agrees():
    a = tt.erlang_a(600 / 3600, 240.0, 120.0, 40, 20.0)
    q0 = tt.callback_queue(600 / 3600, 240.0, 120.0, 40, 20.0, 0.0)
    assert q0.service_level == pytest.approx(a.service_level, rel=1e-12)
    assert q0.abandon_probability == pytest.approx(a.abandon_probability, rel=1e-12)
    assert q0.callback_probability == 0.0


@pytest.mark.slow
def test_callback_against_discrete_event_simulation():
    # 600 calls/h, 240 s, patience 120 s, 40 agents; 30 % of callers finding all busy take a callback.
    # Model: callbacks 0.078, abandon 0.019, SL of stayers 0.941 (DES at 54,000 calls: 0.077 / 0.019 / 0.943)
    sim = simulate_chat(600 / 3600, 240.0, 120.0, 40, 1, 0.0, 20.0, 40_000, seed=11, callback=0.3)
    q = tt.callback_queue(600 / 3600, 240.0, 120.0, 40, 20.0, 0.3)
    assert sim["callback"] == pytest.approx(q.callback_probability, abs=0.006)
    assert sim["abandon"] == pytest.approx(q.abandon_probability, abs=0.005)
    assert sim["service_level"] == pytest.approx(q.service_level, abs=0.01)


def fluid_step_by_step(rate_by_hour, agents, aht_s, window_s, dt=10.0, days=3):
    """Share of the second-to-last day's messages handled within the window (the last day lets them
    leave): Euler steps of dt seconds on the cumulative arrivals A(t) and departures D(t) (FIFO: a
    message arriving at t leaves when D reaches A(t)); no closed form used."""
    steps_per_day = int(86400 / dt)
    n = steps_per_day * days
    a = np.repeat(np.asarray(rate_by_hour) / 3600.0, int(3600 / dt))  # messages per second
    a = np.tile(a, days)
    mu = agents / aht_s
    cum_a = np.empty(n + 1)
    cum_d = np.empty(n + 1)
    cum_a[0] = cum_d[0] = 0.0
    backlog = 0.0
    for i in range(n):
        arrived = a[i] * dt
        served = min(backlog + arrived, mu * dt)
        backlog += arrived - served
        cum_a[i + 1] = cum_a[i] + arrived
        cum_d[i + 1] = cum_d[i] + served
    last = slice(n - 2 * steps_per_day, n - steps_per_day)
    # arrivals of step i sit at the middle of the step: A_mid = (A_i + A_{i+1}) / 2
    a_mid = 0.5 * (cum_a[:-1] + cum_a[1:])
    leave = np.searchsorted(cum_d, a_mid - 1e-12) * dt  # first grid time with D >= A_mid
    delay = leave - (np.arange(n) + 0.5) * dt
    ok = delay[last] <= window_s + dt
    weights = a[last]
    return float((weights * ok).sum() / weights.sum())


@pytest.mark.parametrize("agents", [5, 6, 8])
def test_backlog_against_step_by_step_fluid(agents):
    # 100 messages in the busiest hour on the contact-centre day profile (924 a day), 360 s each:
    # 5 agents work 50 an hour (1,200 a day: stable, but the backlog peaks at 335 at 17 h and 90 are
    # left at midnight), 6 agents 60, 8 agents 80.
    rate = 100.0 * tt.backlog.DAY_PROFILE
    ref = fluid_step_by_step(rate, agents, 360.0, 14400.0)
    got = float(tt.backlog_within(100.0, 360.0, agents, 14400.0))
    assert got == pytest.approx(ref, abs=0.005)


def test_backlog_agents_fewest_and_unstable_day():
    n = int(tt.backlog_agents(100.0, 360.0, 0.95, 14400.0))
    assert (
        tt.backlog_within(100.0, 360.0, n, 14400.0) >= 0.95 > tt.backlog_within(100.0, 360.0, n - 1, 14400.0)
    )
    # 3 agents handle 30/h = 720 a day < 924 arriving: the backlog grows day after day
    assert float(tt.backlog_within(100.0, 360.0, 3, 14400.0)) == 0.0
    # a flat day of 10 messages/h and 1 agent at 360 s: exactly keeps up, never a backlog
    assert float(tt.backlog_within(10.0, 360.0, 1, 60.0, profile=np.ones(24))) == 1.0
    assert math.isclose(float(tt.backlog_agents(0.0, 360.0)), 0.0)
