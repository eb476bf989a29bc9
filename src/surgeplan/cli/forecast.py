"""CLI commands for the forecast layer: ``surgeplan backtest``.

The command only parses, calls :func:`surgeplan.forecast.backtest.backtest` and formats; bad input
ends with a one-line ``error: FILE, row N, column 'C': why`` on stderr and exit code 2.
"""

from __future__ import annotations

import json
import sys
import tomllib
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from surgeplan.errors import SurgeplanError, ValidationError

_MODELS = ("shock", "naive-day", "naive-week")

# options both commands take, spelled once
_Measurements = Annotated[Path, typer.Option(help="Measurements CSV: resource_id, ts, load.")]
_Indicators = Annotated[Path | None, typer.Option(help="Indicators CSV: region, date, name, value.")]
_Covariates = Annotated[
    Path | None, typer.Option(help="Covariates CSV: resource_id|region, ts, name, value.")
]

# [backtest] keys of a scenario and their defaults; the command's flags override them
_BACKTEST_DEFAULTS: dict[str, Any] = {
    "every": "1d",
    "horizon": "1d",
    "tz": "UTC",
    "quantiles": "0.1,0.5,0.9",
    "refit_every": 7,
    "warning_quantile": 0.9,
}


def _fail(exc: BaseException) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


def _read_scenario(path: Path) -> dict[str, Any]:
    """A scenario TOML: ``[backtest]`` defaults and ``[indicators_future.<REGION>]`` paths."""
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ValidationError("scenario file not found", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"not valid TOML ({exc})", file=str(path)) from None
    bt = raw.get("backtest", {})
    if not isinstance(bt, dict):
        raise ValidationError("[backtest] must be a table", file=str(path), column="backtest")
    known = {"every", "horizon", "tz", "quantiles", "refit_every", "warning_quantile"}
    unknown = sorted(set(bt) - known)
    if unknown:
        raise ValidationError(
            f"unknown key(s) {unknown} in [backtest]; known: {sorted(known)}",
            file=str(path),
            column=unknown[0],
        )
    fut = raw.get("indicators_future")
    if fut is not None and not isinstance(fut, dict):
        raise ValidationError(
            "[indicators_future] must be a table of regions", file=str(path), column="indicators_future"
        )
    return {"backtest": bt, "indicators_future": fut}


def backtest_command(
    measurements: _Measurements,
    start: Annotated[str, typer.Option(help="First forecast origin (local day, YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Last forecast origin (local day, YYYY-MM-DD).")],
    out: Annotated[Path, typer.Option(help="Output directory (forecasts.parquet, metrics.csv).")],
    inventory: Annotated[
        Path | None,
        typer.Option(help="Inventory CSV: resource_id, kind, region (+ capacity for anticipation)."),
    ] = None,
    indicators: _Indicators = None,
    covariates: _Covariates = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            help="Scenario TOML: a backtest table of defaults, indicators_future.REGION tables of paths."
        ),
    ] = None,
    every: Annotated[str | None, typer.Option(help="Spacing of origins (default 1d).")] = None,
    horizon: Annotated[str | None, typer.Option(help="Forecast window per origin (default 1d).")] = None,
    tz: Annotated[str | None, typer.Option(help="Time zone of origins and days (default UTC).")] = None,
    quantiles: Annotated[str | None, typer.Option(help="Quantiles written (default 0.1,0.5,0.9).")] = None,
    refit_every: Annotated[
        int | None, typer.Option(help="Refit every N origins, update() in between (default 7).")
    ] = None,
    model: Annotated[str, typer.Option(help=f"Model: {', '.join(_MODELS)}.")] = "shock",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Run on a local Dask cluster of N processes.")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Run on the Dask cluster at this scheduler (tcp://host:8786)."),
    ] = None,
) -> None:
    """Rolling-origin backtest: forecasts at each local midnight, scored per resource and lead day."""
    from surgeplan.forecast import ShockForecaster
    from surgeplan.forecast.backtest import SeasonalNaive, backtest, read_inputs, summarize
    from surgeplan.scale import compute

    try:
        settings, future = _backtest_settings(scenario, every, horizon, tz, quantiles, refit_every)
        if model not in _MODELS:
            raise SurgeplanError(f"--model must be one of {', '.join(_MODELS)}, got {model!r}")
        data = read_inputs(measurements, inventory=inventory, indicators=indicators, covariates=covariates)
        with compute(workers, scheduler) as executor:
            factory = partial(ShockForecaster, executor=executor)
            if model != "shock":
                season = model.split("-")[1]
                factory = lambda q: SeasonalNaive(season, q)
            result = backtest(
                data["measurements"],
                data["inventory"],
                data["indicators"],
                data["covariates"],
                start=start,
                end=end,
                every=settings["every"],
                horizon=settings["horizon"],
                tz=settings["tz"],
                quantiles=settings["quantiles"],
                model=factory,
                refit_every=int(settings["refit_every"]),
                warning_quantile=float(settings["warning_quantile"]),
                indicators_future=(lambda origin: future) if future else None,
            )
        paths = result.write(out)
    except (SurgeplanError, FileNotFoundError) as exc:
        _fail(exc)
        return
    _print_backtest(result, paths, summarize(result.metrics), as_json)


def _backtest_settings(
    scenario: Path | None,
    every: str | None,
    horizon: str | None,
    tz: str | None,
    quantiles: str | None,
    refit_every: int | None,
) -> tuple[dict[str, Any], dict | None]:
    """The backtest's settings (defaults, then the scenario's [backtest], then the flags given) and the
    scenario's future indicator paths."""
    settings = dict(_BACKTEST_DEFAULTS)
    future = None
    if scenario is not None:
        sc = _read_scenario(scenario)
        settings.update(sc["backtest"])
        future = sc["indicators_future"]
    for key, value in (
        ("every", every),
        ("horizon", horizon),
        ("tz", tz),
        ("quantiles", quantiles),
        ("refit_every", refit_every),
    ):
        if value is not None:
            settings[key] = value
    if isinstance(settings["quantiles"], list):
        settings["quantiles"] = ",".join(str(q) for q in settings["quantiles"])
    return settings, future


def _print_backtest(result, paths: dict[str, Path], summary, as_json: bool) -> None:
    """The files written, the timings (s) and the median scores by lead day, as text or JSON."""
    if as_json:
        payload = {
            "forecasts": str(paths["forecasts"]),
            "metrics": str(paths["metrics"]),
            "n_forecast_rows": len(result.forecasts),
            "n_resources": int(result.metrics["resource_id"].nunique()),
            "timings_s": {k: round(float(v), 3) for k, v in result.timings.items()},
            "median_by_horizon": json.loads(summary.to_json(orient="index")),
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(f"wrote {paths['forecasts']} ({len(result.forecasts)} rows) and {paths['metrics']}")
    typer.echo(
        f"fits: {int(result.timings['n_fits'])}, fit {result.timings['fit_s']:.1f} s, "
        f"update {result.timings['update_s']:.1f} s, predict {result.timings['predict_s']:.1f} s"
    )
    typer.echo("median over resources, by lead day (MAPE %, MASE, scaled pinball, coverage):")
    typer.echo(summary.round(3).to_string())
    sys.stdout.flush()


def forecast_command(
    measurements: _Measurements,
    out: Annotated[Path, typer.Option(help="Output file (.parquet or .csv).")],
    inventory: Annotated[Path | None, typer.Option(help="Inventory CSV: resource_id, kind, region.")] = None,
    indicators: _Indicators = None,
    covariates: _Covariates = None,
    horizon: Annotated[str, typer.Option(help="Forecast window after the last measurement.")] = "14d",
    quantiles: Annotated[str, typer.Option(help="Quantiles written.")] = "0.5,0.9,0.99",
    busy_hour_period: Annotated[
        str | None,
        typer.Option(
            "--busy-hour", help="Write the busy hour per period instead of every step: D (day) or W (week)."
        ),
    ] = None,
) -> None:
    """Forecast every resource from its measurements (and indicators, covariates) with quantiles."""
    from surgeplan.forecast.backtest import parse_duration, parse_quantiles, read_inputs

    try:
        qs = parse_quantiles(quantiles)
        h = parse_duration(horizon, "--horizon")
        if busy_hour_period not in (None, "D", "W"):
            raise SurgeplanError(f"--busy-hour must be D or W, got {busy_hour_period!r}")
        if out.suffix.lower() not in (".parquet", ".csv"):
            raise SurgeplanError(f"--out must end in .parquet or .csv, got {out.name!r}")
        data = read_inputs(measurements, inventory=inventory, indicators=indicators, covariates=covariates)
        from surgeplan.forecast import ShockForecaster, busy_hour

        model = ShockForecaster(quantiles=qs).fit(
            data["measurements"], data["inventory"], data["indicators"], data["covariates"]
        )
        frame = model.predict(h)
        if busy_hour_period is not None:
            frame = busy_hour(frame, busy_hour_period)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".parquet":
            frame.to_parquet(out, index=False)
        else:
            frame.to_csv(out, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    except (SurgeplanError, FileNotFoundError) as exc:
        _fail(exc)
        return
    typer.echo(f"wrote {out} ({len(frame)} rows, {frame['resource_id'].nunique()} resources)")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("backtest")(backtest_command)
    app.command("forecast")(forecast_command)
