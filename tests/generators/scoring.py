"""Scoring a forecaster on a generated (or real) shock: does it carry the response to the next country?

A *forecaster* here is any callable ``(measurements, inventory, indicators, origin, days, quantiles)
-> DataFrame resource_id, ts, p10, p50, p90`` that sees only measurements before ``origin`` and
indicators dated before it (what was known that morning). :func:`shock_forecaster` wraps the
project's model, :func:`seasonal_naive`, :func:`statsforecast_peer` the peers (``univariate``: they
are given only the series being scored, which changes nothing but their run time).

Criteria (issue 16):

* **carried share**: for each country crossing its rule 3 days or more after the first one, a
  forecast made at ``origin = crossing + 1 day`` (00:00 UTC); per resource whose load moved by at
  least ``min_change`` (20%) ``share = (forecast - pre) / (realised - pre)`` with ``pre`` the mean
  load over the 14 days before the crossing and ``forecast``, ``realised`` the mean p50 / measured
  load over forecast days 8-14 (hours 168-335 after the origin). A country's share is the median
  of its resources'. Target: share >= 0.5 for >= 75% of the countries.
* **no runaway**: one forecast made 8 days after the first crossing, 42 days long; per resource
  and forecast day 8-42 the ratio of the p90 daily peak (largest hourly p90 of the UTC day) to the
  realised daily peak. Target: median in [0.9, 1.6], 95th percentile <= 2.5.
* **coverage**: share of measured hours inside [p10, p90] over the carried-share forecasts (all
  resources, days 1-14). Target 75-85%.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = [
    "carried_share",
    "country_shares",
    "coverage",
    "runaway_ratios",
    "seasonal_naive",
    "shock_forecaster",
    "statsforecast_peer",
    "summary",
]

Forecaster = Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.Timestamp, int, tuple], pd.DataFrame]
QUANTILES = (0.1, 0.5, 0.9)
DAY = pd.Timedelta(days=1)


def shock_forecaster(**params) -> Forecaster:
    """The project's ``ShockForecaster`` (``params`` go to its constructor)."""
    from surgeplan.forecast import ShockForecaster

    def run(meas, inventory, indicators, origin, days, quantiles):
        model = ShockForecaster(quantiles=quantiles, **params)
        model.fit(meas, inventory, indicators, cutoff=origin)
        out = model.predict(f"{days}D")
        out.attrs["model"] = model
        return out

    return run


def seasonal_naive() -> Forecaster:
    """Same hour one week earlier, repeated; p10 / p90 from the spread of the last four weeks."""

    def run(meas, inventory, indicators, origin, days, quantiles):
        hist = meas[meas["ts"] < origin]
        hours = pd.date_range(origin - 28 * DAY, origin - pd.Timedelta(hours=1), freq="h")
        wide = hist.pivot_table(index="ts", columns="resource_id", values="load").reindex(hours)
        wide = wide.interpolate(limit_direction="both")
        weeks = wide.to_numpy().reshape(4, 168, -1)
        reps = int(np.ceil(days / 7))
        ts = pd.date_range(origin, periods=days * 24, freq="h")
        cols = {}
        for q in quantiles:
            week = weeks[-1] if q == 0.5 else np.quantile(weeks, q, axis=0)
            cols[f"p{round(q * 100):d}"] = np.tile(week, (reps, 1))[: days * 24].T.ravel()
        return pd.DataFrame(
            {
                "resource_id": np.repeat(wide.columns.to_numpy(), days * 24),
                "ts": np.tile(ts, wide.shape[1]),
                **cols,
            }
        )

    run.univariate = True
    return run


def statsforecast_peer(name: str, history_days: int = 28) -> Forecaster:
    """statsforecast ``MSTL`` (daily + weekly seasons, AutoETS trend) or ``AutoETS`` (daily season)
    fitted per series on the last ``history_days`` days (as in ``benchmarks/bench_forecast.py``)."""
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoETS

    def run(meas, inventory, indicators, origin, days, quantiles):
        hist = meas[(meas["ts"] < origin) & (meas["ts"] >= origin - history_days * DAY)]
        hours = pd.date_range(origin - history_days * DAY, origin - pd.Timedelta(hours=1), freq="h")
        wide = hist.pivot_table(index="ts", columns="resource_id", values="load").reindex(hours)
        wide = wide.interpolate(limit_direction="both")
        df = wide.stack().rename("y").reset_index()
        df.columns = ["ds", "unique_id", "y"]
        df["ds"] = df["ds"].dt.tz_localize(None)
        model = MSTL(season_length=[24, 168]) if name == "MSTL" else AutoETS(season_length=24)
        levels = sorted({round(abs(1 - 2 * q) * 100) for q in quantiles if q != 0.5})
        fc = StatsForecast(models=[model], freq="h").forecast(df=df, h=days * 24, level=levels)
        fc = fc.reset_index() if "unique_id" not in fc.columns else fc
        col = type(model).__name__
        out = pd.DataFrame(
            {"resource_id": fc["unique_id"], "ts": pd.to_datetime(fc["ds"]).dt.tz_localize("UTC")}
        )
        for q in quantiles:
            lv = round(abs(1 - 2 * q) * 100)
            src = col if q == 0.5 else f"{col}-{'lo' if q < 0.5 else 'hi'}-{lv}"
            out[f"p{round(q * 100):d}"] = np.clip(fc[src].to_numpy(), 0.0, None)
        return out

    run.univariate = True
    return run


def _known(data, origin: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    meas = data.measurements[data.measurements["ts"] < origin]
    ind = data.indicators[data.indicators["date"] < origin.tz_localize(None)]
    return meas, ind


def _window_mean(frame: pd.DataFrame, col: str, a: pd.Timestamp, b: pd.Timestamp) -> pd.Series:
    sub = frame[(frame["ts"] >= a) & (frame["ts"] < b)]
    return sub.groupby("resource_id")[col].mean()


def carried_share(
    data, forecaster: Forecaster, min_change: float = 0.2, min_gap_days: int = 3, quantiles: tuple = QUANTILES
) -> pd.DataFrame:
    """Per (country, resource that moved): the share of the change in forecast days 8-14 carried.

    ``data`` has ``measurements, inventory, indicators, crossing`` (region -> first day of its rule).
    One forecast per distinct origin (countries crossing the same day share it). Columns
    ``region, crossing, resource_id, kind, pre, realised, forecast, share`` plus ``inside`` /
    ``hours`` (measured hours inside [p10, p90] over days 1-14, for :func:`coverage`).
    """
    first = min(data.crossing.values())
    late = {r: c for r, c in data.crossing.items() if (c - first).days >= min_gap_days}
    rows = []
    meas_all = data.measurements
    kinds = data.inventory.set_index("resource_id")["kind"]
    regions = data.inventory.set_index("resource_id")["region"]
    for crossing in sorted(set(late.values())):
        origin = (crossing + DAY).tz_localize("UTC")
        meas, ind = _known(data, origin)
        if getattr(forecaster, "univariate", False):  # one series at a time: only the scored ones
            scored = [r for r, c in late.items() if c == crossing]
            meas = meas[meas["resource_id"].isin(regions.index[regions.isin(scored)])]
        fc = forecaster(meas, data.inventory, ind, origin, 14, quantiles)
        c_utc = crossing.tz_localize("UTC")
        pre = _window_mean(meas_all, "load", c_utc - 14 * DAY, c_utc)
        real = _window_mean(meas_all, "load", origin + 7 * DAY, origin + 14 * DAY)
        pred = _window_mean(fc, "p50", origin + 7 * DAY, origin + 14 * DAY)
        both = fc.merge(meas_all, on=["resource_id", "ts"])
        inside = (
            ((both["load"] >= both["p10"]) & (both["load"] <= both["p90"])).groupby(both["resource_id"]).sum()
        )
        hours = both.groupby("resource_id").size()
        for region in [r for r, c in late.items() if c == crossing]:
            for rid in regions.index[regions == region]:
                rows.append(
                    {
                        "region": region,
                        "crossing": crossing,
                        "resource_id": rid,
                        "kind": kinds[rid],
                        "pre": pre.get(rid, np.nan),
                        "realised": real.get(rid, np.nan),
                        "forecast": pred.get(rid, np.nan),
                        "inside": inside.get(rid, 0),
                        "hours": hours.get(rid, 0),
                    }
                )
    out = pd.DataFrame(rows)
    out["change"] = (out["realised"] - out["pre"]) / out["pre"]
    out["share"] = (out["forecast"] - out["pre"]) / (out["realised"] - out["pre"])
    out["moved"] = out["change"].abs() >= min_change
    return out


def country_shares(table: pd.DataFrame) -> pd.Series:
    """Median share per country over its resources that moved (sorted by crossing)."""
    moved = table[table["moved"]]
    order = moved.groupby("region")["crossing"].first().sort_values().index
    return moved.groupby("region")["share"].median().reindex(order)


def coverage(table: pd.DataFrame) -> float:
    """Share of measured hours inside [p10, p90] over the carried-share forecasts."""
    return float(table["inside"].sum() / max(table["hours"].sum(), 1))


def runaway_ratios(
    data,
    forecaster: Forecaster,
    offset_days: int = 8,
    days: int = 42,
    first_day: int = 8,
    quantiles: tuple = QUANTILES,
) -> pd.DataFrame:
    """Per resource and forecast day ``first_day``..``days``: p90 daily peak / realised daily peak."""
    first = min(data.crossing.values())
    origin = (first + offset_days * DAY).tz_localize("UTC")
    meas, ind = _known(data, origin)
    fc = forecaster(meas, data.inventory, ind, origin, days, quantiles)
    a, b = origin + (first_day - 1) * DAY, origin + days * DAY
    f = fc[(fc["ts"] >= a) & (fc["ts"] < b)]
    m = data.measurements[(data.measurements["ts"] >= a) & (data.measurements["ts"] < b)]
    fpk = f.groupby(["resource_id", f["ts"].dt.floor("D")])["p90"].max()
    mpk = m.groupby(["resource_id", m["ts"].dt.floor("D")])["load"].max()
    ratio = (fpk / mpk).dropna().rename("ratio").reset_index()
    return ratio


def summary(table: pd.DataFrame, ratios: pd.DataFrame | None = None) -> dict:
    """The criteria's numbers: countries scored, share of them carrying >= 50%, median share,
    coverage, and the runaway ratio's median and 95th percentile."""
    shares = country_shares(table)
    out = {
        "countries": len(shares),
        "carried": int((shares >= 0.5).sum()),
        "carried_frac": float((shares >= 0.5).mean()) if len(shares) else float("nan"),
        "median_share": float(shares.median()) if len(shares) else float("nan"),
        "coverage": coverage(table),
    }
    if ratios is not None:
        out["ratio_median"] = float(ratios["ratio"].median())
        out["ratio_p95"] = float(ratios["ratio"].quantile(0.95))
    return out
