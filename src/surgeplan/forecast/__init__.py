"""Forecasting layer: baseline x shock response, calibrated quantiles, any cadence, many resources.

Public API (stable names; see ``docs/INTERFACES.md``)
-----------------------------------------------------
``ShockForecaster(quantiles=(0.5, 0.9, 0.99), **options)``
    ``.fit(measurements, inventory=None, indicators=None, covariates=None, cutoff=None) -> self``
    ``.predict(horizon, indicators_future=None, covariates=None) -> DataFrame``
        columns ``resource_id, ts, mean, p50, p90, p99`` (one ``p..`` per quantile), ``ts`` UTC,
        at each resource's own cadence; ``horizon`` = steps (int) or a duration (``'14D'``).
        ``indicators_future``: long table, ``{region: {"lockdown_start": ..., "stringency": ...}}``,
        or ``'anticipate'`` (lockdown dates projected from case growth by ``surgeplan.signals``).
        ``attrs['indicator_source']`` and ``model.indicator_source_``: {region: 'observed' |
        'held_last' | 'projected' | 'scenario' | 'anticipated' | 'none'}. Without
        ``indicators_future``, regions that crossed their lockdown threshold in the last four weeks
        follow the restriction path of the regions that crossed before them ('projected', option
        ``project_restrictions=True``, :func:`projection.project_after_crossing`).
        With held indicators, regions not under restrictions yet get quantiles widened for the
        chance that restrictions start within the lead (option ``regime_change=True``: a mixture
        with the shock-response path, probability from signals' projected crossing or the
        empirical onset rate; ``conformal.regime_mixture_z``).
    ``.update(new_measurements, indicators=None, covariates=None) -> self``  Kalman fold-in, no refit
    ``.refit() -> self``  full refit on all data seen
    ``.response_``  per-resource shock response (lag, size weekday/weekend, evidence, source)
    ``.calibration_``  achieved quantile coverage on the rolling-origin calibration set
    ``.combination_``  model vs seasonal-naive weight per kind and lead bucket
    ``.cadence_``  inferred cadence per resource (s)
``busy_hour(forecasts, period='D'|'W') -> DataFrame resource_id, period, busy_hour, mean, p..``
``quantile_column(q) -> str``  (0.5 -> 'p50', 0.975 -> 'p97.5'); ``parse_quantile_column``
``driver(stringency, stay_home)``  restriction intensity u in [0, 1]
``scenario_indicators(dict | DataFrame)``  scenario -> indicators long table
``project_after_crossing(indicators, asof)``  restriction paths after a crossing, from earlier regions
``datasets.rte_france()``  bundled French lockdown load data (proof of the model)
``datasets.nyc_load()``  bundled New York City hourly load 2019-2020 (NYISO zone J, MW)

Tables (Nixtla shape): measurements ``resource_id, ts, load`` (= ``unique_id, ds, y``; both
accepted), indicators ``region, date, name, value``, covariates ``resource_id|region, ts, name,
value``.
"""

from __future__ import annotations

from surgeplan.forecast.busy_hour import busy_hour
from surgeplan.forecast.features import parse_quantile_column, quantile_column
from surgeplan.forecast.model import ShockForecaster
from surgeplan.forecast.projection import project_after_crossing
from surgeplan.forecast.shock import driver, scenario_indicators

__all__ = [
    "ShockForecaster",
    "busy_hour",
    "driver",
    "parse_quantile_column",
    "project_after_crossing",
    "quantile_column",
    "scenario_indicators",
]


def __getattr__(name: str):  # lazy: backtest lives in its own module (no import cycle)
    if name == "backtest":
        from surgeplan.forecast.backtest import backtest

        return backtest
    raise AttributeError(f"module 'surgeplan.forecast' has no attribute {name!r}")
