"""Anticipating threshold crossings: exact exponentials, and France forecast from 10 March 2020."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from surgeplan.errors import SurgeplanError
from surgeplan.signals import (
    AnticipationOptions,
    anticipate_crossing,
    backtest_anticipation,
    bundled_indicators,
    first_crossing_dates,
    lockdown_onset_values,
    threshold_from_earlier_regions,
)

T = pd.Timestamp


@pytest.fixture(scope="module")
def spring2020():
    return bundled_indicators("FRA,GBR,ITA,ESP,DEU,CHN", end="2020-06-30")


def _exp(region, y0, r, days, start="2021-01-01", name="x", noise=None):
    dates = pd.date_range(start, periods=days)
    y = y0 * np.exp(r * np.arange(days)) * (1 if noise is None else np.exp(noise))
    return pd.DataFrame({"region": region, "date": dates, "name": name, "value": y})


def test_exact_exponential_crossing():
    # y_t = 1 * e^{0.2 t}, t = 0 (2021-01-01) .. 19 known before asof 2021-01-21. Threshold 100 is reached
    # at t* = ln(100)/0.2 = 23.03, so the first day at or above it is t = 24 = 2021-01-25. A perfect fit has
    # no residual: earliest = median = latest.
    ind = _exp("AAA", 1.0, 0.2, 40)
    out = anticipate_crossing(ind, "2021-01-21", 100.0, name="x").set_index("region")
    row = out.loc["AAA"]
    assert row.status == "forecast" and row.growth_rate == pytest.approx(0.2, rel=1e-9)
    assert row.doubling_time_days == pytest.approx(math.log(2) / 0.2, rel=1e-9)
    assert row.earliest == row["median"] == row.latest == T("2021-01-25")
    assert row.last_date == T("2021-01-20")  # nothing on or after asof is used


def test_backtest_on_exact_exponential():
    # forecasts from 2021-01-11 and 2021-01-21 of y = e^{0.2 t}: both predict 2021-01-25 (t = 24), which is
    # what happens, so error 0 and inside; a falling region gets no error/inside (not a forecast)
    ind = pd.concat([_exp("AAA", 1.0, 0.2, 40), _exp("DEC", 50.0, -0.1, 40)])
    bt = backtest_anticipation(ind, ["2021-01-11", "2021-01-21"], 100.0, name="x")
    aaa = bt[bt.region == "AAA"]
    assert list(aaa["asof"]) == [T("2021-01-11"), T("2021-01-21")]
    assert (aaa["actual"] == T("2021-01-25")).all() and (aaa["median"] == T("2021-01-25")).all()
    assert (aaa.error_days == 0).all() and aaa.inside.all()
    dec = bt[bt.region == "DEC"]
    assert dec.error_days.isna().all() and dec.inside.isna().all()


def test_noise_widens_the_range_and_statuses():
    rng = np.random.default_rng(1)
    noisy = _exp("NOI", 1.0, 0.2, 20, noise=rng.normal(0, 0.15, 20))
    falling = _exp("DEC", 50.0, -0.1, 20)
    above = _exp("ABV", 150.0, 0.05, 20)
    sparse = _exp("SPA", 1.0, 0.2, 3)
    out = anticipate_crossing(pd.concat([noisy, falling, above, sparse]), "2021-01-21", 100.0, name="x")
    out = out.set_index("region")
    n = out.loc["NOI"]
    assert n.status == "forecast" and n.earliest < n.latest
    plain = anticipate_crossing(
        noisy, "2021-01-21", 100.0, name="x", options=AnticipationOptions(autocorrelation=False)
    ).iloc[0]
    assert plain["median"] == n["median"]  # same fit, the widening only moves the range ends outwards
    assert plain.earliest >= n.earliest and (pd.isna(n.latest) or plain.latest <= n.latest)
    assert n.earliest <= n["median"] <= n.latest
    assert n.growth_rate_low < 0.2 < n.growth_rate_high  # 90% interval on the slope covers the truth here
    assert out.loc["DEC", "status"] == "not_growing" and pd.isna(out.loc["DEC", "median"])
    assert out.loc["ABV", "status"] == "crossed" and out.loc["ABV", "crossed_on"] == T("2021-01-01")
    assert out.loc["SPA", "status"] == "no_data"


def test_threshold_from_italy(spring2020):
    # Italy's first lockdown day under the default rule is 2020-03-04 (stringency 72.69). Its 7-day sum of new
    # cases that day = cumulative 3089 (04Mar) - 453 (26Feb) = 2636; population 2019 59 729 081
    # -> 2636 / 597.29081 = 4.41326 cases per 100 000 in 7 days.
    thr = threshold_from_earlier_regions(spring2020, asof="2020-03-10", regions="ITA")
    assert thr == pytest.approx(2636 / 597.29081, rel=1e-9)
    onset = lockdown_onset_values(spring2020, asof="2020-03-10")
    # only China (2020-02-01) and Italy had locked down before 10 March 2020 among these regions
    assert list(onset.region) == ["CHN", "ITA"]
    assert threshold_from_earlier_regions(spring2020, asof="2020-03-10", statistic="max") == pytest.approx(
        thr
    )
    with pytest.raises(SurgeplanError, match="no region"):
        threshold_from_earlier_regions(spring2020, asof="2020-01-30")


def test_france_from_10_march_2020(spring2020):
    thr = 2636 / 597.29081  # Italy's incidence at its lockdown (test above)
    out = anticipate_crossing(spring2020, "2020-03-10", thr).set_index("region")
    fra = out.loc["FRA"]
    # France really reached 4.41 on 2020-03-13: 7-day sum 3661 (13Mar) - 613 (06Mar) = 3048 -> 4.52 per 100k,
    # while on 12Mar it was 2281 - 423 = 1858 -> 2.76. It locked down on 2020-03-17.
    assert first_crossing_dates(spring2020, thr)["FRA"] == T("2020-03-13")
    assert fra.status == "forecast" and fra.last_date == T("2020-03-09")
    # A useful forecast made on 10 March must (a) say "within days", not weeks: the median falls between asof
    # and the real lockdown 17 March; (b) bracket the real crossing with its range, allowing one day of slack
    # for the day-to-day reporting noise of the 7-day sum (the band only reflects the trend-fit uncertainty).
    # The calibrated range (default) is honest about the past errors of the method: on the rows known on 10
    # March (these six countries, replayed as past forecasts), long delays were not excluded, so `latest` is
    # open (NaT) while the earliest day stays informative. Updated when the range became calibrated: the real
    # day 13 March must be inside (no slack needed), and an open end must be reported as NaT, not as a made-up
    # day.
    assert fra.range_method in ("calibrated", "parametric")
    assert T("2020-03-10") <= fra.earliest <= fra["median"] and (
        pd.isna(fra.latest) or fra["median"] <= fra.latest
    )
    assert T("2020-03-10") <= fra["median"] <= T("2020-03-17")
    assert fra.earliest <= T("2020-03-13") and (pd.isna(fra.latest) or T("2020-03-13") <= fra.latest)
    # the trend-fit-only range (the former default), as before: brackets the real day with one day of slack
    # for the day-to-day reporting noise of the 7-day sum (the band only reflects the trend-fit uncertainty).
    par = anticipate_crossing(
        spring2020, "2020-03-10", thr, options=AnticipationOptions(calibrate=False, growth_volatility=False)
    )
    par = par.set_index("region").loc["FRA"]
    assert par.range_method == "parametric"
    assert T("2020-03-10") <= par.earliest <= par["median"] <= par.latest
    assert par.earliest - pd.Timedelta(days=1) <= T("2020-03-13") <= par.latest + pd.Timedelta(days=1)
    # growth of the 7-day incidence in early March 2020 in France: doubling every 2-3 days
    assert 1.5 < fra.doubling_time_days < 3.5
    assert out.loc["ITA", "status"] == "crossed" and out.loc["ITA", "crossed_on"] == T("2020-03-04")


def test_no_look_ahead(spring2020):
    # the answer on 10 March must not change when the data after 10 March are removed
    full = anticipate_crossing(spring2020, "2020-03-10", 4.4)
    cut = anticipate_crossing(spring2020[spring2020.date < T("2020-03-10")], "2020-03-10", 4.4)
    pd.testing.assert_frame_equal(full, cut)


def test_errors(spring2020):
    with pytest.raises(SurgeplanError, match="threshold"):
        anticipate_crossing(spring2020, "2020-03-10", 0.0)
    with pytest.raises(SurgeplanError, match="level"):
        anticipate_crossing(spring2020, "2020-03-10", 1.0, options=AnticipationOptions(level=1.5))
    with pytest.raises(SurgeplanError):
        anticipate_crossing(spring2020, "2019-01-01", 1.0)
