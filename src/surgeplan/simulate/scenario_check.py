"""The checks of a simulation scenario: a parsed TOML document (default and user tables merged) into a
typed, frozen :class:`~surgeplan.simulate.scenario.Scenario`, naming the file and the key path of the
first bad value."""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.kinds import KINDS
from surgeplan.simulate.scenario import ARRIVAL_MODELS, KindParams, ProfileParams, Scenario, ShockParams


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


def build_scenario(raw: dict[str, Any], *, source: str, full_source: str) -> Scenario:
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
