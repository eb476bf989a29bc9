"""Reading a backtest's CSV inputs, with errors naming the file, row and column."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from surgeplan.errors import ValidationError, reject_first
from surgeplan.kinds import KINDS

__all__ = ["read_inputs"]

#: Inventory columns read as numbers >= 0 (empty = unknown) when present.
_INVENTORY_NUMBERS = ("capacity", "module_size", "max_capacity", "lead_time_days", "module_cost")


def _read_csv(path: str | os.PathLike, required: Sequence[str], what: str) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise ValidationError(f"{what} file not found", file=str(path))
    try:
        frame = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (
        ValueError,
        UnicodeDecodeError,
        OSError,
    ) as exc:  # pandas ParserError/EmptyDataError are ValueErrors
        raise ValidationError(
            f"not a readable CSV ({exc.__class__.__name__}: {exc})", file=str(path)
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"missing column(s) {', '.join(missing)}; {what} needs {', '.join(required)}",
            file=str(path),
            row=0,
            column=missing[0],
        )
    return frame


def _numeric(
    frame: pd.DataFrame, col: str, file: str, *, allow_empty: bool, minimum: float | None
) -> pd.Series:
    raw = frame[col].str.strip()
    values = pd.to_numeric(raw.where(raw != ""), errors="coerce")
    bad = values.isna() & (raw != "")
    if not allow_empty:
        bad |= raw == ""
    bad |= ~np.isfinite(values.fillna(0.0))
    if minimum is not None:
        bad |= values < minimum
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        v = frame[col].iloc[i]
        why = (
            "empty"
            if v.strip() == ""
            else f"{v!r} is not a finite number" + (f" >= {minimum:g}" if minimum is not None else "")
        )
        raise ValidationError(why, file=file, row=i + 1, column=col)
    return values.astype(np.float64)


def _timestamps(frame: pd.DataFrame, col: str, file: str, *, naive_day: bool = False) -> pd.Series:
    raw = frame[col].str.strip()
    if naive_day:
        out = pd.to_datetime(raw, errors="coerce", format="mixed")
    else:
        out = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
    bad = out.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValidationError(
            f"{frame[col].iloc[i]!r} is not a date/time (ISO 8601)", file=file, row=i + 1, column=col
        )
    if naive_day:
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)
        return out.dt.normalize()
    return out


def _text(frame: pd.DataFrame, col: str, file: str) -> pd.Series:
    s = frame[col].str.strip()
    empty = s == ""
    if empty.any():
        raise ValidationError(
            "empty", file=file, row=int(np.flatnonzero(empty.to_numpy())[0]) + 1, column=col
        )
    return s


def read_inputs(
    measurements: str | os.PathLike,
    inventory: str | os.PathLike | None = None,
    indicators: str | os.PathLike | None = None,
    covariates: str | os.PathLike | None = None,
) -> dict[str, pd.DataFrame | None]:
    """Read and validate the CSV inputs of a backtest (the store's layouts, ``docs/INTERFACES.md``).

    A backtest needs only ``resource_id, kind, region`` from the inventory (``capacity`` enables the
    anticipation score). Timestamps without an offset are read as UTC. Empty ``load`` cells are
    missing measurements (skipped), anything else that is not a finite number >= 0 is an error.

    Raises
    ------
    ValidationError
        Naming the file, the 1-based data row and the column at fault.

    Returns
    -------
    dict
        ``measurements`` (``resource_id, ts, load``), ``inventory``, ``indicators``
        (``region, date, name, value``), ``covariates`` (``resource_id|region, ts, name, value``);
        absent inputs are None.
    """
    out: dict[str, pd.DataFrame | None] = {"inventory": None, "indicators": None, "covariates": None}
    inv_ids: set[str] | None = None
    if inventory is not None:
        inv = _read_inventory(inventory)
        out["inventory"] = inv
        inv_ids = set(inv["resource_id"])
    out["measurements"] = _read_measurements(measurements, inv_ids)
    if indicators is not None:
        out["indicators"] = _read_indicators(indicators)
    if covariates is not None:
        out["covariates"] = _read_covariates(covariates)
    return out


def _read_inventory(path: str | os.PathLike) -> pd.DataFrame:
    """The inventory: ``resource_id, kind, region`` checked (known kind, unique id), the columns of
    :data:`_INVENTORY_NUMBERS` as floats >= 0 (NaN when empty), any other column kept as text."""
    f = str(path)
    raw = _read_csv(path, ("resource_id", "kind", "region"), "inventory")
    inv = pd.DataFrame(
        {
            "resource_id": _text(raw, "resource_id", f),
            "kind": _text(raw, "kind", f),
            "region": raw["region"].str.strip(),
        }
    )
    reject_first(
        ~inv["kind"].isin(list(KINDS)),
        lambda i: f"unknown kind {inv['kind'].iloc[i]!r}; known kinds: {', '.join(KINDS)}",
        file=f,
        column="kind",
    )
    reject_first(
        inv["resource_id"].duplicated(),
        lambda i: f"duplicate resource_id {inv['resource_id'].iloc[i]!r}",
        file=f,
        column="resource_id",
    )
    for col in raw.columns:
        if col in inv.columns:
            continue
        if col in _INVENTORY_NUMBERS:
            inv[col] = _numeric(raw, col, f, allow_empty=True, minimum=0.0)
        else:
            inv[col] = raw[col]
    return inv


def _read_measurements(path: str | os.PathLike, inv_ids: set[str] | None) -> pd.DataFrame:
    """Measurements ``resource_id, ts, load``: ts in UTC, load a float >= 0 in the kind's unit, one row
    per resource and time, every resource in ``inv_ids`` when given; empty loads (hours not
    measured) dropped."""
    f = str(path)
    raw = _read_csv(path, ("resource_id", "ts", "load"), "measurements")
    meas = pd.DataFrame(
        {
            "resource_id": _text(raw, "resource_id", f),
            "ts": _timestamps(raw, "ts", f),
            "load": _numeric(raw, "load", f, allow_empty=True, minimum=0.0),
        }
    )
    if inv_ids is not None:
        reject_first(
            ~meas["resource_id"].isin(inv_ids),
            lambda i: f"resource_id {meas['resource_id'].iloc[i]!r} is not in the inventory",
            file=f,
            column="resource_id",
        )
    reject_first(
        meas.duplicated(["resource_id", "ts"]),
        lambda i: f"second measurement for {meas['resource_id'].iloc[i]} at {meas['ts'].iloc[i]}",
        file=f,
        column="ts",
    )
    return meas.dropna(subset=["load"]).reset_index(drop=True)


def _read_indicators(path: str | os.PathLike) -> pd.DataFrame:
    """Indicators ``region, date, name, value``: date a naive day, value a float (empty values dropped)."""
    f = str(path)
    raw = _read_csv(path, ("region", "date", "name", "value"), "indicators")
    return (
        pd.DataFrame(
            {
                "region": _text(raw, "region", f),
                "date": _timestamps(raw, "date", f, naive_day=True),
                "name": _text(raw, "name", f),
                "value": _numeric(raw, "value", f, allow_empty=True, minimum=None),
            }
        )
        .dropna(subset=["value"])
        .reset_index(drop=True)
    )


def _read_covariates(path: str | os.PathLike) -> pd.DataFrame:
    """Covariates ``resource_id|region, ts, name, value``: keyed by resource_id when the file has that
    column, else by region; ts in UTC, value a float (empty values dropped)."""
    f = str(path)
    raw = _read_csv(path, ("ts", "name", "value"), "covariates")
    key = "resource_id" if "resource_id" in raw.columns else "region" if "region" in raw.columns else None
    if key is None:
        raise ValidationError("needs a resource_id or a region column", file=f, row=0, column="resource_id")
    return (
        pd.DataFrame(
            {
                key: _text(raw, key, f),
                "ts": _timestamps(raw, "ts", f),
                "name": _text(raw, "name", f),
                "value": _numeric(raw, "value", f, allow_empty=True, minimum=None),
            }
        )
        .dropna(subset=["value"])
        .reset_index(drop=True)
    )
