"""Shock driver: from crisis indicators to the daily "restriction intensity" a response follows.

The load model is ``log load = baseline + response``, ``response = b1 u(d - lag) + b2 u(d - lag)
weekday(d)`` per intra-day block, i.e. ``load = baseline x (1 + r)`` with ``1 + r = exp(...)``: the
response has either sign, saturates because ``u`` is bounded in [0, 1], decays when the
restrictions are lifted (``u`` falls with the stringency), and changes the daily *profile*
(one coefficient per block) and the weekday/weekend contrast (the ``weekday`` interaction).

The load follows ``u`` through :func:`response_filter` (lag, then a first-order rise / decay with
its own time constants; the model chooses them per region and kind, see ``ShockForecaster``).

``u`` is a ramp of the OxCGRT stringency index between ``stringency_range`` (default 40 -> 0,
80 -> 1), or half the stay-at-home level (C6, 0-3, capped at 1) when that is higher.

References
----------
.. [1] T. Hale et al., "A global panel database of pandemic policies (Oxford COVID-19 Government
   Response Tracker)", Nature Human Behaviour 5, 529-538, 2021.
.. [2] D. Obst, J. de Vilmarest, Y. Goude, "Adaptive Methods for Short-Term Electricity Load
   Forecasting During COVID-19 Lockdown in France", IEEE Trans. Power Systems 36(5), 2021.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.signals.generic import to_day

__all__ = ["daily_driver", "driver", "driver_matrix", "response_filter", "scenario_indicators"]


def driver(
    stringency: Any = np.nan,
    stay_home: Any = np.nan,
    stringency_range: tuple[float, float] = (40.0, 80.0),
    use_stay_home: bool = True,
) -> np.ndarray:
    """Restriction intensity ``u`` in [0, 1] from stringency (0-100) and stay-at-home level (0-3).

    ``u = max(clip((s - lo) / (hi - lo), 0, 1), clip(c6 / 2, 0, 1))``, missing parts ignored,
    0 when both are missing; ``use_stay_home=False`` drops the stay-at-home part (where it is
    declared for part of a country only, the national stringency tells more).
    """
    s, c6 = np.broadcast_arrays(np.asarray(stringency, float), np.asarray(stay_home, float))
    lo, hi = stringency_range
    if not hi > lo:
        raise SurgeplanError(f"stringency_range must be increasing, got {stringency_range!r}")
    a = np.clip((s - lo) / (hi - lo), 0.0, 1.0)
    b = np.clip(c6 / 2.0, 0.0, 1.0) if use_stay_home else np.zeros_like(a)
    return np.fmax(np.nan_to_num(a, nan=0.0) * np.isfinite(a), np.nan_to_num(b, nan=0.0))


def daily_driver(
    indicators: pd.DataFrame, stringency_range: tuple[float, float], use_stay_home: bool = True
) -> pd.DataFrame:
    """Wide daily driver: index = date, columns = region; NaN where a region has no row that day."""
    if indicators.empty:
        return pd.DataFrame()
    sub = indicators[indicators["name"].isin(["stringency_index", "stay_home_required"])]
    if sub.empty:
        return pd.DataFrame()
    wide = sub.pivot_table(index=["date", "region"], columns="name", values="value", aggfunc="last")
    s = wide.get("stringency_index", np.nan)
    c6 = wide.get("stay_home_required", np.nan)
    u = pd.Series(driver(s, c6, stringency_range, use_stay_home), index=wide.index)
    return u.unstack("region").sort_index()


def scenario_indicators(scenario: Mapping[str, Mapping[str, Any]] | pd.DataFrame | None) -> pd.DataFrame:
    """Turn a scenario into an indicators long table.

    Parameters
    ----------
    scenario : dict or DataFrame or None
        Either an indicators long table (``region, date, name, value``), or a dict
        ``{region: {"lockdown_start": date, "stringency": 80.0, "lockdown_end": date or None,
        "stay_home_required": 2}}``: from ``lockdown_start`` (inclusive) to ``lockdown_end``
        (exclusive) the stringency index is ``stringency`` (default 80) and the stay-at-home
        level ``stay_home_required`` (default 2); after ``lockdown_end`` both are 0. One row per
        day over a 400-day window from the start.

    Returns
    -------
    DataFrame ``region, date, name, value``.
    """
    from surgeplan.forecast.features import normalize_indicators

    if scenario is None:
        return normalize_indicators(None)
    if isinstance(scenario, pd.DataFrame):
        return normalize_indicators(scenario, what="indicators_future")
    if not isinstance(scenario, Mapping):
        raise SurgeplanError("indicators_future must be a DataFrame or a {region: {...}} dict")
    rows = []
    for region, spec in scenario.items():
        if not isinstance(spec, Mapping) or "lockdown_start" not in spec:
            raise SurgeplanError(f"indicators_future[{region!r}] needs a 'lockdown_start' date")
        start = to_day(spec["lockdown_start"], f"indicators_future[{region!r}].lockdown_start")
        end = to_day(spec.get("lockdown_end"), f"indicators_future[{region!r}].lockdown_end")
        days = pd.date_range(start, periods=400, freq="D")
        on = np.ones(len(days), bool) if end is None else np.asarray(days < end)
        for name, default in (("stringency_index", 80.0), ("stay_home_required", 2.0)):
            val = float(spec.get("stringency" if name == "stringency_index" else name, default))
            rows.append(
                pd.DataFrame(
                    {"region": str(region), "date": days, "name": name, "value": np.where(on, val, 0.0)}
                )
            )
    return normalize_indicators(pd.concat(rows, ignore_index=True) if rows else None)


def response_filter(u: np.ndarray, tau_up: Any = 0.0, tau_down: Any = 0.0) -> np.ndarray:
    """Asymmetric first-order response of the load to the driver, day by day.

    ``x[d] = x[d-1] + (1 - exp(-1 / tau[d])) (u[d] - x[d-1])`` with ``tau = tau_up`` while ``u``
    is above ``x`` (restrictions tightening: adoption takes time) and ``tau_down`` while below
    (restrictions lifted: habits fade slowly); ``tau = 0`` follows ``u`` at once. ``x`` starts at
    0 (no restrictions before the first indicator). A step of the driver becomes an exponential
    ramp, a logistic ramp is matched by a lag plus ``tau_up`` of about a quarter of its width.

    Parameters
    ----------
    u : (n, D) driver per row and day, in [0, 1].
    tau_up, tau_down : float or (n,) time constants (days, >= 0).

    Returns
    -------
    (n, D) filtered driver, in [0, 1].
    """
    u = np.atleast_2d(np.asarray(u, float))
    n, nd = u.shape
    tu = np.broadcast_to(np.asarray(tau_up, float), (n,))
    td = np.broadcast_to(np.asarray(tau_down, float), (n,))
    if nd == 0 or (np.all(tu <= 0) and np.all(td <= 0)):
        return u.copy()
    with np.errstate(divide="ignore"):
        a_up = np.where(tu > 0, 1.0 - np.exp(-1.0 / np.where(tu > 0, tu, 1.0)), 1.0)
        a_dn = np.where(td > 0, 1.0 - np.exp(-1.0 / np.where(td > 0, td, 1.0)), 1.0)
    out = np.empty_like(u)
    x = np.zeros(n)
    for d in range(nd):  # days (hundreds), vectorized over rows
        ud = u[:, d]
        x = x + np.where(ud > x, a_up, a_dn) * (ud - x)
        out[:, d] = x
    return out


def driver_matrix(
    indicators: pd.DataFrame,
    scenario: pd.DataFrame,
    regions: np.ndarray,
    days: np.ndarray,
    lags: np.ndarray,
    stringency_range: tuple[float, float] = (40.0, 80.0),
    taus: np.ndarray | None = None,
    use_stay_home: bool = True,
) -> tuple[np.ndarray, dict[str, str]]:
    """Driver ``u(d - lag)`` for each resource (row) and day (column).

    Dates before a region's first indicator row count as 0 (no measures); dates after its last
    row take the scenario's value where one is given, else the last value (held).

    Parameters
    ----------
    indicators : observed indicators (long table), or their daily driver already pivoted
        (index = date, one column per region) to save the pivot in loops.
    scenario : future indicators from :func:`scenario_indicators` (may be empty), or their daily
        driver already pivoted like ``indicators``.
    regions : (n,) region of each resource (None/'' = no region: u = 0).
    days : (D,) ``datetime64[D]`` local calendar days.
    lags : (n,) integer lag in days per resource; negative = the load moves before the
        indicator (announcements, anticipation): ``u(d + |lag|)``, read from the scenario or the
        held last value beyond the observed indicators.
    taus : (n, 2) optional ``(tau_up, tau_down)`` days per resource: the lagged driver goes
        through :func:`response_filter` (run from the region's first indicator day, so the
        result does not depend on the requested window).
    use_stay_home : bool
        Whether the stay-at-home level counts (see :func:`driver`).

    Returns
    -------
    u : (n, D) array; source : {region: 'observed' | 'held_last' | 'scenario' | 'none'} for the
    days that were asked for.
    """
    n, nd = len(regions), len(days)
    out = np.zeros((n, nd))
    source: dict[str, str] = {}
    if nd == 0 or n == 0:
        return out, source
    lags = np.asarray(lags, dtype=np.int64)
    wide = "name" not in indicators.columns  # already the daily driver (index date, one column per region)
    obs = indicators if wide else daily_driver(indicators, stringency_range, use_stay_home)
    if "name" not in scenario.columns:
        scen = scenario
    else:  # an empty long table (no scenario) needs no pivot
        scen = daily_driver(scenario, stringency_range, use_stay_home) if len(scenario) else _NO_SCENARIO
    # numpy throughout: this runs for every group on every day of the calibration pass
    obs_days = _day_numbers(obs.index) if len(obs.columns) else np.zeros(0, np.int64)
    scen_cols = set(getattr(scen, "columns", []))
    scen_days = _day_numbers(scen.index) if scen_cols else np.zeros(0, np.int64)
    day0, day1 = (int(np.datetime64(d, "D").astype(np.int64)) for d in (days[0], days[-1]))
    reg_arr = np.asarray(regions, dtype=object).astype(str)
    for region in dict.fromkeys(reg_arr):  # loop over regions (few), never over resources
        rows = np.flatnonzero(reg_arr == region)
        has_scen = region in scen_cols
        obs_col = _column(obs, region, obs_days)
        if not len(obs_col[0]) and not has_scen:
            source[region] = "none"
            continue
        scen_col = _column(scen, region, scen_days) if has_scen else None
        vals, off = _region_series(obs_col, scen_col, day0, day1, lags, taus is not None)
        rl = lags[rows]
        out[rows] = _lagged(vals, off, nd, rl, None if taus is None else np.asarray(taus, float)[rows])
        last = int(obs_col[0].max()) if len(obs_col[0]) else None
        if last is not None and day1 - int(np.min(rl)) <= last:
            source[region] = "observed"
        else:
            source[region] = "scenario" if has_scen else "held_last"
    return out, source


_NO_SCENARIO = pd.DataFrame()


def _day_numbers(index: pd.Index) -> np.ndarray:
    """Days since the epoch of a date index."""
    return np.asarray(index.values, dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def _column(table: pd.DataFrame, region: str, day_numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A region's known (day number, value) pairs of a wide daily table."""
    if region not in table.columns:
        return np.zeros(0, np.int64), np.zeros(0)
    v = table[region].to_numpy(np.float64)
    known = ~np.isnan(v)
    return day_numbers[known], v[known]


def _ffill_zero(x: np.ndarray) -> np.ndarray:
    """Carry the last non-NaN value forward; NaN before the first one becomes 0."""
    ok = ~np.isnan(x)
    idx = np.maximum.accumulate(np.where(ok, np.arange(len(x)), -1))
    return np.where(idx >= 0, x[np.maximum(idx, 0)], 0.0)


def _region_series(
    obs: tuple[np.ndarray, np.ndarray],
    scen: tuple[np.ndarray, np.ndarray] | None,
    day0: int,
    day1: int,
    lags: np.ndarray,
    from_first: bool,
) -> tuple[np.ndarray, int]:
    """A region's daily driver on a grid covering ``day0 .. day1`` (day numbers) shifted by every
    lag: observed values (0 before the first row), then the scenario's where given, else the last
    value held.

    The grid starts early enough to hold the last observed value into the requested days and,
    with ``from_first`` (a response filter follows), at the region's first indicator day, so the
    result does not depend on the requested window. Returns the values and the position of
    ``day0`` on the grid.
    """
    lag_max = max(int(np.max(lags)), 0) if len(lags) else 0
    lag_min = min(int(np.min(lags)), 0) if len(lags) else 0
    cd, cv = obs
    first, last = (int(cd.min()), int(cd.max())) if len(cd) else (None, None)
    g0 = day0 - lag_max
    if last is not None:
        g0 = min(g0, last)
    if from_first and first is not None:
        g0 = min(g0, first)
    grid = np.arange(g0, day1 - lag_min + 1)
    series = np.full(len(grid), np.nan)
    if last is not None:
        _place(series, cd - g0, cv)
        series[grid < first] = 0.0
    if scen is not None:
        sc = np.full(len(grid), np.nan)
        _place(sc, scen[0] - g0, scen[1])
        take = (grid > last if last is not None else np.ones(len(grid), bool)) & ~np.isnan(sc)
        series[take] = sc[take]
    return _ffill_zero(series), day0 - g0


def _place(target: np.ndarray, at: np.ndarray, values: np.ndarray) -> None:
    """``target[at] = values`` for the positions that fall on the grid."""
    inside = (at >= 0) & (at < len(target))
    target[at[inside]] = values[inside]


def _lagged(vals: np.ndarray, off: int, nd: int, lags: np.ndarray, taus: np.ndarray | None) -> np.ndarray:
    """(len(lags), nd) the series ``vals`` lagged per row (and filtered with ``taus`` per row)."""
    out = np.zeros((len(lags), nd))
    if taus is None:
        for lag in np.unique(lags):  # distinct lags, few
            out[lags == lag] = vals[np.arange(nd) + off - int(lag)][None, :]
        return out
    keys = np.column_stack([lags.astype(float), taus])
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = np.asarray(inv).reshape(-1)
    # lag first (shift of the indicator: zeros before, the last value held after), then the
    # response dynamics, one filter over every distinct (lag, tau) pair
    pos = np.arange(len(vals))[None, :] - uniq[:, :1].astype(np.int64)
    shifted = np.where(pos < 0, 0.0, vals[np.clip(pos, 0, len(vals) - 1)])
    return response_filter(shifted, uniq[:, 1], uniq[:, 2])[inv][:, np.arange(nd) + off]
