"""The one place the service calls the planning chain (fit -> forecast -> busy hour -> bound -> plan).

``pipeline.run_plan(db, ...)`` opens the store file itself, which the server cannot allow (it holds
the single writer connection), so :func:`plan_from_frames` runs the same chain on frames the
server read through its own connection. When ``surgeplan.plan.plan_once`` lands, only this
module changes.
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

    from surgeplan.pipeline import load_plan_settings

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
    """Fit the forecaster on data before ``asof``, forecast the horizon and plan (as ``run_plan``)."""
    from surgeplan.forecast import ShockForecaster, busy_hour
    from surgeplan.pipeline import _naive, bound_forecast, known_before, measured_busy_hour
    from surgeplan.plan import make_plan

    if inventory.empty:
        raise SurgeplanError("store: no inventory (POST /api/v1/inventory first)")
    if measurements.empty:
        raise SurgeplanError("store: no measurements (POST /api/v1/measurements first)")
    ts = pd.to_datetime(measurements["ts"], utc=True)
    day = _naive(asof) if asof is not None else settings.asof
    if day is None:
        day = _naive(ts.max()) + pd.Timedelta(days=1)
    origin = pd.Timestamp(day).tz_localize("UTC")
    if not (ts < origin).any():
        raise SurgeplanError(f"asof: no measurement before {day:%Y-%m-%d}")
    fc = ShockForecaster(quantiles=settings.forecast_quantiles)
    fc.fit(measurements, inventory, known_before(indicators, day), cutoff=origin)
    forecast = fc.predict(f"{settings.horizon_days}D", indicators_future=settings.indicators or None)
    bh = busy_hour(forecast, settings.cadence)
    bh["period"] = pd.to_datetime(bh["period"]).dt.tz_convert(None)
    bh, _ = bound_forecast(
        bh, measured_busy_hour(measurements.loc[(ts < origin).to_numpy()]), settings.max_growth
    )
    plan = make_plan(
        inventory,
        bh,
        day,
        quantile=settings.quantile,
        budget=settings.budget,
        ops_per_day=settings.ops_per_day,
        ops_per_module=settings.ops_per_module or None,
        gos_overrides=settings.gos or None,
        alert_quantiles=settings.alert_quantiles,
    )
    return PlanOutcome(plan, forecast, origin, settings)
