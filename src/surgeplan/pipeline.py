"""The main jobs, composed from the library: ``run_plan`` (a user's store) and ``run_demo``.

* :func:`run_plan`: read a store, :func:`~surgeplan.plan.plan_once`, export, report.
* :func:`run_demo`: the bundled fictional operator through the first COVID-19 wave with the real
  2020 indicators: simulate hourly load, build a DuckDB store, :func:`~surgeplan.plan.replay.replay`
  planning on weekly as-of dates under four policies (surgeplan, reactive, oracle, do nothing),
  and write the report, which leads with how surgeplan did against the others.

Progress bars are the caller's (``progress(label, total)``); this module writes files only
through :mod:`surgeplan.store` and :mod:`surgeplan.report`.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.forecast.busy_hour import busy_hour
from surgeplan.plan import Plan, PlanSettings, load_plan_settings, plan_once
from surgeplan.plan.once import naive_day
from surgeplan.plan.replay import Replay, replay, silent_progress
from surgeplan.store.export import export_tables

__all__ = [
    "DemoConfig",
    "DemoResult",
    "PlanRun",
    "PlanSettings",
    "load_plan_settings",
    "run_demo",
    "run_plan",
]

ProgressFactory = Callable[[str, int], contextlib.AbstractContextManager]


def export_plan(plan: Plan, out_dir: Path, stem: str = "plan") -> list[Path]:
    """The plan's tables as CSV files and one XLSX workbook (summary + a sheet per table)."""
    tables = {
        "actions": plan.actions,
        "alerts": plan.alerts,
        "late": plan.late,
        "temporary": plan.temporary,
        "dimensioning": plan.dimensioning,
    }
    return export_tables(
        tables, out_dir, stem, plan.summary, xlsx_sheets=("actions", "alerts", "late", "temporary")
    )


# ----------------------------------------------------------------------------------------- plan


@dataclass
class PlanRun:
    """What :func:`run_plan` produced."""

    plan: Plan
    report: Path
    exports: list[Path]
    busy_hour: pd.DataFrame


def run_plan(
    db: str | Path,
    settings: PlanSettings,
    asof: str | pd.Timestamp | None = None,
    progress: ProgressFactory = silent_progress,
    executor: Any = None,
) -> PlanRun:
    """Plan from the data in a store: forecast, dimension, plan, export, report.

    Parameters
    ----------
    db : path
        The DuckDB store with inventory, measurements and (optionally) indicators ingested.
    settings : PlanSettings
        From :func:`load_plan_settings`.
    asof : date, optional
        Overrides ``settings.asof``; default the day after the last measurement.
    executor : concurrent.futures.Executor, optional
        Where the forecaster's groups of resources are worked on (:func:`surgeplan.scale.compute`);
        None = this process. The outputs are the same.
    """
    from surgeplan.report import write_report
    from surgeplan.store import Store

    if not Path(db).exists():
        raise SurgeplanError(f"{db}: no such store (ingest inventory and measurements first)")
    with Store(db, read_only=True) as store:
        inv, meas, ind = store.inventory(), store.measurements(), store.indicators()
    if inv.empty:
        raise SurgeplanError(f"{db}: the store has no inventory")
    if meas.empty:
        raise SurgeplanError(f"{db}: the store has no measurements")
    day = naive_day(asof) if asof is not None else settings.asof
    if day is None:
        day = naive_day(pd.to_datetime(meas["ts"]).max()) + pd.Timedelta(days=1)
    with progress("forecast, dimension and plan", 1) as advance:
        planned = plan_once(meas, inv, ind, day, settings, executor=executor)
        advance()
    with Store(db) as store:  # the plan's busy hours: what `surgeplan whatif --db` reads
        run = store.start_run("plan", {"asof": f"{day:%Y-%m-%d}"})
        store.write_table("plan_busy_hour", _storable(planned.busy_hour), run)
    exports = export_plan(planned.plan, settings.output_dir)
    recent = meas.loc[
        pd.to_datetime(meas["ts"], utc=True) >= pd.Timestamp(day, tz="UTC") - pd.Timedelta(days=60)
    ]
    hist = busy_hour(recent, settings.cadence, tz=settings.tz)
    hist = hist.loc[hist["period"] < day]
    from surgeplan.report.customer_relation import customer_relation_section

    customer_relation = customer_relation_section(
        inv, planned.busy_hour, settings.quantile_column, levers=settings.levers or None
    )
    report = write_report(
        settings.output_dir / "report.html",
        planned.plan,
        inventory=inv,
        forecast_busy_hour=planned.busy_hour,
        history=hist,
        title="surgeplan capacity plan",
        files=[p.name for p in exports],
        customer_relation=customer_relation,
    )
    return PlanRun(planned.plan, report, exports, planned.busy_hour)


# ----------------------------------------------------------------------------------------- demo


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
        Days between two full refits of the forecaster (0 = one fit, then updates only).
    headline : str or None
        As-of date whose plan the report details; None = the date with the most new orders.
    max_resources : int or None
        Keep only the first resources of each kind, in proportion (reduced demo for tests).
    regions : tuple of str or None
        Keep only these regions.
    settings : PlanSettings
        Horizon, quantile, budget, operations per day ...
    seed : int
        Simulation seed.
    processes : int
        Local processes the replay's forecasts run on when no executor is given (its as-of dates
        are forecast independently between refits; 1 = this process only). The results are the
        same; the default uses both cores of a small machine.
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
    settings: PlanSettings = field(
        default_factory=lambda: PlanSettings(
            horizon_days=42,
            ops_per_day={"*": 40, "FRA": 130},
            # agents need no field team
            ops_per_module={"contact_center": 0, "chat_queue": 0, "message_queue": 0},
        )
    )
    seed: int = 2020
    processes: int = field(default_factory=lambda: min(2, os.cpu_count() or 1))


@dataclass
class DemoResult:
    """What :func:`run_demo` produced (``timings`` in seconds)."""

    db: Path
    report: Path
    exports: list[Path]
    replay: Replay
    plan: Plan
    timings: dict[str, float]


def _subset(inv: pd.DataFrame, config: DemoConfig) -> pd.DataFrame:
    """The bundled operator reduced to some regions and about ``max_resources`` resources."""
    from surgeplan.kinds import coupled_kinds

    if config.regions:
        inv = inv.loc[inv["region"].isin(config.regions)]
    if config.max_resources and len(inv) > config.max_resources:
        share = config.max_resources / len(inv)
        rank = inv.groupby("kind").cumcount()
        quota = inv["kind"].map((inv["kind"].value_counts() * share).round().clip(lower=1))
        keep = inv.loc[rank < quota]
        # keep whole coupled groups: an N+1 group cut in half is a different network
        groups = set(keep.loc[keep["group"].fillna("") != "", "group"])
        whole = inv["group"].isin(groups) & inv["kind"].isin(coupled_kinds())
        inv = inv.loc[inv["resource_id"].isin(keep["resource_id"]) | whole]
    return inv.reset_index(drop=True)


def _build_store(db: Path, inv: pd.DataFrame, ind: pd.DataFrame, meas: pd.DataFrame) -> pd.DataFrame:
    from surgeplan.store import Store

    if db.exists():
        db.unlink()
    with Store(db) as store:
        store.ingest_inventory(inv)
        store.ingest_indicators(ind)
        store.ingest_measurements(meas)
        return store.inventory()  # what the store holds is what we plan on


@contextlib.contextmanager
def _local_pool(processes: int):
    """A pool of fresh (spawned) local processes, or None for this process only."""
    if processes <= 1:
        yield None
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def run_demo(
    config: DemoConfig | None = None, progress: ProgressFactory = silent_progress, executor: Any = None
) -> DemoResult:
    """Run the whole demo; see the module docstring (``executor``: as in :func:`run_plan`)."""
    from surgeplan.signals import bundled_indicators
    from surgeplan.simulate import bundled_inventory, simulate

    cfg = config or DemoConfig()
    s = cfg.settings
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    inv = _subset(bundled_inventory(), cfg)
    regions = sorted(inv["region"].unique())
    ind = bundled_indicators(regions=regions, start="2019-12-01", end="2020-12-31")
    with progress("simulate hourly load", 1) as advance:
        meas = simulate(inv, ind, None, cfg.sim_start, cfg.sim_end, "1h", cfg.seed)
        advance()
    timings["simulate"] = time.perf_counter() - t0
    t = time.perf_counter()
    db = out / "surgeplan.duckdb"
    with progress("build the DuckDB store", 1) as advance:
        inv = _build_store(db, inv, ind, meas)
        advance()
    timings["store"] = time.perf_counter() - t
    t = time.perf_counter()
    asofs = pd.date_range(cfg.replay_start, cfg.replay_end, freq=f"{cfg.replay_every_days}D")
    with _local_pool(cfg.processes if executor is None else 1) as pool:
        rp = replay(
            meas,
            inv,
            ind,
            asofs,
            s,
            refit_every_days=cfg.refit_every_days,
            progress=progress,
            executor=executor if executor is not None else pool,
        )
    timings["replay"] = time.perf_counter() - t
    t = time.perf_counter()
    head = _headline_date(rp, cfg.headline, asofs)
    planned = rp.plans[head]
    exports = export_plan(planned.plan, out) + _write_replay(rp, out)
    _store_results(db, planned, rp, head, cfg)
    timings["exports"] = time.perf_counter() - t
    t = time.perf_counter()
    whatif_html, whatif_files = continuity_sweeps(inv, planned.busy_hour, s.quantile_column, out / "whatif")
    exports += whatif_files
    timings["whatif"] = time.perf_counter() - t
    t = time.perf_counter()
    report = _demo_report(
        out, rp, planned, inv, meas, cfg, head, regions, [p.name for p in exports] + [db.name], whatif_html
    )
    timings["report"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    return DemoResult(db, report, exports, rp, planned.plan, timings)


def _headline_date(rp: Replay, wanted: str | None, asofs: pd.DatetimeIndex) -> pd.Timestamp:
    if wanted is not None:
        head = pd.Timestamp(wanted)
        if head not in rp.plans:
            raise SurgeplanError(f"headline: {wanted} is not an as-of date of the replay")
        return head
    counts = rp.summary.set_index(pd.to_datetime(rp.summary["asof"]))["new_orders"]
    return counts.idxmax() if len(counts) and counts.max() > 0 else asofs[0]


def _write_replay(rp: Replay, out: Path) -> list[Path]:
    by_policy = (
        pd.concat([o.assign(policy=p) for p, o in rp.orders.items() if len(o)], ignore_index=True)
        if any(len(o) for o in rp.orders.values())
        else pd.DataFrame(columns=["policy"])
    )
    files = {
        "replay_policies.csv": rp.policies,
        "replay_losses.csv": rp.losses,
        "replay_policy_orders.csv": by_policy,
        "replay_summary.csv": rp.summary,
        "replay_orders.csv": rp.orders["surgeplan"],
        "realized.csv": rp.realized["surgeplan"],
    }
    paths = []
    for name, frame in files.items():
        frame.to_csv(out / name, index=False)
        paths.append(out / name)
    return paths


def _storable(df: pd.DataFrame) -> pd.DataFrame:
    """Object and categorical columns as strings (DuckDB-friendly)."""
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype) or out[c].dtype == object:
            out[c] = out[c].astype(str).where(out[c].notna(), None)
    return out


def _store_results(db: Path, planned, rp: Replay, head: pd.Timestamp, cfg: DemoConfig) -> None:
    from surgeplan.store import Store

    with Store(db) as store:
        run = store.start_run(
            "demo", {"headline": f"{head:%Y-%m-%d}", "replay": [cfg.replay_start, cfg.replay_end]}
        )
        store.write_table("plan_actions", _storable(planned.plan.actions), run)
        store.write_table("plan_alerts", _storable(planned.plan.alerts), run)
        store.write_table("plan_busy_hour", _storable(planned.busy_hour), run)
        store.write_table("replay_orders", _storable(rp.orders["surgeplan"]), run)
        store.write_table("replay_policies", _storable(rp.policies), run)


def continuity_sweeps(
    inventory: pd.DataFrame, busy_hour: pd.DataFrame, quantile: str, out_dir: Path
) -> tuple[str, list[Path]]:
    """N-1 and site sweeps on the installed inventory at each resource's peak busy hour: writes
    whatif.csv, worst.csv and flows.csv under ``out_dir``; returns the report section and the files."""
    from surgeplan.continuity import peak_load, whatif
    from surgeplan.plan.once import canonical_inventory
    from surgeplan.report.whatif import whatif_section

    res = whatif(
        canonical_inventory(inventory), peak_load(busy_hour, quantile), None, ["n-1", "sites"], mode="hashing"
    )
    files = res.write(out_dir)
    note = (
        "Every single resource (N-1) and every service-centre site lost in turn, on the installed "
        f"capacity at each resource's peak {quantile} busy hour of the headline plan; lost load moves to "
        "the surviving members of its group (links: spread by capacity, as LAG/ECMP hashing does; "
        "other kinds: the LP that serves vital load first). Files: whatif/whatif.csv, "
        "whatif/worst.csv, whatif/flows.csv."
    )
    return whatif_section(res, note=note), files


def _demo_report(out, rp, planned, inv, meas, cfg, head, regions, files, whatif_html=None) -> Path:
    import dataclasses

    from surgeplan.report import write_report
    from surgeplan.report.customer_relation import customer_relation_section

    s = cfg.settings
    actual = busy_hour(meas, s.cadence, tz=s.tz)
    # the customer-relation chains at the peak of March 2020, on the measured busy hours
    march = actual.loc[(actual["period"] >= "2020-03-01") & (actual["period"] < "2020-04-01")]
    customer_relation = customer_relation_section(inv, march, "load", levers=s.levers or None)
    hist = actual.loc[actual["period"] >= pd.Timestamp(cfg.sim_start) + pd.Timedelta(days=21)]
    realized = rp.realized["surgeplan"]
    plan = dataclasses.replace(planned.plan, planned=realized) if len(realized) else planned.plan
    losses = ", ".join(f"{r.cause} {r.shortage_resource_days:,}" for r in rp.losses.itertuples())
    return write_report(
        out / "report.html",
        plan,
        inventory=inv,
        forecast_busy_hour=planned.busy_hour,
        history=hist,
        replay=rp.summary,
        title="surgeplan demo: a fictional operator through the first COVID-19 wave",
        subtitle=(
            f"{len(inv)} resources in {len(regions)} countries, hourly load simulated from the real 2020 "
            f"OxCGRT indicators; planning replayed every {cfg.replay_every_days} day(s) from "
            f"{cfg.replay_start} to {cfg.replay_end} ({s.horizon_days}-day horizon); the detailed plan is "
            f"the one of {head:%Y-%m-%d}."
        ),
        files=files,
        replay_findings=_findings(rp, s.max_growth),
        whatif_html=whatif_html,
        customer_relation=customer_relation,
        policies=rp.policies,
        policy_headline=rp.headline,
        policy_note=(
            "The same as-of dates, lead times, budget, field-operations ceilings and GoS targets under four "
            "policies: surgeplan (forecast), reactive (upgrade when last week's busy hour passes 80% of what "
            "the capacity carries, sized for 1.2x it), oracle (knows the realised load) and doing nothing. "
            f"Where surgeplan's shortage resource-days come from: {losses}."
        ),
    )


def _findings(rp: Replay, max_growth: float | None = None) -> list[str]:
    """Plain sentences on the replay and on what really happened with the orders placed."""
    out = []
    summary, orders, realized = rp.summary, rp.orders["surgeplan"], rp.realized["surgeplan"]
    if len(summary):
        cost = orders["cost_funded"].sum() if len(orders) else 0
        out.append(
            f"{int(summary['new_orders'].sum()):,} orders placed over {len(summary)} planning dates, "
            f"cost {cost:,.0f}."
        )
    if len(realized):
        short = realized.loc[~realized["gos_ok"].to_numpy(bool)]
        out.append(
            f"Measured load against the capacity in service: {short['resource_id'].nunique():,} of "
            f"{realized['resource_id'].nunique():,} resources were short on {len(short):,} resource-days "
            f"(of {len(realized):,}); see realized.csv."
        )
    capped = int(summary["forecast_rows_capped"].sum()) if len(summary) else 0
    if capped:
        out.append(
            f"Forecast guard: {capped:,} busy-hour forecasts had a centre (mean or median) beyond "
            f"{max_growth:g}x the highest measured busy hour and were scaled down to it (max_growth): "
            "a forecast that needs the guard is a forecast to fix."
        )
    return out
