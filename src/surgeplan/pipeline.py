"""The main job: store -> simulate -> forecast -> dimension -> plan -> report.

Two entry points, both used by the CLI:

* :func:`run_demo` - the end-to-end demo on the bundled fictional operator and the real 2020
  indicators: builds a DuckDB store, simulates hourly load, replays planning on chosen as-of
  dates in Feb-Apr 2020 (every Monday by default, every day with ``replay_every_days=1``; each
  plan has daily periods) as the operator would have done, and writes the HTML report plus
  CSV / XLSX exports;
* :func:`run_plan` - one plan for the user's own data already in a store, driven by a scenario
  TOML (see ``surgeplan/data/scenarios/plan_example.toml``).

The replay keeps a ledger of what has been ordered: on each as-of date the forecaster is updated
with the new measurements (Kalman step), refitted in full every ``refit_every_days`` as a planner
would do weekly (the shock's size and shape are only re-estimated by a refit), the plan is made against the capacity
installed *or on order*, and its new actions are committed. At the end the committed upgrades are
played against the load that really happened (the simulated truth) to show what was late.
"""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from surgeplan.dimension import dimension, prepare_inventory
from surgeplan.errors import SurgeplanError
from surgeplan.kinds import KINDS
from surgeplan.plan import Plan, make_plan

# ----------------------------------------------------------------------------------------------
# plan settings (scenario TOML)
# ----------------------------------------------------------------------------------------------


@dataclass
class PlanSettings:
    """Plan settings read from a scenario TOML (every field has a default).

    Attributes
    ----------
    asof : Timestamp or None
        Planning date; None = the day after the last measurement.
    horizon_days : int
        How far ahead to forecast and plan (days).
    cadence : str
        Planning period: ``'D'`` (day) or ``'W'`` (ISO week).
    quantile : str
        Forecast column to size on (``p90``).
    alert_quantiles : tuple of str
        Quantiles of the alerts table.
    forecast_quantiles : tuple of float
        Quantiles the forecaster produces (must cover ``quantile`` and ``alert_quantiles``).
    budget : float or None
        Ceiling on the plan's cost.
    ops_per_day : dict or int or None
        Field operations per day per region (``'*'`` = default for regions not listed).
    ops_per_module : dict
        Operations one module takes, by kind.
    gos : dict
        GoS target overrides by kind or resource_id.
    indicators : dict
        Indicator assumptions per region for the forecast horizon (``lockdown_start``,
        ``lockdown_end``, ``stringency``, ``stay_home_required``), or empty (hold the last
        observed values).
    output_dir : Path
        Where exports and the report go.
    max_growth : float or None
        Forecast guard: busy-hour forecasts are capped at this multiple of the highest busy hour
        measured on the resource (see :func:`bound_forecast`); None disables it.
    survive : str or list or None
        Failures the plan must survive (``[plan] survive = "n-1"``, ``"sites"``, or a list of
        SPECs / lists of SPECs; see :func:`surgeplan.continuity.whatif`).
    """

    asof: pd.Timestamp | None = None
    horizon_days: int = 42
    cadence: str = "D"
    quantile: str = "p90"
    alert_quantiles: tuple[str, ...] = ("p50", "p90", "p99")
    forecast_quantiles: tuple[float, ...] = (0.5, 0.9, 0.99)
    budget: float | None = None
    ops_per_day: Any = None
    ops_per_module: dict[str, int] = field(default_factory=dict)
    gos: dict[str, float] = field(default_factory=dict)
    indicators: dict[str, dict[str, Any]] = field(default_factory=dict)
    output_dir: Path = Path("surgeplan-plan")
    max_growth: float | None = 10.0
    survive: Any = None


_PLAN_KEYS = {"asof", "horizon_days", "cadence", "quantile", "alert_quantiles", "forecast_quantiles", "budget",
              "ops_per_day", "ops_per_module", "output_dir", "max_growth", "survive"}
_IND_KEYS = {"lockdown_start", "lockdown_end", "stringency", "stay_home_required"}


def load_plan_settings(path: str | Path | None = None, raw: Mapping[str, Any] | None = None) -> PlanSettings:
    """Read plan settings from a scenario TOML (or an already parsed dict).

    Tables: ``[plan]`` (``asof, horizon_days, cadence, quantile, alert_quantiles,
    forecast_quantiles, budget, output_dir``, sub-tables ``[plan.ops_per_day]`` and
    ``[plan.ops_per_module]``), ``[gos]`` (overrides by kind or resource_id) and
    ``[indicators.<REGION>]``. Other top-level tables (e.g. the simulator's) are ignored. Errors
    name the file and the key.
    """
    src = str(path) if path is not None else "<settings>"
    if raw is None:
        if path is None:
            return PlanSettings()
        p = Path(path)
        if not p.exists():
            raise SurgeplanError(f"{src}: no such scenario file")
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SurgeplanError(f"{src}: not valid TOML: {exc}") from None
    s = PlanSettings()
    plan = dict(raw.get("plan", {}))
    unknown = set(plan) - _PLAN_KEYS
    if unknown:
        raise SurgeplanError(f"{src}: [plan] unknown key {sorted(unknown)[0]!r}; known: {', '.join(sorted(_PLAN_KEYS))}")

    def num(key, value, lo=None, integer=False):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SurgeplanError(f"{src}: [plan] {key} must be a number, got {value!r}")
        if lo is not None and value < lo:
            raise SurgeplanError(f"{src}: [plan] {key} must be >= {lo}, got {value!r}")
        return int(value) if integer else float(value)

    if "asof" in plan:
        try:
            s.asof = pd.Timestamp(str(plan["asof"])).normalize()
        except ValueError:
            raise SurgeplanError(f"{src}: [plan] asof is not a date: {plan['asof']!r}") from None
    if "horizon_days" in plan:
        s.horizon_days = num("horizon_days", plan["horizon_days"], 1, integer=True)
        if s.horizon_days > 182:
            raise SurgeplanError(f"{src}: [plan] horizon_days must be <= 182 (26 weeks)")
    if "cadence" in plan:
        if plan["cadence"] not in ("D", "W"):
            raise SurgeplanError(f"{src}: [plan] cadence must be 'D' or 'W', got {plan['cadence']!r}")
        s.cadence = plan["cadence"]
    if "forecast_quantiles" in plan:
        qs = plan["forecast_quantiles"]
        if not isinstance(qs, list) or not all(isinstance(q, (int, float)) and 0 < q < 1 for q in qs):
            raise SurgeplanError(f"{src}: [plan] forecast_quantiles must be a list of numbers in (0, 1)")
        s.forecast_quantiles = tuple(float(q) for q in qs)
    from surgeplan.dimension import quantile_column

    available = {quantile_column(q) for q in s.forecast_quantiles} | {"mean"}
    if "quantile" in plan:
        s.quantile = quantile_column(plan["quantile"])
    if "alert_quantiles" in plan:
        s.alert_quantiles = tuple(quantile_column(q) for q in plan["alert_quantiles"])
    for q in (s.quantile, *s.alert_quantiles):
        if q not in available:
            raise SurgeplanError(f"{src}: [plan] quantile {q!r} is not among forecast_quantiles ({sorted(available)})")
    if "budget" in plan:
        s.budget = num("budget", plan["budget"], 0)
    if "ops_per_day" in plan:
        o = plan["ops_per_day"]
        if isinstance(o, Mapping):
            s.ops_per_day = {str(k): num(f"ops_per_day.{k}", v, 0, integer=True) for k, v in o.items()}
        else:
            s.ops_per_day = num("ops_per_day", o, 0, integer=True)
    if "ops_per_module" in plan:
        o = plan["ops_per_module"]
        bad = [k for k in o if k not in KINDS]
        if bad:
            raise SurgeplanError(f"{src}: [plan.ops_per_module] unknown kind {bad[0]!r}")
        s.ops_per_module = {k: num(f"ops_per_module.{k}", v, 0, integer=True) for k, v in o.items()}
    if "max_growth" in plan:
        s.max_growth = num("max_growth", plan["max_growth"], 1)
    if "output_dir" in plan:
        s.output_dir = Path(str(plan["output_dir"]))
    if "survive" in plan:
        s.survive = _survive_setting(plan["survive"], src)
    gos = raw.get("gos", {})
    for k, v in gos.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1:
            raise SurgeplanError(f"{src}: [gos] {k} must be a number in (0, 1), got {v!r}")
    s.gos = {str(k): float(v) for k, v in gos.items()}
    for region, spec in raw.get("indicators", {}).items():
        if not isinstance(spec, Mapping):
            raise SurgeplanError(f"{src}: [indicators.{region}] must be a table")
        bad = set(spec) - _IND_KEYS
        if bad:
            raise SurgeplanError(f"{src}: [indicators.{region}] unknown key {sorted(bad)[0]!r}; "
                                 f"known: {', '.join(sorted(_IND_KEYS))}")
        if "lockdown_start" not in spec:
            raise SurgeplanError(f"{src}: [indicators.{region}] needs lockdown_start")
        s.indicators[str(region)] = {k: (str(v) if k.startswith("lockdown") else v) for k, v in spec.items()}
    return s


def _survive_setting(value: Any, src: str) -> Any:
    """``survive``: a sweep name, or a list of SPECs / lists of SPECs (checked against the
    inventory when the plan runs)."""
    from surgeplan.continuity import SWEEPS

    if isinstance(value, str):
        if value in SWEEPS:
            return value
        return [value]
    if isinstance(value, list) and value and all(
            isinstance(v, str) or (isinstance(v, list) and v and all(isinstance(x, str) for x in v)) for v in value):
        return value
    raise SurgeplanError(f"{src}: [plan] survive must be one of {', '.join(repr(k) for k in SWEEPS)} or a list of "
                         f"failure SPECs (RESOURCE_ID, site:NAME, region:ISO3, group:NAME), got {value!r}")


# ----------------------------------------------------------------------------------------------
# progress
# ----------------------------------------------------------------------------------------------

ProgressFactory = Callable[[str, int], contextlib.AbstractContextManager]


@contextlib.contextmanager
def _silent(_label: str, _total: int) -> Iterator[Callable[[int], None]]:
    yield lambda n=1: None


def rich_progress(label: str, total: int):
    """A ``rich`` progress bar context yielding ``advance(n=1)`` (used by the CLI)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    @contextlib.contextmanager
    def cm():
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      transient=False) as prog:
            task = prog.add_task(label, total=total)
            yield lambda n=1: prog.advance(task, n)

    return cm()


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def measured_busy_hour(measurements: pd.DataFrame, period: str = "D") -> pd.DataFrame:
    """Measured busy-hour load per resource and period: ``resource_id, period, busy_hour, load``.

    Hourly means first (finer cadences are averaged within the clock hour), then the hour with the
    highest mean per UTC day (or ISO week) - the time-consistent busy hour of ITU-T E.500.
    Vectorized (group-bys).
    """
    ts = pd.to_datetime(measurements["ts"], utc=True)
    hourly = (measurements[["resource_id", "load"]].assign(hour=ts.dt.floor("h"))
              .groupby(["resource_id", "hour"], sort=True, observed=True)["load"].mean().reset_index())
    day = hourly["hour"].dt.floor("D")
    hourly["period"] = day if period == "D" else day - pd.to_timedelta(day.dt.weekday, unit="D")
    idx = hourly.groupby(["resource_id", "period"], sort=True, observed=True)["load"].idxmax()
    out = hourly.loc[idx.to_numpy()].rename(columns={"hour": "busy_hour"})
    out["period"] = out["period"].dt.tz_convert(None)
    return out[["resource_id", "period", "busy_hour", "load"]].reset_index(drop=True)


def _naive(ts) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    return (t.tz_convert(None) if t.tzinfo else t).normalize()


def known_before(indicators: pd.DataFrame | None, day: Any) -> pd.DataFrame | None:
    """The indicator rows dated before ``day`` (naive date): what a planner knew that morning."""
    from surgeplan.signals import filter_indicators

    if indicators is None or indicators.empty:
        return indicators
    return filter_indicators(indicators, end=_naive(day) - pd.Timedelta(days=1))


def forecast_busy_hour(
    measurements: pd.DataFrame,
    inventory: pd.DataFrame,
    indicators: pd.DataFrame,
    asof: pd.Timestamp,
    settings: PlanSettings,
) -> tuple[pd.DataFrame, Any]:
    """Fit the shock forecaster on data before ``asof`` and return its busy-hour forecast.

    Only indicators dated before ``asof`` are used (a store filled after the fact holds the later
    ones too; a plan made on ``asof`` could not have known them): later days are projected or
    held (``ShockForecaster.indicator_source_``) or come from ``settings.indicators``.
    """
    from surgeplan.forecast import ShockForecaster, busy_hour

    fc = ShockForecaster(quantiles=settings.forecast_quantiles)
    fc.fit(measurements, inventory, known_before(indicators, asof), cutoff=pd.Timestamp(asof).tz_localize("UTC"))
    f = fc.predict(f"{settings.horizon_days}D", indicators_future=settings.indicators or None)
    bh = busy_hour(f, settings.cadence)
    bh["period"] = pd.to_datetime(bh["period"]).dt.tz_convert(None)
    return bh, fc


def bound_forecast(bh: pd.DataFrame, history: pd.DataFrame, factor: float | None) -> tuple[pd.DataFrame, int]:
    """Cap busy-hour forecasts at ``factor`` x the highest busy-hour load measured on the resource.

    A guard against a diverging forecast (a shock response extrapolated without bound): no
    crisis in the 2020 record multiplied a resource's busiest hour by more than about 8 (remote
    access), so the default 10 only catches numerical runaways. Returns the capped table and the
    number of (resource, period) rows capped; resources without history are left as they are.

    Parameters
    ----------
    bh : DataFrame
        Busy-hour forecasts ``resource_id, period, mean, p..``.
    history : DataFrame
        Measured busy hours ``resource_id, period, load`` (:func:`measured_busy_hour`).
    factor : float or None
        The cap; None disables it.
    """
    if factor is None or bh.empty or history.empty:
        return bh, 0
    peak = history.groupby("resource_id", observed=True)["load"].max() * float(factor)
    bound = bh["resource_id"].map(peak).to_numpy(np.float64)
    cols = [c for c in bh.columns if c == "mean" or (c.startswith("p") and c[1:].replace(".", "", 1).isdigit())]
    out = bh.copy()
    capped = np.zeros(len(bh), dtype=bool)
    for c in cols:
        v = out[c].to_numpy(np.float64)
        over = np.isfinite(bound) & ~(v <= bound)  # NaN / inf forecasts count as over
        capped |= over & np.isfinite(bound)
        out[c] = np.where(over, bound, v)
    return out, int(capped.sum())


def export_plan(plan: Plan, out_dir: Path, stem: str = "plan") -> list[Path]:
    """Write the plan's tables as CSV files and one XLSX workbook (a sheet per table)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = {"actions": plan.actions, "alerts": plan.alerts, "late": plan.late, "temporary": plan.temporary,
              "dimensioning": plan.dimensioning}
    paths = []
    for name, df in tables.items():
        p = out_dir / f"{stem}_{name}.csv"
        df.to_csv(p, index=False)
        paths.append(p)
    xlsx = out_dir / f"{stem}.xlsx"
    with pd.ExcelWriter(xlsx, engine="openpyxl") as xw:
        pd.DataFrame([plan.summary]).T.reset_index().set_axis(["item", "value"], axis=1).astype(str) \
            .to_excel(xw, sheet_name="summary", index=False)
        for name in ("actions", "alerts", "late", "temporary"):
            tables[name].to_excel(xw, sheet_name=name, index=False)
    paths.append(xlsx)
    return paths


# ----------------------------------------------------------------------------------------------
# user plan
# ----------------------------------------------------------------------------------------------


@dataclass
class PlanRun:
    """What :func:`run_plan` produced."""

    plan: Plan
    report: Path
    exports: list[Path]
    busy_hour: pd.DataFrame


def run_plan(db: str | Path, settings: PlanSettings, asof: str | pd.Timestamp | None = None,
             progress: ProgressFactory = _silent) -> PlanRun:
    """Plan from the data in a store: fit, forecast the horizon, dimension, plan, export, report.

    Parameters
    ----------
    db : path
        The DuckDB store with inventory, measurements and (optionally) indicators ingested.
    settings : PlanSettings
        From :func:`load_plan_settings`.
    asof : date, optional
        Overrides ``settings.asof``; default the day after the last measurement.
    """
    from surgeplan.report import write_report
    from surgeplan.store import Store

    if not Path(db).exists():
        raise SurgeplanError(f"{db}: no such store (ingest inventory and measurements first)")
    with Store(db, read_only=True) as store:
        inv = store.inventory()
        meas = store.measurements()
        ind = store.indicators()
    if inv.empty:
        raise SurgeplanError(f"{db}: the store has no inventory")
    if meas.empty:
        raise SurgeplanError(f"{db}: the store has no measurements")
    asof_ts = _naive(asof) if asof is not None else settings.asof
    if asof_ts is None:
        asof_ts = _naive(pd.to_datetime(meas["ts"]).max()) + pd.Timedelta(days=1)
    with progress("forecast", 1) as adv:
        bh, _ = forecast_busy_hour(meas, inv, ind, asof_ts, settings)
        past = meas.loc[pd.to_datetime(meas["ts"], utc=True) < pd.Timestamp(asof_ts, tz="UTC")]
        bh, _n_capped = bound_forecast(bh, measured_busy_hour(past), settings.max_growth)
        adv()
    with progress("dimension + plan", 1) as adv:
        plan = make_plan(inv, bh, asof_ts, quantile=settings.quantile, budget=settings.budget,
                         ops_per_day=settings.ops_per_day, ops_per_module=settings.ops_per_module or None,
                         gos_overrides=settings.gos or None, alert_quantiles=settings.alert_quantiles,
                         survive=settings.survive)
        adv()
    with Store(db) as store:  # the plan's busy hours: what `surgeplan whatif --db` reads
        store.write_table("plan_busy_hour", _storable(bh), store.start_run("plan", {"asof": f"{asof_ts:%Y-%m-%d}"}))
    out = settings.output_dir
    exports = export_plan(plan, out)
    hist = measured_busy_hour(meas.loc[pd.to_datetime(meas["ts"]) >= pd.Timestamp(asof_ts, tz="UTC")
                                       - pd.Timedelta(days=60)])
    hist = hist.loc[hist["period"] < asof_ts]
    report = write_report(out / "report.html", plan, inventory=inv, forecast_busy_hour=bh, history=hist,
                          title="surgeplan capacity plan", files=[p.name for p in exports])
    return PlanRun(plan, report, exports, bh)


# ----------------------------------------------------------------------------------------------
# demo
# ----------------------------------------------------------------------------------------------


@dataclass
class DemoConfig:
    """Settings of the end-to-end demo (defaults: the whole bundled operator, Feb-Apr 2020).

    Attributes
    ----------
    out_dir : Path
        Output directory (store, exports, report).
    sim_start, sim_end : str
        Simulated period (hourly), UTC.
    replay_start, replay_end : str
        First and last as-of dates of the replay (inclusive).
    replay_every_days : int
        Days between two as-of dates (1 = daily planning).
    refit_every_days : int
        Days between two full refits of the forecaster (0 = never: one fit, then updates only).
        Without refits the shock response is only what the Kalman updates learned: measured on
        the default demo, VPN p90 forecasts 2-3x the load that followed.
    headline : str or None
        As-of date whose plan the report details; None = the as-of date with the most new orders.
    max_resources : int or None
        Keep only the first resources of each kind, in proportion (reduced demo for tests).
    regions : tuple of str or None
        Keep only these regions.
    settings : PlanSettings
        Horizon, quantile, budget, ops per day ...
    seed : int
        Simulation seed.
    """

    out_dir: Path = Path("surgeplan-demo")
    sim_start: str = "2020-01-06"
    sim_end: str = "2020-05-04"
    replay_start: str = "2020-02-24"
    replay_end: str = "2020-04-06"
    replay_every_days: int = 7
    refit_every_days: int = 7
    headline: str | None = None
    max_resources: int | None = None
    regions: tuple[str, ...] | None = None
    settings: PlanSettings = field(default_factory=lambda: PlanSettings(
        horizon_days=42, ops_per_day={"*": 40, "FRA": 130}, ops_per_module={"contact_center": 0}))
    seed: int = 2020


@dataclass
class DemoResult:
    """What :func:`run_demo` produced."""

    db: Path
    report: Path
    exports: list[Path]
    replay: pd.DataFrame
    orders: pd.DataFrame
    realized: pd.DataFrame
    plan: Plan
    timings: dict[str, float]


def _subset(inv: pd.DataFrame, config: DemoConfig) -> pd.DataFrame:
    if config.regions:
        inv = inv.loc[inv["region"].isin(config.regions)]
    if config.max_resources and len(inv) > config.max_resources:
        # keep whole link groups, and every kind, in proportion
        share = config.max_resources / len(inv)
        rank = inv.groupby("kind").cumcount()
        quota = inv["kind"].map((inv["kind"].value_counts() * share).round().clip(lower=1))
        keep = inv.loc[rank < quota]
        groups = set(keep.loc[keep["group"].fillna("") != "", "group"])
        inv = inv.loc[inv["resource_id"].isin(keep["resource_id"]) | (inv["group"].isin(groups) & (inv["kind"] == "link"))]
    return inv.reset_index(drop=True)


def realized_outcome(inventory: pd.DataFrame, actual_bh: pd.DataFrame, orders: pd.DataFrame,
                     start: pd.Timestamp) -> pd.DataFrame:
    """Dimension the *measured* busy-hour load against the capacity really in service each day.

    Capacity in service on a day = inventory capacity + every committed order with
    ``install_done <= day``. One :func:`dimension` call per distinct capacity state (the days on
    which some order comes into service), never per resource.
    """
    inv = prepare_inventory(inventory)
    bh = actual_bh.loc[actual_bh["period"] >= start].rename(columns={"load": "actual"})
    days = np.sort(bh["period"].unique())
    o = orders.loc[orders["modules_funded"] > 0] if len(orders) else orders
    change = np.sort(pd.to_datetime(o["install_done"]).dropna().unique()) if len(o) else np.array([], "datetime64[ns]")
    edges = np.unique(np.r_[days[:1], change[(change > days[0]) & (change <= days[-1])]]) if len(days) else []
    frames = []
    for i, e in enumerate(edges):  # loop over capacity states (dates), not resources
        hi = edges[i + 1] if i + 1 < len(edges) else np.datetime64("2262-01-01")
        rows = bh.loc[(bh["period"] >= e) & (bh["period"] < hi)]
        if rows.empty:
            continue
        done = o.loc[pd.to_datetime(o["install_done"]) <= e] if len(o) else o
        add = (done["modules_funded"] * done["module_size"]).groupby(done["resource_id"]).sum() if len(done) else None
        cap = inv["capacity"].add(add, fill_value=0.0) if add is not None else None
        frames.append(dimension(inv, rows, "actual", capacity=cap))
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).sort_values(["resource_id", "period"], ignore_index=True)


def run_demo(config: DemoConfig | None = None, progress: ProgressFactory = _silent) -> DemoResult:
    """Run the whole demo; see the module docstring. Returns paths, tables and timings (s)."""
    import time

    from surgeplan.forecast import ShockForecaster, busy_hour
    from surgeplan.report import write_report
    from surgeplan.signals import bundled_indicators
    from surgeplan.simulate import bundled_inventory, simulate
    from surgeplan.store import Store

    cfg = config or DemoConfig()
    s = cfg.settings
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    inv = _subset(bundled_inventory(), cfg)
    regions = sorted(inv["region"].unique())
    ind = bundled_indicators(regions=regions, start="2019-12-01", end="2020-12-31")
    db = out / "surgeplan.duckdb"
    if db.exists():
        db.unlink()
    with progress("simulate hourly load", 1) as adv:
        meas = simulate(inv, ind, None, cfg.sim_start, cfg.sim_end, "1h", cfg.seed)
        adv()
    timings["simulate"] = time.perf_counter() - t0
    t = time.perf_counter()
    with progress("build the DuckDB store", 3) as adv, Store(db) as store:
        store.ingest_inventory(inv)
        adv()
        store.ingest_indicators(ind)
        adv()
        store.ingest_measurements(meas)
        adv()
        inv = store.inventory()  # what the store holds is what we plan on
    timings["store"] = time.perf_counter() - t

    asofs = pd.date_range(cfg.replay_start, cfg.replay_end, freq=f"{cfg.replay_every_days}D")
    meas = meas.sort_values(["resource_id", "ts"], ignore_index=True)
    ts = pd.to_datetime(meas["ts"], utc=True)
    committed = inv.set_index("resource_id")["capacity"].astype(float).copy()
    actual = measured_busy_hour(meas)
    plans, rows, order_frames = {}, [], []
    t = time.perf_counter()
    fc = ShockForecaster(quantiles=s.forecast_quantiles)
    with progress(f"fit the forecaster on the history before {asofs[0]:%Y-%m-%d}", 1) as adv:
        cut0 = pd.Timestamp(asofs[0], tz="UTC")
        # indicators as known on each as-of date: no peeking at later lockdowns
        fc.fit(meas.loc[(ts < cut0).to_numpy()], inv, known_before(ind, asofs[0]), cutoff=cut0)
        last_fit = cut0
        adv()
    timings["fit"] = time.perf_counter() - t
    with progress(f"replay planning ({len(asofs)} as-of dates)", len(asofs)) as adv:
        for i, asof in enumerate(asofs):  # the replay is a loop over dates, each fully vectorized
            cut = pd.Timestamp(asof, tz="UTC")
            if i > 0:
                prev = pd.Timestamp(asofs[i - 1], tz="UTC")
                fc.update(meas.loc[((ts >= prev) & (ts < cut)).to_numpy()], indicators=known_before(ind, asof))
                if cfg.refit_every_days and (cut - last_fit) >= pd.Timedelta(days=cfg.refit_every_days):
                    fc.refit()
                    last_fit = cut
            f = fc.predict(f"{s.horizon_days}D", indicators_future=s.indicators or None)
            bh = busy_hour(f, s.cadence)
            bh["period"] = pd.to_datetime(bh["period"]).dt.tz_convert(None)
            bh, n_capped = bound_forecast(bh, actual.loc[actual["period"] < asof], s.max_growth)
            inv_now = inv.assign(capacity=committed.reindex(inv["resource_id"]).to_numpy())
            plan = make_plan(inv_now, bh, asof, quantile=s.quantile, budget=s.budget, ops_per_day=s.ops_per_day,
                             ops_per_module=s.ops_per_module or None, gos_overrides=s.gos or None,
                             alert_quantiles=s.alert_quantiles)
            plans[asof] = (plan, bh)
            a = plan.actions
            if len(a):
                fund = a.loc[a["modules_funded"] > 0]
                add = (fund["modules_funded"] * fund["module_size"]).groupby(fund["resource_id"]).sum()
                committed = committed.add(add, fill_value=0.0)
                order_frames.append(fund.assign(ordered_on=asof))
            rows.append({**plan.summary, "new_orders": int((a["modules_funded"] > 0).sum()) if len(a) else 0,
                         "forecast_rows_capped": n_capped})
            adv()
    timings["replay"] = time.perf_counter() - t
    orders = pd.concat(order_frames, ignore_index=True) if order_frames else pd.DataFrame(
        columns=["resource_id", "modules_funded", "module_size", "install_done", "ordered_on"])
    replay = pd.DataFrame(rows)
    cols = ["asof", "resources_short", "new_orders", "actions", "modules", "cost", "late_actions", "order_now",
            "resources_short_after_plan", "forecast_rows_capped"]
    replay = replay[[c for c in cols if c in replay.columns]]

    t = time.perf_counter()
    realized = realized_outcome(inv, actual, orders, pd.Timestamp(cfg.replay_start))
    timings["realized"] = time.perf_counter() - t

    if cfg.headline is not None:
        head = pd.Timestamp(cfg.headline)
        if head not in plans:
            raise SurgeplanError(f"headline: {cfg.headline} is not an as-of date of the replay")
    else:
        counts = replay.set_index(pd.to_datetime(replay["asof"]))["new_orders"]
        head = counts.idxmax() if len(counts) and counts.max() > 0 else asofs[0]
    plan, bh = plans[head]
    t = time.perf_counter()
    exports = export_plan(plan, out)
    orders_path = out / "replay_orders.csv"
    orders.to_csv(orders_path, index=False)
    replay_path = out / "replay_summary.csv"
    replay.to_csv(replay_path, index=False)
    realized_path = out / "realized.csv"
    realized.to_csv(realized_path, index=False)
    exports += [orders_path, replay_path, realized_path]
    with Store(db) as store:
        run = store.start_run("demo", {"headline": f"{head:%Y-%m-%d}", "replay": [cfg.replay_start, cfg.replay_end]})
        store.write_table("plan_actions", _storable(plan.actions), run)
        store.write_table("plan_alerts", _storable(plan.alerts), run)
        store.write_table("replay_orders", _storable(orders), run)
        store.write_table("plan_busy_hour", _storable(bh), run)
    t_wi = time.perf_counter()
    whatif_html, whatif_files = continuity_sweeps(inv, bh, s.quantile, out / "whatif")
    exports += whatif_files
    timings["whatif"] = time.perf_counter() - t_wi
    hist = actual.loc[(actual["period"] >= pd.Timestamp(cfg.sim_start) + pd.Timedelta(days=21))]
    rep = write_report(
        out / "report.html", _with_realized(plan, realized), inventory=inv, forecast_busy_hour=bh, history=hist,
        replay=replay,
        title="surgeplan demo: a fictional operator through the first COVID-19 wave",
        subtitle=(f"{len(inv)} resources in {len(regions)} countries, hourly load simulated from the real 2020 "
                  f"OxCGRT indicators; planning replayed every {cfg.replay_every_days} day(s) from {cfg.replay_start} "
                  f"to {cfg.replay_end} (daily planning periods, {s.horizon_days}-day horizon); the detailed plan "
                  f"is the one of {head:%Y-%m-%d}" + (" (the day with the most new orders)." if cfg.headline is None
                                                      else ".")),
        files=[p.name for p in exports] + [db.name],
        replay_findings=_findings(replay, orders, realized, s.max_growth), whatif_html=whatif_html)
    timings["report"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    return DemoResult(db, rep, exports, replay, orders, realized, plan, timings)


def continuity_sweeps(inventory: pd.DataFrame, busy_hour: pd.DataFrame, quantile: str,
                      out_dir: Path) -> tuple[str, list[Path]]:
    """N-1 and site sweeps on the installed inventory at the plan's peak busy hour (the demo's
    what-if): writes whatif.csv, worst.csv, flows.csv under ``out_dir``; returns the report
    section's HTML and the files."""
    from surgeplan.continuity import peak_load, whatif
    from surgeplan.report.whatif import whatif_section

    res = whatif(inventory, peak_load(busy_hour, quantile), None, ["n-1", "sites"], mode="hashing")
    files = res.write(out_dir)
    note = (f"Every single resource (N-1) and every service-centre site lost in turn, on the installed capacity at "
            f"each resource's peak {quantile} busy hour of the headline plan; lost load moves to the surviving "
            "members of its group (links: spread by capacity, as LAG/ECMP hashing does; other kinds: the LP that "
            "serves vital load first). Files: whatif/whatif.csv, whatif/worst.csv, whatif/flows.csv.")
    return whatif_section(res, note=note), files


def _findings(replay: pd.DataFrame, orders: pd.DataFrame, realized: pd.DataFrame,
              max_growth: float | None = None) -> list[str]:
    """Plain sentences on the replay and on what really happened with the orders placed."""
    out = []
    if len(replay):
        out.append(f"{int(replay['new_orders'].sum()):,} orders placed over {len(replay)} planning dates, "
                   f"cost {orders['cost_funded'].sum() if len(orders) else 0:,.0f}.")
    if len(realized):
        short = realized.loc[~realized["gos_ok"].to_numpy(bool)]
        out.append(f"Measured load against the capacity in service: {short['resource_id'].nunique():,} of "
                   f"{realized['resource_id'].nunique():,} resources were short on {len(short):,} resource-days "
                   f"(of {len(realized):,}); see realized.csv.")
        late = short.groupby("kind", observed=True)["resource_id"].nunique()
        if len(late):
            out.append("Short resources by kind: " + ", ".join(f"{k} {v:,}" for k, v in late.items() if v) + ".")
    if len(replay) and "forecast_rows_capped" in replay and replay["forecast_rows_capped"].sum():
        out.append(f"Forecast guard: {int(replay['forecast_rows_capped'].sum()):,} busy-hour forecasts were capped "
                   f"at {max_growth:g}x the highest measured busy hour (max_growth).")
    return out


def _storable(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns as strings, categoricals as strings (DuckDB-friendly)."""
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype) or out[c].dtype == object:
            out[c] = out[c].astype(str).where(out[c].notna(), None)
    return out


def _with_realized(plan: Plan, realized: pd.DataFrame) -> Plan:
    """The headline plan, charted against the capacity really in service over the replay."""
    if realized is None or realized.empty:
        return plan
    import dataclasses

    return dataclasses.replace(plan, planned=realized)
