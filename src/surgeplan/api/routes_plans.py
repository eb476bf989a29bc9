"""Plans, alerts and exports (CSV, Parquet, XLSX)."""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask
from starlette.responses import FileResponse

from surgeplan.api.frames import json_response, records
from surgeplan.api.models import AlertPage, PlanDocument, PlanList
from surgeplan.api.planning import parse_scenario, plan_from_frames
from surgeplan.api.problems import PROBLEM_RESPONSES, ProblemError
from surgeplan.api.security import PlanUser, ReadUser
from surgeplan.api.state import PLAN_PARTS, urgency
from surgeplan.errors import SurgeplanError

router = APIRouter(responses=PROBLEM_RESPONSES)

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
Format = Annotated[str, Query(pattern="^(csv|parquet|xlsx)$", description="csv, parquet or xlsx")]
_SCENARIO_EXAMPLE = (
    '[plan]\nhorizon_days = 21\nquantile = "p90"\nbudget = 2500000\n\n[gos]\ntrunk_group = 0.02\n'
)
_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def _state(request: Request):
    return request.app.state.service


# ---------------------------------------------------------------------------------------------- plans
@router.post(
    "/plans",
    status_code=201,
    response_model=PlanDocument,
    tags=["plans"],
    summary="Make a plan",
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {
                "application/toml": {"schema": {"type": "string"}, "example": _SCENARIO_EXAMPLE},
                "application/json": {
                    "schema": {"type": "object", "additionalProperties": True},
                    "example": {"plan": {"horizon_days": 21, "quantile": "p90"}},
                },
            },
        }
    },
)
async def post_plan(
    request: Request,
    user: PlanUser,
    asof: Annotated[
        str | None,
        Query(
            description="Planning day YYYY-MM-DD (default: the scenario's, "
            "else the day after the last measurement)",
            pattern=r"^\d{4}-\d{2}-\d{2}$",
        ),
    ] = None,
):
    """Plan on the store's data under a scenario (the body: TOML like `plan_example.toml`, or the same
    as JSON).

    Fits the forecaster on the measurements before the planning day, forecasts the horizon,
    dimensions every resource and plans the actions. The plan (actions, alerts, late items,
    temporary measures) is stored and its alerts become current.
    """
    from starlette.concurrency import run_in_threadpool

    media = request.headers.get("content-type", "application/toml").split(";")[0].strip().lower()
    if media not in ("application/toml", "application/json", "text/plain", "text/toml", ""):
        raise ProblemError(
            415, f"content-type {media!r}: send the scenario as application/toml or application/json"
        )
    settings = parse_scenario(await request.body(), media)
    if asof is not None:
        try:
            day = pd.Timestamp(asof)
        except ValueError:
            raise ProblemError(422, f"asof: {asof!r} is not a date") from None
        if not 1900 <= day.year <= 2200:
            raise ProblemError(422, f"asof: {asof} is outside 1900-2200")
    state = _state(request)

    def work():
        with state.read() as store:
            inv, meas, ind = store.inventory(), store.measurements(), store.indicators()
        outcome = plan_from_frames(inv, meas, ind, settings, asof)
        return state.save_plan(outcome)

    plan_id = await run_in_threadpool(work)
    state.events.publish("plan", {"id": plan_id, "alerts_version": state.alerts_version})
    return json_response(state.load_plan(plan_id), 201, headers={"Location": f"/api/v1/plans/{plan_id}"})


@router.get("/plans", response_model=PlanList, tags=["plans"], summary="Plans, newest first")
def list_plans(request: Request, user: ReadUser):
    import json

    ids = _state(request).plan_ids()
    items = [
        {
            "id": r.plan_id,
            "created_at": r.created_at.isoformat(),
            **{k: v for k, v in json.loads(r.parameters).items() if k in ("summary", "origin")},
        }
        for r in ids.itertuples()
    ]
    return json_response({"items": items})


def _plan(request: Request, plan_id: str) -> dict:
    plan = _state(request).load_plan(plan_id) if _ID_RE.match(plan_id) else None
    if plan is None:
        raise ProblemError(404, f"plan {plan_id!r}: no such plan")
    return plan


@router.get("/plans/{plan_id}", response_model=PlanDocument, tags=["plans"], summary="One plan")
def get_plan(request: Request, user: ReadUser, plan_id: str):
    """A stored plan: summary, actions (by priority), alerts, late items and temporary measures."""
    return json_response(_plan(request, plan_id))


@router.get(
    "/plans/{plan_id}/export",
    tags=["exports"],
    summary="Download a plan",
    responses={200: {"description": "The file", "content": {m: {} for m in FORMATS.values()}}},
)
def export_plan(
    request: Request,
    user: ReadUser,
    plan_id: str,
    format: Format = "xlsx",
    part: Annotated[
        str,
        Query(
            pattern="^(actions|alerts|late|temporary)$",
            description="Table for csv / parquet (xlsx holds them all)",
        ),
    ] = "actions",
):
    """The plan as one XLSX workbook (a sheet per table plus the summary), or one table as CSV / Parquet."""
    plan = _plan(request, plan_id)
    frames = {p: pd.DataFrame(plan[p]) for p in PLAN_PARTS}
    buf = io.BytesIO()
    if format == "xlsx":
        with pd.ExcelWriter(buf, engine="openpyxl") as xw:
            summary = pd.DataFrame(
                {"item": list(plan["summary"]), "value": [str(v) for v in plan["summary"].values()]}
            )
            summary.to_excel(xw, sheet_name="summary", index=False)
            for p, df in frames.items():
                df.to_excel(xw, sheet_name=p, index=False)
        name = f"plan-{plan_id[:8]}.xlsx"
    elif format == "csv":
        frames[part].to_csv(buf, index=False)
        name = f"plan-{plan_id[:8]}-{part}.csv"
    else:
        frames[part].astype(
            {c: "string" for c in frames[part].columns if frames[part][c].dtype == object}
        ).to_parquet(buf, index=False)
        name = f"plan-{plan_id[:8]}-{part}.parquet"
    return Response(
        buf.getvalue(),
        media_type=FORMATS[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---------------------------------------------------------------------------------------------- alerts
def _sorted_alerts(state) -> tuple[pd.DataFrame, list[dict]]:
    """Current alerts with their urgency, most urgent first (vital first within a level), and as
    JSON rows; computed once per change of the alerts (``alerts_version``)."""
    with state.lock:
        version, cached = state._alert_cache
        if version == state.alerts_version and cached is not None:
            return cached
        al = state.alerts.copy()
        version = state.alerts_version
    if not al.empty:
        ranks = [urgency(s) for s in al["status"].astype(str)]
        al.insert(0, "urgency", [label for _, label in ranks])
        vital = (al["priority_class"].astype(str) == "vital").astype(int)
        dto = pd.to_numeric(al["days_to_order"], errors="coerce")
        al = al.assign(_rank=[rank for rank, _ in ranks], _vital=-vital, _dto=dto)
        al = al.sort_values(["_rank", "_vital", "_dto", "resource_id", "quantile"])
        al = al.drop(columns=["_rank", "_vital", "_dto"]).reset_index(drop=True)
    cached = (al, records(al))
    with state.lock:
        state._alert_cache = (version, cached)
    return cached


def current_alerts(state, *, include_ok: bool = False) -> pd.DataFrame:
    """The current alerts (latest plan, raised by live arrivals), most urgent first."""
    al, _ = _sorted_alerts(state)
    if al.empty or include_ok:
        return al
    return al.loc[al["urgency"] != "ok"].reset_index(drop=True)


@router.get("/alerts", response_model=AlertPage, tags=["plans"], summary="Current alerts, most urgent first")
def get_alerts(
    request: Request,
    user: ReadUser,
    quantile: Annotated[str | None, Query(examples=["p90"])] = None,
    priority_class: Annotated[str | None, Query(examples=["vital"])] = None,
    region: Annotated[str | None, Query()] = None,
    resource_id: Annotated[str | None, Query()] = None,
    include_ok: Annotated[bool, Query(description="Also resources with no GoS break")] = False,
):
    """First GoS break per resource and quantile and whether an order can still arrive in time.

    Urgency: ``critical`` (too late: a temporary measure is needed), ``high`` (order now),
    ``watch`` (order by a later date); vital resources first within each.
    """
    state = _state(request)
    al = current_alerts(state, include_ok=include_ok)
    for column, value in (
        ("quantile", quantile),
        ("priority_class", priority_class),
        ("region", region),
        ("resource_id", resource_id),
    ):
        if value is not None and not al.empty:
            al = al.loc[al[column].astype(str) == value]
    return json_response({"items": records(al), "version": state.alerts_version})


# ---------------------------------------------------------------------------------------------- exports
@router.get(
    "/exports/{table}",
    tags=["exports"],
    summary="Download a store table",
    responses={200: {"description": "The file", "content": {m: {} for m in FORMATS.values()}}},
)
def export_table(request: Request, user: ReadUser, table: str, format: Format = "csv"):
    """A whole table (``GET /tables`` lists them) as CSV, Parquet or XLSX; instants in ISO-8601 UTC."""
    if not re.match(r"^[a-z_][a-z0-9_]{0,62}$", table):
        raise ProblemError(404, f"table {table!r}: no such table")
    tmp = Path(tempfile.mkdtemp(prefix="surgeplan-export-"))
    path = tmp / f"{table}.{format}"
    try:
        with _state(request).read() as store:
            store.export(table, path, format)
    except SurgeplanError as exc:
        _cleanup(tmp)
        status = 404 if str(exc).startswith("table:") else 400
        raise ProblemError(status, str(exc)) from None
    return FileResponse(
        path, media_type=FORMATS[format], filename=path.name, background=BackgroundTask(_cleanup, tmp)
    )


def _cleanup(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
