"""Authentication (bearer tokens, dashboard session cookies), roles, and the upload size limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from surgeplan.api.problems import ProblemError
from surgeplan.store.users import User

__all__ = ["COOKIE", "BodyLimit", "ServerTiming", "current_user", "require"]

#: Dashboard session cookie (HttpOnly, SameSite=Strict; the server keeps the session).
COOKIE = "surgeplan_session"
_bearer = HTTPBearer(auto_error=False, description="A token from `surgeplan users add NAME --role ROLE`.")


def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    """The account behind the request's bearer token (or dashboard session); 401 without one."""
    state = request.app.state.service
    if credentials is not None and credentials.credentials:
        user = state.user_for_token(credentials.credentials)
    else:
        user = state.user_for_session(request.cookies.get(COOKIE))
    if user is None:
        raise ProblemError(
            401,
            "a valid bearer token is required (Authorization: Bearer TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


def require(role: str):
    """Dependency: the request's account must hold ``role`` (``read`` < ``plan`` < ``admin``); 403 if not."""

    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if not user.can(role):
            raise ProblemError(403, f"role {user.role!r} of {user.name!r} may not do this (needs {role!r})")
        return user

    return check


ReadUser = Annotated[User, Depends(require("read"))]
PlanUser = Annotated[User, Depends(require("plan"))]
AdminUser = Annotated[User, Depends(require("admin"))]


class BodyLimit:
    """ASGI middleware: a request body above ``max_bytes`` gets 413 problem+json before any handler runs.

    The body is read up front (so a lying or missing Content-Length cannot slip past the limit)
    and replayed to the application.
    """

    def __init__(self, app, max_mb: float) -> None:
        self.app, self.max_mb, self.max_bytes = app, max_mb, int(max_mb * 2**20)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await self._too_large(scope, send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                return await self._too_large(scope, send)
            chunks.append(body)
            more = message.get("more_body", False)
        replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replayed():
            return replay.pop() if replay else await receive()

        return await self.app(scope, replayed, send)

    async def _too_large(self, scope, send) -> None:
        import json

        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Content Too Large",
                "status": 413,
                "detail": f"request body larger than the {self.max_mb:g} MiB limit (--max-upload-mb)",
                "instance": scope.get("path"),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class ServerTiming:
    """ASGI middleware: ``Server-Timing: app;dur=MS`` on every answer (time to the first response byte
    inside the server, so a load test can tell server work from queueing on a busy machine)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        import time

        t0 = time.perf_counter()

        async def timed(message):
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - t0) * 1e3
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        (b"server-timing", f"app;dur={ms:.2f}".encode()),
                    ],
                }
            await send(message)

        return await self.app(scope, receive, timed)
