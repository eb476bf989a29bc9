"""The learned driver (:mod:`surgeplan.forecast.driver`) wired into the forecaster's groups.

At fit, :func:`learn_drivers` reads each group's daily mean load (local days, the region's working
week and holidays) and chooses per kind the indicator rule, shape and size by leave-one-region-out
error. For every kind with a driver:

* its resources read the rule's daily driver (:func:`with_learned_specs` appends the rule to the
  mapping candidates, :func:`assign_specs` points the kind's resources at it);
* resources without a shape of their own take the rule's delay, rise and decay
  (:func:`assign_shapes`);
* the kind's pool centre, the response given to resources not hit yet, is the rule's size
  (:func:`learned_pools`): it is the size that predicted the other countries, measured on the
  daily load the planner dimensions for;
* with thin evidence (one region hit), the other regions take that region's size as their prior
  (:func:`carry_thin`; the region itself keeps its own fit) and their forecast is widened by the
  response's uncertainty where the driver is on (:func:`thin_spread`), instead of being flat;
* a carried response widens the forecast where the driver is on by what the selection measured
  of it: its size (:func:`response_spread`), onset (:func:`timing_spread`) and shape beyond the
  days any region was seen (:func:`exposure_spread`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from surgeplan.forecast import baseline as _bl
from surgeplan.forecast import features as _ft
from surgeplan.forecast import transfer as _tr
from surgeplan.forecast.driver import ONSET_DAY_SD, THIN_SD_SHARE, Candidate, DriverChoice, select_drivers
from surgeplan.forecast.state import Group, Options

__all__ = [
    "assign_shapes",
    "assign_specs",
    "carried_log_response",
    "carry_thin",
    "daily_summary",
    "driver_table",
    "drivers_from_daily",
    "exposure_spread",
    "learn_drivers",
    "learned_pools",
    "mapping_columns",
    "onset_shift_days",
    "response_spread",
    "shock_reference",
    "stringency_ranges",
    "thin_borrowers",
    "thin_spread",
    "timing_spread",
    "unseen_spread",
    "with_learned_specs",
]

#: days of daily history the selection reads (the shock and the weeks before it)
WINDOW_DAYS = 120
#: pool spread (log units) of a size chosen out of region, and of one seen in a single region
POOL_SD = {"loro": 0.15, "thin": 0.35}
#: least sd (log units) of a thinly evidenced response (at most THIN_SD_SHARE of its log size)
THIN_SD_MIN = 0.15


def _daily(g: Group) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, D) daily mean load (NaN unless half the day was seen), working days, local days."""
    D = g.zraw.shape[1] // g.p
    load = (np.exp(g.zraw[:, : D * g.p] + g.mu[:, None]) - g.c[:, None]).reshape(g.n, D, g.p)
    seen = np.isfinite(load).sum(-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # days never seen
        mean = np.nanmean(load, -1)
    mean[seen < g.p / 2] = np.nan
    days = g.wall_days(0, D * g.p)
    return mean, _ft.working_days(g.regions, days), days


def learn_drivers(
    groups: Sequence[Group], indicators: pd.DataFrame, stringency_ranges: Sequence[tuple[float, float]] = ()
) -> dict[str, DriverChoice]:
    """Per kind, the driver chosen on every group's last :data:`WINDOW_DAYS` days; the forecaster's
    stringency ranges are level candidates of ``stringency_index`` too."""
    if indicators is None or indicators.empty or not groups:
        return {}
    return drivers_from_daily([daily_summary(g) for g in groups], indicators, stringency_ranges)


def daily_summary(g: Group) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What :func:`learn_drivers` reads of a group: ``(n, D)`` daily mean load and working days,
    the local days, and the resources' kinds and regions (a few KB per resource)."""
    return (*_daily(g), g.kinds, g.regions)


def drivers_from_daily(
    parts: Sequence[tuple], indicators: pd.DataFrame, stringency_ranges: Sequence[tuple[float, float]] = ()
) -> dict[str, DriverChoice]:
    """:func:`learn_drivers` from the groups' :func:`daily_summary` (in the groups' order)."""
    if indicators is None or indicators.empty or not parts:
        return {}
    last = max(p[2][-1] for p in parts)
    days = np.arange(last - WINDOW_DAYS + 1, last + 1, dtype="datetime64[D]")
    days = days[days >= min(p[2][0] for p in parts)]
    load = np.full((sum(len(p[3]) for p in parts), len(days)), np.nan)
    work = np.zeros(load.shape, bool)
    row = 0
    for mean, wk, dd, kd, _ in parts:
        pos = (dd - days[0]).astype(np.int64)
        ok = (pos >= 0) & (pos < len(days))
        load[row : row + len(kd), pos[ok]] = mean[:, ok]
        work[row : row + len(kd), pos[ok]] = wk[:, ok]
        row += len(kd)
    kinds = np.concatenate([p[3] for p in parts]).astype(str)
    regions = np.concatenate([p[4] for p in parts]).astype(str)
    has_region = regions != ""
    if not has_region.any():
        return {}
    levels = {"stringency_index": list(stringency_ranges)}
    return select_drivers(
        load[has_region],
        work[has_region],
        kinds[has_region],
        regions[has_region],
        days,
        indicators,
        levels=levels,
    )


def with_learned_specs(opt: Options, choices: dict[str, DriverChoice]) -> Options:
    """Options whose mapping candidates end with the learned rules (one per distinct rule)."""
    rules = [c.candidate for c in choices.values() if c.candidate is not None]
    new = tuple(dict.fromkeys(r for r in rules if r not in opt.specs))
    return dataclasses.replace(opt, specs=opt.specs + new) if new else opt


def assign_specs(groups: Sequence[Group], opt: Options, choices: dict[str, DriverChoice]) -> set[str]:
    """Point every resource of a kind with a learned driver at its rule; returns those kinds."""
    fixed = set()
    for kind, ch in choices.items():
        if ch.candidate is None:
            continue
        spec = opt.specs.index(ch.candidate)
        for g in groups:
            g.spec[g.kinds == kind] = spec
        fixed.add(kind)
    return fixed


def assign_shapes(groups: Sequence[Group], choices: dict[str, DriverChoice]) -> None:
    """Resources of a kind with a learned driver and no shape of their own take the rule's shape,
    out of region (``'loro'``) or from one region (``'thin'``) alike.

    The daily fit of the choice reads the response where it is; a shape searched on one region's
    hourly history with free day lags can put the onset days early and let the lags absorb the
    step: Italy's voice x2 from 13 Mar 2020 read as ``confirmed_cases`` with no delay (a week of
    "response" at +6%), where the daily fit said a delay of 7 days and x1.5-2 (generators,
    voice_stay_home seed 0).
    """
    for kind, ch in choices.items():
        if ch.candidate is None:
            continue
        for g in groups:
            own = g.shape_hit if g.shape_hit is not None else np.zeros(g.n, bool)
            rows = (g.kinds == kind) & ~own
            g.shock_lag[rows] = ch.delay_days
            g.shock_tau[rows] = (ch.tau_up_days, ch.tau_down_days)


def learned_pools(
    choices: dict[str, DriverChoice], evidence: str = "loro"
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Pool per kind whose driver has ``evidence``: centre (24, 2) = (weekend size, weekday extra)
    in log, the same every hour, spread :data:`POOL_SD` (the format of :func:`transfer.kind_pools`)."""
    out = {}
    for kind, ch in choices.items():
        if ch.candidate is None or ch.evidence != evidence:
            continue
        wd, we = ch.log_size
        out[kind] = _tr.Pool(np.tile([we, wd - we], (24, 1)), np.full((24, 2), POOL_SD[ch.evidence]), True)
    return out


def thin_borrowers(g: Group, choices: dict[str, DriverChoice]) -> np.ndarray:
    """(n,) resources of a thinly evidenced kind outside the region that showed the response:
    they borrow its size (:func:`carry_thin`), a size at full intensity."""
    borrow = np.zeros(g.n, bool)
    for kind, ch in choices.items():
        if ch.candidate is not None and ch.evidence == "thin":
            borrow |= (g.kinds == kind) & ~np.isin(g.regions.astype(str), list(ch.regions_used))
    return borrow


def carry_thin(groups: Sequence[Group], choices: dict[str, DriverChoice]) -> None:
    """Resources of a thinly evidenced kind outside the region that showed the response, and
    without enough evidence of their own, take its size as their prior (coefficients re-solved)."""
    pools = learned_pools(choices, "thin")
    for g in groups:
        rows = np.flatnonzero(thin_borrowers(g, choices) & (g.shock_source != "fitted"))
        if len(rows):
            _tr.apply_to_prior(g, pools, rows)
            g.beta[rows], g.cov[rows] = _bl.posterior(
                g.xtx[rows], g.xty[rows], g.sigma2[rows], g.prior_mean[rows], g.prior_sd[rows]
            )


def thin_spread(
    g: Group, choices: dict[str, DriverChoice], u_steps: np.ndarray, response_sd: np.ndarray
) -> np.ndarray:
    """(n, h) extra log-scale sd of resources that borrow a response seen in one other region only:
    the sd of their response (``response_sd``, (n, h): the posterior of their shock coefficients,
    whose prior spread is :data:`POOL_SD` ``['thin']``) but at most :data:`THIN_SD_SHARE` of the
    log size (a small response is not less certain than its size), at least :data:`THIN_SD_MIN`,
    times the driver at each step (0 elsewhere; the region that showed the response has its own
    data and calibrated intervals).

    Half the log size alone widened a x5.4 VPN response to a p90 3x its median from the first
    day, 20x the French VPN gateways' highest measured busy hour (bundled operator, fit 2 Mar
    2020), where the load that followed reached 7x; the posterior alone gave a x1.6 contact-centre
    response a p90 1.6x its median.
    """
    thin = thin_borrowers(g, choices)
    sd = np.zeros((g.n, 1))
    for kind, ch in choices.items():
        if ch.evidence == "thin":
            sd[thin & (g.kinds == kind)] = THIN_SD_SHARE * max(abs(ch.log_size[0]), abs(ch.log_size[1]))
    sd = np.maximum(np.minimum(response_sd, sd), THIN_SD_MIN)
    return np.where(thin[:, None], sd, 0.0) * u_steps


def response_spread(
    g: Group, choices: dict[str, DriverChoice], u_steps: np.ndarray, working: np.ndarray, min_evidence: float
) -> np.ndarray:
    """(n, h) log-scale sd of a response carried from the regions hit earlier, at each forecast step.

    The size a region will show is one more draw from the regions' sizes: its predictive sd per
    day type (:attr:`DriverChoice.log_size_sd`, working day / weekend) times the driver ``u`` at
    the step. A resource with ``min_evidence`` days of its own keeps the pool's share of its
    response (:func:`surgeplan.forecast.transfer.shrink_to_pool`: ``k / (n + k)``), and that share
    of the spread. Kinds whose driver was chosen out of region only (``'loro'``); thin evidence
    is :func:`thin_spread`'s.

    Parameters
    ----------
    u_steps : (n, h) driver at each step (0-1).
    working : (n, h) bool, the step is on a working day of the resource's region.
    min_evidence : days of shock (``u >= 0.5``) from which a resource's own response counts.
    """
    sd = np.zeros(u_steps.shape)
    for kind, ch in choices.items():
        if ch.evidence != "loro":
            continue
        rows = g.kinds == kind
        sd[rows] = np.where(working[rows], ch.log_size_sd[0], ch.log_size_sd[1])
    ev = np.asarray(g.evidence, float)
    pool_share = np.where(ev < min_evidence, 1.0, _tr.EVIDENCE_CAP / (ev + _tr.EVIDENCE_CAP))
    return sd * pool_share[:, None] * u_steps


def carried_log_response(
    g: Group, choices: dict[str, DriverChoice], u_steps: np.ndarray, working: np.ndarray
) -> np.ndarray:
    """(n, h) the log response its kind's driver carries to each step (log size per day type
    times the driver), for kinds whose response was learned from other regions (``'loro'``,
    ``'thin'``); 0 elsewhere. Its sign bounds the response's spread
    (:func:`surgeplan.forecast.predict.with_response_spread`)."""
    out = np.zeros(u_steps.shape)
    for kind, ch in choices.items():
        if ch.candidate is None or ch.evidence not in ("loro", "thin"):
            continue
        rows = g.kinds == kind
        out[rows] = np.where(working[rows], ch.log_size[0], ch.log_size[1])
    return out * u_steps


def onset_shift_days(g: Group, choices: dict[str, DriverChoice]) -> np.ndarray:
    """(n,) whole days to move each resource's onset either way: its kind's onset sd, rounded up."""
    shift = np.ones(g.n, np.int64)
    for kind, ch in choices.items():
        if ch.candidate is not None and ch.evidence != "none":
            shift[g.kinds == kind] = max(1, int(np.ceil(ch.onset_sd_days)))
    return shift


def timing_spread(
    g: Group, choices: dict[str, DriverChoice], du: np.ndarray, working: np.ndarray
) -> np.ndarray:
    """(n, h) log-scale sd of the response's timing.

    The onset is known to :attr:`DriverChoice.onset_sd_days` (the spread of the delays that fit
    each region best, and the day the chosen one stands for). ``du``: the driver with the onset moved
    :func:`onset_shift_days` earlier minus later; half of it per shift day is the driver's slope,
    times the onset sd and the kind's log size per day type: nothing once the response has
    levelled off, most on the steepest days of a ramp.
    """
    size = np.zeros(du.shape)
    per_day = np.zeros(g.n)
    shift = onset_shift_days(g, choices)
    for kind, ch in choices.items():
        if ch.candidate is None or ch.evidence == "none":
            continue
        rows = g.kinds == kind
        size[rows] = np.where(working[rows], abs(ch.log_size[0]), abs(ch.log_size[1]))
        per_day[rows] = max(ch.onset_sd_days, ONSET_DAY_SD) / shift[rows]
    return size * 0.5 * np.abs(du) * per_day[:, None]


def exposure_spread(
    g: Group, choices: dict[str, DriverChoice], days_on: np.ndarray, u_steps: np.ndarray, working: np.ndarray
) -> np.ndarray:
    """(n, h) log-scale sd of a response carried further into a shock than any region was seen.

    The size and shape were measured on at most ``exposure_days`` days under the driver: a step
    ``k`` days into its region's response, beyond them, is an extrapolation of the shape (a ramp
    seen for 4 days may go on for 10; a rise may fade), unless it was seen level
    (:attr:`DriverChoice.levelled`): a level is carried as a level. Its sd grows from 0 at ``exposure_days``
    to :data:`THIN_SD_SHARE` of the log size at twice that, the thin-evidence rule applied along
    the time axis, times the driver.

    Parameters
    ----------
    days_on : (n, h) days the resource's shaped driver has been on (``x >= 0.5``) up to the step.
    """
    sd = np.zeros(u_steps.shape)
    for kind, ch in choices.items():
        if ch.candidate is None or ch.evidence == "none" or ch.levelled:
            continue
        rows = g.kinds == kind
        size = np.where(working[rows], abs(ch.log_size[0]), abs(ch.log_size[1]))
        seen = max(ch.exposure_days, 1)
        beyond = np.clip((days_on[rows] - seen) / seen, 0.0, 1.0)
        sd[rows] = THIN_SD_SHARE * size * beyond
    return sd * u_steps


def shock_reference(choices: dict[str, DriverChoice]) -> DriverChoice | None:
    """The learned driver watched longest (most ``exposure_days``) among kinds that responded."""
    shown = [ch for ch in choices.values() if ch.candidate is not None and ch.evidence in ("loro", "thin")]
    return max(shown, key=lambda ch: ch.exposure_days) if shown else None


def unseen_spread(
    g: Group, choices: dict[str, DriverChoice], days_on_shock: np.ndarray, u_shock: np.ndarray
) -> np.ndarray:
    """(n, h) log sd of a response not seen yet, for kinds that showed none while others did.

    A kind flat in every region so far has been watched for as long as the shock
    (:func:`shock_reference`'s ``exposure_days``): beyond that, in a region ``days_on_shock``
    into it (``u_shock``: the shock's driver, 0-1), a later response (a delay of a week, a second
    wave of demand) is not ruled out. Its sd grows from 0 at the days watched to
    :data:`THIN_SD_SHARE` of the smallest log size the responding kinds showed at twice them, as
    :func:`exposure_spread` does for a shape seen for too few days.
    """
    ref = shock_reference(choices)
    flat = [k for k, ch in choices.items() if ch.evidence == "none"]
    if ref is None or not flat:
        return np.zeros(u_shock.shape)
    sizes = [
        abs(ch.log_size[0]) for ch in choices.values() if ch.candidate is not None and ch.evidence != "none"
    ]
    seen = max(ref.exposure_days, 1)
    beyond = np.clip((days_on_shock - seen) / seen, 0.0, 1.0)
    rows = np.isin(g.kinds.astype(str), flat)
    return np.where(rows[:, None], THIN_SD_SHARE * float(np.min(sizes)) * beyond * u_shock, 0.0)


def driver_table(choices: dict[str, DriverChoice]) -> pd.DataFrame:
    """The ``driver_`` report: one row per kind (see :meth:`DriverChoice.as_dict`)."""
    cols = list(DriverChoice("", None, 0, 0.0, 0.0, (0.0, 0.0), (), 0.0, 0.0, "none", False).as_dict())
    return pd.DataFrame([c.as_dict() for c in choices.values()], columns=cols)


def stringency_ranges(opt: Options) -> list[tuple[float, float]]:
    """The stringency ranges among the forecaster's mappings (level candidates of the selection)."""
    return list(dict.fromkeys(tuple(s[0]) for s in opt.specs if not is_rule(s)))


def mapping_columns(spec: object) -> tuple[float, float, bool, str]:
    """``stringency_zero, stringency_full, stay_home_counts, driver_rule`` of a mapping for
    ``response_``: a learned level of the stringency index reports its range too."""
    if not is_rule(spec):
        (lo, hi), c6 = spec
        return lo, hi, c6, ""
    if spec.form == "level" and spec.indicator == "stringency_index":
        return spec.threshold, spec.upper, False, spec.rule
    return np.nan, np.nan, False, spec.rule


def is_rule(spec: object) -> bool:
    """A learned rule (:class:`Candidate`), not a stringency mapping ``((lo, hi), stay_home)``."""
    return isinstance(spec, Candidate)
