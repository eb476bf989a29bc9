"""The one place the service calls the planning chain (:func:`surgeplan.plan.plan_once`).

``pipeline.run_plan(db, ...)`` opens the store file itself, which the server cannot allow (it holds
the single writer connection), so :func:`plan_from_frames` runs the same chain on frames the
server read through its own connection, with :func:`surgeplan.plan.plan_once`: the one path
from data to a plan that ``surgeplan plan`` and the replay take too.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any

import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.plan import Plan

__all__ = ["PlanOutcome", "parse_scenario", "plan_from_frames"]

#: Scenario keys the service refuses: it never takes a file path from a request.
_PATH_KEYS = ("output_dir",)


@dataclass
class PlanOutcome:
    """A plan with the forecast it was made on (``forecast``: wide ``resource_id, ts, mean, p..``)."""

    plan: Plan
    forecast: pd.DataFrame
    origin: pd.Timestamp
    settings: Any


def parse_scenario(body: bytes, media_type: str) -> Any:
    """Plan settings from a scenario body: TOML (``application/toml``, ``text/*``) or JSON."""
    import json

    from surgeplan.plan.settings import load_plan_settings

    text = body.decode("utf-8", errors="strict") if body else ""
    try:
        if media_type.endswith("json"):
            raw = json.loads(text) if text.strip() else {}
        else:
            raw = tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if media_type.endswith("json") else "TOML"
        raise SurgeplanError(f"scenario: not valid {kind}: {exc}") from None
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise SurgeplanError("scenario: must be an object of tables ([plan], [gos], [indicators.<REGION>])")
    for key in _PATH_KEYS:
        if key in raw.get("plan", {}):
            raise SurgeplanError(
                f"scenario: [plan] {key} is not accepted by the service (it takes no file path)"
            )
    return load_plan_settings(raw=raw)


def plan_from_frames(
    inventory: pd.DataFrame,
    measurements: pd.DataFrame,
    indicators: pd.DataFrame,
    settings: Any,
    asof: Any = None,
) -> PlanOutcome:
    """Plan as of ``asof`` (default the day after the last measurement) with :func:`plan_once`."""
    from surgeplan.plan import plan_once
    from surgeplan.plan.once import naive_day

    if inventory.empty:
        raise SurgeplanError("store: no inventory (POST /api/v1/inventory first)")
    if measurements.empty:
        raise SurgeplanError("store: no measurements (POST /api/v1/measurements first)")
    ts = pd.to_datetime(measurements["ts"], utc=True)
    day = naive_day(asof) if asof is not None else settings.asof
    if day is None:
        day = naive_day(ts.max()) + pd.Timedelta(days=1)
    origin = pd.Timestamp(day).tz_localize("UTC")
    if not (ts < origin).any():
        raise SurgeplanError(f"asof: no measurement before {day:%Y-%m-%d}")
    planned = plan_once(measurements, inventory, indicators, day, settings, keep_forecast=True)
    return PlanOutcome(planned.plan, planned.forecast, origin, settings)
