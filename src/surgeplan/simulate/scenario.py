"""Simulation scenarios: every assumption of the simulator in one readable TOML file.

The bundled ``surgeplan/data/scenarios/default.toml`` holds the defaults, each with its source.
A user file only needs the values it changes: :func:`load_scenario` reads the default, then merges the
user's tables on top (key by key), then validates the result into a typed, frozen :class:`Scenario`
(the checks: :mod:`surgeplan.simulate.scenario_check`).

Layout of a scenario file::

    [scenario]            name, description, reference_date, substep_minutes, noise_reference_minutes,
                          public_holidays
    [shock]               indicator, indicator_max, threshold, saturation, lag_days, ramp_days, decay_days
    [profiles.<family>]   weekday (24 values), weekend (24 values), day_factor (7 values, Mon..Sun), flatten
    [kinds.<kind>]        profile, uplift, utilisation_mean, utilisation_sd, growth_per_year, noise_cv,
                          noise_power, day_sd, arrivals, holding_time_s (+ optional lag_days, ramp_days,
                          decay_days overriding [shock])
    [groups.<group>]      per inventory ``group`` overrides of any numeric [kinds] key (e.g. uplift)
    [timezones]           region (alpha-3) -> IANA zone, overriding the built-in map
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Union

import pandas as pd

from surgeplan.errors import SurgeplanError

PathLike = Union[str, "os.PathLike[str]"]

#: How a kind's per-interval randomness is generated (see :mod:`surgeplan.simulate.engine`).
ARRIVAL_MODELS = ("none", "erlang", "calls")


@dataclass(frozen=True)
class ShockParams:
    """How a region's indicator drives the shock response (see :mod:`surgeplan.simulate.shock`).

    Attributes
    ----------
    indicator : str
        Indicator name in the long indicators table (``stringency_index``).
    indicator_max : float
        Value of the indicator meaning "maximum" (100 for the stringency index, 3 for C6 levels).
    threshold, saturation : float
        Indicator values (same unit as the indicator) where the response starts and where it is full.
    lag_days : float
        Delay between the indicator and the traffic response, days.
    ramp_days, decay_days : float
        Time constants (days) of the first-order response while restrictions tighten / loosen.
    fade_days : float, default 0
        Habituation: the response is multiplied by ``persistent + (1 - persistent) exp(-D / fade_days)``
        with ``D`` the cumulative response (days at full response) since the indicators start, so a
        second lockdown moves traffic less than the first. 0 = no habituation.
    persistent : float, default 1
        Share of the response that never fades (0..1).
    """

    indicator: str
    indicator_max: float
    threshold: float
    saturation: float
    lag_days: float
    ramp_days: float
    decay_days: float
    fade_days: float = 0.0
    persistent: float = 1.0


@dataclass(frozen=True)
class ProfileParams:
    """Diurnal and weekly shape of one traffic family, in the region's local time.

    Attributes
    ----------
    weekday, weekend : tuple of 24 float
        Relative load in the middle of each local hour 0..23 on a working day / a weekend day (the
        weekend values are relative to the same scale as the weekday ones).
    day_factor : tuple of 7 float
        Multiplier per day of the region's working week: 5 working days (Monday first in most
        countries, Sunday where the weekend is Friday-Saturday) then 2 weekend days (e.g. the
        contact-centre Monday peak).
    flatten : float
        0..1: how far, at full shock response, every day's shape moves to the weekend shape rescaled
        to the weekday peak (weekday profiles become flatter and weekend-like in lockdown).
    """

    weekday: tuple[float, ...]
    weekend: tuple[float, ...]
    day_factor: tuple[float, ...]
    flatten: float


@dataclass(frozen=True)
class KindParams:
    """Simulation parameters of one resource kind (all overridable per inventory group).

    Attributes
    ----------
    profile : str
        Name of the traffic family in ``profiles``.
    uplift : float
        Busy-hour multiplier at full, sustained shock response (2.0 = load doubles).
    utilisation_mean, utilisation_sd : float
        Beta distribution of the busy-hour utilisation at ``reference_date``, drawn per resource:
        trunk groups offered Erlangs per circuit, links Gbps per Gbps, VPN sessions per licence,
        bridges busy ports per port, contact centres agent occupancy (calls/h x aht / 3600 / agents).
    growth_per_year : float
        Organic growth rate of the load, per year (0.25 = +25 %/year), compounded from ``reference_date``.
    noise_cv : float
        Coefficient of variation of the interval noise at the busy-hour base load, for
        ``noise_reference_minutes`` intervals.
    noise_power : float
        p in Var = (noise_cv B)^2 (mu / B)^p (tau / dt): 1 = Poisson-like, 2 = multiplicative.
    day_sd : float
        Standard deviation of the log of the day-to-day level factor (whole local day).
    arrivals : str
        ``none`` (Gaussian noise only), ``erlang`` (Poisson call arrivals on a loss system, load in
        Erlangs) or ``calls`` (Poisson call counts, load in calls per hour).
    holding_time_s : float
        Mean holding time of a call, seconds (``erlang`` arrivals only).
    indicator : str or None
        Per-kind driver overriding ``[shock] indicator`` (e.g. ``workplace_closing`` for VPN);
        give ``indicator_max``, ``threshold`` and ``saturation`` in its units with it.
    indicator_max, threshold, saturation, lag_days, ramp_days, decay_days, fade_days, persistent : float
        Per-kind overrides of the ``[shock]`` values, each float or None (None = use ``[shock]``).
    """

    profile: str
    uplift: float
    utilisation_mean: float
    utilisation_sd: float
    growth_per_year: float
    noise_cv: float
    noise_power: float
    day_sd: float
    arrivals: str
    holding_time_s: float
    indicator: str | None = None
    indicator_max: float | None = None
    threshold: float | None = None
    saturation: float | None = None
    lag_days: float | None = None
    ramp_days: float | None = None
    decay_days: float | None = None
    fade_days: float | None = None
    persistent: float | None = None


#: KindParams fields that override the same-named ShockParams field when set.
_SHOCK_OVERRIDES = (
    "indicator",
    "indicator_max",
    "threshold",
    "saturation",
    "lag_days",
    "ramp_days",
    "decay_days",
    "fade_days",
    "persistent",
)


@dataclass(frozen=True)
class Scenario:
    """A complete, validated simulation scenario.

    Attributes
    ----------
    name, description : str
        Labels.
    reference_date : pandas.Timestamp
        UTC date at which base loads equal utilisation x capacity (growth is compounded from it).
    substep_minutes : float
        Internal integration step: interval means are averages of the rate at sub-steps no longer than
        this (the interval's own length when shorter).
    noise_reference_minutes : float
        Interval length at which ``noise_cv`` applies; shorter intervals are noisier (white noise).
    public_holidays : bool
        Whether a region's public holidays (``holidays`` package) take the profile of its last
        weekend day (a Sunday in most countries).
    shock : ShockParams
    profiles : dict of str to ProfileParams
    kinds : dict of str to KindParams
        One entry per kind of :data:`surgeplan.kinds.KINDS`.
    groups : dict of str to dict
        Per inventory-group overrides of :class:`KindParams` numeric fields.
    timezones : dict of str to str
        Region -> IANA zone overrides of :data:`surgeplan.simulate.profiles.REGION_TIMEZONES`.
    source : str
        Where the scenario came from (file names, the default first).
    """

    name: str
    description: str
    reference_date: pd.Timestamp
    substep_minutes: float
    noise_reference_minutes: float
    public_holidays: bool
    shock: ShockParams
    profiles: dict[str, ProfileParams]
    kinds: dict[str, KindParams]
    groups: dict[str, dict[str, float]] = field(default_factory=dict)
    timezones: dict[str, str] = field(default_factory=dict)
    source: str = "<default>"

    def kind_params(self, kind: str, group: str | None = None) -> KindParams:
        """Parameters of ``kind``, with the ``[groups.<group>]`` overrides applied when present."""
        base = self.kinds[kind]
        over = self.groups.get(group or "", {})
        if not over:
            return base
        values = {f.name: getattr(base, f.name) for f in fields(KindParams)}
        values.update(over)
        return KindParams(**values)

    def shock_for(self, params: KindParams) -> ShockParams:
        """The ``[shock]`` values with the kind's (or group's) overrides applied.

        Raises
        ------
        SurgeplanError
            When the result has ``saturation <= threshold``.
        """
        values = {f.name: getattr(self.shock, f.name) for f in fields(ShockParams)}
        for name in _SHOCK_OVERRIDES:
            v = getattr(params, name)
            if v is not None:
                values[name] = v
        if not values["saturation"] > values["threshold"]:
            raise SurgeplanError(
                f"scenario {self.source}: saturation ({values['saturation']}) must exceed threshold "
                f"({values['threshold']}) for indicator {values['indicator']!r}"
            )
        return ShockParams(**values)


# --------------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------------
def default_scenario_path() -> Path:
    """Path of the bundled default scenario (``surgeplan/data/scenarios/default.toml``)."""
    return Path(str(resources.files("surgeplan") / "data" / "scenarios" / "default.toml"))


def _read_toml(path: PathLike) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise SurgeplanError(f"scenario file {str(p)!r} not found")
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SurgeplanError(f"scenario file {str(p)!r}: invalid TOML: {exc}") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_scenario(path: PathLike | None = None, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read a simulation scenario: the bundled default, then ``path`` merged on top, then ``overrides``.

    Parameters
    ----------
    path : str or path-like, optional
        A TOML file with only the values to change (any table of the default). None = the default.
    overrides : dict, optional
        Same structure as the TOML, merged last (handy in tests and notebooks).

    Returns
    -------
    Scenario
        Validated, frozen.

    Raises
    ------
    SurgeplanError
        Unknown table or key, wrong type or out-of-range value, naming the file and the key path.
    """
    default = default_scenario_path()
    raw = _read_toml(default)
    source = str(default)
    if path is not None:
        raw = _merge(raw, _read_toml(path))
        source = f"{source} + {path}"
    if overrides:
        raw = _merge(raw, overrides)
        source = f"{source} + <overrides>"
    return _checked(raw, source=str(path) if path is not None else source, full_source=source)


def scenario_from_dict(raw: dict[str, Any], source: str = "<dict>") -> Scenario:
    """Validate a complete scenario given as a dict (the structure of the TOML file)."""
    return _checked(raw, source=source, full_source=source)


def _checked(raw: dict[str, Any], *, source: str, full_source: str) -> Scenario:
    # imported here: the checks build the classes this module defines
    from surgeplan.simulate.scenario_check import build_scenario

    return build_scenario(raw, source=source, full_source=full_source)
