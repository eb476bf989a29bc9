"""``surgeplan erlang chat`` and ``surgeplan erlang ivr`` (answers checked against mpmath)."""

from __future__ import annotations

import json

import mpmath as mp
import pytest
from typer.testing import CliRunner

from surgeplan.cli import app

runner = CliRunner()
mp.mp.dps = 30


def run(*args: str):
    return runner.invoke(app, ["erlang", *args])


def mp_servers(a, target):
    a, b, n = mp.mpf(a), mp.mpf(1), 0
    while b > target:
        n += 1
        b = a * b / (n + a * b)
    return n


def mp_abandon(lam, h, pat, n, tail=3000):
    """P(abandon) of M/M/n+M by its birth-death chain."""
    lam, h, pat = mp.mpf(lam), mp.mpf(h), mp.mpf(pat)
    p = [mp.mpf(1)]
    for k in range(1, n + tail):
        p.append(p[-1] * lam / (min(k, n) / h + max(k - n, 0) / pat))
    z = mp.fsum(p)
    return float(mp.fsum(p[k] * (k - n) for k in range(n, len(p))) / z / pat / lam)


def test_chat_concurrency_1_is_erlang_a():
    # 120 chats/h, 600 s each, patience 300 s, 25 agents, one chat at a time: M/M/25+M
    d = json.loads(run("chat", "--chats-per-hour", "120", "--aht", "600", "--agents", "25", "--json").stdout)
    assert d["agents"] == 25 and d["chat_slots"] == 25
    assert d["abandon_probability"] == pytest.approx(mp_abandon(120 / 3600, 600, 300, 25), rel=1e-9)


def test_chat_sizes_and_table():
    r = run(
        "chat",
        "--chats-per-hour",
        "300",
        "--aht",
        "600",
        "--concurrency",
        "3",
        "--service-level",
        "0.8",
        "--max-abandon",
        "0.05",
    )
    assert r.exit_code == 0, r.output
    assert "Concurrent chat" in r.output and "service_level_60s" in r.output
    d = json.loads(
        run(
            "chat",
            "--chats-per-hour",
            "300",
            "--aht",
            "600",
            "--concurrency",
            "3",
            "--service-level",
            "0.8",
            "--max-abandon",
            "0.05",
            "--json",
        ).stdout
    )
    assert d["service_level_60s"] >= 0.8 and d["abandon_probability"] <= 0.05
    fewer = json.loads(
        run(
            "chat",
            "--chats-per-hour",
            "300",
            "--aht",
            "600",
            "--concurrency",
            "3",
            "--agents",
            str(d["agents"] - 1),
            "--json",
        ).stdout
    )
    assert fewer["service_level_60s"] < 0.8 or fewer["abandon_probability"] > 0.05
    assert d["aht_at_full_concurrency"] == 900.0  # 600 x (1 + 0.25 x 2)


def test_ivr_ports_and_number_channels():
    # 900 calls/h x 45 s = 11.25 E on the IVR -> ports at 1 % by the Erlang B recurrence
    d = json.loads(run("ivr", "--calls-per-hour", "900", "--ivr-time", "45", "--json").stdout)
    assert d["ivr_ports"] == mp_servers(11.25, 0.01)
    d = json.loads(
        run(
            "ivr",
            "--calls-per-hour",
            "900",
            "--ivr-time",
            "45",
            "--self-service",
            "0.2",
            "--aht",
            "300",
            "--patience",
            "120",
            "--callback",
            "0.3",
            "--json",
        ).stdout
    )
    assert d["calls_to_agents"] == pytest.approx(720.0)
    # holding = 45 + 0.8 x (mean wait + P(answered) x 300), answered = 1 - abandon - callback
    hold = 45 + 0.8 * (d["average_wait"] + (1 - d["abandon_probability"] - d["callback_probability"]) * 300)
    assert d["number_holding_time"] == pytest.approx(hold, rel=1e-12)
    assert d["number_channels"] == mp_servers(900 * hold / 3600, 0.01)


def test_bad_input_is_one_line():
    r = run("chat", "--chats-per-hour", "-3", "--aht", "600", "--agents", "3")
    assert r.exit_code == 2 and "chats_per_hour" in r.output
    r = run("ivr", "--calls-per-hour", "100", "--ivr-time", "45", "--self-service", "1.5")
    assert r.exit_code == 2 and "self_service" in r.output
