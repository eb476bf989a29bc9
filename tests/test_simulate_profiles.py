"""Diurnal / weekly profiles in local time.

References: the documented shapes (voice peaks late morning and early evening on weekdays,
residential data peaks in the evening, VPN / conferencing follow office hours, contact centres have a
Monday peak), zoneinfo (the standard library) for local time, hand-computed UTC offsets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from surgeplan.simulate import (
    REGION_TIMEZONES,
    holiday_days,
    hourly_curve,
    load_scenario,
    local_clock,
    profile_day,
    region_timezone,
    simulate,
    weekly_profile,
)

SC = load_scenario()
H = np.arange(0.0, 24.0, 1 / 12)  # 5-minute grid


def test_curve_passes_through_hour_midpoints_and_is_periodic():
    v = SC.profiles["voice"].weekday
    np.testing.assert_allclose(hourly_curve(v, np.arange(24) + 0.5), v, atol=1e-12)
    assert hourly_curve(v, 0.0) == pytest.approx(hourly_curve(v, 24.0))
    s = hourly_curve(v, pd.Series([10.5, 22.5]))
    assert isinstance(s, pd.Series) and s.iloc[0] == pytest.approx(v[10])


def test_voice_weekday_peaks_late_morning_and_early_evening():
    p = weekly_profile(SC.profiles["voice"], H, 1)  # Tuesday
    assert 10.0 <= H[np.argmax(p)] < 12.0
    evening = (H >= 15) & (H < 20)
    assert 16.0 <= H[evening][np.argmax(p[evening])] < 19.0
    lunch = (H >= 12.5) & (H < 13.5)
    assert p[lunch].min() < 0.9 * p[evening].max()  # a lunch dip between the two peaks
    # busy hour of the week = 1 (E.500): Monday (day factor 1.00); Tuesday is 0.98 of it
    assert weekly_profile(SC.profiles["voice"], H, 0).max() == pytest.approx(1.0, abs=1e-3)
    assert p.max() == pytest.approx(SC.profiles["voice"].day_factor[1], abs=1e-3)
    assert weekly_profile(SC.profiles["voice"], H, 6).max() < 0.7  # quieter Sunday


def test_data_peaks_in_the_evening_vpn_and_meetings_in_office_hours():
    d = weekly_profile(SC.profiles["data"], H, 2)
    assert 19.0 <= H[np.argmax(d)] < 23.0
    for fam in ("office", "meeting"):
        p = weekly_profile(SC.profiles[fam], H, 2)
        office = (H >= 8) & (H < 18)
        assert p[office].sum() / p.sum() > 0.75  # most of the working day's volume in 8-18 h
        assert 8.0 <= H[np.argmax(p)] < 17.0
        assert weekly_profile(SC.profiles[fam], H, 6).max() < 0.2  # idle Sunday


def test_contact_centre_monday_is_the_busiest_day():
    vol = [weekly_profile(SC.profiles["contact"], H, d).sum() for d in range(7)]
    assert int(np.argmax(vol)) == 0
    assert vol[0] > 1.1 * vol[2]


def test_local_clock_matches_zoneinfo():
    rng = np.random.default_rng(0)
    ns = rng.integers(pd.Timestamp("2020-01-01").value, pd.Timestamp("2021-12-31").value, 300)
    for tz in ("Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney"):
        hour, dow, day = local_clock(ns, tz)
        for k in range(0, 300, 7):
            ref = datetime.fromtimestamp(ns[k] / 1e9, tz=UTC).astimezone(ZoneInfo(tz))
            assert hour[k] == pytest.approx(
                ref.hour + ref.minute / 60 + ref.second / 3600 + ref.microsecond / 3.6e9, abs=1e-6
            )
            assert dow[k] == ref.weekday()
            assert day[k] == (ref.date() - datetime(1970, 1, 1).date()).days


def test_timezone_map():
    assert region_timezone("FRA") == "Europe/Paris"
    assert region_timezone("XXX") == "UTC"
    assert region_timezone("USA", {"USA": "America/Chicago"}) == "America/Chicago"
    assert len(REGION_TIMEZONES) >= 35


@pytest.mark.parametrize(
    "region, start, utc_peak_hours",
    [
        # voice peak in local 10-12 h.  Paris winter UTC+1 -> 9-11 UTC; summer UTC+2 -> 8-10 UTC;
        # Tokyo UTC+9 -> 1-3 UTC; New York winter UTC-5 -> 15-17 UTC.
        ("FRA", "2020-01-06", (9, 11)),
        ("FRA", "2020-07-06", (8, 10)),
        ("JPN", "2020-01-06", (1, 3)),
        ("USA", "2020-01-06", (15, 17)),
    ],
)
def test_simulated_voice_busy_hour_is_in_local_time(region, start, utc_peak_hours):
    inv = pd.DataFrame(
        {"resource_id": ["t"], "kind": ["trunk_group"], "region": [region], "capacity": [300.0]}
    )
    out = simulate(
        inv,
        None,
        None,
        start=start,
        end=pd.Timestamp(start) + pd.Timedelta(days=5),
        freq="15min",
        seed=0,
        truth=True,
    )
    prof = out.groupby(out.ts.dt.hour + out.ts.dt.minute / 60)["expected"].mean()
    lo, hi = utc_peak_hours
    assert lo <= prof.idxmax() < hi


def _daily_voice(region: str, start: str, days: int, holidays: bool = True) -> pd.Series:
    sc = load_scenario(overrides={"scenario": {"public_holidays": holidays}})
    inv = pd.DataFrame(
        {"resource_id": ["t"], "kind": ["trunk_group"], "region": [region], "capacity": [300.0]}
    )
    out = simulate(
        inv,
        None,
        sc,
        start=start,
        end=pd.Timestamp(start) + pd.Timedelta(days=days),
        freq="1D",
        seed=0,
        truth=True,
    )
    return out.set_index(out.ts.dt.date)["baseline"]


def test_public_holiday_looks_like_a_sunday():
    # Christmas 2020 was a Friday; Sunday 27 Dec a normal Sunday (France, daily means in UTC days
    # which are 23/24 local hours: compare with a 10 % tolerance)
    d = _daily_voice("FRA", "2020-12-14", 14)
    from datetime import date

    assert d[date(2020, 12, 25)] == pytest.approx(d[date(2020, 12, 27)], rel=0.1)
    assert d[date(2020, 12, 18)] > 1.5 * d[date(2020, 12, 25)]  # the Friday before is a working day
    no = _daily_voice("FRA", "2020-12-14", 14, holidays=False)
    assert no[date(2020, 12, 25)] == pytest.approx(no[date(2020, 12, 18)], rel=0.05)


def test_friday_saturday_weekend():
    from datetime import date

    assert list(profile_day(np.arange(7), "EGY")) == [1, 2, 3, 4, 5, 6, 0]  # Sunday is the first working day
    assert list(profile_day(np.arange(7), "FRA")) == list(range(7))
    d = _daily_voice("EGY", "2020-02-02", 7, holidays=False)  # Sun 2 .. Sat 8 Feb 2020
    assert d[date(2020, 2, 7)] < 0.75 * d[date(2020, 2, 2)]  # Friday quiet, Sunday busy
    assert holiday_days("FRA", 18262, 18627).size == 11  # 2020: 11 French public holidays
