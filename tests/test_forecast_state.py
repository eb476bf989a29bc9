"""The forecaster's state: predict() reads it only, nothing is attached at run time, fallbacks say why."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from test_forecast_model import START, _frame, base_load, indicator_table

from surgeplan.forecast import ShockForecaster
from surgeplan.forecast.future import IndicatorSource
from surgeplan.forecast.state import Group


def _snapshot(value):
    """Deep copy of a state value, comparable with :func:`_same`."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _snapshot(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, pd.DataFrame | pd.Series):
        return value.copy(deep=True)
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple (a response pool)
        return type(value)(*(_snapshot(v) for v in value))
    if isinstance(value, list | tuple):
        return type(value)(_snapshot(v) for v in value)
    return value


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return (
            a.shape == b.shape and a.dtype == b.dtype and bool(np.all((a == b) | (pd.isna(a) & pd.isna(b))))
        )
    if isinstance(a, pd.DataFrame | pd.Series):
        return a.equals(b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.fixture(scope="module")
def fitted():
    """Two regions, one locked down (response x1.6) and one calm, hourly, 8 weeks."""
    ts = pd.date_range(START, periods=56 * 24, freq="h", tz="UTC")
    lock = pd.Timestamp(START) + pd.Timedelta(days=42)
    frames = []
    for region, on in (("FRA", True), ("ITA", False)):
        shock = np.where((ts.tz_localize(None) >= lock) & on, 1.6, 1.0)
        noise = np.exp(np.random.default_rng(len(region)).normal(0.0, 0.02, len(ts)))
        frames.append(_frame(f"{region}-1", ts, base_load(ts, region) * shock * noise))
    inv = pd.DataFrame({"resource_id": ["FRA-1", "ITA-1"], "kind": "trunk_group", "region": ["FRA", "ITA"]})
    ind = pd.concat(
        [
            indicator_table("FRA", "2021-03-01", 80, lock.strftime("%Y-%m-%d")),
            indicator_table("ITA", "2021-03-01", 80, None),
        ]
    )
    cut = ts[-1] + pd.Timedelta(hours=1)
    model = ShockForecaster(quantiles=(0.1, 0.5, 0.9)).fit(
        pd.concat(frames), inv, ind[ind["date"] < cut.tz_localize(None)]
    )
    return model


def test_predict_is_read_only(fitted):
    model = fitted
    model.predict("3D")  # the report of the last call (indicator_source_) is the one write
    before = {k: _snapshot(v) for k, v in vars(model).items()}
    first = model.predict("3D")
    for how in ("anticipate", {"ITA": {"lockdown_start": "2021-06-01"}}):
        model.predict("5D", indicators_future=how)
    second = model.predict("3D")
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    after = {k: _snapshot(v) for k, v in vars(model).items()}
    assert before.keys() == after.keys()
    changed = [k for k in before if not _same(before[k], after[k])]
    assert changed == [], f"predict() changed {changed}"


def test_fitted_state_has_no_room_for_new_attributes(fitted):
    g = fitted.state_.groups[0]
    assert isinstance(g, Group)
    with pytest.raises(AttributeError):
        g.anything = 1  # slots: nothing attached at run time
    with pytest.raises(AttributeError):
        fitted.state_.calibration.extra = {}


def test_fallback_is_recorded_with_its_reason(fitted):
    # the indicators have no case incidence: the lockdown of the calm region cannot be anticipated
    fitted.predict("2D", indicators_future="anticipate")
    src = fitted.indicator_source_["ITA"]
    assert src == "held_last"
    assert isinstance(src, IndicatorSource) and "not anticipated" in src.reason
    # held indicators: the calm region's regime risk falls back on the empirical onset rate
    held = fitted.predict("2D").attrs["indicator_source"]["ITA"]
    assert held == "held_last" and "onset rate" in held.reason
    assert fitted.indicator_source_["FRA"] in ("held_last", "projected")


def test_response_seen_at_partial_intensity_is_carried_as_a_level():
    """FRA at stringency 50 (intensity 0.25 under the default 40 -> 80 mapping) for 12 days, its
    load up 50%; no region anywhere has seen more. Under a full lockdown scenario the linear-in-u
    model would extrapolate the slope to 1.5 ** 4 = 5x; the load it has seen is 1.5x the base."""
    ts = pd.date_range(START, periods=49 * 24, freq="h", tz="UTC")
    onset = pd.Timestamp(START) + pd.Timedelta(days=37)
    day = ts.tz_convert("Europe/Paris").tz_localize(None).normalize()
    mult = np.where(day >= onset, 1.5, 1.0)
    noise = np.exp(np.random.default_rng(3).normal(0.0, 0.02, len(ts)))
    meas = _frame("FRA-1", ts, base_load(ts, "FRA") * mult * noise)
    dates = pd.date_range(START, periods=49, freq="D")
    ind = pd.DataFrame(
        {
            "region": "FRA",
            "date": dates,
            "name": "stringency_index",
            "value": np.where(dates >= onset, 50.0, 0.0),
        }
    )
    inv = pd.DataFrame({"resource_id": ["FRA-1"], "kind": "trunk_group", "region": ["FRA"]})
    model = ShockForecaster(quantiles=(0.1, 0.5, 0.9), regime_change=False).fit(meas, inv, ind)
    origin = ts[-1] + pd.Timedelta(hours=1)
    fc = model.predict("14D", indicators_future={"FRA": {"lockdown_start": origin.date(), "stringency": 90}})
    base = base_load(pd.DatetimeIndex(fc["ts"]), "FRA")
    ratio = float(np.median(fc["p50"].to_numpy() / base))
    assert 1.35 <= ratio <= 1.65
    assert float(np.quantile(fc["p90"].to_numpy() / base, 0.95)) < 2.5
