"""Customer-relation channels linked in one flow: load at the entry pushed to every stage.

The inventory column ``feeds`` names the resource the next stage is, e.g.::

    contact_number -> ivr -> contact_center (voice queue) -> message_queue (callbacks)
    chatbot -> chat_queue

A stage passes on a share of its rate (calls, sessions, chats per hour):

==================  =========================================================================
stage               rate passed to what it feeds
==================  =========================================================================
``ivr``             ``1 - self_service_share`` (callers the voice guide did not serve)
``chatbot``         ``1 - containment_share`` (sessions that ask for an agent)
``contact_center``  ``P(callback)`` at the agents its targets need (callers finding every agent
                    busy who accept a callback, :func:`surgeplan.teletraffic.callback_queue`)
any other kind      everything (1)
==================  =========================================================================

:func:`push_loads` replaces the load of every fed resource, period by period, with the sum of
what its feeders pass on (stages processed in flow order, a loop over the few depths of the
flow, never over resources), so a peak measured at a number reaches the IVR, the agents and the
callback queue. The deflection levers of a scenario set the shares (:func:`apply_levers`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from surgeplan import teletraffic as tt
from surgeplan.errors import SurgeplanError, ValidationError

#: Scenario lever name -> (inventory column it sets, kind it applies to).
LEVERS: dict[str, tuple[str, str]] = {
    "ivr_self_service": ("self_service_share", "ivr"),
    "chatbot_containment": ("containment_share", "chatbot"),
    "callback_share": ("callback_share", "contact_center"),
}

_TINY = 1e-12


def feed_targets(inv: pd.DataFrame, *, source: str = "<inventory>", strict: bool = True) -> np.ndarray:
    """Inventory position each resource feeds (-1: none); loops are refused.

    ``inv`` is indexed by ``resource_id`` (:func:`surgeplan.dimension.prepare_inventory`). A name
    that is not in the inventory raises ``ValidationError`` (file, row, column ``feeds``) when
    ``strict``; otherwise it counts as no link (sizing a part of an inventory).
    """
    if "feeds" not in inv.columns:
        return np.full(len(inv), -1, dtype=np.int64)
    raw = inv["feeds"]
    names = raw.where(raw.notna(), "").astype(str).str.strip().to_numpy()
    has = names != ""
    tgt = np.full(len(inv), -1, dtype=np.int64)
    if not has.any():
        return tgt
    found = inv.index.get_indexer(names[has])
    if strict and (found < 0).any():
        row = int(np.flatnonzero(has)[np.flatnonzero(found < 0)[0]])
        raise ValidationError(
            f"feeds names {names[row]!r}, which is not a resource_id of the inventory",
            file=source,
            row=row + 1,
            column="feeds",
        )
    tgt[has] = found
    flow_depth(tgt, source=source)
    return tgt


def flow_depth(tgt: np.ndarray, *, source: str = "<inventory>") -> np.ndarray:
    """Longest chain of feeders above each resource (0 for entries and unlinked resources)."""
    depth = np.zeros(tgt.size, dtype=np.int64)
    src = np.flatnonzero(tgt >= 0)
    for _ in range(tgt.size + 1):
        new = depth.copy()
        np.maximum.at(new, tgt[src], depth[src] + 1)
        if np.array_equal(new, depth):
            return depth
        depth = new
        if depth.max() > tgt.size:
            break
    row = int(src[np.argmax(depth[src])])
    raise ValidationError(
        "feeds makes a loop (a resource feeds itself through the flow)",
        file=source,
        row=row + 1,
        column="feeds",
    )


def _pass_share(
    inv: pd.DataFrame, src_pos: np.ndarray, load: np.ndarray, target_inv: np.ndarray
) -> np.ndarray:
    """Share of each source row's rate passed on to what it feeds."""
    kind = inv["kind"].to_numpy()[src_pos]

    def col(name: str) -> np.ndarray:
        return inv[name].to_numpy(np.float64)[src_pos]

    share = np.ones(src_pos.size)
    share = np.where(kind == "ivr", 1.0 - col("self_service_share"), share)
    share = np.where(kind == "chatbot", 1.0 - col("containment_share"), share)
    cc = (kind == "contact_center") & (load > 0)
    if cc.any():
        lam = load[cc] / 3600.0
        h, pat, aw = col("aht_s")[cc], col("patience_s")[cc], col("answer_within_s")[cc]
        q = col("callback_share")[cc]
        sl = np.clip(target_inv[src_pos][cc], _TINY, 1 - _TINY)
        n = tt.callback_agents(lam, h, pat, sl, aw, np.clip(col("abandon_max")[cc], _TINY, 1.0), q)
        share[cc] = tt.callback_queue(lam, h, pat, n, aw, q).callback_probability
    return np.where(kind == "contact_center", np.where(load > 0, share, 0.0), share)


def push_loads(
    inv: pd.DataFrame, pos: np.ndarray, period: np.ndarray, load: np.ndarray, target_inv: np.ndarray
) -> np.ndarray:
    """Loads with every fed resource's row replaced by what its feeders pass on in that period.

    Parameters
    ----------
    inv : DataFrame
        Prepared inventory (indexed by ``resource_id``, optional columns filled).
    pos, period, load : ndarray
        Per row: inventory position, period, busy-hour rate (the kind's load unit).
    target_inv : ndarray
        GoS target per inventory resource (a callback share depends on the queue's staffing).

    Returns
    -------
    ndarray
        Loads, unchanged for rows of entries, unlinked resources and periods no feeder has.
    """
    tgt = feed_targets(inv, strict=False)
    if not (tgt >= 0).any():
        return load
    depth = flow_depth(tgt)
    pcode, _ = pd.factorize(period)
    n_p = int(pcode.max()) + 1 if pcode.size else 1
    out = np.asarray(load, dtype=np.float64).copy()
    row_key = pos.astype(np.int64) * n_p + pcode
    for level in range(1, int(depth.max()) + 1):
        src_rows = np.flatnonzero((tgt[pos] >= 0) & (depth[np.maximum(tgt[pos], 0)] == level))
        if src_rows.size == 0:
            continue
        src_pos = pos[src_rows]
        passed = out[src_rows] * _pass_share(inv, src_pos, out[src_rows], target_inv)
        keys = tgt[src_pos].astype(np.int64) * n_p + pcode[src_rows]
        sums = pd.Series(passed).groupby(keys).sum()
        hit = np.isin(row_key, sums.index.to_numpy()) & (depth[pos] == level)
        out[hit] = sums.reindex(row_key[hit]).to_numpy()
    return out


def push_table(
    inventory: pd.DataFrame,
    table: pd.DataFrame,
    columns: list[str],
    *,
    period: str = "period",
    target_inv: np.ndarray | None = None,
) -> pd.DataFrame:
    """A long table (busy hours, forecasts) with every value column pushed along the flow.

    Parameters
    ----------
    inventory : DataFrame
        Inventory with ``feeds``.
    table : DataFrame
        ``resource_id, <period>, <columns...>`` in the kinds' load units (rates per hour).
    columns : list of str
        Value columns to push (e.g. ``['mean', 'p50', 'p90', 'p99']``), each on its own.
    period : str, default ``'period'``
        Time column matching the stages' rows (``'ts'`` for a forecast table).
    target_inv : ndarray, optional
        GoS target per inventory resource (default: :func:`surgeplan.dimension.gos_targets`).

    Returns
    -------
    DataFrame
        A copy with the fed resources' values replaced (rows of resources outside the inventory
        kept as they are).
    """
    from surgeplan.dimension.core import gos_targets, prepare_inventory

    inv = prepare_inventory(inventory)
    target = gos_targets(inv) if target_inv is None else target_inv
    out = table.copy()
    pos = inv.index.get_indexer(out["resource_id"].astype(str))
    known = pos >= 0
    for col in columns:
        values = out[col].to_numpy(np.float64).copy()
        values[known] = push_loads(inv, pos[known], out[period].to_numpy()[known], values[known], target)
        out[col] = values
    return out


def chain_positions(inv: pd.DataFrame) -> dict[str, np.ndarray]:
    """For each resource: the IVR and the agent queue its calls reach (-1 where none).

    Follows ``feeds`` from each resource through at most one ``ivr`` to the first
    ``contact_center``; ``ivr`` is -1 when the number feeds the queue directly.
    """
    tgt = feed_targets(inv, strict=False)
    kind = inv["kind"].to_numpy()
    ivr = np.full(len(inv), -1, dtype=np.int64)
    queue = np.full(len(inv), -1, dtype=np.int64)
    cur = tgt.copy()
    for _ in range(len(inv)):
        live = (cur >= 0) & (queue < 0)
        if not live.any():
            break
        k = np.where(live, kind[np.maximum(cur, 0)], "")
        ivr = np.where(live & (k == "ivr") & (ivr < 0), cur, ivr)
        queue = np.where(live & (k == "contact_center"), cur, queue)
        cur = np.where(live & (k != "contact_center"), tgt[np.maximum(cur, 0)], -1)
    return {"ivr": ivr, "queue": queue}


def apply_levers(inventory: pd.DataFrame, levers: Mapping[str, object] | None) -> pd.DataFrame:
    """The inventory with a scenario's deflection levers applied.

    Parameters
    ----------
    inventory : DataFrame
        Inventory table.
    levers : mapping
        ``{lever: share}`` applying to every resource of the lever's kind, or ``{lever: {resource_id:
        share}}``; levers are :data:`LEVERS` (``ivr_self_service``, ``chatbot_containment``,
        ``callback_share``), shares in [0, 1]. The scenario TOML's ``[levers]`` table.

    Returns
    -------
    DataFrame
        A copy with ``self_service_share`` / ``containment_share`` / ``callback_share`` set.
    """
    inv = inventory.copy()
    for name, value in (levers or {}).items():
        if name not in LEVERS:
            raise SurgeplanError(f"levers: unknown lever {name!r}; known: {', '.join(LEVERS)}")
        column, kind = LEVERS[name]
        if column not in inv.columns:
            inv[column] = np.nan
        values = value if isinstance(value, Mapping) else None
        mask = (inv["kind"] == kind).to_numpy()
        if values is None:
            share = _share(name, value)
            inv.loc[mask, column] = share
            continue
        ids = inv["resource_id"].astype(str)
        for rid, v in values.items():
            hit = (ids == str(rid)).to_numpy()
            if not hit.any():
                raise SurgeplanError(f"levers.{name}: {rid!r} is not a resource_id of the inventory")
            inv.loc[hit, column] = _share(f"{name}.{rid}", v)
    return inv


def read_levers(source: str | Path | Mapping[str, object] | None) -> dict[str, object]:
    """The ``[levers]`` table of a scenario TOML (a path, or the parsed file as a mapping), checked.

    Example (``plan_example.toml``)::

        [levers]
        ivr_self_service = 0.2          # every IVR
        chatbot_containment = 0.3       # every chatbot
        [levers.callback_share]         # per queue
        "CR-FRA-HOSP01-VOICE" = 0.3

    Returns ``{}`` when the file has no ``[levers]``. Unknown levers and shares outside [0, 1]
    raise ``SurgeplanError`` naming the file and the key.
    """
    if source is None:
        return {}
    name = "<scenario>"
    if isinstance(source, Mapping):
        raw = source
    else:
        name = str(source)
        try:
            raw = tomllib.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SurgeplanError(f"{name}: cannot read the scenario ({exc})") from None
    levers = raw.get("levers", {})
    if not isinstance(levers, Mapping):
        raise SurgeplanError(f"{name}: [levers] must be a table")
    for key, value in levers.items():
        if key not in LEVERS:
            raise SurgeplanError(f"{name}: levers.{key} is not a lever; known: {', '.join(LEVERS)}")
        items = value.items() if isinstance(value, Mapping) else [("", value)]
        for rid, v in items:
            try:
                _share(f"{key}.{rid}" if rid else key, v)
            except SurgeplanError as exc:
                raise SurgeplanError(f"{name}: {exc}") from None
    return dict(levers)


def _share(name: str, value: object) -> float:
    if isinstance(value, bool):
        raise SurgeplanError(f"levers: {name} must be a share in [0, 1]; got {value!r}")
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SurgeplanError(f"levers: {name} must be a share in [0, 1]; got {value!r}") from None
    if not 0.0 <= v <= 1.0:
        raise SurgeplanError(f"levers: {name} must be a share in [0, 1]; got {v!r}")
    return v
