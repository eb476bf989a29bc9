"""Real hourly load of a large city through its 2020 shutdown (issue 16, item 6).

New York City (NYISO zone N.Y.C., bundled: ``surgeplan.forecast.datasets.nyc_load``), no weather,
the United States' OxCGRT indicators, ``surgeplan backtest``'s engine with a 7-day window at every
New York midnight from 16 March 2020 (the week New York State closed) to 30 April. The references
are the two seasonal naives, computed here from the measurements alone: "same hour on the last day
before the origin" and "same hour a week before". No clock change falls in the window, so a day is
24 UTC hours.

Measured (``benchmarks/bench_city_load.py``, RESULTS.md): hourly MAPE day ahead 2.29% (0.69x the better
naive), over the 7 days 2.66% (0.79x). The issue's bar is 0.8x for both; the 7-day bound below keeps a
margin for platform noise in the fit (the bar is reported by the benchmark, not asserted here at 0.79).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surgeplan.forecast import ShockForecaster
from surgeplan.forecast.backtest import backtest
from surgeplan.forecast.datasets import nyc_load
from surgeplan.signals import bundled_indicators

TZ = "America/New_York"
START, END = "2020-03-16", "2020-04-30"
HOUR = pd.Timedelta(hours=1)


@pytest.fixture(scope="module")
def city():
    meas = nyc_load()
    inv = pd.DataFrame({"resource_id": ["NYC-load"], "kind": ["generic"], "region": ["USA"]})
    ind = bundled_indicators(regions=["USA"], start="2020-01-01", end="2020-12-31")
    res = backtest(
        meas,
        inv,
        ind,
        None,
        start=START,
        end=END,
        horizon="7d",
        tz=TZ,
        quantiles=(0.1, 0.5, 0.9),
        model=lambda q: ShockForecaster(quantiles=tuple(q)),
        refit_every=7,
    )
    return meas, res


def _lead_day(frame: pd.DataFrame) -> np.ndarray:
    origin_day = pd.DatetimeIndex(frame["origin"]).tz_convert(TZ).tz_localize(None).normalize()
    day = pd.DatetimeIndex(frame["ts"]).tz_convert(TZ).tz_localize(None).normalize()
    return np.asarray((day - origin_day).days + 1)


def _measured(meas: pd.DataFrame, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The forecast rows whose hour was measured, and the load measured there (MW)."""
    actual = meas.set_index("ts")["load"].reindex(frame["ts"]).to_numpy()
    ok = np.isfinite(actual)
    return frame[ok], actual[ok]


def _mape_by_lead(forecast: np.ndarray, actual: np.ndarray, lead: np.ndarray) -> pd.Series:
    ape = 100.0 * np.abs(forecast - actual) / actual
    return pd.Series(ape).groupby(lead).mean()


def test_city_shutdown_day_ahead_and_week_beat_seasonal_naive(city):
    meas, res = city
    load = meas.set_index("ts")["load"]
    f, actual = _measured(meas, res.forecasts)
    lead = _lead_day(f)
    assert set(np.unique(lead)) == set(range(1, 8))
    # the references: the last full day before the origin, repeated; the same hour a week before
    hours_into = ((f["ts"] - f["origin"]) / HOUR).to_numpy().astype(int)
    last_day = f["origin"] - pd.Timedelta(days=1) + pd.to_timedelta(hours_into % 24, unit="h")
    naive_day = load.reindex(last_day).to_numpy()
    naive_week = load.reindex(f["ts"] - pd.Timedelta(days=7)).to_numpy()
    assert np.isfinite(naive_day).all() and np.isfinite(naive_week).all()

    ours = _mape_by_lead(f["mean"].to_numpy(), actual, lead)
    by_day = _mape_by_lead(naive_day, actual, lead)
    by_week = _mape_by_lead(naive_week, actual, lead)
    better_day1 = min(by_day[1], by_week[1])
    better_week = min(by_day.mean(), by_week.mean())
    # a forecaster that does not see the shutdown errs ~ the naive's size (3.3% day ahead)
    assert ours[1] <= 0.8 * better_day1, (ours[1], by_day[1], by_week[1])
    assert ours.mean() <= 0.85 * better_week, (ours.mean(), by_day.mean(), by_week.mean())
    # and the day-ahead error stays small in absolute terms (2.3% measured)
    assert ours[1] < 3.0


def test_city_shutdown_intervals_cover(city):
    meas, res = city
    f, actual = _measured(meas, res.internal)
    inside = (actual >= f["p10"].to_numpy()) & (actual <= f["p90"].to_numpy())
    # p10-p90 over the 7 days through the shutdown's first weeks (80.0% measured)
    assert 0.70 <= inside.mean() <= 0.90, inside.mean()
