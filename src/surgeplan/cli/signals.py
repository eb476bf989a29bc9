"""CLI commands for the signals layer: ``surgeplan signals lockdowns | anticipate | derive``.

Commands only parse, call :mod:`surgeplan.signals` and format (a table, or ``--json``). Without
``--file`` they use the bundled OxCGRT data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import typer

from surgeplan.errors import SurgeplanError

signals_app = typer.Typer(
    name="signals",
    help="Crisis indicators: lockdown periods, threshold crossings anticipated before they happen.",
    no_args_is_help=True,
)

_FILE = typer.Option(
    None, "--file", "-f", help="Indicator file (or OxCGRT legacy folder); default: bundled data."
)
_FORMAT = typer.Option("auto", "--format", help="auto | oxcgrt | oxcgrt-legacy | oxcgrt-v1 | owid | generic")
_REGIONS = typer.Option(None, "--regions", "-r", help="Comma-separated ISO alpha-3 codes, e.g. FRA,GBR.")
_JSON = typer.Option(False, "--json", help="Print JSON records instead of a table.")
# the anticipation commands' fit (defaults of AnticipationOptions)
_NAME = typer.Option("new_cases_per_100k_7d", "--name", help="Indicator to extrapolate.")
_WINDOW = typer.Option(7, "--window", help="Days in the log-linear fit.")
_LEVEL = typer.Option(0.9, "--level", help="Confidence level of the earliest-latest range.")
_OUTPUT = typer.Option(None, "--output", "-o", help="Write the long table (.csv or .parquet).")


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=2)


def _load(file: Path | None, fmt: str, regions: str | None, start=None, end=None) -> pd.DataFrame:
    from surgeplan.signals import bundled_indicators, filter_indicators, read_indicators

    if file is None:
        return bundled_indicators(regions=regions, start=start, end=end, strict=True)
    return filter_indicators(read_indicators(file, fmt), regions, start, end)


def _records(frame: pd.DataFrame) -> list[dict]:
    out = []
    for row in frame.to_dict(orient="records"):
        rec = {}
        for k, v in row.items():
            if isinstance(v, pd.Timestamp):
                rec[k] = v.strftime("%Y-%m-%d")
            elif v is pd.NaT or (isinstance(v, float) and not np.isfinite(v)):
                rec[k] = None
            elif isinstance(v, np.generic):
                rec[k] = v.item()
            else:
                rec[k] = v
        out.append(rec)
    return out


def _print(frame: pd.DataFrame, as_json: bool, header: str | None = None) -> None:
    if as_json:
        typer.echo(json.dumps(_records(frame), indent=1))
        return
    if header:
        typer.echo(header)
    if frame.empty:
        typer.echo("(none)")
        return
    shown = frame.copy()
    for c in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[c]):
            shown[c] = shown[c].dt.strftime("%Y-%m-%d").fillna("-")
        elif pd.api.types.is_float_dtype(shown[c]):
            shown[c] = shown[c].map(lambda v: "-" if not np.isfinite(v) else f"{v:.3g}")
    typer.echo(shown.to_string(index=False))


@signals_app.command("lockdowns")
def lockdowns(
    file: Path | None = _FILE,
    fmt: str = _FORMAT,
    regions: str | None = _REGIONS,
    stay_home_level: float = typer.Option(2, "--stay-home-level", help="Minimum C6 level (0-3)."),
    require_general: bool = typer.Option(
        True,
        "--require-general/--allow-targeted",
        help="Stay-at-home must cover the whole country (C6 flag = 1).",
    ),
    stringency: float = typer.Option(
        70.0, "--stringency", help="Minimum stringency index (0-100); negative = off."
    ),
    no_stay_home: bool = typer.Option(False, "--no-stay-home", help="Ignore the stay-at-home condition."),
    combine: str = typer.Option("any", "--combine", help="any | all"),
    min_days: int = typer.Option(1, "--min-days", help="Drop periods shorter than this."),
    max_gap_days: int = typer.Option(
        0, "--max-gap-days", help="Merge periods separated by at most this many days."
    ),
    first_only: bool = typer.Option(False, "--first", help="Only each region's first period."),
    start: str | None = typer.Option(None, "--start", help="First day of data to use (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--end", help="Last day of data to use."),
    as_json: bool = _JSON,
) -> None:
    """Lockdown periods per region (start, end; end '-' while ongoing) under a settable rule."""
    from surgeplan.signals import LockdownRule, lockdown_periods

    try:
        rule = LockdownRule(
            stay_home_min_level=None if no_stay_home else stay_home_level,
            require_general=require_general,
            stringency_min=None if stringency < 0 else stringency,
            combine=combine,  # type: ignore[arg-type]
            min_days=min_days,
            max_gap_days=max_gap_days,
        )
        periods = lockdown_periods(_load(file, fmt, regions, start, end), rule)
    except (SurgeplanError, ValueError, FileNotFoundError) as exc:
        _fail(exc)
        return
    if first_only:
        periods = periods.groupby("region", sort=True).head(1).reset_index(drop=True)
    _print(periods, as_json, header=f"lockdown = {rule.describe()}")


@signals_app.command("anticipate")
def anticipate(
    asof: str = typer.Option(
        ..., "--asof", help="Day the estimate is made (data before it only), YYYY-MM-DD."
    ),
    threshold: float | None = typer.Option(
        None, "--threshold", help="Level to reach (7-day cases per 100k by default)."
    ),
    threshold_from: str | None = typer.Option(
        None,
        "--threshold-from",
        help="Regions whose lockdown onset sets the threshold (median), e.g. ITA; 'all' = every region "
        "locked down before --asof.",
    ),
    name: str = _NAME,
    file: Path | None = _FILE,
    fmt: str = _FORMAT,
    regions: str | None = _REGIONS,
    window: int = _WINDOW,
    level: float = _LEVEL,
    horizon: int = typer.Option(120, "--horizon", help="Days to look ahead."),
    as_json: bool = _JSON,
) -> None:
    """Expected day each region crosses a threshold (earliest / median / latest), from data before --asof."""
    from surgeplan.signals import AnticipationOptions, anticipate_crossing, threshold_from_earlier_regions

    try:
        if (threshold is None) == (threshold_from is None):
            raise SurgeplanError("give exactly one of --threshold or --threshold-from")
        data = _load(file, fmt, None)
        if threshold is None:
            src = None if threshold_from.strip().lower() == "all" else threshold_from
            threshold = threshold_from_earlier_regions(data, asof=asof, name=name, regions=src)
        result = anticipate_crossing(
            data,
            asof,
            threshold,
            name=name,
            regions=regions,
            options=AnticipationOptions(window=window, level=level, horizon_days=horizon),
        )
    except (SurgeplanError, ValueError, FileNotFoundError) as exc:
        _fail(exc)
        return
    cols = [
        "region",
        "status",
        "last_value",
        "growth_rate",
        "doubling_time_days",
        "crossed_on",
        "earliest",
        "median",
        "latest",
    ]
    shown = result if as_json else result[cols]
    _print(shown, as_json, header=f"{name} >= {threshold:.4g}, as of {asof} (range: {level:.0%} band)")


@signals_app.command("backtest")
def backtest(
    asof: str = typer.Option(
        ..., "--asof", help="Comma-separated forecast days, e.g. 2020-03-03,2020-03-10."
    ),
    threshold: float | None = typer.Option(None, "--threshold", help="Level to reach."),
    threshold_from: str | None = typer.Option(
        None, "--threshold-from", help="Regions whose lockdown onset (before the first --asof) sets it."
    ),
    name: str = _NAME,
    file: Path | None = _FILE,
    fmt: str = _FORMAT,
    regions: str | None = _REGIONS,
    window: int = _WINDOW,
    level: float = _LEVEL,
    as_json: bool = _JSON,
) -> None:
    """How well past anticipations did: coverage of the range and error of the median date."""
    from surgeplan.signals import AnticipationOptions, backtest_anticipation, threshold_from_earlier_regions

    try:
        days = [d.strip() for d in asof.split(",") if d.strip()]
        if not days:
            raise SurgeplanError("--asof: give at least one day")
        if (threshold is None) == (threshold_from is None):
            raise SurgeplanError("give exactly one of --threshold or --threshold-from")
        data = _load(file, fmt, None)
        if threshold is None:
            src = None if threshold_from.strip().lower() == "all" else threshold_from
            threshold = threshold_from_earlier_regions(data, asof=min(days), name=name, regions=src)
        bt = backtest_anticipation(
            data,
            days,
            threshold,
            name=name,
            regions=regions,
            options=AnticipationOptions(window=window, level=level),
        )
    except (SurgeplanError, ValueError, FileNotFoundError) as exc:
        _fail(exc)
        return
    scored = bt.loc[bt["inside"].notna()]
    summary = (
        f"{name} >= {threshold:.4g}: {len(scored)} forecasts scored, real day inside the {level:.0%} range "
        f"for {int(scored['inside'].sum())} ({scored['inside'].mean():.0%}), median error "
        f"{scored['error_days'].median():+.1f} days (positive = forecast early)"
        if len(scored)
        else f"{name} >= {threshold:.4g}: no forecast could be scored"
    )
    if as_json:
        typer.echo(json.dumps({"summary": summary, "rows": _records(bt)}, indent=1))
        return
    cols = ["asof", "region", "status", "earliest", "median", "latest", "actual", "error_days", "inside"]
    _print(bt[cols], False, header=summary)


@signals_app.command("derive")
def derive(
    file: Path | None = _FILE,
    fmt: str = _FORMAT,
    regions: str | None = _REGIONS,
    start: str | None = typer.Option(None, "--start", help="First day to print."),
    end: str | None = typer.Option(None, "--end", help="Last day to print."),
    output: Path | None = _OUTPUT,
    as_json: bool = _JSON,
) -> None:
    """Derived indicators (new cases, 7-day incidence per 100k, growth rate, doubling time)."""
    from surgeplan.signals import derive_indicators, filter_indicators

    try:
        out = derive_indicators(_load(file, fmt, regions))
        out = filter_indicators(out, None, start, end)
        if output is not None:
            if output.suffix.lower() in (".parquet", ".pq"):
                out.to_parquet(output, index=False)
            else:
                out.to_csv(output, index=False, date_format="%Y-%m-%d")
            typer.echo(f"wrote {len(out)} rows to {output}", err=True)
            return
    except (SurgeplanError, ValueError, FileNotFoundError, OSError) as exc:
        _fail(exc)
        return
    names = ["new_cases", "new_cases_per_100k_7d", "growth_rate", "doubling_time_days"]
    table = (
        out.loc[out["name"].isin(names)]
        .pivot_table(index=["region", "date"], columns="name", values="value")
        .reset_index()
    )
    table.columns.name = None
    _print(table, as_json)


def register(app: typer.Typer) -> None:
    """Add this module's commands (``surgeplan signals ...``) to the main app."""
    app.add_typer(signals_app, name="signals")


if __name__ == "__main__":  # pragma: no cover
    signals_app(sys.argv[1:])
