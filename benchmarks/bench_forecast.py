"""Forecasting benchmark: surgeplan's ShockForecaster against what a planner would otherwise use.

Peers, run by the SAME rolling-origin engine (:func:`surgeplan.forecast.backtest.backtest`) on the
same origins, data and scoring:

* ``naive-day`` / ``naive-week``: seasonal naive ("same as yesterday / same day last week"), with
  empirical error quantiles (:class:`surgeplan.forecast.backtest.SeasonalNaive`);
* ``AutoETS`` (season 24 h) and ``MSTL`` (seasons 24 h and 168 h, AutoETS trend) from statsforecast,
  **without indicators** (they do not take them), refitted at every origin on the last 28 days;
  quantiles from their prediction intervals (levels 80 and 98 give p10/p90 and p1/p99);
* ``Prophet`` with the lockdown periods seen so far as one-off holiday windows (an ongoing lockdown
  is assumed to last through the forecast window) and temperature as an extra regressor where a
  temperature covariate exists: Prophet's documented way through the 2020 shocks
  (https://facebook.github.io/prophet/docs/handling_shocks.html); quantiles from its predictive samples.

Data:

1. **France electricity load** (RTE, real, bundled in ``surgeplan/data/rte_france``) averaged to
   hours, with the national temperature as covariate and the OxCGRT indicators for FRA; daily
   origins over the lockdown 2020-03-01 .. 2020-05-31, horizon 14 days.
2. **Simulated operator** (off by default: ``benchmarks/replay_2020.py`` runs it with the same peers)
   (``surgeplan.simulate`` on the bundled inventory and indicators, 2020):
   a fixed random subsample of resources (seed 0), daily origins 2020-02-15 .. 2020-05-31, 28 days.
   statsforecast and Prophet are slow per series: they run on the first ``--peer-resources`` of the
   subsample, and every comparison table says on how many resources it is computed.
3. **Second, independent generator** (``tests/generators/alt_shock.py``): 20 resources, daily origins
   2020-02-15 .. 2020-05-31, 14 days, the same peers (statsforecast on the first ``--peer-resources``).
4. **Backtest engine**: 300 hourly series of the second generator, 100 daily origins, 1-day horizon,
   weekly refit and daily ``update()``: the wall time of the whole ``backtest()``.
5. **Speed**: fit + 14-day forecast of 1,000 hourly series (8 weeks of history): surgeplan on all
   1,000; statsforecast AutoETS / MSTL timed on ``--speed-peer-series`` series and extrapolated
   linearly to 1,000 (their cost is per series), ratios printed. Target: surgeplan < 60 s.

Usage::

    .venv/bin/python benchmarks/bench_forecast.py                  # full run, prints markdown
    .venv/bin/python benchmarks/bench_forecast.py --write-results  # ... and updates RESULTS.md
    .venv/bin/python benchmarks/bench_forecast.py --quick          # smoke run (a few minutes)

Scores (see ``surgeplan.forecast.backtest``): busy-hour MAPE (%) and MASE (scale = in-sample
weekly-seasonal-naive MAE of the daily busy-hour load before the first origin), hourly coverage of
the 80% (p10-p90) and 98% (p1-p99) intervals, scaled pinball loss. Medians over resources.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from surgeplan.errors import SurgeplanError
from surgeplan.forecast.backtest import (
    COVERAGE_QUANTILES,
    SeasonalNaive,
    backtest,
    parse_duration,
    quantile_name,
)

RESULTS = HERE / "RESULTS.md"
DAY = pd.Timedelta(days=1)


# ============================================================================================ peers


def _regular_panel(
    hist: pd.DataFrame, step: pd.Timedelta, end: pd.Timestamp, days: int
) -> tuple[pd.Index, pd.DatetimeIndex, np.ndarray]:
    """Resources x regular time grid over the last ``days`` before ``end``; gaps filled (peers need it)."""
    grid = pd.date_range(end - pd.Timedelta(days=days), end - step, freq=step)
    h = hist[hist["ts"] >= grid[0]]
    ids = pd.Index(np.unique(hist["resource_id"].to_numpy()))
    y = np.full((len(ids), len(grid)), np.nan)
    r = ids.get_indexer(h["resource_id"].to_numpy())
    c = grid.get_indexer(pd.DatetimeIndex(h["ts"]))
    ok = (r >= 0) & (c >= 0)
    y[r[ok], c[ok]] = h["load"].to_numpy(float)[ok]
    week = int(7 * DAY / step)
    for lag in (week, 2 * week, week // 7):  # same hour last week(s), then yesterday
        if lag < y.shape[1]:
            shifted = np.full_like(y, np.nan)
            shifted[:, lag:] = y[:, :-lag]
            y = np.where(np.isnan(y), shifted, y)
    y = pd.DataFrame(y.T).ffill().bfill().to_numpy().T
    y = np.nan_to_num(y, nan=0.0)
    return ids, grid, y


class _Windowed:
    """Shared fit/update for peers that refit on a rolling window at every origin."""

    window_days = 28

    def __init__(self, quantiles: Sequence[float]):
        self.quantiles = tuple(quantiles)

    def fit(self, measurements, inventory=None, indicators=None, covariates=None, cutoff=None):
        self.cutoff = pd.Timestamp(cutoff)
        keep = self.cutoff - pd.Timedelta(days=self.window_days + 8)
        self.hist = measurements[measurements["ts"] >= keep]
        ts = np.unique(pd.DatetimeIndex(self.hist["ts"]).asi8)
        self.step = pd.Timedelta(int(np.median(np.diff(ts))))
        self.inventory, self.indicators, self.covariates = inventory, indicators, covariates
        return self

    def update(self, new_measurements, indicators=None, cutoff=None):
        self.cutoff = pd.Timestamp(cutoff)
        keep = self.cutoff - pd.Timedelta(days=self.window_days + 8)
        self.hist = pd.concat([self.hist[self.hist["ts"] >= keep], new_measurements], ignore_index=True)
        if indicators is not None:
            self.indicators = indicators
        return self


def _level(q: float) -> int | float:
    """Central interval level (percent) whose bound is quantile ``q``: 0.1 and 0.9 -> 80."""
    lv = round(abs(2 * q - 1) * 100, 6)
    return int(lv) if float(lv).is_integer() else lv


class StatsForecastPeer(_Windowed):
    """statsforecast AutoETS (season 24 h) or MSTL (24 h + 168 h) on the last 28 days, no indicators."""

    def __init__(self, which: str, quantiles: Sequence[float], n_jobs: int = 1):
        super().__init__(quantiles)
        self.which, self.n_jobs = which, n_jobs

    def _models(self, per_day: int):
        from statsforecast.models import MSTL, AutoETS

        if self.which == "ets":
            return [AutoETS(season_length=per_day)]
        return [MSTL(season_length=[per_day, 7 * per_day], trend_forecaster=AutoETS(model="ZZN"))]

    def predict(self, horizon, indicators_future=None, covariates=None):
        from statsforecast import StatsForecast

        ids, grid, y = _regular_panel(self.hist, self.step, self.cutoff, self.window_days)
        n = int(parse_duration(horizon) // self.step)
        per_day = int(DAY / self.step)
        df = pd.DataFrame(
            {
                "unique_id": np.repeat(ids.to_numpy(), len(grid)),
                "ds": np.tile(grid.tz_localize(None).to_numpy(), len(ids)),
                "y": y.ravel(),
            }
        )
        levels = sorted({_level(q) for q in self.quantiles if q != 0.5})
        sf = StatsForecast(
            models=self._models(per_day), freq=pd.tseries.frequencies.to_offset(self.step), n_jobs=self.n_jobs
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = sf.forecast(df=df, h=n, level=[lv for lv in levels])
        f = f.reset_index() if "unique_id" not in f.columns else f
        name = next(
            c for c in f.columns if c not in ("unique_id", "ds") and "-lo-" not in c and "-hi-" not in c
        )
        out = pd.DataFrame(
            {
                "resource_id": f["unique_id"].astype(str).to_numpy(),
                "ts": pd.to_datetime(f["ds"]).dt.tz_localize("UTC"),
                "mean": f[name].to_numpy(float),
            }
        )
        for q in self.quantiles:
            col = name if q == 0.5 else f"{name}-{'lo' if q < 0.5 else 'hi'}-{_level(q)}"
            out[quantile_name(q)] = f[col].to_numpy(float)
        cols = ["mean", *[quantile_name(q) for q in self.quantiles]]
        out[cols] = out[cols].clip(lower=0.0)
        return out


def lockdown_periods(indicators: pd.DataFrame | None) -> pd.DataFrame:
    """Lockdown periods per region seen in ``indicators`` (``signals.lockdown_periods``, its default rule)."""
    if indicators is None or indicators.empty:
        return pd.DataFrame(columns=["region", "start", "end", "ongoing"])
    from surgeplan.signals import lockdown_periods as periods

    try:
        p = periods(indicators)
    except SurgeplanError:  # no stay-at-home / stringency rows
        return pd.DataFrame(columns=["region", "start", "end", "ongoing"])
    # end: exclusive day after the last lockdown day
    return p.assign(end=p["end"] + DAY)[["region", "start", "end", "ongoing"]]


class ProphetPeer(_Windowed):
    """Prophet per series: daily + weekly seasonality, lockdowns as holiday windows, temperature regressor."""

    window_days = 56

    def predict(self, horizon, indicators_future=None, covariates=None):
        from prophet import Prophet

        logging.getLogger("cmdstanpy").setLevel(logging.ERROR)
        logging.getLogger("prophet").setLevel(logging.ERROR)
        ids, grid, y = _regular_panel(self.hist, self.step, self.cutoff, self.window_days)
        n = int(parse_duration(horizon) // self.step)
        future_ts = pd.date_range(self.cutoff, periods=n, freq=self.step)
        region_of = {}
        if self.inventory is not None:
            region_of = dict(zip(self.inventory["resource_id"], self.inventory["region"]))
        periods = lockdown_periods(self.indicators)
        cov = covariates if covariates is not None else self.covariates
        outs = []
        for i, rid in enumerate(ids):  # Prophet is one model per series
            region = region_of.get(rid, "FRA")
            hol = periods[periods["region"] == region]
            holidays = None
            if len(hol):
                end = hol["end"].where(~hol["ongoing"], future_ts[-1].tz_localize(None).normalize() + DAY)
                holidays = pd.concat(
                    [
                        pd.DataFrame({"holiday": f"lockdown{k}", "ds": pd.date_range(s, e - DAY)})
                        for k, (s, e) in enumerate(zip(hol["start"], end))
                    ],
                    ignore_index=True,
                )
            m = Prophet(
                daily_seasonality=True,
                weekly_seasonality=True,
                yearly_seasonality=False,
                holidays=holidays,
                uncertainty_samples=200,
            )
            train = pd.DataFrame({"ds": grid.tz_localize(None), "y": y[i]})
            fut = pd.DataFrame({"ds": future_ts.tz_localize(None)})
            temp = None
            if cov is not None and len(cov) and "temperature_c" in set(cov["name"]):
                key = "resource_id" if "resource_id" in cov.columns else "region"
                c = cov[
                    (cov["name"] == "temperature_c") & (cov[key] == (rid if key == "resource_id" else region))
                ]
                if len(c):
                    temp = c.set_index("ts")["value"]
                    temp.index = pd.DatetimeIndex(temp.index).tz_convert("UTC").tz_localize(None)
                    temp = temp[~temp.index.duplicated()].sort_index()
            if temp is not None:
                m.add_regressor("temperature_c")
                train["temperature_c"] = (
                    temp.reindex(train["ds"]).interpolate(limit_direction="both").to_numpy()
                )
                fut["temperature_c"] = temp.reindex(fut["ds"]).interpolate(limit_direction="both").to_numpy()
            m.fit(train)
            pred = m.predict(fut)
            samples = m.predictive_samples(fut)["yhat"]
            o = pd.DataFrame({"resource_id": rid, "ts": future_ts, "mean": pred["yhat"].to_numpy()})
            qv = np.quantile(samples, self.quantiles, axis=1)
            for q, v in zip(self.quantiles, qv):
                o[quantile_name(q)] = v
            outs.append(o)
        out = pd.concat(outs, ignore_index=True)
        cols = ["mean", *[quantile_name(q) for q in self.quantiles]]
        out[cols] = out[cols].clip(lower=0.0)
        return out


def shock_model(quantiles: Sequence[float]):
    """The project's model (``surgeplan.forecast.ShockForecaster``)."""
    from surgeplan.forecast import ShockForecaster

    return ShockForecaster(quantiles=tuple(quantiles))


def peer_factories(include: Sequence[str]) -> dict[str, Callable[[Sequence[float]], Any]]:
    all_: dict[str, Callable[[Sequence[float]], Any]] = {
        "naive-day": lambda q: SeasonalNaive("day", q),
        "naive-week": lambda q: SeasonalNaive("week", q),
        "AutoETS": lambda q: StatsForecastPeer("ets", q),
        "MSTL": lambda q: StatsForecastPeer("mstl", q),
        "Prophet": lambda q: ProphetPeer(q),
    }
    return {k: v for k, v in all_.items() if k in include}


# ============================================================================================ data


def rte_france_data() -> dict[str, pd.DataFrame]:
    """The bundled RTE France load (hourly means), temperature covariate and FRA indicators."""
    from surgeplan.forecast.datasets import rte_france

    meas, _inv, ind, cov = rte_france()
    return _hourly_rte(meas, cov, ind)


def _hourly_rte(meas, cov, ind):
    meas = (
        meas.assign(ts=meas["ts"].dt.floor("h")).groupby(["resource_id", "ts"], as_index=False)["load"].mean()
    )
    if cov is not None:
        cov = (
            cov.assign(ts=cov["ts"].dt.floor("h"))
            .groupby([c for c in cov.columns if c not in ("ts", "value")] + ["ts"], as_index=False)["value"]
            .mean()
        )
    inv = pd.DataFrame({"resource_id": meas["resource_id"].unique(), "kind": "generic", "region": "FRA"})
    return {"measurements": meas, "covariates": cov, "indicators": ind, "inventory": inv}


def operator_2020(
    n_resources: int = 60,
    seed: int = 0,
    start: str = "2019-12-01",
    end: str = "2020-07-01",
    kinds: Sequence[str] | None = None,
    exclude_regions: Sequence[str] = (),
) -> dict[str, pd.DataFrame]:
    """Simulated 2020 for a random subsample of the bundled operator (same seed -> same resources)."""
    from surgeplan.signals import bundled_indicators
    from surgeplan.simulate import bundled_inventory, simulate

    inv = bundled_inventory()
    if kinds is not None:
        inv = inv[inv["kind"].isin(list(kinds))]
    if exclude_regions:
        inv = inv[~inv["region"].isin(list(exclude_regions))]
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(inv), size=min(n_resources, len(inv)), replace=False))
    inv = inv.iloc[pick].reset_index(drop=True)
    ind = bundled_indicators(regions=sorted(inv["region"].unique()), start=start, end=end)
    meas = simulate(inv, ind, None, start, end, "1h", seed)
    return {"measurements": meas, "inventory": inv, "indicators": ind, "covariates": None}


# ============================================================================================ runs


CACHE = Path.home() / ".cache" / "surgeplan-bench"


def run_models(
    data: dict[str, pd.DataFrame],
    models: dict[str, Callable],
    *,
    start: str,
    end: str,
    horizon: str,
    tz: str = "UTC",
    refit_every: dict[str, int] | None = None,
    resources: dict[str, Sequence[str]] | None = None,
    log: Callable[[str], None] = print,
    cache_key: str | None = None,
) -> dict[str, Any]:
    """Backtest each model on the same origins; returns {name: BacktestResult} (timings in ``.timings``).

    With ``cache_key``, the peers' results (everything but ``surgeplan``: they do not change when the
    model does) are kept in ``~/.cache/surgeplan-bench`` keyed by data, origins and resources, so a
    re-run after a model change only re-runs the model.
    """
    import hashlib
    import pickle

    out = {}
    for name, factory in models.items():
        meas, inv = data["measurements"], data.get("inventory")
        if resources and name in resources:
            keep = set(resources[name])
            meas = meas[meas["resource_id"].isin(keep)]
            inv = inv[inv["resource_id"].isin(keep)] if inv is not None else None
        path = None
        if cache_key and name != "surgeplan":
            ids = ",".join(sorted(map(str, meas["resource_id"].unique())))
            digest = hashlib.sha1(
                f"{cache_key}|{name}|{start}|{end}|{horizon}|{tz}|{len(meas)}|{ids}".encode()
            ).hexdigest()[:16]
            path = CACHE / f"{cache_key}-{name}-{digest}.pkl"
            if path.exists():
                with open(path, "rb") as fh:
                    out[name] = pickle.load(fh)
                log(
                    f"  {name:<11} {meas['resource_id'].nunique():>4} resources  (cached run: "
                    f"{out[name].timings['total_s']:.1f} s)"
                )
                continue
        t = time.perf_counter()
        res = backtest(
            meas,
            inv,
            data.get("indicators"),
            data.get("covariates"),
            start=start,
            end=end,
            horizon=horizon,
            tz=tz,
            quantiles=(0.1, 0.5, 0.9),
            model=factory,
            refit_every=(refit_every or {}).get(name, 1),
        )
        res.timings["total_s"] = time.perf_counter() - t
        log(
            f"  {name:<11} {meas['resource_id'].nunique():>4} resources  {res.timings['total_s']:7.1f} s "
            f"({int(res.timings['n_fits'])} fits)"
        )
        if path is not None:
            CACHE.mkdir(parents=True, exist_ok=True)
            slim = type(res)(
                forecasts=res.forecasts.iloc[:0],
                metrics=res.metrics,
                quantiles=res.quantiles,
                internal=res.internal.iloc[:0],
                busy_hour=res.busy_hour,
                timings=res.timings,
            )
            with open(path, "wb") as fh:
                pickle.dump(slim, fh)
        out[name] = res
    return out


def comparison_table(
    results: dict[str, Any], horizons: Sequence[int], on: Sequence[str] | None = None
) -> pd.DataFrame:
    """Median over resources (restricted to ``on`` if given) of the scores per model and lead day."""
    rows = []
    for name, res in results.items():
        m = res.metrics
        if on is not None:
            m = m[m["resource_id"].isin(list(on))]
        m = m[m["horizon_days"].isin(list(horizons))]
        g = m.groupby("horizon_days")
        t = pd.DataFrame(
            {
                "MASE": g["mase"].median(),
                "MAPE %": g["mape"].median(),
                "cov 80%": g["coverage_80"].mean(),
                "cov 98%": g["coverage_98"].mean(),
                "pinball (scaled)": g["pinball_scaled"].median(),
                "n": g["resource_id"].nunique(),
            }
        )
        t["model"] = name
        rows.append(t.reset_index())
    table = pd.concat(rows, ignore_index=True)
    return table[["horizon_days", "model", "MASE", "MAPE %", "cov 80%", "cov 98%", "pinball (scaled)", "n"]]


def to_markdown(table: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in table.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            cells.append(
                floatfmt.format(v)
                if isinstance(v, (float, np.floating)) and np.isfinite(v)
                else ("-" if isinstance(v, (float, np.floating)) else str(v))
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_section(title: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) the ``## title`` section of RESULTS.md, leaving the other sections alone."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    head = f"## {title}"
    lines = text.splitlines()
    try:
        i = next(k for k, ln in enumerate(lines) if ln.strip() == head)
        j = next((k for k in range(i + 1, len(lines)) if lines[k].startswith("## ")), len(lines))
        lines = lines[:i] + lines[j:]
        text = (
            "\n".join(lines[:i]).rstrip()
            + "\n\n"
            + head
            + "\n\n"
            + body.strip()
            + "\n\n"
            + "\n".join(lines[i:])
        )
    except StopIteration:
        text = text.rstrip() + "\n\n" + head + "\n\n" + body.strip() + "\n"
    path.write_text(text.rstrip() + "\n")


# ============================================================================================ speed


def speed(
    n_series: int = 1000, peer_series: int = 20, weeks: int = 8, log: Callable[[str], None] = print
) -> pd.DataFrame:
    """Fit + 14-day hourly forecast wall time: surgeplan on ``n_series``, peers extrapolated."""
    rng = np.random.default_rng(0)
    ts = pd.date_range("2020-01-06", periods=weeks * 168, freq="h", tz="UTC")
    hod, dow = ts.hour.to_numpy(), ts.dayofweek.to_numpy()
    level = rng.lognormal(4, 1, n_series)[:, None]
    shape = 1 + 0.6 * np.sin(2 * np.pi * (hod - 8) / 24)[None, :] * (1 - 0.4 * (dow >= 5))[None, :]
    y = level * shape * np.exp(rng.normal(0, 0.08, (n_series, len(ts))))
    meas = pd.DataFrame(
        {
            "resource_id": np.repeat([f"s{i:04d}" for i in range(n_series)], len(ts)),
            "ts": np.tile(ts, n_series),
            "load": y.ravel(),
        }
    )
    cutoff = ts[-1] + pd.Timedelta(hours=1)
    rows = []

    def timed(name, factory, frame, n):
        m = factory(COVERAGE_QUANTILES)
        t = time.perf_counter()
        m.fit(frame, cutoff=cutoff)
        f = m.predict("14d")
        dt = time.perf_counter() - t
        assert len(f) == n * 14 * 24, (name, len(f))
        rows.append(
            {"model": name, "series timed": n, "seconds": dt, "seconds for 1000 series": dt * 1000 / n}
        )
        log(f"  {name:<10} {n:>5} series: {dt:7.2f} s -> {dt * 1000 / n:8.1f} s per 1000")

    try:
        timed("surgeplan", shock_model, meas, n_series)
    except Exception as exc:  # noqa: BLE001
        log(f"  surgeplan model unavailable: {exc}")
    sub = meas[meas["resource_id"].isin([f"s{i:04d}" for i in range(peer_series)])]
    for name, which in (("AutoETS", "ets"), ("MSTL", "mstl")):
        warm = meas[meas["resource_id"] == "s0000"]
        m = StatsForecastPeer(which, COVERAGE_QUANTILES)
        m.window_days = weeks * 7
        m.fit(warm, cutoff=cutoff).predict("1d")  # JIT warm-up, not timed

        def factory(q, which=which):
            p = StatsForecastPeer(which, q)
            p.window_days = weeks * 7
            return p

        timed(name, factory, sub, peer_series)
    table = pd.DataFrame(rows)
    if len(table) and (table["model"] == "surgeplan").any():
        ref = float(table.loc[table["model"] == "surgeplan", "seconds for 1000 series"].iloc[0])
        table["ratio to surgeplan"] = table["seconds for 1000 series"] / ref
    return table


# ============================================================================================ main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: fewer origins, resources and series")
    ap.add_argument("--write-results", action="store_true", help="update benchmarks/RESULTS.md")
    ap.add_argument("--resources", type=int, default=40, help="simulated operator resources (subsample)")
    ap.add_argument("--peer-resources", type=int, default=8, help="of which run by statsforecast / Prophet")
    ap.add_argument("--speed-peer-series", type=int, default=20)
    ap.add_argument(
        "--skip",
        default="operator",
        help="comma list of parts to skip: rte,operator,alt,engine,speed (default: operator, which "
        "benchmarks/replay_2020.py runs with the same peers on daily origins)",
    )
    args = ap.parse_args(argv)
    from _machine import machine_markdown

    skip = set(filter(None, args.skip.split(",")))
    quick = args.quick

    def emit(title: str, text: str) -> None:
        """Print a part's table and write it as its own RESULTS.md section (partial runs persist)."""
        body = text.replace("### ", "", 1).split("\n", 1)
        md = f"**{body[0]}**\n\n{body[1].strip() if len(body) > 1 else ''}\n\n{machine_markdown()}"
        if args.write_results and not quick:
            write_section(title, md)
            print(f"wrote section '{title}' of {RESULTS}")

    if "rte" not in skip:
        print("France electricity load (RTE), daily origins over the 2020 lockdown, 14-day horizon")
        data = rte_france_data()
        start, end = ("2020-03-10", "2020-03-20") if quick else ("2020-03-01", "2020-05-31")
        models = {
            "surgeplan": shock_model,
            **peer_factories(["naive-day", "naive-week", "AutoETS", "MSTL", "Prophet"]),
        }
        res = run_models(
            data,
            models,
            start=start,
            end=end,
            horizon="14d",
            tz="Europe/Paris",
            refit_every={"surgeplan": 7, "naive-day": 7, "naive-week": 7},
            cache_key="rte",
        )
        table = comparison_table(res, [1, 7, 14])
        print(table.to_string(index=False))
        emit(
            "Forecast: France electricity load vs peers",
            f"### France electricity load (RTE, real), origins {start} .. {end} (Paris midnights), "
            "14-day horizon, hourly means\n\n" + to_markdown(table),
        )

    if "operator" not in skip:
        n = 12 if quick else args.resources
        npeer = 4 if quick else args.peer_resources
        print(f"Simulated operator 2020: {n} resources (seed 0), statsforecast/Prophet on {npeer}")
        data = operator_2020(n)
        start, end = ("2020-03-01", "2020-03-10") if quick else ("2020-02-15", "2020-05-31")
        ids = list(data["inventory"]["resource_id"])
        peer_ids = ids[:npeer]
        models = {
            "surgeplan": shock_model,
            **peer_factories(["naive-day", "naive-week", "AutoETS", "MSTL", "Prophet"]),
        }
        res = run_models(
            data,
            models,
            start=start,
            end=end,
            horizon="28d",
            refit_every={"surgeplan": 7, "naive-day": 7, "naive-week": 7},
            resources={"AutoETS": peer_ids, "MSTL": peer_ids, "Prophet": peer_ids},
            cache_key="operator",
        )
        all_t = comparison_table(
            {k: v for k, v in res.items() if k in ("surgeplan", "naive-day", "naive-week")}, [1, 7, 14, 28]
        )
        peer_t = comparison_table(res, [1, 7, 14, 28], on=peer_ids)
        print(all_t.to_string(index=False))
        print(peer_t.to_string(index=False))
        emit(
            "Forecast: simulated operator vs peers",
            f"### Simulated operator 2020, origins {start} .. {end}, 28-day horizon\n\n"
            f"All {n} resources (random subsample of the bundled inventory, seed 0):\n\n"
            + to_markdown(all_t)
            + f"\n\nThe {npeer} resources every peer ran on:\n\n"
            + to_markdown(peer_t),
        )

    if "alt" not in skip:
        sys.path.insert(0, str(HERE.parent / "tests"))
        from generators.alt_shock import generate

        n = 10 if quick else 20
        npeer = 3 if quick else args.peer_resources
        gen = generate(n_resources=n, seed=11)
        data = {
            "measurements": gen.measurements,
            "inventory": gen.inventory,
            "indicators": gen.indicators,
            "covariates": gen.covariates,
        }
        start, end = ("2020-03-01", "2020-03-10") if quick else ("2020-02-15", "2020-05-31")
        print(
            f"Second, independent generator (tests/generators/alt_shock.py): {n} resources, peers on {npeer}"
        )
        ids = list(gen.inventory["resource_id"])
        peer_ids = ids[:npeer]
        models = {"surgeplan": shock_model, **peer_factories(["naive-day", "naive-week", "AutoETS", "MSTL"])}
        res = run_models(
            data,
            models,
            start=start,
            end=end,
            horizon="14d",
            refit_every={"surgeplan": 7, "naive-day": 7, "naive-week": 7},
            resources={"AutoETS": peer_ids, "MSTL": peer_ids},
            cache_key="alt",
        )
        all_t = comparison_table(
            {k: v for k, v in res.items() if k in ("surgeplan", "naive-day", "naive-week")}, [1, 7, 14]
        )
        peer_t = comparison_table(res, [1, 7, 14], on=peer_ids)
        ant = res["surgeplan"].metrics.query("horizon_days == 14").dropna(subset=["shortage_date"])
        print(all_t.to_string(index=False))
        print(peer_t.to_string(index=False))
        emit(
            "Forecast: second generator",
            f"### Second, independent generator (tests/generators/alt_shock.py, seed 11), origins {start} .. "
            f"{end}, 14-day horizon\n\nLogistic ramps with kind-specific lags (VPN 2 days before the order, "
            "bridges 4 after), habits persisting after the lift, unrelated level shifts, 2% missing hours "
            f"plus outages, spikes, a temperature covariate; regions hit 7 days apart. All {n} resources:\n\n"
            + to_markdown(all_t)
            + f"\n\nThe {npeer} resources every peer ran on:\n\n"
            + to_markdown(peer_t)
            + f"\n\nShortages: {len(ant)}; foreseen (p90 above capacity) >= 7 days ahead: "
            f"{int((ant['anticipation_days'] >= 7).sum())}, at least 1 day ahead: "
            f"{int((ant['anticipation_days'] >= 1).sum())}.",
        )

    if "engine" not in skip:
        sys.path.insert(0, str(HERE.parent / "tests"))
        from generators.alt_shock import generate

        n = 50 if quick else 300
        gen = generate(n_resources=n, seed=5, start="2020-01-01", end="2020-05-31")
        start, end = "2020-02-20", ("2020-02-29" if quick else "2020-05-29")
        print(
            f"Backtest engine: {n} hourly series, daily origins {start} .. {end}, 1-day horizon, refit weekly"
        )
        t = time.perf_counter()
        res = backtest(
            gen.measurements,
            gen.inventory,
            gen.indicators,
            gen.covariates,
            start=start,
            end=end,
            horizon="1d",
            model=shock_model,
            refit_every=7,
        )
        total = time.perf_counter() - t
        tm = res.timings
        n_origins = res.forecasts["origin"].nunique()
        line = (
            f"{n} series x {n_origins} daily origins ({len(gen.measurements):,} measurements): {total:.0f} s "
            "in all "
            f"= {int(tm['n_fits'])} fits {tm['fit_s']:.0f} s + {n_origins - int(tm['n_fits'])} updates "
            f"{tm['update_s']:.0f} s + predictions {tm['predict_s']:.0f} s + scoring {tm['score_s']:.0f} s"
        )
        print("  " + line)
        emit(
            "Forecast: backtest engine",
            "### Backtest engine throughput (surgeplan backtest, second generator)\n\n"
            + line
            + ". Target: a 100-day daily backtest over hundreds of series in minutes.",
        )

    if "speed" not in skip:
        ns = 200 if quick else 1000
        print(f"Speed: fit + 14-day forecast of {ns} hourly series, 8 weeks of history")
        table = speed(ns, 5 if quick else args.speed_peer_series)
        print(table.to_string(index=False))
        emit(
            "Forecast: speed",
            f"### Speed: fit + 14-day forecast, {ns} hourly series, 8 weeks of history each\n\n"
            "Peers timed on a subsample and extrapolated linearly to 1,000 series (their cost is per "
            "series); surgeplan timed on all of them. Target: surgeplan < 60 s.\n\n" + to_markdown(table),
        )

    return 0


if __name__ == "__main__":
    raise SystemExit(main())
