"""What each input table must hold: its columns (kind, bounds, choices, defaults), natural key, column
aliases and cross-column rules (:data:`RULES`), read by
:func:`surgeplan.store.validate.stage_and_validate`."""

from __future__ import annotations

from dataclasses import dataclass, field

from surgeplan.kinds import INVENTORY_OPTIONAL, KINDS, PRIORITY_CLASSES


@dataclass(frozen=True)
class Column:
    """How to read and check one input column.

    ``kind`` is ``text``, ``number``, ``timestamp`` (tz-aware instant, stored UTC) or ``date``
    (calendar day). ``low``/``high`` bound numbers (``low_open``: strictly greater); ``allow_inf``
    lets ``inf`` through (e.g. infinite patience); ``choices`` restricts text; ``default`` fills
    empty optional cells.
    """

    name: str
    kind: str
    required: bool = True
    low: float | None = None
    low_open: bool = False
    high: float | None = None
    high_open: bool = False
    allow_inf: bool = False
    choices: tuple[str, ...] | None = None
    default: object = None


@dataclass(frozen=True)
class Rule:
    """A cross-column condition: rows where ``bad_sql`` (over staged values) holds are rejected."""

    column: str
    bad_sql: str
    message: str
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableRules:
    """Everything needed to validate one input table."""

    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    optional: frozenset[str] = frozenset()
    aliases: dict[str, str] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    references_resources: str | None = None  # staged column that must name a known resource

    @property
    def required_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.name not in self.optional)


def _num(name: str, **kw) -> Column:
    return Column(name, "number", **kw)


_INVENTORY_COLUMNS = (
    Column("resource_id", "text"),
    Column("kind", "text", choices=tuple(KINDS)),
    Column("region", "text"),
    _num("capacity", low=0.0),
    _num("module_size", low=0.0, low_open=True),
    _num("max_capacity", low=0.0, allow_inf=True),
    _num("lead_time_days", low=0.0),
    _num("module_cost", low=0.0),
    Column("group", "text", required=False),
    Column("priority_class", "text", choices=PRIORITY_CLASSES),
    Column("name", "text", required=False),
    Column("site", "text", required=False),
    _num("gos_target", required=False, low=0.0, low_open=True, high=1.0),
    _num(
        "retry_probability",
        required=False,
        low=0.0,
        high=1.0,
        high_open=True,
        default=INVENTORY_OPTIONAL["retry_probability"],
    ),
    _num("redial_delay_s", required=False, low=0.0, low_open=True, allow_inf=True),  # empty: not given
    _num(
        "holding_time_s",
        required=False,
        low=0.0,
        low_open=True,
        default=INVENTORY_OPTIONAL["holding_time_s"],
    ),
    _num("aht_s", required=False, low=0.0, low_open=True, default=INVENTORY_OPTIONAL["aht_s"]),
    _num(
        "patience_s",
        required=False,
        low=0.0,
        low_open=True,
        allow_inf=True,
        default=INVENTORY_OPTIONAL["patience_s"],
    ),
    _num("answer_within_s", required=False, low=0.0, default=INVENTORY_OPTIONAL["answer_within_s"]),
    _num("abandon_max", required=False, low=0.0, high=1.0, default=INVENTORY_OPTIONAL["abandon_max"]),
    Column("feeds", "text", required=False),
    Column("language", "text", required=False),
    _num("ivr_time_s", required=False, low=0.0, default=INVENTORY_OPTIONAL["ivr_time_s"]),
    *(
        _num(c, required=False, low=0.0, high=1.0, default=INVENTORY_OPTIONAL[c])
        for c in ("self_service_share", "containment_share", "callback_share")
    ),
    _num("concurrency", required=False, low=1.0, default=INVENTORY_OPTIONAL["concurrency"]),
    _num("concurrency_slowdown", required=False, low=0.0, default=INVENTORY_OPTIONAL["concurrency_slowdown"]),
    _num(
        "service_window_s",
        required=False,
        low=0.0,
        low_open=True,
        default=INVENTORY_OPTIONAL["service_window_s"],
    ),
)

RULES: dict[str, TableRules] = {
    "resources": TableRules(
        "resources",
        _INVENTORY_COLUMNS,
        key=("resource_id",),
        optional=frozenset(INVENTORY_OPTIONAL),
        rules=(
            Rule(
                "max_capacity",
                "max_capacity < capacity",
                "max_capacity is below capacity",
                needs=("capacity", "max_capacity"),
            ),
        ),
    ),
    "measurements": TableRules(
        "measurements",
        (Column("resource_id", "text"), Column("ts", "timestamp"), _num("load", low=0.0)),
        key=("resource_id", "ts"),
        aliases={"unique_id": "resource_id", "ds": "ts", "y": "load"},
        references_resources="resource_id",
    ),
    "indicators": TableRules(
        "indicators",
        (Column("region", "text"), Column("date", "date"), Column("name", "text"), _num("value")),
        key=("region", "date", "name"),
    ),
    # covariates: the key column is 'resource_id' or 'region'; ingest renames it to 'key'
    "covariates_resource_id": TableRules(
        "covariates",
        (Column("key", "text"), Column("ts", "timestamp"), Column("name", "text"), _num("value")),
        key=("key", "ts", "name"),
        aliases={"resource_id": "key", "unique_id": "key", "ds": "ts"},
        references_resources="key",
    ),
    "covariates_region": TableRules(
        "covariates",
        (Column("key", "text"), Column("ts", "timestamp"), Column("name", "text"), _num("value")),
        key=("key", "ts", "name"),
        aliases={"region": "key", "ds": "ts"},
    ),
}


# --------------------------------------------------------------------------------------------
