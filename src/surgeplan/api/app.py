"""The FastAPI application: REST API under ``/api/v1``, the dashboard, the live loop."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from surgeplan.api.problems import Problem, install_handlers
from surgeplan.api.security import BodyLimit, ServerTiming
from surgeplan.api.state import ServiceConfig, ServiceState, open_state

__all__ = ["create_app"]

HERE = Path(__file__).parent
DESCRIPTION = """Capacity planning through a demand shock, as a service.

Every operation except `GET /api/v1/health` needs `Authorization: Bearer TOKEN` (tokens from
`surgeplan users add NAME --role read|plan|admin --db PATH`). Roles: `read` reads; `plan` also
ingests, plans and runs what-ifs; `admin` also manages users. Errors are RFC 9457
`application/problem+json`. Units: load in the kind's unit (Erlangs, Gbps, sessions, calls per
hour), capacity in the kind's capacity unit, instants ISO-8601 UTC.
"""


def create_app(config: ServiceConfig | None = None, *, state: ServiceState | None = None) -> FastAPI:
    """Build the app for one store (``config.db``); the store is opened now and closed at shutdown."""
    from surgeplan import __version__
    from surgeplan.api import (
        dashboard,
        routes_admin,
        routes_data,
        routes_grafana,
        routes_plans,
        routes_whatif,
    )
    from surgeplan.api.live import LiveLoop

    if state is None:
        if config is None:
            raise ValueError("create_app needs a config or a state")
        state = open_state(config)
    config = state.config

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        state.events.attach(asyncio.get_running_loop())
        # Few worker threads: handlers are short and hold the GIL; 40 threads fighting over it on a
        # 2-core machine cost more in switches than they gain in overlap (DuckDB releases the GIL).
        anyio.to_thread.current_default_thread_limiter().total_tokens = config.threads
        if config.live and state.live is None:
            state.live = LiveLoop(state)
            state.live.start()
        try:
            yield
        finally:
            if state.live is not None:
                state.live.stop()
                state.live = None
            state.close()

    app = FastAPI(
        title="surgeplan",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.service = state
    install_handlers(app)
    for router in (
        routes_admin.router,
        routes_data.router,
        routes_plans.router,
        routes_whatif.router,
        routes_grafana.router,
    ):
        app.include_router(router, prefix="/api/v1")
    app.include_router(dashboard.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(BodyLimit, max_mb=config.max_upload_mb)
    app.add_middleware(ServerTiming)
    _add_problem_schema(app)
    return app


def _add_problem_schema(app: FastAPI) -> None:
    """OpenAPI 3.1 with the shared Problem schema."""
    from fastapi.openapi.utils import get_openapi

    def openapi():
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        doc.setdefault("components", {}).setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
        app.openapi_schema = doc
        return doc

    app.openapi = openapi
