"""Lockdown periods: real first-lockdown dates from the bundled OxCGRT data, and synthetic edge cases.

Reference dates (OxCGRT legacy files, read by hand, and the public record):
* France: national confinement from 17 March 2020 (C6 = 2, flag 1; stringency 56.94 -> 87.96 that day).
* United Kingdom: "stay at home" order of 23 March 2020 (C6 = 2 with flag 1 from 23Mar2020; stringency
  62.04 on 22Mar, 78.24 on 23Mar, so both conditions start the same day).
* Italy: national lockdown decree of 9 March, in force 10 March 2020 (C6 flag 1 from 10Mar2020); C6 = 2
  from 23 Feb 2020 only for towns in Lombardy and Veneto (flag 0); stringency 69.91 on 3Mar, 72.69 on
  4Mar 2020, so with the default rule ("any") Italy's first lockdown day is 2020-03-04.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surgeplan.errors import SurgeplanError
from surgeplan.signals import (
    LockdownRule,
    bundled_indicators,
    first_lockdown,
    lockdown_indicator,
    lockdown_periods,
)

T = pd.Timestamp


@pytest.fixture(scope="module")
def spring2020():
    return bundled_indicators("FRA,GBR,ITA,DEU,SWE,JPN", end="2020-12-31")


def test_default_rule_real_dates(spring2020):
    first = first_lockdown(spring2020)
    assert first["FRA"] == T("2020-03-17")
    assert first["GBR"] == T("2020-03-23")
    assert first["ITA"] == T("2020-03-04")  # stringency >= 70 (72.69) before the national order
    assert "JPN" not in first.index  # Japan never required staying home nationally nor reached 70 in 2020
    periods = lockdown_periods(spring2020, regions="FRA")
    assert periods.trigger.iloc[0] == "stay_home+stringency"
    # France's first confinement was lifted on 11 May 2020 but stringency stayed >= 70 until 21 June 2020
    assert periods.end.iloc[0] == T("2020-06-21")
    assert periods.days.iloc[0] == (T("2020-06-21") - T("2020-03-17")).days + 1


def test_stay_home_rule_alone(spring2020):
    stay = LockdownRule(stringency_min=None)
    assert first_lockdown(spring2020, stay)["ITA"] == T("2020-03-10")  # not 2020-02-23 (targeted)
    targeted_too = LockdownRule(stringency_min=None, require_general=False)
    assert first_lockdown(spring2020, targeted_too)["ITA"] == T("2020-02-23")
    strict = LockdownRule(stay_home_min_level=None)
    assert first_lockdown(spring2020, strict)["ITA"] == T("2020-03-04")
    both = LockdownRule(combine="all")
    assert first_lockdown(spring2020, both)["ITA"] == T("2020-03-10")


def test_daily_indicator_matches_periods(spring2020):
    daily = lockdown_indicator(spring2020, regions="FRA,GBR")
    assert set(daily.name) == {"lockdown"} and set(daily.value) <= {0.0, 1.0}
    fra = daily[daily.region == "FRA"].set_index("date").value
    assert fra[T("2020-03-16")] == 0 and fra[T("2020-03-17")] == 1 and fra[T("2020-06-21")] == 1
    assert fra[T("2020-06-22")] == 0
    periods = lockdown_periods(spring2020, regions="FRA,GBR")
    assert int(daily.value.sum()) == int(periods.days.sum())


def _synthetic(values, flags=None):
    dates = pd.date_range("2021-01-01", periods=len(values))
    rows = [pd.DataFrame({"region": "AAA", "date": dates, "name": "stay_home_required", "value": values})]
    rows.append(
        pd.DataFrame(
            {
                "region": "AAA",
                "date": dates,
                "name": "stay_home_general",
                "value": np.ones(len(values)) if flags is None else flags,
            }
        )
    )
    rows.append(pd.DataFrame({"region": "AAA", "date": dates, "name": "stringency_index", "value": 10.0}))
    return pd.concat(rows, ignore_index=True)


def test_ongoing_min_days_and_gap_merging():
    # C6: 2 2 0 2 2 2 0 0 2 2 -> runs days 1-2, 4-6, 9-10 (the last one still on at the end of data)
    ind = _synthetic([2, 2, 0, 2, 2, 2, 0, 0, 2, 2])
    p = lockdown_periods(ind)
    assert list(p.start.dt.day) == [1, 4, 9]
    assert list(p.end.dt.day.fillna(-1).astype(int)) == [2, 6, -1] and list(p.ongoing) == [False, False, True]
    assert list(p.days) == [2, 3, 2]
    p = lockdown_periods(ind, LockdownRule(min_days=3))
    assert list(p.start.dt.day) == [4]
    p = lockdown_periods(ind, LockdownRule(max_gap_days=1))  # merges 1-2 with 4-6 (gap of one day), not 9-10
    assert list(p.start.dt.day) == [1, 9] and list(p.days) == [6, 2]
    daily = lockdown_indicator(ind, LockdownRule(max_gap_days=1)).value.to_numpy()
    assert list(daily) == [1, 1, 1, 1, 1, 1, 0, 0, 1, 1]


def test_targeted_flag_and_missing_days():
    # level 3 but targeted (flag 0) on days 1-3, general on days 4-5; day 5 missing in all rows -> carried
    ind = _synthetic([3, 3, 3, 3, 3, 3], flags=[0, 0, 0, 1, 1, 1])
    ind = ind[ind.date != T("2021-01-05")]
    p = lockdown_periods(ind)
    assert list(p.start) == [T("2021-01-04")] and p.ongoing.iloc[0] and p.days.iloc[0] == 3


def test_raw_frame_is_validated():
    # a frame straight from a user: string dates, integer values, lower-case codes
    raw = pd.DataFrame(
        {
            "region": ["aaa"] * 3,
            "date": ["2021-01-01", "2021-01-02", "2021-01-03"],
            "name": ["stringency_index"] * 3,
            "value": [50, 75, 80],
        }
    )
    p = lockdown_periods(raw, LockdownRule(stay_home_min_level=None))
    assert list(p.region) == ["AAA"] and p.start.iloc[0] == T("2021-01-02") and p.ongoing.iloc[0]


def test_asof_makes_period_ongoing(spring2020):
    p = lockdown_periods(spring2020, regions="FRA", asof="2020-04-01")
    assert len(p) == 1 and p.start.iloc[0] == T("2020-03-17") and pd.isna(p.end.iloc[0]) and p.ongoing.iloc[0]


def test_rule_validation():
    with pytest.raises(SurgeplanError):
        LockdownRule(stay_home_min_level=None, stringency_min=None)
    with pytest.raises(SurgeplanError):
        LockdownRule(combine="most")
    with pytest.raises(SurgeplanError):
        LockdownRule(stringency_min=170)
    with pytest.raises(SurgeplanError, match="stay_home_required"):
        lockdown_periods(
            pd.DataFrame({"region": ["A"], "date": [T("2020-01-01")], "name": ["x"], "value": [1.0]})
        )
    assert "whole country" in LockdownRule().describe()
