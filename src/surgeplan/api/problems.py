"""RFC 9457 problem details: every 4xx / 5xx answer is ``application/problem+json``.

A problem carries ``type``, ``title``, ``status``, ``detail`` and ``instance`` (the request path);
an ingest error adds ``file``, ``row`` and ``column`` (1-based data row, as in the CLI).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from surgeplan.errors import SurgeplanError, ValidationError

__all__ = ["PROBLEM_RESPONSES", "Problem", "ProblemError", "install_handlers", "problem_response"]

MEDIA_TYPE = "application/problem+json"
_log = logging.getLogger("surgeplan.api")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


class ProblemError(Exception):
    """Raised inside the service to answer with a problem document."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.status, self.detail, self.headers, self.extra = status, detail, headers, extra


def problem_response(
    request: Request, status: int, detail: str | None, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """A problem+json response for ``status`` (title from the HTTP reason phrase)."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **{k: v for k, v in extra.items() if v is not None},
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _problem_schema(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


#: OpenAPI ``responses`` shared by every authenticated operation.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_schema("Bad request (a parameter or the input is wrong)"),
    401: _problem_schema("No valid bearer token"),
    403: _problem_schema("The token's role does not allow this"),
    404: _problem_schema("Not found"),
    405: _problem_schema("Method not allowed"),
    406: _problem_schema("Not acceptable"),
    413: _problem_schema("Upload larger than --max-upload-mb"),
    415: _problem_schema("Unsupported media type"),
    422: _problem_schema("Invalid input: names the parameter, or the file, row and column"),
    500: _problem_schema("Internal error"),
}


def install_handlers(app: FastAPI) -> None:
    """Route every error through :func:`problem_response`."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError):
        return problem_response(request, exc.status, exc.detail, exc.headers, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return problem_response(request, exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'][1:] or first['loc'])}: {first['msg']}"
        return problem_response(request, 422, detail, errors=errors)

    @app.exception_handler(ValidationError)
    async def _validation(request: Request, exc: ValidationError):
        return problem_response(request, 422, str(exc), file=exc.file, row=exc.row, column=exc.column)

    @app.exception_handler(SurgeplanError)
    async def _surgeplan(request: Request, exc: SurgeplanError):
        return problem_response(request, 400, str(exc))

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError):
        # dates beyond what timestamps hold (pandas: years 1677-2262), numbers beyond float range
        return problem_response(request, 400, f"a value is out of range ({exc})")

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        from pandas.errors import OutOfBoundsDatetime

        if isinstance(exc, OutOfBoundsDatetime):
            return problem_response(request, 400, f"a date is out of range ({exc})")
        _log.exception("internal error on %s", request.url.path)
        return problem_response(request, 500, f"internal error ({type(exc).__name__})")
