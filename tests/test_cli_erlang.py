"""``surgeplan erlang`` commands through Typer's CliRunner (answers checked against mpmath sums)."""

from __future__ import annotations

import json

import mpmath as mp
import pytest
from typer.testing import CliRunner

from surgeplan.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["erlang", *args])


def mp_b(a: float, n: int) -> float:
    with mp.workdps(30):
        term = total = mp.mpf(1)
        for k in range(1, n + 1):
            term = term * mp.mpf(a) / k
            total += term
        return float(term / total)


def test_demo_commands_table():
    r = run("b", "--traffic", "1840", "--blocking", "0.01")
    assert r.exit_code == 0, r.output
    assert "1868" in r.output and "Erlang B" in r.output
    r = run("c", "--calls-per-hour", "600", "--aht", "240", "--service-level", "0.8", "--answer-within", "20")
    assert r.exit_code == 0, r.output
    assert "agents" in r.output and "46" in r.output


def test_b_three_questions_json():
    d = json.loads(run("b", "--traffic", "1840", "--blocking", "0.01", "--json").stdout)
    n = d["servers"]
    assert mp_b(1840, n) <= 0.01 < mp_b(1840, n - 1)
    d = json.loads(run("b", "--traffic", "1840", "--servers", "1874", "--json").stdout)
    assert d["blocking"] == pytest.approx(mp_b(1840, 1874), rel=1e-12)
    d = json.loads(run("b", "--servers", "100", "--blocking", "0.01", "--json").stdout)
    assert d["traffic"] == pytest.approx(84.06, abs=0.005)  # classic table value
    d = json.loads(run("b", "--traffic", "100", "--blocking", "0.01", "--retry", "0.5", "--json").stdout)
    assert d["model"] == "extended Erlang B" and d["servers"] >= 117 and d["blocking"] <= 0.01


def test_c_and_a_json():
    d = json.loads(
        run("c", "--calls-per-hour", "600", "--aht", "240", "--service-level", "0.8", "--json").stdout
    )
    # A = 40 E: Erlang C service level with N agents is 1 - C(40, N) exp(-(N - 40) 20 / 240)
    with mp.workdps(30):

        def sl(n):
            b = mp_b(40, n)
            c = n * b / (n - 40 * (1 - b))
            return 1 - c * mp.exp(-(n - 40) * mp.mpf(20) / 240)

        assert sl(d["agents"]) >= 0.8 > sl(d["agents"] - 1)
    d = json.loads(
        run(
            "c",
            "--calls-per-hour",
            "600",
            "--aht",
            "240",
            "--service-level",
            "0.8",
            "--max-occupancy",
            "0.85",
            "--json",
        ).stdout
    )
    assert 40 / d["agents"] <= 0.85 and d["occupancy"] <= 0.85
    d = json.loads(run("c", "--calls-per-hour", "600", "--aht", "240", "--agents", "45", "--json").stdout)
    assert d["agents"] == 45 and 0 < d["service_level_20s"] < 1
    d = json.loads(
        run(
            "a",
            "--calls-per-hour",
            "600",
            "--aht",
            "240",
            "--patience",
            "120",
            "--service-level",
            "0.8",
            "--max-abandon",
            "0.05",
            "--json",
        ).stdout
    )
    assert d["abandon_probability"] <= 0.05 and d["service_level_20s"] >= 0.8
    d = json.loads(
        run(
            "engset", "--sources", "200", "--servers", "20", "--traffic-per-idle-source", "0.08", "--json"
        ).stdout
    )
    assert 0 < d["call_congestion"] < d["time_congestion"] < 1
    d = json.loads(
        run(
            "engset", "--sources", "200", "--blocking", "0.01", "--traffic-per-idle-source", "0.08", "--json"
        ).stdout
    )
    assert d["call_congestion"] <= 0.01


@pytest.mark.parametrize(
    "args",
    [
        ("b", "--traffic", "-3", "--blocking", "0.01"),
        ("b", "--traffic", "3", "--blocking", "1.5"),
        ("b", "--traffic", "3"),
        ("b", "--traffic", "3", "--servers", "4", "--blocking", "0.1"),
        ("c", "--calls-per-hour", "600", "--aht", "240"),
        ("c", "--calls-per-hour", "600", "--aht", "0", "--service-level", "0.8"),
        ("a", "--calls-per-hour", "600", "--aht", "240", "--patience", "-1", "--service-level", "0.8"),
        ("engset", "--sources", "10", "--traffic-per-idle-source", "0.1"),
    ],
)
def test_bad_arguments_one_line_exit_2(args):
    r = run(*args)
    assert r.exit_code == 2
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
