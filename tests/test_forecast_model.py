"""ShockForecaster on cases whose answer is known by construction (hand-built synthetic series).

Every expected value below comes from the generating formula written in the test, never from the
model's own output.
"""

from __future__ import annotations

import holidays
import numpy as np
import pandas as pd
import pytest

from surgeplan.errors import SurgeplanError
from surgeplan.forecast import ShockForecaster, busy_hour, quantile_column, scenario_indicators

TZ = {"FRA": "Europe/Paris", "ITA": "Europe/Rome", "ESP": "Europe/Madrid", None: "UTC"}


def base_load(ts: pd.DatetimeIndex, region: str | None, level: float = 100.0) -> np.ndarray:
    """Daily sine (peak 14:00 local) x weekly shape (weekend and public holidays at 70%)."""
    local = ts.tz_convert(TZ[region])
    h = local.hour + local.minute / 60.0
    day = local.tz_localize(None).normalize()
    weekend = local.dayofweek >= 5
    if region is not None:
        hol = holidays.country_holidays(region, years=range(day.year.min(), day.year.max() + 1))
        weekend = weekend | np.isin(day.date, list(hol.keys()))
    return np.asarray(
        level * (1.0 + 0.3 * np.sin(2 * np.pi * (np.asarray(h) - 8) / 24)) * np.where(weekend, 0.7, 1.0)
    )


def indicator_table(
    region: str, start: str, days: int, lockdown: str | None, value: float = 90.0
) -> pd.DataFrame:
    dates = pd.date_range(start, periods=days, freq="D")
    on = np.zeros(days) if lockdown is None else (dates >= pd.Timestamp(lockdown)).astype(float)
    return pd.concat(
        [
            pd.DataFrame({"region": region, "date": dates, "name": "stringency_index", "value": on * value}),
            pd.DataFrame({"region": region, "date": dates, "name": "stay_home_required", "value": on * 2}),
        ]
    )


START = "2021-04-05"  # between the 2021 DST changes


def _frame(rid: str, ts: pd.DatetimeIndex, load: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"resource_id": rid, "ts": ts, "load": load})


# --------------------------------------------------------------------------- names
@pytest.mark.parametrize(
    "q, name", [(0.5, "p50"), (0.9, "p90"), (0.99, "p99"), (0.1, "p10"), (0.975, "p97.5"), (0.999, "p99.9")]
)
def test_quantile_column(q, name):
    assert quantile_column(q) == name


def test_quantile_column_rejects_bad_probability():
    with pytest.raises(SurgeplanError):
        quantile_column(1.0)


# --------------------------------------------------------------------------- pure seasonality
def test_pure_seasonality_is_reproduced():
    ts = pd.date_range(START, periods=56 * 24, freq="h", tz="UTC")
    rng = np.random.default_rng(1)
    y = base_load(ts, None) * np.exp(rng.normal(0, 0.002, len(ts)))  # 0.2% noise
    model = ShockForecaster().fit(_frame("s", ts, y))
    fc = model.predict("14D")
    future = pd.date_range(ts[-1] + pd.Timedelta(hours=1), periods=14 * 24, freq="h", tz="UTC")
    assert (fc["ts"].to_numpy() == future.to_numpy()).all()
    truth = base_load(future, None)
    ape = np.abs(fc["p50"].to_numpy() / truth - 1)
    assert ape.max() < 0.02 and ape.mean() < 0.006
    # quantiles ordered and tight around the truth (noise 0.2%)
    assert (fc["p50"] <= fc["p90"]).all() and (fc["p90"] <= fc["p99"]).all()
    assert np.median(fc["p99"].to_numpy() / truth - 1) < 0.03


def test_nixtla_names_and_cadences():
    """A daily and a 15-min series in one fit: each is forecast at its own cadence."""
    d = pd.date_range(START, periods=120, freq="D", tz="UTC")
    q = pd.date_range(START, periods=30 * 96, freq="15min", tz="UTC")
    frame = pd.concat(
        [_frame("daily", d, base_load(d + pd.Timedelta(hours=14), None)), _frame("q", q, base_load(q, None))]
    )
    frame = frame.rename(columns={"resource_id": "unique_id", "ts": "ds", "load": "y"})
    model = ShockForecaster(quantiles=(0.5,)).fit(frame)
    assert model.cadence_.to_dict() == {"daily": 86400, "q": 900}
    fc = model.predict("3D")
    steps = fc.groupby("resource_id")["ts"].apply(lambda s: s.diff().dropna().unique().tolist())
    assert steps["daily"] == [pd.Timedelta(days=1)] and steps["q"] == [pd.Timedelta(minutes=15)]
    assert fc.groupby("resource_id").size().to_dict() == {"daily": 3, "q": 288}
    truth = base_load(pd.DatetimeIndex(fc.loc[fc.resource_id == "q", "ts"]), None)
    assert np.abs(fc.loc[fc.resource_id == "q", "p50"].to_numpy() / truth - 1).mean() < 0.02


# --------------------------------------------------------------------------- shock of known size, sign, lag
@pytest.fixture(scope="module")
def step_shock():
    """ITA trunk group doubles (+100%), ESP link falls 30%; both 3 days after the indicators."""
    days = 100
    ts = pd.date_range(START, periods=days * 24, freq="h", tz="UTC")
    lock_day, lag = pd.Timestamp("2021-05-20"), 3
    rng = np.random.default_rng(2)
    frames, inds = [], []
    for rid, region, _kind, size in (("voice", "ITA", "trunk_group", 1.0), ("data", "ESP", "link", -0.3)):
        local_day = ts.tz_convert(TZ[region]).tz_localize(None).normalize()
        on = local_day >= lock_day + pd.Timedelta(days=lag)
        y = base_load(ts, region) * (1 + size * on) * np.exp(rng.normal(0, 0.01, len(ts)))
        frames.append(_frame(rid, ts, y))
        inds.append(indicator_table(region, START, days + 30, lock_day.strftime("%Y-%m-%d")))
    inv = pd.DataFrame(
        {"resource_id": ["voice", "data"], "kind": ["trunk_group", "link"], "region": ["ITA", "ESP"]}
    )
    model = ShockForecaster().fit(pd.concat(frames), inventory=inv, indicators=pd.concat(inds))
    return model, ts


def test_step_shock_lag_size_and_sign_recovered(step_shock):
    model, _ = step_shock
    r = model.response_.set_index("resource_id")
    assert r.loc["voice", "lag_days"] == 3 and r.loc["data", "lag_days"] == 3
    assert r.loc["voice", "response"] == pytest.approx(1.0, abs=0.1)  # voice doubled
    assert r.loc["data", "response"] == pytest.approx(-0.3, abs=0.05)  # data fell 30%
    assert (r["source"] == "fitted").all()


def test_step_shock_forecast_level(step_shock):
    model, _ = step_shock
    fc = model.predict("7D")
    for rid, region, factor in (("voice", "ITA", 2.0), ("data", "ESP", 0.7)):
        f = fc[fc.resource_id == rid]
        truth = base_load(pd.DatetimeIndex(f["ts"]), region) * factor
        assert np.abs(f["p50"].to_numpy() / truth - 1).mean() < 0.03


# --------------------------------------------------------------------------- transfer
def _two_regions(days: int, size: float = 1.0):
    """ITA hit on 2021-05-05, FRA on 2021-06-10 (both mid-week); same kind, same response (x2), lag 0."""
    ts = pd.date_range(START, periods=days * 24, freq="h", tz="UTC")
    rng = np.random.default_rng(3)
    frames, inds = [], []
    for _i, (region, lock) in enumerate((("ITA", "2021-05-05"), ("FRA", "2021-06-10"))):
        local_day = ts.tz_convert(TZ[region]).tz_localize(None).normalize()
        for j in range(2):
            on = local_day >= pd.Timestamp(lock)
            y = (
                base_load(ts, region, level=50 + 50 * j)
                * (1 + size * on)
                * np.exp(rng.normal(0, 0.01, len(ts)))
            )
            frames.append(_frame(f"{region}-{j}", ts, y))
        inds.append(indicator_table(region, START, 200, lock))
    inv = pd.DataFrame(
        {
            "resource_id": [f"{r}-{j}" for r in ("ITA", "FRA") for j in range(2)],
            "kind": "vpn_gateway",
            "region": np.repeat(["ITA", "FRA"], 2),
        }
    )
    return pd.concat(frames), inv, pd.concat(inds)


def test_transfer_on_the_lockdown_day():
    """Forecast made at FRA's first lockdown day (indicators of that day known, no FRA load under
    lockdown yet) already carries the x2 learned in ITA; without ITA it would not."""
    meas, inv, ind = _two_regions(days=66)  # data up to 2021-06-10 00:00 UTC (FRA lockdown day)
    cutoff = pd.Timestamp("2021-06-09 22:00", tz="UTC")  # FRA local midnight of 2021-06-10
    ind_known = ind[ind["date"] <= "2021-06-10"]
    model = ShockForecaster().fit(meas, inventory=inv, indicators=ind_known, cutoff=cutoff)
    fc = model.predict("3D")
    assert fc.attrs["indicator_source"]["FRA"] == "held_last"
    r = model.response_.set_index("resource_id")
    assert r.loc["FRA-0", "source"] == "pooled"
    for j, level in ((0, 50.0), (1, 100.0)):
        f = fc[fc.resource_id == f"FRA-{j}"]
        truth = base_load(pd.DatetimeIndex(f["ts"]), "FRA", level=level) * 2.0
        assert np.abs(f["p50"].to_numpy() / truth - 1).mean() < 0.08
    # the same FRA data alone: no pool, no change forecast (about half the truth)
    alone = ShockForecaster().fit(
        meas[meas.resource_id.str.startswith("FRA")], inventory=inv, indicators=ind_known, cutoff=cutoff
    )
    fa = alone.predict("3D")
    f = fa[fa.resource_id == "FRA-1"]
    truth = base_load(pd.DatetimeIndex(f["ts"]), "FRA", level=100.0) * 2.0
    assert np.abs(f["p50"].to_numpy() / truth - 1).mean() > 0.3


def test_transfer_through_update_and_scenario():
    """Fit while only ITA is hit; FRA's lockdown comes as a scenario dict: the forecast carries x2
    from the scenario's start, not before, and says it used the scenario."""
    meas, inv, ind = _two_regions(days=50)
    model = ShockForecaster().fit(meas, inventory=inv, indicators=ind[ind["date"] < "2021-05-25"])
    origin = pd.Timestamp(meas["ts"].max()) + pd.Timedelta(hours=1)
    start = (origin.tz_convert("Europe/Paris") + pd.Timedelta(days=3)).normalize().tz_localize(None)
    fc = model.predict("6D", indicators_future={"FRA": {"lockdown_start": start, "stringency": 90}})
    assert fc.attrs["indicator_source"]["FRA"] == "scenario"
    assert model.indicator_source_["ITA"] == "held_last"
    f = fc[fc.resource_id == "FRA-1"].copy()
    local = f["ts"].dt.tz_convert("Europe/Paris").dt.tz_localize(None)
    truth = base_load(pd.DatetimeIndex(f["ts"]), "FRA", level=100.0) * np.where(local >= start, 2.0, 1.0)
    assert np.abs(f["p50"].to_numpy() / truth - 1).mean() < 0.08
    # the same via update: more ITA data only, then FRA hit in the table
    more, _, _ = _two_regions(days=52)
    model.update(more[more.ts >= origin], indicators=ind[ind["date"] < "2021-05-27"])
    fc2 = model.predict(24)
    assert len(fc2) == 4 * 24 and fc2["ts"].min() == origin + pd.Timedelta(days=2)


# --------------------------------------------------------------------------- robustness
def test_gap_and_spike_do_not_derail_the_forecast():
    ts = pd.date_range(START, periods=60 * 24, freq="h", tz="UTC")
    y = base_load(ts, None) * np.exp(np.random.default_rng(4).normal(0, 0.01, len(ts)))
    y[-30] *= 10.0  # a x10 spike 30 hours before the origin (feeds the "yesterday" lag)
    y[-9 * 24 : -7 * 24 - 5] = np.nan  # a two-day gap inside the last-week lag window
    frame = _frame("r", ts, y).dropna()
    fc = ShockForecaster().fit(frame).predict("7D")
    future = pd.DatetimeIndex(fc["ts"])
    ape = np.abs(fc["p50"].to_numpy() / base_load(future, None) - 1)
    assert ape.mean() < 0.02 and ape.max() < 0.08


def test_spike_arriving_through_update_is_clipped():
    ts = pd.date_range(START, periods=50 * 24, freq="h", tz="UTC")
    y = base_load(ts, None) * np.exp(np.random.default_rng(5).normal(0, 0.01, len(ts)))
    model = ShockForecaster().fit(_frame("r", ts[:-24], y[:-24]))
    y_new = y[-24:].copy()
    y_new[10] *= 20.0
    model.update(_frame("r", ts[-24:], y_new))
    fc = model.predict("2D")
    ape = np.abs(fc["p50"].to_numpy() / base_load(pd.DatetimeIndex(fc["ts"]), None) - 1)
    assert ape.mean() < 0.03


# --------------------------------------------------------------------------- calibration
def test_interval_coverage_on_fresh_data():
    """Log-normal noise of sd 5%: the p10..p90 band must cover about 80% of new data."""
    n, days = 40, 63
    ts = pd.date_range(START, periods=days * 24, freq="h", tz="UTC")
    rng = np.random.default_rng(6)
    y = base_load(ts, None)[None, :] * rng.uniform(0.5, 2, (n, 1)) * np.exp(rng.normal(0, 0.05, (n, len(ts))))
    frame = pd.DataFrame(
        {
            "resource_id": np.repeat([f"r{i}" for i in range(n)], len(ts)),
            "ts": np.tile(ts, n),
            "load": y.ravel(),
        }
    )
    hist = frame[frame.ts < ts[-7 * 24]]
    model = ShockForecaster(quantiles=(0.1, 0.5, 0.9)).fit(hist)
    fc = model.predict("7D").merge(frame, on=["resource_id", "ts"])
    cover = ((fc["load"] >= fc["p10"]) & (fc["load"] <= fc["p90"])).mean()
    assert 0.74 <= cover <= 0.86
    cal = model.calibration_
    assert {"kind", "bucket", "quantile", "z", "coverage", "coverage_split"} <= set(cal.columns)
    c90 = cal[(cal.bucket == 0) & (cal["quantile"] == 0.9)]["coverage"].iloc[0]
    assert 0.85 <= c90 <= 0.95


# --------------------------------------------------------------------------- busy hour
def test_busy_hour_hand_example():
    # 15-min forecasts over two UTC days; day 1 peaks in hour 10 (mean of 4 quarters = 25),
    # hour 11 has a single higher quarter (40) but a lower hourly mean (17.5).
    ts = pd.date_range("2021-03-01", periods=2 * 96, freq="15min", tz="UTC")
    mean = np.full(len(ts), 10.0)
    mean[40:44] = [20, 25, 30, 25]  # 10:00-10:45 day 1 -> hourly mean 25
    mean[44:48] = [40, 10, 10, 10]  # 11:00-11:45 day 1 -> hourly mean 17.5
    mean[96 + 72 : 96 + 76] = 12.0  # day 2 hour 18 -> 12
    fc = pd.DataFrame({"resource_id": "a", "ts": ts, "mean": mean, "p90": mean * 1.5})
    bh = busy_hour(fc, "D")
    assert list(bh["busy_hour"]) == [
        pd.Timestamp("2021-03-01 10:00", tz="UTC"),
        pd.Timestamp("2021-03-02 18:00", tz="UTC"),
    ]
    assert list(bh["mean"]) == [25.0, 12.0] and list(bh["p90"]) == [37.5, 18.0]
    wk = busy_hour(fc, "W")
    assert len(wk) == 1 and wk["period"].iloc[0] == pd.Timestamp("2021-03-01")  # a Monday
    assert wk["mean"].iloc[0] == 25.0


# --------------------------------------------------------------------------- inputs
def test_scenario_dict_to_indicators():
    t = scenario_indicators(
        {"FRA": {"lockdown_start": "2020-03-17", "lockdown_end": "2020-05-11", "stringency": 88}}
    )
    s = t[(t.name == "stringency_index")].set_index("date")["value"]
    assert (
        s[pd.Timestamp("2020-03-17")] == 88
        and s[pd.Timestamp("2020-05-10")] == 88
        and s[pd.Timestamp("2020-05-11")] == 0
    )


def test_errors_name_the_problem():
    with pytest.raises(SurgeplanError, match="load"):
        ShockForecaster().fit(pd.DataFrame({"resource_id": ["a"], "ts": ["2021-01-01"]}))
    with pytest.raises(SurgeplanError, match="not fitted"):
        ShockForecaster().predict(3)
    with pytest.raises(SurgeplanError, match="kind"):
        ts = pd.date_range(START, periods=48, freq="h", tz="UTC")
        ShockForecaster().fit(
            _frame("a", ts, np.ones(48)), inventory=pd.DataFrame({"resource_id": ["a"], "kind": ["router"]})
        )


def test_long_horizon_stays_on_the_shifted_pattern(step_shock):
    """26 weeks ahead the day-lag recursion must neither explode nor decay away from the
    post-shock level (restrictions held at their last value)."""
    model, _ = step_shock
    fc = model.predict("26W")
    for rid, region, factor in (("voice", "ITA", 2.0), ("data", "ESP", 0.7)):
        f = fc[fc.resource_id == rid].tail(7 * 24)
        truth = base_load(pd.DatetimeIndex(f["ts"]), region) * factor
        assert np.abs(f["p50"].to_numpy() / truth - 1).mean() < 0.10
        assert np.isfinite(f[["mean", "p50", "p90", "p99"]].to_numpy()).all()


def test_known_covariate_is_used():
    """Load = pattern x exp(0.03 per degree below 15 C): a cold spell in the forecast window,
    announced by the covariate, must show up in the forecast."""
    days = 70
    ts = pd.date_range(START, periods=days * 24, freq="h", tz="UTC")
    rng = np.random.default_rng(7)
    # temperature: a slow random walk around 12 C plus a daily cycle; a 6 C colder week at the end
    temp = (
        12
        + np.cumsum(rng.normal(0, 0.15, len(ts))) * 0.5
        + 3 * np.sin(2 * np.pi * (ts.hour.to_numpy() - 9) / 24)
    )
    temp[-7 * 24 :] -= 6.0
    y = (
        base_load(ts, None)
        * np.exp(0.03 * np.maximum(15.0 - temp, 0.0))
        * np.exp(rng.normal(0, 0.005, len(ts)))
    )
    cov = pd.DataFrame({"resource_id": "r", "ts": ts, "name": "temperature_c", "value": temp})
    hist = _frame("r", ts[: -7 * 24], y[: -7 * 24])
    model = ShockForecaster(lags_days=()).fit(hist, covariates=cov)
    fc = model.predict("7D")
    truth = y[-7 * 24 :]
    ape = np.abs(fc["p50"].to_numpy() / truth - 1)
    no_cov = base_load(pd.DatetimeIndex(fc["ts"]), None) * np.exp(
        0.03 * np.maximum(15.0 - temp[-14 * 24 : -7 * 24], 0.0)
    )
    assert ape.mean() < 0.03
    assert ape.mean() < 0.5 * np.abs(no_cov / truth - 1).mean()  # far better than last week's weather


def test_update_learns_a_x8_surge_within_two_days():
    """VPN sessions x8 from the lockdown day (March 2020 order of magnitude), no earlier region to
    borrow from: the day-0 forecast cannot know the size, but after folding in one lockdown day
    with update() the next weekday forecasts are within 15% (innovations are not clipped as
    outliers while a fresh shock is being learned)."""
    ts = pd.date_range(START, periods=60 * 24, freq="h", tz="UTC")
    rng = np.random.default_rng(8)
    lock = pd.Timestamp("2021-05-19")  # a Wednesday
    local = ts.tz_convert("Europe/Paris").tz_localize(None).normalize()
    y = base_load(ts, "FRA") * np.where(local >= lock, 8.0, 1.0) * np.exp(rng.normal(0, 0.03, len(ts)))
    meas = _frame("vpn", ts, y)
    inv = pd.DataFrame({"resource_id": ["vpn"], "kind": ["vpn_gateway"], "region": ["FRA"]})
    ind = indicator_table("FRA", "2021-01-01", 200, "2021-05-19")
    origin = pd.Timestamp("2021-05-19", tz="Europe/Paris").tz_convert("UTC")
    model = ShockForecaster().fit(
        meas, inventory=inv, indicators=ind[ind.date <= "2021-05-19"], cutoff=origin
    )
    apes = []
    for d in range(3):
        o = origin + pd.Timedelta(days=d)
        f = model.predict("1D").merge(meas, on=["resource_id", "ts"])
        apes.append(float((f["p50"] / f["load"] - 1).abs().mean()))
        model.update(meas[(meas.ts >= o) & (meas.ts < o + pd.Timedelta(days=1))])
    assert apes[0] > 0.5  # nothing to borrow: the day-0 forecast misses the surge
    assert apes[1] < 0.15 and apes[2] < 0.15
    r = model.response_.iloc[0]
    assert r["response"] > 3.0  # on its way to +700%


def test_anticipated_lockdown_from_case_growth():
    """As of 2020-03-10 with the bundled OxCGRT/OWID indicators, France is not under restrictions
    yet; 'anticipate' projects its lockdown from case growth (France really locked down on
    2020-03-17), and the forecast then carries the doubling learned on the Italian trunk group."""
    from surgeplan.signals import bundled_indicators

    ind = bundled_indicators()
    ts = pd.date_range("2020-02-01", "2020-03-10", freq="h", tz="UTC", inclusive="left")
    flat = base_load(ts, None)
    hit = np.asarray(ts >= pd.Timestamp("2020-03-01", tz="UTC"))
    meas = pd.concat([_frame("ITA-v", ts, flat * np.where(hit, 2.0, 1.0)), _frame("FRA-v", ts, flat)])
    inv = pd.DataFrame({"resource_id": ["ITA-v", "FRA-v"], "kind": "trunk_group", "region": ["ITA", "FRA"]})
    model = ShockForecaster().fit(meas, inventory=inv, indicators=ind[ind.date < "2020-03-10"])
    fc = model.predict("21D", indicators_future="anticipate")
    assert fc.attrs["indicator_source"]["FRA"] == "anticipated"
    held = model.predict("21D")
    assert held.attrs["indicator_source"]["FRA"] == "held_last"
    last_week = fc[fc.resource_id == "FRA-v"].tail(7 * 24)
    truth = base_load(pd.DatetimeIndex(last_week["ts"]), None)
    assert (last_week["p50"].to_numpy() / truth).mean() > 1.3  # the pooled surge, not "no change"


def test_update_with_cutoff_moves_the_origin_over_missing_hours():
    ts = pd.date_range(START, periods=40 * 24, freq="h", tz="UTC")
    y = base_load(ts, None) * np.exp(np.random.default_rng(9).normal(0, 0.01, len(ts)))
    model = ShockForecaster().fit(_frame("r", ts[:-48], y[:-48]))
    # the next day arrives with its last 6 hours missing; the origin is still the day's end
    model.update(_frame("r", ts[-48:-30], y[-48:-30]), cutoff=ts[-24])
    fc = model.predict(24)
    assert fc["ts"].iloc[0] == ts[-24]
    ape = np.abs(fc["p50"].to_numpy() / base_load(pd.DatetimeIndex(fc["ts"]), None) - 1)
    assert ape.mean() < 0.02


# --------------------------------------------------------------------------- Friday-Saturday weekend
def _working_week_load(ts, tz, weekend_days, lock):
    """Remote-access load: x3 on working days, x1.3 on weekend days from ``lock`` (local day)."""
    local = ts.tz_convert(tz)
    lday = local.tz_localize(None).normalize()
    weekend = np.isin(local.dayofweek, weekend_days)
    base = (
        100 * (1 + 0.5 * np.sin(2 * np.pi * (local.hour.to_numpy() - 8) / 24)) * np.where(weekend, 0.5, 1.0)
    )
    return base * np.where(lday >= pd.Timestamp(lock), np.where(weekend, 1.3, 3.0), 1.0), weekend


def test_transferred_response_follows_the_regions_working_week():
    """Italy (weekend Saturday-Sunday) is hit first; Egypt (weekend Friday-Saturday in 2021) is hit
    on 2021-03-14 with no load under lockdown yet. The response learned in Italy (x3 on working
    days, x1.3 on weekend days, truth written here) must land on Egypt's working days: x3 on
    Sunday, x1.3 on Friday. Counting Monday-Friday as working days everywhere swaps them."""
    ts = pd.date_range("2021-01-04", "2021-03-14", freq="h", tz="UTC", inclusive="left")
    rng = np.random.default_rng(8)
    frames, inds = [], []
    for region, tz, weekend_days, lock in (
        ("ITA", "Europe/Rome", (5, 6), "2021-02-01"),
        ("EGY", "Africa/Cairo", (4, 5), "2021-03-14"),
    ):
        for j in range(2):
            y, _ = _working_week_load(ts, tz, weekend_days, lock)
            frames.append(_frame(f"{region}-{j}", ts, (1 + j) * y * np.exp(rng.normal(0, 0.01, len(ts)))))
        inds.append(indicator_table(region, "2021-01-01", 120, lock))
    inv = pd.DataFrame(
        {
            "resource_id": [f"{r}-{j}" for r in ("ITA", "EGY") for j in range(2)],
            "kind": "vpn_gateway",
            "region": np.repeat(["ITA", "EGY"], 2),
        }
    )
    ind = pd.concat(inds)
    cutoff = pd.Timestamp("2021-03-13 22:00", tz="UTC")  # Cairo midnight of 2021-03-14
    model = ShockForecaster(quantiles=(0.5,)).fit(
        pd.concat(frames), inv, ind[ind["date"] <= "2021-03-14"], cutoff=cutoff
    )
    fc = model.predict("7D")
    f = fc[fc["resource_id"] == "EGY-0"]
    fts = pd.DatetimeIndex(f["ts"])
    truth, _ = _working_week_load(fts, "Africa/Cairo", (4, 5), "2021-03-14")
    dow = fts.tz_convert("Africa/Cairo").dayofweek
    for days_of_week in ((6,), (4,), (5,), (0, 1, 2, 3)):  # Sunday, Friday, Saturday, Monday-Thursday
        sel = np.isin(dow, days_of_week)
        err = np.abs(f["p50"].to_numpy()[sel] / truth[sel] - 1).mean()
        assert err < 0.15, (days_of_week, err)  # 0.56 on Sundays with a Monday-Friday week
