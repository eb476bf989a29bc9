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
    from surgeplan.cli import data, erlang, forecast, plan, serve, signals, simulate, users, whatif

    for module in (erlang, data, signals, simulate, forecast, plan, whatif, serve, users):
        module.register(app)


_register_all()


def _is_usage_error(exc: BaseException) -> bool:
    """True for click/Typer parse errors (duck-typed: recent Typer vendors click privately)."""
    return hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point.

    Runs the app without click's standalone error handling so that every bad-input error, from
    option parsing (a click ``UsageError``) or from the library (``SurgeplanError``/``ValueError``),
    is printed as ONE line on stderr with exit code 2, never a traceback or a usage box.
    """
    try:
        rc = app(args=argv, standalone_mode=False)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except (SurgeplanError, ValueError, FileNotFoundError, PermissionError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:
        if not _is_usage_error(exc):
            raise
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            typer.echo(ctx.get_help())
            sys.exit(0)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        typer.echo(f"error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(rc if isinstance(rc, int) else 0)
