"""``dimension``: capacity every resource needs, per period, at a chosen forecast quantile.

Joins the inventory with the busy-hour table (``resource_id, period, busy_hour, mean, p50, p90,
p99``), then applies one sizing rule per kind to all rows of that kind at once (a loop over the
handful of kinds, never over resources). The result is a long table, one row per (resource,
period).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from surgeplan.dimension._common import RTOL, Sizing
from surgeplan.dimension.flow import push_loads
from surgeplan.dimension.rules import SIZING_RULES, KindRows
from surgeplan.errors import SurgeplanError, ValidationError
from surgeplan.kinds import INVENTORY_OPTIONAL, INVENTORY_REQUIRED, KINDS
from surgeplan.quantiles import column as quantile_column

#: Columns of the table :func:`dimension` returns, in order.
DIMENSION_COLUMNS = (
    "resource_id",
    "period",
    "busy_hour",
    "kind",
    "region",
    "group",
    "priority_class",
    "quantile",
    "load",
    "load_unit",
    "capacity",
    "needed",
    "capacity_unit",
    "gos_metric",
    "gos_target",
    "gos",
    "gos_ok",
    "shortfall",
    "shortfall_unit",
    "carriable",
    "headroom",
)


def prepare_inventory(inventory: pd.DataFrame, *, source: str = "<inventory>") -> pd.DataFrame:
    """Check the inventory's columns and fill optional ones with their defaults.

    Returns a copy indexed by ``resource_id``. Raises ``ValidationError`` naming the missing column,
    an unknown kind, or a duplicated resource.
    """
    missing = [c for c in INVENTORY_REQUIRED if c not in inventory.columns]
    if missing:
        raise ValidationError(f"missing column(s) {', '.join(missing)}", file=source, column=missing[0])
    inv = inventory.copy()
    for col, default in INVENTORY_OPTIONAL.items():
        if col not in inv.columns:
            inv[col] = default if default is not None else np.nan
        elif default is not None:
            inv[col] = pd.to_numeric(inv[col], errors="coerce").fillna(default)
    bad = ~inv["kind"].isin(list(KINDS))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValidationError(
            f"unknown kind {inv['kind'].iloc[row]!r}; known kinds: {', '.join(KINDS)}",
            file=source,
            row=row + 1,
            column="kind",
        )
    dup = inv["resource_id"].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise ValidationError(
            f"duplicate resource_id {inv['resource_id'].iloc[row]!r}",
            file=source,
            row=row + 1,
            column="resource_id",
        )
    for col in ("capacity", "module_size", "max_capacity", "lead_time_days", "module_cost", "gos_target"):
        inv[col] = pd.to_numeric(inv[col], errors="coerce").astype(np.float64)
    inv["group"] = inv["group"].fillna("").astype(str)
    inv["priority_class"] = inv["priority_class"].fillna("standard").astype(str)
    inv["resource_id"] = inv["resource_id"].astype(str)
    return inv.set_index("resource_id", drop=False)


def gos_targets(inv: pd.DataFrame, gos_overrides: Mapping[str, float] | None = None) -> np.ndarray:
    """GoS target per inventory row.

    Precedence, strongest first: ``gos_overrides[resource_id]``, ``gos_overrides[kind]`` (a
    scenario relaxing or tightening a whole kind during the crisis), the inventory's
    ``gos_target``, the kind's default (``surgeplan.kinds.KINDS``).
    """
    default = inv["kind"].map({k: v.gos_default for k, v in KINDS.items()}).to_numpy(np.float64)
    target = np.where(np.isnan(inv["gos_target"].to_numpy(np.float64)), default, inv["gos_target"].to_numpy())
    if gos_overrides:
        unknown = [k for k in gos_overrides if k not in KINDS and k not in inv.index]
        if unknown:
            raise SurgeplanError(f"gos_overrides: {unknown[0]!r} is neither a kind nor a resource_id")
        by_kind = inv["kind"].map({k: float(v) for k, v in gos_overrides.items() if k in KINDS})
        target = np.where(by_kind.notna(), by_kind.to_numpy(np.float64), target)
        by_id = inv["resource_id"].map({k: float(v) for k, v in gos_overrides.items() if k not in KINDS})
        target = np.where(by_id.notna(), by_id.to_numpy(np.float64), target)
    return target


def dimension(
    inventory: pd.DataFrame,
    busy_hour: pd.DataFrame,
    quantile: str | float = "p90",
    *,
    gos_overrides: Mapping[str, float] | None = None,
    capacity: pd.Series | None = None,
    row_index: bool = False,
    load_column: str | None = None,
) -> pd.DataFrame:
    """Capacity each resource needs in each period for its GoS target, and the GoS it gets now.

    Parameters
    ----------
    inventory : DataFrame
        Inventory table (``surgeplan.kinds.INVENTORY_REQUIRED`` columns, optional ones filled with
        their defaults).
    busy_hour : DataFrame
        ``resource_id, period, [busy_hour], <quantile>`` from ``surgeplan.forecast.busy_hour``:
        busy-hour load per resource and period in the kind's load unit (Erlangs, Gbps, sessions,
        calls per hour).
    quantile : str or float, default ``'p90'``
        Which forecast column to size on (``'p90'``, ``0.99``, ``'mean'``).
    gos_overrides : mapping, optional
        GoS targets by kind name or resource_id (see :func:`gos_targets`).
    capacity : Series, optional
        Installed capacity by resource_id replacing the inventory's (e.g. after a plan's actions).
    row_index : bool, default False
        Add a column ``bh_row``: the position (``iloc``) of each output row's busy-hour row.
    load_column : str, optional
        Size on this column of ``busy_hour`` instead of a forecast quantile (``'load'`` for
        measured busy hours); ``quantile`` is then ignored.

    Returns
    -------
    DataFrame
        One row per (resource, period) of dimensioned kinds (``generic`` rows are dropped), sorted
        by resource then period, with columns ``DIMENSION_COLUMNS``:

        * ``load`` busy-hour load at the quantile (``load_unit``), ``capacity`` installed and
          ``needed`` for the target (``capacity_unit``);
        * ``gos_metric`` / ``gos_target`` / ``gos``: the GoS measure, its target and its value
          with the installed capacity (blocking, utilisation, service level);
        * ``gos_ok``: ``needed <= capacity``;
        * ``shortfall`` (``shortfall_unit``): blocked Erlangs, calls abandoned per hour, Gbps or
          sessions over the ceiling with the installed capacity;
        * ``carriable``: load the installed capacity carries at the target; ``headroom =
          carriable - load`` (negative: load to move elsewhere or to shed).

    Notes
    -----
    The rule of each kind is looked up in :data:`surgeplan.dimension.rules.SIZING_RULES`, one
    module each: :mod:`~surgeplan.dimension.trunk_group` (Erlang B / extended
    Erlang B when ``retry_probability > 0``), :mod:`~surgeplan.dimension.link` (utilisation
    ceiling with N+1 over the ``group``), :mod:`~surgeplan.dimension.vpn_gateway` (peak
    concurrency ceiling), :mod:`~surgeplan.dimension.conference_bridge` (Erlang B on ports),
    :mod:`~surgeplan.dimension.contact_center` (Erlang A service level and abandonment; callbacks),
    and the customer-relation kinds of :mod:`~surgeplan.dimension.customer_relation`
    (``contact_number``, ``ivr``, ``chatbot``, ``chat_queue``, ``message_queue``). Before sizing,
    the load of every resource another one ``feeds`` is derived from the flow's entry
    (:func:`surgeplan.dimension.flow.push_loads`), so a peak at a contact number reaches every stage.

    References
    ----------
    ITU-T E.500 (busy hour), E.520 (Erlang B circuits); Garnett, Mandelbaum & Reiman (2002).
    """
    inv = prepare_inventory(inventory)
    if capacity is not None:
        cap_new = pd.Series(capacity, dtype=np.float64).reindex(inv.index)
        inv["capacity"] = cap_new.fillna(inv["capacity"]).to_numpy()
    qcol = load_column if load_column is not None else quantile_column(quantile)
    for col in ("resource_id", "period", qcol):
        if col not in busy_hour.columns:
            raise ValidationError(
                f"busy-hour table has no column {col!r} (columns: {', '.join(map(str, busy_hour.columns))})",
                file="<busy_hour>",
                column=col,
            )
    target_all = gos_targets(inv, gos_overrides)
    rid = busy_hour["resource_id"].astype(str).to_numpy()
    pos = inv.index.get_indexer(rid)
    if (pos < 0).any():
        row = int(np.flatnonzero(pos < 0)[0])
        raise ValidationError(
            f"resource_id {rid[row]!r} is not in the inventory",
            file="<busy_hour>",
            row=row + 1,
            column="resource_id",
        )
    kinds_inv = inv["kind"].to_numpy()
    dimensioned = pd.Series(kinds_inv).isin([k for k, v in KINDS.items() if v.dimensioned]).to_numpy()
    keep = dimensioned[pos]
    pos = pos[keep]
    bh = busy_hour.loc[keep] if not keep.all() else busy_hour
    src_row = np.flatnonzero(keep)
    period = pd.to_datetime(bh["period"]).to_numpy()
    load = pd.to_numeric(bh[qcol], errors="coerce").to_numpy(np.float64)
    # Sort rows by resource (inventory order) then period: a lexsort on dense codes (skipped when
    # the rows already come sorted, as busy_hour() returns them).
    pv = period.astype("datetime64[ns]").astype(np.int64)
    if pos.size > 1 and not (np.all(np.diff(pos) >= 0) and np.all((np.diff(pos) > 0) | (np.diff(pv) > 0))):
        order = np.lexsort((pv, pos))
        pos, period, load, src_row = pos[order], period[order], load[order], src_row[order]
    else:
        order = None
    # .array, not .to_numpy(): a time-zone-aware column would become an object array of Timestamps
    busy = pd.to_datetime(bh["busy_hour"]).array if "busy_hour" in bh.columns else period
    if order is not None and busy is not period:
        busy = busy[order]
    ok_load = np.isfinite(load)
    if not ok_load.all():
        pos, period, load, busy = pos[ok_load], period[ok_load], load[ok_load], busy[ok_load]
        src_row = src_row[ok_load]
    load = push_loads(inv, pos, period, load, target_all)

    n = pos.size
    kcode_inv = pd.Categorical(kinds_inv, categories=list(KINDS)).codes.astype(np.int64)
    kcode = kcode_inv[pos]
    cap_inv = inv["capacity"].to_numpy(np.float64)
    cap = cap_inv[pos]
    target = target_all[pos]
    needed = np.full(n, np.nan)
    gos = np.full(n, np.nan)
    carriable = np.full(n, np.nan)
    shortfall = np.full(n, np.nan)
    metric_code = np.full(n, -1, dtype=np.int64)
    sunit_code = np.full(n, -1, dtype=np.int64)
    metrics: list[str] = []
    sunits: list[str] = []

    def put(mask: np.ndarray, s: Sizing) -> None:
        needed[mask], gos[mask], carriable[mask], shortfall[mask] = s.needed, s.gos, s.carriable, s.shortfall
        for names, codes, value in (
            (metrics, metric_code, s.gos_metric),
            (sunits, sunit_code, s.shortfall_unit),
        ):
            if value not in names:
                names.append(value)
            codes[mask] = names.index(value)

    for j in np.unique(kcode_inv):  # a loop over the handful of kinds, never over resources
        k = list(KINDS)[j]
        m = kcode == j
        if not m.any():
            continue
        rule = SIZING_RULES.get(k)
        if rule is None:  # pragma: no cover - every dimensioned kind has a rule (checked at import)
            raise SurgeplanError(f"no sizing rule for kind {k!r}")
        ctx = KindRows(
            inv=inv,
            inv_k=kcode_inv == j,
            pos=pos[m],
            period=period[m],
            load=load[m],
            capacity=cap[m],
            target=target[m],
            capacity_inv=cap_inv,
            target_inv=target_all,
        )
        put(m, rule(ctx))

    gos_ok = needed <= cap * (1.0 + RTOL) + RTOL
    # Categorical columns built from integer codes: cheap on millions of rows.
    ids = pd.Index(inv["resource_id"].to_numpy())

    def cat_of(values: np.ndarray) -> pd.Categorical:
        codes, uniq = pd.factorize(values)
        return pd.Categorical.from_codes(codes[pos], categories=pd.Index(uniq))

    out = pd.DataFrame(
        {
            "resource_id": pd.Categorical.from_codes(pos, categories=ids),
            "period": period,
            "busy_hour": busy,
            "kind": pd.Categorical.from_codes(kcode, categories=list(KINDS)),
            "region": cat_of(inv["region"].astype(str).to_numpy()),
            "group": cat_of(inv["group"].to_numpy()),
            "priority_class": cat_of(inv["priority_class"].to_numpy()),
            "quantile": pd.Categorical.from_codes(np.zeros(n, dtype=np.int64), categories=[qcol]),
            "load": load,
            "load_unit": _unit(kcode, 0),
            "capacity": cap,
            "needed": needed,
            "capacity_unit": _unit(kcode, 1),
            "gos_metric": pd.Categorical.from_codes(metric_code, categories=metrics or ["none"]),
            "gos_target": target,
            "gos": gos,
            "gos_ok": gos_ok,
            "shortfall": shortfall,
            "shortfall_unit": pd.Categorical.from_codes(sunit_code, categories=sunits or ["none"]),
            "carriable": carriable,
            "headroom": carriable - load,
        }
    )
    if row_index:
        out["bh_row"] = src_row
    return out


def _unit(codes: np.ndarray, which: int) -> pd.Categorical:
    """Load (0) or capacity (1) unit per row from kind codes, as a categorical."""
    names = list(KINDS)
    units = [(KINDS[k].load_unit, KINDS[k].capacity_unit)[which] for k in names]
    uniq = list(dict.fromkeys(units))
    remap = np.array([uniq.index(u) for u in units] + [-1])
    return pd.Categorical.from_codes(remap[codes], categories=uniq)
