"""Restriction paths projected after a region crosses its lockdown threshold (analogue forecast).

Known answers by construction: four regions cross the threshold (stringency >= 70) one day
apart and tighten to 86 three days after their crossing; a fifth crosses later at stringency 45
by a nationwide stay-at-home order. Its projected stringency three days after its crossing is
the median of the earlier regions' value then: 86, whatever its own value on the day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surgeplan.forecast import ShockForecaster
from surgeplan.forecast.projection import project_after_crossing

DAYS = pd.date_range("2020-02-01", "2020-05-31", freq="D")


def _region(name: str, steps: list[tuple[str, float, float]]) -> pd.DataFrame:
    """Indicator rows from ``(first day, stringency, stay_home level)`` steps (0 before the first)."""
    s, c6 = np.zeros(len(DAYS)), np.zeros(len(DAYS))
    for day, sv, cv in steps:
        on = DAYS >= pd.Timestamp(day)
        s[on], c6[on] = sv, cv
    return pd.concat(
        [
            pd.DataFrame({"region": name, "date": DAYS, "name": "stringency_index", "value": s}),
            pd.DataFrame({"region": name, "date": DAYS, "name": "stay_home_required", "value": c6}),
            pd.DataFrame(
                {"region": name, "date": DAYS, "name": "stay_home_general", "value": (c6 > 0) * 1.0}
            ),
        ]
    )


def _earlier(i: int) -> list[tuple[str, float, float]]:
    d0 = pd.Timestamp("2020-03-02") + pd.Timedelta(days=i)
    return [(str(d0.date()), 72.0, 1.0), (str((d0 + pd.Timedelta(days=3)).date()), 86.0, 2.0)]


@pytest.fixture(scope="module")
def indicators() -> pd.DataFrame:
    frames = [_region(f"E{i}", _earlier(i)) for i in range(4)]
    frames.append(_region("LATE", [("2020-03-20", 45.0, 2.0)]))  # crosses by stay-at-home, at 45
    frames.append(_region("CALM", [("2020-03-10", 30.0, 0.0)]))  # never crosses
    return pd.concat(frames, ignore_index=True)


def test_late_region_follows_the_earlier_regions_path(indicators):
    # known up to 2020-03-21 (the crossing day 20 March and one day after)
    table, how = project_after_crossing(indicators, "2020-03-22")
    assert how.get("LATE") == "projected" and "CALM" not in how
    late = table[(table["region"] == "LATE")].pivot(index="date", columns="name", values="value")
    assert late.index.min() == pd.Timestamp("2020-03-22")  # only days after the last observed one
    s = late["stringency_index"]
    # day +2 after crossing: the earlier regions were still at 72 (below 45? no: above) -> 72
    assert s[pd.Timestamp("2020-03-22")] == pytest.approx(72.0)
    # day +3 onwards: 86, held over the horizon (never eases)
    assert (s[s.index >= pd.Timestamp("2020-03-23")] == 86.0).all()
    # the stay-at-home level is written too (held at 2: never below its own last value)
    assert (late["stay_home_required"] == 2.0).all()


def test_regions_that_crossed_long_ago_and_the_first_ones_are_not_projected(indicators):
    table, how = project_after_crossing(indicators, "2020-05-01")
    assert "LATE" not in how  # crossed 42 days before: beyond the 28-day window
    table, how = project_after_crossing(indicators, "2020-03-04")
    assert how == {}  # E0, E1 crossed, but nobody crossed before them (min_regions = 3)


def test_nothing_known_after_asof_is_used(indicators):
    # a variant whose earlier regions tighten further after the as-of day: same projection
    later = indicators.copy()
    after = (
        (later["date"] >= pd.Timestamp("2020-03-22"))
        & later["region"].str.startswith("E")
        & (later["name"] == "stringency_index")
    )
    later.loc[after, "value"] = 100.0
    a, _ = project_after_crossing(indicators, "2020-03-22")
    b, _ = project_after_crossing(later, "2020-03-22")
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


@pytest.fixture(scope="module")
def ramp_case():
    """The load doubles at full restriction: ``load = base x 2 ** u``, ``u`` a ramp of the
    stringency from 50 (0) to 80 (1), one day late. Earlier regions cross at 72 and tighten to
    86; the late region crosses at 70 (u = 2/3) on 2020-03-20."""
    frames = [_region(f"E{i}", [(a, s, 0.0) for a, s, _ in _earlier(i)]) for i in range(4)]
    frames.append(_region("LATE", [("2020-03-20", 70.0, 0.0)]))
    ind = pd.concat(frames, ignore_index=True)
    ts = pd.date_range("2020-02-03", "2020-03-22", freq="h", tz="UTC", inclusive="left")
    rng = np.random.default_rng(3)
    st = ind[ind["name"] == "stringency_index"].pivot(index="date", columns="region", values="value")
    meas, inv = [], []
    day = ts.tz_localize(None).normalize()
    base = 100 * (1 + 0.3 * np.sin(2 * np.pi * (ts.hour.to_numpy() - 8) / 24))  # mean 100
    for region in ("E0", "E1", "E2", "E3", "LATE"):
        u = np.clip((st[region].reindex(day - pd.Timedelta(days=1)).fillna(0).to_numpy() - 50) / 30, 0, 1)
        y = base * 2.0**u * np.exp(rng.normal(0, 0.02, len(ts)))
        meas.append(pd.DataFrame({"resource_id": f"TG-{region}", "ts": ts, "load": y}))
        inv.append({"resource_id": f"TG-{region}", "kind": "trunk_group", "region": region})
    return pd.concat(meas, ignore_index=True), pd.DataFrame(inv), ind


def _late_mean(fc: pd.DataFrame) -> float:
    late = fc[
        (fc["resource_id"] == "TG-LATE") & (pd.to_datetime(fc["ts"]) >= pd.Timestamp("2020-03-27", tz="UTC"))
    ]
    return float(late["p50"].mean())


def test_forecast_at_crossing_carries_the_full_response(ramp_case):
    """The late region's forecast made two days after its crossing carries the doubling (x2)
    when projected, x2 ** (2/3) = 1.59 when its last value is held."""
    meas, inv, ind = ramp_case
    known = ind[ind["date"] < pd.Timestamp("2020-03-22")]
    out = {}
    for project in (True, False):
        model = ShockForecaster(
            project_restrictions=project, driver_grid=None, stringency_range=(50.0, 80.0), learn_driver=False
        )
        fc = model.fit(meas, inv, known).predict("14D")
        out[project] = (_late_mean(fc), model.indicator_source_["LATE"])
    assert out[True][1] == "projected" and out[False][1] == "held_last"
    assert out[True][0] == pytest.approx(200.0, rel=0.08)
    assert out[False][0] == pytest.approx(100.0 * 2.0 ** (2 / 3), rel=0.08)


def test_projection_follows_indicators_that_arrive_through_update(ramp_case):
    """Fitted before the late region crossed (nothing to project), then told of the crossing by
    ``update``: the next forecast projects it (the once-a-day cache follows the indicators)."""
    meas, inv, ind = ramp_case
    ts = pd.to_datetime(meas["ts"])
    cut = pd.Timestamp("2020-03-20", tz="UTC")
    model = ShockForecaster(driver_grid=None, stringency_range=(50.0, 80.0), learn_driver=False)
    model.fit(meas[ts < cut], inv, ind[ind["date"] < pd.Timestamp("2020-03-20")])
    model.predict("7D")
    assert model.indicator_source_["LATE"] == "held_last"
    model.update(meas[ts >= cut], indicators=ind[ind["date"] < pd.Timestamp("2020-03-22")])
    fc = model.predict("14D")
    assert model.indicator_source_["LATE"] == "projected"
    assert _late_mean(fc) == pytest.approx(200.0, rel=0.10)


def test_bad_input_is_named(indicators):
    from surgeplan.errors import SurgeplanError

    with pytest.raises(SurgeplanError, match="asof"):
        project_after_crossing(indicators, "the day after")
    with pytest.raises(SurgeplanError, match="value"):
        project_after_crossing(indicators.drop(columns="value"), "2020-03-22")
    with pytest.raises(SurgeplanError, match="window_days"):
        project_after_crossing(indicators, "2020-03-22", window_days=-1)
    with pytest.raises(SurgeplanError, match="projection_window_days"):
        ShockForecaster(projection_window_days=-3)


# ------------------------------------------------------------------ epidemic indicators (trend)
def _incidence(region: str, values: np.ndarray, first: str = "2020-03-01") -> pd.DataFrame:
    days = pd.date_range(first, periods=len(values), freq="D")
    return pd.DataFrame({"region": region, "date": days, "name": "incidence", "value": values})


def test_rising_incidence_follows_its_damped_trend_up_to_the_highest_level_seen():
    # A doubles every 5 days for 14 days; B reached 150 and falls: A's projection k days on is
    # 10 x 2^(14 / 5) x exp(ln 2 / 5 x (0.9 + ... + 0.9^k)), written here by hand, capped at 150
    t = np.arange(15.0)
    rate = np.log(2.0) / 5.0
    a = 10.0 * np.exp(rate * t)
    b = np.r_[np.full(10, 150.0), np.linspace(140.0, 100.0, 5)]
    ind = pd.concat([_incidence("A", a), _incidence("B", b)], ignore_index=True)
    from surgeplan.forecast.projection import project_trend

    rows, how = project_trend(ind, "2020-03-16", {"incidence": 1e9}, horizon_days=60)
    assert how == {"A": "projected"}  # B falls: held
    got = rows.set_index("date")["value"]
    for k in (1, 2, 5, 10):
        damped = sum(0.9**j for j in range(1, k + 1))
        want = min(a[-1] * np.exp(rate * damped), 150.0)
        assert got[pd.Timestamp("2020-03-15") + pd.Timedelta(days=k)] == pytest.approx(want, rel=1e-9)
    assert got.max() == pytest.approx(150.0)  # the analogue bound: never above any region's level
    assert got.index.min() == pd.Timestamp("2020-03-16")
    # nothing known on or after asof is read: the same answer with later rows added
    later = pd.concat([ind, _incidence("A", np.full(5, 1.0), "2020-03-16")], ignore_index=True)
    again, _ = project_trend(later, "2020-03-16", {"incidence": 1e9}, horizon_days=60)
    pd.testing.assert_frame_equal(rows, again)
    # A is already above the highest level a rule reads (50): projecting it changes nothing
    assert project_trend(ind, "2020-03-16", {"incidence": 50.0})[1] == {}


def test_rising_incidence_follows_the_regions_that_passed_its_level_before_it():
    # B, C, D passed A's last level (8) earlier and grew by known factors in the days after; A's
    # projection k days on is 8 x the median of their factors (written by hand), for the days
    # three of them cover, then their last week's growth goes on, damped
    n = 30
    t = np.arange(n, dtype=float)
    paths = {
        "B": np.r_[np.full(5, 4.0), 8.0 * 1.5 ** np.arange(n - 5)],  # passes 8 on day 5
        "C": np.r_[np.full(8, 2.0), 8.0 * 1.2 ** np.arange(n - 8)],  # day 8
        "D": np.r_[np.full(10, 1.0), 8.0 * 1.3 ** np.arange(n - 10)],  # day 10
        "A": np.r_[np.full(n - 6, np.nan), 8.0 * 2.0 ** ((t[-6:] - t[-1]) / 5.0)],  # ends at 8
    }
    ind = pd.concat([_incidence(r, v) for r, v in paths.items()], ignore_index=True)
    ind = ind.dropna(subset=["value"])
    from surgeplan.forecast.projection import TREND_DAMPING, project_trend

    asof = pd.Timestamp("2020-03-01") + pd.Timedelta(days=n)
    rows, how = project_trend(ind, asof, {"incidence": 1e12}, horizon_days=40)
    assert how["A"] == "projected" and "B" not in how  # B holds the highest level: nothing to project
    got = rows[rows["region"] == "A"].set_index("date")["value"]
    last_day = pd.Timestamp("2020-03-01") + pd.Timedelta(days=n - 1)
    # D passed 8 on day 10 and is known to day 29: the three cover 19 days
    for k in (1, 5, 19):
        want = 8.0 * float(np.median([1.5**k, 1.2**k, 1.3**k]))
        assert got[last_day + pd.Timedelta(days=k)] == pytest.approx(want, rel=1e-9)
    # beyond: the median's growth over its last 7 days (log 1.3 a day), damped
    rate = np.log(1.3)
    for j in (1, 4):
        damped = sum(TREND_DAMPING**i for i in range(1, j + 1))
        want = min(8.0 * 1.3**19 * np.exp(rate * damped), ind["value"].max())
        assert got[last_day + pd.Timedelta(days=19 + j)] == pytest.approx(want, rel=1e-9)
    assert got.max() <= ind["value"].max()  # never above the highest level seen


def test_quantiles_widened_by_a_response_error_are_those_of_the_sum_of_two_normals():
    from scipy.stats import norm

    from surgeplan.forecast.predict import with_response_spread

    q = np.array([0.01, 0.1, 0.5, 0.9, 0.99])
    z = np.broadcast_to(norm.ppf(q) * 1.3 + 0.2, (2, 3, 5)).copy()  # a normal noise law, sd 1.3
    extra = np.array([[0.0, 0.5, 2.0], [1.0, 1.0, 3.0]])
    got = with_response_spread(z, np.full((2, 3), 0.2), extra, q)
    want = 0.2 + norm.ppf(q)[None, None, :] * np.sqrt(1.3**2 + extra[..., None] ** 2)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_a_response_of_known_sign_spreads_as_a_normal_truncated_at_no_response():
    # reference: scipy's truncated normal (a fall is truncated above at 0, a rise below at 0);
    # with no noise the quantiles' distances to the median are the truncated law's own
    from scipy.stats import truncnorm

    from surgeplan.forecast.predict import with_response_spread

    q = np.array([0.01, 0.1, 0.5, 0.9, 0.99])
    mu = np.array([[-0.5, -0.1, 2.0], [0.3, 0.0, -3.0]])
    sd = np.array([[0.35, 0.5, 1.2], [0.6, 0.4, 0.2]])
    zero = np.zeros((2, 3, 5))
    got = with_response_spread(zero, np.zeros((2, 3)), sd, q, mu)
    for i, j in np.ndindex(mu.shape):
        m, s = mu[i, j], sd[i, j]
        if m == 0:  # no response carried: the sign is unknown, the normal's spread
            want = s * truncnorm.ppf(q, -np.inf, np.inf)
        else:
            a, b = (-np.inf, -m / s) if m < 0 else (-m / s, np.inf)
            law = truncnorm(a, b, loc=m, scale=s)
            want = law.ppf(q) - law.ppf(0.5)
        np.testing.assert_allclose(got[i, j], want, rtol=1e-9, atol=1e-12)
    # the response's p99 stays a fall: its median plus the p99's distance is below 0
    for j in (0, 1):
        m, s = mu[0, j], sd[0, j]
        assert truncnorm(-np.inf, -m / s, loc=m, scale=s).ppf(0.5) + got[0, j, -1] < 0
    # far from 0 (a x0.05 fall known to sd 0.2) it is the normal's
    np.testing.assert_allclose(got[1, 2], 0.2 * truncnorm.ppf(q, -np.inf, np.inf), rtol=1e-6)


def test_a_kind_flat_so_far_may_still_respond_beyond_the_days_the_shock_was_watched():
    # two kinds responded (x0.5 and x3, watched 6 and 4 days), one stayed flat: the flat kind's
    # sd is 0 up to 6 days into the shock, then grows linearly to half the smallest log size
    # seen (0.5 x ln 2) at 12 days; the responding kinds get none of it
    from types import SimpleNamespace

    from surgeplan.forecast.candidates import Candidate
    from surgeplan.forecast.driver import DriverChoice
    from surgeplan.forecast.learned import unseen_spread

    rule = Candidate("stay_home_required", "threshold", ">=", 2.0)

    def choice(kind, size, evidence, exposure):
        cand = rule if evidence != "none" else None
        log = (np.log(size), np.log(size))
        return DriverChoice(
            kind, cand, 0, 0.0, 21.0, log, (), 0.0, 0.0, evidence, False, (0.1, 0.1), exposure
        )

    drivers = {
        "link": choice("link", 0.5, "loro", 6),
        "vpn": choice("vpn", 3.0, "thin", 4),
        "voice": choice("voice", 1.0, "none", 0),
    }
    g = SimpleNamespace(kinds=np.array(["voice", "link", "vpn"]))
    days = np.arange(0, 16, dtype=float)
    on = np.ones(len(days))
    sd = unseen_spread(g, drivers, np.tile(days, (3, 1)), np.tile(on, (3, 1)))
    want = 0.5 * np.log(2.0) * np.clip((days - 6.0) / 6.0, 0.0, 1.0)
    np.testing.assert_allclose(sd[0], want, rtol=1e-12, atol=1e-15)
    assert not sd[1:].any()
    # half the driver, half the spread; no kind responded anywhere: nothing
    half = unseen_spread(g, drivers, np.tile(days, (3, 1)), np.full((3, len(days)), 0.5))
    np.testing.assert_allclose(half[0], want / 2, rtol=1e-12, atol=1e-15)
    calm = {"voice": drivers["voice"]}
    assert not unseen_spread(g, calm, np.tile(days, (3, 1)), np.tile(on, (3, 1))).any()
