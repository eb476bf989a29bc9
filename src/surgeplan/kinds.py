"""Resource kinds, their load units, grade-of-service defaults and the inventory layout.

This is the single source of truth shared by ``store`` (validation), ``simulate``, ``forecast``
and ``dimension``. Names follow ``ARCHITECTURE.md``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One resource kind.

    Attributes
    ----------
    name : str
        Kind name as written in an inventory (``trunk_group``, ``link`` ...).
    load_unit : str
        Unit of ``measurements.load`` for this kind.
    capacity_unit : str
        Unit of ``capacity``, ``module_size`` and ``max_capacity``.
    gos : str
        What the grade of service is, in a planner's words.
    gos_default : float
        Default GoS target (blocking probability, utilisation ceiling, service level ...).
    dimensioned : bool
        False for kinds that are forecast but never dimensioned (``generic``).
    coupled : bool
        True when the members of a ``group`` back each other up (N+1): their sizing, upgrades
        and failures are decided over the whole group, never member by member.
    relief : str
        What planners do while the resource is short, before its upgrade is in service.
    """

    name: str
    load_unit: str
    capacity_unit: str
    gos: str
    gos_default: float
    dimensioned: bool = True
    coupled: bool = False
    relief: str = ""


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "trunk_group",
            "erlang",
            "circuits",
            "blocking probability (Erlang B)",
            0.01,
            relief="call gapping for non-vital traffic, overflow routes, recorded announcements",
        ),
        Kind(
            "link",
            "gbps",
            "gbps",
            "busy-hour utilisation ceiling with every member up and after the largest member of its group "
            "fails (N+1, the group's load spread over the survivors by capacity); a link alone in no group: "
            "ceiling on its own utilisation, no N+1",
            0.7,
            coupled=True,
            relief="shape bulk and video traffic, ask content providers to lower bit rates",
        ),
        Kind(
            "vpn_gateway",
            "sessions",
            "sessions",
            "peak concurrent-session ceiling (fraction of capacity)",
            0.9,
            relief="temporary licences, split tunnelling for video, staggered shifts",
        ),
        Kind(
            "conference_bridge",
            "erlang",
            "ports",
            "blocking probability on ports (Erlang B)",
            0.01,
            relief="cap meeting size, audio-only for large meetings",
        ),
        Kind(
            "contact_center",
            "calls_per_hour",
            "agents",
            "service level: share of calls answered within answer_within_s (Erlang A)",
            0.8,
            relief="temporary agents, call-back, IVR deflection",
        ),
        Kind(
            "contact_number",
            "calls_per_hour",
            "channels",
            "blocking probability on access channels (Erlang B over IVR + queue wait + talk time)",
            0.01,
            relief="more channels, a shorter IVR, callbacks (see the customer-relation levers)",
        ),
        Kind(
            "ivr",
            "calls_per_hour",
            "ports",
            "blocking probability on voice-guide ports (Erlang B)",
            0.01,
            relief="more ports, a shorter voice guide",
        ),
        Kind(
            "chat_queue",
            "chats_per_hour",
            "agents",
            "service level: share of chats answered within answer_within_s, agents holding up to "
            "`concurrency` chats (Erlang A with state-dependent service)",
            0.8,
            relief="temporary chat agents, chatbot containment, more chats per agent",
        ),
        Kind(
            "chatbot",
            "sessions_per_hour",
            "sessions",
            "peak concurrent-session ceiling (fraction of capacity)",
            0.9,
            relief="temporary session licences",
        ),
        Kind(
            "message_queue",
            "messages_per_hour",
            "agents",
            "share of messages handled within service_window_s over the day (fluid backlog)",
            0.95,
            relief="temporary agents on the backlog, a longer service window",
        ),
        Kind(
            "generic",
            "unit",
            "unit",
            "none: forecast only, never dimensioned",
            float("nan"),
            dimensioned=False,
        ),
    )
}

#: Columns every inventory file must have (ARCHITECTURE.md, "resource").
INVENTORY_REQUIRED = (
    "resource_id",
    "kind",
    "region",
    "capacity",
    "module_size",
    "max_capacity",
    "lead_time_days",
    "module_cost",
    "group",
    "priority_class",
)

#: Optional inventory columns with their defaults (None = no default: the kind's own default applies).
INVENTORY_OPTIONAL: dict[str, object] = {
    "name": None,  # human-readable label, e.g. "FRA-ITA interconnect"
    "site": None,  # site / service centre the resource sits in (continuity what-ifs)
    "gos_target": None,  # overrides Kind.gos_default
    "retry_probability": 0.0,  # trunk_group: share of blocked callers who retry (extended Erlang B)
    # trunk_group: mean delay before a blocked caller redials, seconds; NaN = not given: redials as
    # a Poisson stream (extended Erlang B); given: the retrial queue (teletraffic.retrial)
    "redial_delay_s": float("nan"),
    # trunk_group: mean call holding time, seconds, to express redial_delay_s in holding times;
    # 180 s is the customary 3-minute planning value for voice calls (give it when measured)
    "holding_time_s": 180.0,
    "aht_s": 300.0,  # contact_center: average handling time, seconds
    "patience_s": 120.0,  # contact_center: mean patience before abandoning, seconds (inf = Erlang C)
    "answer_within_s": 20.0,  # contact_center: service-level threshold, seconds
    "abandon_max": 0.05,  # contact_center: abandonment ceiling (probability)
    # customer-relation flow (issue 17): `feeds` names the resource_id of the next stage of the flow
    # contact_number -> ivr -> contact_center (-> message_queue: callbacks); chatbot -> chat_queue
    "feeds": None,
    "language": None,  # contact_center: language/skill of the queue (pooling across service centres)
    "ivr_time_s": 60.0,  # ivr: mean time a caller spends in the voice guide, seconds
    "self_service_share": 0.0,  # ivr: share of callers served by the voice guide alone
    "containment_share": 0.0,  # chatbot: share of sessions that never reach an agent
    "callback_share": 0.0,  # contact_center: share of callers finding all agents busy who take a callback
    "concurrency": 1.0,  # chat_queue: chats an agent holds at once
    "concurrency_slowdown": 0.25,  # chat_queue: a chat lasts aht_s x (1 + slowdown x (k - 1)) with k held
    "service_window_s": 14400.0,  # message_queue: handled-within window, seconds (4 h)
}

#: Optional inventory columns holding text (the others are numbers).
INVENTORY_TEXT = ("name", "site", "feeds", "language")

PRIORITY_CLASSES = ("vital", "standard")


def coupled_kinds() -> list[str]:
    """Names of the kinds whose groups are coupled (N+1)."""
    return [k.name for k in KINDS.values() if k.coupled]


def kind(name: str) -> Kind:
    """Look a kind up by name, with an error listing the known kinds."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown kind {name!r}; known kinds: {', '.join(KINDS)}") from None
