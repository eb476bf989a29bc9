"""Simulation scenarios: every assumption of the simulator in one readable TOML file.

The bundled ``surgeplan/data/scenarios/default.toml`` holds the defaults, each with its source.
A user file only needs the values it changes: :func:`load_scenario` reads the default, then merges the
user's tables on top (key by key), then validates the result into a typed, frozen :class:`Scenario`.

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
import math
import os
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.kinds import KINDS

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
    return _build(raw, source=str(path) if path is not None else source, full_source=source)


def scenario_from_dict(raw: dict[str, Any], source: str = "<dict>") -> Scenario:
    """Validate a complete scenario given as a dict (the structure of the TOML file)."""
    return _build(raw, source=source, full_source=source)


# --------------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------------
class _Checker:
    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, msg: str) -> SurgeplanError:
        return SurgeplanError(f"scenario {self.source}: {key}: {msg}")

    def table(self, raw: dict[str, Any], key: str) -> dict[str, Any]:
        value = raw.get(key.rsplit(".", 1)[-1], {})
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return value

    def unknown(self, table: dict[str, Any], allowed: set[str], key: str) -> None:
        extra = sorted(set(table) - allowed)
        if extra:
            raise self.fail(key, f"unknown key(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}")

    def number(
        self,
        table: dict[str, Any],
        name: str,
        key: str,
        *,
        lo: float = -math.inf,
        hi: float = math.inf,
        lo_open: bool = False,
        required: bool = True,
    ) -> float | None:
        if name not in table:
            if required:
                raise self.fail(f"{key}.{name}", "missing")
            return None
        v = table[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
            raise self.fail(f"{key}.{name}", f"must be a finite number, got {v!r}")
        v = float(v)
        if v < lo or v > hi or (lo_open and v == lo):
            rng = f"{'(' if lo_open else '['}{lo}, {hi}]"
            raise self.fail(f"{key}.{name}", f"{v} outside {rng}")
        return v

    def string(
        self, table: dict[str, Any], name: str, key: str, choices: tuple[str, ...] | None = None
    ) -> str:
        if name not in table:
            raise self.fail(f"{key}.{name}", "missing")
        v = table[name]
        if not isinstance(v, str):
            raise self.fail(f"{key}.{name}", f"must be a string, got {v!r}")
        if choices is not None and v not in choices:
            raise self.fail(f"{key}.{name}", f"{v!r} not one of {', '.join(choices)}")
        return v

    def vector(self, table: dict[str, Any], name: str, key: str, n: int) -> tuple[float, ...]:
        v = table.get(name)
        if not isinstance(v, list) or len(v) != n:
            raise self.fail(f"{key}.{name}", f"must be a list of {n} numbers")
        out = []
        for x in v:
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(float(x)) or x < 0:
                raise self.fail(f"{key}.{name}", f"values must be finite and >= 0, got {x!r}")
            out.append(float(x))
        return tuple(out)


_KIND_NUMERIC = {
    # name: (lo, hi, lo_open)
    "uplift": (0.0, math.inf, True),
    "utilisation_mean": (0.0, 1.0, True),
    "utilisation_sd": (0.0, 0.5, False),
    "growth_per_year": (-0.99, 10.0, False),
    "noise_cv": (0.0, 10.0, False),
    "noise_power": (0.0, 2.0, False),
    "day_sd": (0.0, 2.0, False),
    "holding_time_s": (0.0, math.inf, True),
    "lag_days": (0.0, 365.0, False),
    "ramp_days": (0.0, 365.0, False),
    "decay_days": (0.0, 3650.0, False),
    "indicator_max": (0.0, math.inf, True),
    "threshold": (-math.inf, math.inf, False),
    "saturation": (-math.inf, math.inf, False),
    "fade_days": (0.0, 36500.0, False),
    "persistent": (0.0, 1.0, False),
}
_KIND_OPTIONAL = {
    "lag_days",
    "ramp_days",
    "decay_days",
    "indicator_max",
    "threshold",
    "saturation",
    "fade_days",
    "persistent",
}


def _build(raw: dict[str, Any], *, source: str, full_source: str) -> Scenario:
    """The checked :class:`Scenario` of a parsed TOML document; the first bad key raises, in file order
    of the tables."""
    c = _Checker(source)
    c.unknown(raw, {"scenario", "shock", "profiles", "kinds", "groups", "timezones"}, "<top>")
    head, ref, holidays_flag = _scenario_head(c, raw)
    shock = _shock(c, raw)
    profiles = _profiles(c, raw)
    kinds = _kinds(c, raw, profiles)
    groups = _groups(c, raw)
    timezones = _timezones(c, raw)
    scenario = Scenario(
        name=str(head.get("name", "unnamed")),
        description=str(head.get("description", "")),
        reference_date=ref,
        substep_minutes=c.number(head, "substep_minutes", "scenario", lo=1.0, hi=1440.0)
        if "substep_minutes" in head
        else 15.0,
        noise_reference_minutes=(
            c.number(head, "noise_reference_minutes", "scenario", lo=1.0, hi=10080.0)
            if "noise_reference_minutes" in head
            else 60.0
        ),
        public_holidays=holidays_flag,
        shock=shock,
        profiles=profiles,
        kinds=kinds,
        groups=groups,
        timezones=timezones,
        source=full_source,
    )
    for kname in KINDS:  # every kind / group combination must give a valid shock definition
        for gname in [None, *groups]:
            scenario.shock_for(scenario.kind_params(kname, gname))
    return scenario


def _scenario_head(c: _Checker, raw: dict[str, Any]) -> tuple[dict[str, Any], pd.Timestamp, bool]:
    """The ``[scenario]`` table, its reference date (UTC) and whether public holidays count."""
    head = c.table(raw, "scenario")
    c.unknown(
        head,
        {
            "name",
            "description",
            "reference_date",
            "substep_minutes",
            "noise_reference_minutes",
            "public_holidays",
        },
        "scenario",
    )
    holidays_flag = head.get("public_holidays", True)
    if not isinstance(holidays_flag, bool):
        raise c.fail("scenario.public_holidays", f"must be true or false, got {holidays_flag!r}")
    try:
        ref = pd.Timestamp(head.get("reference_date", "2020-01-01"))
    except (ValueError, TypeError):
        raise c.fail("scenario.reference_date", f"not a date: {head.get('reference_date')!r}") from None
    ref = ref.tz_localize("UTC") if ref.tzinfo is None else ref.tz_convert("UTC")
    return head, ref, holidays_flag


def _shock(c: _Checker, raw: dict[str, Any]) -> ShockParams:
    """The ``[shock]`` table (days, indicator units)."""
    sh = c.table(raw, "shock")
    c.unknown(sh, {f.name for f in fields(ShockParams)}, "shock")
    shock = ShockParams(
        indicator=c.string(sh, "indicator", "shock"),
        indicator_max=c.number(sh, "indicator_max", "shock", lo=0.0, lo_open=True),
        threshold=c.number(sh, "threshold", "shock"),
        saturation=c.number(sh, "saturation", "shock"),
        lag_days=c.number(sh, "lag_days", "shock", lo=0.0, hi=365.0),
        ramp_days=c.number(sh, "ramp_days", "shock", lo=0.0, hi=365.0),
        decay_days=c.number(sh, "decay_days", "shock", lo=0.0, hi=3650.0),
        fade_days=c.number(sh, "fade_days", "shock", lo=0.0, hi=36500.0) if "fade_days" in sh else 0.0,
        persistent=c.number(sh, "persistent", "shock", lo=0.0, hi=1.0) if "persistent" in sh else 1.0,
    )
    if not shock.saturation > shock.threshold:
        raise c.fail("shock.saturation", f"must exceed shock.threshold ({shock.threshold})")
    return shock


def _profiles(c: _Checker, raw: dict[str, Any]) -> dict[str, ProfileParams]:
    """The ``[profiles.FAMILY]`` tables: 24 hourly values for weekdays and weekends, 7 day factors."""
    profiles: dict[str, ProfileParams] = {}
    for fam, tab in c.table(raw, "profiles").items():
        key = f"profiles.{fam}"
        if not isinstance(tab, dict):
            raise c.fail(key, "must be a table")
        c.unknown(tab, {"weekday", "weekend", "day_factor", "flatten"}, key)
        p = ProfileParams(
            weekday=c.vector(tab, "weekday", key, 24),
            weekend=c.vector(tab, "weekend", key, 24),
            day_factor=c.vector(tab, "day_factor", key, 7),
            flatten=c.number(tab, "flatten", key, lo=0.0, hi=1.0),
        )
        if max(p.weekday) <= 0 or max(p.weekend) <= 0:
            raise c.fail(key, "weekday and weekend need at least one positive value")
        if max(p.day_factor) <= 0:
            raise c.fail(f"{key}.day_factor", "needs at least one positive value")
        profiles[fam] = p
    return profiles


def _kinds(c: _Checker, raw: dict[str, Any], profiles: dict[str, ProfileParams]) -> dict[str, KindParams]:
    """The ``[kinds.KIND]`` tables, one for every kind."""
    kinds: dict[str, KindParams] = {}
    ktab = c.table(raw, "kinds")
    unknown_kinds = sorted(set(ktab) - set(KINDS))
    if unknown_kinds:
        raise c.fail("kinds", f"unknown kind(s) {', '.join(unknown_kinds)}; known: {', '.join(KINDS)}")
    allowed = {f.name for f in fields(KindParams)}
    for kname in KINDS:
        key = f"kinds.{kname}"
        if kname not in ktab:
            raise c.fail(key, "missing (every kind needs parameters)")
        tab = ktab[kname]
        if not isinstance(tab, dict):
            raise c.fail(key, "must be a table")
        c.unknown(tab, allowed, key)
        values: dict[str, Any] = {
            "profile": c.string(tab, "profile", key, tuple(profiles)),
            "arrivals": c.string(tab, "arrivals", key, ARRIVAL_MODELS),
            "indicator": c.string(tab, "indicator", key) if "indicator" in tab else None,
        }
        for name, (lo, hi, lo_open) in _KIND_NUMERIC.items():
            values[name] = c.number(
                tab, name, key, lo=lo, hi=hi, lo_open=lo_open, required=name not in _KIND_OPTIONAL
            )
        _check_beta(c, key, values["utilisation_mean"], values["utilisation_sd"])
        kinds[kname] = KindParams(**values)
    return kinds


def _groups(c: _Checker, raw: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The ``[groups.NAME]`` tables: kind parameters overridden for the resources of a group."""
    groups: dict[str, dict[str, float]] = {}
    for gname, tab in c.table(raw, "groups").items():
        key = f"groups.{gname}"
        if not isinstance(tab, dict):
            raise c.fail(key, "must be a table")
        c.unknown(tab, set(_KIND_NUMERIC), key)
        groups[gname] = {
            name: c.number(
                tab,
                name,
                key,
                lo=_KIND_NUMERIC[name][0],
                hi=_KIND_NUMERIC[name][1],
                lo_open=_KIND_NUMERIC[name][2],
            )
            for name in tab
        }
    return groups


def _timezones(c: _Checker, raw: dict[str, Any]) -> dict[str, str]:
    """The ``[timezones]`` table: region -> IANA zone name."""
    timezones: dict[str, str] = {}
    for region, zone in c.table(raw, "timezones").items():
        if not isinstance(zone, str):
            raise c.fail(f"timezones.{region}", "must be an IANA zone name")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise c.fail(f"timezones.{region}", f"unknown IANA zone {zone!r}") from None
        timezones[str(region)] = zone
    return timezones


def _check_beta(c: _Checker, key: str, mean: float, sd: float) -> None:
    if sd > 0 and sd * sd >= mean * (1.0 - mean):
        raise c.fail(
            f"{key}.utilisation_sd", f"{sd} too large for mean {mean} (needs sd^2 < mean (1 - mean))"
        )
