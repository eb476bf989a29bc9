"""Issue 12 item 6: small API faults of the teletraffic package, each checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from surgeplan import teletraffic as tt
from surgeplan.errors import SurgeplanError


def test_series_are_paired_by_label():
    traffic = pd.Series([1.0, 10.0], index=["a", "b"])
    servers = pd.Series([10.0, 1.0], index=["b", "a"])
    out = tt.erlang_b(traffic, servers)
    assert list(out.index) == ["a", "b"]
    assert out["a"] == pytest.approx(0.5, rel=1e-12)  # B(1, 1) = 1 / 2
    assert out["b"] == pytest.approx(tt.erlang_b(10.0, 10.0), rel=1e-12)


def test_series_pairing_is_the_same_everywhere():
    lam = pd.Series([600 / 3600, 60 / 3600], index=["big", "small"])
    agents = pd.Series([2.0, 45.0], index=["small", "big"])
    sl = tt.service_level(lam, 240.0, agents, pd.Series([20.0, 20.0], index=["small", "big"]))
    assert sl["big"] == pytest.approx(tt.service_level(600 / 3600, 240.0, 45, 20.0), rel=1e-12)
    r = tt.extended_erlang_b(
        pd.Series([10.0, 1.0], index=["x", "y"]), pd.Series([1, 10], index=["y", "x"]), 0.5
    )
    assert r.blocking["x"] == pytest.approx(tt.extended_erlang_b(10.0, 10, 0.5).blocking, rel=1e-12)


def test_series_with_other_labels_are_refused():
    with pytest.raises(SurgeplanError, match="paired by index label.*'c'"):
        tt.erlang_b(pd.Series([1.0, 10.0], index=["a", "b"]), pd.Series([10.0, 1.0], index=["b", "c"]))
    with pytest.raises(SurgeplanError, match="no label 'a'"):
        tt.erlang_c(pd.Series([1.0, 10.0], index=["a", "b"]), pd.Series([10.0], index=["b"]))


def test_infinite_agents_or_servers():
    assert tt.erlang_c(5.0, math.inf) == 0.0
    assert tt.erlang_c(np.array([5.0]), np.array([math.inf]))[0] == 0.0
    assert tt.erlang_b(5.0, math.inf) == 0.0
    r = tt.extended_erlang_b(5.0, math.inf, 0.5)
    assert (r.blocking, r.offered_traffic, r.lost_traffic) == (0.0, 5.0, 0.0)
    m = tt.erlang_a(0.1, 100.0, 60.0, math.inf)
    assert (m.wait_probability, m.abandon_probability, m.service_level) == (0.0, 0.0, 1.0)
    assert tt.service_level(0.1, 100.0, math.inf, 20.0) == 1.0
    assert tt.average_speed_of_answer(0.1, 100.0, math.inf) == 0.0


def test_no_traffic():
    assert tt.erlang_b(0.0, 5) == 0.0
    assert tt.erlang_c(0.0, 5) == 0.0
    assert tt.extended_erlang_b(0.0, 5, 0.5).blocking == 0.0


def test_erlang_a_refuses_fractional_agents():
    with pytest.raises(SurgeplanError, match="agents"):
        tt.erlang_a(0.1, 100.0, 60.0, 10.5)
    with pytest.raises(SurgeplanError, match="agents"):
        tt.erlang_a_service_level(0.1, 100.0, 60.0, np.array([10.0, 10.5]), 20.0)
    assert tt.erlang_a(0.1, 100.0, 60.0, 12).service_level > 0.8


def test_engset_servers_never_exceed_sources():
    # 3 sources, each busy 10/11 of the time when alone: the share of time all 3 are busy,
    # (10/11)^3 = 0.75, stays above 0.01 for any number of servers; 3 servers block nobody.
    assert tt.engset_servers(3, 10.0, 0.01, congestion="time") == 3
    assert tt.engset_servers(3, 10.0, 0.01, congestion="call") == 3
    out = tt.engset_servers(np.array([3, 4]), 10.0, 0.01, congestion="time")
    assert out.tolist() == [3, 4]
    assert tt.engset_servers(2, 1.0, 0.6) == 1  # call congestion 1/2 with one server
