"""Future indicators when the user gives none: held, projected after a crossing, or anticipated.

* :func:`held_future`: the last observed indicators are held, except in regions that crossed their
  lockdown threshold recently (they follow the restriction path of the regions that crossed
  before them, :func:`surgeplan.forecast.projection.project_after_crossing`), and the regime risk
  of calm regions (:func:`regime_risk`: the chance that restrictions start within the lead).
* :func:`anticipate`: calm regions lock down on the day their case incidence is projected to
  reach the level at which earlier regions did (``indicators_future='anticipate'``).
* :func:`given_future`: the scenario a forecast is given, or the anticipated one, as the same
  :class:`HeldFuture` (without regime risk); :meth:`HeldFuture.report` names each region's source.

Both depend only on the indicators and the origin's day: the facade computes the held future
when either changes (fit, update), so a minute-by-minute loop does not recompute it.

When the case-based projection cannot be made (no case indicators, no region crossed yet), the
fallback is recorded with its reason (:class:`IndicatorSource`), never silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.forecast import projection as _pj
from surgeplan.forecast import shock as _sh
from surgeplan.forecast.driver import ORDINAL_LEVELS, Candidate
from surgeplan.forecast.intensity import scenario_tables
from surgeplan.forecast.state import DriverSpec
from surgeplan.signals import anticipate_crossing, threshold_from_earlier_regions
from surgeplan.signals.generic import to_day

__all__ = [
    "HeldFuture",
    "IndicatorSource",
    "Regime",
    "anticipate",
    "epidemic_indicators",
    "given_future",
    "held_future",
    "regime_risk",
]

#: restriction intensity from which a region counts as under restrictions
RESTRICTED = 0.5
#: z of the 90% quantile: signals' earliest / latest dates are a 90% range, read as a split normal
_Z90 = 1.6448536269514722
#: onset law of a region whose threshold is crossed but restrictions not yet: any day now (median
#: 0 days, sd 1 day before, a week after)
_CROSSED_LAW = (0.0, 1.0, 7.0)


class IndicatorSource(str):
    """A region's indicator source (``'held_last'``, ``'projected'``...) that compares equal to
    its name; ``reason`` says why a fallback was taken (empty when none was)."""

    def __new__(cls, value: str, reason: str = "") -> Self:
        obj = super().__new__(cls, value)
        obj.reason = reason
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (IndicatorSource, (str(self), self.reason))


@dataclass(slots=True, frozen=True)
class Regime:
    """Calm regions and the law of their restriction onset day, relative to the origin ``asof``.

    ``law[region] = (median, sd_low, sd_high)`` days (split normal); ``hazard``: empirical daily
    rate of restriction onsets among calm region-days (used where no law is known); ``scen``: a
    scenario with every calm region locked down from the origin.
    """

    asof: pd.Timestamp
    calm: frozenset[str]
    law: dict[str, tuple[float, float, float]]
    hazard: float
    scen: pd.DataFrame


@dataclass(slots=True, frozen=True)
class HeldFuture:
    """Future indicators of a forecast, for one origin day and one indicators table: held or
    projected when none are given (:func:`held_future`), else the scenario (:func:`given_future`).
    ``projected``: region -> source other than ``'scenario'``; ``notes``: fallbacks and why."""

    asof: pd.Timestamp
    regime: Regime | None
    scen: pd.DataFrame
    projected: dict[str, str]
    notes: dict[str, str] = field(default_factory=dict)  # region -> fallback taken and why
    # daily driver of ``scen`` and of the regime scenario per mapping in use (pivoted once, not
    # at every forecast of a minute-by-minute loop)
    scen_tables: dict[int, pd.DataFrame] = field(default_factory=dict)
    regime_tables: dict[int, pd.DataFrame] | None = None

    def report(self, sources: dict[str, str]) -> dict[str, str]:
        """The groups' sources per region (``'scenario'``, ``'observed'``...) named by how this
        future was made (``'projected'``, ``'anticipated'``...) and why a fallback was taken."""
        out = dict(sources)
        for region, value in self.projected.items():
            if out.get(region) == "scenario":
                out[region] = value
        for region, reason in self.notes.items():
            if region in out:
                out[region] = IndicatorSource(out[region], reason)
        return out


def given_future(
    given: pd.DataFrame | Mapping[str, Mapping[str, Any]] | str,
    indicators: pd.DataFrame,
    drv: pd.DataFrame,
    asof: pd.Timestamp,
    *,
    specs: Sequence[DriverSpec],
    used: set[int],
) -> HeldFuture:
    """The future of a forecast given a scenario (a long table ``region, date, name, value`` or
    ``{region: {"lockdown_start": ...}}``) or ``'anticipate'`` (:func:`anticipate`; ``drv``: the
    daily driver under the default mapping), with its driver tables under the mappings ``used``."""
    how, notes = {}, {}
    if isinstance(given, str):
        if given != "anticipate":
            raise SurgeplanError(f"indicators_future: unknown projection {given!r} (use 'anticipate')")
        given, how, notes = anticipate(indicators, drv, asof)
    scen = _sh.scenario_indicators(given)
    if isinstance(given, Mapping) and given:
        starts = {
            str(r): (
                to_day(v["lockdown_start"], f"{r}.lockdown_start"),
                to_day(v.get("lockdown_end"), f"{r}.lockdown_end"),
            )
            for r, v in given.items()
        }
        scen = with_policy_paths(scen, indicators, asof, starts, policy_indicators(indicators, specs, used))
    return HeldFuture(asof, None, scen, how, notes, scenario_tables(scen, specs, used, indicators))


def with_policy_paths(
    scen: pd.DataFrame, indicators: pd.DataFrame, asof: pd.Timestamp, starts: Mapping, policy: Sequence[str]
) -> pd.DataFrame:
    """A lockdown scenario (``scen``: its stringency and stay-at-home rows) with the other policy
    indicators the learned rules read along the regions that locked down before
    (:func:`surgeplan.forecast.projection.restricted_paths`; ``starts[region] = (start, end)``)."""
    others = [n for n in policy if n not in set(scen["name"])]
    paths = _pj.restricted_paths(indicators, asof, starts, others) if others else None
    if paths is None or paths.empty:
        return scen
    return _sh.scenario_indicators(pd.concat([scen, paths], ignore_index=True))


def held_future(
    indicators: pd.DataFrame,
    drv: pd.DataFrame,
    asof: pd.Timestamp,
    *,
    regime_change: bool,
    project_restrictions: bool,
    window_days: int,
    specs: Sequence[DriverSpec],
    used: set[int],
) -> HeldFuture:
    """Regime risk of calm regions and projected paths of regions that crossed (``drv``: daily
    driver under the default mapping), with their driver tables under the mappings ``used``."""
    regime, notes = (
        regime_risk(indicators, drv, asof, policy_indicators(indicators, specs, used))
        if regime_change
        else (None, {})
    )
    scen, projected = _sh.scenario_indicators(None), {}
    if project_restrictions and not indicators.empty:
        table, projected = _pj.project_after_crossing(indicators, asof, window_days=window_days)
        trend, rising = _pj.project_trend(indicators, asof, epidemic_indicators(indicators, specs, used))
        projected = {**rising, **projected}
        if projected:
            rows = pd.concat([t for t in (table, trend) if len(t)], ignore_index=True)
            scen = _sh.scenario_indicators(rows)
    return HeldFuture(
        asof,
        regime,
        scen,
        projected,
        notes,
        scenario_tables(scen, specs, used, known=indicators),
        None if regime is None else scenario_tables(regime.scen, specs, used, known=indicators),
    )


def policy_indicators(indicators: pd.DataFrame, specs: Sequence[DriverSpec], used: set[int]) -> list[str]:
    """Indicators (and flags) the learned rules in use read that are policy levels: at most
    :data:`surgeplan.forecast.driver.ORDINAL_LEVELS` distinct values (OxCGRT C-levels, flags)."""
    rules = [s for i, s in enumerate(specs) if i in used and isinstance(s, Candidate)]
    names = {n for s in rules for n in (s.indicator, s.flag) if n}
    levels = indicators[indicators["name"].isin(names)].groupby("name")["value"].nunique()
    return sorted(n for n in names if 0 < levels.get(n, 0) <= ORDINAL_LEVELS)


def epidemic_indicators(
    indicators: pd.DataFrame, specs: Sequence[DriverSpec], used: set[int]
) -> dict[str, float]:
    """Indicators of the learned rules in use that are epidemic measures, not restrictions, with the
    highest level at which a rule on them still changes (its threshold, a level's top).

    Epidemic: not projected as policy paths (:data:`projection.RESTRICTION_INDICATORS`) and with
    more distinct values than an ordinal policy level (:data:`surgeplan.forecast.driver.
    ORDINAL_LEVELS`). Their rising trend is projected (:func:`projection.project_trend`) below that
    level; restrictions are announced, and above it the rules read the same either way."""
    rules = [s for i, s in enumerate(specs) if i in used and isinstance(s, Candidate)]
    rules = [s for s in rules if s.indicator not in _pj.RESTRICTION_INDICATORS]
    if not rules:
        return {}
    names = {s.indicator for s in rules}
    levels = indicators[indicators["name"].isin(names)].groupby("name")["value"].nunique()
    out: dict[str, float] = {}
    for s in rules:
        if levels.get(s.indicator, 0) > ORDINAL_LEVELS:
            top = s.upper if s.form == "level" else s.threshold
            out[s.indicator] = max(out.get(s.indicator, -np.inf), float(top))
    return out


def _onset_laws(indicators: pd.DataFrame, asof: pd.Timestamp, calm: list[str]) -> tuple[dict, dict]:
    """Onset law per calm region from signals' projected case-threshold crossing, and notes."""
    try:
        thr = threshold_from_earlier_regions(indicators, asof=asof)
        est = anticipate_crossing(indicators, asof=asof, threshold=thr, regions=calm)
    except SurgeplanError as exc:
        return {}, {r: f"regime risk from the onset rate only: {exc}" for r in calm}
    law: dict[str, tuple[float, float, float]] = {}
    for _, row in est.iterrows():
        st = row.get("status")
        if st == "crossed":
            law[str(row["region"])] = _CROSSED_LAW
        elif st == "forecast" and pd.notna(row.get("median")):
            med = (pd.Timestamp(row["median"]) - asof).days
            e, lt = row.get("earliest"), row.get("latest")
            sl = (med - (pd.Timestamp(e) - asof).days) / _Z90 if pd.notna(e) else med / 2.0
            sh = ((pd.Timestamp(lt) - asof).days - med) / _Z90 if pd.notna(lt) else 3.0 * max(sl, 1.0)
            law[str(row["region"])] = (float(med), float(max(sl, 1.0)), float(max(sh, 1.0)))
    return law, {}


def onset_hazard(on: np.ndarray) -> float:
    """Daily rate of restriction onsets among calm region-days (``on``: (days, regions) bool).

    The larger of the rate over the whole table and over the current wave (the days since the
    last day no region was restricted). Onsets cluster: once one region restricts, others follow
    within weeks (OxCGRT: most of Europe within three weeks of Italy in March 2020). The rate over
    the months before the wave, which had no onsets, put the chance of a region restricting
    within six weeks at 0.3, to regions that all did within three (generators, links falling after
    stay-at-home: the p90 of their links held at the pre-shock level for the whole horizon).
    """

    def rate(o: np.ndarray) -> float:
        prev, now = o[:-1], o[1:]
        at_risk = float((~prev).sum())
        return float((now & ~prev).sum()) / at_risk if at_risk > 0 else 0.0

    quiet = np.flatnonzero(~on.any(axis=1))
    start = int(quiet[-1]) + 1 if len(quiet) else 0
    return max(rate(on), rate(on[start:]))


def regime_risk(
    indicators: pd.DataFrame, drv: pd.DataFrame, asof: pd.Timestamp, policy: Sequence[str] = ()
) -> tuple[Regime | None, dict]:
    """Calm regions and the law of their restriction onset day (``None`` without calm regions).

    Its scenario locks every calm region down from the origin: the stringency index and the
    stay-at-home level of :func:`surgeplan.forecast.shock.scenario_indicators`, and the other
    ``policy`` indicators (read by learned rules) along the median path of the regions that locked
    down before (:func:`surgeplan.forecast.projection.restricted_paths`)."""
    if indicators.empty or drv.empty:
        return None, {}
    last = drv.ffill().iloc[-1]
    calm = [str(r) for r in drv.columns if np.isfinite(last[r]) and last[r] < RESTRICTED]
    if not calm:
        return None, {}
    hazard = onset_hazard(drv.ffill().to_numpy(float) >= RESTRICTED)
    law, notes = _onset_laws(indicators, asof, calm)
    scen = _sh.scenario_indicators({r: {"lockdown_start": asof} for r in calm})
    scen = with_policy_paths(scen, indicators, asof, dict.fromkeys(calm, (asof, None)), policy)
    return Regime(asof, frozenset(calm), law, hazard, scen), notes


def anticipate(
    indicators: pd.DataFrame, drv: pd.DataFrame, asof: pd.Timestamp
) -> tuple[dict[str, dict[str, Any]], dict[str, str], dict[str, str]]:
    """Lockdown start per calm region from its projected case-threshold crossing.

    Returns the scenario ``{region: {"lockdown_start": day}}``, the sources (``'anticipated'``)
    and notes for calm regions left without a projection (their indicators are held).
    """
    if indicators.empty or drv.empty:
        return {}, {}, {}
    calm = [r for r in drv.columns if drv[r].dropna().iloc[-1] < RESTRICTED]
    if not calm:
        return {}, {}, {}
    try:
        thr = threshold_from_earlier_regions(indicators, asof=asof)
        est = anticipate_crossing(indicators, asof=asof, threshold=thr, regions=calm)
    except SurgeplanError as exc:
        return {}, {}, {str(r): f"not anticipated: {exc}" for r in calm}
    scen, how = {}, {}
    for _, row in est.iterrows():
        day = row.get("crossed_on") if row.get("status") == "crossed" else row.get("median")
        if row.get("status") in ("crossed", "forecast") and pd.notna(day):
            scen[str(row["region"])] = {"lockdown_start": pd.Timestamp(day)}
            how[str(row["region"])] = "anticipated"
    notes = {str(r): "not anticipated: no projected crossing" for r in calm if str(r) not in how}
    return scen, how, notes
