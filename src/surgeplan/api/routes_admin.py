"""Health, users (admin), the live loop's status and its server-sent events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from surgeplan.api.frames import json_response, records
from surgeplan.api.models import Health, UserCreated, UserInfo
from surgeplan.api.problems import PROBLEM_RESPONSES, ProblemError
from surgeplan.api.security import AdminUser, ReadUser
from surgeplan.errors import SurgeplanError
from surgeplan.store.users import ROLES, add_user, list_users, revoke_user

router = APIRouter(responses=PROBLEM_RESPONSES)


@router.get(
    "/health",
    response_model=Health,
    tags=["service"],
    summary="Liveness (no authentication)",
    responses={500: PROBLEM_RESPONSES[500]},
)
def health(request: Request):
    from surgeplan import __version__

    return {
        "status": "ok",
        "version": __version__,
        "schema_version": request.app.state.service.schema_version,
    }


class NewUser(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$", examples=["noc-grafana"])
    role: str = Field(pattern="^(read|plan|admin)$", examples=["read"], description=", ".join(ROLES))


@router.get("/users", response_model=list[UserInfo], tags=["users"], summary="Accounts (admin)")
def get_users(request: Request, user: AdminUser):
    with request.app.state.service.db() as store:
        return json_response(records(list_users(store)))


@router.post(
    "/users", response_model=UserCreated, status_code=201, tags=["users"], summary="Add an account (admin)"
)
def post_user(request: Request, user: AdminUser, body: NewUser):
    """Add (or re-key) an account; the token is in the answer only (the store keeps its SHA-256)."""
    with request.app.state.service.db() as store:
        token = add_user(store, body.name, body.role)
    request.app.state.service.users_changed()
    return json_response({"name": body.name, "role": body.role, "token": token}, 201)


@router.delete("/users/{name}", status_code=204, tags=["users"], summary="Revoke an account (admin)")
def delete_user(request: Request, user: AdminUser, name: str):
    try:
        with request.app.state.service.db() as store:
            revoke_user(store, name)
    except SurgeplanError as exc:
        raise ProblemError(404, str(exc)) from None
    request.app.state.service.users_changed()
    from fastapi.responses import Response

    return Response(status_code=204)


@router.get("/live", tags=["live"], summary="State of the live loop")
def live_status(request: Request, user: ReadUser) -> dict:
    state = request.app.state.service
    live = state.live
    out = dict(live.status) if live is not None else {"fitted": False}
    out.update(
        alerts_version=state.alerts_version,
        subscribers=state.events.subscribers,
        idle=live.idle() if live is not None else True,
    )
    return json_response(out)


@router.get(
    "/events",
    tags=["live"],
    summary="Server-sent events",
    responses={200: {"description": "text/event-stream", "content": {"text/event-stream": {}}}},
)
async def events(
    request: Request,
    user: ReadUser,
    limit: Annotated[int | None, Query(ge=1, le=10_000, description="Close after this many events")] = None,
):
    """``text/event-stream`` of ``measurements`` (an arrival: rows, resources, latest loads), ``alerts``
    (after each live re-plan: the breaking alerts of the re-planned resources), ``plan`` (a new plan),
    ``ingest_error`` and ``error``. Data lines are JSON."""
    stream = request.app.state.service.events.stream(limit=limit)
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
