"""Derived indicators against hand computation and exact exponentials."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surgeplan.signals import (
    bundled_indicators,
    derive_indicators,
    doubling_time,
    growth_rate,
    level_crossings,
    read_owid,
)

OWID = Path(__file__).parent / "data" / "owid-covid-data-sample.csv"


def long(region: str, name: str, values, start: str = "2020-03-01") -> pd.DataFrame:
    dates = pd.date_range(start, periods=len(values), freq="D")
    frame = pd.DataFrame({"region": region, "date": dates, "name": name, "value": np.asarray(values, float)})
    return frame[frame.value.notna()]


def series(ind: pd.DataFrame, region: str, name: str) -> pd.Series:
    sub = ind[(ind.region == region) & (ind.name == name)]
    return sub.set_index("date").value


@pytest.mark.parametrize(
    "negative, expected",
    [
        # cumulative 0, 10, 30, 30, 25, 60 (a downward correction of 5 on day 5)
        # absorb: reverse running minimum 0, 10, 25, 25, 25, 60 -> 10, 15, 0, 0, 35 (total 60 kept)
        ("absorb", [10, 15, 0, 0, 35]),
        # clip: raw 10, 20, 0, -5, 35 -> negatives to 0
        ("clip", [10, 20, 0, 0, 35]),
        ("keep", [10, 20, 0, -5, 35]),
    ],
)
def test_new_cases_corrections(negative, expected):
    ind = long("AAA", "confirmed_cases", [0, 10, 30, 30, 25, 60])
    out = derive_indicators(ind, population=1e5, negative=negative)
    new = series(out, "AAA", "new_cases")
    assert list(new.index) == list(pd.date_range("2020-03-02", periods=5))  # first day has no increment
    assert list(new.values) == expected


def test_gap_in_cumulative_goes_to_next_day():
    # cumulative 5, (missing), 15, 18: the day after the gap gets the whole 10 (missing day counts 0)
    ind = long("AAA", "confirmed_cases", [5, np.nan, 15, 18])
    new = series(derive_indicators(ind, population=1e5), "AAA", "new_cases")
    assert list(new.values) == [0, 10, 3]


def test_incidence_per_100k_hand():
    # 10 new cases a day in a population of 200 000: 7-day sum 70 -> 35 per 100 000; needs 7 days of
    # increments
    ind = long("AAA", "confirmed_cases", np.arange(0, 100, 10))  # 10 days -> 9 increments
    out = derive_indicators(ind, population={"AAA": 200_000})
    inc = series(out, "AAA", "new_cases_per_100k_7d")
    assert inc.index.min() == pd.Timestamp("2020-03-08")  # increments from 03-02, 7th on 03-08
    assert np.allclose(inc.values, 35.0)
    # constant sums: growth 0 -> no doubling time
    assert np.allclose(series(out, "AAA", "growth_rate").values, 0.0)
    assert series(out, "AAA", "doubling_time_days").empty


def test_exact_exponential_growth_and_doubling():
    # N_t = 100 e^{0.1 t}: every 7-day sum grows by e^{0.7} a week, so r = 0.1 /day, doubling ln2/0.1 = 6.9315
    # d
    t = np.arange(40)
    cumulative = np.cumsum(100 * np.exp(0.1 * t))
    out = derive_indicators(long("AAA", "confirmed_cases", cumulative), population=1e6)
    r = series(out, "AAA", "growth_rate")
    td = series(out, "AAA", "doubling_time_days")
    assert len(r) == 40 - 1 - 6 - 7  # needs 7 increments for a sum, then a sum 7 days earlier
    assert np.allclose(r.values, 0.1, rtol=1e-9)
    assert np.allclose(td.values, math.log(2) / 0.1, rtol=1e-9)


def test_growth_and_doubling_functions():
    s = pd.Series(2.0 ** (np.arange(15) / 3.0))  # doubles every 3 days
    r = growth_rate(s, lag=7)
    assert r.iloc[:7].isna().all() and np.allclose(r.iloc[7:], math.log(2) / 3)
    assert doubling_time(math.log(2) / 3) == pytest.approx(3.0)
    assert np.isnan(doubling_time(-0.1)) and np.isnan(doubling_time(0.0))
    assert isinstance(doubling_time(r), pd.Series)


def test_population_sources():
    # from the indicators' own population rows (OWID file): FRA 7-day sum on 2020-03-08 = 1115 - 130 = 985,
    # population 67 813 000 -> 985 / 678.13 = 1.45253 per 100k
    out = derive_indicators(read_owid(OWID))
    inc = series(out, "FRA", "new_cases_per_100k_7d")
    assert inc[pd.Timestamp("2020-03-08")] == pytest.approx(985 / 678.13, rel=1e-9)
    # OWID new_cases are used as given (not re-derived): ITA 2020-03-10 = 10149 - 9172
    assert series(out, "ITA", "new_cases")[pd.Timestamp("2020-03-10")] == 977
    # bundled population when none given: France 2019 = 67 382 061; 7-day sum to 2020-03-17 = 7652 - 1773 =
    # 5879
    fra = derive_indicators(bundled_indicators("FRA", end="2020-04-01", names="confirmed_cases"))
    assert series(fra, "FRA", "new_cases_per_100k_7d")[pd.Timestamp("2020-03-17")] == pytest.approx(
        5879 / 673.82061, rel=1e-9
    )


def test_asof_uses_only_earlier_rows():
    ind = bundled_indicators("FRA,ITA", end="2020-04-30")
    early = derive_indicators(ind, asof="2020-03-10")
    assert early.date.max() == pd.Timestamp("2020-03-09")
    full = derive_indicators(ind)
    merged = early.merge(full, on=["region", "date", "name"], suffixes=("_early", "_full"))
    assert len(merged) == len(early)  # 'absorb' could differ only if a later correction existed; none here
    assert np.allclose(merged.value_early, merged.value_full)


def test_level_crossings():
    ind = long("AAA", "stringency_index", [10, 60, 75, 65, 80, np.nan, 40])
    out = level_crossings(ind, levels=70)
    # up on 03-03 (75), down on 03-04 (65), up on 03-05 (80); the missing 03-06 carries 80; down on 03-07 (40)
    assert list(zip(out.date.dt.day, out.direction)) == [(3, "up"), (4, "down"), (5, "up"), (7, "down")]
    both = level_crossings(ind, levels=[50, 70])
    assert set(both.level) == {50.0, 70.0}
    fra = level_crossings(bundled_indicators("FRA", end="2020-12-31"), levels=[70])
    assert fra.date.iloc[0] == pd.Timestamp("2020-03-17") and fra.direction.iloc[0] == "up"
