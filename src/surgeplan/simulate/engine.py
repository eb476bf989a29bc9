"""The simulator: realistic load for any inventory under any indicator-driven shock.

For resource ``i`` of kind ``k`` in region ``r``, the expected load at UTC instant ``t`` is::

    mu_i(t) = B_i * g_k(t) * m_{k,r}(t) * [(1 - w) p_k(h, d) + w L_k(h)] * f_i(day)

=============== =================================================================================
``B_i``         busy-hour base load at ``reference_date`` = utilisation_i x capacity_i (kinds loaded in
                a rate per hour, e.g. contact centres: occupancy_i x agents x 3600 / aht_s calls
                per hour); utilisation_i drawn
                per resource from Beta(utilisation_mean, utilisation_sd) (seeded)
``g_k(t)``      organic growth ``(1 + growth_per_year) ** years since reference_date``
``m_{k,r}(t)``  shock multiplier ``1 + (uplift - 1) x_r(t)``, ``x`` the lagged, saturating (optionally
                habituating) response to the region's indicator on its local day
                (:mod:`surgeplan.simulate.shock`)
``p_k, L_k``    normal weekly profile (busy hour = 1) and lockdown shape at the local hour ``h`` and
                day ``d`` of the region's working week (public holidays = last weekend day);
                ``w = flatten x`` (:mod:`surgeplan.simulate.profiles`)
``f_i(day)``    day-to-day level factor, lognormal with log-sd ``day_sd`` and mean 1
=============== =================================================================================

Each output value is the mean over its interval: the rate is averaged over sub-steps of at most
``substep_minutes`` (midpoint rule). Around that mean, per interval of length ``dt``:

* ``arrivals = "erlang"`` (trunk groups): calls arrive as a Poisson process of rate ``mu / h``
  (``h`` = mean holding time), ``N ~ Poisson(mu dt / h)``; with exponential holding times the
  time-averaged number of busy circuits of an M/M/inf system has variance
  ``2 mu (h/dt) [1 - (h/dt)(1 - exp(-dt/h))]``, so the load is ``mu + c (N - mu dt/h) h/dt`` with
  ``c^2 = 2 [1 - (h/dt)(1 - exp(-dt/h))]`` (mean and variance exact; successive intervals treated as
  independent);
* ``arrivals = "calls"`` (contact centres): ``N ~ Poisson(mu dt)`` calls, load ``N / dt`` calls/hour;
* every kind: white Gaussian noise of variance ``(noise_cv B)^2 (mu / B)^noise_power (tau / dt)``
  (``tau`` = ``noise_reference_minutes``): the variance scales with the load, and averaging ``n``
  short intervals gives the variance of one long interval (consistent cadences).

Trunk-group and bridge loads are *offered* traffic (what a planner dimensions), not carried traffic
capped by the installed circuits; likewise VPN sessions and calls per hour are demand. Loads are
clipped at 0. Randomness is per resource: a numpy ``PCG64`` stream seeded by
``(seed, blake2b(resource_id))``, so a resource's series does not depend on the other resources or
their order. The expected load is computed once per (region, kind, group) over the time grid and
applied to all its resources as one (resources x time) matrix, chunked to bound memory.

References
----------
.. [1] ITU-T Rec. E.500 (busy hour); J. Riordan, "Telephone traffic time averages", Bell System
   Technical Journal 30, 1951 (variance of time-averaged traffic on an infinite group).
.. [2] N. Gans, G. Koole, A. Mandelbaum, "Telephone call centers: tutorial, review, and research
   prospects", M&SOM 5(2), 2003 (Poisson arrivals).
.. [3] A. Feldmann et al., "The Lockdown Effect", ACM IMC 2020; Orange press release, March 2020.
"""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from collections.abc import Hashable
from typing import Any, NamedTuple, Union

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError, ValidationError, reject_first
from surgeplan.kinds import KINDS
from surgeplan.simulate.profiles import holiday_days, local_clock, profile_day, profile_parts, region_timezone
from surgeplan.simulate.scenario import KindParams, Scenario, ShockParams, load_scenario
from surgeplan.simulate.shock import region_response

#: Kinds whose load is a rate (calls, sessions, chats, messages per hour): the base load is
#: utilisation x capacity x 3600 / aht_s (each capacity unit busy aht_s seconds per arrival).
_RATE_KINDS = [k for k, v in KINDS.items() if v.load_unit.endswith("_per_hour")]

PathLike = Union[str, "os.PathLike[str]"]
DateLike = Union[str, pd.Timestamp, np.datetime64, "datetime.date", "datetime.datetime"]  # noqa: F821

_NS_PER_S = 1_000_000_000
_NS_PER_DAY = 86_400 * _NS_PER_S
_MIN_DT = pd.Timedelta(minutes=1)
_MAX_DT = pd.Timedelta(days=1)
#: Elements of one (resources x time) working matrix: ~8 MB per float64 array, small enough for the
#: allocator to reuse its heap between blocks instead of mapping fresh pages each time.
_CHUNK_ELEMENTS = 1_000_000


# --------------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------------
def _utc(value: DateLike, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise SurgeplanError(f"{name}: not a date/time: {value!r}") from None
    if ts is pd.NaT:
        raise SurgeplanError(f"{name}: not a date/time: {value!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def time_grid(start: DateLike, end: DateLike, freq: str) -> tuple[pd.DatetimeIndex, int]:
    """UTC interval starts ``[start, end)`` every ``freq`` and the interval length in nanoseconds.

    Parameters
    ----------
    start, end : date-like
        Naive values are UTC. ``end`` is exclusive.
    freq : str
        pandas offset alias of a fixed length between 1 minute and 1 day (``'1min'``, ``'15min'``,
        ``'1h'``, ``'1D'``).
    """
    t0, t1 = _utc(start, "start"), _utc(end, "end")
    if not t1 > t0:
        raise SurgeplanError(f"end ({t1}) must be after start ({t0})")
    try:
        with warnings.catch_warnings():  # legacy aliases ('H', 'T') still mean what they say
            warnings.simplefilter("ignore", FutureWarning)
            dt = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except (ValueError, TypeError):
        raise SurgeplanError(
            f"freq: {freq!r} is not a fixed-length pandas offset alias (e.g. '15min', '1h', '1D')"
        ) from None
    if dt < _MIN_DT or dt > _MAX_DT:
        raise SurgeplanError(f"freq: {freq!r} outside 1 minute .. 1 day")
    idx = pd.date_range(t0, t1, freq=dt, inclusive="left")
    return idx, int(dt.value)


def _check_inventory(inventory: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(inventory, pd.DataFrame):
        raise SurgeplanError(f"inventory must be a pandas DataFrame, got {type(inventory).__name__}")
    missing = [c for c in ("resource_id", "kind", "region", "capacity") if c not in inventory.columns]
    if missing:
        raise ValidationError(
            f"missing column(s) {', '.join(missing)}", file="<inventory>", column=missing[0]
        )
    inv = inventory.reset_index(drop=True)
    ids = inv["resource_id"].astype(str)
    reject_first(
        ids.duplicated().to_numpy(),
        lambda r: f"duplicate resource_id {ids[r]!r}",
        file="<inventory>",
        column="resource_id",
    )
    kinds = inv["kind"].astype(str)
    reject_first(
        (~kinds.isin(list(KINDS))).to_numpy(),
        lambda r: f"unknown kind {kinds[r]!r}; known: {', '.join(KINDS)}",
        file="<inventory>",
        column="kind",
    )
    cap = pd.to_numeric(inv["capacity"], errors="coerce").to_numpy(dtype=np.float64)
    reject_first(
        ~(np.isfinite(cap) & (cap > 0)),
        lambda r: f"capacity must be a positive number, got {inv['capacity'][r]!r}",
        file="<inventory>",
        column="capacity",
    )
    aht = (
        pd.to_numeric(inv["aht_s"], errors="coerce").to_numpy(dtype=np.float64)
        if "aht_s" in inv.columns
        else np.full(len(inv), np.nan)
    )
    is_cc = kinds.isin(_RATE_KINDS).to_numpy()
    aht = np.where(np.isfinite(aht) & (aht > 0), aht, 300.0)  # kinds.INVENTORY_OPTIONAL default
    group = inv["group"] if "group" in inv.columns else pd.Series([""] * len(inv))
    region = inv["region"].where(inv["region"].notna(), "").astype(str).str.strip().str.upper()
    return pd.DataFrame(
        {
            "resource_id": ids,
            "kind": kinds,
            "region": region,
            "capacity": cap,
            "group": group.where(group.notna(), "").astype(str),
            "aht_s": np.where(is_cc, aht, np.nan),
        }
    )


def _resolve_scenario(scenario: Scenario | PathLike | dict | None) -> Scenario:
    if scenario is None:
        return load_scenario()
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, dict):
        return load_scenario(overrides=scenario)
    return load_scenario(scenario)


# --------------------------------------------------------------------------------------------------
# per-resource random streams
# --------------------------------------------------------------------------------------------------
def resource_key(resource_id: str) -> tuple[int, int, int, int]:
    """Four 32-bit words from blake2b(resource_id): the resource's part of its RNG seed."""
    digest = hashlib.blake2b(str(resource_id).encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))  # type: ignore[return-value]


def resource_rng(seed: int, resource_id: str, stream: int) -> np.random.Generator:
    """The independent random stream ``stream`` of one resource (0 = static draws, 1 = time series)."""
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence([int(seed), *resource_key(resource_id), stream]))
    )


def draw_utilisation(ids: list[str], mean: float, sd: float, seed: int) -> np.ndarray:
    """Busy-hour utilisation per resource, Beta(mean, sd), from each resource's static stream.

    ``sd = 0`` gives ``mean`` for all. The Beta parameters are ``a = m k``, ``b = (1 - m) k`` with
    ``k = m (1 - m) / sd^2 - 1``.
    """
    if sd <= 0:
        return np.full(len(ids), mean)
    k = mean * (1.0 - mean) / (sd * sd) - 1.0
    a, b = mean * k, (1.0 - mean) * k
    return np.array([resource_rng(seed, rid, 0).beta(a, b) for rid in ids], dtype=np.float64)


def erlang_noise_factor(dt_s: Any, holding_time_s: Any) -> Any:
    """``c`` such that ``c (N - lambda dt) h / dt`` has the variance of a time-averaged M/M/inf load.

    ``c^2 = 2 [1 - (h/dt)(1 - exp(-dt/h))]``: tends to ``dt / h`` for ``dt << h`` (a snapshot of a
    Poisson number of busy circuits, variance = mean) and to 2 for ``dt >> h``.
    """
    r = np.asarray(holding_time_s, dtype=np.float64) / np.asarray(dt_s, dtype=np.float64)
    return np.sqrt(2.0 * (1.0 - r * (-np.expm1(-1.0 / r))))


# --------------------------------------------------------------------------------------------------
# the simulator
# --------------------------------------------------------------------------------------------------
def simulate(
    inventory: pd.DataFrame,
    indicators: pd.DataFrame | None = None,
    scenario: Scenario | PathLike | dict | None = None,
    start: DateLike = "2020-01-01",
    end: DateLike = "2020-07-01",
    freq: str = "1h",
    seed: int = 0,
    *,
    truth: bool = False,
) -> pd.DataFrame:
    """Simulate the load of every resource of an inventory under an indicator-driven shock.

    Parameters
    ----------
    inventory : pandas.DataFrame
        Inventory (``docs/INTERFACES.md``); uses ``resource_id, kind, region, capacity`` and, when
        present, ``group`` (scenario ``[groups]`` overrides) and ``aht_s`` (contact centres, s).
    indicators : pandas.DataFrame, optional
        Long table ``region, date, name, value``; the scenario's ``[shock] indicator`` drives the
        response. None = no shock (normal weeks only).
    scenario : Scenario, path or dict, optional
        A :class:`Scenario`, a TOML file merged over the default, or a dict with the TOML's structure
        merged over the default (``{"kinds": {"link": {"uplift": 1.5}}}``); None = bundled default.
    start, end : date-like
        Simulated period ``[start, end)``, UTC when naive.
    freq : str, default '1h'
        Cadence, a fixed pandas offset alias from ``'1min'`` to ``'1D'``; each value is the mean load
        over its interval (for ``'1D'`` the daily mean, not the busy hour).
    seed : int, default 0
        Same seed, same output; a resource's series depends only on the seed, its own attributes,
        the period and the cadence.
    truth : bool, default False
        Also return the noise-free components: ``baseline`` (expected load without shock and without
        the day factor, ``B g p``), ``multiplier`` (the shock's level multiplier ``1 + (uplift - 1) x``,
        interval mean), ``expected`` (conditional mean given the day factor: ``B g m [(1 - w) p + w L] f``,
        equal to baseline x multiplier x day factor when ``flatten = 0``) and ``arrivals`` (Poisson
        count in the interval for ``erlang``/``calls`` kinds, NaN otherwise).

    Returns
    -------
    pandas.DataFrame
        Long table ``resource_id`` (Categorical, inventory order), ``ts`` (interval start,
        ``datetime64[ns, UTC]``), ``load`` (float64, the kind's unit: Erlangs, Gbps, sessions,
        Erlangs of ports, calls per hour), sorted by resource then time.

    Raises
    ------
    SurgeplanError, ValidationError
        Bad inventory row/column, dates, cadence or scenario.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SurgeplanError(f"seed must be a non-negative integer, got {seed!r}")
    inv = _check_inventory(inventory)
    sc = _resolve_scenario(scenario)
    grid = _grid(start, end, freq, sc.substep_minutes)
    T, R = len(grid.idx), len(inv)
    ids = inv["resource_id"].tolist()
    region_list = sorted(set(inv["region"].to_numpy()))
    region_col = {r: j for j, r in enumerate(region_list)}
    combo_of = _combinations(inv, sc)
    base = _base_loads(inv, sc, combo_of, ids, seed)

    load = np.empty(R * T)
    extra = (
        {name: np.empty(R * T) for name in ("baseline", "multiplier", "expected", "arrivals")}
        if truth
        else {}
    )
    clock_cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # per region
    shock_cache: dict[ShockParams, np.ndarray] = {}
    years = (grid.sub_ns - sc.reference_date.value) / (365.25 * _NS_PER_DAY)
    tau_ratio = sc.noise_reference_minutes * 60.0 / grid.dt_s
    for (region, kname, gname), members in combo_of.items():
        kp: KindParams = sc.kind_params(kname, gname or None)
        if region not in clock_cache:
            clock_cache[region] = _region_clock(region, grid, sc)
        hour, dow, lday = clock_cache[region]
        sp = sc.shock_for(kp)
        if sp not in shock_cache:
            shock_cache[sp] = region_response(indicators, region_list, grid.days, sp)
        x = shock_cache[sp][lday, region_col[region]]  # (T, n_sub)
        rel = _relative_load(sc.profiles[kp.profile], kp, x, hour, dow, years, bool(extra))
        day_of_interval = lday[:, grid.mid_col]
        _simulate_members(members, ids, base, rel, day_of_interval, grid, kp, tau_ratio, seed, load, extra)
    return _long_table(ids, grid.idx, load, extra)


class _Grid(NamedTuple):
    """The simulated intervals, their sub-steps and the day axis of the shock response."""

    idx: pd.DatetimeIndex  # interval starts, UTC
    dt_s: float  # interval length, seconds
    sub_ns: np.ndarray  # (T, n_sub) sub-step midpoints, ns since the epoch
    mid_col: int  # the sub-step whose local day is the interval's
    day0: int  # first day of the day axis, days since the epoch
    n_days: int
    days: pd.DatetimeIndex  # the day axis (fixed by start/end only)


def _grid(start: DateLike, end: DateLike, freq: str, substep_minutes: float) -> _Grid:
    """Intervals of ``freq`` over ``[start, end)``, each cut into sub-steps of at most
    ``substep_minutes`` (midpoint rule), and the days they touch (one either side)."""
    idx, dt_ns = time_grid(start, end, freq)
    n_sub = max(1, math.ceil(dt_ns / (substep_minutes * 60 * _NS_PER_S) - 1e-9))
    sub_ns = idx.asi8[:, None] + ((np.arange(n_sub) + 0.5) * (dt_ns / n_sub)).astype(np.int64)[None, :]
    day0 = idx.asi8[0] // _NS_PER_DAY - 1
    n_days = int(-(-(idx.asi8[-1] + dt_ns) // _NS_PER_DAY) + 1 - day0)
    days = pd.DatetimeIndex(((np.arange(n_days) + day0) * _NS_PER_DAY).astype("datetime64[ns]"))
    return _Grid(idx, dt_ns / _NS_PER_S, sub_ns, n_sub // 2, day0, n_days, days)


def _combinations(inv: pd.DataFrame, sc: Scenario) -> dict[Hashable, list[int]]:
    """Row positions of the resources sharing a (region, kind, scenario group): one expected load each."""
    groups = np.where(inv["group"].isin(list(sc.groups)), inv["group"], "")
    combo_of: dict[Hashable, list[int]] = {}
    for i, key in enumerate(zip(inv["region"].to_numpy(), inv["kind"].to_numpy(), groups)):
        combo_of.setdefault(key, []).append(i)
    return combo_of


def _base_loads(
    inv: pd.DataFrame, sc: Scenario, combo_of: dict[Hashable, list[int]], ids: list[str], seed: int
) -> np.ndarray:
    """Busy-hour base load ``B_i`` per resource, in its kind's unit (rate kinds: per hour)."""
    base = np.empty(len(inv))
    for (_, kname, gname), members in combo_of.items():
        kp = sc.kind_params(kname, gname or None)
        pos = np.asarray(members)
        u = draw_utilisation([ids[i] for i in members], kp.utilisation_mean, kp.utilisation_sd, seed)
        conv = 3600.0 / inv["aht_s"].to_numpy()[pos] if kname in _RATE_KINDS else 1.0
        base[pos] = u * inv["capacity"].to_numpy()[pos] * conv
    return base


def _region_clock(region: str, grid: _Grid, sc: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local hour, profile day (public holidays as the last weekend day) and position on the day axis
    of every sub-step in ``region``."""
    hour, dow, lday = local_clock(grid.sub_ns, region_timezone(region, sc.timezones))
    dow = profile_day(dow, region)
    if sc.public_holidays:
        off = holiday_days(region, int(lday.min()), int(lday.max()))
        if off.size:
            dow = np.where(np.isin(lday, off), 6, dow)
    return hour, dow, np.clip(lday - grid.day0, 0, grid.n_days - 1)


def _relative_load(
    prof, kp: KindParams, x: np.ndarray, hour: np.ndarray, dow: np.ndarray, years: np.ndarray, truth: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interval means of the expected load relative to ``B``: with the shock (``g m [(1 - w) p + w L]``),
    without it (``g p``) and the shock's level multiplier ``m`` (the last two only for ``truth``)."""
    normal, lock = profile_parts(prof, hour, dow)
    trend = np.power(1.0 + kp.growth_per_year, years)
    w = prof.flatten * x
    shocked = (1.0 + (kp.uplift - 1.0) * x) * ((1.0 - w) * normal + w * lock) * trend
    exp_rel = shocked.mean(axis=1)
    base_rel = (normal * trend).mean(axis=1) if truth else exp_rel
    level = (1.0 + (kp.uplift - 1.0) * x).mean(axis=1) if truth else exp_rel
    return exp_rel, base_rel, level


def _simulate_members(
    members: list[int],
    ids: list[str],
    base: np.ndarray,
    rel: tuple[np.ndarray, np.ndarray, np.ndarray],
    day_of_interval: np.ndarray,
    grid: _Grid,
    kp: KindParams,
    tau_ratio: float,
    seed: int,
    load: np.ndarray,
    extra: dict[str, np.ndarray],
) -> None:
    """Fill ``load`` (and ``extra``) for the resources at ``members``, in chunks that bound memory."""
    exp_rel, base_rel, level = rel
    T = len(grid.idx)
    chunk = max(1, _CHUNK_ELEMENTS // max(T, 1))
    for c0 in range(0, len(members), chunk):
        pos = np.asarray(members[c0 : c0 + chunk])
        _simulate_block(
            pos,
            [ids[i] for i in pos],
            base[pos],
            exp_rel,
            base_rel,
            level,
            day_of_interval,
            grid.n_days,
            kp,
            grid.dt_s,
            tau_ratio,
            seed,
            T,
            load,
            extra,
        )


def _long_table(ids: list[str], idx: pd.DatetimeIndex, load: np.ndarray, extra: dict) -> pd.DataFrame:
    """``resource_id`` (Categorical, inventory order), ``ts``, ``load`` and the truth columns, sorted by
    resource then time."""
    R, T = len(ids), len(idx)
    code_type = np.int16 if R < 2**15 else np.int32 if R < 2**31 else np.int64
    codes = np.broadcast_to(np.arange(R, dtype=code_type)[:, None], (R, T)).reshape(-1)
    ts = np.broadcast_to(idx.asi8, (R, T)).reshape(-1).view("datetime64[ns]")
    out = pd.DataFrame(
        {
            "resource_id": pd.Categorical.from_codes(codes, categories=pd.Index(ids, dtype=object)),
            "ts": pd.to_datetime(ts, utc=True),
            "load": load,
        },
        copy=False,
    )
    for name, values in extra.items():
        out[name] = values
    return out


def _simulate_block(
    pos: np.ndarray,
    ids: list[str],
    base: np.ndarray,
    exp_rel: np.ndarray,
    base_rel: np.ndarray,
    level: np.ndarray,
    day_of_interval: np.ndarray,
    n_days: int,
    kp: KindParams,
    dt_s: float,
    tau_ratio: float,
    seed: int,
    T: int,
    load: np.ndarray,
    extra: dict[str, np.ndarray],
) -> None:
    """Draw and write the series of one block of resources sharing (region, kind, group)."""
    n = len(pos)
    rngs = [resource_rng(seed, rid, 1) for rid in ids]
    zday = np.empty((n, n_days))
    z = np.empty((n, T)) if kp.noise_cv > 0 else None
    for j, rng in enumerate(rngs):  # one call per resource: its own stream, order-independent
        zday[j] = rng.standard_normal(n_days)
        if z is not None:
            z[j] = rng.standard_normal(T)
    s = kp.day_sd
    fday = np.exp(s * zday - 0.5 * s * s)[:, day_of_interval]  # (n, T)
    B = base[:, None]
    mu = fday
    mu *= exp_rel[None, :]
    mu *= B
    arrivals = None
    if kp.arrivals == "erlang":
        h = kp.holding_time_s
        lam_dt = mu * (dt_s / h)
        counts = np.empty_like(lam_dt)
        for j, rng in enumerate(rngs):
            counts[j] = rng.poisson(lam_dt[j])
        value = mu + erlang_noise_factor(dt_s, h) * (counts - lam_dt) * (h / dt_s)
        arrivals = counts
    elif kp.arrivals == "calls":
        lam_dt = mu * (dt_s / 3600.0)
        counts = np.empty_like(lam_dt)
        for j, rng in enumerate(rngs):
            counts[j] = rng.poisson(lam_dt[j])
        value = counts * (3600.0 / dt_s)
        arrivals = counts
    else:
        value = mu.copy()
    if kp.noise_cv > 0:
        rel = mu / B
        rel = np.sqrt(rel, out=rel) if kp.noise_power == 1.0 else np.power(rel, 0.5 * kp.noise_power, out=rel)
        rel *= z
        rel *= B * (kp.noise_cv * math.sqrt(tau_ratio))
        value += rel
    np.maximum(value, 0.0, out=value)
    load.reshape(-1, T)[pos] = value
    if extra:
        extra["baseline"].reshape(-1, T)[pos] = B * base_rel[None, :]
        extra["multiplier"].reshape(-1, T)[pos] = level[None, :]
        extra["expected"].reshape(-1, T)[pos] = mu
        extra["arrivals"].reshape(-1, T)[pos] = arrivals if arrivals is not None else np.nan
