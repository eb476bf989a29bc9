"""Order actions: vital customers first, then by how soon and how badly the GoS breaks."""

from __future__ import annotations

import numpy as np
import pandas as pd


def prioritize(actions: pd.DataFrame) -> pd.DataFrame:
    """Rank actions and return them sorted, with a 1-based ``priority`` column.

    The order is lexicographic:

    1. ``priority_class == 'vital'`` first (resources serving hospitals, care homes, emergency
       and public services of vital importance);
    2. earlier ``needed_by`` first (how soon the GoS breaks);
    3. larger ``severity`` first (how badly: share of the peak need not installed);
    4. ``resource_id`` (a stable, reproducible tie-break).

    Parameters
    ----------
    actions : DataFrame
        From :func:`surgeplan.plan.actions.make_actions`.

    Returns
    -------
    DataFrame
        ``actions`` sorted by priority, index reset, ``priority`` = 1, 2, ...
    """
    if actions.empty:
        out = actions.copy()
        out["priority"] = pd.Series(dtype=np.int64)
        return out
    vital = (actions["priority_class"].astype(str) != "vital").to_numpy(np.int8)
    due = pd.to_datetime(actions["needed_by"]).to_numpy().astype("datetime64[ns]").astype(np.int64)
    sev = -actions["severity"].to_numpy(np.float64)
    rid = actions["resource_id"].astype(str).to_numpy()
    order = np.lexsort((rid, sev, due, vital))
    out = actions.iloc[order].reset_index(drop=True)
    out.insert(0, "priority", np.arange(1, len(out) + 1, dtype=np.int64))
    return out
