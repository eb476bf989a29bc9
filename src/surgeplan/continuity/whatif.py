"""``whatif``: lose resources, redistribute their load, re-check the grade of service, find worst cases."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from surgeplan.continuity.gos import recheck
from surgeplan.continuity.network import Network, build_network
from surgeplan.continuity.redistribute import baseline, redistribute
from surgeplan.continuity.scenarios import Scenario, resolve_scenarios
from surgeplan.errors import SurgeplanError
from surgeplan.kinds import KINDS

__all__ = ["FLOW_COLUMNS", "WHATIF_COLUMNS", "WORST_COLUMNS", "WhatIfResult", "peak_load", "whatif"]

#: Columns of ``whatif.csv`` / :attr:`WhatIfResult.whatif`, in order (a contract).
WHATIF_COLUMNS = (
    "scenario",
    "resource_id",
    "kind",
    "priority_class",
    "offered_load",
    "carried_load",
    "unserved_load",
    "capacity",
    "utilization",
    "gos_metric",
    "gos_value",
    "gos_target",
    "gos_ok",
)
#: Columns of ``worst.csv`` / :attr:`WhatIfResult.worst` (sweeps only), in order (a contract).
WORST_COLUMNS = ("resource_id", "worst_scenario", "worst_gos_value", "gos_metric", "scenarios_breaking")
#: Columns of ``flows.csv``: load moved from a lost resource to a survivor, in the kind's load unit.
FLOW_COLUMNS = ("scenario", "from_resource", "to_resource", "kind", "load")

#: Load below this share of a row's own load is float noise (LP tolerance).
_TOL = 1e-7


@dataclass
class WhatIfResult:
    """What :func:`whatif` returns.

    Attributes
    ----------
    whatif : DataFrame
        ``WHATIF_COLUMNS``, one row per resource per scenario (``rows='all'``) or only the rows a
        failure touched (``rows='affected'``). ``offered_load`` is the load offered to the
        resource after redistribution (its own load kept + load received + its own load placed
        nowhere), so ``carried_load + unserved_load = offered_load`` on every row and the
        offered loads of a scenario add up to the loads before it. A failed resource has
        ``capacity`` 0 and ``carried_load`` 0: what it still shows is unserved; the rest went to
        the resources in :attr:`flows`. ``utilization`` = carried load over the hard limit (link
        Gbps, circuits or ports as Erlangs, sessions, agents x 3600 / AHT calls per hour).
        ``gos_value`` is NaN on a failed resource; ``gos_ok`` there means none of its load was lost.
    worst : DataFrame or None
        For sweeps: ``WORST_COLUMNS`` per resource (worst GoS over the sweep, the scenario causing
        it, number of scenarios breaking its GoS). None for explicit scenarios.
    worst_top : DataFrame
        Per resource the 10 scenarios giving its worst GoS: ``resource_id, rank, scenario,
        gos_metric, gos_value, gos_ok``.
    top_scenarios : DataFrame
        The 10 scenarios that break the most (vital resources broken first, then resources
        broken, then unserved vital load): ``scenario, failed, resources_broken, vital_broken,
        unserved_vital, unserved_standard`` (broken = GoS fine before, not after; unserved sums are
        per kind's unit, shown in ``by_class``).
    by_class : DataFrame
        Unserved load per scenario, kind and priority class: ``scenario, kind, priority_class,
        load_unit, unserved_load``.
    flows : DataFrame
        ``FLOW_COLUMNS``: where each lost resource's load went.
    baseline : DataFrame
        ``WHATIF_COLUMNS`` with ``scenario = 'baseline'``: nothing failed.
    scenarios : list of Scenario
    timings : dict
        Seconds per step (``network, redistribute, gos, tables``).
    """

    whatif: pd.DataFrame
    worst: pd.DataFrame | None
    worst_top: pd.DataFrame
    top_scenarios: pd.DataFrame
    by_class: pd.DataFrame
    flows: pd.DataFrame
    baseline: pd.DataFrame
    scenarios: list[Scenario]
    timings: dict = field(default_factory=dict)

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``whatif.csv``, ``worst.csv`` (sweeps), ``flows.csv`` into ``out_dir``; return the paths.

        Each file is written to a temporary name and renamed, so no half-written file is left.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        frames = [("whatif.csv", self.whatif), ("flows.csv", self.flows)]
        if self.worst is not None:
            frames.append(("worst.csv", self.worst))
        paths = []
        for name, df in frames:
            p = out / name
            tmp = out / f".{name}.tmp"
            _write_csv(df, tmp)
            tmp.replace(p)
            paths.append(p)
        return paths


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    """CSV through Arrow (10x faster than pandas on sweeps); booleans as True/False like pandas."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    out = df.copy(deep=False)
    for c in out.columns:
        if out[c].dtype == bool:
            out[c] = np.where(out[c].to_numpy(), "True", "False")
        elif out[c].dtype == object:
            out[c] = out[c].astype(str).where(out[c].notna(), None)
    pacsv.write_csv(
        pa.Table.from_pandas(out, preserve_index=False),
        path,
        write_options=pacsv.WriteOptions(quoting_style="needed"),
    )


def whatif(
    inventory: pd.DataFrame,
    load: pd.Series | pd.DataFrame | Mapping[str, float],
    routes: pd.DataFrame | None = None,
    scenarios="n-1",
    mode: str = "optimal",
    *,
    rows: str = "all",
    gos_overrides: Mapping[str, float] | None = None,
    routes_source: str = "<routes>",
) -> WhatIfResult:
    """Lose resources, redistribute their load, and re-check every resource's grade of service.

    Parameters
    ----------
    inventory : DataFrame
        Inventory (``surgeplan.kinds.INVENTORY_REQUIRED`` columns; ``site`` for site scenarios).
        Kinds without a GoS rule here (``generic``) are left out.
    load : Series, DataFrame or mapping
        Busy-hour load per resource in the kind's load unit (Erlangs, Gbps, sessions, calls per
        hour): a Series or mapping by ``resource_id``, or a frame ``resource_id, load``.
        Resources not given carry no load.
    routes : DataFrame, optional
        Overflow routes ``from_resource, to_resource, max_load`` (same kind; ``max_load`` in the
        kind's load unit, NaN = unbounded). Members of a group back each other up without routes.
    scenarios : str, Scenario or list, default ``'n-1'``
        A sweep (``'n-1'``, ``'sites'``, ``'regions'``, or a list of them: one combined sweep), a
        SPEC (``RESOURCE_ID``, ``site:NAME``, ``region:ISO3``, ``group:NAME``), a :class:`Scenario`,
        or a list of these and of lists of SPECs (each list one combined scenario). See
        :mod:`surgeplan.continuity.scenarios`.
    mode : {'optimal', 'hashing'}, default ``'optimal'``
        ``optimal``: the LP of :mod:`surgeplan.continuity.redistribute`. ``hashing``: a link
        group's load spreads over its surviving members in proportion to their capacity (LAG,
        ECMP); routes touching those links are ignored; other kinds as ``optimal``.
    rows : {'all', 'affected'}, default ``'all'``
        ``affected`` keeps only the rows a failure touched (large sweeps: the other rows equal
        :attr:`WhatIfResult.baseline`).
    gos_overrides : mapping, optional
        GoS targets by kind or resource_id (as in :func:`surgeplan.dimension.dimension`).
    routes_source : str, default ``'<routes>'``
        Name of the routes file in error messages.

    Returns
    -------
    WhatIfResult
    """
    t0 = time.perf_counter()
    if rows not in ("all", "affected"):
        raise SurgeplanError(f"rows: {rows!r} is not 'all' or 'affected'")
    scen, is_sweep = resolve_scenarios(scenarios, inventory)
    net = build_network(
        inventory,
        _load_series(load),
        routes,
        mode=mode,
        gos_overrides=gos_overrides,
        routes_source=routes_source,
    )
    pos = pd.Index(net.ids)
    failed = [pos.get_indexer([r for r in s.failed if r in pos]) for s in scen]
    timings = {"network": time.perf_counter() - t0}
    t = time.perf_counter()
    red = redistribute(net, failed)
    timings["redistribute"] = time.perf_counter() - t
    t = time.perf_counter()
    base = _baseline_rows(net)
    touched = _rows_after(net, red)
    timings["gos"] = time.perf_counter() - t
    t = time.perf_counter()
    names = np.array([s.name for s in scen], dtype=object)
    table = (
        _frame(net, touched, names)
        if rows == "affected"
        else _frame(net, _expand(net, touched, base, len(scen)), names)
    )
    base_df = _frame(net, base, np.array(["baseline"], dtype=object))
    worst, worst_top = _worst(net, touched, base, names, is_sweep)
    tops = _top_scenarios(net, touched, base, scen)
    by_class = _by_class(net, touched, base, names)
    flows = _flows(net, red, names)
    timings["tables"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    return WhatIfResult(table, worst, worst_top, tops, by_class, flows, base_df, scen, timings)


def _baseline_rows(net) -> _Rows:
    """Every resource with nothing lost: carried and unserved load, GoS re-checked."""
    base_c, base_u = baseline(net)
    ar = np.arange(net.n)
    b_metric, b_value, b_ok, _ = recheck(net.inventory, net.kind, ar, base_c, net.capacity, net.target)
    b_ok = b_ok & (base_u <= _TOL * np.maximum(net.load, 1.0))
    return _Rows(
        np.zeros(net.n, np.int64), ar, net.load, base_c, base_u, net.capacity, b_metric, b_value, b_ok
    )


def _rows_after(net, red) -> _Rows:
    """The resources a scenario touched, GoS re-checked on what they carry after the redistribution; a
    failed resource holds when none of its load is left unserved."""
    cap_row = np.where(red.failed, 0.0, net.capacity[red.resource])
    metric, value, ok, _ = recheck(
        net.inventory, net.kind, red.resource, red.carried, cap_row, net.target[red.resource]
    )
    served = red.unserved <= _TOL * np.maximum(red.offered, 1.0)
    ok = np.where(red.failed, served, ok & served)
    value = np.where(red.failed, np.nan, value)
    return _Rows(
        red.scenario, red.resource, red.offered, red.carried, red.unserved, cap_row, metric, value, ok
    )


def _flows(net, red, names: np.ndarray) -> pd.DataFrame:
    """Load moved from a resource to another per scenario (the kind's unit)."""
    return pd.DataFrame(
        {
            "scenario": names[red.flow_scenario],
            "from_resource": net.ids[red.flow_src],
            "to_resource": net.ids[red.flow_dst],
            "kind": net.kind[red.flow_src],
            "load": red.flow_load,
        },
        columns=list(FLOW_COLUMNS),
    )


def _load_series(load) -> pd.Series:
    if isinstance(load, pd.DataFrame):
        return pd.Series(load["load"].to_numpy(np.float64), index=load["resource_id"].astype(str))
    s = pd.Series(load, dtype=np.float64)
    s.index = s.index.astype(str)
    return s


@dataclass
class _Rows:
    scenario: np.ndarray
    resource: np.ndarray
    offered: np.ndarray
    carried: np.ndarray
    unserved: np.ndarray
    capacity: np.ndarray
    metric: np.ndarray
    value: np.ndarray
    ok: np.ndarray


def _expand(net: Network, touched: _Rows, base: _Rows, n_scen: int) -> _Rows:
    """Every resource in every scenario: the baseline, overwritten by the touched rows."""
    n = net.n
    idx = touched.scenario * n + touched.resource

    def fill(b, t):
        out = np.tile(b, n_scen)
        out[idx] = t
        return out

    return _Rows(
        np.repeat(np.arange(n_scen), n),
        np.tile(np.arange(n), n_scen),
        *(
            fill(getattr(base, f), getattr(touched, f))
            for f in ("offered", "carried", "unserved", "capacity", "metric", "value", "ok")
        ),
    )


def _frame(net: Network, r: _Rows, names: np.ndarray) -> pd.DataFrame:
    res = r.resource
    with np.errstate(divide="ignore", invalid="ignore"):
        hard = np.where(
            r.capacity > 0,
            net.hard[res] * r.capacity / np.where(net.capacity[res] > 0, net.capacity[res], 1.0),
            0.0,
        )
        util = np.where(hard > 0, r.carried / hard, np.where(r.carried > 0, np.inf, 0.0))
    return pd.DataFrame(
        {
            "scenario": names[r.scenario],
            "resource_id": net.ids[res],
            "kind": net.kind[res],
            "priority_class": np.where(net.vital[res], "vital", "standard"),
            "offered_load": r.offered,
            "carried_load": r.carried,
            "unserved_load": r.unserved,
            "capacity": r.capacity,
            "utilization": util,
            "gos_metric": r.metric,
            "gos_value": r.value,
            "gos_target": net.target[res],
            "gos_ok": r.ok.astype(bool),
        },
        columns=list(WHATIF_COLUMNS),
    )


def _badness(metric: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Higher is worse for every metric (service level is negated); NaN stays NaN."""
    return np.where(metric == "service_level", -value, value).astype(np.float64)


def _worst(net, touched: _Rows, base: _Rows, names, is_sweep):
    """Worst GoS per resource over the scenarios, its scenario, scenarios breaking, top 10."""
    n, n_scen = net.n, names.size
    bad = _badness(touched.metric, touched.value)
    df = pd.DataFrame({"r": touched.resource, "s": touched.scenario, "bad": bad, "ok": touched.ok})
    per = df.groupby("r").agg(n_touch=("s", "size"), n_break=("ok", lambda x: int((~x).sum())))
    n_touch = per["n_touch"].reindex(range(n), fill_value=0).to_numpy()
    breaks = per["n_break"].reindex(range(n), fill_value=0).to_numpy() + (n_scen - n_touch) * (~base.ok)
    valid = df.dropna(subset=["bad"]).sort_values(
        ["r", "bad", "s"], ascending=[True, False, True], kind="stable"
    )
    first = valid.drop_duplicates("r").set_index("r")
    b_bad = _badness(base.metric, base.value)
    w_bad = first["bad"].reindex(range(n)).to_numpy()
    w_scen = first["s"].reindex(range(n)).to_numpy()
    # an untouched scenario leaves the baseline: it is the worst when worse than every touched one
    untouched = n_touch < n_scen
    use_base = untouched & (np.isnan(w_bad) | (b_bad > w_bad))
    if untouched.any():
        first_untouched = _first_untouched(touched, n, n_scen)
        w_scen = np.where(use_base, first_untouched, w_scen)
    w_bad = np.where(use_base, b_bad, w_bad)
    metric = base.metric
    w_val = np.where(metric == "service_level", -w_bad, w_bad)
    w_name = np.where(
        np.isnan(w_scen.astype(np.float64)),
        None,
        names[np.nan_to_num(w_scen.astype(np.float64), nan=0).astype(np.int64)],
    )
    worst = (
        pd.DataFrame(
            {
                "resource_id": net.ids,
                "worst_scenario": w_name,
                "worst_gos_value": w_val,
                "gos_metric": metric,
                "scenarios_breaking": breaks.astype(np.int64),
            },
            columns=list(WORST_COLUMNS),
        )
        if is_sweep
        else None
    )
    top = valid.groupby("r", sort=False).head(10).copy()
    top["rank"] = top.groupby("r").cumcount() + 1
    worst_top = pd.DataFrame(
        {
            "resource_id": net.ids[top["r"].to_numpy()],
            "rank": top["rank"].to_numpy(),
            "scenario": names[top["s"].to_numpy()],
            "gos_metric": touched.metric[top.index.to_numpy()],
            "gos_value": touched.value[top.index.to_numpy()],
            "gos_ok": top["ok"].to_numpy(),
        }
    )
    return worst, worst_top


def _first_untouched(touched: _Rows, n: int, n_scen: int) -> np.ndarray:
    """Per resource, the first scenario index that did not touch it (vectorized)."""
    hit = np.zeros((0,), np.int64)
    key = np.unique(touched.resource.astype(np.int64) * n_scen + touched.scenario)
    # count touched scenarios below each candidate: the first gap in the sorted touched indices
    r = key // n_scen
    s = key % n_scen
    start = np.searchsorted(r, np.arange(n))
    rank = np.arange(key.size) - start[r]
    gap = s != rank
    first_gap = np.full(n, -1, np.int64)
    cnt = np.bincount(r, minlength=n)
    gr = r[gap]
    first_gap[np.unique(gr)] = rank[gap][np.r_[0, np.flatnonzero(np.diff(gr)) + 1]] if gr.size else hit
    return np.where(first_gap >= 0, first_gap, cnt)


def _top_scenarios(net, touched: _Rows, base: _Rows, scen) -> pd.DataFrame:
    r = touched.resource
    broken = ~touched.ok & base.ok[r]
    vital = net.vital[r]
    df = pd.DataFrame(
        {
            "s": touched.scenario,
            "broken": broken,
            "vital_broken": broken & vital,
            "uv": np.where(vital, touched.unserved, 0.0),
            "us": np.where(vital, 0.0, touched.unserved),
        }
    )
    agg = df.groupby("s").agg(
        resources_broken=("broken", "sum"),
        vital_broken=("vital_broken", "sum"),
        unserved_vital=("uv", "sum"),
        unserved_standard=("us", "sum"),
    )
    agg = agg.reindex(range(len(scen)), fill_value=0)
    agg.insert(0, "failed", [len(s.failed) for s in scen])
    agg.insert(0, "scenario", [s.name for s in scen])
    agg = agg.sort_values(
        ["vital_broken", "resources_broken", "unserved_vital", "unserved_standard"],
        ascending=False,
        kind="stable",
    )
    return (
        agg.head(10).reset_index(drop=True).astype({"resources_broken": np.int64, "vital_broken": np.int64})
    )


def _by_class(net, touched: _Rows, base: _Rows, names) -> pd.DataFrame:
    """Unserved load per scenario, kind and class (the baseline's for untouched resources)."""
    n_scen = names.size
    r = touched.resource
    delta = touched.unserved - base.unserved[r]
    cls = np.where(net.vital, "vital", "standard")
    b = (
        pd.DataFrame({"kind": net.kind, "priority_class": cls, "u": base.unserved})
        .groupby(["kind", "priority_class"])["u"]
        .sum()
    )
    d = (
        pd.DataFrame({"s": touched.scenario, "kind": net.kind[r], "priority_class": cls[r], "u": delta})
        .groupby(["s", "kind", "priority_class"])["u"]
        .sum()
    )
    grid = pd.MultiIndex.from_product(
        [range(n_scen), b.index.get_level_values(0).unique(), ["vital", "standard"]],
        names=["s", "kind", "priority_class"],
    )
    out = d.reindex(grid, fill_value=0.0).reset_index()
    out["u"] += b.reindex(
        pd.MultiIndex.from_frame(out[["kind", "priority_class"]]), fill_value=0.0
    ).to_numpy()
    return pd.DataFrame(
        {
            "scenario": names[out["s"].to_numpy()],
            "kind": out["kind"].to_numpy(),
            "priority_class": out["priority_class"].to_numpy(),
            "load_unit": out["kind"].map(lambda k: KINDS[k].load_unit).to_numpy(),
            "unserved_load": out["u"].to_numpy(),
        }
    )


def peak_load(busy_hour: pd.DataFrame, quantile: str = "p90", start=None, end=None) -> pd.Series:
    """Each resource's highest busy-hour load at ``quantile``, at a date or over a period.

    ``busy_hour`` is ``resource_id, period, ..., <quantile>`` (:func:`surgeplan.forecast.busy_hour`).
    With ``start`` only, the load of that period (a what-if *at a date*); with ``start`` and
    ``end``, the peak over the periods between them, both included (*over a period*); with
    neither, the peak over the whole table. Returns a Series by resource_id in the kind's load unit.
    """
    if quantile not in busy_hour.columns:
        raise SurgeplanError(f"busy-hour table has no column {quantile!r}")
    bh = busy_hour
    if start is not None:
        per = pd.to_datetime(bh["period"])
        if getattr(per.dt, "tz", None) is not None:
            per = per.dt.tz_convert(None)
        lo = pd.Timestamp(start)
        hi = pd.Timestamp(end) if end is not None else lo
        bh = bh.loc[((per >= lo) & (per <= hi)).to_numpy()]
        if bh.empty:
            raise SurgeplanError(f"busy-hour table has no period between {lo:%Y-%m-%d} and {hi:%Y-%m-%d}")
    x = pd.to_numeric(bh[quantile], errors="coerce")
    return x.groupby(bh["resource_id"].astype(str)).max().clip(lower=0.0).fillna(0.0)
