"""Response models: what the OpenAPI document promises (units in the field descriptions)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AlertPage",
    "ForecastPage",
    "Health",
    "IngestReportModel",
    "MeasurementPage",
    "PlanDocument",
    "PlanList",
    "Resource",
    "ResourcePage",
    "TableCount",
    "TablePage",
    "UserCreated",
    "UserInfo",
]


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    version: str
    schema_version: int


class Resource(BaseModel):
    """One inventory row; capacity in the kind's capacity unit, ``null`` for an unlimited ceiling."""

    model_config = ConfigDict(extra="allow")
    resource_id: str = Field(examples=["TG-INTL-FRA-ITA-1"])
    kind: str = Field(examples=["trunk_group"])
    region: str = Field(examples=["ITA"])
    capacity: float | None = None
    module_size: float | None = None
    max_capacity: float | None = Field(None, description="null: no ceiling")
    lead_time_days: float | None = None
    module_cost: float | None = None
    group: str | None = None
    priority_class: str = Field(examples=["vital"])


class ResourcePage(BaseModel):
    items: list[Resource]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page"
    )


class Measurement(BaseModel):
    resource_id: str
    ts: str = Field(description="ISO-8601 UTC instant", examples=["2020-03-16T09:00:00Z"])
    load: float | None = Field(
        description="in the kind's load unit (Erlangs, Gbps, sessions, calls per hour)"
    )


class MeasurementPage(BaseModel):
    items: list[Measurement]
    truncated: bool = Field(description="True when `limit` cut the answer: narrow the time range")


class ForecastPage(BaseModel):
    items: list[dict[str, Any]] = Field(
        description="Rows `resource_id, ts, origin, run_id, mean, p50, p90 ...` (load unit of the kind)",
        examples=[
            [
                {
                    "resource_id": "TG-1",
                    "ts": "2020-03-16T10:00:00Z",
                    "origin": "2020-03-16T00:00:00Z",
                    "run_id": "ab12",
                    "mean": 80.1,
                    "p50": 79.0,
                    "p90": 91.2,
                }
            ]
        ],
    )
    truncated: bool


class TablePage(BaseModel):
    items: list[dict[str, Any]]


class AlertPage(BaseModel):
    items: list[dict[str, Any]] = Field(
        description="Alerts, most urgent first: `urgency` (critical / high / watch), `resource_id`, "
        "`quantile`, `first_break`, `order_by`, `days_to_order`, `status` ..."
    )
    version: int = Field(description="Increases whenever the current alerts change (plan or live arrival)")


class TableCount(BaseModel):
    table: str
    rows: int
    role: str = Field(description="data / derived / system")


class IngestReportModel(BaseModel):
    table: str
    source: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    seconds: float
    run_id: str | None = None
    first: str | None = None
    last: str | None = None


class PlanDocument(BaseModel):
    id: str
    created_at: str
    origin: str | None = None
    summary: dict[str, Any]
    actions: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    late: list[dict[str, Any]]
    temporary: list[dict[str, Any]]


class PlanList(BaseModel):
    items: list[dict[str, Any]]


class UserInfo(BaseModel):
    name: str
    role: str
    created_at: str | None = None
    revoked_at: str | None = None


class UserCreated(BaseModel):
    name: str
    role: str
    token: str = Field(description="Shown once; the store keeps only its SHA-256")
