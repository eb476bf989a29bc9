"""The network a what-if runs on: resources, their limits and where lost load may go.

Per resource (numpy arrays in inventory order, dimensioned kinds only):

* ``load`` offered in the busy hour, in the kind's load unit (Erlangs, Gbps, sessions, calls per
  hour);
* ``hard``: the most load it can take at all (``KIND_LIMITS``): circuits or ports as Erlangs,
  Gbps, sessions, and for a contact centre ``agents x 3600 / aht_s`` calls per hour (every agent
  busy). Load placed beyond it is unserved;
* ``carriable``: the load it carries at its GoS target, from the sizing rules of
  :mod:`surgeplan.dimension` (Erlang B inverse, ceiling x capacity, Erlang A service level and
  abandonment for a contact centre's own agents, AHT and patience).

Edges say where a lost resource's load may go: every other member of its ``group`` of the same
kind (unbounded), and the declared ``routes`` (``from_resource, to_resource, max_load``, same
kind, ``max_load`` in the kind's unit; empty = unbounded). Connected components of these edges are
what one LP block solves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from surgeplan import teletraffic as tt
from surgeplan.dimension import gos_targets, prepare_inventory, trunk_group_carriable
from surgeplan.errors import SurgeplanError, ValidationError, reject_first
from surgeplan.kinds import coupled_kinds

__all__ = ["KIND_LIMITS", "Network", "build_network", "contact_center_carriable"]


def contact_center_carriable(
    agents, target, aht_s, patience_s, answer_within_s, abandon_max, iterations: int = 48
) -> np.ndarray:
    """Calls per hour a queue's agents carry at its service-level target and abandonment ceiling.

    Both Erlang A measures worsen as the arrival rate grows, so the largest rate meeting both is
    found by bisection on ``[0, agents x 3600 / aht]`` for all queues at once.

    Parameters
    ----------
    agents : array_like
        Agents staffed.
    target : array_like
        Service-level target (share answered within ``answer_within_s``).
    aht_s, patience_s, answer_within_s : array_like
        Average handling time, mean patience, service-level threshold, seconds.
    abandon_max : array_like
        Abandonment ceiling (probability).
    iterations : int, default 48
        Bisection steps (relative precision 2**-48 of the bracket).

    References
    ----------
    Garnett, Mandelbaum & Reiman, "Designing a call center with impatient customers", MSOM 4(3), 2002.
    """
    n, sl, h, pat, aw, ab = (
        np.asarray(v, dtype=np.float64)
        for v in np.broadcast_arrays(agents, target, aht_s, patience_s, answer_within_s, abandon_max)
    )
    lo = np.zeros(n.shape)
    hi = np.where(n > 0, n * 3600.0 / h, 0.0)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        m = tt.erlang_a(mid / 3600.0, h, pat, np.maximum(n, 0.0), aw)
        ok = (np.asarray(m.service_level) >= sl) & (np.asarray(m.abandon_probability) <= ab)
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid)
    return np.where(n > 0, lo, 0.0)


def _limits_trunk(cap, target, inv):
    return cap, trunk_group_carriable(cap, target, inv["retry_probability"].to_numpy(np.float64))


def _limits_bridge(cap, target, inv):
    return cap, trunk_group_carriable(cap, target, 0.0)


def _limits_ceiling(cap, target, inv):
    return cap, target * cap


def _limits_contact_center(cap, target, inv):
    col = {c: inv[c].to_numpy(np.float64) for c in ("aht_s", "patience_s", "answer_within_s", "abandon_max")}
    hard = np.where(cap > 0, cap * 3600.0 / col["aht_s"], 0.0)
    carry = contact_center_carriable(
        cap, target, col["aht_s"], col["patience_s"], col["answer_within_s"], col["abandon_max"]
    )
    return hard, carry


#: kind -> (capacity, gos_target, inventory rows) -> (hard limit, carriable at target), load units.
KIND_LIMITS = {
    "trunk_group": _limits_trunk,
    "conference_bridge": _limits_bridge,
    "link": _limits_ceiling,
    "vpn_gateway": _limits_ceiling,
    "contact_center": _limits_contact_center,
}


@dataclass
class Network:
    """Arrays of one what-if (see the module docstring); index ``i`` = resource position.

    Attributes
    ----------
    inventory : DataFrame
        Prepared inventory of the resources in the network (``resource_id`` index).
    ids, kind, priority : ndarray
        Resource ids, kinds, ``vital`` flag.
    capacity, target, load, hard, carriable : ndarray
        Installed capacity (capacity unit), GoS target, offered load, hard limit and load
        carried at target (load unit).
    src, dst, max_load : ndarray
        Edges (positions) and their bounds (``inf`` = unbounded), load unit.
    component : ndarray
        Connected component of each resource (dense code).
    hashed : ndarray of bool
        Links of a link group handled by proportional hashing (``mode='hashing'``).
    """

    inventory: pd.DataFrame
    ids: np.ndarray
    kind: np.ndarray
    vital: np.ndarray
    capacity: np.ndarray
    target: np.ndarray
    load: np.ndarray
    hard: np.ndarray
    carriable: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    max_load: np.ndarray
    component: np.ndarray
    hashed: np.ndarray

    @property
    def n(self) -> int:
        return int(self.ids.size)


def _group_edges(kind: np.ndarray, group: np.ndarray, skip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All ordered pairs of members of the same (kind, group), vectorized by a self-merge."""
    idx = np.flatnonzero((group != "") & ~skip)
    if idx.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    df = pd.DataFrame({"i": idx, "k": kind[idx], "g": group[idx]})
    pairs = df.merge(df, on=["k", "g"], suffixes=("_s", "_d"))
    pairs = pairs.loc[pairs["i_s"] != pairs["i_d"]]
    return pairs["i_s"].to_numpy(np.int64), pairs["i_d"].to_numpy(np.int64)


def build_network(
    inventory: pd.DataFrame,
    load: pd.Series,
    routes: pd.DataFrame | None = None,
    *,
    mode: str = "optimal",
    gos_overrides=None,
    routes_source: str = "<routes>",
) -> Network:
    """Arrays for :func:`surgeplan.continuity.whatif` (see the module docstring).

    ``load`` maps ``resource_id`` to busy-hour load (missing resources: 0). ``routes`` are checked
    here: unknown resources or different kinds raise ``ValidationError`` naming the row and column.
    """
    inv = prepare_inventory(inventory)
    keep = inv["kind"].isin([k for k in KIND_LIMITS]).to_numpy()
    inv = inv.loc[keep]
    if inv.empty:
        raise SurgeplanError(
            f"inventory: no resource of a kind the what-if checks ({', '.join(KIND_LIMITS)})"
        )
    ids = inv["resource_id"].to_numpy().astype(str)
    kind = inv["kind"].to_numpy().astype(str)
    cap = np.maximum(inv["capacity"].to_numpy(np.float64), 0.0)
    target = gos_targets(inv, gos_overrides)
    x = pd.Series(load, dtype=np.float64).reindex(ids).fillna(0.0).to_numpy(np.float64)
    hard = np.zeros(ids.size)
    carry = np.zeros(ids.size)
    for k, rule in KIND_LIMITS.items():  # a loop over the handful of kinds
        m = kind == k
        if m.any():
            hard[m], carry[m] = rule(cap[m], target[m], inv.loc[m])
    # a hair under the exact carriable load, so a survivor filled up to it still passes the sizing
    # rule's own test (float noise at the boundary of Erlang inverses)
    carry = np.minimum(np.nan_to_num(carry) * (1.0 - 1e-6), hard)
    group = inv["group"].to_numpy().astype(str)
    if mode not in ("optimal", "hashing"):
        raise SurgeplanError(f"mode: {mode!r} is not 'optimal' or 'hashing'")
    # hashing spreads a coupled group's load by surviving capacity, as LAG and ECMP do
    hashed = (mode == "hashing") & np.isin(kind, coupled_kinds()) & (group != "")
    gs, gd = _group_edges(kind, group, hashed)
    rs, rd, rmax = _routes(routes, ids, kind, routes_source)
    keep_r = ~(hashed[rs] | hashed[rd]) if rs.size else np.zeros(0, bool)
    rs, rd, rmax = rs[keep_r], rd[keep_r], rmax[keep_r]
    src = np.concatenate([gs, rs])
    dst = np.concatenate([gd, rd])
    mx = np.concatenate([np.full(gs.size, np.inf), rmax])
    if src.size:  # one edge per (src, dst): a group pair wins over a bounded route (unbounded)
        e = (
            pd.DataFrame({"s": src, "d": dst, "m": mx})
            .groupby(["s", "d"], sort=True)["m"]
            .max()
            .reset_index()
        )
        src, dst, mx = e["s"].to_numpy(np.int64), e["d"].to_numpy(np.int64), e["m"].to_numpy(np.float64)
    # hashed link groups are components of their own (members linked, no LP edges)
    hs, hd = _group_edges(kind, group, ~hashed)
    a = coo_matrix(
        (np.ones(src.size + hs.size), (np.r_[src, hs], np.r_[dst, hd])), shape=(ids.size, ids.size)
    )
    _, comp = connected_components(a, directed=False)
    return Network(
        inv,
        ids,
        kind,
        inv["priority_class"].to_numpy().astype(str) == "vital",
        cap,
        target,
        x,
        hard,
        carry,
        src,
        dst,
        mx,
        comp.astype(np.int64),
        hashed,
    )


def _routes(routes, ids, kind, source):
    if routes is None or len(routes) == 0:
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0)
    for col in ("from_resource", "to_resource"):
        if col not in routes.columns:
            raise ValidationError(f"missing column {col!r}", file=source, row=0, column=col)
    pos = pd.Index(ids)
    s = pos.get_indexer(routes["from_resource"].astype(str).str.strip())
    d = pos.get_indexer(routes["to_resource"].astype(str).str.strip())
    for arr, col in ((s, "from_resource"), (d, "to_resource")):
        reject_first(
            arr < 0,
            lambda r, col=col: (
                f"unknown resource {str(routes[col].iloc[r])!r} (not in the inventory, "
                "or of a kind the what-if does not check)"
            ),
            file=source,
            column=col,
        )
    reject_first(
        kind[s] != kind[d],
        lambda r: f"route between different kinds ({kind[s[r]]} -> {kind[d[r]]})",
        file=source,
        column="to_resource",
    )
    reject_first(s == d, lambda r: "route from a resource to itself", file=source, column="to_resource")
    if "max_load" in routes.columns:
        raw = routes["max_load"]
        mx = pd.to_numeric(raw, errors="coerce").to_numpy(np.float64)
        blank = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
        reject_first(
            (np.isnan(mx) & ~blank) | (mx < 0),
            lambda r: f"max_load must be a number >= 0 (or empty: unbounded), got {raw.iloc[r]!r}",
            file=source,
            column="max_load",
        )
        mx = np.where(blank, np.inf, mx)
    else:
        mx = np.full(s.size, np.inf)
    return s.astype(np.int64), d.astype(np.int64), mx
