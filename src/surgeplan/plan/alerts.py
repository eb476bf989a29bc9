"""Alerts: for every resource, the first date its GoS breaks at each forecast quantile.

A planner reads them as "at the median forecast we are fine until 2 April; at p90 we break on 19
March, and with a 20-day lead time the order had to go out by 28 February: too late, 5 days".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from surgeplan.dimension.core import dimension, prepare_inventory
from surgeplan.kinds import coupled_kinds
from surgeplan.quantiles import column as quantile_column

ALERT_COLUMNS = (
    "resource_id",
    "name",
    "kind",
    "region",
    "priority_class",
    "quantile",
    "first_break",
    "lead_time_days",
    "order_by",
    "days_to_order",
    "can_order_in_time",
    "status",
)


def first_break(dim: pd.DataFrame) -> pd.Series:
    """First period each resource of a dimensioning table is short (``NaT`` when never).

    Indexed by ``resource_id``; vectorized (one group-by).
    """
    ts = pd.to_datetime(dim["period"]).where(~dim["gos_ok"].to_numpy(bool))
    return ts.groupby(dim["resource_id"].astype(str).to_numpy(), sort=False).min()


def alerts(
    inventory: pd.DataFrame,
    busy_hour: pd.DataFrame,
    asof: pd.Timestamp | str,
    quantiles: Sequence[str | float] = ("p50", "p90", "p99"),
    *,
    gos_overrides: dict[str, float] | None = None,
    dimensioned: dict[str, pd.DataFrame] | None = None,
    reference_rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """First GoS break per resource and quantile, and whether an order can still arrive in time.

    Parameters
    ----------
    inventory : DataFrame
        Inventory table.
    busy_hour : DataFrame
        Busy-hour forecasts (``resource_id, period, p50, p90, p99 ...``). Quantiles missing
        from it are skipped.
    asof : Timestamp or str
        Planning date.
    quantiles : sequence, default ``('p50', 'p90', 'p99')``
        Forecast quantiles to check.
    gos_overrides : dict, optional
        As in :func:`surgeplan.dimension.dimension`.
    dimensioned : dict, optional
        Already computed dimensioning tables by quantile column (reused, not recomputed); the
        first one is the reference from which other quantiles are derived where monotonicity
        decides (see :func:`_first_break_from_reference`).
    reference_rows : ndarray, optional
        For the reference table, the ``busy_hour`` position of each row
        (``dimension(..., row_index=True)``); matched by (resource_id, period) when omitted.

    Returns
    -------
    DataFrame
        Long table, one row per (resource, quantile), columns ``ALERT_COLUMNS``: ``first_break``
        (NaT: no break over the horizon), ``order_by = first_break - lead_time_days``,
        ``days_to_order`` (``order_by - asof`` in days; negative: too late by that much),
        ``can_order_in_time`` and ``status`` (``ok`` / ``order by YYYY-MM-DD`` / ``order now`` /
        ``too late by N d``).
    """
    inv = prepare_inventory(inventory)
    asof = naive_day(asof)
    cols = [quantile_column(q) for q in quantiles]
    cols = [c for c in dict.fromkeys(cols) if c in busy_hour.columns]
    frames = []
    known = dict(dimensioned or {})
    ref_q, ref = next(iter(known.items())) if known else (None, None)
    for q in cols:
        dim = known.get(q)
        if dim is None and ref is not None:
            fb, ids = _first_break_from_reference(inv, busy_hour, q, ref, gos_overrides, reference_rows)
        else:
            if dim is None:
                dim = dimension(inv, busy_hour, q, gos_overrides=gos_overrides)
            fb = first_break(dim)
            ids = pd.unique(dim["resource_id"].astype(str))
        fb = fb.reindex(ids)
        ri = inv.loc[ids]
        lead = ri["lead_time_days"].fillna(0).to_numpy(np.float64)
        order_by = pd.DatetimeIndex(fb.to_numpy()) - pd.to_timedelta(lead, unit="D")
        days = (order_by - asof).days.to_numpy(np.float64) if len(ids) else np.zeros(0)
        frames.append(
            pd.DataFrame(
                {
                    "resource_id": ids,
                    "name": ri["name"].where(ri["name"].notna(), ri["resource_id"]).astype(str).to_numpy(),
                    "kind": ri["kind"].to_numpy(),
                    "region": ri["region"].to_numpy(),
                    "priority_class": ri["priority_class"].to_numpy(),
                    "quantile": q,
                    "first_break": fb.to_numpy(),
                    "lead_time_days": lead,
                    "order_by": order_by,
                    "days_to_order": days,
                    "can_order_in_time": days >= 0,
                }
            )
        )
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ALERT_COLUMNS})
    out = pd.concat(frames, ignore_index=True)
    out["status"] = _status(out["first_break"], out["order_by"], out["days_to_order"].to_numpy())
    return out[list(ALERT_COLUMNS)]


def _first_break_from_reference(inv, busy_hour, q, ref, gos_overrides, reference_rows=None):
    """First breaks at quantile ``q`` re-dimensioning only the rows whose answer is not already
    implied by the reference quantile's dimensioning ``ref``.

    Every sizing rule needs more capacity for more load (for links: more load on any member of the
    group), so where the load at ``q`` is not above the reference load and the reference row is
    fine, the row is fine; where it is not below and the reference row is short, it is short.
    Only the other rows (and, for simplicity, every link row, a cheap rule) are dimensioned again.
    """
    if reference_rows is not None:
        at = np.asarray(reference_rows)
    elif "bh_row" in ref.columns:
        at = ref["bh_row"].to_numpy()
    else:  # match reference rows to busy-hour rows by (resource_id, period)
        per = pd.to_datetime(busy_hour["period"])
        if getattr(per.dt, "tz", None) is not None:
            per = per.dt.tz_convert(None)
        key_bh = pd.MultiIndex.from_arrays([busy_hour["resource_id"].astype(str).to_numpy(), per.to_numpy()])
        key_ref = pd.MultiIndex.from_arrays(
            [ref["resource_id"].astype(str).to_numpy(), ref["period"].to_numpy()]
        )
        at = key_bh.get_indexer(key_ref)
    lq = pd.to_numeric(busy_hour[q], errors="coerce").to_numpy(np.float64)[at]
    l0 = ref["load"].to_numpy(np.float64)
    ok0 = ref["gos_ok"].to_numpy(bool)
    # a coupled member's GoS depends on its group's other members: always re-dimensioned
    coupled = ref["kind"].astype(str).isin(coupled_kinds()).to_numpy()
    redo = coupled | ~((ok0 & (lq <= l0)) | (~ok0 & (lq >= l0)))
    short = ~ok0
    if redo.any():
        sub = dimension(inv, busy_hour.iloc[at[redo]], q, gos_overrides=gos_overrides, row_index=True)
        vals = np.zeros(int(redo.sum()), dtype=bool)  # rows dropped (NaN load) count as fine
        vals[sub["bh_row"].to_numpy()] = ~sub["gos_ok"].to_numpy(bool)
        short[redo] = vals
    ts = pd.Series(ref["period"].to_numpy()).where(short)
    fb = ts.groupby(ref["resource_id"].astype(str).to_numpy(), sort=False).min()
    return fb, pd.unique(ref["resource_id"].astype(str))


def _status(first: pd.Series, order_by: pd.Series, days: np.ndarray) -> np.ndarray:
    status = np.full(len(first), "ok", dtype=object)
    broken = first.notna().to_numpy()
    ob = pd.to_datetime(order_by).dt.strftime("%Y-%m-%d").to_numpy()
    late = broken & (days < 0)
    now = broken & (days == 0)
    later = broken & (days > 0)
    status[later] = "order by " + ob[later].astype(str)
    status[now] = "order now"
    status[late] = np.char.add(np.char.add("too late by ", (-days[late]).astype(int).astype(str)), " d")
    return status


def naive_day(t: pd.Timestamp | str) -> pd.Timestamp:
    """Midnight of a date-like, as a naive timestamp (UTC wall clock for tz-aware input)."""
    t = pd.Timestamp(t)
    return (t.tz_convert(None) if t.tzinfo else t).normalize()
