"""CLI commands for the plan layer: ``surgeplan demo`` and ``surgeplan plan``.

They only parse arguments, call :mod:`surgeplan.pipeline` and format the result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def _summary_lines(summary: dict) -> list[str]:
    return [
        f"as of {summary['asof']}: {summary['resources']:,} resources dimensioned at {summary['quantile']}, "
        f"{summary['resources_short']:,} short over the horizon",
        f"{summary['actions']:,} actions ({summary['vital_actions']:,} vital), {summary['modules']:,} modules, "
        f"cost {summary['cost']:,.0f}" + (f" of a {summary['budget']:,.0f} budget" if summary.get("budget") else ""),
        f"{summary['order_now']:,} orders due now or overdue, {summary['late_actions']:,} late/unfunded, "
        f"{summary['resources_short_after_plan']:,} resources still short under the plan "
        f"({summary['temporary_measures']:,} temporary measures)",
    ]


def register(app: typer.Typer) -> None:
    """Add ``demo`` and ``plan`` to the main app."""

    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("surgeplan-demo"), "--out", help="Output directory (store, report, exports)."),
        replay_start: str = typer.Option("2020-02-24", help="First as-of date of the planning replay."),
        replay_end: str = typer.Option("2020-04-06", help="Last as-of date of the planning replay."),
        every: int = typer.Option(7, help="Days between two as-of dates (1 = daily replanning)."),
        max_resources: Optional[int] = typer.Option(None, help="Reduce the bundled operator to about N resources."),
        regions: Optional[str] = typer.Option(None, help="Only these regions, e.g. 'FRA,ITA'."),
        json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """End-to-end demo: bundled operator + real 2020 indicators -> store, simulation, planning
        replayed Feb-Apr 2020 (weekly; --every 1 for daily), HTML report and CSV/XLSX exports."""
        from rich.console import Console

        from surgeplan.pipeline import DemoConfig, rich_progress, run_demo

        cfg = DemoConfig(out_dir=out, replay_start=replay_start, replay_end=replay_end, replay_every_days=every,
                         max_resources=max_resources,
                         regions=tuple(r.strip().upper() for r in regions.split(",")) if regions else None)
        res = run_demo(cfg, progress=(lambda *a: _null()) if json_out else rich_progress)
        if json_out:
            typer.echo(json.dumps({"report": str(res.report), "db": str(res.db), "exports": [str(p) for p in res.exports],
                                   "summary": res.plan.summary, "timings_s": res.timings}, default=str))
            return
        con = Console()
        r = res.replay
        con.print(f"[bold]Replay[/bold] {len(r)} as-of dates: {int(r['new_orders'].sum()):,} orders placed, "
                  f"cost {res.orders['cost_funded'].sum() if len(res.orders) else 0:,.0f}")
        real = res.realized
        if len(real):
            short = real.loc[~real["gos_ok"]]
            con.print(f"[bold]What happened[/bold]: {short['resource_id'].nunique():,} resources short on "
                      f"{len(short):,} resource-days with the capacity in service")
        con.print(f"[bold]Headline plan[/bold]")
        for line in _summary_lines(res.plan.summary):
            con.print("  " + line)
        con.print(f"done in {res.timings['total']:.0f} s. Report: [bold]{res.report.resolve()}[/bold]")

    @app.command("plan")
    def plan(
        scenario: Path = typer.Option(..., "--scenario", help="Scenario TOML (see data/scenarios/plan_example.toml)."),
        db: Path = typer.Option(Path("surgeplan.duckdb"), "--db", help="DuckDB store with your data."),
        asof: Optional[str] = typer.Option(None, "--asof", help="Planning date (default: scenario, else the day "
                                                                "after the last measurement)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Output directory (default: scenario output_dir)."),
        json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
        survive: Optional[str] = typer.Option(None, "--survive", help="Failures the plan must survive: n-1, sites, "
                                                                      "or a SPEC (overrides the scenario's survive)."),
    ) -> None:
        """Plan capacity for the inventory and measurements in a store, under a scenario."""
        from surgeplan.pipeline import _survive_setting, load_plan_settings, rich_progress, run_plan

        settings = load_plan_settings(scenario)
        if survive is not None:
            settings.survive = _survive_setting(survive, "--survive")
        if out is not None:
            settings.output_dir = out
        res = run_plan(db, settings, asof, progress=(lambda *a: _null()) if json_out else rich_progress)
        if json_out:
            typer.echo(json.dumps({"report": str(res.report), "exports": [str(p) for p in res.exports],
                                   "summary": res.plan.summary}, default=str))
            return
        for line in _summary_lines(res.plan.summary):
            typer.echo(line)
        typer.echo(f"Report: {res.report.resolve()}")


def _null():
    import contextlib

    return contextlib.nullcontext(lambda n=1: None)
