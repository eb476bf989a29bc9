"""Scenario files: defaults, user overrides merged on top, validation naming file and key; CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from surgeplan.cli import app
from surgeplan.errors import SurgeplanError
from surgeplan.kinds import KINDS
from surgeplan.simulate import Scenario, default_scenario_path, load_scenario


def test_default_has_every_kind_and_the_published_calibration():
    sc = load_scenario()
    assert isinstance(sc, Scenario)
    assert set(sc.kinds) == set(KINDS)
    assert sc.kinds["trunk_group"].uplift == 2.0  # mobile voice x2 (Orange, March 2020)
    assert sc.kinds["vpn_gateway"].uplift == 8.0  # remote-access users +700 %
    assert 1.2 <= sc.kinds["conference_bridge"].uplift <= 2.0  # video-conference +20..100 %
    assert 1.15 <= sc.kinds["link"].uplift <= 1.2  # fixed internet +15-20 % (Feldmann et al.)
    text = default_scenario_path().read_text()
    for cite in ("Feldmann", "Orange", "IMC 2020", "400 to 600 Gbps"):
        assert cite in text
    assert sc.reference_date == pd.Timestamp("2020-01-01", tz="UTC")


def test_user_file_overrides_only_what_it_says(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text(
        '[kinds.vpn_gateway]\nuplift = 5.0\n[shock]\nlag_days = 4\n[timezones]\nUSA = "America/Chicago"\n'
        "[groups.MYGROUP]\nuplift = 3.0\n"
    )
    sc, d = load_scenario(p), load_scenario()
    assert sc.kinds["vpn_gateway"].uplift == 5.0
    assert sc.kinds["vpn_gateway"].utilisation_mean == d.kinds["vpn_gateway"].utilisation_mean
    assert sc.shock.lag_days == 4.0 and sc.shock.ramp_days == d.shock.ramp_days
    assert sc.timezones["USA"] == "America/Chicago"
    assert sc.kind_params("link", "MYGROUP").uplift == 3.0
    assert sc.kind_params("link", "OTHER").uplift == d.kinds["link"].uplift
    # the per-kind lag override wins over [shock]
    assert sc.shock_for(sc.kinds["vpn_gateway"]).lag_days == 0.0
    assert sc.shock_for(sc.kinds["link"]).lag_days == 4.0


@pytest.mark.parametrize(
    "text, match",
    [
        ("[kinds.link]\nuplif = 2\n", "kinds.link.*unknown key.*uplif"),
        ("[kinds.link]\nuplift = -1\n", "kinds.link.uplift"),
        ("[kinds.router]\nuplift = 2\n", "unknown kind.*router"),
        ("[shock]\nsaturation = 10\n", "shock.saturation"),
        ("[profiles.voice]\nweekday = [1, 2]\n", "profiles.voice.weekday.*24"),
        ('[kinds.link]\narrivals = "bursty"\n', "kinds.link.arrivals"),
        ('[timezones]\nFRA = "Mars/Olympus"\n', "timezones.FRA"),
        ("[kinds.link]\nutilisation_sd = 0.6\n", "utilisation_sd"),
        ("not toml = = 1\n", "invalid TOML"),
    ],
)
def test_bad_scenarios_name_file_and_key(tmp_path, text, match):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(SurgeplanError, match=match) as info:
        load_scenario(p)
    assert "bad.toml" in str(info.value)


def test_cli_simulate_writes_parquet_and_csv(tmp_path):
    inv = pd.DataFrame(
        {
            "resource_id": ["a", "b"],
            "kind": ["link", "trunk_group"],
            "region": ["FRA", "GBR"],
            "capacity": [100, 300],
        }
    )
    inv_path = tmp_path / "inv.csv"
    inv.to_csv(inv_path, index=False)
    days = pd.date_range("2020-03-01", "2020-03-31")
    ind = pd.DataFrame(
        {
            "region": "FRA",
            "date": days.strftime("%Y-%m-%d"),
            "name": "stringency_index",
            "value": np.where(days >= "2020-03-17", 88.0, 10.0),
        }
    )
    ind_path = tmp_path / "ind.csv"
    ind.to_csv(ind_path, index=False)
    runner = CliRunner()
    out = tmp_path / "sim.parquet"
    args = [
        "simulate",
        "--inventory",
        str(inv_path),
        "--indicators",
        str(ind_path),
        "--start",
        "2020-03-10",
        "--end",
        "2020-03-12",
        "--freq",
        "1h",
        "--seed",
        "3",
        "--out",
        str(out),
    ]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["resource_id", "ts", "load"] and len(frame) == 2 * 48
    out_csv = tmp_path / "sim.csv"
    r = runner.invoke(app, args[:-1] + [str(out_csv), "--json", "--truth"])
    assert r.exit_code == 0, r.output
    assert '"rows": 96' in r.output
    assert "expected" in out_csv.read_text().splitlines()[0]
    bad = [a if a != "1h" else "1W" for a in args]
    r = runner.invoke(app, bad)
    assert r.exit_code == 2 and "error: freq" in r.output
