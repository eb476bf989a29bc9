"""Frames to JSON: ISO-8601 UTC instants, ``null`` for missing and non-finite numbers."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
from fastapi.responses import Response

__all__ = ["json_response", "records"]


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        if value is pd.NaT:
            return None
        if value.tzinfo is not None:
            return value.tz_convert("UTC").isoformat().replace("+00:00", "Z")
        return value.isoformat()
    if value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (pd.Timedelta, np.timedelta64)):
        return pd.Timedelta(value).total_seconds()
    if isinstance(value, np.datetime64):
        return _cell(pd.Timestamp(value))
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Rows as dicts of JSON-safe values (``inf`` / NaN / NaT become ``null``)."""
    if frame is None or frame.empty:
        return []
    cols = [str(c) for c in frame.columns]
    return [
        dict(zip(cols, (_cell(v) for v in row), strict=True))
        for row in frame.itertuples(index=False, name=None)
    ]


def json_response(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response of already JSON-safe content (no re-validation: fast for large tables)."""
    body = json.dumps(content, separators=(",", ":"), allow_nan=False, default=_cell).encode("utf-8")
    return Response(body, status_code=status_code, headers=headers, media_type="application/json")
