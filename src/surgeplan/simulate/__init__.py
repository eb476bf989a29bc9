"""Synthetic but realistic load for any inventory under an indicator-driven shock.

There is no public per-operator traffic from 2020, so demos and tests use this simulator; every
assumption it makes is in a readable scenario file (``surgeplan/data/scenarios/default.toml``).

* :func:`simulate` - long table ``resource_id, ts, load`` for an inventory, indicators and a scenario;
* :func:`load_scenario` - the default scenario with a user TOML merged on top (:class:`Scenario`);
* :func:`bundled_inventory` - the bundled FICTIONAL multi-country operator;
* building blocks: :func:`weekly_profile`, :func:`hourly_curve`, :func:`activation`,
  :func:`response`, :func:`multiplier`, :data:`REGION_TIMEZONES`.
"""

from surgeplan.simulate.engine import erlang_noise_factor, simulate, time_grid
from surgeplan.simulate.operator import bundled_inventory, bundled_inventory_path
from surgeplan.simulate.profiles import (
    REGION_TIMEZONES,
    REGION_WEEK_START,
    holiday_days,
    hourly_curve,
    local_clock,
    profile_day,
    region_timezone,
    weekly_profile,
)
from surgeplan.simulate.scenario import (
    KindParams,
    ProfileParams,
    Scenario,
    ShockParams,
    default_scenario_path,
    load_scenario,
)
from surgeplan.simulate.shock import activation, habituation, multiplier, region_response, response

__all__ = [
    "simulate",
    "time_grid",
    "erlang_noise_factor",
    "bundled_inventory",
    "bundled_inventory_path",
    "load_scenario",
    "default_scenario_path",
    "Scenario",
    "KindParams",
    "ProfileParams",
    "ShockParams",
    "REGION_TIMEZONES",
    "REGION_WEEK_START",
    "profile_day",
    "holiday_days",
    "region_timezone",
    "local_clock",
    "hourly_curve",
    "weekly_profile",
    "activation",
    "habituation",
    "response",
    "multiplier",
    "region_response",
]
