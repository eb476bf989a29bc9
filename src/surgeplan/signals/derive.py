"""Derived epidemic indicators: daily new cases, 7-day incidence per 100k, growth rate, doubling time.

All computations run on a daily ``date x region`` matrix (one column per region, numpy/pandas column
operations, no loop over regions). Definitions, with ``C_t`` the cumulative count on day ``t``:

* ``new_cases``: ``N_t = C_t - C_{t-1}`` (persons per day). Missing days *inside* a region's series
  are carried forward (the day after the gap gets the whole increment, as reporting does); days before
  the first and after the last observation stay missing. Downward corrections of ``C`` (negative
  ``N``) are handled by ``negative``:

  - ``"absorb"`` (default): ``C`` is replaced by its reverse running minimum
    ``C'_t = min_{s >= t} C_s`` before differencing. A correction is thereby taken off the earlier
    days that had over-counted (the spike being corrected), every ``N_t >= 0`` and the total
    ``sum N = C_last - C_first`` is preserved. It uses later data, so a value can change when later
    corrections arrive (as official series do); the anticipation code derives from data before
    ``asof`` only.
  - ``"clip"``: negative ``N_t`` set to 0 (the total is then over-counted by the corrections).
  - ``"keep"``: raw differences, negatives included.
* 7-day sum ``S_t = N_{t-6} + ... + N_t`` (needs 7 observed days) and
  ``new_cases_per_100k_7d = 1e5 * S_t / population``.
* ``growth_rate`` (per day): ``r_t = (ln S_t - ln S_{t-7}) / 7``, the continuous daily growth rate of
  the 7-day sum over the last week (exact for an exponential ``S_t = S_0 e^{r t}``; the 7-day sum removes
  the weekly reporting cycle). Missing when either sum is 0.
* ``doubling_time_days``: ``ln 2 / r_t`` for ``r_t > 0``; missing when the sum is not growing.

References
----------
Wallinga, J. & Lipsitch, M. (2007). How generation intervals shape the relationship between growth
rates and reproductive numbers. Proc. R. Soc. B 274, 599-604 (growth rate ``r`` and doubling time
``ln 2 / r``). European Centre for Disease Prevention and Control, 14/7-day notification rate per
100 000 population (the incidence threshold used for European travel and lockdown decisions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.signals.generic import (
    daily_grid,
    ensure_indicators,
    finish,
    stack_wide,
    to_day,
    wide,
)

Negative = Literal["absorb", "clip", "keep"]


def new_from_cumulative(cumulative: pd.DataFrame, negative: Negative = "absorb") -> pd.DataFrame:
    """Daily increments of a cumulative ``date x region`` frame (see module docstring for ``negative``).

    Parameters
    ----------
    cumulative : DataFrame
        Daily rows (consecutive days), one column per region, cumulative counts (persons); NaN = missing.
    negative : {"absorb", "clip", "keep"}
        What to do with downward corrections.

    Returns
    -------
    DataFrame
        Same shape: new counts per day (persons/day); NaN on a region's first observed day and
        outside its observed range.
    """
    if negative not in ("absorb", "clip", "keep"):
        raise SurgeplanError(f"negative must be 'absorb', 'clip' or 'keep', got {negative!r}")
    filled = cumulative.astype(np.float64).ffill(limit_area="inside")
    c = filled.to_numpy(copy=True)
    observed = ~np.isnan(c)
    if negative == "absorb" and c.size:
        c = np.fmin.accumulate(c[::-1], axis=0)[::-1]
        c[~observed] = np.nan
    n = np.full_like(c, np.nan)
    n[1:] = c[1:] - c[:-1]
    if negative == "clip":
        n = np.where(n < 0, 0.0, n)
    return pd.DataFrame(n, index=cumulative.index, columns=cumulative.columns)


def rolling_sum(daily: pd.DataFrame, window: int = 7) -> pd.DataFrame:
    """Trailing ``window``-day sum of a daily ``date x region`` frame; NaN unless all days are observed."""
    if int(window) < 1:
        raise SurgeplanError(f"window must be a positive number of days, got {window!r}")
    return daily.rolling(int(window), min_periods=int(window)).sum()


def growth_rate(sums, lag: int = 7):
    """Continuous daily growth rate ``(ln S_t - ln S_{t-lag}) / lag`` of a positive series (per day).

    Parameters
    ----------
    sums : DataFrame, Series or ndarray
        Daily values along axis 0 (e.g. 7-day case sums), consecutive days.
    lag : int
        Days between the two values compared.

    Returns
    -------
    Same type as ``sums``: growth rate per day; NaN where either value is missing or not positive.
    """
    lag = int(lag)
    if lag < 1:
        raise SurgeplanError(f"lag must be a positive number of days, got {lag!r}")
    arr = np.asarray(sums, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(arr > 0, np.log(np.where(arr > 0, arr, 1.0)), np.nan)
    out = np.full_like(arr, np.nan)
    if arr.shape[0] > lag:
        out[lag:] = (logs[lag:] - logs[:-lag]) / lag
    if isinstance(sums, pd.DataFrame):
        return pd.DataFrame(out, index=sums.index, columns=sums.columns)
    if isinstance(sums, pd.Series):
        return pd.Series(out, index=sums.index, name="growth_rate")
    return out


def doubling_time(rate):
    """Doubling time ``ln 2 / r`` in days of a growth rate ``r`` (per day); NaN where ``r <= 0``.

    Scalars, arrays, Series or DataFrames in, the same out.
    """
    r = np.asarray(rate, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(r > 0, np.log(2.0) / np.where(r > 0, r, 1.0), np.nan)
    if isinstance(rate, pd.DataFrame):
        return pd.DataFrame(out, index=rate.index, columns=rate.columns)
    if isinstance(rate, pd.Series):
        return pd.Series(out, index=rate.index, name="doubling_time_days")
    return out.item() if out.ndim == 0 else out


def population_by_region(
    indicators: pd.DataFrame, population=None, regions: Iterable[str] | None = None
) -> pd.Series:
    """Population (persons) per region from an argument, the ``population`` indicator or the bundled
    2019 table.

    Parameters
    ----------
    indicators : DataFrame
        Long indicators table (its latest ``population`` row per region is used when ``population`` is None).
    population : Series, mapping, DataFrame or float, optional
        Series/mapping region -> persons; a DataFrame with ``region`` and ``population`` columns; or one
        number for every region. Regions it lacks fall back to the indicators' ``population`` rows, then to
        :func:`surgeplan.signals.bundled_population`.
    regions : iterable of str, optional
        Regions wanted (default: all regions in ``indicators``).
    """
    from surgeplan.signals.bundled import bundled_population

    regs = pd.Index(
        sorted(indicators["region"].unique()) if regions is None else list(regions), name="region"
    )
    out = pd.Series(np.nan, index=regs, name="population")
    if population is not None:
        if isinstance(population, pd.DataFrame):
            if not {"region", "population"} <= set(population.columns):
                raise SurgeplanError("population: a DataFrame needs columns 'region' and 'population'")
            given = population.set_index("region")["population"]
        elif isinstance(population, pd.Series):
            given = population
        elif isinstance(population, Mapping):
            given = pd.Series(dict(population))
        else:
            given = pd.Series(float(population), index=regs)
        given = pd.to_numeric(given, errors="coerce").astype(np.float64)
        given.index = given.index.astype(str).str.upper()
        out = out.fillna(given[~given.index.duplicated(keep="last")].reindex(regs))
    rows = indicators.loc[indicators["name"] == "population"].sort_values("date")
    if len(rows):
        out = out.fillna(rows.groupby("region")["value"].last().reindex(regs))
    if out.isna().any():
        out = out.fillna(bundled_population(list(regs)).set_axis(regs))
    out[(out <= 0) | ~np.isfinite(out)] = np.nan
    return out


def derive_indicators(
    indicators: pd.DataFrame,
    population=None,
    negative: Negative = "absorb",
    window: int = 7,
    lag: int = 7,
    asof=None,
) -> pd.DataFrame:
    """Add ``new_cases``, ``new_cases_per_100k_7d``, ``growth_rate`` and ``doubling_time_days`` rows.

    Parameters
    ----------
    indicators : DataFrame
        Long indicators table with ``confirmed_cases`` (cumulative, persons) and/or ``new_cases``
        (persons/day) rows. Where a region already has ``new_cases`` rows (OWID files) they are used
        as given; otherwise they are derived from ``confirmed_cases``.
    population : Series, mapping, DataFrame or float, optional
        Persons per region for the incidence (see :func:`population_by_region`); default the
        ``population`` indicator rows, then the bundled 2019 World Bank population.
    negative : {"absorb", "clip", "keep"}
        Handling of downward corrections of the cumulative count (module docstring).
    window : int
        Days in the incidence sum (7).
    lag : int
        Days between the two sums compared by the growth rate (7).
    asof : date-like, optional
        Use only rows dated strictly before ``asof`` (what was known then).

    Returns
    -------
    DataFrame
        The input rows plus the derived rows (``region, date, name, value``), sorted. Derived names
        already in the input (other than ``new_cases``) are replaced.

    Raises
    ------
    SurgeplanError
        Neither ``confirmed_cases`` nor ``new_cases`` in ``indicators``.

    References
    ----------
    Wallinga & Lipsitch (2007), Proc. R. Soc. B 274, 599-604; ECDC 7/14-day notification rate.
    """
    ind = ensure_indicators(indicators)
    cut = to_day(asof, "asof")
    if cut is not None:
        ind = ind.loc[ind["date"] < cut]
    names = set(ind["name"].unique())
    if not names & {"confirmed_cases", "new_cases"}:
        raise SurgeplanError("indicators: derive_indicators needs 'confirmed_cases' or 'new_cases' rows")
    derived_names = ("new_cases_per_100k_7d", "growth_rate", "doubling_time_days")
    base = ind.loc[~ind["name"].isin(derived_names)]
    case_rows = base.loc[base["name"].isin(["confirmed_cases", "new_cases"])]
    dates = daily_grid(case_rows)
    regions = sorted(case_rows["region"].unique())
    have_new = set(base.loc[base["name"] == "new_cases", "region"].unique())

    new = pd.DataFrame(np.nan, index=dates, columns=pd.Index(regions, dtype=object, name="region"))
    parts = [base]
    from_cum = [r for r in regions if r not in have_new]
    if from_cum:
        cum = wide(base, "confirmed_cases", dates=dates, regions=from_cum)
        derived_new = new_from_cumulative(cum, negative)
        new[from_cum] = derived_new
        parts.append(stack_wide(derived_new, "new_cases"))
    if have_new:
        given = sorted(have_new)
        new[given] = wide(base, "new_cases", dates=dates, regions=given)

    sums = rolling_sum(new, window)
    pop = population_by_region(ind, population, regions)
    incidence = sums * (1e5 / pop.to_numpy())[None, :]
    rate = growth_rate(sums, lag)
    parts += [
        stack_wide(incidence, "new_cases_per_100k_7d"),
        stack_wide(rate, "growth_rate"),
        stack_wide(doubling_time(rate), "doubling_time_days"),
    ]
    return finish(pd.concat(parts, ignore_index=True))


def first_crossing(table: pd.DataFrame, level: float) -> pd.Series:
    """First day each column of a daily ``date x region`` frame is ``>= level`` (NaT if never)."""
    values = table.to_numpy(dtype=np.float64)
    above = np.nan_to_num(values, nan=-np.inf) >= level
    hit = above.any(axis=0)
    first = np.where(hit, above.argmax(axis=0), 0)
    days = np.asarray(table.index, dtype="datetime64[ns]")
    out = np.where(hit, days[first] if len(days) else np.datetime64("NaT"), np.datetime64("NaT"))
    return pd.Series(pd.DatetimeIndex(out), index=table.columns, name="date")


def level_crossings(
    indicators: pd.DataFrame,
    name: str = "stringency_index",
    levels: float | Iterable[float] = (50.0, 70.0),
) -> pd.DataFrame:
    """Days an indicator crosses given levels, up (``>= level``) and down (``< level``), per region.

    Parameters
    ----------
    indicators : DataFrame
        Long indicators table.
    name : str
        Indicator to scan (default ``stringency_index``, 0-100).
    levels : float or iterable of float
        Levels in the indicator's unit.

    Returns
    -------
    DataFrame
        ``region, name, level, date, direction, value`` (``direction`` ``"up"`` or ``"down"``), sorted
        by region, level, date. Missing days inside a series carry the last observation; a series
        whose first observation is already at or above a level crosses up on that first day.
    """
    levels = np.atleast_1d(
        np.asarray(list(levels) if not np.isscalar(levels) else [levels], dtype=np.float64)
    )
    table = wide(ensure_indicators(indicators), name)
    cols = ["region", "name", "level", "date", "direction", "value"]
    if table.size == 0:
        return pd.DataFrame(columns=cols)
    vals = table.ffill(limit_area="inside").to_numpy()
    observed = ~np.isnan(vals)
    days = np.asarray(table.index, dtype="datetime64[ns]")
    regs = np.asarray(table.columns, dtype=object)
    frames = []
    for level in levels:  # loop over the few levels only; regions are vectorized
        above = observed & (np.nan_to_num(vals, nan=-np.inf) >= level)
        prev = np.vstack([np.zeros((1, above.shape[1]), dtype=bool), above[:-1]])
        prev_obs = np.vstack([np.zeros((1, above.shape[1]), dtype=bool), observed[:-1]])
        up = above & ~prev
        down = observed & prev_obs & ~above & prev
        for mask, direction in ((up, "up"), (down, "down")):
            t, r = np.nonzero(mask)
            frames.append(
                pd.DataFrame(
                    {
                        "region": regs[r],
                        "name": name,
                        "level": level,
                        "date": days[t],
                        "direction": direction,
                        "value": vals[t, r],
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["region", "level", "date"], kind="stable").reset_index(drop=True)[cols]


__all__ = [
    "derive_indicators",
    "doubling_time",
    "first_crossing",
    "growth_rate",
    "level_crossings",
    "new_from_cumulative",
    "population_by_region",
    "rolling_sum",
]
