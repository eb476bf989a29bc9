"""``POST /api/v1/whatif``: the continuity CLI's inputs as JSON, its two tables back."""

from __future__ import annotations

import math
from typing import Any, Literal

import pandas as pd
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from surgeplan.api.frames import json_response, records
from surgeplan.api.problems import PROBLEM_RESPONSES, ProblemError
from surgeplan.api.security import PlanUser

router = APIRouter(responses=PROBLEM_RESPONSES)


class LoadRow(BaseModel):
    resource_id: str
    load: float = Field(
        ge=0, description="Busy-hour load in the kind's unit (calls per hour for contact centres)"
    )


class RouteRow(BaseModel):
    from_resource: str
    to_resource: str
    max_load: float | None = Field(None, ge=0, description="In the kind's load unit; null = unbounded")


class WhatIfRequest(BaseModel):
    """As ``surgeplan whatif``: ``fail`` (SPECs making ONE combined scenario) or ``sweep``."""

    fail: list[str] | None = Field(
        None,
        min_length=1,
        max_length=100,
        examples=[["LK-PAR-LYO-1"], ["site:EGY-CAI"], ["group:INTL-ITA"]],
        description="RESOURCE_ID, site:NAME, region:ISO3 or group:NAME",
    )
    sweep: Literal["n-1", "sites"] | None = None
    mode: Literal["optimal", "hashing"] = "optimal"
    load: list[LoadRow] | None = Field(
        None,
        max_length=200_000,
        description=(
            "Busy-hour load per resource; default: each resource's highest p90 busy hour of the latest "
            "forecast"
        ),
    )
    routes: list[RouteRow] | None = Field(None, max_length=200_000)


class WhatIfResponse(BaseModel):
    scenarios: int
    whatif: list[dict[str, Any]] = Field(description="One row per resource per scenario (whatif.csv)")
    worst: list[dict[str, Any]] | None = Field(description="Sweeps only: worst GoS per resource (worst.csv)")


def _load(state, body: WhatIfRequest, inv: pd.DataFrame) -> pd.Series:
    if body.load is not None:
        known = set(inv["resource_id"].astype(str))
        seen: set[str] = set()
        for i, row in enumerate(body.load, start=1):
            if row.resource_id not in known:
                raise ProblemError(
                    422,
                    f"load row {i}: unknown resource {row.resource_id!r} (not in the inventory)",
                    row=i,
                    column="resource_id",
                )
            if row.resource_id in seen:
                raise ProblemError(
                    422,
                    f"load row {i}: resource {row.resource_id!r} given twice",
                    row=i,
                    column="resource_id",
                )
            if not math.isfinite(row.load):
                raise ProblemError(422, f"load row {i}: load must be a finite number", row=i, column="load")
            seen.add(row.resource_id)
        return pd.Series({r.resource_id: r.load for r in body.load}, dtype=float)
    from surgeplan.api.routes_data import latest_forecasts
    from surgeplan.continuity import peak_load
    from surgeplan.forecast import busy_hour

    with state.read() as store:
        f = latest_forecasts(store, None)
    if f.empty or "p90" not in f.columns:
        raise ProblemError(
            400, "load: no forecast in the store yet (POST /api/v1/plans first) and no load given"
        )
    return peak_load(busy_hour(f.drop(columns=["origin", "run_id"]), "D"), "p90")


def run_whatif(state, body: WhatIfRequest):
    """Inventory from the store, load from the body or the latest forecast, then ``continuity.whatif``."""
    from surgeplan.continuity import scenario, whatif

    if bool(body.fail) == (body.sweep is not None):
        raise ProblemError(422, "give either fail (one or more SPECs) or sweep (n-1 or sites)")
    with state.read() as store:
        inv = store.inventory()
    if inv.empty:
        raise ProblemError(400, "store: no inventory (POST /api/v1/inventory first)")
    load = _load(state, body, inv)
    routes = (
        pd.DataFrame(
            [r.model_dump() for r in body.routes], columns=["from_resource", "to_resource", "max_load"]
        )
        if body.routes
        else None
    )
    scen = body.sweep if body.sweep is not None else [scenario(list(body.fail), inv, source="fail")]
    return whatif(inv, load, routes, scen, body.mode, routes_source="routes")


@router.post("/whatif", response_model=WhatIfResponse, tags=["continuity"], summary="What if resources fail")
def post_whatif(request: Request, user: PlanUser, body: WhatIfRequest):
    """Lose resources (``fail``: one combined scenario; or ``sweep``), redistribute their load by linear
    programming (HiGHS) or hashing, and re-check every resource's grade of service. Returns the
    ``whatif`` table (``scenario, resource_id, kind, priority_class, offered_load, carried_load,
    unserved_load, capacity, utilization, gos_metric, gos_value, gos_target, gos_ok``) and, for
    sweeps, ``worst`` (``resource_id, worst_scenario, worst_gos_value, gos_metric, scenarios_breaking``)."""
    res = run_whatif(request.app.state.service, body)
    return json_response(
        {
            "scenarios": len(res.scenarios),
            "whatif": records(res.whatif),
            "worst": records(res.worst) if res.worst is not None else None,
        }
    )
