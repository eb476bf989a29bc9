"""Rolling-origin backtest engine, scoring and CLI (hand-built cases, worked out in comments)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from surgeplan.errors import SurgeplanError
from surgeplan.forecast.backtest import (
    COVERAGE_QUANTILES,
    SeasonalNaive,
    backtest,
    parse_duration,
    parse_quantiles,
    quantile_name,
    rolling_origins,
)

HOURS = pd.date_range("2020-01-01", "2020-03-31 23:00", freq="h", tz="UTC")


def _frame(ids, ts, values):
    return pd.DataFrame(
        {"resource_id": np.repeat(ids, len(ts)), "ts": np.tile(ts, len(ids)), "load": np.concatenate(values)}
    )


class Oracle:
    """Test double: forecasts a known truth with fixed multiplicative quantile factors, records what it
    saw."""

    def __init__(self, truth: pd.DataFrame, quantiles, factors=None):
        self.truth = truth.set_index(["ts"]).sort_index()
        self.quantiles = quantiles
        self.factors = factors or {}
        self.seen_max_ts = []
        self.seen_max_indicator = []
        self.fits = 0

    def fit(self, measurements, inventory=None, indicators=None, covariates=None, cutoff=None):
        self.fits += 1
        self.cutoff = pd.Timestamp(cutoff)
        self.seen_max_ts.append((self.cutoff, measurements["ts"].max()))
        if indicators is not None:
            self.seen_max_indicator.append((self.cutoff, indicators["date"].max()))
        return self

    def update(self, new_measurements, indicators=None, cutoff=None):
        self.cutoff = pd.Timestamp(cutoff)
        if len(new_measurements):
            self.seen_max_ts.append((self.cutoff, new_measurements["ts"].max()))
        if indicators is not None:
            self.seen_max_indicator.append((self.cutoff, indicators["date"].max()))
        return self

    def predict(self, horizon, indicators_future=None, covariates=None):
        h = parse_duration(horizon)
        t = self.truth.loc[self.cutoff : self.cutoff + h - pd.Timedelta(1)].reset_index()
        out = t[["resource_id", "ts"]].copy()
        out["mean"] = t["load"].to_numpy()
        for q in self.quantiles:
            f = self.factors.get(q, 1.0)
            out[quantile_name(q)] = t["load"].to_numpy() * (f(t["ts"]) if callable(f) else f)
        return out


def test_parsers():
    assert parse_quantiles("0.9, 0.1,0.5,0.1") == (0.1, 0.5, 0.9)
    assert [quantile_name(q) for q in (0.1, 0.5, 0.975, 0.01, 0.999)] == [
        "p10",
        "p50",
        "p97.5",
        "p1",
        "p99.9",
    ]
    assert parse_duration("14d") == pd.Timedelta(days=14)
    assert parse_duration("2w") == pd.Timedelta(days=14)
    with pytest.raises(SurgeplanError):
        parse_quantiles("0.5,1.2")
    with pytest.raises(SurgeplanError):
        parse_duration("soon")


def test_origins_are_local_midnights_across_dst():
    # Paris: CET (UTC+1) until 2020-03-29 02:00, then CEST (UTC+2)
    o = rolling_origins("2020-03-28", "2020-03-30", "1d", "Europe/Paris")
    assert list(o) == [
        pd.Timestamp("2020-03-27 23:00", tz="UTC"),
        pd.Timestamp("2020-03-28 23:00", tz="UTC"),
        pd.Timestamp("2020-03-29 22:00", tz="UTC"),
    ]
    assert len(rolling_origins("2020-03-01", "2020-03-31", "7d")) == 5  # 1, 8, 15, 22, 29
    with pytest.raises(SurgeplanError):
        rolling_origins("2020-03-05", "2020-03-01")


def test_no_information_leak_and_refit_schedule():
    truth = _frame(["a"], HOURS, [np.full(len(HOURS), 10.0)])
    ind = pd.DataFrame(
        {
            "region": "XXX",
            "date": pd.date_range("2020-01-01", "2020-03-31"),
            "name": "stringency_index",
            "value": 50.0,
        }
    )
    models = []

    def make(q):
        models.append(Oracle(truth, q))
        return models[-1]

    res = backtest(
        truth,
        None,
        ind,
        start="2020-03-01",
        end="2020-03-10",
        horizon="2d",
        tz="Asia/Tokyo",
        model=make,
        refit_every=4,
    )
    # 10 origins, refits at origins 0, 4, 8 -> 3 models, each fitted once
    assert len(models) == 3 and all(m.fits == 1 for m in models)
    for m in models:
        for cutoff, seen in m.seen_max_ts:
            assert seen < cutoff  # only measurements before the origin
        for cutoff, day in m.seen_max_indicator:
            # indicators dated before the origin's local (Tokyo) day
            assert day < cutoff.tz_convert("Asia/Tokyo").tz_localize(None).normalize()
    # forecasts: exactly the columns asked for, UTC, 10 origins x 48 hours
    assert list(res.forecasts.columns) == ["resource_id", "origin", "ts", "mean", "p10", "p50", "p90"]
    assert str(res.forecasts["ts"].dt.tz) == "UTC" and len(res.forecasts) == 10 * 48
    # internally the coverage quantiles are there even though the user did not ask for p1/p99
    assert {quantile_name(q) for q in COVERAGE_QUANTILES} <= set(res.internal.columns)


def test_point_scores_and_mase_by_hand():
    # Busy-hour load of day d (d = 0 on 2020-01-01) is 100 + d (hour 12 peak, flat 50 elsewhere).
    # Weekly seasonal naive in-sample MAE of the busy-hour series = |(100+d) - (100+d-7)| = 7.
    # A forecast of 1.1 x actual: busy-hour APE = 10% exactly, abs error 0.1 (100 + d).
    d = ((HOURS - HOURS[0]).days).to_numpy()
    load = np.where(HOURS.hour == 12, 100.0 + d, 50.0)
    truth = _frame(["a"], HOURS, [load])
    fc_truth = truth.assign(load=truth["load"] * 1.1)
    res = backtest(
        truth,
        start="2020-03-01",
        end="2020-03-10",
        horizon="3d",
        model=lambda q: Oracle(fc_truth, q),
        quantiles=[0.5],
    )
    m = res.metrics.set_index("horizon_days")
    assert m["mape"].to_numpy() == pytest.approx(10.0)
    # horizon 1: days of 2020-03-01..10 are d = 60..69 -> mean abs error 0.1 * (100 + 64.5) = 16.45
    assert m.loc[1, "mae"] == pytest.approx(16.45)
    assert m.loc[1, "mase"] == pytest.approx(16.45 / 7)
    assert m.loc[1, "rmse"] == pytest.approx(0.1 * np.sqrt(np.mean((100.0 + np.arange(60, 70)) ** 2)))
    # horizon 3: the days are 2 later -> 0.1 * (100 + 66.5)
    assert m.loc[3, "mae"] == pytest.approx(16.65)
    assert (m["n_days"] == 10).all()


def test_coverage_and_pinball_by_hand():
    # flat load 10; p10 = 0.9 x truth, p90 = truth x (1.1 on even hours, 0.95 on odd ones):
    # the actual is inside [p10, p90] on even hours only -> 80% coverage = 0.5 exactly.
    # p1 = 0.5 x, p99 = 2 x -> 98% coverage 1. Pinball for q = 0.9 alone: even hours the forecast
    # is 1 over -> 0.1 * 1 = 0.1 ; odd hours 0.5 under -> 0.9 * 0.5 = 0.45 ; mean 0.275.
    truth = _frame(["a"], HOURS, [np.full(len(HOURS), 10.0)])
    p90 = lambda ts: np.where(ts.dt.hour % 2 == 0, 1.1, 0.95)
    factors = {0.01: 0.5, 0.1: 0.9, 0.9: p90, 0.99: 2.0}
    res = backtest(
        truth,
        start="2020-03-01",
        end="2020-03-05",
        horizon="1d",
        quantiles=[0.9],
        model=lambda q: Oracle(truth, q, factors),
    )
    m = res.metrics.iloc[0]
    assert m["coverage_80"] == pytest.approx(0.5)
    assert m["coverage_98"] == pytest.approx(1.0)
    assert m["pinball"] == pytest.approx(0.275)
    # busy hour: actual 10, forecast busy-hour p90 = max over the day = 11 -> inside
    assert m["bh_coverage_80"] == pytest.approx(1.0)


def test_anticipation_by_hand():
    # resource "short": load 100 until 2020-03-10, 200 from then on; capacity 150.
    # An oracle's forecast crosses capacity exactly on 2020-03-10; with daily origins, the origin of
    # day 10 - k reaches day 10 when the horizon is at least k + 1 days: anticipation(h) = h - 1.
    # resource "fine": capacity 1000, never short -> no shortage date, no anticipation.
    # resource "blind": same load as "short" but its forecast stays at 100 -> unforeseen (NaN).
    step = np.where(HOURS >= pd.Timestamp("2020-03-10", tz="UTC"), 200.0, 100.0)
    truth = _frame(["blind", "fine", "short"], HOURS, [step, step, step])
    fc = truth.copy()
    fc.loc[fc["resource_id"] == "blind", "load"] = 100.0
    inv = pd.DataFrame(
        {
            "resource_id": ["blind", "fine", "short"],
            "kind": "link",
            "region": "FRA",
            "capacity": [150.0, 1000.0, 150.0],
        }
    )
    res = backtest(
        truth, inv, start="2020-03-01", end="2020-03-20", horizon="5d", model=lambda q: Oracle(fc, q)
    )
    m = res.metrics.set_index(["resource_id", "horizon_days"])
    assert m.loc["short", "anticipation_days"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert (m.loc["short", "shortage_date"] == pd.Timestamp("2020-03-10")).all()
    assert m.loc["blind", "anticipation_days"].isna().all()
    assert m.loc["fine", "shortage_date"].isna().all() and m.loc["fine", "anticipation_days"].isna().all()


def test_half_hourly_measurements_are_averaged_to_hours():
    # within each hour the load alternates 100 / 300 -> the hourly mean is 200 everywhere;
    # an hourly forecast of 200 is exact for the busy hour (MAPE 0), the half-hour peak 300 is not one.
    ts = pd.date_range("2020-02-01", "2020-03-10 23:30", freq="30min", tz="UTC")
    truth = _frame(["a"], ts, [np.where(ts.minute == 0, 100.0, 300.0)])
    hourly = _frame(["a"], HOURS, [np.full(len(HOURS), 200.0)])
    res = backtest(
        truth, start="2020-03-01", end="2020-03-05", horizon="1d", model=lambda q: Oracle(hourly, q)
    )
    assert res.metrics["mape"].iloc[0] == pytest.approx(0.0)


def test_seasonal_naive_is_exact_on_periodic_series():
    # a purely weekly-periodic load is forecast exactly by the weekly naive model (zero error, zero-width
    # intervals; MASE is undefined since its in-sample scale is 0 too); the daily naive model is off
    # on the weekend switch (2 x 10 Erlangs of busy-hour error on 2 days of 7 at least).
    how = (HOURS.dayofweek * 24 + HOURS.hour).to_numpy()
    load = 50 + 20 * np.sin(2 * np.pi * how / 168) + 10 * (HOURS.dayofweek.to_numpy() >= 5)
    truth = _frame(["a", "b"], HOURS, [load, 2 * load])
    res = backtest(
        truth,
        start="2020-03-01",
        end="2020-03-14",
        horizon="7d",
        refit_every=5,
        model=lambda q: SeasonalNaive("week", q),
    )
    assert res.metrics["mae"].to_numpy() == pytest.approx(0.0, abs=1e-9)
    assert res.metrics["mase"].isna().all()
    assert res.metrics["coverage_80"].to_numpy() == pytest.approx(1.0)
    day = backtest(
        truth, start="2020-03-01", end="2020-03-14", horizon="7d", model=lambda q: SeasonalNaive("day", q)
    )
    # ... except at lead 7, where "the last observed day" is the same weekday one week earlier
    by_lead = day.metrics.set_index(["resource_id", "horizon_days"])["mae"]
    assert (by_lead.loc[:, 1:6] > 1.0).all()
    assert by_lead.loc[:, 7].to_numpy() == pytest.approx(0.0, abs=1e-9)


def _cli_app() -> typer.Typer:
    from surgeplan.cli import forecast

    app = typer.Typer(add_completion=False)

    @app.callback()
    def _root() -> None:  # keep "backtest" a sub-command
        pass

    forecast.register(app)
    return app


@pytest.fixture()
def csvs(tmp_path):
    ts = pd.date_range("2020-02-01", "2020-03-10 23:00", freq="h", tz="UTC")
    load = 100 + 30 * np.sin(2 * np.pi * ts.hour.to_numpy() / 24)
    meas = _frame(["r1", "r2"], ts, [load, 2 * load])
    meas["ts"] = meas["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    meas.to_csv(tmp_path / "meas.csv", index=False)
    pd.DataFrame(
        {
            "resource_id": ["r1", "r2"],
            "kind": ["link", "vpn_gateway"],
            "region": ["FRA", "ITA"],
            "capacity": [200.0, 150.0],
        }
    ).to_csv(tmp_path / "inv.csv", index=False)
    return tmp_path


def test_cli_writes_exact_outputs(csvs):
    out = csvs / "out"
    r = CliRunner().invoke(
        _cli_app(),
        [
            "backtest",
            "--inventory",
            str(csvs / "inv.csv"),
            "--measurements",
            str(csvs / "meas.csv"),
            "--start",
            "2020-03-01",
            "--end",
            "2020-03-05",
            "--horizon",
            "2d",
            "--quantiles",
            "0.5,0.975",
            "--model",
            "naive-day",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    f = pd.read_parquet(out / "forecasts.parquet")
    assert list(f.columns) == ["resource_id", "origin", "ts", "mean", "p50", "p97.5"]
    assert str(f["ts"].dt.tz) == "UTC" and len(f) == 2 * 5 * 48
    m = pd.read_csv(out / "metrics.csv")
    assert len(m) == 2 * 2 and {
        "mape",
        "rmse",
        "mase",
        "pinball",
        "coverage_80",
        "coverage_98",
        "anticipation_days",
    } <= set(m.columns)
    # r2 (2 x load, peak 260) is above its capacity 150 every day: shortage from the first origin day
    assert (m.loc[m["resource_id"] == "r2", "shortage_date"] == "2020-03-01").all()


@pytest.mark.parametrize(
    "edit, expected",
    [
        (
            lambda d: d.assign(load=d["load"].astype(object).where(d.index != 4, "-3")),
            "meas.csv, row 5, column 'load'",
        ),
        (lambda d: d.assign(ts=d["ts"].where(d.index != 2, "yesterday")), "meas.csv, row 3, column 'ts'"),
        (
            lambda d: d.assign(resource_id=d["resource_id"].where(d.index != 7, "ghost")),
            "meas.csv, row 8, column 'resource_id'",
        ),
        (lambda d: d.drop(columns=["load"]), "meas.csv, row 0, column 'load'"),
    ],
)
def test_cli_bad_input_one_line_exit_2(csvs, edit, expected):
    d = pd.read_csv(csvs / "meas.csv", dtype=str)
    edit(d).to_csv(csvs / "meas.csv", index=False)
    r = CliRunner().invoke(
        _cli_app(),
        [
            "backtest",
            "--inventory",
            str(csvs / "inv.csv"),
            "--measurements",
            str(csvs / "meas.csv"),
            "--start",
            "2020-03-01",
            "--end",
            "2020-03-02",
            "--model",
            "naive-day",
            "--out",
            str(csvs / "o"),
        ],
    )
    assert r.exit_code == 2
    lines = [ln for ln in r.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0], r.output


def test_cli_forecast_busy_hour(csvs):
    # r1's load is 100 + 30 sin(2 pi h / 24): its daily busy hour is 06:00 UTC (peak at h = 6), 130 Erlangs
    pytest.importorskip("surgeplan.forecast.model")
    out = csvs / "f.csv"
    r = CliRunner().invoke(
        _cli_app(),
        [
            "forecast",
            "--inventory",
            str(csvs / "inv.csv"),
            "--measurements",
            str(csvs / "meas.csv"),
            "--horizon",
            "2d",
            "--busy-hour",
            "D",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    f = pd.read_csv(out)
    assert {"resource_id", "period", "busy_hour", "mean", "p50", "p90", "p99"} <= set(f.columns)
    r1 = f[f["resource_id"] == "r1"]
    assert (pd.to_datetime(r1["busy_hour"]).dt.hour == 6).all()
    assert r1["mean"].to_numpy() == pytest.approx(130.0, rel=0.03)
