"""Grafana: load against capacity as JSON time series.

Two styles, both under ``/api/v1/grafana``:

* **Infinity** data source (or any JSON-URL panel): ``GET /grafana/timeseries?resource_id=..`` returns
  rows ``time`` (epoch ms), ``load``, ``capacity`` and the forecast ``mean, p50, p90, p99``;
* **JSON API** data source (simPod, the old SimpleJSON protocol): ``GET /grafana`` (test),
  ``POST /grafana/metrics`` (what can be charted), ``POST /grafana/query`` (``targets`` like
  ``RESOURCE_ID:load``, ``RESOURCE_ID:capacity``, ``RESOURCE_ID:p90``) returning
  ``[{"target", "datapoints": [[value, epoch_ms], ...]}]``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from surgeplan.api.frames import json_response
from surgeplan.api.problems import PROBLEM_RESPONSES, ProblemError
from surgeplan.api.routes_data import latest_forecasts
from surgeplan.api.security import ReadUser

router = APIRouter(prefix="/grafana", tags=["grafana"], responses=PROBLEM_RESPONSES)
SERIES = ("load", "capacity", "mean", "p50", "p90", "p99")


def _series(state, resource_id: str, start, end) -> pd.DataFrame:
    """``time`` (epoch ms) with the measured load, installed capacity and forecast, outer-joined on time."""
    with state.read() as store:
        meas = store.measurements([resource_id], start=start, end=end)
        cap = store.connection.execute(
            "SELECT capacity FROM resources WHERE resource_id = ?", [resource_id]
        ).fetchall()
        f = latest_forecasts(store, [resource_id], start, end)
    if not cap:
        raise ProblemError(404, f"resource_id {resource_id!r}: no such resource")
    m = meas.set_index("ts")[["load"]]
    stats = [
        c for c in f.columns if c == "mean" or (c.startswith("p") and c[1:].replace(".", "", 1).isdigit())
    ]
    out = m.join(f.set_index("ts")[stats], how="outer") if len(f) else m
    out = out.sort_index()
    out["capacity"] = float(cap[0][0])
    out.insert(0, "time", (out.index.asi8 // 1_000_000) if len(out) else np.array([], dtype=np.int64))
    return out.reset_index(drop=True)


@router.get("/timeseries", summary="Infinity-style rows: time, load, capacity, forecast")
def timeseries(
    request: Request,
    user: ReadUser,
    resource_id: Annotated[str, Query(examples=["TG-INTL-FRA-ITA-1"])],
    start: Annotated[datetime | None, Query()] = None,
    end: Annotated[datetime | None, Query()] = None,
) -> list[dict[str, Any]]:
    frame = _series(request.app.state.service, resource_id, start, end)
    rows = frame.replace([np.inf, -np.inf], np.nan).astype(object).where(frame.notna(), None)
    return json_response(rows.to_dict(orient="records"))


@router.get("", summary="JSON API data source: connection test")
def test(user: ReadUser) -> dict[str, str]:
    return {"status": "ok"}


class MetricsRequest(BaseModel):
    metric: str | None = Field(None, description="Filter (substring of the resource id)")


@router.post("/metrics", summary="JSON API data source: series that can be charted")
def metrics(request: Request, user: ReadUser, body: MetricsRequest | None = None) -> list[dict[str, str]]:
    needle = (body.metric if body else None) or ""
    with request.app.state.service.read() as store:
        ids = [
            r[0]
            for r in store.connection.execute(
                "SELECT resource_id FROM resources WHERE contains(resource_id, ?) ORDER BY resource_id "
                "LIMIT 200",
                [needle],
            ).fetchall()
        ]
    return json_response([{"label": f"{r}:{s}", "value": f"{r}:{s}"} for r in ids for s in SERIES])


class Range(BaseModel):
    from_: datetime | None = Field(None, alias="from")
    to: datetime | None = None


class Target(BaseModel):
    target: str = Field(examples=["TG-INTL-FRA-ITA-1:load"], description="RESOURCE_ID:SERIES")


class QueryRequest(BaseModel):
    range: Range | None = None
    targets: list[Target] = Field(max_length=50)
    maxDataPoints: int | None = Field(None, ge=1)


@router.post("/query", summary="JSON API data source: datapoints per target")
def query(request: Request, user: ReadUser, body: QueryRequest) -> list[dict[str, Any]]:
    start = body.range.from_ if body.range else None
    end = body.range.to if body.range else None
    out = []
    for t in body.targets:
        rid, _, series = t.target.rpartition(":")
        if not rid or series not in SERIES:
            raise ProblemError(
                422, f"target {t.target!r}: use RESOURCE_ID:SERIES with SERIES one of {', '.join(SERIES)}"
            )
        frame = _series(request.app.state.service, rid, start, end)
        col = frame[series] if series in frame else pd.Series(np.nan, index=frame.index)
        ok = np.isfinite(col.to_numpy(dtype=float))
        if body.maxDataPoints and ok.sum() > body.maxDataPoints:
            step = int(np.ceil(ok.sum() / body.maxDataPoints))
            idx = np.flatnonzero(ok)[::step]
            ok = np.zeros_like(ok)
            ok[idx] = True
        pts = [
            [float(v), int(ts)]
            for v, ts in zip(col.to_numpy(dtype=float)[ok], frame["time"].to_numpy()[ok], strict=True)
        ]
        out.append({"target": t.target, "datapoints": pts})
    return json_response(out)
