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
    """

    name: str
    load_unit: str
    capacity_unit: str
    gos: str
    gos_default: float
    dimensioned: bool = True


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("trunk_group", "erlang", "circuits", "blocking probability (Erlang B)", 0.01),
        Kind(
            "link",
            "gbps",
            "gbps",
            "busy-hour utilisation ceiling with every member up and after the largest member of its group fails "
            "(N+1, the group's load spread over the survivors by capacity); a link alone in no group: ceiling "
            "on its own utilisation, no N+1",
            0.7,
        ),
        Kind("vpn_gateway", "sessions", "sessions", "peak concurrent-session ceiling (fraction of capacity)", 0.9),
        Kind("conference_bridge", "erlang", "ports", "blocking probability on ports (Erlang B)", 0.01),
        Kind(
            "contact_center",
            "calls_per_hour",
            "agents",
            "service level: share of calls answered within answer_within_s (Erlang A)",
            0.8,
        ),
        Kind("generic", "unit", "unit", "none: forecast only, never dimensioned", float("nan"), dimensioned=False),
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
    "aht_s": 300.0,  # contact_center: average handling time, seconds
    "patience_s": 120.0,  # contact_center: mean patience before abandoning, seconds (inf = Erlang C)
    "answer_within_s": 20.0,  # contact_center: service-level threshold, seconds
    "abandon_max": 0.05,  # contact_center: abandonment ceiling (probability)
}

PRIORITY_CLASSES = ("vital", "standard")


def kind(name: str) -> Kind:
    """Look a kind up by name, with an error listing the known kinds."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown kind {name!r}; known kinds: {', '.join(KINDS)}") from None
