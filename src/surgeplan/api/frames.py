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


def _column(s: pd.Series) -> list[Any]:
    """One column as JSON-safe Python values, vectorized where the dtype allows."""
    dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        whole = s.isna() | ((s.dt.microsecond == 0) & (s.dt.nanosecond == 0))
        if bool(whole.all()):
            aware = isinstance(dtype, pd.DatetimeTZDtype)
            text = (s.dt.tz_convert("UTC") if aware else s).dt.strftime(
                "%Y-%m-%dT%H:%M:%SZ" if aware else "%Y-%m-%dT%H:%M:%S"
            )
            return text.astype(object).where(s.notna(), None).tolist()
    elif pd.api.types.is_float_dtype(dtype):
        x = s.to_numpy(dtype=np.float64, na_value=np.nan)
        out = x.astype(object)
        out[~np.isfinite(x)] = None
        return out.tolist()
    elif pd.api.types.is_bool_dtype(dtype) and not s.isna().any():
        return s.astype(bool).tolist()
    elif pd.api.types.is_integer_dtype(dtype) and not s.isna().any():
        return s.astype(np.int64).tolist()
    values = s.tolist()
    if all(v is None or type(v) is str for v in values):  # text columns: nothing to convert
        return values
    return [_cell(v) for v in values]


def records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Rows as dicts of JSON-safe values (``inf`` / NaN / NaT become ``null``), built column by column."""
    if frame is None or frame.empty:
        return []
    names = [str(c) for c in frame.columns]
    columns = [_column(frame.iloc[:, k]) for k in range(frame.shape[1])]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def json_response(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response of already JSON-safe content (no re-validation: fast for large tables)."""
    body = json.dumps(content, separators=(",", ":"), allow_nan=False, default=_cell).encode("utf-8")
    return Response(body, status_code=status_code, headers=headers, media_type="application/json")
