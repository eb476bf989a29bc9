"""Continuity: what if a link, a site or a service centre is lost?

``whatif(inventory, load, routes, scenarios, mode)`` takes failure scenarios
(:mod:`~surgeplan.continuity.scenarios`), moves the lost load to surviving members of the same
group and along declared overflow routes with a linear program (HiGHS, one block per connected
component and scenario; :mod:`~surgeplan.continuity.redistribute`), re-checks every resource's
grade of service with the sizing rules of :mod:`surgeplan.dimension`
(:mod:`~surgeplan.continuity.gos`) and finds the worst cases. ``survive_capacity`` adds the
capacity a plan needs so the GoS still holds after every scenario of a set
(:mod:`~surgeplan.continuity.survive`).
"""

from surgeplan.continuity.network import KIND_LIMITS, Network, build_network, contact_center_carriable
from surgeplan.continuity.redistribute import Redistribution, redistribute
from surgeplan.continuity.scenarios import (
    SWEEPS,
    Scenario,
    pairs,
    parse_spec,
    resolve_scenarios,
    scenario,
    sweep,
)
from surgeplan.continuity.survive import SurvivePlan, survive_capacity
from surgeplan.continuity.whatif import (
    FLOW_COLUMNS,
    WHATIF_COLUMNS,
    WORST_COLUMNS,
    WhatIfResult,
    peak_load,
    whatif,
)

__all__ = [
    "FLOW_COLUMNS",
    "KIND_LIMITS",
    "SWEEPS",
    "WHATIF_COLUMNS",
    "WORST_COLUMNS",
    "Network",
    "Redistribution",
    "Scenario",
    "SurvivePlan",
    "WhatIfResult",
    "build_network",
    "contact_center_carriable",
    "pairs",
    "parse_spec",
    "peak_load",
    "redistribute",
    "resolve_scenarios",
    "scenario",
    "survive_capacity",
    "sweep",
    "whatif",
]
