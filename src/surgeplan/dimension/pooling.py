"""Service centres as one virtual centre: pooled Erlang A over the centres that can take a queue.

A voice queue (``contact_center``) can be answered at another service centre when that centre
has agents with the queue's skill, its ``language``. The skill table (``site, language``) says
which centre takes which language; by default a centre takes the languages of its own queues.
Queues of one language and priority class whose centres take it form a pool: one Erlang A queue
with the pool's calls, answered by every centre's agents (a virtual centre, calls routed to the
first free agent).

The pool's parameters: calls add up; handling time is the call-weighted mean (the offered
Erlangs are kept); the abandonment rate ``1 / patience`` is the call-weighted mean; the service
level target, threshold and abandonment ceiling are the strictest of the members, so the pooled
staffing meets every member's targets. With equal parameters in a pool, pooling never needs more
agents than the queues apart (economies of scale of Erlang staffing; checked in the tests); with
different handling times the call-weighted pool is an approximation (the queue is no longer
exactly M/M/n+M).

:func:`surgeplan.continuity.centres.closure_staffing` asks what each centre must staff when one
closes (the continuity linear program places the closed centre's calls along the skill table).

References
----------
.. [1] O. Garnett, A. Mandelbaum, M. Reiman, "Designing a call center with impatient customers",
   M&SOM 4(3), 2002 (Erlang A).
.. [2] N. Gans, G. Koole, A. Mandelbaum, "Telephone call centers: tutorial, review, and research
   prospects", M&SOM 5(2), 2003, section 4.4 (pooling and skills-based routing).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from surgeplan import teletraffic as tt
from surgeplan.dimension.core import gos_targets, prepare_inventory
from surgeplan.errors import SurgeplanError

_TINY = 1e-12

#: Columns of :func:`pooling_gain`.
POOL_COLUMNS = (
    "language",
    "priority_class",
    "sites",
    "queues",
    "calls_per_hour",
    "agents_apart",
    "agents_pooled",
    "pooling_gain",
)


def skill_table(inventory: pd.DataFrame) -> pd.DataFrame:
    """``site, language``: the languages each centre answers (those of its own queues)."""
    inv = prepare_inventory(inventory)
    cc = inv[(inv["kind"] == "contact_center") & inv["site"].notna() & inv["language"].notna()]
    return cc[["site", "language"]].astype(str).drop_duplicates().reset_index(drop=True)


def queue_table(inventory: pd.DataFrame, load, skills=None, gos_overrides=None) -> pd.DataFrame:
    """The prepared ``contact_center`` rows with ``calls`` (per hour), ``target`` and ``poolable``."""
    inv = prepare_inventory(inventory)
    target = pd.Series(gos_targets(inv, gos_overrides), index=inv.index)
    cc = inv[inv["kind"] == "contact_center"].copy()
    if cc.empty:
        raise SurgeplanError("inventory: no contact_center queue to pool")
    calls = load if isinstance(load, pd.Series) else pd.Series(load, dtype=np.float64)
    calls.index = calls.index.astype(str)
    cc["calls"] = calls.reindex(cc.index).fillna(0.0).to_numpy(np.float64)
    cc["target"] = target.reindex(cc.index).to_numpy()
    skills = skill_table(inv) if skills is None else skills
    missing = {"site", "language"} - set(skills.columns)
    if missing:
        raise SurgeplanError(
            f"skills table needs columns site, language (missing {', '.join(sorted(missing))})"
        )
    ok = pd.MultiIndex.from_frame(skills[["site", "language"]].astype(str))
    key = pd.MultiIndex.from_arrays([cc["site"].astype(str), cc["language"].astype(str)])
    cc["poolable"] = key.isin(ok) & cc["site"].notna().to_numpy() & cc["language"].notna().to_numpy()
    return cc


def queue_agents(calls, aht, patience, target, within, abandon) -> np.ndarray:
    """Erlang A agents for calls per hour at a service-level target and abandonment ceiling."""
    lam = np.asarray(calls, dtype=np.float64) / 3600.0
    n = tt.erlang_a_agents(
        lam, aht, patience, np.clip(target, _TINY, 1 - _TINY), within, np.clip(abandon, _TINY, 1.0)
    )
    return np.where(lam > 0, np.asarray(n, dtype=np.float64), 0.0)


def pooling_gain(
    inventory: pd.DataFrame,
    load: pd.Series | Mapping[str, float],
    *,
    skills: pd.DataFrame | None = None,
    gos_overrides: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Agents needed by the queues kept apart and pooled across the centres that take them.

    Parameters
    ----------
    inventory : DataFrame
        Inventory; ``contact_center`` rows with ``site`` and ``language`` are pooled.
    load : Series or mapping
        Busy-hour calls per hour by queue ``resource_id`` (missing: 0).
    skills : DataFrame, optional
        ``site, language`` pairs a centre can answer (default :func:`skill_table`). A queue whose
        own centre is not listed for its language stays apart.
    gos_overrides : mapping, optional
        As in :func:`surgeplan.dimension.dimension`.

    Returns
    -------
    DataFrame
        ``POOL_COLUMNS``, one row per pool (language, priority class): the centres and queues in
        it, its calls per hour, agents apart (sum of each queue's Erlang A agents at its own
        targets), agents pooled and the gain (apart - pooled), sorted by gain.
    """
    cc = queue_table(inventory, load, skills, gos_overrides)
    cc["apart"] = queue_agents(
        cc["calls"], cc["aht_s"], cc["patience_s"], cc["target"], cc["answer_within_s"], cc["abandon_max"]
    )
    pool = cc[cc["poolable"]].copy()
    pool["work"] = pool["calls"] * pool["aht_s"]
    pool["quit"] = pool["calls"] / pool["patience_s"]  # abandonment rate x calls (0 for inf patience)
    g = pool.groupby(["language", "priority_class"], sort=True)
    agg = g.agg(
        sites=("site", lambda s: ",".join(sorted(set(s)))),
        queues=("resource_id", "size"),
        calls_per_hour=("calls", "sum"),
        work=("work", "sum"),
        quit=("quit", "sum"),
        agents_apart=("apart", "sum"),
        target=("target", "max"),
        within=("answer_within_s", "min"),
        abandon=("abandon_max", "min"),
        mean_aht=("aht_s", "mean"),
        mean_quit=("patience_s", lambda p: float(np.mean(1.0 / p))),
    ).reset_index()
    busy = agg["calls_per_hour"] > 0
    aht = np.where(busy, agg["work"] / agg["calls_per_hour"].where(busy, 1.0), agg["mean_aht"])
    rate = np.where(busy, agg["quit"] / agg["calls_per_hour"].where(busy, 1.0), agg["mean_quit"])
    with np.errstate(divide="ignore"):
        patience = np.where(rate > 0, 1.0 / rate, np.inf)
    agg["agents_pooled"] = queue_agents(
        agg["calls_per_hour"], aht, patience, agg["target"], agg["within"], agg["abandon"]
    )
    agg["pooling_gain"] = agg["agents_apart"] - agg["agents_pooled"]
    return agg[list(POOL_COLUMNS)].sort_values("pooling_gain", ascending=False, ignore_index=True)
