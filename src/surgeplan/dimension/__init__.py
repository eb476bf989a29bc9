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
``contact_center``        Erlang A: service level and abandonment ceiling              agents
``generic``               not dimensioned                                              -
========================  ===========================================================  ================

Entry point: :func:`dimension` (``inventory, busy_hour, quantile -> long table``).
"""

from surgeplan.dimension.conference_bridge import size_conference_bridge
from surgeplan.dimension.contact_center import size_contact_center
from surgeplan.dimension.core import DIMENSION_COLUMNS, dimension, gos_targets, prepare_inventory, quantile_column
from surgeplan.dimension.link import link_group_stats, size_link
from surgeplan.dimension.trunk_group import size_trunk_group, trunk_group_carriable
from surgeplan.dimension.vpn_gateway import size_vpn_gateway

__all__ = [
    "DIMENSION_COLUMNS",
    "dimension",
    "gos_targets",
    "link_group_stats",
    "prepare_inventory",
    "quantile_column",
    "size_conference_bridge",
    "size_contact_center",
    "size_link",
    "size_trunk_group",
    "size_vpn_gateway",
    "trunk_group_carriable",
]
