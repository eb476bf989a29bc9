"""The project's model backtested on the SECOND, independent generator (tests/generators/alt_shock.py).

The generator shares no functional form with ``surgeplan.simulate`` (logistic ramps with other lags,
habits that persist after restrictions lift, unrelated level shifts, missing hours, spikes, a
temperature covariate), so these checks say whether the model works beyond its own simulator.
The assertions are loose on purpose (few resources, few origins), but each can fail:

* sanity: every forecast finite, non-negative, quantiles in order, and no busy-hour forecast beyond
  10x the largest load the resource ever carried (an exploding extrapolation is a planning error);
* accuracy: over a window that contains the shock, the day-ahead busy-hour MASE of the model is
  below the weekly seasonal naive's (the planner's "same day last week"), median over resources;
* calibration: day-ahead hourly 80% intervals cover between 60% and 95% of the actuals, 98%
  intervals at least 85% (a planner sizes on them).
"""

from __future__ import annotations

import numpy as np
import pytest
from generators.alt_shock import generate

from surgeplan.forecast.backtest import SeasonalNaive, backtest

pytest.importorskip("surgeplan.forecast.model")


@pytest.fixture(scope="module")
def alt():
    data = generate(n_resources=5, seed=3, start="2020-01-01", end="2020-05-10", stagger_days=9.0)
    kw = {
        "start": "2020-03-06",
        "end": "2020-04-05",
        "every": "1d",
        "horizon": "7d",
        "quantiles": (0.1, 0.5, 0.9),
    }
    ours = backtest(data.measurements, data.inventory, data.indicators, data.covariates, refit_every=8, **kw)
    naive = backtest(
        data.measurements,
        data.inventory,
        data.indicators,
        data.covariates,
        model=lambda q: SeasonalNaive("week", q),
        refit_every=8,
        **kw,
    )
    return data, ours, naive


def test_generator_is_reproducible_and_shaped():
    a = generate(n_resources=5, seed=3, end="2020-02-10")
    b = generate(n_resources=5, seed=3, end="2020-02-10")
    assert a.measurements.equals(b.measurements)
    assert list(a.inventory.columns[:4]) == ["resource_id", "kind", "region", "capacity"]
    # about 2% of the hours are missing, nothing negative
    n_full = 5 * 41 * 24
    assert 0.9 * n_full < len(a.measurements) < 0.995 * n_full
    assert (a.measurements["load"] >= 0).all()
    assert set(a.indicators["name"]) >= {"stringency_index", "stay_home_required", "new_cases_per_100k_7d"}


def test_model_forecasts_are_well_formed(alt):
    _, ours, _ = alt
    f = ours.internal
    q = f[["mean", "p1", "p10", "p50", "p90", "p99"]].to_numpy()
    assert np.isfinite(q).all() and (q >= 0).all()
    assert (f["p1"] <= f["p10"] + 1e-9).all() and (f["p10"] <= f["p50"] + 1e-9).all()
    assert (f["p50"] <= f["p90"] + 1e-9).all() and (f["p90"] <= f["p99"] + 1e-9).all()


def test_model_does_not_explode(alt):
    data, ours, _ = alt
    peak = data.measurements.groupby("resource_id")["load"].max()
    ratio = ours.busy_hour.groupby("resource_id")["p90"].max() / peak
    assert (ratio < 10).all(), ratio.to_dict()


def test_model_beats_weekly_naive_day_ahead(alt):
    _, ours, naive = alt
    a = ours.metrics.query("horizon_days == 1")["mase"].median()
    b = naive.metrics.query("horizon_days == 1")["mase"].median()
    assert a < b, (a, b)


def test_model_intervals_roughly_calibrated(alt):
    _, ours, _ = alt
    m = ours.metrics.query("horizon_days == 1")
    assert 0.60 <= m["coverage_80"].mean() <= 0.95
    assert m["coverage_98"].mean() >= 0.85
