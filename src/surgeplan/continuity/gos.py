"""Grade of service after redistribution, with the sizing rules of :mod:`surgeplan.dimension`.

One rule per kind (lookup table ``GOS_RULES``), each applied to all (scenario, resource) rows of
that kind at once on the load *carried* in the scenario and the resource's own parameters:

================== ============================================================ ===============
kind               rule                                                          ``gos_metric``
================== ============================================================ ===============
trunk_group        Erlang B (extended Erlang B with retries)                      blocking
conference_bridge  Erlang B on ports                                              blocking
link               utilisation against the ceiling in the scenario's state        utilization
vpn_gateway        peak concurrency against the ceiling                           utilization
contact_center     Erlang A with the centre's own agents, AHT and patience:       service_level
                   share answered within ``answer_within_s`` over all arrivals,
                   and abandonment under ``abandon_max``
================== ============================================================ ===============

A link's GoS in a what-if is its utilisation in the state the scenario leaves (the failure has
happened; no further N+1 is asked of the survivors). ``gos_ok`` is the dimensioning test
(capacity needed for the carried load <= capacity) and no load of the resource left unserved.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surgeplan.dimension import (
    size_conference_bridge,
    size_contact_center,
    size_link,
    size_trunk_group,
    size_vpn_gateway,
)
from surgeplan.dimension._common import RTOL

__all__ = ["GOS_RULES", "recheck"]


def _trunk(load, cap, target, inv):
    return size_trunk_group(load, cap, target, inv["retry_probability"].to_numpy(np.float64))


def _bridge(load, cap, target, inv):
    return size_conference_bridge(load, cap, target)


def _link(load, cap, target, inv):
    return size_link(load, cap, target)


def _vpn(load, cap, target, inv):
    return size_vpn_gateway(load, cap, target)


def _contact_center(load, cap, target, inv):
    col = {c: inv[c].to_numpy(np.float64) for c in ("aht_s", "patience_s", "answer_within_s", "abandon_max")}
    return size_contact_center(
        load, cap, target, col["aht_s"], col["patience_s"], col["answer_within_s"], col["abandon_max"]
    )


#: kind -> (carried load, capacity, target, inventory rows) -> ``Sizing`` (dimension's rules).
GOS_RULES = {
    "trunk_group": _trunk,
    "conference_bridge": _bridge,
    "link": _link,
    "vpn_gateway": _vpn,
    "contact_center": _contact_center,
}


def recheck(
    inv: pd.DataFrame,
    kind: np.ndarray,
    resource: np.ndarray,
    carried: np.ndarray,
    capacity: np.ndarray,
    target: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """GoS of every row; returns ``(gos_metric, gos_value, ok, needed)`` arrays.

    ``resource`` are positions into ``inv`` (the network's prepared inventory); ``capacity`` and
    ``target`` are per row.
    """
    n = resource.size
    metric = np.empty(n, dtype=object)
    value = np.full(n, np.nan)
    needed = np.full(n, np.nan)
    rk = kind[resource]
    for k, rule in GOS_RULES.items():  # a loop over the handful of kinds
        m = rk == k
        if not m.any():
            continue
        s = rule(carried[m], capacity[m], target[m], inv.iloc[resource[m]])
        metric[m] = s.gos_metric
        value[m] = s.gos
        needed[m] = s.needed
    ok = needed <= capacity * (1.0 + RTOL) + RTOL
    return metric, value, ok, needed
