"""The sizing rule of every kind, looked up in a table keyed on the kind.

Each rule is a small adaptor: it takes the rows of one kind (:class:`KindRows`: loads, installed
capacity and GoS targets per (resource, period) row, plus the prepared inventory) and passes the
vectorised columns its model needs to the sizing function of its module. Adding a kind is adding
an entry to :data:`SIZING_RULES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from surgeplan.dimension._common import Sizing
from surgeplan.dimension.conference_bridge import size_conference_bridge
from surgeplan.dimension.contact_center import size_contact_center
from surgeplan.dimension.customer_relation import (
    number_holding_time,
    size_chat_queue,
    size_chatbot,
    size_contact_center_callback,
    size_contact_number,
    size_ivr,
    size_message_queue,
)
from surgeplan.dimension.flow import chain_positions
from surgeplan.dimension.link import link_group_stats, size_link
from surgeplan.dimension.trunk_group import size_trunk_group, trunk_group_carriable
from surgeplan.dimension.vpn_gateway import size_vpn_gateway
from surgeplan.kinds import KINDS


@dataclass(frozen=True)
class KindRows:
    """The (resource, period) rows of one kind, as a rule sees them.

    Attributes
    ----------
    inv : DataFrame
        Prepared inventory (all resources, optional columns filled with their defaults).
    inv_k : ndarray of bool
        Inventory rows of this kind.
    pos : ndarray of int
        Inventory position of each row.
    period : ndarray
        Period of each row.
    load, capacity, target : ndarray
        Busy-hour load (kind's load unit), installed capacity and GoS target of each row.
    capacity_inv, target_inv : ndarray
        Installed capacity and GoS target of every inventory resource.
    """

    inv: pd.DataFrame
    inv_k: np.ndarray
    pos: np.ndarray
    period: np.ndarray
    load: np.ndarray
    capacity: np.ndarray
    target: np.ndarray
    capacity_inv: np.ndarray
    target_inv: np.ndarray

    def inv_col(self, name: str) -> np.ndarray:
        """A numeric inventory column, one value per inventory resource."""
        return self.inv[name].to_numpy(np.float64)

    def col(self, name: str) -> np.ndarray:
        """A numeric inventory column, one value per row."""
        return self.inv_col(name)[self.pos]


Rule = Callable[[KindRows], Sizing]


def _trunk_group(r: KindRows) -> Sizing:
    # what the installed circuits carry depends on the resource only: once per resource
    retry = r.inv_col("retry_probability")
    # mean redial delay in mean holding times; NaN (not given) = state-independent retries
    redial = r.inv_col("redial_delay_s") / r.inv_col("holding_time_s")
    carry = np.zeros(len(r.inv))
    carry[r.inv_k] = trunk_group_carriable(
        r.capacity_inv[r.inv_k], r.target_inv[r.inv_k], retry[r.inv_k], redial[r.inv_k]
    )
    return size_trunk_group(r.load, r.capacity, r.target, retry[r.pos], redial[r.pos], carriable=carry[r.pos])


def _conference_bridge(r: KindRows) -> Sizing:
    carry = np.zeros(len(r.inv))
    carry[r.inv_k] = trunk_group_carriable(r.capacity_inv[r.inv_k], r.target_inv[r.inv_k], 0.0)
    return size_conference_bridge(r.load, r.capacity, r.target, carriable=carry[r.pos])


def _vpn_gateway(r: KindRows) -> Sizing:
    return size_vpn_gateway(r.load, r.capacity, r.target)


def _contact_center(r: KindRows) -> Sizing:
    args = [r.col(c) for c in ("aht_s", "patience_s", "answer_within_s", "abandon_max")]
    q = r.col("callback_share")
    if not (q > 0).any():
        return size_contact_center(r.load, r.capacity, r.target, *args)
    plain = size_contact_center(r.load, r.capacity, r.target, *args)
    cb = q > 0
    offer = size_contact_center_callback(
        r.load[cb], r.capacity[cb], r.target[cb], *(a[cb] for a in args), q[cb]
    )
    for field in ("needed", "gos", "carriable", "shortfall"):
        getattr(plain, field)[cb] = getattr(offer, field)
    return plain


def _link(r: KindRows) -> Sizing:
    grp = r.inv["group"].to_numpy().astype(object)
    # An empty group means "alone": give it its own key so it never pools with others.
    key = np.where(grp == "", "\x00" + r.inv["resource_id"].to_numpy().astype(object), grp)
    codes, _ = pd.factorize(pd.Series(key[r.inv_k]))
    gcode_inv = np.full(len(r.inv), -1, dtype=np.int64)
    gcode_inv[r.inv_k] = codes
    pcode, _ = pd.factorize(r.period)
    stats = link_group_stats(
        gcode_inv[r.pos], pcode, r.load, codes, r.capacity_inv[r.inv_k], r.target_inv[r.inv_k]
    )
    return size_link(
        r.load,
        r.capacity,
        r.target,
        *stats,
        block=gcode_inv[r.pos] * (pcode.max() + 1) + pcode,
        module_size=r.col("module_size"),
        module_cost=r.col("module_cost"),
        max_capacity=r.col("max_capacity"),
    )


def _contact_number(r: KindRows) -> Sizing:
    # The channel holding time comes from the stages the number feeds: its IVR (if any) and the
    # agent queue behind it, staffed for the queue's own targets.
    chain = chain_positions(r.inv)
    ivr, queue = chain["ivr"][r.pos], chain["queue"][r.pos]
    has_ivr, has_q = ivr >= 0, queue >= 0
    iv, qu = np.maximum(ivr, 0), np.maximum(queue, 0)

    def at(name: str, where: np.ndarray, rows: np.ndarray, default: float) -> np.ndarray:
        return np.where(where, r.inv_col(name)[rows], default)

    hold, _agents = number_holding_time(
        r.load,
        at("ivr_time_s", has_ivr, iv, 0.0),
        at("self_service_share", has_ivr, iv, 0.0),
        # a number feeding no queue: its own aht_s is the channel holding time
        np.where(has_q, r.inv_col("aht_s")[qu], 0.0),
        at("patience_s", has_q, qu, np.inf),
        at("answer_within_s", has_q, qu, 20.0),
        np.where(has_q, r.target_inv[qu], 0.5),
        at("abandon_max", has_q, qu, 1.0),
        at("callback_share", has_q, qu, 0.0),
    )
    hold = np.where(has_q | has_ivr, hold, r.col("aht_s"))
    return size_contact_number(r.load, r.capacity, r.target, hold)


def _ivr(r: KindRows) -> Sizing:
    return size_ivr(r.load, r.capacity, r.target, r.col("ivr_time_s"))


def _chatbot(r: KindRows) -> Sizing:
    return size_chatbot(r.load, r.capacity, r.target, r.col("aht_s"))


def _chat_queue(r: KindRows) -> Sizing:
    return size_chat_queue(
        r.load,
        r.capacity,
        r.target,
        *(
            r.col(c)
            for c in (
                "aht_s",
                "patience_s",
                "answer_within_s",
                "abandon_max",
                "concurrency",
                "concurrency_slowdown",
            )
        ),
    )


def _message_queue(r: KindRows) -> Sizing:
    return size_message_queue(r.load, r.capacity, r.target, r.col("aht_s"), r.col("service_window_s"))


#: Sizing rule per dimensioned kind.
SIZING_RULES: dict[str, Rule] = {
    "trunk_group": _trunk_group,
    "link": _link,
    "vpn_gateway": _vpn_gateway,
    "conference_bridge": _conference_bridge,
    "contact_center": _contact_center,
    "contact_number": _contact_number,
    "ivr": _ivr,
    "chatbot": _chatbot,
    "chat_queue": _chat_queue,
    "message_queue": _message_queue,
}

_missing = [k for k, v in KINDS.items() if v.dimensioned and k not in SIZING_RULES]
if _missing:  # pragma: no cover - a kind added to kinds.py without its rule
    raise ImportError(f"no sizing rule for kind(s) {', '.join(_missing)} in surgeplan.dimension.rules")
