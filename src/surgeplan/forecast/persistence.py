"""The last hours' error carried into the next ones: a residual correction learned in calibration.

The model's lags are whole days (same step yesterday, last week), so an error that persists for
hours (a hot afternoon, an evening event, a level the Kalman step has not caught up with yet) is
forecast again the next morning. On New York City's load through its 2020 shutdown, the model's
error in the first hour of a day correlates 0.93 with its error in the last three hours before the
origin, 0.6 over the first day and 0.3-0.5 over the next two; on noise-only series it does not.

So the forecast adds, at lead ``s``, ``b_s r_0``: ``r_0`` is the mean residual the Kalman step
leaves (``observation - prediction by the updated state``, log: what the state has absorbed is not
carried twice, a fresh shock learned in a day included) over the last :data:`TAIL_HOURS` before
the origin, and ``b_s`` the least-squares coefficient of the calibration errors at lead ``s`` on
``r_0`` (one per kind and lead bucket, :data:`BUCKET_EDGES_HOURS`, pooled over the group's
resources), shrunk toward no correction by :data:`PRIOR_COUNT` pseudo-observations, kept in [0, 1],
and zero unless it stands :data:`MIN_T` standard errors from zero (on noise that does not persist,
28 origins of one resource give coefficients of sd ~0.3 per lead hour: carried, they would add
noise). The calibration pass estimates it online: the correction applied at an origin uses only
the origins before it, so the errors that set the intervals and the combination weights are the
corrected forecast's own, measured out of sample [1]. Beyond the calibrated horizon the correction is zero.

References
----------
.. [1] G. E. P. Box, G. M. Jenkins, G. C. Reinsel, *Time Series Analysis: Forecasting and Control*,
   4th ed., Wiley, 2008, sec. 5.2 (updating forecasts with the latest one-step errors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from surgeplan.forecast.state import Group

__all__ = ["BUCKET_EDGES_HOURS", "MIN_T", "PRIOR_COUNT", "TAIL_HOURS", "Accumulator", "correction", "tail"]

#: hours of residuals averaged into the origin's recent error: long enough not to be one noisy
#: reading, short enough to be the current episode (the correlation above is for 3 h)
TAIL_HOURS = 3.0
#: pseudo-observations (resource-origins) of "no correction" in each coefficient: a kind with
#: a handful of calibration origins keeps most of its forecast as the model makes it
PRIOR_COUNT = 10.0
#: lead buckets (hours after the origin) sharing one coefficient: fine where the correlation
#: falls fast, coarse where it is small and needs many errors to be told from zero
BUCKET_EDGES_HOURS = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 24.0, 48.0, 72.0, 120.0, 168.0)
#: a coefficient is carried only this many standard errors from zero (two-sided ~5%)
MIN_T = 2.0


def lead_bucket(h: int, cadence_s: int) -> np.ndarray:
    """(h,) bucket of each lead step (len(BUCKET_EDGES_HOURS) - 1 = beyond the last edge)."""
    hours = np.arange(h) * cadence_s / 3600.0
    return np.searchsorted(np.asarray(BUCKET_EDGES_HOURS[1:]), hours, side="right")


NBUCKETS = len(BUCKET_EDGES_HOURS) - 1


def tail(innovations: np.ndarray, cadence_s: int) -> np.ndarray:
    """(n,) mean of the finite residuals in the last :data:`TAIL_HOURS` (0 where none).

    ``innovations``: (n, m) residuals after the Kalman step (log) of the latest steps, oldest first.
    """
    m = max(1, int(round(TAIL_HOURS * 3600.0 / cadence_s)))
    last = innovations[:, -m:]
    ok = np.isfinite(last)
    cnt = ok.sum(1)
    return np.where(cnt > 0, np.where(ok, last, 0.0).sum(1) / np.maximum(cnt, 1), 0.0)


def correction(g: Group, h: int) -> np.ndarray | None:
    """(n, h) log correction of the forecast over the next ``h`` steps (None: nothing learned)."""
    if g.resid_beta is None or g.resid_tail is None:
        return None
    b = lead_bucket(h, g.cadence_s)
    coef = np.zeros((g.n, h))
    inside = b < g.resid_beta.shape[1]
    coef[:, inside] = g.resid_beta[g.resid_kind][:, b[inside]]
    return coef * g.resid_tail[:, None]


@dataclass(slots=True)
class Accumulator:
    """Sums of the calibration pass per (kind, lead bucket): ``e r0``, ``r0^2``, ``e^2``, the
    number of errors and of (resource, origin) pairs (the errors of one pair in one bucket are
    not independent: the standard error counts pairs)."""

    sxy: np.ndarray
    sxx: np.ndarray
    syy: np.ndarray
    cnt: np.ndarray
    pairs: np.ndarray

    @classmethod
    def for_group(cls, g: Group) -> Accumulator:
        kinds = int(g.resid_kind.max()) + 1 if len(g.resid_kind) else 1
        return cls(*(np.zeros((kinds, NBUCKETS)) for _ in range(5)))

    def add(self, g: Group, err: np.ndarray, applied: np.ndarray | None = None) -> None:
        """Fold in the errors ``err`` (n, h) of one origin, made with the correction ``applied``
        (``correction(g, h)``, passed by a caller that has it) added to the forecast."""
        if g.resid_tail is None:
            return
        h = err.shape[1]
        if applied is None:
            applied = correction(g, h)
        raw = err + applied if applied is not None else err
        b = lead_bucket(h, g.cadence_s)
        ok = np.isfinite(raw) & (b < NBUCKETS)[None, :]
        # sums per (kind, bucket) as two products: (kinds x n) @ (n x h) @ (h x buckets)
        by_kind = (g.resid_kind[None, :] == np.arange(self.sxy.shape[0])[:, None]).astype(float)
        by_bucket = (b[:, None] == np.arange(NBUCKETS)[None, :]).astype(float)
        r0 = g.resid_tail[:, None]
        e = np.where(ok, raw, 0.0)
        okf = ok.astype(float)
        for arr, val in ((self.sxy, e * r0), (self.sxx, okf * (r0 * r0)), (self.syy, e * e), (self.cnt, okf)):
            arr += by_kind @ val @ by_bucket
        self.pairs += by_kind @ ((okf @ by_bucket) > 0).astype(float)

    def coefficients(self) -> np.ndarray:
        """(kinds, buckets) shrunk least-squares coefficients, in [0, 1], 0 where not significant."""
        with np.errstate(invalid="ignore", divide="ignore"):
            ols = self.sxy / self.sxx
            resid = np.maximum(self.syy - ols * self.sxy, 0.0) / np.maximum(self.cnt - 1.0, 1.0)
            se = np.sqrt(resid / self.sxx * self.cnt / np.maximum(self.pairs, 1.0))
            b = ols / (1.0 + PRIOR_COUNT / np.maximum(self.pairs, 1.0))
            b = np.where(np.abs(ols) >= MIN_T * se, b, 0.0)
        return np.clip(np.nan_to_num(b, nan=0.0, posinf=0.0, neginf=0.0), 0.0, 1.0)
