"""``surgeplan serve``: the REST API, the live loop and the dashboard, run by uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the main app."""

    @app.command("serve")
    def serve(
        db: Annotated[
            Path, typer.Option("--db", help="The store (the server holds its single writer).")
        ] = Path("surgeplan.duckdb"),
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
        watch: Annotated[Path | None, typer.Option(help="Folder to watch for new measurement files.")] = None,
        max_upload_mb: Annotated[float, typer.Option(help="Largest request body, MiB (413 beyond).")] = 100.0,
        refit_every: Annotated[
            str, typer.Option(help="Full refit of the live forecaster ('1D', '6h'; '0' never).")
        ] = "1D",
        live_horizon: Annotated[
            str, typer.Option(help="How far ahead each arrival is forecast and re-planned.")
        ] = "1h",
        fit_days: Annotated[int, typer.Option(help="Days of history the live forecaster starts from.")] = 28,
        poll: Annotated[float, typer.Option(help="Watch-folder polling interval, seconds.")] = 0.25,
        secure_cookies: Annotated[bool, typer.Option(help="Session cookie only over HTTPS.")] = False,
    ) -> None:
        """Serve the API (/api/v1, OpenAPI at /api/v1/docs), the dashboard (/) and the live loop."""
        import pandas as pd
        import uvicorn

        from surgeplan.api import ServiceConfig, create_app
        from surgeplan.errors import SurgeplanError

        if max_upload_mb <= 0:
            raise SurgeplanError(f"--max-upload-mb: must be > 0, got {max_upload_mb}")
        if watch is not None and not watch.is_dir():
            raise SurgeplanError(f"--watch: {watch} is not a folder")
        try:
            every = None if refit_every.strip() in ("0", "") else pd.Timedelta(refit_every)
            pd.Timedelta(live_horizon)
        except ValueError as exc:
            raise SurgeplanError(f"--refit-every / --live-horizon: {exc}") from None
        config = ServiceConfig(
            db=db,
            max_upload_mb=max_upload_mb,
            watch=watch,
            poll_s=poll,
            refit_every=every,
            live_horizon=live_horizon,
            fit_days=fit_days,
            secure_cookies=secure_cookies,
        )
        application = create_app(config)
        typer.echo(f"surgeplan serving {db} on http://{host}:{port}/ (API docs /api/v1/docs)", err=True)
        uvicorn.run(application, host=host, port=port, log_level="warning", timeout_keep_alive=30)
