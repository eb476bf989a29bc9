"""CLI command ``surgeplan simulate``: synthetic load for an inventory under the indicators' shock.

Only parses, calls :func:`surgeplan.simulate.simulate` and writes the result (Parquet or CSV, by the
``--out`` extension). Without ``--inventory`` it uses the bundled FICTIONAL operator, without
``--indicators`` the bundled OxCGRT indicators.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import pandas as pd
import typer

from surgeplan.errors import SurgeplanError


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=2)


def _read_table(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise SurgeplanError(f"{what} file {str(path)!r} not found")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".csv", ".txt"):
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    raise SurgeplanError(f"{what} file {str(path)!r}: use .csv or .parquet")


def _read_indicators(path: Path | None) -> pd.DataFrame:
    if path is None:
        from surgeplan.signals import bundled_indicators

        return bundled_indicators()
    try:
        from surgeplan.signals import read_indicators
    except ImportError:  # pragma: no cover - signals not installed yet
        return _read_table(path, "indicators")
    return read_indicators(path, "auto")


def _write(frame: pd.DataFrame, out: Path) -> None:
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise SurgeplanError(f"--out {str(out)!r}: use a .parquet or .csv file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        shown = frame.assign(ts=frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        shown.to_csv(out, index=False, float_format="%.6g")


def simulate_command(
    out: Path = typer.Option(
        ..., "--out", "-o", help="Output file, .parquet or .csv (long table resource_id, ts, load)."
    ),
    inventory: Path | None = typer.Option(
        None, "--inventory", "-i", help="Inventory CSV/Parquet; default: the bundled fictional operator."
    ),
    scenario: Path | None = typer.Option(
        None, "--scenario", "-s", help="Scenario TOML merged over the bundled default."
    ),
    start: str = typer.Option("2020-01-01", "--start", help="First instant (UTC), e.g. 2020-01-01."),
    end: str = typer.Option("2020-07-01", "--end", help="End instant (UTC, exclusive)."),
    freq: str = typer.Option(
        "1h", "--freq", help="Cadence: pandas offset alias from 1min to 1D (15min, 1h, 1D)."
    ),
    indicators: Path | None = typer.Option(
        None,
        "--indicators",
        help="Indicators file (long table or any signals format); default: bundled OxCGRT.",
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same output)."),
    truth: bool = typer.Option(
        False, "--truth", help="Also write baseline, multiplier, expected, arrivals columns."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of text."),
) -> None:
    """Simulate realistic load for every resource of an inventory under an indicator-driven shock."""
    from surgeplan.simulate import bundled_inventory, load_scenario, simulate

    try:
        inv = _read_table(inventory, "inventory") if inventory is not None else bundled_inventory()
        sc = load_scenario(scenario)
        ind = _read_indicators(indicators)
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = simulate(inv, ind, sc, start=start, end=end, freq=freq, seed=seed, truth=truth)
        elapsed = time.perf_counter() - t0
        for w in caught:
            typer.echo(f"warning: {w.message}", err=True)
        _write(frame, out)
    except (SurgeplanError, ValueError, FileNotFoundError, OSError) as exc:
        _fail(exc)
        return
    summary = {
        "out": str(out),
        "resources": int(frame["resource_id"].nunique()),
        "rows": int(len(frame)),
        "start": str(frame["ts"].min()),
        "end": str(frame["ts"].max()),
        "freq": freq,
        "seed": seed,
        "scenario": sc.source,
        "seconds": round(elapsed, 3),
    }
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(
            f"wrote {summary['rows']} rows for {summary['resources']} resources "
            f"({summary['start']} .. {summary['end']}, every {freq}) to {out} in {elapsed:.2f} s"
        )


def register(app: typer.Typer) -> None:
    """Add ``surgeplan simulate`` to the main app."""
    app.command("simulate")(simulate_command)
