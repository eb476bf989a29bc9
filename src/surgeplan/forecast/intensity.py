"""Restriction intensity ``u`` per resource and day, under each resource's driver mapping.

The observed indicators are pivoted into one daily driver table per mapping
(:class:`DriverTables`, rebuilt whenever the indicators change); a scenario's tables are built
once per forecast (:func:`scenario_tables`). :func:`intensity` then reads, for each resource, its
region's column lagged and filtered by its shape (:func:`surgeplan.forecast.shock.driver_matrix`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from surgeplan.forecast import shock as _sh
from surgeplan.forecast.driver import Candidate, rule_table
from surgeplan.forecast.state import DriverSpec, Group

__all__ = ["DriverTables", "intensity", "scenario_tables"]

EMPTY_SCENARIO = _sh.scenario_indicators(None)


def _table(indicators: pd.DataFrame, spec: DriverSpec, known: pd.DataFrame | None = None) -> pd.DataFrame:
    if isinstance(spec, Candidate):  # a learned rule (:mod:`surgeplan.forecast.driver`)
        return rule_table(indicators, spec, known=known)
    rng, c6 = spec
    drv = _sh.daily_driver(indicators, rng, c6)
    return drv if not drv.empty else pd.DataFrame(index=pd.DatetimeIndex([], name="date"))


def _mapping_args(spec: DriverSpec) -> tuple[tuple[float, float], bool]:
    """(stringency range, stay-at-home counts) for :func:`shock.driver_matrix` (unused by a rule,
    whose tables are already daily drivers)."""
    return ((40.0, 80.0), True) if isinstance(spec, Candidate) else spec


@dataclass(slots=True, frozen=True)
class DriverTables:
    """Daily driver (index date, one column per region) of one indicators table, per mapping index."""

    specs: tuple[DriverSpec, ...]
    tables: dict[int, pd.DataFrame]

    @classmethod
    def build(
        cls, indicators: pd.DataFrame, specs: Sequence[DriverSpec], used: Iterable[int]
    ) -> DriverTables:
        return cls(tuple(specs), {int(i): _table(indicators, specs[int(i)]) for i in sorted(set(used))})

    def observed(self, spec: int = 0) -> pd.DataFrame:
        return self.tables[int(spec)]


def scenario_tables(
    scen: pd.DataFrame, specs: Sequence[DriverSpec], used: Iterable[int], known: pd.DataFrame | None = None
) -> dict[int, pd.DataFrame]:
    """Daily driver of a scenario table per mapping index (the table itself when it has no rows).

    ``known``: the observed indicators, for learned rules on indicators the scenario leaves out
    (held at their last value, :func:`surgeplan.forecast.driver.rule_table`)."""
    if scen.empty or "name" not in scen.columns:
        empty = pd.DataFrame(index=pd.DatetimeIndex([], name="date"))
        return {int(i): empty if isinstance(specs[int(i)], Candidate) else scen for i in set(used)}
    out = {}
    for i in set(used):
        drv = _table(scen, specs[int(i)], known)
        out[int(i)] = drv if not drv.empty else scen
    return out


def used_specs(groups: Sequence[Group]) -> set[int]:
    """Mapping indices in use (the default one always: calm-region detection reads it)."""
    return {0} | {int(s) for g in groups if g.spec is not None for s in np.unique(g.spec)}


def intensity(
    g: Group,
    tables: DriverTables,
    rows: np.ndarray | None,
    days: np.ndarray,
    lags: np.ndarray,
    taus: np.ndarray | None,
    scen: dict[int, pd.DataFrame] | None = None,
    spec: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, str]]:
    """(len(rows), len(days)) driver per row and day, and the source of each region's indicators."""
    rows = np.arange(g.n) if rows is None else np.asarray(rows)
    if spec is None:
        spec = g.spec[rows] if g.spec is not None else np.zeros(len(rows), np.int64)
    lags = np.asarray(lags)
    out = np.zeros((len(rows), len(days)))
    src: dict[str, str] = {}
    for sp in np.unique(spec):  # distinct mappings, few
        sel = np.flatnonzero(spec == sp)
        rng, c6 = _mapping_args(tables.specs[int(sp)])
        out[sel], s1 = _sh.driver_matrix(
            tables.observed(int(sp)),
            EMPTY_SCENARIO if scen is None else scen[int(sp)],
            g.regions[rows[sel]],
            days,
            lags[sel],
            rng,
            taus=None if taus is None else np.asarray(taus)[sel],
            use_stay_home=c6,
        )
        src.update(s1)
    return out, src
