"""Bundled New York City load (NYISO zone J via COVID-EMDA): shape, DST handling and facts of the source.

Independent references: the row count follows from the calendar (600 local days x 24 hours, minus
the two spring-forward fillers; the fall-back day keeps the source's 24 of its 25 hours); the exact values
were read by hand from the source text (`data_release/nyiso/nyiso_nyc_load.csv`); the April
weekday means (5,273.0 MW in 2019, 4,501.1 MW in 2020) were computed from the source rows
outside the loader.
"""

from __future__ import annotations

import gzip
from importlib import resources

import pandas as pd
import pytest

from surgeplan.forecast.datasets import nyc_load

TZ = "America/New_York"


@pytest.fixture(scope="module")
def meas() -> pd.DataFrame:
    return nyc_load()


def test_columns_and_hourly_utc_stamps(meas):
    assert list(meas.columns) == ["resource_id", "ts", "load"]
    assert str(meas["ts"].dtype) == "datetime64[ns, UTC]"
    assert (meas["resource_id"] == "NYC-load").all()
    assert not meas["ts"].duplicated().any()
    assert meas["ts"].is_monotonic_increasing
    assert (meas["ts"].dt.minute == 0).all()
    steps = meas["ts"].diff().dropna()
    gaps = meas.loc[steps.index[steps != pd.Timedelta(hours=1)], "ts"]
    # the one hour the source lacks: the second 01:00 of 2019-11-03 (EST, 06:00 UTC)
    assert list(gaps) == [pd.Timestamp("2019-11-03 07:00", tz="UTC")]
    assert steps.max() == pd.Timedelta(hours=2)


def test_date_range_and_row_count(meas):
    assert meas["ts"].iloc[0] == pd.Timestamp("2019-01-01 00:00", tz=TZ)
    assert meas["ts"].iloc[-1] == pd.Timestamp("2020-08-22 23:00", tz=TZ)
    local_days = meas["ts"].dt.tz_convert(TZ).dt.normalize()
    assert local_days.nunique() == 600  # 365 days of 2019 + 235 of 2020 up to 08-22
    # every source value kept except the two spring-forward fillers; the fall-back day keeps its 24
    assert len(meas) == 600 * 24 - 2 == 14_398
    per_day = local_days.dt.strftime("%Y-%m-%d").value_counts()
    assert per_day["2019-03-10"] == 23 and per_day["2020-03-08"] == 23  # spring forward
    assert per_day["2019-11-03"] == 24  # 25 real hours, the source has 24
    assert set(per_day.drop(["2019-03-10", "2020-03-08", "2019-11-03"])) == {24}


def test_values_plausible(meas):
    assert meas["load"].notna().all()
    assert meas["load"].between(3_000.0, 12_000.0).all()
    assert meas["load"].min() == 3604.2
    assert meas["load"].max() == 10802.3


def test_exact_values_read_from_the_source(meas):
    by_ts = meas.set_index("ts")["load"]

    def at(local: str, dst: bool | None = None) -> float:
        ts = pd.Timestamp(local).tz_localize(TZ, ambiguous=dst if dst is not None else "raise")
        return float(by_ts[ts.tz_convert("UTC")])

    assert at("2019-01-01 00:00") == 4896.0
    assert at("2019-07-17 17:00") == 10802.3  # the heat-wave peak of the extract
    assert at("2020-04-01 12:00") == 4830.3
    assert at("2020-08-22 23:00") == 6682.5
    # spring forward: 01:00 EST then 03:00 EDT, one hour apart in UTC; the 02:00 filler is gone
    assert at("2019-03-10 01:00") == 4714.8
    assert at("2019-03-10 03:00") == 4586.2
    assert 4650.5 not in set(by_ts["2019-03-10 04:00Z":"2019-03-10 10:00Z"])
    # fall back: the single source 01:00 sits on the first (daylight-time) 01:00
    assert at("2019-11-03 01:00", dst=True) == 4226.7
    assert at("2019-11-03 02:00") == 3985.9


def test_spring_forward_filler_is_the_mean_of_its_neighbours():
    """Check on the raw file that the source's 02:00 on spring-forward days is an interpolation,
    the reason the loader drops it."""
    path = resources.files("surgeplan") / "data" / "nyc_load" / "nyc_load_2019_2020.csv.gz"
    with resources.as_file(path) as p, gzip.open(p, "rt") as f:
        raw = pd.read_csv(f, index_col="date")
    assert raw.shape == (600, 24)
    for day in ("2019-03-10", "2020-03-08"):
        h1, h2, h3 = raw.loc[day, ["01:00", "02:00", "03:00"]]
        assert round((h1 + h3) / 2, 1) == h2
    # an ordinary day is not interpolated there
    h1, h2, h3 = raw.loc["2019-03-09", ["01:00", "02:00", "03:00"]]
    assert round((h1 + h3) / 2, 1) != h2


def test_shutdown_drop_in_april_weekdays(meas):
    local = meas.assign(t=meas["ts"].dt.tz_convert(TZ))
    wd = local[local["t"].dt.dayofweek < 5]

    def mean(year: int, month: int) -> float:
        sel = wd[(wd["t"].dt.year == year) & (wd["t"].dt.month == month)]
        return float(sel["load"].mean())

    april = mean(2020, 4) / mean(2019, 4)
    assert april == pytest.approx(4501.1 / 5273.0, abs=0.002)  # -14.6%, hand-computed
    assert april < 0.90
    # the drop is not the mild winter alone: January-February 2020 were within 6% of 2019
    assert mean(2020, 1) / mean(2019, 1) > 0.94
    assert mean(2020, 2) / mean(2019, 2) > 0.94
