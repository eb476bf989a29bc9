"""Scoring rolling-origin forecasts: busy-hour accuracy, quantile losses, coverage, anticipation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.forecast import metrics as M
from surgeplan.forecast.backtest.origins import COVERAGE_QUANTILES, _as_utc, _local_day
from surgeplan.forecast.busy_hour import busy_hour
from surgeplan.quantiles import column as quantile_name

__all__ = ["mase_scale", "score_backtest", "summarize"]


def _hourly(frame: pd.DataFrame, keys: list[str], values: list[str]) -> pd.DataFrame:
    """Average sub-hourly rows to hours (UTC hour starts); hourly data passes through."""
    hour = frame["ts"].dt.floor("h")
    if (hour == frame["ts"]).all() and not frame.duplicated([*keys, "ts"]).any():
        return frame
    g = frame.assign(ts=hour).groupby([*keys, "ts"], sort=False, observed=True)[values].mean()
    return g.reset_index()


def _daily_busy_hour_actuals(meas: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Actual busy-hour load per resource and local day (:func:`surgeplan.forecast.busy_hour`, the
    quantity the plan sizes): ``resource_id, day`` (days since the epoch), ``bh``."""
    bh = busy_hour(meas[["resource_id", "ts", "load"]], "D", tz=tz)
    day = bh["period"].to_numpy().astype("datetime64[D]").astype(np.int64)
    return pd.DataFrame(
        {"resource_id": bh["resource_id"].to_numpy(), "day": day, "bh": bh["load"].to_numpy()}
    )


def mase_scale(measurements: pd.DataFrame, before: Any, tz: str = "UTC", season_days: int = 7) -> pd.Series:
    """MASE denominator per resource: in-sample seasonal-naive MAE of the daily busy-hour load.

    Parameters
    ----------
    measurements : DataFrame
        ``resource_id, ts, load``.
    before : timestamp
        Only measurements before it are used (the first backtest origin).
    tz : str
        Time zone of the days.
    season_days : int
        Seasonal lag in days (7 = same day last week); resources with less history fall back to 1.

    Returns
    -------
    Series
        Scale in the load's unit, indexed by ``resource_id``.
    """
    m = measurements[measurements["ts"] < pd.Timestamp(before)]
    if m.empty:
        return pd.Series(dtype=float)
    daily = _daily_busy_hour_actuals(m, tz)
    wide = daily.pivot(index="resource_id", columns="day", values="bh")
    wide = wide.reindex(columns=np.arange(wide.columns.min(), wide.columns.max() + 1))
    y = wide.to_numpy(dtype=np.float64)
    weekly = np.asarray(M.seasonal_naive_mae(y, season_days, axis=-1), dtype=float)
    daily_naive = np.asarray(M.seasonal_naive_mae(y, 1, axis=-1), dtype=float)
    return pd.Series(np.where(np.isfinite(weekly), weekly, daily_naive), index=wide.index, name="scale")


def score_backtest(
    forecasts: pd.DataFrame,
    measurements: pd.DataFrame,
    *,
    quantiles: Sequence[float],
    tz: str = "UTC",
    capacity: pd.Series | None = None,
    warning_quantile: float = 0.9,
    horizon_days: int | None = None,
    scale: pd.Series | None = None,
    return_busy_hour: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Score rolling-origin forecasts per resource and lead day (see the module docstring).

    Parameters
    ----------
    forecasts : DataFrame
        ``resource_id, origin, ts, mean`` + ``p1, p10, p50, p90, p99`` and the ``quantiles`` columns.
    measurements : DataFrame
        ``resource_id, ts, load`` (all of it: history for the MASE scale, and the actuals).
    quantiles : sequence of float
        Quantiles whose pinball loss is averaged.
    tz : str
        Time zone of the days (origins are its midnights).
    capacity : Series, optional
        Installed capacity per ``resource_id`` (load unit) for anticipation.
    warning_quantile : float
        Forecast quantile compared with capacity.
    horizon_days : int, optional
        Longest lead day (default: the longest in ``forecasts``).
    scale : Series, optional
        MASE scale per resource; default :func:`mase_scale` before the first origin.
    return_busy_hour : bool
        Also return the daily busy-hour table.

    Returns
    -------
    metrics : DataFrame
        ``resource_id, horizon_days, n_days, mape, mae, rmse, mase, pinball, pinball_scaled,
        coverage_80, coverage_98, bh_coverage_80, bh_coverage_98, shortage_date, anticipation_days``.
    busy_hour : DataFrame, only with ``return_busy_hour``
        One row per resource, origin and local day: ``resource_id, origin, horizon_days, day``
        (naive local date), forecast busy-hour ``mean, p1, p10, p90, p99`` (daily maxima of the
        hourly forecasts) and ``actual`` (highest hourly mean load; NaN when under 75% of the
        day's hours were measured).
    """
    qcols = [quantile_name(q) for q in quantiles]
    needed = [
        "resource_id",
        "origin",
        "ts",
        "mean",
        *[quantile_name(q) for q in COVERAGE_QUANTILES],
        *qcols,
        quantile_name(warning_quantile),
    ]
    needed = list(dict.fromkeys(needed))
    miss = [c for c in needed if c not in forecasts.columns]
    if miss:
        raise SurgeplanError(f"forecasts lack column(s) {miss} needed for scoring")
    fc = forecasts[needed].copy()
    fc["resource_id"] = fc["resource_id"].astype(str)
    fc["ts"] = _as_utc(fc["ts"])
    fc["origin"] = _as_utc(fc["origin"])
    meas = measurements[["resource_id", "ts", "load"]].copy()
    meas["resource_id"] = meas["resource_id"].astype(str)
    meas["ts"] = _as_utc(meas["ts"])
    first_origin = fc["origin"].min()
    if scale is None:
        scale = mase_scale(meas, first_origin, tz)

    valcols = [c for c in needed if c not in ("resource_id", "origin", "ts")]
    fh = _hourly(fc, ["resource_id", "origin"], valcols)
    mh = _hourly(meas[meas["ts"] >= first_origin], ["resource_id"], ["load"])
    fh = fh.merge(mh, on=["resource_id", "ts"], how="left")
    day = _local_day(fh["ts"], tz)
    oday = _local_day(fh["origin"], tz)
    fh["lead"] = day - oday + 1
    fh["day"] = day
    fh["oday"] = oday
    if horizon_days is None:
        horizon_days = int(fh["lead"].max())
    fh = fh[(fh["lead"] >= 1) & (fh["lead"] <= horizon_days)]
    y = fh["load"].to_numpy(dtype=np.float64)

    # hourly quantile scores
    fh["pinball"] = np.mean(
        [np.asarray(M.pinball_loss(y, fh[c].to_numpy(np.float64), q)) for c, q in zip(qcols, quantiles)],
        axis=0,
    )
    fh["cov80"] = _inside(y, fh["p10"], fh["p90"])
    fh["cov98"] = _inside(y, fh["p1"], fh["p99"])

    # busy hour per (resource, origin, day)
    keys = ["resource_id", "origin", "lead", "oday", "day"]
    g = fh.groupby(keys, sort=False, observed=True)
    wq = quantile_name(warning_quantile)
    bh = g.agg(
        f_mean=("mean", "max"),
        f_p1=("p1", "max"),
        f_p10=("p10", "max"),
        f_p90=("p90", "max"),
        f_p99=("p99", "max"),
        f_warn=(wq, "max"),
        a_bh=("load", "max"),
        n_a=("load", "count"),
        n_f=("mean", "size"),
        pinball=("pinball", "mean"),
        cov80=("cov80", "mean"),
        cov98=("cov98", "mean"),
    ).reset_index()
    complete = bh["n_a"] >= 0.75 * bh["n_f"]
    bh.loc[~complete, "a_bh"] = np.nan
    a = bh["a_bh"].to_numpy(np.float64)
    f = bh["f_mean"].to_numpy(np.float64)
    bh["ae"] = np.abs(a - f)
    bh["se"] = (a - f) ** 2
    bh["ape"] = np.asarray(M.absolute_percentage_error(a, f))
    bh["bh80"] = _inside(a, bh["f_p10"], bh["f_p90"])
    bh["bh98"] = _inside(a, bh["f_p1"], bh["f_p99"])

    # hourly scores weighted by hours: recompute from hourly table
    hg = fh.groupby(["resource_id", "lead"], observed=True)
    hourly_scores = pd.DataFrame(
        {
            "pinball": hg["pinball"].mean(),
            "coverage_80": hg["cov80"].mean(),
            "coverage_98": hg["cov98"].mean(),
        }
    )
    dg = bh.groupby(["resource_id", "lead"], observed=True)
    out = (
        pd.DataFrame(
            {
                "n_days": dg["a_bh"].count(),
                "mape": dg["ape"].mean(),
                "mae": dg["ae"].mean(),
                "rmse": np.sqrt(dg["se"].mean()),
                "bh_coverage_80": dg["bh80"].mean(),
                "bh_coverage_98": dg["bh98"].mean(),
            }
        )
        .join(hourly_scores)
        .reset_index()
    )
    sc = out["resource_id"].map(scale).to_numpy(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mase"] = np.where(sc > 0, out["mae"] / sc, np.nan)
        out["pinball_scaled"] = np.where(sc > 0, out["pinball"] / sc, np.nan)

    # anticipation of shortages (cumulative over lead days: horizon h uses leads <= h)
    out["shortage_date"] = pd.NaT
    out["anticipation_days"] = np.nan
    if capacity is not None:
        cap = bh["resource_id"].map(capacity).to_numpy(np.float64)
        acts = _daily_busy_hour_actuals(meas[meas["ts"] >= first_origin], tz)
        acts = acts[acts["day"] >= _local_day(pd.DatetimeIndex([first_origin]), tz)[0]]
        acts = acts.assign(cap=acts["resource_id"].map(capacity).to_numpy(np.float64))
        short = acts[acts["bh"] > acts["cap"]]
        sday = short.groupby("resource_id", observed=True)["day"].min()
        if len(sday):
            bh["sday"] = bh["resource_id"].map(sday).to_numpy(np.float64)
            warn = bh[
                (bh["f_warn"].to_numpy(np.float64) > cap)
                & (bh["day"] <= bh["sday"])
                & (bh["oday"] <= bh["sday"])
            ]
            # an origin warns at horizon h if its crossing day is within h and its window reaches S
            need = np.maximum(warn["lead"].to_numpy(), (warn["sday"] - warn["oday"] + 1).to_numpy())
            w = pd.DataFrame(
                {
                    "resource_id": warn["resource_id"].to_numpy(),
                    "oday": warn["oday"].to_numpy(),
                    "need": need,
                    "notice": (warn["sday"] - warn["oday"]).to_numpy(),
                }
            )
            w = w[w["need"] <= horizon_days]
            w = w.groupby(["resource_id", "oday"], observed=True).agg(
                need=("need", "min"), notice=("notice", "max")
            )
            w = w.reset_index()
            # for each lead h: anticipation = largest notice among the warnings needing a window <= h
            out = out.drop(columns=["anticipation_days"])
            if len(w):
                rids = pd.Index(w["resource_id"].unique())
                grid = np.full((len(rids), horizon_days), -np.inf)
                np.maximum.at(
                    grid,
                    (rids.get_indexer(w["resource_id"]), w["need"].to_numpy(int) - 1),
                    w["notice"].to_numpy(np.float64),
                )
                grid = np.maximum.accumulate(grid, axis=1)
                grid[~np.isfinite(grid)] = np.nan
                ant = pd.DataFrame(
                    {
                        "resource_id": np.repeat(rids.to_numpy(), horizon_days),
                        "lead": np.tile(np.arange(1, horizon_days + 1), len(rids)),
                        "anticipation_days": grid.ravel(),
                    }
                )
                out = out.merge(ant, on=["resource_id", "lead"], how="left")
            else:
                out["anticipation_days"] = np.nan
            out["shortage_date"] = pd.to_datetime(out["resource_id"].map(sday).astype(float), unit="D")
    out = out.rename(columns={"lead": "horizon_days"})
    cols = [
        "resource_id",
        "horizon_days",
        "n_days",
        "mape",
        "mae",
        "rmse",
        "mase",
        "pinball",
        "pinball_scaled",
        "coverage_80",
        "coverage_98",
        "bh_coverage_80",
        "bh_coverage_98",
        "shortage_date",
        "anticipation_days",
    ]
    out = out[cols].sort_values(["resource_id", "horizon_days"]).reset_index(drop=True)
    if not return_busy_hour:
        return out
    table = pd.DataFrame(
        {
            "resource_id": bh["resource_id"].to_numpy(),
            "origin": bh["origin"].to_numpy(),
            "horizon_days": bh["lead"].to_numpy(),
            "day": pd.to_datetime(bh["day"].to_numpy(), unit="D"),
            "mean": bh["f_mean"].to_numpy(),
            "p1": bh["f_p1"].to_numpy(),
            "p10": bh["f_p10"].to_numpy(),
            "p90": bh["f_p90"].to_numpy(),
            "p99": bh["f_p99"].to_numpy(),
            "actual": bh["a_bh"].to_numpy(),
        }
    )
    table["origin"] = _as_utc(table["origin"])
    return out, table


def _inside(y: Any, lo: Any, hi: Any) -> np.ndarray:
    y, lo, hi = (np.asarray(v, dtype=np.float64) for v in (y, lo, hi))
    ok = np.isfinite(y) & np.isfinite(lo) & np.isfinite(hi)
    return np.where(ok, ((y >= lo) & (y <= hi)).astype(np.float64), np.nan)


def summarize(metrics: pd.DataFrame, horizons: Iterable[int] | None = None) -> pd.DataFrame:
    """Median over resources of each score per lead day (a compact table for reports)."""
    m = metrics if horizons is None else metrics[metrics["horizon_days"].isin(list(horizons))]
    num = ["mape", "mase", "pinball_scaled", "coverage_80", "coverage_98", "bh_coverage_80", "bh_coverage_98"]
    return m.groupby("horizon_days")[num].median()
