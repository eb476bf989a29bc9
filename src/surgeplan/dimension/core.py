"""``dimension``: capacity every resource needs, per period, at a chosen forecast quantile.

Joins the inventory with the busy-hour table (``resource_id, period, busy_hour, mean, p50, p90,
p99``), then applies one sizing rule per kind to all rows of that kind at once (a loop over the
handful of kinds, never over resources). The result is a long table, one row per (resource,
period).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
    inv = _inventory_with_capacity(inventory, capacity)
    qcol = load_column if load_column is not None else quantile_column(quantile)
    _require_busy_hour_columns(busy_hour, qcol)
    target_all = gos_targets(inv, gos_overrides)
    rows = _rows_to_size(inv, busy_hour, qcol)
    # the flow derives the load of every fed stage from its entry before any stage is sized
    rows.load = push_loads(inv, rows.pos, rows.period, rows.load, target_all)
    sized = _size_every_kind(inv, rows, target_all)
    out = _dimension_table(inv, rows, sized, qcol)
    if row_index:
        out["bh_row"] = rows.src_row
    return out


def _inventory_with_capacity(inventory: pd.DataFrame, capacity: pd.Series | None) -> pd.DataFrame:
    """:func:`prepare_inventory`, with ``capacity`` (by resource_id, capacity unit) replacing the
    installed capacity of the resources it names."""
    inv = prepare_inventory(inventory)
    if capacity is not None:
        cap_new = pd.Series(capacity, dtype=np.float64).reindex(inv.index)
        inv["capacity"] = cap_new.fillna(inv["capacity"]).to_numpy()
    return inv


def _require_busy_hour_columns(busy_hour: pd.DataFrame, qcol: str) -> None:
    """Raise ``ValidationError`` naming the first of ``resource_id, period, <qcol>`` the table lacks."""
    for col in ("resource_id", "period", qcol):
        if col not in busy_hour.columns:
            raise ValidationError(
                f"busy-hour table has no column {col!r} (columns: {', '.join(map(str, busy_hour.columns))})",
                file="<busy_hour>",
                column=col,
            )


@dataclass
class _BusyHourRows:
    """The busy-hour rows to size, sorted by resource (inventory order) then period.

    ``pos``: inventory row (``iloc``) of each; ``period``: datetime64 period starts; ``busy``: busy
    hours (the table's, or ``period`` when it has none); ``load``: load at the sizing quantile, in
    the kind's load unit; ``src_row``: position of each row in the caller's busy-hour table.
    """

    pos: np.ndarray
    period: np.ndarray
    busy: Any
    load: np.ndarray
    src_row: np.ndarray


def _inventory_positions(inv: pd.DataFrame, busy_hour: pd.DataFrame) -> np.ndarray:
    """Inventory row (``iloc``) of every busy-hour row; ``ValidationError`` at the first resource
    the inventory lacks."""
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
    return pos


def _rows_to_size(inv: pd.DataFrame, busy_hour: pd.DataFrame, qcol: str) -> _BusyHourRows:
    """The busy-hour rows of dimensioned kinds (``generic`` dropped) with a finite load in ``qcol``,
    sorted by resource then period."""
    pos = _inventory_positions(inv, busy_hour)
    kinds_inv = inv["kind"].to_numpy()
    dimensioned = pd.Series(kinds_inv).isin([k for k, v in KINDS.items() if v.dimensioned]).to_numpy()
    keep = dimensioned[pos]
    pos = pos[keep]
    bh = busy_hour.loc[keep] if not keep.all() else busy_hour
    src_row = np.flatnonzero(keep)
    period = pd.to_datetime(bh["period"]).to_numpy()
    load = pd.to_numeric(bh[qcol], errors="coerce").to_numpy(np.float64)
    order = _resource_period_order(pos, period)
    if order is not None:
        pos, period, load, src_row = pos[order], period[order], load[order], src_row[order]
    # .array, not .to_numpy(): a time-zone-aware column would become an object array of Timestamps
    busy = pd.to_datetime(bh["busy_hour"]).array if "busy_hour" in bh.columns else period
    if order is not None and busy is not period:
        busy = busy[order]
    ok_load = np.isfinite(load)
    if not ok_load.all():
        pos, period, load, busy = pos[ok_load], period[ok_load], load[ok_load], busy[ok_load]
        src_row = src_row[ok_load]
    return _BusyHourRows(pos=pos, period=period, busy=busy, load=load, src_row=src_row)


def _resource_period_order(pos: np.ndarray, period: np.ndarray) -> np.ndarray | None:
    """Order sorting rows by resource (inventory order) then period, or None when they already are
    (as ``busy_hour()`` returns them): a lexsort on dense codes, skipped when not needed."""
    pv = period.astype("datetime64[ns]").astype(np.int64)
    if pos.size > 1 and not (np.all(np.diff(pos) >= 0) and np.all((np.diff(pos) > 0) | (np.diff(pv) > 0))):
        return np.lexsort((pv, pos))
    return None


@dataclass
class _SizedRows:
    """What the sizing rules found for each row, filled kind by kind.

    ``kind_code``: index of the row's kind in ``KINDS``; ``capacity`` installed and ``needed``
    (capacity unit); ``target`` / ``gos``: the GoS target and the GoS with the installed capacity;
    ``carriable`` / ``shortfall``: load carried at the target and load lost now; ``metric_code`` /
    ``sunit_code``: index in ``metrics`` (GoS measure names) / ``sunits`` (shortfall units).
    """

    kind_code: np.ndarray
    capacity: np.ndarray
    target: np.ndarray
    needed: np.ndarray
    gos: np.ndarray
    carriable: np.ndarray
    shortfall: np.ndarray
    metric_code: np.ndarray
    sunit_code: np.ndarray
    metrics: list[str] = field(default_factory=list)
    sunits: list[str] = field(default_factory=list)

    def put(self, mask: np.ndarray, s: Sizing) -> None:
        """Store one kind's :class:`Sizing` in the rows ``mask`` selects."""
        self.needed[mask], self.gos[mask], self.carriable[mask], self.shortfall[mask] = (
            s.needed,
            s.gos,
            s.carriable,
            s.shortfall,
        )
        for names, codes, value in (
            (self.metrics, self.metric_code, s.gos_metric),
            (self.sunits, self.sunit_code, s.shortfall_unit),
        ):
            if value not in names:
                names.append(value)
            codes[mask] = names.index(value)


def _size_every_kind(inv: pd.DataFrame, rows: _BusyHourRows, target_all: np.ndarray) -> _SizedRows:
    """Apply each kind's sizing rule (:data:`SIZING_RULES`) to all its rows at once."""
    n = rows.pos.size
    kcode_inv = pd.Categorical(inv["kind"].to_numpy(), categories=list(KINDS)).codes.astype(np.int64)
    kcode = kcode_inv[rows.pos]
    cap_inv = inv["capacity"].to_numpy(np.float64)
    sized = _SizedRows(
        kind_code=kcode,
        capacity=cap_inv[rows.pos],
        target=target_all[rows.pos],
        needed=np.full(n, np.nan),
        gos=np.full(n, np.nan),
        carriable=np.full(n, np.nan),
        shortfall=np.full(n, np.nan),
        metric_code=np.full(n, -1, dtype=np.int64),
        sunit_code=np.full(n, -1, dtype=np.int64),
    )
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
            pos=rows.pos[m],
            period=rows.period[m],
            load=rows.load[m],
            capacity=sized.capacity[m],
            target=sized.target[m],
            capacity_inv=cap_inv,
            target_inv=target_all,
        )
        sized.put(m, rule(ctx))
    return sized


def _dimension_table(inv: pd.DataFrame, rows: _BusyHourRows, sized: _SizedRows, qcol: str) -> pd.DataFrame:
    """The :data:`DIMENSION_COLUMNS` table of :func:`dimension` from the sized rows."""
    pos, kcode, cap, load = rows.pos, sized.kind_code, sized.capacity, rows.load
    n = pos.size
    gos_ok = sized.needed <= cap * (1.0 + RTOL) + RTOL
    # Categorical columns built from integer codes: cheap on millions of rows.
    ids = pd.Index(inv["resource_id"].to_numpy())
    return pd.DataFrame(
        {
            "resource_id": pd.Categorical.from_codes(pos, categories=ids),
            "period": rows.period,
            "busy_hour": rows.busy,
            "kind": pd.Categorical.from_codes(kcode, categories=list(KINDS)),
            "region": _inventory_categorical(inv["region"].astype(str).to_numpy(), pos),
            "group": _inventory_categorical(inv["group"].to_numpy(), pos),
            "priority_class": _inventory_categorical(inv["priority_class"].to_numpy(), pos),
            "quantile": pd.Categorical.from_codes(np.zeros(n, dtype=np.int64), categories=[qcol]),
            "load": load,
            "load_unit": _unit(kcode, 0),
            "capacity": cap,
            "needed": sized.needed,
            "capacity_unit": _unit(kcode, 1),
            "gos_metric": pd.Categorical.from_codes(sized.metric_code, categories=sized.metrics or ["none"]),
            "gos_target": sized.target,
            "gos": sized.gos,
            "gos_ok": gos_ok,
            "shortfall": sized.shortfall,
            "shortfall_unit": pd.Categorical.from_codes(
                sized.sunit_code, categories=sized.sunits or ["none"]
            ),
            "carriable": sized.carriable,
            "headroom": sized.carriable - load,
        }
    )


def _inventory_categorical(values: np.ndarray, pos: np.ndarray) -> pd.Categorical:
    """An inventory column (one value per inventory row) spread to the rows at inventory rows ``pos``."""
    codes, uniq = pd.factorize(values)
    return pd.Categorical.from_codes(codes[pos], categories=pd.Index(uniq))


def _unit(codes: np.ndarray, which: int) -> pd.Categorical:
    """Load (0) or capacity (1) unit per row from kind codes, as a categorical."""
    names = list(KINDS)
    units = [(KINDS[k].load_unit, KINDS[k].capacity_unit)[which] for k in names]
    uniq = list(dict.fromkeys(units))
    remap = np.array([uniq.index(u) for u in units] + [-1])
    return pd.Categorical.from_codes(remap[codes], categories=uniq)
