"""Temporary measures while a resource stays short under the plan.

A resource stays short when its modules cannot arrive in time (``order_by`` already past on the
as-of date), when the budget or the field teams delay or drop them, or when ``max_capacity`` caps
them. For each such resource this module quantifies the shortfall over the periods it lasts
(blocked Erlangs, calls abandoned per hour, Gbps or sessions over the ceiling) and, where another
member of the same ``group`` has headroom in the same period (another route, another centre,
another gateway), proposes moving load there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surgeplan.kinds import KINDS, coupled_kinds

TEMPORARY_COLUMNS = (
    "resource_id",
    "kind",
    "region",
    "group",
    "priority_class",
    "cause",
    "short_from",
    "short_until",
    "periods_short",
    "peak_period",
    "peak_load",
    "load_unit",
    "peak_gos",
    "gos_metric",
    "gos_target",
    "peak_shortfall",
    "total_shortfall",
    "shortfall_unit",
    "excess_load",
    "reroute_to",
    "reroute_load",
    "residual_excess",
    "measure",
)

_UNIT = {"erlang": "E", "gbps": "Gbps", "sessions": "sessions", "calls_per_hour": "calls/h"}


def reroute_candidates(dim: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For every row, the other member of its group with the most headroom in the same period.

    Parameters
    ----------
    dim : DataFrame
        A dimensioning table (``resource_id, period, group, kind, headroom``).

    Returns
    -------
    target, spare : ndarray
        ``resource_id`` of the best other member (None when the row has no group or no member
        with positive headroom) and its headroom in the load unit. Vectorized: one sort, the top
        two members of every (group, kind, period).
    """
    n = len(dim)
    target = np.full(n, None, dtype=object)
    spare = np.zeros(n)
    if n == 0:
        return target, spare
    grp = dim["group"].astype(str).to_numpy()
    has = grp != ""
    if not has.any():
        return target, spare
    head = np.nan_to_num(dim["headroom"].to_numpy(np.float64), nan=-np.inf)
    gcode = pd.factorize(grp)[0].astype(np.int64)
    kcode = pd.factorize(dim["kind"].to_numpy())[0].astype(np.int64)
    pcode = pd.factorize(pd.to_datetime(dim["period"]).to_numpy().astype("datetime64[ns]").astype(np.int64))[
        0
    ]
    key = (gcode * (kcode.max(initial=0) + 1) + kcode) * (pcode.max(initial=0) + 1) + pcode
    key = np.where(has, key, -1)
    order = np.lexsort((-head, key))
    k_sorted = key[order]
    starts = np.r_[0, np.flatnonzero(k_sorted[1:] != k_sorted[:-1]) + 1]
    sizes = np.diff(np.r_[starts, n])
    first = order[starts]
    second = np.where(sizes > 1, order[np.minimum(starts + 1, n - 1)], -1)
    # broadcast the group's first / second best back to every row of the group
    grp_of_sorted = np.repeat(np.arange(starts.size), sizes)
    g = np.empty(n, dtype=np.int64)
    g[order] = grp_of_sorted
    best = first[g]
    alt = second[g]
    pick = np.where(best == np.arange(n), alt, best)
    rid = dim["resource_id"].astype(str).to_numpy()
    ok = has & (pick >= 0)
    ok[ok] = head[pick[ok]] > 0
    target[ok] = rid[pick[ok]]
    spare[ok] = head[pick[ok]]
    return target, spare


def temporary_measures(
    planned: pd.DataFrame, scheduled: pd.DataFrame, asof: pd.Timestamp | str
) -> pd.DataFrame:
    """Per resource still short under the plan: why, how badly, and what to do meanwhile.

    Parameters
    ----------
    planned : DataFrame
        Dimensioning table with the capacity each period actually has under the plan (installed
        capacity before a module's ``install_done``, the upgraded one after), as built by
        :func:`surgeplan.plan.make_plan`.
    scheduled : DataFrame
        The scheduled actions (:func:`surgeplan.plan.schedule.schedule`).
    asof : Timestamp or str
        Planning date.

    Returns
    -------
    DataFrame
        One row per resource short in some period, columns ``TEMPORARY_COLUMNS``: the window
        (``short_from`` .. ``short_until``), the worst period (``peak_*``), the shortfall at the
        peak and summed over the short periods (``shortfall_unit``), the load over what the
        installed capacity carries at its GoS target (``excess_load``), the proposed reroute
        (``reroute_to``, ``reroute_load``, ``residual_excess``) and a ``measure`` sentence.
    """
    asof = pd.Timestamp(asof)
    asof = (asof.tz_convert(None) if asof.tzinfo else asof).normalize()
    target, spare = reroute_candidates(planned)
    short = ~planned["gos_ok"].to_numpy(bool)
    if not short.any():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TEMPORARY_COLUMNS})
    d = planned.loc[short].copy()
    d["reroute_to"], d["spare"] = target[short], spare[short]
    rid = d["resource_id"].astype(str).to_numpy()
    codes, uniq = pd.factorize(rid)
    per = pd.to_datetime(d["period"]).to_numpy()
    sf = d["shortfall"].to_numpy(np.float64)
    agg = (
        pd.DataFrame({"c": codes, "p": per, "sf": sf})
        .groupby("c")
        .agg(
            short_from=("p", "min"),
            short_until=("p", "max"),
            periods_short=("p", "size"),
            total_shortfall=("sf", "sum"),
        )
    )
    # peak row: largest shortfall, earliest if tied
    order = np.lexsort((per, -np.nan_to_num(sf), codes))
    pk = order[np.r_[True, codes[order][1:] != codes[order][:-1]]]
    p = d.iloc[pk]
    excess = np.maximum(-p["headroom"].to_numpy(np.float64), 0.0)
    excess = np.nan_to_num(excess)
    rr = np.minimum(excess, p["spare"].to_numpy(np.float64))
    rr = np.where(p["reroute_to"].notna().to_numpy(), rr, 0.0)
    out = pd.DataFrame(
        {
            "resource_id": uniq,
            "kind": p["kind"].astype(str).to_numpy(),
            "region": p["region"].astype(str).to_numpy(),
            "group": p["group"].astype(str).to_numpy(),
            "priority_class": p["priority_class"].astype(str).to_numpy(),
            "short_from": agg["short_from"].to_numpy(),
            "short_until": agg["short_until"].to_numpy(),
            "periods_short": agg["periods_short"].to_numpy(),
            "peak_period": p["period"].to_numpy(),
            "peak_load": p["load"].to_numpy(np.float64),
            "load_unit": p["load_unit"].astype(str).to_numpy(),
            "peak_gos": p["gos"].to_numpy(np.float64),
            "gos_metric": p["gos_metric"].astype(str).to_numpy(),
            "gos_target": p["gos_target"].to_numpy(np.float64),
            "peak_shortfall": p["shortfall"].to_numpy(np.float64),
            "total_shortfall": agg["total_shortfall"].to_numpy(),
            "shortfall_unit": p["shortfall_unit"].astype(str).to_numpy(),
            "excess_load": excess,
            "reroute_to": np.where(rr > 0, p["reroute_to"].to_numpy(), None),
            "reroute_load": rr,
            "residual_excess": excess - rr,
        }
    )
    out["cause"] = _causes(out, scheduled, asof)
    out["measure"] = _measures(out)
    return out[list(TEMPORARY_COLUMNS)].reset_index(drop=True)


def _causes(t: pd.DataFrame, scheduled: pd.DataFrame, asof: pd.Timestamp) -> np.ndarray:
    s = scheduled.set_index(scheduled["resource_id"].astype(str)).reindex(t["resource_id"])
    has = s["modules"].notna().to_numpy()
    status = s["status"].astype(str).to_numpy()
    order_by = pd.to_datetime(s["order_by"])
    past = has & (order_by < asof).to_numpy()
    done = pd.to_datetime(s["install_done"]).dt.strftime("%Y-%m-%d").fillna("never").to_numpy().astype(object)
    ob = order_by.dt.strftime("%Y-%m-%d").fillna("").to_numpy().astype(object)
    capped = has & s["capped"].fillna(False).astype(bool).to_numpy()
    reasons = [
        (past, "lead time: order_by " + ob + " had passed on the as-of date; modules in service " + done),
        (has & (status == "late") & ~past, "field operations in the region: modules in service " + done),
        (
            has & (status == "beyond calendar"),
            np.full(len(t), "field operations: not schedulable", dtype=object),
        ),
        (
            has & np.isin(status, ["unfunded", "partly funded"]),
            np.full(len(t), "budget ceiling", dtype=object),
        ),
        (capped, np.full(len(t), "max_capacity reached", dtype=object)),
    ]
    cause = np.full(len(t), "", dtype=object)
    for mask, text in reasons:
        text = np.asarray(text, dtype=object)
        cause[mask] = np.where(cause[mask] == "", text[mask], cause[mask] + "; " + text[mask])
    cause[cause == ""] = "no module can be added (module_size or max_capacity)"
    return cause


def _measures(t: pd.DataFrame) -> np.ndarray:
    """One sentence per short resource, built column-wise (pandas string operations)."""
    n = len(t)
    if n == 0:
        return np.array([], dtype=object)
    kind = t["kind"].to_numpy()
    u = t["load_unit"].map(lambda x: _UNIT.get(x, x)).astype(str).reset_index(drop=True)
    sf = t["peak_shortfall"].to_numpy(np.float64)
    gos = pd.Series(t["peak_gos"].to_numpy(np.float64))
    f1 = pd.Series(sf).map("{:,.1f}".format)
    metric = t["gos_metric"].astype(str).reset_index(drop=True)
    # blocking targets are fractions of a percent: one decimal more than service levels
    gos_text = pd.Series(np.where(metric == "blocking", gos.map("{:.1%}".format), gos.map("{:.0%}".format)))
    relief = pd.Series(kind).map({k: v.relief for k, v in KINDS.items()}).fillna("").astype(object)
    short_unit = t["shortfall_unit"].astype(str).str.replace("_", " ").reset_index(drop=True)
    what = f1 + " " + short_unit + " at peak (" + metric.str.replace("_", " ") + " " + gos_text + ")"
    what = what.where(relief == "", what + ": " + relief)
    rr = t["reroute_load"].to_numpy(np.float64)
    left = t["residual_excess"].to_numpy(np.float64)
    move = (
        "move "
        + pd.Series(rr).map("{:,.1f}".format)
        + " "
        + u
        + " to "
        + t["reroute_to"].astype(str).reset_index(drop=True)
        + " (same group, spare capacity)"
    )
    out = what.copy()
    has_rr = rr > 0
    out[has_rr & (left > 0)] = (move + "; then " + what)[has_rr & (left > 0)]
    out[has_rr & ~(left > 0)] = move[has_rr & ~(left > 0)]
    n1 = pd.Series(kind).isin(coupled_kinds()).to_numpy() & (t["excess_load"].to_numpy(np.float64) <= 0)
    out[n1] = (
        "run without N+1 protection until the upgrade (a failure of the largest member would put the "
        "group at " + gos.map("{:.0%}".format) + " utilisation)"
    )[n1]
    return out.to_numpy()
