"""The ``surgeplan`` command line: a thin Typer shell over the library.

Each sub-module registers its own commands through ``register(app)``; this module only builds the
application and turns library errors into one-line messages (no tracebacks for bad input).
"""

from __future__ import annotations

import sys

import typer

from surgeplan.errors import SurgeplanError

app = typer.Typer(
    name="surgeplan",
    help="Capacity planning through a demand shock: teletraffic, forecasts, plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_all() -> None:
    from surgeplan.cli import data, erlang, forecast, plan, signals, simulate

    for module in (erlang, data, signals, simulate, forecast, plan):
        module.register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, print bad-input errors on one line."""
    try:
        app(args=argv, standalone_mode=True)
    except (SurgeplanError, ValueError, FileNotFoundError) as exc:  # pragma: no cover - exercised via CliRunner
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
