"""Plan settings: what a scenario TOML says about the plan, validated once.

A scenario file is for people to read and diff::

    [plan]
    asof = 2020-03-16            # planning date (default: the day after the last measurement)
    horizon_days = 42
    cadence = "D"                # planning periods: D (day) or W (ISO week)
    quantile = 0.9               # the forecast quantile sized on ("p90" is read the same)
    alert_quantiles = [0.5, 0.9, 0.99]
    budget = 2_000_000           # ceiling on the plan's cost (currency of module_cost)
    max_growth = 10              # forecast guard: a busy hour's centre, x the highest measured
    tz = "UTC"                   # time zone of the planning day
    [plan.ops_per_day]           # field operations per day, by region ('*' = the rest)
    "*" = 40
    [plan.ops_per_module]        # operations one module takes, by kind
    contact_center = 0
    [gos]                        # GoS targets by kind or resource_id
    trunk_group = 0.01
    [indicators.FRA]             # assumed indicators over the horizon
    lockdown_start = 2020-03-17

The forecast quantiles are derived: the sizing quantile, the alert quantiles and the median.
Errors name the file and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from surgeplan import quantiles
from surgeplan.errors import SurgeplanError
from surgeplan.kinds import KINDS

__all__ = ["PlanSettings", "load_plan_settings", "survive_setting"]

#: Longest horizon a plan may take: 26 weeks, beyond which no shock forecast is worth sizing on.
MAX_HORIZON_DAYS = 182


@dataclass
class PlanSettings:
    """Plan settings (every field has a default).

    Attributes
    ----------
    asof : Timestamp or None
        Planning date (naive day); None = the day after the last measurement.
    horizon_days : int
        How far ahead to forecast and plan, days.
    cadence : {'D', 'W'}
        Planning period: day or ISO week.
    quantile : float
        Forecast quantile the plan sizes on (probability, 0.9 = p90).
    alert_quantiles : tuple of float
        Quantiles of the alerts table.
    extra_quantiles : tuple of float
        Further quantiles to forecast and export (e.g. 0.1 for the lower band).
    budget : float or None
        Ceiling on the plan's cost (currency of ``module_cost``).
    ops_per_day : int or dict or None
        Field operations per day per region (``'*'`` = default for regions not listed).
    ops_per_module : dict
        Operations one module takes, by kind (default 1).
    gos : dict
        GoS target overrides by kind or resource_id.
    indicators : dict
        Indicator assumptions per region for the horizon (``lockdown_start``, ``lockdown_end``,
        ``stringency``, ``stay_home_required``); empty = project or hold the observed values.
    output_dir : Path
        Where exports and the report go.
    max_growth : float or None
        Forecast guard: the centre of a busy-hour forecast (its mean or median) may be at most
        this multiple of the highest busy hour measured on the resource; a row beyond it is scaled
        down whole and counted (:func:`surgeplan.plan.once.bound_forecast`). None disables it.
    tz : str
        IANA time zone of the planning day (busy hours per local day).
    survive : str or list or None
        Failures the plan must survive (``"n-1"``, ``"sites"``, or a list of SPECs / lists of
        SPECs; see :func:`surgeplan.continuity.whatif`).
    levers : dict
        Customer-relation deflection levers (``[levers]``: IVR self-service share, chatbot
        containment, callback share; :func:`surgeplan.dimension.flow.read_levers`).
    """

    asof: pd.Timestamp | None = None
    horizon_days: int = 42
    cadence: str = "D"
    quantile: float = 0.9
    alert_quantiles: tuple[float, ...] = (0.5, 0.9, 0.99)
    extra_quantiles: tuple[float, ...] = ()
    budget: float | None = None
    ops_per_day: int | dict[str, int] | None = None
    ops_per_module: dict[str, int] = field(default_factory=dict)
    gos: dict[str, float] = field(default_factory=dict)
    indicators: dict[str, dict[str, Any]] = field(default_factory=dict)
    output_dir: Path = Path("surgeplan-plan")
    max_growth: float | None = 10.0
    tz: str = "UTC"
    survive: str | list | None = None
    levers: dict[str, Any] = field(default_factory=dict)

    @property
    def forecast_quantiles(self) -> tuple[float, ...]:
        """The quantiles the forecaster produces: sizing, alert and extra quantiles, and the median."""
        return tuple(sorted({0.5, self.quantile, *self.alert_quantiles, *self.extra_quantiles}))

    @property
    def quantile_column(self) -> str:
        """The forecast column the plan sizes on (``'p90'``)."""
        return quantiles.column(self.quantile)


_IND_KEYS = frozenset({"lockdown_start", "lockdown_end", "stringency", "stay_home_required"})


class _Reader:
    """Reads one ``[plan]`` table; every error names the source and the key."""

    def __init__(self, src: str, table: Mapping[str, Any]) -> None:
        self.src, self.table = src, table

    def fail(self, key: str, what: str) -> SurgeplanError:
        return SurgeplanError(f"{self.src}: [plan] {key} {what}")

    def number(
        self, key: str, value: Any, lo: float, hi: float = float("inf"), integer: bool = False
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"must be a number, got {value!r}")
        if not lo <= value <= hi:
            raise self.fail(key, f"must be between {lo:g} and {hi:g}, got {value!r}")
        return int(value) if integer else float(value)

    def quantile(self, key: str, value: Any) -> float:
        try:
            return quantiles.parse(value)
        except SurgeplanError as exc:
            raise SurgeplanError(f"{self.src}: [plan] {key}: {exc}") from None

    def quantile_list(self, key: str, value: Any) -> tuple[float, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(key, f"must be a list of quantiles such as [0.5, 0.9], got {value!r}")
        return tuple(sorted({self.quantile(key, v) for v in value}))

    def ops_per_day(self, value: Any) -> int | dict[str, int]:
        if isinstance(value, Mapping):
            return {str(k): self.number(f"ops_per_day.{k}", v, 0, integer=True) for k, v in value.items()}
        return self.number("ops_per_day", value, 0, integer=True)

    def ops_per_module(self, value: Any) -> dict[str, int]:
        if not isinstance(value, Mapping):
            raise self.fail("ops_per_module", "must be a table of kind = operations")
        bad = [k for k in value if k not in KINDS]
        if bad:
            raise self.fail("ops_per_module", f"names an unknown kind {bad[0]!r}; known: {', '.join(KINDS)}")
        return {k: self.number(f"ops_per_module.{k}", v, 0, integer=True) for k, v in value.items()}

    def asof(self, value: Any) -> pd.Timestamp:
        try:
            return pd.Timestamp(str(value)).normalize()
        except ValueError:
            raise self.fail("asof", f"is not a date: {value!r}") from None

    def cadence(self, value: Any) -> str:
        if value not in ("D", "W"):
            raise self.fail("cadence", f"must be 'D' or 'W', got {value!r}")
        return value

    def tz(self, value: Any) -> str:
        from surgeplan.forecast.busy_hour import local_period

        try:
            local_period(pd.DatetimeIndex([pd.Timestamp("2020-01-01", tz="UTC")]), "D", str(value))
        except SurgeplanError:
            raise self.fail("tz", f"is not a known time zone: {value!r}") from None
        return str(value)


def survive_setting(value: Any, src: str) -> str | list:
    """``survive``: a sweep name, or a list of SPECs / lists of SPECs (checked against the
    inventory when the plan runs)."""
    from surgeplan.continuity import SWEEPS

    if isinstance(value, str):
        return value if value in SWEEPS else [value]
    if (
        isinstance(value, list)
        and value
        and all(
            isinstance(v, str) or (isinstance(v, list) and v and all(isinstance(x, str) for x in v))
            for v in value
        )
    ):
        return value
    raise SurgeplanError(
        f"{src}: survive must be one of {', '.join(repr(k) for k in SWEEPS)} or a list of "
        f"failure SPECs (RESOURCE_ID, site:NAME, region:ISO3, group:NAME), got {value!r}"
    )


# key -> how to read it (the reader method and its extra arguments)
_PLAN_FIELDS: dict[str, tuple[str, tuple]] = {
    "asof": ("asof", ()),
    "horizon_days": ("number", (1, MAX_HORIZON_DAYS, True)),
    "cadence": ("cadence", ()),
    "quantile": ("quantile", ()),
    "alert_quantiles": ("quantile_list", ()),
    "forecast_quantiles": ("quantile_list", ()),
    "budget": ("number", (0,)),
    "ops_per_day": ("ops_per_day", ()),
    "ops_per_module": ("ops_per_module", ()),
    "max_growth": ("number", (1,)),
    "output_dir": ("path", ()),
    "tz": ("tz", ()),
    "survive": ("survive", ()),
}


def _read_plan_table(src: str, plan: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(plan) - set(_PLAN_FIELDS))
    if unknown:
        raise SurgeplanError(
            f"{src}: [plan] unknown key {unknown[0]!r}; known: {', '.join(sorted(_PLAN_FIELDS))}"
        )
    reader = _Reader(src, plan)
    out: dict[str, Any] = {}
    for key, value in plan.items():
        how, args = _PLAN_FIELDS[key]
        if how == "path":
            out[key] = Path(str(value))
        elif how == "survive":
            out[key] = survive_setting(value, f"{src}: [plan]".rstrip(":"))
        elif how in ("number", "quantile", "quantile_list"):
            out[key] = getattr(reader, how)(key, value, *args)
        else:
            out[key] = getattr(reader, how)(value, *args)
    # Earlier files listed the forecast quantiles by hand; they are derived now, and any listed
    # beyond the sizing and alert quantiles are kept as extra quantiles.
    if "forecast_quantiles" in out:
        out["extra_quantiles"] = out.pop("forecast_quantiles")
    return out


def _read_gos(src: str, gos: Any) -> dict[str, float]:
    if not isinstance(gos, Mapping):
        raise SurgeplanError(f"{src}: [gos] must be a table of kind or resource_id = target")
    for k, v in gos.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1:
            raise SurgeplanError(f"{src}: [gos] {k} must be a number in (0, 1), got {v!r}")
    return {str(k): float(v) for k, v in gos.items()}


def _read_indicators(src: str, table: Any) -> dict[str, dict[str, Any]]:
    out = {}
    for region, spec in dict(table).items():
        if not isinstance(spec, Mapping):
            raise SurgeplanError(f"{src}: [indicators.{region}] must be a table")
        bad = sorted(set(spec) - _IND_KEYS)
        if bad:
            raise SurgeplanError(
                f"{src}: [indicators.{region}] unknown key {bad[0]!r}; known: {', '.join(sorted(_IND_KEYS))}"
            )
        if "lockdown_start" not in spec:
            raise SurgeplanError(f"{src}: [indicators.{region}] needs lockdown_start")
        out[str(region)] = {k: (str(v) if k.startswith("lockdown") else v) for k, v in spec.items()}
    return out


def load_plan_settings(path: str | Path | None = None, raw: Mapping[str, Any] | None = None) -> PlanSettings:
    """Read plan settings from a scenario TOML (or an already parsed dict).

    Tables: ``[plan]`` (see the module docstring), ``[gos]``, ``[indicators.<REGION>]`` and
    ``[levers]`` (customer-relation deflection); other
    top-level tables (the simulator's) are ignored. A dict without a ``plan`` table is read as the
    ``[plan]`` table itself. Errors name the file and the key.
    """
    src = str(path) if path is not None else "<settings>"
    if raw is None:
        if path is None:
            return PlanSettings()
        p = Path(path)
        if not p.exists():
            raise SurgeplanError(f"{src}: no such scenario file")
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SurgeplanError(f"{src}: not valid TOML: {exc}") from None
    tables = {"plan", "gos", "indicators", "levers"}
    if not tables & set(raw) and set(raw) <= set(_PLAN_FIELDS):
        raw = {"plan": raw}
    plan = raw.get("plan", {})
    if not isinstance(plan, Mapping):
        raise SurgeplanError(f"{src}: [plan] must be a table")
    from surgeplan.dimension.flow import read_levers

    levers = read_levers(raw if path is None else path) if "levers" in raw else {}
    return PlanSettings(
        **_read_plan_table(src, plan),
        gos=_read_gos(src, raw.get("gos", {})),
        indicators=_read_indicators(src, raw.get("indicators", {})),
        levers=levers,
    )
