"""``surgeplan whatif``: lose a link, a site or a service centre; see where the load goes and what breaks.

Examples::

    surgeplan whatif --inventory inv.csv --load load.csv --fail LK-PAR-LON-1 --out out/
    surgeplan whatif --inventory inv.csv --load load.csv --routes routes.csv --fail site:MUS-EBN --out out/
    surgeplan whatif --inventory inv.csv --load load.csv --sweep n-1 --mode hashing --out out/ --json
    surgeplan whatif --db surgeplan.duckdb --sweep sites --out out/

Writes ``DIR/whatif.csv``, ``DIR/flows.csv`` and, for sweeps, ``DIR/worst.csv``. Bad input prints
one ``error:`` line naming the file, row and column, and exits with status 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def whatif_command(
    out: Annotated[Path, typer.Option("--out", help="Output directory (whatif.csv, worst.csv, flows.csv).")],
    inventory: Annotated[Path | None, typer.Option("--inventory", help="Inventory CSV/Parquet.")] = None,
    load: Annotated[
        Path | None,
        typer.Option(
            "--load",
            help="Busy-hour load CSV: resource_id, load (kind's unit; calls per hour for contact centres).",
        ),
    ] = None,
    routes: Annotated[
        Path | None,
        typer.Option(
            "--routes",
            help="Overflow routes CSV: from_resource, to_resource, "
            "max_load (kind's unit; empty = unbounded).",
        ),
    ] = None,
    fail: Annotated[
        list[str] | None,
        typer.Option(
            "--fail",
            help="SPEC: RESOURCE_ID, site:NAME, region:ISO3 or group:NAME; several --fail make one scenario.",
        ),
    ] = None,
    sweep: Annotated[
        str | None, typer.Option("--sweep", help="n-1 (every resource) or sites (every site).")
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="optimal (LP) or hashing (link groups spread by capacity).")
    ] = "optimal",
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="Read the inventory and the latest plan's p90 busy hour "
            "from this store instead of --inventory/--load.",
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """What if resources fail: redistribute their load (LP), re-check every GoS, find the worst cases."""
    from surgeplan.continuity import io, scenario, whatif

    _check_choice(mode, fail, sweep)
    inv, bh = _inventory_and_load(db, inventory, load)
    rt = io.read_routes(routes) if routes is not None else None
    scen = sweep if sweep is not None else [scenario(list(fail), inv)]
    res = whatif(inv, bh, rt, scen, mode, routes_source=str(routes) if routes is not None else "<routes>")
    paths = res.write(out)
    summary = _summary(res, paths)
    if json_out:
        typer.echo(json.dumps(summary, default=str))
        return
    typer.echo(
        f"{summary['scenarios']:,} scenario(s), {summary['rows']:,} rows: {summary['rows_breaking']:,} break "
        f"their GoS ({summary['resources_breaking']:,} resources, {summary['vital_resources_breaking']:,} "
        "vital)"
    )
    for rec in summary["top_scenarios"][:5]:
        if rec["resources_broken"]:
            typer.echo(
                f"  {rec['scenario']}: breaks {rec['resources_broken']} resource(s), "
                f"{rec['vital_broken']} vital"
            )
    typer.echo("wrote " + ", ".join(str(p) for p in paths))


def _check_choice(mode: str, fail: list[str] | None, sweep: str | None) -> None:
    """One known mode, and either failures or a sweep."""
    if mode not in ("optimal", "hashing"):
        _fail(f"--mode must be optimal or hashing, got {mode!r}")
    if bool(fail) == (sweep is not None):
        _fail("give either --fail SPEC (one or more) or --sweep n-1|sites")
    if sweep is not None and sweep not in ("n-1", "sites"):
        _fail(f"--sweep must be n-1 or sites, got {sweep!r}")


def _inventory_and_load(db: Path | None, inventory: Path | None, load: Path | None):
    """Inventory and busy-hour load, from the store or from the two files."""
    from surgeplan.continuity import io

    if db is not None:
        if inventory is not None or load is not None:
            _fail("give either --db or --inventory with --load, not both")
        return io.load_from_store(db)
    if inventory is None or load is None:
        _fail("give --inventory and --load (or --db)")
    inv = io.read_inventory(inventory)
    return inv, io.read_load(load, inv)


def _summary(res, paths: list[Path]) -> dict:
    """What ``--json`` prints: counts of what breaks, unserved load per kind (its unit), worst scenarios,
    files and timings (s)."""
    broken = res.whatif.loc[~res.whatif["gos_ok"].to_numpy(bool)]
    return {
        "scenarios": len(res.scenarios),
        "rows": len(res.whatif),
        "rows_breaking": len(broken),
        "resources_breaking": int(broken["resource_id"].nunique()),
        "vital_resources_breaking": int(
            broken.loc[broken["priority_class"] == "vital", "resource_id"].nunique()
        ),
        "unserved_load_by_kind": {
            k: float(v) for k, v in res.whatif.groupby("kind")["unserved_load"].sum().items()
        },
        "top_scenarios": res.top_scenarios.to_dict("records"),
        "files": [str(p) for p in paths],
        "timings_s": {k: round(v, 4) for k, v in res.timings.items()},
    }


def register(app: typer.Typer) -> None:
    """Add ``whatif`` to the main app."""
    app.command("whatif")(whatif_command)
