"""The threshold to anticipate: the indicator level at which the regions hit first locked down (step 1 of
:mod:`surgeplan.signals.anticipate`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.signals.anticipate.known import known_rows
from surgeplan.signals.generic import DateLike, to_day, wide
from surgeplan.signals.lockdown import LockdownRule, lockdown_periods


def lockdown_onset_values(
    indicators: pd.DataFrame,
    asof: DateLike = None,
    name: str = "new_cases_per_100k_7d",
    regions: str | Iterable[str] | None = None,
    rule: LockdownRule | None = None,
    population=None,
    offset_days: int = 0,
) -> pd.DataFrame:
    """Value of an indicator on each region's first lockdown day, using data before ``asof``.

    Parameters
    ----------
    indicators : DataFrame
        Long indicators table (OxCGRT rows for the rule; ``confirmed_cases`` when ``name`` is derived).
    asof : date-like, optional
        Only rows dated strictly before this day are used (lockdowns must have started before it).
    name : str
        Indicator read at lockdown onset (default ``new_cases_per_100k_7d``, cases per 100 000 in 7 days).
    regions : str or list of str, optional
        Regions to consider (default all that locked down before ``asof``).
    rule : LockdownRule, optional
        Lockdown rule (default ``LockdownRule()``).
    population : optional
        Passed to :func:`~surgeplan.signals.derive.derive_indicators` when ``name`` is derived.
    offset_days : int
        Read the value this many days before the onset (e.g. 7 for "a week before lockdown").

    Returns
    -------
    DataFrame
        ``region, start, value`` (``value`` NaN when the indicator is missing that day).
    """
    cut = to_day(asof, "asof")
    ind = known_rows(indicators, cut, name, population)
    periods = lockdown_periods(ind, rule, regions=regions)
    first = periods.groupby("region", sort=True)["start"].min()
    table = wide(ind, name) if (ind["name"] == name).any() else pd.DataFrame()
    when = first - pd.Timedelta(days=int(offset_days))
    stacked = table.stack() if len(table) else pd.Series(dtype=np.float64)
    values = stacked.reindex(pd.MultiIndex.from_arrays([when.to_numpy(), first.index])) if len(first) else []
    return pd.DataFrame(
        {
            "region": first.index.astype(object),
            "start": first.to_numpy(),
            "value": np.asarray(values, dtype=np.float64),
        }
    )


def threshold_from_earlier_regions(
    indicators: pd.DataFrame,
    asof: DateLike = None,
    name: str = "new_cases_per_100k_7d",
    regions: str | Iterable[str] | None = None,
    rule: LockdownRule | None = None,
    statistic: str | float | Callable[[np.ndarray], float] = "median",
    population=None,
    offset_days: int = 0,
) -> float:
    """Threshold for :func:`anticipate_crossing`: the indicator level at which earlier regions locked down.

    Parameters
    ----------
    indicators, asof, name, regions, rule, population, offset_days
        As in :func:`lockdown_onset_values`.
    statistic : {"median", "mean", "min", "max"}, float in [0, 1] or callable
        Summary of the onset values (a float is a quantile: 0.25 = the level at which the quickest
        quarter of regions reacted).

    Returns
    -------
    float
        The threshold in the unit of ``name`` (cases per 100 000 per 7 days by default).

    Raises
    ------
    SurgeplanError
        No region had locked down before ``asof`` with the indicator known on its onset day.
    """
    onset = lockdown_onset_values(indicators, asof, name, regions, rule, population, offset_days)
    vals = onset["value"].dropna().to_numpy()
    if vals.size == 0:
        raise SurgeplanError(
            f"no region had locked down before {asof} with {name!r} known at onset; cannot derive a threshold"
        )
    if callable(statistic):
        return float(statistic(vals))
    if isinstance(statistic, (int, float)):
        if not 0 <= float(statistic) <= 1:
            raise SurgeplanError(f"statistic: a quantile must be in [0, 1], got {statistic}")
        return float(np.quantile(vals, float(statistic)))
    funcs = {"median": np.median, "mean": np.mean, "min": np.min, "max": np.max}
    if statistic not in funcs:
        raise SurgeplanError(f"statistic must be one of {', '.join(funcs)}, a quantile or a callable")
    return float(funcs[statistic](vals))
