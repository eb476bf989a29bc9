"""What each service centre must staff when one closes: the continuity LP over the skill table.

The closed centre's queues are lost (``site:NAME``, :mod:`surgeplan.continuity.scenarios`); their
calls may go to the queues of the same language and priority class at the centres that take that
language (:func:`surgeplan.dimension.pooling.skill_table`), along unbounded routes, and to their
own group's members; the linear program of :func:`surgeplan.continuity.whatif` places them, and
every surviving queue is re-sized (Erlang A) for the calls it is then offered. The LP may load a
queue up to its hiring ceiling (``max_capacity`` agents all busy); calls beyond every ceiling are
reported as unplaced.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from surgeplan.continuity.whatif import whatif
from surgeplan.dimension.pooling import queue_agents, queue_table

__all__ = ["CLOSURE_COLUMNS", "closure_staffing"]

#: Columns of :func:`closure_staffing`.
CLOSURE_COLUMNS = ("closed", "site", "calls_per_hour", "agents_needed", "agents_installed", "calls_unplaced")


def closure_staffing(
    inventory: pd.DataFrame,
    load: pd.Series | Mapping[str, float],
    *,
    sites: list[str] | None = None,
    skills: pd.DataFrame | None = None,
    gos_overrides: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Agents each centre needs when one centre closes, its calls placed by the continuity LP.

    Routes go from every queue of the closing centre to the queues of the same language and
    priority class at centres that take the language (:func:`skill_table`), unbounded; the LP of
    :func:`surgeplan.continuity.whatif` places the lost calls on them (own group members count
    too) within each queue's hiring ceiling (``max_capacity`` agents), and every surviving queue is
    sized (Erlang A) for the calls it is then offered.

    Parameters
    ----------
    inventory : DataFrame
        Inventory (``contact_center`` queues with ``site`` and ``language``).
    load : Series or mapping
        Busy-hour calls per hour by queue ``resource_id``.
    sites : list of str, optional
        Centres to close one at a time (default: every centre with queues).
    skills, gos_overrides
        As in :func:`pooling_gain`.

    Returns
    -------
    DataFrame
        ``closed, site, calls_per_hour, agents_needed, agents_installed, calls_unplaced``: one row
        per (closed centre, centre); the closed centre's row keeps the calls the LP could not place
        anywhere (``calls_unplaced``), with no agents.
    """
    cc = queue_table(inventory, load, skills, gos_overrides)
    sites = sorted(cc["site"].dropna().astype(str).unique()) if sites is None else list(sites)
    if not sites:
        return pd.DataFrame(columns=list(CLOSURE_COLUMNS))
    routes = _language_routes(cc)
    # the LP may place calls up to what each queue could staff at most (its hiring ceiling)
    inv = cc.drop(columns=["calls", "target", "poolable", "feeds"]).reset_index(drop=True)
    inv["capacity"] = inv["max_capacity"].to_numpy()
    res = whatif(inv, cc["calls"], routes, [f"site:{s}" for s in sites], gos_overrides=gos_overrides)
    w = res.whatif.merge(
        cc[
            ["resource_id", "site", "aht_s", "patience_s", "answer_within_s", "abandon_max", "target"]
        ].reset_index(drop=True),
        on="resource_id",
    )
    w = _staffed(w, cc)
    out = (
        w.groupby(["closed", "site"], sort=True)[
            ["calls_per_hour", "agents_needed", "agents_installed", "calls_unplaced"]
        ]
        .sum()
        .reset_index()
    )
    return out


def _language_routes(cc: pd.DataFrame) -> pd.DataFrame:
    """Unbounded routes from every poolable queue to those of the same language and priority class at
    the other centres."""
    pool = cc[cc["poolable"]]
    pairs = pool.reset_index(drop=True).merge(
        pool.reset_index(drop=True), on=["language", "priority_class"], suffixes=("_from", "_to")
    )
    pairs = pairs[pairs["site_from"] != pairs["site_to"]]
    return pd.DataFrame(
        {
            "from_resource": pairs["resource_id_from"],
            "to_resource": pairs["resource_id_to"],
            "max_load": np.nan,
        }
    )


def _staffed(w: pd.DataFrame, cc: pd.DataFrame) -> pd.DataFrame:
    """What-if rows with the closed centre, and per queue the calls per hour it is offered, the agents
    it then needs (Erlang A) and has, and the calls placed nowhere (closed queues)."""
    w["closed"] = w["scenario"].str.removeprefix("site:")
    alive = w["site"] != w["closed"]
    w["agents_needed"] = np.where(
        alive,
        queue_agents(
            w["offered_load"],
            w["aht_s"],
            w["patience_s"],
            w["target"],
            w["answer_within_s"],
            w["abandon_max"],
        ),
        0.0,
    )
    w["calls_unplaced"] = np.where(alive, 0.0, w["unserved_load"])
    w["calls_per_hour"] = np.where(alive, w["offered_load"], 0.0)
    w["agents_installed"] = np.where(alive, w["resource_id"].map(cc["capacity"]).to_numpy(np.float64), 0.0)
    return w
