"""Dimensioning: the capacity each resource needs for its grade of service, per period.

One sizing rule per resource kind, each vectorized over all resources and periods of that kind:

========================  ===========================================================  ================
kind                      rule                                                          capacity unit
========================  ===========================================================  ================
``trunk_group``           Erlang B; extended Erlang B when ``retry_probability > 0``   circuits
                          (retrial queue when ``redial_delay_s`` is given too)
``link``                  utilisation ceiling, kept after the largest group member     Gbps
                          fails (N+1)
``vpn_gateway``           peak concurrent sessions under ``gos_target`` x capacity     sessions
``conference_bridge``     Erlang B on ports                                            ports
``contact_center``        Erlang A: service level and abandonment ceiling (callback     agents
                          offer when ``callback_share > 0``)
``contact_number``        Erlang B over IVR time + queue wait + talk time               channels
``ivr``                   Erlang B on voice-guide ports                                 ports
``chatbot``               concurrent sessions under ``gos_target`` x capacity           sessions
``chat_queue``            concurrent chat (agents holding up to ``concurrency`` chats)  agents
``message_queue``         fluid backlog: share handled within ``service_window_s``      agents
``generic``               not dimensioned                                              -
========================  ===========================================================  ================

Rules are looked up in :data:`~surgeplan.dimension.rules.SIZING_RULES` (one adaptor per kind).
Customer-relation stages are linked by the inventory's ``feeds`` (:mod:`~surgeplan.dimension.flow`):
the entry's load is pushed to every stage; :func:`~surgeplan.dimension.levers.lever_table` reports
what each deflection lever saves, :mod:`~surgeplan.dimension.pooling` the pooling gain of centres.

Entry point: :func:`dimension` (``inventory, busy_hour, quantile -> long table``).
"""

from surgeplan.dimension.conference_bridge import size_conference_bridge
from surgeplan.dimension.contact_center import size_contact_center
from surgeplan.dimension.core import (
    DIMENSION_COLUMNS,
    dimension,
    gos_targets,
    prepare_inventory,
    quantile_column,
)
from surgeplan.dimension.flow import LEVERS, apply_levers, push_loads, push_table, read_levers
from surgeplan.dimension.levers import chains, lever_table
from surgeplan.dimension.link import link_group_stats, size_link
from surgeplan.dimension.rules import SIZING_RULES
from surgeplan.dimension.trunk_group import size_trunk_group, trunk_group_carriable
from surgeplan.dimension.vpn_gateway import size_vpn_gateway

__all__ = [
    "DIMENSION_COLUMNS",
    "LEVERS",
    "SIZING_RULES",
    "apply_levers",
    "chains",
    "dimension",
    "gos_targets",
    "lever_table",
    "link_group_stats",
    "prepare_inventory",
    "push_loads",
    "push_table",
    "quantile_column",
    "read_levers",
    "size_conference_bridge",
    "size_contact_center",
    "size_link",
    "size_trunk_group",
    "size_vpn_gateway",
    "trunk_group_carriable",
]
