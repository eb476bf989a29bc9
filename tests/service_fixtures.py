"""A small store for the service tests: 14 resources of the bundled operator (FRA, ITA, every kind),
hourly load simulated from the real 2020 indicators over four weeks, and one account per role."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

START, END = "2020-02-17", "2020-03-16"


def build_store(folder: Path, max_resources: int = 12) -> dict:
    """Write ``folder/store.duckdb`` and the CSV inputs; return paths, tokens and frames."""
    from surgeplan.pipeline import DemoConfig, _subset
    from surgeplan.signals import bundled_indicators
    from surgeplan.simulate import bundled_inventory, simulate
    from surgeplan.store import Store
    from surgeplan.store.users import add_user

    inv = _subset(bundled_inventory(), DemoConfig(max_resources=max_resources, regions=("FRA", "ITA")))
    # one vital resource, so that the dashboard's vital panel has something to show
    inv.loc[inv["kind"] == "vpn_gateway", "priority_class"] = "vital"
    ind = bundled_indicators(regions=["FRA", "ITA"], start="2020-01-01", end="2020-03-15")
    meas = simulate(inv, ind, None, START, END, "1h", 7)
    db = folder / "store.duckdb"
    with Store(db) as store:
        store.ingest_inventory(inv)
        store.ingest_indicators(ind)
        store.ingest_measurements(meas)
        tokens = {role: add_user(store, f"{role}-user", role) for role in ("read", "plan", "admin")}
    inv.to_csv(folder / "inventory.csv", index=False)
    return {"db": db, "tokens": tokens, "inventory": inv, "measurements": meas, "indicators": ind}


def next_hour(fx: dict, hour: str = "2020-03-16 00:00", factor: float = 1.0) -> pd.DataFrame:
    """One new hour of measurements for every resource (the last measured hour's load x ``factor``)."""
    meas = fx["measurements"]
    last = meas.sort_values("ts").groupby("resource_id", observed=True).tail(1)
    return pd.DataFrame(
        {
            "resource_id": last["resource_id"].to_numpy(),
            "ts": pd.Timestamp(hour, tz="UTC").isoformat().replace("+00:00", "Z"),
            "load": last["load"].to_numpy() * factor,
        }
    )
