"""CLI commands for the plan layer: ``surgeplan demo`` and ``surgeplan plan``.

They only parse arguments, call :mod:`surgeplan.pipeline` and format the result.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

_WORKERS_HELP = "Run on a local Dask cluster of N worker processes (same results as one process)."
_SCHEDULER_HELP = "Run on the Dask cluster of this scheduler, e.g. tcp://10.0.0.5:8786 (same results)."


def _summary_lines(summary: dict) -> list[str]:
    return [
        f"as of {summary['asof']}: {summary['resources']:,} resources dimensioned at {summary['quantile']}, "
        f"{summary['resources_short']:,} short over the horizon",
        f"{summary['actions']:,} actions ({summary['vital_actions']:,} vital), "
        f"{summary['modules']:,} modules, "
        f"cost {summary['cost']:,.0f}"
        + (f" of a {summary['budget']:,.0f} budget" if summary.get("budget") else ""),
        f"{summary['order_now']:,} orders due now or overdue, {summary['late_actions']:,} late/unfunded, "
        f"{summary['resources_short_after_plan']:,} resources still short under the plan "
        f"({summary['temporary_measures']:,} temporary measures)",
    ]


def register(app: typer.Typer) -> None:
    """Add ``demo`` and ``plan`` to the main app."""
    app.command("demo")(demo)
    app.command("plan")(plan)


def demo(
    out: Path = typer.Option(
        Path("surgeplan-demo"), "--out", help="Output directory (store, report, exports)."
    ),
    replay_start: str = typer.Option("2020-02-24", help="First as-of date of the planning replay."),
    replay_end: str = typer.Option("2020-04-06", help="Last as-of date of the planning replay."),
    every: int = typer.Option(7, help="Days between two as-of dates (1 = daily replanning)."),
    max_resources: int | None = typer.Option(None, help="Reduce the bundled operator to about N resources."),
    regions: str | None = typer.Option(None, help="Only these regions, e.g. 'FRA,ITA'."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    workers: int | None = typer.Option(None, "--workers", help=_WORKERS_HELP),
    scheduler: str | None = typer.Option(None, "--scheduler", help=_SCHEDULER_HELP),
) -> None:
    """End-to-end demo: bundled operator + real 2020 indicators -> store, simulation, planning
    replayed Feb-Apr 2020 (weekly; --every 1 for daily), HTML report and CSV/XLSX exports."""
    from surgeplan.cli.progress import no_progress, rich_progress
    from surgeplan.pipeline import DemoConfig, run_demo
    from surgeplan.scale import compute

    cfg = DemoConfig(
        out_dir=out,
        replay_start=replay_start,
        replay_end=replay_end,
        replay_every_days=every,
        max_resources=max_resources,
        regions=tuple(r.strip().upper() for r in regions.split(",")) if regions else None,
    )
    show = no_progress if json_out else rich_progress
    if workers is None and scheduler is None:  # the demo's own local pool (DemoConfig.processes)
        res = run_demo(cfg, progress=show)
    else:
        with compute(workers, scheduler) as executor:
            res = run_demo(cfg, progress=show, executor=executor)
    if json_out:
        typer.echo(json.dumps(_demo_json(res), default=str))
    else:
        _print_demo(res)


def _demo_json(res) -> dict:
    """What ``demo --json`` prints: the files written, the replay's verdict, the plan and timings (s)."""
    rp = res.replay
    return {
        "report": str(res.report),
        "db": str(res.db),
        "exports": [str(p) for p in res.exports],
        "headline": rp.headline,
        "policies": rp.policies.to_dict("records"),
        "summary": res.plan.summary,
        "timings_s": res.timings,
    }


def _print_demo(res) -> None:
    """The replay's policies side by side, where the shortage comes from, the headline plan."""
    from rich.console import Console

    rp = res.replay
    con = Console()
    con.print(f"[bold]{rp.headline}[/bold]")
    for r in rp.policies.itertuples():
        con.print(
            f"  {r.policy:<11} short on {r.shortage_resource_days:>6,} resource-days "
            f"({r.vital_shortage_resource_days:,} vital), unserved {r.unserved_load_share:.2%}, "
            f"{r.orders:,} orders, cost {r.cost:,.0f}"
        )
    con.print(
        "[bold]Where surgeplan's shortage comes from[/bold]: "
        + ", ".join(f"{r.cause} {r.shortage_resource_days:,}" for r in rp.losses.itertuples())
    )
    con.print("[bold]Headline plan[/bold]")
    for line in _summary_lines(res.plan.summary):
        con.print("  " + line)
    con.print(f"done in {res.timings['total']:.0f} s. Report: [bold]{res.report.resolve()}[/bold]")


def plan(
    scenario: Path = typer.Option(
        ..., "--scenario", help="Scenario TOML (see data/scenarios/plan_example.toml)."
    ),
    db: Path = typer.Option(Path("surgeplan.duckdb"), "--db", help="DuckDB store with your data."),
    asof: str | None = typer.Option(
        None, "--asof", help="Planning date (default: scenario, else the day after the last measurement)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Output directory (default: scenario output_dir)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    survive: str | None = typer.Option(
        None,
        "--survive",
        help="Failures the plan must survive: n-1, sites, or a SPEC (overrides the scenario's survive).",
    ),
    workers: int | None = typer.Option(None, "--workers", help=_WORKERS_HELP),
    scheduler: str | None = typer.Option(None, "--scheduler", help=_SCHEDULER_HELP),
) -> None:
    """Plan capacity for the inventory and measurements in a store, under a scenario."""
    from surgeplan.cli.progress import no_progress, rich_progress
    from surgeplan.pipeline import load_plan_settings, run_plan
    from surgeplan.plan.settings import survive_setting
    from surgeplan.scale import compute

    settings = load_plan_settings(scenario)
    if survive is not None:
        settings.survive = survive_setting(survive, "--survive")
    if out is not None:
        settings.output_dir = out
    with compute(workers, scheduler) as executor:
        res = run_plan(
            db, settings, asof, progress=no_progress if json_out else rich_progress, executor=executor
        )
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "report": str(res.report),
                    "exports": [str(p) for p in res.exports],
                    "summary": res.plan.summary,
                },
                default=str,
            )
        )
        return
    for line in _summary_lines(res.plan.summary):
        typer.echo(line)
    typer.echo(f"Report: {res.report.resolve()}")
