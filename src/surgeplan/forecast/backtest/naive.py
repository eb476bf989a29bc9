"""The seasonal naive reference forecaster, vectorised over all resources."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.forecast.backtest.origins import COVERAGE_QUANTILES, parse_duration
from surgeplan.quantiles import column as quantile_name

__all__ = ["SeasonalNaive"]


class SeasonalNaive:
    """Seasonal naive forecaster with empirical quantiles, vectorized over all resources.

    ``y[T + j] = y[T + j - k s]`` with ``k = ceil(j / s)`` (the last observed season repeated),
    ``s`` = one day or one week of steps. Quantiles add the empirical quantiles of the in-sample
    errors of the same lag ``k s`` over the last ``window`` days (per resource, pooled over the hours).
    This is the planner's "same as yesterday / last week" and the MASE reference.

    Parameters
    ----------
    season : {"day", "week"}
        Seasonal period.
    quantiles : sequence of float
        Quantile levels for the output columns (``p`` + percentage).
    window : int
        Days of in-sample errors behind the quantiles.

    References
    ----------
    .. [1] R. J. Hyndman, G. Athanasopoulos, "Forecasting: principles and practice", 3rd ed.,
       OTexts, 2021, section 5.2 (seasonal naive method).
    """

    def __init__(
        self, season: str = "week", quantiles: Sequence[float] = COVERAGE_QUANTILES, window: int = 28
    ):
        if season not in ("day", "week"):
            raise SurgeplanError(f"season must be 'day' or 'week', got {season!r}")
        self.season, self.quantiles, self.window = season, tuple(quantiles), int(window)
        self._grid: pd.DatetimeIndex | None = None

    def fit(
        self,
        measurements: pd.DataFrame,
        inventory: Any = None,
        indicators: Any = None,
        covariates: Any = None,
        cutoff: Any = None,
    ) -> SeasonalNaive:
        m = measurements
        if cutoff is not None:
            m = m[m["ts"] < pd.Timestamp(cutoff)]
        if m.empty:
            raise SurgeplanError("SeasonalNaive.fit: no measurements before the cutoff")
        ts = pd.DatetimeIndex(m["ts"])
        diffs = np.diff(np.unique(ts.asi8))
        self.step = pd.Timedelta(int(np.median(diffs)) if diffs.size else 3_600_000_000_000)
        self.ids = pd.Index(np.unique(m["resource_id"].to_numpy()))
        self.cutoff = pd.Timestamp(cutoff) if cutoff is not None else ts.max() + self.step
        self._y = np.empty((len(self.ids), 0))
        self._grid = pd.DatetimeIndex([], tz="UTC")
        self._append(m)
        return self

    def _append(self, m: pd.DataFrame) -> None:
        keep = int((self.window + 35) * 86400 // self.step.total_seconds())
        start = self.cutoff - keep * self.step
        grid = pd.date_range(start, self.cutoff - self.step, freq=self.step)
        y = np.full((len(self.ids), len(grid)), np.nan)
        if len(self._grid):
            old = self._grid.get_indexer(grid)
            ok = old >= 0
            y[:, ok] = self._y[:, old[ok]]
        if not m.empty:
            r = self.ids.get_indexer(m["resource_id"].to_numpy())
            c = grid.get_indexer(pd.DatetimeIndex(m["ts"]).floor(self.step))
            ok = (r >= 0) & (c >= 0)
            y[r[ok], c[ok]] = m["load"].to_numpy(dtype=np.float64)[ok]
        self._grid, self._y = grid, y

    @property
    def _season_steps(self) -> int:
        span = 7 * 86400 if self.season == "week" else 86400
        return max(1, int(span // self.step.total_seconds()))

    def update(self, new_measurements: pd.DataFrame, cutoff: Any = None) -> SeasonalNaive:
        """Append measurements and move the cutoff to just after them (or to ``cutoff``)."""
        if cutoff is not None:
            self.cutoff = pd.Timestamp(cutoff)
        elif not new_measurements.empty:
            self.cutoff = max(self.cutoff, pd.Timestamp(new_measurements["ts"].max()) + self.step)
        self._append(new_measurements)
        return self

    def predict(self, horizon: Any, indicators_future: Any = None, covariates: Any = None) -> pd.DataFrame:
        n = int(parse_duration(horizon, "horizon") // self.step)
        s = self._season_steps
        y = self._y
        T = y.shape[1]
        j = np.arange(1, n + 1)
        k = -(-j // s)  # ceil
        point = np.full((y.shape[0], n), np.nan)
        for extra in range(4):  # fall back to older seasons where the last one is missing
            idx = T + j - (k + extra) * s - 1
            ok = idx >= 0
            cand = np.full_like(point, np.nan)
            cand[:, ok] = y[:, idx[ok]]
            point = np.where(np.isnan(point), cand, point)
        # empirical error quantiles per lag k (pooled over the last `window` days)
        w = min(T, self.window * 86400 // int(self.step.total_seconds()))
        qs = np.asarray(self.quantiles)
        kmax = int(k.max())
        errq = np.zeros((y.shape[0], kmax, qs.size))
        for lag in range(1, kmax + 1):  # loop over lags (<= 28), vectorized over resources
            L = lag * s
            if T - L <= 0:
                continue
            lo = max(L, T - w)
            e = y[:, lo:] - y[:, lo - L : T - L]
            if e.shape[1] == 0:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                errq[:, lag - 1, :] = np.nan_to_num(np.nanquantile(e, qs, axis=1).T)
        ts = self.cutoff + (j - 1) * self.step
        frame = pd.DataFrame(
            {
                "resource_id": np.repeat(self.ids.to_numpy(), n),
                "ts": np.tile(pd.DatetimeIndex(ts).tz_convert("UTC").to_numpy(), len(self.ids)),
                "mean": point.ravel(),
            }
        )
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        for iq, q in enumerate(qs):
            frame[quantile_name(q)] = np.maximum(point + errq[:, k - 1, iq], 0.0).ravel()
        return frame
