"""The candidate drivers of a shock: every indicator of the user's table, in simple forms.

A candidate (:class:`Candidate`) is one indicator under one rule: a threshold crossed (``>=``
each level of an ordinal indicator, with a companion 0/1 flag of the same prefix, e.g. OxCGRT C6
``stay_home_required >= 2`` with ``stay_home_general == 1``; ``==`` the top level; ``>=`` and
``<=`` quantiles of a continuous one) or a level (a linear ramp between two quantiles).
:func:`candidates` lists them, :func:`rule_table` turns one into the daily driver ``u_r(d)`` in
[0, 1] of each region, :func:`driver_cube` all of them at once for the selection
(:mod:`surgeplan.forecast.driver`).

References
----------
.. [1] T. Hale et al., "A global panel database of pandemic policies (Oxford COVID-19 Government
   Response Tracker)", Nature Human Behaviour 5, 529-538, 2021 (C2, C6 and their flags).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "LEVEL_QUANTILES",
    "ORDINAL_LEVELS",
    "THRESHOLD_QUANTILES",
    "Candidate",
    "candidates",
    "driver_cube",
    "refined",
    "rule_table",
]

#: at most this many distinct levels make an indicator ordinal (OxCGRT C-levels 0-3, 0/1 flags)
ORDINAL_LEVELS = 5
#: quantiles of a continuous indicator tried as thresholds
THRESHOLD_QUANTILES = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2))
#: (low, high) quantile pairs of a continuous indicator tried as linear levels
LEVEL_QUANTILES = ((0.1, 0.9), (0.25, 0.75), (0.5, 0.95))


@dataclass(frozen=True, slots=True)
class Candidate:
    """One simple form of one indicator: ``u = 1`` while ``indicator op threshold`` (and ``flag``
    is 1), or ``u = clip((value - threshold) / (upper - threshold), 0, 1)`` for a level."""

    indicator: str
    form: str  # 'threshold' | 'level'
    op: str  # '>=' | '<=' | '==' (threshold); '' (level)
    threshold: float
    upper: float | None = None  # level only
    flag: str | None = None

    @property
    def rule(self) -> str:
        if self.form == "level":
            return f"{self.indicator} from {self.threshold:g} (0) to {self.upper:g} (1)"
        text = f"{self.indicator} {self.op} {self.threshold:g}"
        return f"{text} and {self.flag} == 1" if self.flag else text


def candidates(
    indicators: pd.DataFrame, levels: Mapping[str, Sequence[tuple[float, float]]] | None = None
) -> list[Candidate]:
    """Every simple form of every indicator in the long table ``region, date, name, value``.

    Ordinal indicators (at most :data:`ORDINAL_LEVELS` distinct values) give ``>= level`` for each
    level above the lowest, the same with each 0/1 indicator sharing the name's first word (its
    flag: ``stay_home_general`` for ``stay_home_required``), and ``== top``; continuous ones give
    ``>=`` and ``<=`` thresholds at :data:`THRESHOLD_QUANTILES` of their values and linear levels
    between :data:`LEVEL_QUANTILES`, plus the ``(low, high)`` ranges given in ``levels`` per
    indicator (the forecaster's stringency ranges). Binary indicators are flags and drivers at once.
    """
    out: list[Candidate] = []
    if indicators is None or indicators.empty:
        return out
    groups = {str(k): v["value"].dropna().to_numpy(float) for k, v in indicators.groupby("name")}
    srt = indicators.dropna(subset=["value"]).sort_values("date")
    cumulative = (srt.groupby(["name", "region"])["value"].diff().fillna(0.0) >= 0).groupby(srt["name"]).all()
    binary = [k for k, v in groups.items() if len(v) and np.isin(np.unique(v), (0.0, 1.0)).all()]
    ordinal = sorted(k for k, v in groups.items() if 1 < len(np.unique(v)) <= ORDINAL_LEVELS)
    for name in ordinal:
        steps = np.unique(groups[name])
        for lv in steps[1:]:
            out.append(Candidate(name, "threshold", ">=", float(lv)))
        prefix = name.split("_")[0]
        flags = [f for f in binary if f != name and f.split("_")[0] == prefix]
        for flag in flags:
            for lv in steps[1:]:
                out.append(Candidate(name, "threshold", ">=", float(lv), flag=flag))
        if len(steps) > 2:
            out.append(Candidate(name, "threshold", "==", float(steps[-1])))
    for name in sorted(k for k, v in groups.items() if len(np.unique(v)) > ORDINAL_LEVELS):
        v = groups[name]
        qs = np.unique(np.round(np.quantile(np.unique(v), THRESHOLD_QUANTILES), 6))
        out += [Candidate(name, "threshold", ">=", float(q)) for q in qs if q > v.min()]
        if not cumulative.get(name, False):  # a running total falls below nothing
            out += [Candidate(name, "threshold", "<=", float(q)) for q in qs if q < v.max()]
        for lo, hi in LEVEL_QUANTILES:
            a, b = np.quantile(v, [lo, hi])
            if b > a:
                out.append(Candidate(name, "level", "", float(a), float(b)))
        for a, b in (levels or {}).get(name, ()):
            if b > a:
                out.append(Candidate(name, "level", "", float(a), float(b)))
    return list(dict.fromkeys(out))


def refined(indicators: pd.DataFrame, cand: Candidate, among: Sequence[Candidate]) -> list[Candidate]:
    """Thresholds between ``cand`` and its neighbours in ``among`` (same indicator and operator):
    the midpoints of consecutive distinct values of the indicator in that bracket.

    The quantile grid of :func:`candidates` is coarse where values are few: the stringency
    indices of ten countries in March 2020 have one grid threshold at 67.4 and the next at 72.2,
    and a response tied to ``>= 70`` read ``>= 67.4``, under which Finland (68.5 for ten days,
    no response) diluted the size to x1.1 against x1.6 (generators, voice_stringency). A midpoint
    says the same of every value seen as the value itself, and splits unseen ones evenly.
    Empty for anything but a continuous threshold.
    """
    if cand.form != "threshold" or cand.op not in (">=", "<=") or cand.flag is not None:
        return []
    v = np.unique(indicators.loc[indicators["name"] == cand.indicator, "value"].dropna().to_numpy(float))
    if len(v) <= ORDINAL_LEVELS:
        return []
    grid = sorted(
        c.threshold
        for c in among
        if c.form == "threshold" and c.indicator == cand.indicator and c.op == cand.op and c.flag is None
    )
    lower = max((t for t in grid if t < cand.threshold), default=v[0])
    upper = min((t for t in grid if t > cand.threshold), default=v[-1])
    inside = v[(v >= lower) & (v <= upper)]
    mids = (inside[1:] + inside[:-1]) / 2.0
    return [Candidate(cand.indicator, "threshold", cand.op, float(m)) for m in np.round(mids, 6)]


def rule_table(indicators: pd.DataFrame, cand: Candidate, known: pd.DataFrame | None = None) -> pd.DataFrame:
    """Daily driver of ``cand``: index = date, columns = region, values in [0, 1], NaN where the
    region has no row that day (the shape :func:`surgeplan.forecast.shock.driver_matrix` reads).

    ``known``: the observed indicators, when ``indicators`` is a scenario of future values that
    may leave out some of the rule's indicators (a projection of the stringency and stay-at-home
    level says nothing of the general flag): those are taken from ``known`` and held at their last
    value through the scenario's days.
    """
    names = [cand.indicator] + ([cand.flag] if cand.flag else [])
    sub = indicators[indicators["name"].isin(names)]
    if known is not None and not sub.empty:
        missing = [n for n in names if n not in set(sub["name"])]
        sub = pd.concat([sub, known[known["name"].isin(missing)]], ignore_index=True)
    if sub.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="date"))
    wide = sub.pivot_table(
        index="date", columns=["name", "region"], values="value", aggfunc="last"
    ).sort_index()
    if known is not None:
        wide = wide.ffill()
    if cand.indicator not in wide.columns.get_level_values(0):
        return pd.DataFrame(index=pd.DatetimeIndex([], name="date"))
    val = wide[cand.indicator]
    u = _apply(cand, val.to_numpy(float))
    if cand.flag:
        has = cand.flag in wide.columns.get_level_values(0)
        fl = wide[cand.flag].reindex(columns=val.columns).to_numpy(float) if has else np.zeros_like(u)
        u = np.where(np.isfinite(u), u * (np.nan_to_num(fl, nan=0.0) >= 1.0), np.nan)
    return pd.DataFrame(u, index=val.index.rename("date"), columns=val.columns.rename("region"))


def _apply(cand: Candidate, v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if cand.form == "level":
            u = np.clip((v - cand.threshold) / (cand.upper - cand.threshold), 0.0, 1.0)
        elif cand.op == ">=":
            u = (v >= cand.threshold - 1e-9).astype(float)
        elif cand.op == "<=":
            u = (v <= cand.threshold + 1e-9).astype(float)
        else:
            u = (np.abs(v - cand.threshold) < 1e-9).astype(float)
    return np.where(np.isfinite(v), u, np.nan)


def driver_cube(
    indicators: pd.DataFrame, cands: list[Candidate], regions: list[str], days: np.ndarray
) -> np.ndarray:
    """(C, R, D) driver of every candidate, region and day: 0 before a region's first row of the
    indicator, its last value held after the last (what a forecaster knows on the last day)."""
    idx = pd.DatetimeIndex(np.asarray(days, "datetime64[D]")).as_unit("ns")
    out = np.zeros((len(cands), len(regions), len(idx)))
    wide = indicators.pivot_table(index="date", columns=["name", "region"], values="value", aggfunc="last")
    wide = wide.sort_index()
    full = wide.index.union(idx)
    for name in pd.unique(np.array([c.indicator for c in cands], dtype=object)):  # indicators, few
        val = wide[name].reindex(columns=regions).reindex(full)
        first = val.notna().cumsum() > 0
        held = val.ffill().where(first, np.nan).reindex(idx).to_numpy(float)  # NaN before the first row
        for ci in [i for i, c in enumerate(cands) if c.indicator == name]:
            c = cands[ci]
            u = _apply(c, held)
            if c.flag:
                fl = (
                    wide[c.flag].reindex(columns=regions).reindex(full).ffill().reindex(idx).to_numpy(float)
                    if c.flag in wide.columns.get_level_values(0)
                    else np.zeros_like(held)
                )
                u = u * (np.nan_to_num(fl, nan=0.0) >= 1.0)
            out[ci] = np.nan_to_num(u, nan=0.0).T
    return out
