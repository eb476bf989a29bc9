"""Lockdown periods from government-response indicators, under a rule the user can set.

A day is *in lockdown* for a region when (default :class:`LockdownRule`)

* stay-at-home is required at OxCGRT C6 level 2 or more ("required except essential trips") **for the
  whole country** (C6 flag = 1: general, not targeted at a few towns), **or**
* the OxCGRT stringency index is 70 or more.

Consecutive lockdown days form a *period* (``start`` = first day, ``end`` = last day, both inclusive;
``end`` is NaT while the period is still running on the region's last known day). Periods separated by
at most ``max_gap_days`` days are merged; periods shorter than ``min_days`` are dropped. Missing days
inside a region's data carry the last observation; nothing is assumed before the first or after the
last one.

With the bundled OxCGRT data the default rule gives, for the first lockdowns of 2020: France
2020-03-17 (C6 = 2 general and stringency 87.96 the same day), United Kingdom 2020-03-23 (C6 = 2
general and stringency 78.24 the same day), Italy 2020-03-04 (stringency 72.69 >= 70, before its
national stay-at-home order of 2020-03-10; the C6 >= 2 from 2020-02-23 was targeted at towns of
Lombardy and Veneto, flag 0, and does not count).

References
----------
Hale, T. et al. (2021). A global panel database of pandemic policies (Oxford COVID-19 Government
Response Tracker). Nature Human Behaviour 5, 529-538 (C6 levels and flags, stringency index).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.signals.generic import (
    DateLike,
    daily_grid,
    ensure_indicators,
    parse_regions,
    stack_wide,
    to_day,
    wide,
)

PERIOD_COLUMNS = ("region", "start", "end", "days", "ongoing", "trigger")


@dataclass(frozen=True)
class LockdownRule:
    """When a day counts as lockdown.

    Attributes
    ----------
    stay_home_min_level : float or None
        Minimum OxCGRT C6 stay-at-home level (0 none, 1 recommended, 2 required except essential
        trips, 3 minimal exceptions); ``None`` disables the stay-at-home condition.
    require_general : bool
        Count stay-at-home only when it covers the whole country (C6 flag = 1). A missing flag on a
        day with C6 at the level counts as targeted (never seen in the OxCGRT legacy files, where the
        flag is empty only when C6 = 0).
    stringency_min : float or None
        Minimum stringency index (0-100); ``None`` disables the stringency condition.
    combine : {"any", "all"}
        Lockdown when any enabled condition holds, or only when all of them hold.
    min_days : int
        Drop periods shorter than this many days.
    max_gap_days : int
        Merge periods separated by at most this many non-lockdown days (0 = no merging).
    """

    stay_home_min_level: float | None = 2
    require_general: bool = True
    stringency_min: float | None = 70.0
    combine: Literal["any", "all"] = "any"
    min_days: int = 1
    max_gap_days: int = 0

    def __post_init__(self) -> None:
        if self.combine not in ("any", "all"):
            raise SurgeplanError(f"rule.combine must be 'any' or 'all', got {self.combine!r}")
        if self.stay_home_min_level is None and self.stringency_min is None:
            raise SurgeplanError("rule: stay_home_min_level and stringency_min cannot both be None")
        if self.stay_home_min_level is not None and not 0 <= float(self.stay_home_min_level) <= 3:
            raise SurgeplanError(
                f"rule.stay_home_min_level must be in 0..3, got {self.stay_home_min_level!r}"
            )
        if self.stringency_min is not None and not 0 <= float(self.stringency_min) <= 100:
            raise SurgeplanError(f"rule.stringency_min must be in 0..100, got {self.stringency_min!r}")
        if int(self.min_days) < 1 or int(self.max_gap_days) < 0:
            raise SurgeplanError("rule.min_days must be >= 1 and rule.max_gap_days >= 0")

    def describe(self) -> str:
        """The rule in words (for reports and the CLI)."""
        parts = []
        if self.stay_home_min_level is not None:
            parts.append(
                f"stay-at-home C6 >= {self.stay_home_min_level:g}"
                + (" for the whole country" if self.require_general else "")
            )
        if self.stringency_min is not None:
            parts.append(f"stringency >= {self.stringency_min:g}")
        text = (" or " if self.combine == "any" else " and ").join(parts)
        if self.min_days > 1:
            text += f"; periods of {self.min_days}+ days"
        if self.max_gap_days:
            text += f"; gaps of <= {self.max_gap_days} days merged"
        return text


def _conditions(indicators: pd.DataFrame, rule: LockdownRule, regions: list[str] | None):
    """Daily matrices (dates, regions, in_lockdown, known, stay, strict) on a common grid."""
    needed = []
    if rule.stay_home_min_level is not None:
        needed += ["stay_home_required"] + (["stay_home_general"] if rule.require_general else [])
    if rule.stringency_min is not None:
        needed.append("stringency_index")
    sub = indicators.loc[indicators["name"].isin(needed)]
    if regions is not None:
        sub = sub.loc[sub["region"].isin(regions)]
    if sub.empty:
        raise SurgeplanError(f"indicators: no rows for {', '.join(needed)}; the lockdown rule needs them")
    dates = daily_grid(sub)
    regs = sorted(sub["region"].unique())

    def mat(name: str) -> np.ndarray:
        return wide(sub, name, dates=dates, regions=regs).ffill(limit_area="inside").to_numpy()

    shape = (len(dates), len(regs))
    stay = np.zeros(shape, dtype=bool)
    strict = np.zeros(shape, dtype=bool)
    known_parts = []
    if rule.stay_home_min_level is not None:
        c6 = mat("stay_home_required")
        stay = np.nan_to_num(c6, nan=-1.0) >= float(rule.stay_home_min_level)
        if rule.require_general:
            stay &= np.nan_to_num(mat("stay_home_general"), nan=0.0) >= 1.0
        known_parts.append(~np.isnan(c6))
    if rule.stringency_min is not None:
        si = mat("stringency_index")
        strict = np.nan_to_num(si, nan=-1.0) >= float(rule.stringency_min)
        known_parts.append(~np.isnan(si))
    if rule.combine == "any":
        known = np.logical_or.reduce(known_parts)
        on = stay | strict
    else:
        known = np.logical_and.reduce(known_parts)
        on = (stay if rule.stay_home_min_level is not None else True) & (
            strict if rule.stringency_min is not None else True
        )
    return dates, regs, on & known, known, stay, strict


def _runs(on: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(region index, start row, end row inclusive) of every run of True per column, region-major."""
    padded = np.zeros((on.shape[0] + 2, on.shape[1]), dtype=np.int8)
    padded[1:-1] = on
    step = np.diff(padded, axis=0)
    r_s, t_s = np.nonzero(step.T == 1)  # region-major order: starts and ends pair up run by run
    _, t_e = np.nonzero(step.T == -1)
    return r_s, t_s, t_e - 1


def _lockdown(indicators: pd.DataFrame, rule: LockdownRule, regions, asof):
    regs_wanted = parse_regions(regions)
    cut = to_day(asof, "asof")
    ind = ensure_indicators(indicators)
    ind = ind if cut is None else ind.loc[ind["date"] < cut]
    dates, regs, on, known, stay, strict = _conditions(ind, rule, regs_wanted)
    r, s, e = _runs(on)
    if len(r) and rule.max_gap_days > 0:
        new_group = np.ones(len(r), dtype=bool)
        new_group[1:] = (r[1:] != r[:-1]) | (s[1:] - e[:-1] - 1 > rule.max_gap_days)
        first = np.flatnonzero(new_group)
        last = np.append(first[1:] - 1, len(r) - 1)
        r, s, e = r[first], s[first], e[last]
    length = e - s + 1
    keep = length >= int(rule.min_days)
    r, s, e, length = r[keep], s[keep], e[keep], length[keep]
    # last known day per region: a period still on then is ongoing
    has_known = known.any(axis=0)
    last_known = np.where(has_known, known.shape[0] - 1 - np.argmax(known[::-1], axis=0), -1)
    ongoing = e == last_known[r]
    days = np.asarray(dates, dtype="datetime64[ns]")
    start_days = days[s] if len(s) else np.array([], dtype="datetime64[ns]")
    end_days = np.where(ongoing, np.datetime64("NaT"), days[e] if len(e) else start_days)
    trig_stay, trig_str = stay[s, r], strict[s, r]
    trigger = np.where(
        trig_stay & trig_str, "stay_home+stringency", np.where(trig_stay, "stay_home", "stringency")
    )
    periods = pd.DataFrame(
        {
            "region": np.asarray(regs, dtype=object)[r],
            "start": pd.DatetimeIndex(start_days),
            "end": pd.DatetimeIndex(end_days.astype("datetime64[ns]")),
            "days": length.astype(np.int64),
            "ongoing": ongoing,
            "trigger": trigger.astype(object),
        }
    )
    # daily 0/1 on known days, from the kept periods (so min_days / max_gap_days apply)
    delta = np.zeros((len(dates) + 1, len(regs)), dtype=np.int32)
    np.add.at(delta, (s, r), 1)
    np.add.at(delta, (e + 1, r), -1)
    daily = (np.cumsum(delta[:-1], axis=0) > 0).astype(np.float64)
    daily[~known] = np.nan
    daily_frame = pd.DataFrame(daily, index=dates, columns=pd.Index(regs, dtype=object, name="region"))
    return periods, daily_frame


def lockdown_periods(
    indicators: pd.DataFrame,
    rule: LockdownRule | None = None,
    regions: str | Iterable[str] | None = None,
    asof: DateLike = None,
) -> pd.DataFrame:
    """Lockdown periods per region under ``rule``.

    Parameters
    ----------
    indicators : DataFrame
        Long indicators table with ``stay_home_required`` (C6 level 0-3), ``stay_home_general`` (C6 flag)
        and/or ``stringency_index`` (0-100) rows, as the rule needs.
    rule : LockdownRule, optional
        Default ``LockdownRule()``: C6 >= 2 for the whole country, or stringency >= 70.
    regions : str or list of str, optional
        Regions to consider (default all with the needed indicators).
    asof : date-like, optional
        Use only rows dated strictly before this day (periods running then have ``end`` NaT).

    Returns
    -------
    DataFrame
        ``region, start, end, days, ongoing, trigger``: one row per period, sorted by region and start;
        ``end`` is the last lockdown day (inclusive) or NaT when ``ongoing``; ``days`` counts days up to
        ``end`` (or the last known day); ``trigger`` says which condition held on the first day
        (``stay_home``, ``stringency`` or ``stay_home+stringency``).

    Raises
    ------
    SurgeplanError
        No rows for the indicators the rule needs.

    References
    ----------
    Hale, T. et al. (2021). Nature Human Behaviour 5, 529-538.
    """
    periods, _ = _lockdown(indicators, rule or LockdownRule(), regions, asof)
    return periods


def lockdown_indicator(
    indicators: pd.DataFrame,
    rule: LockdownRule | None = None,
    regions: str | Iterable[str] | None = None,
    asof: DateLike = None,
) -> pd.DataFrame:
    """Daily 0/1 ``lockdown`` indicator rows (``region, date, name='lockdown', value``) under ``rule``.

    Same parameters as :func:`lockdown_periods`; days are given from each region's first to last known
    day, 1 inside a kept period and 0 outside.
    """
    _, daily = _lockdown(indicators, rule or LockdownRule(), regions, asof)
    return stack_wide(daily, "lockdown")


def first_lockdown(
    indicators: pd.DataFrame,
    rule: LockdownRule | None = None,
    regions: str | Iterable[str] | None = None,
    asof: DateLike = None,
) -> pd.Series:
    """Start of each region's first lockdown period (Series region -> day; regions without one are left
    out)."""
    periods = lockdown_periods(indicators, rule, regions, asof)
    return periods.groupby("region", sort=True)["start"].min()
