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

#: Columns of the metrics table :func:`score_backtest` returns, in order.
_METRIC_COLUMNS = (
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
)


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
    needed = _forecast_columns(quantiles, warning_quantile)
    fc = _forecasts_to_score(forecasts, needed)
    meas = _measurements_to_score(measurements)
    first_origin = fc["origin"].min()
    if scale is None:
        scale = mase_scale(meas, first_origin, tz)

    fh = _hourly_forecasts_and_actuals(fc, meas, needed, first_origin, tz)
    if horizon_days is None:
        horizon_days = int(fh["lead"].max())
    fh = fh[(fh["lead"] >= 1) & (fh["lead"] <= horizon_days)]
    fh["pinball"], fh["cov80"], fh["cov98"] = _hourly_quantile_scores(fh, quantiles)

    bh = _busy_hours_per_origin_day(fh, quantile_name(warning_quantile))
    _add_busy_hour_errors(bh)
    out = _scores_per_lead_day(fh, bh, scale)
    out["shortage_date"] = pd.NaT
    out["anticipation_days"] = np.nan
    if capacity is not None:
        out = _with_anticipation(out, bh, meas, capacity, first_origin, tz, horizon_days)
    out = out.rename(columns={"lead": "horizon_days"})
    out = out[list(_METRIC_COLUMNS)].sort_values(["resource_id", "horizon_days"]).reset_index(drop=True)
    if not return_busy_hour:
        return out
    return out, _busy_hour_table(bh)


def _forecast_columns(quantiles: Sequence[float], warning_quantile: float) -> list[str]:
    """Forecast columns scoring reads: keys, ``mean``, the coverage quantiles, the pinball quantiles
    and the warning quantile, in that order, each once."""
    needed = [
        "resource_id",
        "origin",
        "ts",
        "mean",
        *[quantile_name(q) for q in COVERAGE_QUANTILES],
        *[quantile_name(q) for q in quantiles],
        quantile_name(warning_quantile),
    ]
    return list(dict.fromkeys(needed))


def _forecasts_to_score(forecasts: pd.DataFrame, needed: list[str]) -> pd.DataFrame:
    """The ``needed`` forecast columns, ids as text and ``origin, ts`` in UTC.

    Raises ``SurgeplanError`` naming the columns the forecasts lack.
    """
    miss = [c for c in needed if c not in forecasts.columns]
    if miss:
        raise SurgeplanError(f"forecasts lack column(s) {miss} needed for scoring")
    fc = forecasts[needed].copy()
    fc["resource_id"] = fc["resource_id"].astype(str)
    fc["ts"] = _as_utc(fc["ts"])
    fc["origin"] = _as_utc(fc["origin"])
    return fc


def _measurements_to_score(measurements: pd.DataFrame) -> pd.DataFrame:
    """``resource_id, ts, load`` with ids as text and ``ts`` in UTC (load unit unchanged)."""
    meas = measurements[["resource_id", "ts", "load"]].copy()
    meas["resource_id"] = meas["resource_id"].astype(str)
    meas["ts"] = _as_utc(meas["ts"])
    return meas


def _hourly_forecasts_and_actuals(
    fc: pd.DataFrame, meas: pd.DataFrame, needed: list[str], first_origin: pd.Timestamp, tz: str
) -> pd.DataFrame:
    """Hourly forecasts of every origin beside the hour's measured mean load.

    Returns the forecast columns averaged to UTC hours, ``load`` (NaN when the hour was not
    measured), and the local days as days since the epoch: ``lead`` (1 = the origin's own day),
    ``day`` and ``oday`` (the origin's day). Every lead is kept, even outside the horizon.
    """
    valcols = [c for c in needed if c not in ("resource_id", "origin", "ts")]
    fh = _hourly(fc, ["resource_id", "origin"], valcols)
    mh = _hourly(meas[meas["ts"] >= first_origin], ["resource_id"], ["load"])
    fh = fh.merge(mh, on=["resource_id", "ts"], how="left")
    day = _local_day(fh["ts"], tz)
    oday = _local_day(fh["origin"], tz)
    fh["lead"] = day - oday + 1
    fh["day"] = day
    fh["oday"] = oday
    return fh


def _hourly_quantile_scores(
    fh: pd.DataFrame, quantiles: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per forecast hour: pinball loss averaged over ``quantiles`` (load unit), and whether the
    actual lies in [p10, p90] and in [p1, p99] (1.0 / 0.0, NaN when the hour was not measured)."""
    y = fh["load"].to_numpy(dtype=np.float64)
    qcols = [quantile_name(q) for q in quantiles]
    pinball = np.mean(
        [np.asarray(M.pinball_loss(y, fh[c].to_numpy(np.float64), q)) for c, q in zip(qcols, quantiles)],
        axis=0,
    )
    return pinball, _inside(y, fh["p10"], fh["p90"]), _inside(y, fh["p1"], fh["p99"])


def _busy_hours_per_origin_day(fh: pd.DataFrame, warning_column: str) -> pd.DataFrame:
    """Forecast and actual busy-hour load of every (resource, origin, local day).

    The forecast busy hour of each column is the day's highest hourly value (``f_mean, f_p1, f_p10,
    f_p90, f_p99`` and ``f_warn`` from ``warning_column``); the actual ``a_bh`` is the highest hourly
    load, NaN when under 75% of the forecast hours were measured (a part-measured day would
    understate the peak). ``pinball, cov80, cov98`` are the day's hourly means of those scores.
    """
    keys = ["resource_id", "origin", "lead", "oday", "day"]
    g = fh.groupby(keys, sort=False, observed=True)
    bh = g.agg(
        f_mean=("mean", "max"),
        f_p1=("p1", "max"),
        f_p10=("p10", "max"),
        f_p90=("p90", "max"),
        f_p99=("p99", "max"),
        f_warn=(warning_column, "max"),
        a_bh=("load", "max"),
        n_a=("load", "count"),
        n_f=("mean", "size"),
        pinball=("pinball", "mean"),
        cov80=("cov80", "mean"),
        cov98=("cov98", "mean"),
    ).reset_index()
    complete = bh["n_a"] >= 0.75 * bh["n_f"]
    bh.loc[~complete, "a_bh"] = np.nan
    return bh


def _add_busy_hour_errors(bh: pd.DataFrame) -> None:
    """Add, in place, the busy-hour errors of each day: ``ae``, ``se`` (load unit, squared), ``ape``
    (percent), and whether the actual lies in the day's [p10, p90] (``bh80``) and [p1, p99] (``bh98``)."""
    a = bh["a_bh"].to_numpy(np.float64)
    f = bh["f_mean"].to_numpy(np.float64)
    bh["ae"] = np.abs(a - f)
    bh["se"] = (a - f) ** 2
    bh["ape"] = np.asarray(M.absolute_percentage_error(a, f))
    bh["bh80"] = _inside(a, bh["f_p10"], bh["f_p90"])
    bh["bh98"] = _inside(a, bh["f_p1"], bh["f_p99"])


def _scores_per_lead_day(fh: pd.DataFrame, bh: pd.DataFrame, scale: pd.Series) -> pd.DataFrame:
    """Accuracy per resource and lead day: busy-hour scores averaged over days, quantile scores over
    hours (so a day with missing hours weighs less), and MASE / scaled pinball (NaN where the scale
    is not positive). Columns ``resource_id, lead, n_days, mape, mae, rmse, bh_coverage_80,
    bh_coverage_98, pinball, coverage_80, coverage_98, mase, pinball_scaled``."""
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
    return out


def _with_anticipation(
    out: pd.DataFrame,
    bh: pd.DataFrame,
    meas: pd.DataFrame,
    capacity: pd.Series,
    first_origin: pd.Timestamp,
    tz: str,
    horizon_days: int,
) -> pd.DataFrame:
    """``out`` with ``shortage_date`` and ``anticipation_days`` filled for the resources that ran short.

    Anticipation is cumulative over lead days: horizon h uses the warnings of leads <= h. Resources
    that never ran short keep NaT / NaN.
    """
    cap = bh["resource_id"].map(capacity).to_numpy(np.float64)
    sday = _first_shortage_day(meas, capacity, first_origin, tz)
    if not len(sday):
        return out
    w = _warnings_before_shortage(bh, cap, sday, horizon_days)
    out = out.drop(columns=["anticipation_days"])
    if len(w):
        out = out.merge(_anticipation_by_lead(w, horizon_days), on=["resource_id", "lead"], how="left")
    else:
        out["anticipation_days"] = np.nan
    out["shortage_date"] = pd.to_datetime(out["resource_id"].map(sday).astype(float), unit="D")
    return out


def _first_shortage_day(
    meas: pd.DataFrame, capacity: pd.Series, first_origin: pd.Timestamp, tz: str
) -> pd.Series:
    """First local day (days since the epoch), from the first origin's day on, whose actual busy-hour
    load exceeds the installed capacity; indexed by ``resource_id``, only resources that ran short."""
    acts = _daily_busy_hour_actuals(meas[meas["ts"] >= first_origin], tz)
    acts = acts[acts["day"] >= _local_day(pd.DatetimeIndex([first_origin]), tz)[0]]
    acts = acts.assign(cap=acts["resource_id"].map(capacity).to_numpy(np.float64))
    short = acts[acts["bh"] > acts["cap"]]
    return short.groupby("resource_id", observed=True)["day"].min()


def _warnings_before_shortage(
    bh: pd.DataFrame, cap: np.ndarray, sday: pd.Series, horizon_days: int
) -> pd.DataFrame:
    """The origins that warned of a shortage in time, one row per resource and origin day.

    An origin warns when its busy-hour forecast at the warning quantile exceeds ``cap`` (per ``bh``
    row) on a day up to the shortage day. ``need`` is the shortest horizon (days) at which the
    warning counts: the crossing day must lie within it and the window must reach the shortage day;
    ``notice`` is the shortage day minus the origin's day. Only warnings with ``need <=
    horizon_days`` are kept. Columns ``resource_id, oday, need, notice``.
    """
    bh = bh.assign(sday=bh["resource_id"].map(sday).to_numpy(np.float64))
    warn = bh[
        (bh["f_warn"].to_numpy(np.float64) > cap) & (bh["day"] <= bh["sday"]) & (bh["oday"] <= bh["sday"])
    ]
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
    w = w.groupby(["resource_id", "oday"], observed=True).agg(need=("need", "min"), notice=("notice", "max"))
    return w.reset_index()


def _anticipation_by_lead(w: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Days of notice per resource and lead day h: the largest ``notice`` among the warnings ``w``
    needing a window <= h (NaN: not foreseen at that horizon). Columns ``resource_id, lead,
    anticipation_days``, every lead 1..``horizon_days`` of every resource in ``w``."""
    rids = pd.Index(w["resource_id"].unique())
    grid = np.full((len(rids), horizon_days), -np.inf)
    np.maximum.at(
        grid,
        (rids.get_indexer(w["resource_id"]), w["need"].to_numpy(int) - 1),
        w["notice"].to_numpy(np.float64),
    )
    grid = np.maximum.accumulate(grid, axis=1)
    grid[~np.isfinite(grid)] = np.nan
    return pd.DataFrame(
        {
            "resource_id": np.repeat(rids.to_numpy(), horizon_days),
            "lead": np.tile(np.arange(1, horizon_days + 1), len(rids)),
            "anticipation_days": grid.ravel(),
        }
    )


def _busy_hour_table(bh: pd.DataFrame) -> pd.DataFrame:
    """The public daily busy-hour table (see :func:`score_backtest`) from the per-origin-day one."""
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
    return table


def _inside(y: Any, lo: Any, hi: Any) -> np.ndarray:
    y, lo, hi = (np.asarray(v, dtype=np.float64) for v in (y, lo, hi))
    ok = np.isfinite(y) & np.isfinite(lo) & np.isfinite(hi)
    return np.where(ok, ((y >= lo) & (y <= hi)).astype(np.float64), np.nan)


def summarize(metrics: pd.DataFrame, horizons: Iterable[int] | None = None) -> pd.DataFrame:
    """Median over resources of each score per lead day (a compact table for reports)."""
    m = metrics if horizons is None else metrics[metrics["horizon_days"].isin(list(horizons))]
    num = ["mape", "mase", "pinball_scaled", "coverage_80", "coverage_98", "bh_coverage_80", "bh_coverage_98"]
    return m.groupby("horizon_days")[num].median()
