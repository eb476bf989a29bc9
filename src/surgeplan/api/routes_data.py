"""Data endpoints: resources, measurements, forecasts, busy hours, table counts and the three ingests."""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from surgeplan.api.frames import json_response, records
from surgeplan.api.models import (
    ForecastPage,
    IngestReportModel,
    MeasurementPage,
    ResourcePage,
    TableCount,
    TablePage,
)
from surgeplan.api.problems import PROBLEM_RESPONSES, ProblemError
from surgeplan.api.security import PlanUser, ReadUser
from surgeplan.errors import SurgeplanError, ValidationError
from surgeplan.kinds import INVENTORY_OPTIONAL, INVENTORY_REQUIRED
from surgeplan.store.schema import quote_ident

router = APIRouter(responses=PROBLEM_RESPONSES)

ResourceIds = Annotated[
    list[str],
    Query(
        min_length=1, max_length=1000, description="One or more resource ids", examples=["TG-INTL-FRA-ITA-1"]
    ),
]
Start = Annotated[datetime | None, Query(description="Inclusive ISO-8601 instant (naive = UTC)")]
End = Annotated[datetime | None, Query(description="Exclusive ISO-8601 instant (naive = UTC)")]
Limit = Annotated[int, Query(ge=1, le=100_000, description="Most rows returned")]


def _state(request: Request):
    return request.app.state.service


# ---------------------------------------------------------------------------------------------- resources
def _encode_cursor(resource_id: str) -> str:
    return base64.urlsafe_b64encode(resource_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        value = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode(
            "utf-8"
        )
        if _encode_cursor(value) == cursor:
            return value
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ProblemError(400, f"cursor: {cursor!r} is not a cursor from a previous page")


@router.get("/resources", response_model=ResourcePage, tags=["data"], summary="Inventory, filtered and paged")
def list_resources(
    request: Request,
    user: ReadUser,
    kind: Annotated[str | None, Query(examples=["trunk_group"])] = None,
    region: Annotated[str | None, Query(examples=["FRA"], description="ISO 3166 alpha-3")] = None,
    priority_class: Annotated[str | None, Query(examples=["vital"])] = None,
    group: Annotated[str | None, Query(description="Backup group name")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
):
    """Resources sorted by ``resource_id``; keyset pagination (``cursor`` = the last id of a page, opaque)."""
    clauses, params = [], []
    for column, value in (
        ("kind", kind),
        ("region", region),
        ("priority_class", priority_class),
        ("group", group),
    ):
        if value is not None:
            clauses.append(f"{quote_ident(column)} = ?")
            params.append(value)
    if cursor is not None:
        clauses.append("resource_id > ?")
        params.append(_decode_cursor(cursor))
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    cols = ", ".join(quote_ident(c) for c in (*INVENTORY_REQUIRED, *INVENTORY_OPTIONAL))
    with _state(request).read() as store:
        frame = store._df(
            f"SELECT {cols} FROM resources{where} ORDER BY resource_id LIMIT ?", [*params, limit + 1]
        )
    more = len(frame) > limit
    items = records(frame.iloc[:limit])
    return json_response(
        {"items": items, "next_cursor": _encode_cursor(items[-1]["resource_id"]) if more else None}
    )


# ---------------------------------------------------------------------------------------------- reads
@router.get("/measurements", response_model=MeasurementPage, tags=["data"], summary="Measured load")
def get_measurements(
    request: Request,
    user: ReadUser,
    resource_id: ResourceIds,
    start: Start = None,
    end: End = None,
    limit: Limit = 10_000,
):
    """Measurements ``resource_id, ts, load`` with ``start <= ts < end``, by resource then time."""
    with _state(request).read() as store:
        frame = store.measurements(resource_id, start=start, end=end)
    return json_response({"items": records(frame.iloc[:limit]), "truncated": len(frame) > limit})


def latest_forecasts(
    store, resource_ids: list[str] | None, start=None, end=None, run_id: str | None = None
) -> pd.DataFrame:
    """Wide forecast rows of one run (latest by default) with the run's ``origin`` (UTC)."""
    if run_id is None:
        run_id = store.latest_forecast_run()
        if run_id is None:
            return pd.DataFrame(columns=["resource_id", "ts", "origin", "run_id"])
    where, params = store._filters(("resource_id", resource_ids), ts=("ts", start, end))
    where = (where + " AND" if where else " WHERE") + " f.run_id = ?"
    long = store._df(
        "SELECT f.resource_id, f.ts, f.statistic, f.value, "
        "coalesce(TRY_CAST(json_extract_string(r.parameters, '$.origin') AS TIMESTAMPTZ), r.created_at) AS "
        f"origin FROM forecasts f JOIN runs r USING (run_id){where}",
        [*params, run_id],
    )
    if long.empty:
        return pd.DataFrame(columns=["resource_id", "ts", "origin", "run_id"])
    wide = long.pivot_table(
        index=["resource_id", "ts", "origin"], columns="statistic", values="value", aggfunc="first"
    ).reset_index()
    wide.columns.name = None
    stats = sorted(
        (c for c in wide.columns if c not in ("resource_id", "ts", "origin")),
        key=lambda s: -1.0 if s == "mean" else float(s[1:]),
    )
    wide = wide[["resource_id", "ts", "origin", *stats]].sort_values(["resource_id", "ts"], ignore_index=True)
    wide.insert(3, "run_id", run_id)
    return wide


@router.get("/forecasts", response_model=ForecastPage, tags=["data"], summary="Forecasts with their origin")
def get_forecasts(
    request: Request,
    user: ReadUser,
    resource_id: ResourceIds,
    start: Start = None,
    end: End = None,
    run_id: Annotated[str | None, Query(description="Default: latest")] = None,
    limit: Limit = 10_000,
):
    """Forecast rows ``resource_id, ts, origin, run_id, mean, p..`` of the latest forecast run (or
    ``run_id``)."""
    with _state(request).read() as store:
        frame = latest_forecasts(store, resource_id, start, end, run_id)
    return json_response({"items": records(frame.iloc[:limit]), "truncated": len(frame) > limit})


@router.get("/busy_hour", response_model=TablePage, tags=["data"], summary="Busy hours (ITU-T E.500)")
def get_busy_hour(
    request: Request,
    user: ReadUser,
    resource_id: ResourceIds,
    start: Start = None,
    end: End = None,
    source: Annotated[str, Query(pattern="^(forecast|measured)$")] = "forecast",
    period: Annotated[str, Query(pattern="^(D|W)$", description="Day or ISO week")] = "D",
):
    """Per resource and period, the UTC start of the hour with the highest mean load.

    ``source=forecast``: from the latest forecast run (``mean, p..`` and its ``origin``);
    ``source=measured``: from the measurements (``load``).
    """
    from surgeplan.forecast import busy_hour
    from surgeplan.forecast.busy_hour import busy_hour as measured_busy_hour

    with _state(request).read() as store:
        if source == "measured":
            meas = store.measurements(resource_id, start=start, end=end)
        else:
            f = latest_forecasts(store, resource_id, start, end)
    if source == "measured":
        out = measured_busy_hour(meas, period) if len(meas) else pd.DataFrame()
    elif f.empty:
        out = pd.DataFrame()
    else:
        origin = f[["resource_id", "origin", "run_id"]].drop_duplicates("resource_id")
        out = busy_hour(f.drop(columns=["origin", "run_id"]), period).merge(
            origin, on="resource_id", how="left"
        )
    return json_response({"items": records(out)})


@router.get("/tables", response_model=list[TableCount], tags=["data"], summary="Row count of every table")
def get_tables(request: Request, user: ReadUser):
    with _state(request).read() as store:
        return json_response(records(store.tables()))


# ---------------------------------------------------------------------------------------------- ingest
def _sniff_suffix(head: bytes) -> str:
    """Format from the content, never from a client-given name: Parquet magic, gzip, else CSV."""
    if head[:4] == b"PAR1":
        return ".parquet"
    if head[:2] == b"\x1f\x8b":
        return ".csv.gz"
    return ".csv"


def _label(upload: UploadFile) -> str:
    name = os.path.basename((upload.filename or "upload").replace("\\", "/")) or "upload"
    return "".join(c for c in name if c.isprintable())[:200]


def ingest_upload(state, upload: UploadFile, table: str, tz: str | None = None) -> dict[str, Any]:
    """Save the upload to a private temporary file and ingest it in one transaction."""
    label = _label(upload)
    head = upload.file.read(4)
    upload.file.seek(0)
    with tempfile.TemporaryDirectory(prefix="surgeplan-upload-") as tmp:
        path = Path(tmp) / f"upload{_sniff_suffix(head)}"
        with path.open("wb") as out:
            while chunk := upload.file.read(1 << 20):
                out.write(chunk)
        try:
            with state.db() as store:
                if table == "measurements":
                    report = store.ingest_measurements(path, tz=tz)
                elif table == "inventory":
                    report = store.ingest_inventory(path)
                else:
                    report = store.ingest_indicators(path)
        except ValidationError as exc:
            reason = exc.reason.replace(str(path), label)
            raise ValidationError(reason, file=label, row=exc.row, column=exc.column) from None
        except SurgeplanError as exc:
            raise SurgeplanError(str(exc).replace(str(path), label)) from None
    out = report.as_dict()
    out["source"] = label
    return out


Upload = Annotated[UploadFile, File(description="CSV (optionally gzipped) or Parquet")]
_INGEST_DOC = (
    "Multipart field `file`, CSV or Parquet, validated in full and stored in one transaction (all rows or "
    "none). A bad row answers 422 naming the file, row and column; the store is left unchanged."
)


def _after_ingest(state, table: str, report: dict[str, Any]) -> None:
    """Hand new measurements to the live loop (update, re-plan, alerts)."""
    if state.live is None or not (report["inserted"] or report["updated"]):
        return
    if table == "measurements":
        state.live.submit_window(report["first"], report["last"])
    elif table == "inventory":
        state.live.inventory_changed()


@router.post(
    "/measurements",
    response_model=IngestReportModel,
    tags=["ingest"],
    summary="Ingest measurements",
    description="`resource_id, ts, load` (load in the kind's unit). " + _INGEST_DOC,
)
def post_measurements(
    request: Request,
    user: PlanUser,
    file: Upload,
    tz: Annotated[str | None, Form(description="IANA zone of naive timestamps")] = None,
):
    state = _state(request)
    report = ingest_upload(state, file, "measurements", tz)
    _after_ingest(state, "measurements", report)
    return json_response(report)


@router.post(
    "/inventory",
    response_model=IngestReportModel,
    tags=["ingest"],
    summary="Ingest inventory",
    description="The inventory columns of `surgeplan.kinds`. " + _INGEST_DOC,
)
def post_inventory(request: Request, user: PlanUser, file: Upload):
    state = _state(request)
    report = ingest_upload(state, file, "inventory")
    _after_ingest(state, "inventory", report)
    return json_response(report)


@router.post(
    "/indicators",
    response_model=IngestReportModel,
    tags=["ingest"],
    summary="Ingest indicators",
    description="`region, date, name, value`. " + _INGEST_DOC,
)
def post_indicators(request: Request, user: PlanUser, file: Upload):
    return json_response(ingest_upload(_state(request), file, "indicators"))
