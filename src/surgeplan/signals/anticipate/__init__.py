"""Anticipating when regions will cross an indicator threshold (e.g. the incidence at which others
locked down).

A planner who must order voice circuits or VPN licences weeks before a lockdown asks, on day
``asof``: *when will region X reach the incidence at which regions Y and Z locked down?* This module
answers with what was known before ``asof`` only:

1. :func:`threshold_from_earlier_regions` takes the regions that have already locked down (under a
   :class:`~surgeplan.signals.lockdown.LockdownRule`) and summarises the value of the indicator on
   their first lockdown day (median by default).
2. :func:`anticipate_crossing` fits, per region, a log-linear trend
   ``ln y_t = a + r t`` (ordinary least squares) to the indicator over the last ``window`` days
   before ``asof`` and extrapolates it: the fitted line first reaches the threshold ``Lhat`` days
   after the last known day (the *parametric median*). Regions already at or above the threshold
   report the day they crossed it instead.
3. The range, and the median, are then *calibrated on the method's own past errors* (split-conformal
   style, Vovk et al. 2005; Angelopoulos & Bates 2023), using only the rows known at ``asof``: every
   day of the last ``calibration_days`` is replayed as a past forecast origin, for the threshold and
   for the lower levels ``threshold / 2**k`` (``k < calibration_levels``: the lead ratio is
   scale-free, and early in a wave few regions have reached the threshold itself), for the regions
   then growing and at most ``calibration_span`` times below the level. Each replay gives the log
   lead ratio ``z = ln(L / Lhat)`` between the real lead ``L`` and the predicted one, right-censored
   when the level had not been reached by ``asof``. The distribution of ``z`` is estimated by a
   Kaplan-Meier estimator (censoring-aware, so the regions still waiting do not bias it early),
   weighted by a Gaussian kernel of width ``ln 2`` on ``ln Lhat`` around the region's own lead (errors
   grow with the lead). Median, earliest and latest are ``Lhat exp(q)`` for the quantiles 0.5 and
   ``(1 -/+ level) / 2`` of ``z`` (rounded to the day: round, floor, ceil). When the upper quantile
   is not reached (too many past forecasts still waiting), ``latest`` is unbounded (NaT): the past
   does not exclude a much later day. ``range_method`` tells which range a region got.
4. Fallback (``range_method == "parametric"``; too little evidence: crossings seen in fewer than 3
   regions, or a kernel-weighted count of past crossings below ``min_calibration``, or
   ``calibrate=False``): *earliest* and *latest* are the first days the upper and the lower two-sided
   ``level`` band around the fitted line reach the threshold. By default (``growth_volatility``) it
   is the prediction band of a local linear trend (Harvey 1989): the growth rate is a random walk,
   ``r_{t+1} = r_t + eta_t``, whose variance per day ``sigma_eta^2`` is learned from the changes of
   the 7-day growth rates of all regions over the calibration days (robust MAD estimate), so
   ``Var ln y(h) = s^2 (1 + 1/n + (h - tbar)^2 / Sxx) + sigma_eta^2 sum_{m<=h} m^2``. The growth may
   stop, so the lower band may never reach the threshold: ``latest`` is then open (NaT). With
   ``growth_volatility=False`` it is the confidence band of the regression line alone,
   ``a + r t +/- t_{n-2} s sqrt(1/n + (t - tbar)^2 / Sxx)`` (the Fieller interval of the crossing
   time ``(ln threshold - a) / r``, the former default), widened for the AR(1) autocorrelation of a
   7-day sum (Santer et al. 2000); it covers the trend-fit uncertainty only and is far too narrow.
   For ``not_growing`` / ``beyond_horizon`` rows, ``earliest`` (when set) is the first day the upper
   band reaches the threshold: the earliest day still plausible.

Measured with :func:`backtest_anticipation` on the bundled data (actual crossings looked for until
2020-12-31; "crossed" = forecasts whose real day is known, the 90% range first). Threshold Italy's
4.41 cases per 100 000 in 7 days at its 2020-03-04 onset:

============================  ==========================  ==========================  ==============
forecast days                 fit-only band (former)      this method                 median error
============================  ==========================  ==========================  ==============
03-03, 06, 10, 13 (132)       90%: 58%, 80%: 47%          90%: 98%, 80%: 89%          +3 -> -1.5 d
03-08, 16, 20 (held out, 102) 90%: 39%, 80%: 30%          90%: 84%, 80%: 73%          +7 -> +6 d
============================  ==========================  ==========================  ==============

Autumn wave, held out (2020-10-15 at 200 and 400, 2020-11-01 at 400; 35 crossed): 90% range 91%
(fit-only 31%), 80% range 89% (29%), median error -3 days. Summer/autumn days looked at while
designing (2020-07-01 at 50, 2020-10-01 at 100 and 200, 2020-11-01 at 100; 34 crossed): 91% (45%),
80%: 85% (40%), but a median 14.5 days late (the summer, when incidence hovered, is the past
that teaches). The price of honesty is width and open ends: most 90% ranges have an unbounded
``latest`` early in a wave (when few regions have crossed, the parametric fallback with a drifting
growth rate cannot exclude a stall) and in the autumn (past forecasts from the summer often waited
longer than ``calibration_days``); the ``earliest`` day, which drives ordering capacity in time, stays
informative. Late in the spring wave (2020-03-16, 20) the median is about a week early: lockdowns
then bent curves that the past had shown growing steadily. France from 2020-03-10 (test fixture, six
countries): earliest 2020-03-12, median 2020-03-15, latest open; real crossing 2020-03-13, lockdown
2020-03-17.

References
----------
Angelopoulos, A. N. & Bates, S. (2023). Conformal prediction: a gentle introduction. Foundations and
Trends in Machine Learning 16(4), 494-591.
Kaplan, E. L. & Meier, P. (1958). Nonparametric estimation from incomplete observations. J. Am. Stat.
Assoc. 53, 457-481.
Vovk, V., Gammerman, A. & Shafer, G. (2005). Algorithmic Learning in a Random World. Springer.
Harvey, A. C. (1989). Forecasting, Structural Time Series Models and the Kalman Filter. Cambridge
University Press (local linear trend).
Fieller, E. C. (1954). Some problems in interval estimation. J. R. Stat. Soc. B 16, 175-185.
Draper, N. R. & Smith, H. (1998). Applied Regression Analysis, 3rd ed., Wiley, sections 1.4 and 3.2
(inverse prediction / confidence band of a regression line).
Santer, B. D., Wigley, T. M. L., Boyle, J. S. et al. (2000). Statistical significance of trends and
trend differences in layer-average atmospheric temperature time series. J. Geophys. Res. 105(D6),
7337-7356 (effective sample size of a trend fit with AR(1) residuals).
Wallinga, J. & Lipsitch, M. (2007). Proc. R. Soc. B 274, 599-604 (growth rate and doubling time).

The steps live in one module each: ``threshold`` (step 1), ``trend`` (the log-linear fit and its
parametric band, step 4), ``calibration`` (the replayed past forecasts, Kaplan-Meier quantiles and the
growth-rate volatility, steps 3-4), ``crossing`` (:func:`anticipate_crossing`, which composes them) and
``backtest`` (:func:`backtest_anticipation`).
"""

from __future__ import annotations

from surgeplan.signals.anticipate.backtest import backtest_anticipation, first_crossing_dates

# the Kaplan-Meier step is checked by hand in the tests, under its name here
from surgeplan.signals.anticipate.calibration import _weighted_km_quantiles as _weighted_km_quantiles
from surgeplan.signals.anticipate.crossing import ANTICIPATE_COLUMNS, AnticipationOptions, anticipate_crossing
from surgeplan.signals.anticipate.threshold import lockdown_onset_values, threshold_from_earlier_regions

__all__ = [
    "ANTICIPATE_COLUMNS",
    "AnticipationOptions",
    "anticipate_crossing",
    "backtest_anticipation",
    "first_crossing_dates",
    "lockdown_onset_values",
    "threshold_from_earlier_regions",
]
