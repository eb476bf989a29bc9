"""Reading what-if inputs: inventory, busy-hour load and routes files, or a store.

Every bad cell raises :class:`surgeplan.errors.ValidationError` naming the file, the row (1-based
data row, header = row 0) and the column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError, ValidationError, reject_first

__all__ = ["load_from_store", "read_inventory", "read_load", "read_routes"]


def _read(path: str | Path) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise SurgeplanError(f"{p}: no such file")
    if p.suffix.lower() == ".parquet":
        return pd.read_parquet(p)
    try:
        return pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValidationError(f"not a readable CSV ({str(exc).splitlines()[0]})", file=str(p)) from None


def read_inventory(path: str | Path) -> pd.DataFrame:
    """An inventory file, validated by the store's rules (in memory; nothing is written)."""
    from surgeplan.store import Store

    if not Path(path).is_file():
        raise SurgeplanError(f"{path}: no such file")
    with Store(":memory:") as s:
        s.ingest_inventory(str(path))
        return s.inventory()


def _check_columns(df: pd.DataFrame, need: tuple[str, ...], source: str) -> None:
    for col in need:
        if col not in df.columns:
            raise ValidationError(
                f"missing column {col!r} (columns: {', '.join(map(str, df.columns))})",
                file=source,
                row=0,
                column=col,
            )


def read_load(path: str | Path, inventory: pd.DataFrame) -> pd.Series:
    """``resource_id, load`` (busy-hour load in the kind's unit) as a Series by resource_id.

    Unknown resources, duplicated resources, non-numeric or negative loads are errors.
    """
    source = str(path)
    df = _read(path)
    _check_columns(df, ("resource_id", "load"), source)
    rid = df["resource_id"].astype(str).str.strip()
    known = set(inventory["resource_id"].astype(str))
    reject_first(
        ~rid.isin(known).to_numpy(),
        lambda r: f"unknown resource {rid.iloc[r]!r} (not in the inventory)",
        file=source,
        column="resource_id",
    )
    reject_first(
        rid.duplicated().to_numpy(),
        lambda r: f"resource {rid.iloc[r]!r} given twice",
        file=source,
        column="resource_id",
    )
    x = pd.to_numeric(df["load"], errors="coerce").to_numpy(np.float64)
    reject_first(
        ~np.isfinite(x),
        lambda r: f"load must be a finite number, got {df['load'].iloc[r]!r}",
        file=source,
        column="load",
    )
    reject_first(x < 0, lambda r: f"negative load {x[r]:g}", file=source, column="load")
    return pd.Series(x, index=rid.to_numpy(), name="load")


def read_routes(path: str | Path) -> pd.DataFrame:
    """``from_resource, to_resource, max_load`` (checked against the inventory by the what-if)."""
    df = _read(path)
    _check_columns(df, ("from_resource", "to_resource"), str(path))
    return df


def load_from_store(db: str | Path, quantile: str = "p90") -> tuple[pd.DataFrame, pd.Series]:
    """Inventory and busy-hour load from a store: the latest plan's peak ``quantile`` per resource.

    The plan's busy hours are the derived table ``plan_busy_hour`` (written by ``surgeplan plan``
    and ``surgeplan demo``); the latest run's rows are used, and each resource's load is its
    highest busy hour over the plan's periods.
    """
    from surgeplan.store import Store

    if not Path(db).exists():
        raise SurgeplanError(f"{db}: no such store")
    with Store(db, read_only=True) as store:
        inv = store.inventory()
        if inv.empty:
            raise SurgeplanError(f"{db}: the store has no inventory")
        if "plan_busy_hour" not in set(store.tables()["table"]):
            raise SurgeplanError(
                f"{db}: no plan in the store (table plan_busy_hour); run 'surgeplan plan' first, "
                "or give --inventory and --load"
            )
        runs = store.runs()
        bh = store.read_table("plan_busy_hour")
    if quantile not in bh.columns:
        raise SurgeplanError(f"{db}: plan_busy_hour has no column {quantile!r}")
    from surgeplan.continuity.whatif import peak_load

    order = {r: i for i, r in enumerate(runs["run_id"])}
    latest = max(bh["run_id"].unique(), key=lambda r: order.get(r, -1))
    return inv, peak_load(bh.loc[bh["run_id"] == latest], quantile)
