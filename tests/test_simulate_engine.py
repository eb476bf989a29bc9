"""simulate(): determinism, output contract, noise model, Poisson arrivals, cadence consistency.

Independent references: an event-by-event M/M/inf simulation (numpy) for the variance of time-
averaged Erlangs, the Poisson law (dispersion index 1, chi-square), the documented variance formula
evaluated on the known conditional means, the Beta distribution's mean, hand arithmetic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from surgeplan.errors import SurgeplanError, ValidationError
from surgeplan.simulate import bundled_inventory, erlang_noise_factor, load_scenario, simulate

KINDS = ("trunk_group", "link", "vpn_gateway", "conference_bridge", "contact_center", "generic")


def _inv(n: int = 4, kind: str = "link", region: str = "FRA", capacity: float = 100.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "resource_id": [f"{kind}-{i}" for i in range(n)],
            "kind": kind,
            "region": region,
            "capacity": capacity,
            "aht_s": 300.0,
        }
    )


def _mixed() -> pd.DataFrame:
    return pd.concat([_inv(2, k, r) for k in KINDS for r in ("FRA", "USA")], ignore_index=True).assign(
        resource_id=lambda d: d.resource_id + "-" + d.region
    )


def _indicators() -> pd.DataFrame:
    days = pd.date_range("2020-01-01", "2020-06-30")
    v = np.where((days >= "2020-03-17") & (days < "2020-05-11"), 88.0, 10.0)
    return pd.concat(
        [
            pd.DataFrame({"region": r, "date": days, "name": "stringency_index", "value": v})
            for r in ("FRA", "USA")
        ]
    )


# ------------------------------------------------------------------------------------------------
# contract and determinism
# ------------------------------------------------------------------------------------------------
def test_output_contract():
    inv = _mixed()
    out = simulate(inv, _indicators(), start="2020-03-01", end="2020-03-08", freq="1h", seed=1)
    assert list(out.columns) == ["resource_id", "ts", "load"]
    assert len(out) == len(inv) * 7 * 24
    assert str(out.ts.dtype) == "datetime64[ns, UTC]"
    assert out.load.dtype == np.float64 and (out.load >= 0).all() and np.isfinite(out.load).all()
    assert list(out.resource_id.cat.categories) == list(inv.resource_id)
    first = out[out.resource_id == inv.resource_id[0]]
    assert first.ts.is_monotonic_increasing and first.ts.iloc[0] == pd.Timestamp("2020-03-01", tz="UTC")
    # half-open [start, end)
    assert out.ts.max() == pd.Timestamp("2020-03-07 23:00", tz="UTC")


def test_same_seed_same_output_other_seed_differs():
    inv = _mixed()
    a = simulate(inv, _indicators(), start="2020-03-10", end="2020-03-20", freq="1h", seed=7)
    b = simulate(inv, _indicators(), start="2020-03-10", end="2020-03-20", freq="1h", seed=7)
    c = simulate(inv, _indicators(), start="2020-03-10", end="2020-03-20", freq="1h", seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.load, c.load)


def test_resource_order_and_other_resources_do_not_change_a_series():
    inv = _mixed()
    kw = dict(start="2020-03-10", end="2020-03-20", freq="1h", seed=3)
    a = simulate(inv, _indicators(), **kw)
    b = simulate(inv.iloc[::-1], _indicators(), **kw)
    c = simulate(inv.iloc[[5, 17]], _indicators(), **kw)
    key = ["resource_id", "ts"]
    for other in (b, c):
        m = other.assign(resource_id=other.resource_id.astype(str)).merge(
            a.assign(resource_id=a.resource_id.astype(str)), on=key, suffixes=("", "_a")
        )
        assert len(m) == len(other)
        np.testing.assert_array_equal(m.load, m.load_a)


def test_base_load_is_utilisation_times_capacity():
    # no shock, no noise, no growth: the busy hour of a normal week = u x capacity, u ~ Beta(0.45, 0.12)
    sc = load_scenario(
        overrides={"kinds": {"trunk_group": {"noise_cv": 0.0, "day_sd": 0.0, "growth_per_year": 0.0}}}
    )
    inv = _inv(300, "trunk_group", capacity=600.0)
    out = simulate(inv, None, sc, start="2020-01-06", end="2020-01-13", freq="15min", seed=11, truth=True)
    u = out.groupby("resource_id", observed=True)["expected"].max().to_numpy() / 600.0
    assert u.min() > 0 and u.max() < 1
    # sample mean of 300 Beta draws: sd 0.12 / sqrt(300) = 0.007 -> 4 sigma band
    assert u.mean() == pytest.approx(0.45, abs=0.028)
    assert u.std(ddof=1) == pytest.approx(0.12, rel=0.2)


def test_growth_trend_compounds_from_reference_date():
    sc = load_scenario(
        overrides={"kinds": {"link": {"noise_cv": 0.0, "day_sd": 0.0, "growth_per_year": 0.25}}}
    )
    inv = _inv(1)
    a = simulate(inv, None, sc, start="2020-01-06", end="2020-01-13", freq="1h", truth=True)
    b = simulate(inv, None, sc, start="2021-01-04", end="2021-01-11", freq="1h", truth=True)
    # 52 weeks later (364 days): x 1.25 ** (364 / 365.25)
    ratio = b.expected.to_numpy().sum() / a.expected.to_numpy().sum()
    assert ratio == pytest.approx(1.25 ** (364 / 365.25), rel=2e-3)


# ------------------------------------------------------------------------------------------------
# noise model
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("power", [1.0, 2.0])
def test_noise_variance_scales_with_load_as_documented(power):
    cv = 0.05
    sc = load_scenario(
        overrides={
            "kinds": {"link": {"noise_cv": cv, "noise_power": power, "day_sd": 0.0, "growth_per_year": 0.0}}
        }
    )
    out = simulate(
        _inv(20, "link"), None, sc, start="2020-01-06", end="2020-03-02", freq="1h", seed=2, truth=True
    )
    local = out.ts.dt.tz_convert("Europe/Paris")
    resid = out.load - out.expected
    night = (local.dt.hour == 4).to_numpy()  # data profile low (~0.16 of busy hour)
    evening = (local.dt.hour == 21).to_numpy()  # busy hour
    v_night, v_evening = resid[night].var(), resid[evening].var()
    mu_evening = out.expected[evening].mean()
    # Var = (cv B)^2 (mu / B)^p (60 min / dt) -> ratio (mu_e / mu_n)^p (B differs per resource but
    # cancels in the ratio only per resource: use per-resource ratios' mean)
    r = []
    for _rid, g in out.assign(resid=resid, night=night, evening=evening).groupby(
        "resource_id", observed=True
    ):
        r.append(
            (
                g.resid[g.evening].var() / g.resid[g.night].var(),
                (g.expected[g.evening].mean() / g.expected[g.night].mean()) ** power,
            )
        )
    r = np.array(r)
    assert np.mean(r[:, 0]) == pytest.approx(np.mean(r[:, 1]), rel=0.15)
    # absolute level at the busy hour: sd / mu = cv (mu / B)^(p/2 - 1) ~ cv since mu ~ B there
    assert np.sqrt(v_evening) / mu_evening == pytest.approx(cv, rel=0.25)
    assert v_evening > v_night


def test_mm_inf_time_average_variance_matches_event_simulation():
    """erlang_noise_factor vs an independent event-by-event M/M/inf simulation."""
    rng = np.random.default_rng(42)
    lam, h, horizon = 1.0, 150.0, 2.0e6  # 1 call/s, 150 s holding: A = 150 Erlangs
    n = rng.poisson(lam * horizon)
    arr = np.sort(rng.uniform(0, horizon, n))
    dep = arr + rng.exponential(h, n)
    t = np.concatenate([arr, dep])
    step = np.concatenate([np.ones(n), -np.ones(n)])
    order = np.argsort(t, kind="stable")
    t, busy = t[order], np.cumsum(step[order])
    area = np.concatenate([[0.0], np.cumsum(busy[:-1] * np.diff(t))])  # integral of busy count
    for dt in (60.0, 900.0):
        edges = np.arange(5 * h, horizon - 5 * h, dt)
        avg = np.diff(np.interp(edges, t, area)) / dt
        A = lam * h
        var_formula = erlang_noise_factor(dt, h) ** 2 * A * h / dt
        # hand check of the closed form for dt = 900 s, h = 150 s: 2 A (h/dt)[1 - (h/dt)(1 - e^-6)]
        if dt == 900.0:
            assert var_formula == pytest.approx(
                2 * 150 * (1 / 6) * (1 - (1 / 6) * (1 - np.exp(-6))), rel=1e-12
            )
        assert avg.mean() == pytest.approx(A, rel=0.01)
        assert avg.var() == pytest.approx(var_formula, rel=0.12)


def test_trunk_arrivals_are_poisson_and_erlangs_follow():
    sc = load_scenario(overrides={"kinds": {"trunk_group": {"noise_cv": 0.0, "day_sd": 0.05}}})
    h = sc.kinds["trunk_group"].holding_time_s
    out = simulate(
        _inv(10, "trunk_group", capacity=120.0),
        _indicators(),
        sc,
        start="2020-03-02",
        end="2020-03-30",
        freq="15min",
        seed=4,
        truth=True,
    )
    lam_dt = out.expected * 900.0 / h  # expected arrivals in 15 min
    sel = lam_dt > 5
    n, m = out.arrivals[sel], lam_dt[sel]
    assert np.all(n == np.round(n))
    dispersion = ((n - m) ** 2 / m).mean()  # E[(N - m)^2 / m] = 1 for Poisson
    assert dispersion == pytest.approx(1.0, abs=0.05)
    assert (n.sum() - m.sum()) / np.sqrt(m.sum()) == pytest.approx(0.0, abs=4.0)
    # load = mu + c (N - m) h / dt, c^2 = 2 [1 - (h/dt)(1 - exp(-dt/h))]
    c = np.sqrt(2 * (1 - (h / 900) * (1 - np.exp(-900 / h))))
    np.testing.assert_allclose(
        out.load[sel], np.maximum(out.expected[sel] + c * (n - m) * h / 900, 0), rtol=1e-9
    )


def test_contact_centre_calls_are_poisson_counts():
    out = simulate(
        _inv(8, "contact_center", capacity=60.0),
        _indicators(),
        start="2020-03-02",
        end="2020-03-23",
        freq="30min",
        seed=9,
        truth=True,
    )
    m = out.expected * 0.5  # calls per hour x 0.5 h
    sel = (m > 3).to_numpy()
    n = out.arrivals[sel]
    np.testing.assert_allclose(out.load[sel], n * 2.0)  # calls per hour = count / 0.5 h
    assert ((n - m[sel]) ** 2 / m[sel]).mean() == pytest.approx(1.0, abs=0.06)
    # probability integral transform of the counts: uniform if Poisson (randomised PIT)
    rng = np.random.default_rng(0)
    pit = stats.poisson.cdf(n - 1, m[sel]) + rng.uniform(size=len(n)) * stats.poisson.pmf(n, m[sel])
    assert stats.kstest(pit, "uniform").pvalue > 1e-3


# ------------------------------------------------------------------------------------------------
# cadence
# ------------------------------------------------------------------------------------------------
def test_daily_mean_of_minute_data_matches_daily_output():
    inv = pd.concat(
        [
            _inv(2, k, r, c)
            for k, r, c in (
                ("link", "FRA", 100.0),
                ("vpn_gateway", "IND", 4000.0),
                ("trunk_group", "USA", 300.0),
                ("contact_center", "FRA", 80.0),
            )
        ],
        ignore_index=True,
    )
    inv["resource_id"] = [f"r{i}" for i in range(len(inv))]
    kw = dict(start="2020-03-09", end="2020-03-23", seed=12, truth=True)
    ind = _indicators().assign(region=lambda d: d.region.replace({"USA": "IND"}))
    ind = pd.concat([ind, _indicators().query("region == 'USA'")])
    minute = simulate(inv, ind, freq="1min", **kw)
    daily = simulate(inv, ind, freq="1D", **kw)
    agg = minute.groupby(["resource_id", minute.ts.dt.floor("D")], observed=True)[["load", "expected"]].mean()
    d = daily.set_index(["resource_id", "ts"])[["load", "expected"]]
    agg, d = agg.align(d, join="inner")
    assert len(d) == len(inv) * 14
    # noise-free means: the same day factors, the same rate integrated on finer sub-steps; the
    # per-minute day factor follows the local day, the daily value the day of the interval midpoint
    np.testing.assert_allclose(agg.expected, d.expected, rtol=0.03)
    # with noise: close wherever the day carries real traffic (weekend VPN / call volumes are small
    # counts whose Poisson noise alone is several %)
    busy = (d.expected > 0.2 * d.expected.groupby(level=0, observed=True).transform("max")).to_numpy()
    np.testing.assert_allclose(agg.load[busy], d.load[busy], rtol=0.06)
    tot_m = agg.load.groupby(level=0, observed=True).sum()
    np.testing.assert_allclose(tot_m, d.load.groupby(level=0, observed=True).sum(), rtol=0.03)
    # with no day-to-day factor, the interval means agree to integration error
    sc = load_scenario(overrides={"kinds": {k: {"day_sd": 0.0} for k in KINDS}})
    m2 = simulate(inv, ind, sc, freq="1min", **kw)
    d2 = simulate(inv, ind, sc, freq="1D", **kw).set_index(["resource_id", "ts"])["expected"]
    a2 = m2.groupby(["resource_id", m2.ts.dt.floor("D")], observed=True)["expected"].mean()
    np.testing.assert_allclose(a2.reindex(d2.index), d2, rtol=2e-3)


# ------------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------------
def test_bad_inputs_name_what_is_wrong():
    inv = _inv(3)
    with pytest.raises(SurgeplanError, match="freq"):
        simulate(inv, None, start="2020-01-01", end="2020-01-02", freq="2D")
    with pytest.raises(SurgeplanError, match="freq"):
        simulate(inv, None, start="2020-01-01", end="2020-01-02", freq="30s")
    with pytest.raises(SurgeplanError, match="end"):
        simulate(inv, None, start="2020-01-02", end="2020-01-01")
    bad = inv.copy()
    bad.loc[1, "capacity"] = -5
    with pytest.raises(ValidationError, match="row 2.*capacity"):
        simulate(bad, None, start="2020-01-01", end="2020-01-02")
    bad = inv.copy()
    bad.loc[2, "kind"] = "router"
    with pytest.raises(ValidationError, match="row 3.*kind"):
        simulate(bad, None, start="2020-01-01", end="2020-01-02")
    with pytest.raises(ValidationError, match="duplicate"):
        simulate(pd.concat([inv, inv.iloc[:1]]), None, start="2020-01-01", end="2020-01-02")
    with pytest.raises(ValidationError, match="region"):
        simulate(inv.drop(columns="region"), None, start="2020-01-01", end="2020-01-02")


def test_bundled_operator_through_a_lockdown_overloads_some_resources_not_all():
    inv = bundled_inventory()
    days = pd.date_range("2020-01-01", "2020-06-30")
    v = np.where((days >= "2020-03-17") & (days < "2020-05-11"), 88.0, 10.0)
    ind = pd.concat(
        [
            pd.DataFrame({"region": r, "date": days, "name": "stringency_index", "value": v})
            for r in inv.region.unique()
        ]
    )
    out = simulate(inv, ind, start="2020-04-06", end="2020-04-13", freq="1h", seed=0)
    peak = out.groupby("resource_id", observed=True)["load"].max()
    util = peak / inv.set_index("resource_id").capacity.reindex(peak.index)
    kind = inv.set_index("resource_id").kind.reindex(peak.index)
    over = util > 1.0
    # VPN x8 from ~0.2: nearly all over capacity; links +20 % from ~0.5: few over capacity, some
    # over their 0.7 planning ceiling; trunks x2 from ~0.45 Erlang per circuit: some over, not all
    assert over[kind == "vpn_gateway"].mean() > 0.8
    assert over[kind == "link"].mean() < 0.1
    assert 0.0 < (util[kind == "link"] > 0.7).mean() < 1.0
    assert 0.0 < over[kind == "trunk_group"].mean() < 1.0


def test_edge_inputs():
    empty = pd.DataFrame({"resource_id": [], "kind": [], "region": [], "capacity": []})
    out = simulate(empty, None, start="2020-01-01", end="2020-01-02")
    assert list(out.columns) == ["resource_id", "ts", "load"] and len(out) == 0
    # unknown region -> UTC and no shock; numeric ids; tz-aware start; a dict scenario
    inv = pd.DataFrame(
        {"resource_id": [1, 2], "kind": ["generic", "link"], "region": ["ZZZ", None], "capacity": [5, 10]}
    )
    out = simulate(
        inv,
        None,
        {"kinds": {"link": {"uplift": 1.5}}},
        start=pd.Timestamp("2020-01-01", tz="Europe/Paris"),
        end="2020-01-02",
        freq="1h",
    )
    assert out.ts.iloc[0] == pd.Timestamp("2019-12-31 23:00", tz="UTC") and len(out) == 2 * 25
    assert list(out.resource_id.cat.categories) == ["1", "2"]
    with pytest.raises(SurgeplanError, match="seed"):
        simulate(inv, None, seed=-1)
