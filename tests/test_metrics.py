"""Forecast metrics against hand computations (each worked out in a comment)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surgeplan.errors import SurgeplanError
from surgeplan.forecast import metrics as M


def test_mape_by_hand():
    # |100-110|/100 = 10%, |200-150|/200 = 25%, |50-50|/50 = 0%  -> mean 35/3 %
    assert M.mape([100, 200, 50], [110, 150, 50]) == pytest.approx(35 / 3)


def test_mape_skips_zero_actuals_and_nan():
    # the zero actual and the NaN forecast are skipped: only |10-12|/10 = 20% remains
    assert M.mape([0.0, 10.0, 5.0], [3.0, 12.0, np.nan]) == pytest.approx(20.0)
    assert np.isnan(M.mape([0.0], [1.0]))


def test_ape_keeps_series_index():
    a = pd.Series([100.0, 50.0], index=["x", "y"])
    out = M.absolute_percentage_error(a, pd.Series([90.0, 75.0], index=["x", "y"]))
    assert isinstance(out, pd.Series) and list(out.index) == ["x", "y"]
    assert out.tolist() == pytest.approx([10.0, 50.0])


def test_rmse_and_mae_by_hand():
    # errors 3, -4, 0 -> MAE 7/3, RMSE sqrt((9+16+0)/3) = sqrt(25/3)
    a, f = [1.0, 2.0, 3.0], [4.0, -2.0, 3.0]
    assert M.mae(a, f) == pytest.approx(7 / 3)
    assert M.rmse(a, f) == pytest.approx(np.sqrt(25 / 3))


def test_rmse_along_axis():
    a = np.array([[1.0, 1.0], [0.0, 0.0]])
    f = np.array([[1.0, 3.0], [1.0, np.nan]])
    # row 0: errors 0, 2 -> sqrt(2); row 1: error 1 (NaN skipped) -> 1
    assert M.rmse(a, f, axis=1) == pytest.approx([np.sqrt(2.0), 1.0])


def test_seasonal_naive_mae_by_hand():
    # y = 1 2 3 1 2 5, m = 3: |1-1| |2-2| |5-3| -> mean 2/3 ; m = 1: 1 1 2 1 3 -> 8/5
    y = [1, 2, 3, 1, 2, 5]
    assert M.seasonal_naive_mae(y, 3) == pytest.approx(2 / 3)
    assert M.seasonal_naive_mae(y, 1) == pytest.approx(8 / 5)
    # too short for the season -> NaN; 2-D along the last axis
    assert np.isnan(M.seasonal_naive_mae([1, 2], 3))
    two = M.seasonal_naive_mae(np.array([y, [2 * v for v in y]]), 3)
    assert two == pytest.approx([2 / 3, 4 / 3])
    with pytest.raises(SurgeplanError):
        M.seasonal_naive_mae(y, 0)


def test_mase_by_hand():
    # MAE of (10 vs 12, 20 vs 17) = (2 + 3)/2 = 2.5 ; scale 5 -> 0.5 ; zero scale -> NaN
    assert M.mase([10, 20], [12, 17], 5.0) == pytest.approx(0.5)
    assert np.isnan(M.mase([10, 20], [12, 17], 0.0))
    out = M.mase(np.array([[10, 20], [1, 1]]), np.array([[12, 17], [2, 2]]), np.array([5.0, 0.5]), axis=1)
    assert out == pytest.approx([0.5, 2.0])


def test_pinball_by_hand():
    # q = 0.9, y = 10: forecast 8 (under) -> 0.9*2 = 1.8 ; forecast 13 (over) -> 0.1*3 = 0.3
    assert M.pinball_loss(10.0, 8.0, 0.9) == pytest.approx(1.8)
    assert M.pinball_loss(10.0, 13.0, 0.9) == pytest.approx(0.3)
    # q = 0.5 is half the absolute error
    assert M.pinball_loss([4.0, 4.0], [1.0, 6.0], 0.5) == pytest.approx([1.5, 1.0])
    with pytest.raises(SurgeplanError):
        M.pinball_loss(1.0, 1.0, 1.0)


def test_pinball_is_minimised_by_the_true_quantile():
    # Independent reference: the expected pinball loss of a quantile forecast is minimised at the
    # distribution's quantile (Koenker & Bassett 1978). Exponential(1): q90 = ln 10.
    rng = np.random.default_rng(0)
    y = rng.exponential(1.0, 200_000)
    cands = np.linspace(1.5, 3.2, 69)
    losses = [np.mean(M.pinball_loss(y, c, 0.9)) for c in cands]
    assert cands[int(np.argmin(losses))] == pytest.approx(np.log(10.0), abs=0.05)


def test_mean_pinball_loss_over_levels():
    # y = 10; q10 forecast 9 -> 0.1*1 = 0.1 ; q90 forecast 12 -> 0.1*2 = 0.2 ; mean 0.15
    out = M.mean_pinball_loss([10.0], [[9.0], [12.0]], [0.1, 0.9])
    assert out == pytest.approx(0.15)
    with pytest.raises(SurgeplanError):
        M.mean_pinball_loss([10.0], [[9.0]], [0.1, 0.9])


def test_interval_coverage_by_hand():
    # 5 in [4, 6] yes; 7 in [4, 6] no; 4 on the bound yes; NaN skipped -> 2/3
    assert M.interval_coverage([5, 7, 4, np.nan], 4, 6) == pytest.approx(2 / 3)


def test_coverage_of_exact_normal_interval_by_simulation():
    # an exact 80% interval of N(0,1) is +-1.2815515655 (normal quantile): coverage ~0.8
    rng = np.random.default_rng(1)
    y = rng.standard_normal(100_000)
    z = 1.2815515655446004
    assert M.interval_coverage(y, -z, z) == pytest.approx(0.8, abs=0.006)
