"""Rolling-origin backtests of load forecasts, on anyone's data.

A backtest replays history: at every *origin* (local midnight of each day, or every ``every``)
the forecaster sees only the measurements before the origin and the indicators dated before the
origin's local day, forecasts the next ``horizon``, and the forecasts are scored against what
happened. Covariates (temperature, events) are known for the forecast window too.

Origins share state: the forecaster is fitted at the first origin and refitted every
``refit_every`` origins; in between it is brought forward with ``update()`` and the new day's data,
so a 100-day daily backtest over hundreds of series costs a few fits, not a hundred.

Scoring (:func:`score_backtest`), per resource and lead day ``horizon_days`` (1 = the day that starts
at the origin):

* **busy-hour point accuracy** (ITU-T E.500): the actual busy-hour load of a day is the highest hourly
  mean load of that local day; the forecast busy-hour load is the highest hourly forecast *mean* of
  that day. ``mape`` (percent), ``mae``, ``rmse`` (load unit) and ``mase`` compare them. The MASE
  scale is the in-sample MAE of the weekly seasonal naive forecast of the *daily busy-hour series*
  over the history before the first origin (``y_d - y_{d-7}``; ``y_d - y_{d-1}`` when the history is
  shorter than 8 days), so MASE < 1 beats "same day last week" as measured in-sample.
* **quantiles**: ``pinball`` is the pinball loss averaged over the user's quantiles and over all
  forecast steps (load unit); ``pinball_scaled`` divides it by the MASE scale. ``coverage_80``
  and ``coverage_98`` are the shares of forecast steps whose actual lies in [p10, p90] and [p1, p99]
  (these five quantiles are always produced internally, whatever the user asked for);
  ``bh_coverage_80`` / ``bh_coverage_98`` do the same for the busy-hour load, with the busy-hour
  quantile approximated by the day's highest hourly quantile (exact when forecast errors move
  together over the day, conservative otherwise).
* **anticipation** (needs an inventory with ``capacity``): ``shortage_date`` is the first local
  day, from the first origin on, whose actual busy-hour load exceeds the installed capacity.
  An origin *warns* when its forecast busy-hour load at ``warning_quantile`` (default p90)
  exceeds the capacity on some day up to the shortage day. ``anticipation_days`` = shortage day
  minus the earliest warning origin among the origins whose window (``horizon_days`` long) still
  reaches the shortage day; NaN = the shortage was not foreseen at that horizon.

References
----------
.. [1] L. J. Tashman, "Out-of-sample tests of forecasting accuracy: an analysis and review",
   International Journal of Forecasting 16(4), 437-450, 2000 (rolling origins).
.. [2] R. J. Hyndman, A. B. Koehler, "Another look at measures of forecast accuracy", IJF 22(4), 2006.
.. [3] ITU-T Recommendation E.500, "Traffic intensity measurement principles" (busy hour).
"""

from surgeplan.forecast.backtest.engine import BacktestResult, Forecaster, backtest, parse_quantiles
from surgeplan.forecast.backtest.io import read_inputs
from surgeplan.forecast.backtest.naive import SeasonalNaive
from surgeplan.forecast.backtest.origins import COVERAGE_QUANTILES, parse_duration, rolling_origins
from surgeplan.forecast.backtest.scoring import mase_scale, score_backtest, summarize
from surgeplan.quantiles import column as quantile_name

__all__ = [
    "COVERAGE_QUANTILES",
    "BacktestResult",
    "Forecaster",
    "SeasonalNaive",
    "backtest",
    "mase_scale",
    "parse_duration",
    "parse_quantiles",
    "quantile_name",
    "read_inputs",
    "rolling_origins",
    "score_backtest",
    "summarize",
]
