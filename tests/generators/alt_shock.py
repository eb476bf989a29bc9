"""A second, independent generator of operator load through a demand shock (tests only).

It deliberately shares no code and no functional form with ``surgeplan.simulate``, so a model that
does well here is not merely fitted to its own simulator:

* **daily profile**: a sum of two Gaussian bumps (morning / late-afternoon) per resource, with a
  weekend damping factor; during the shock the profile *changes shape* (the morning bump shifts
  later and flattens, weekends look like weekdays);
* **seasonality from temperature**: a heating term ``beta * max(0, 16 - T)`` on a regional
  temperature covariate (annual sinusoid + AR(1) weather noise), given as a covariate;
* **shock response**: a logistic ramp in *days from the regional stay-at-home order* with a
  kind-specific lag (VPN users move 2 days before the order, conference bridges 4 days after,
  contact centres peak then decay), amplitude per kind;
* **hysteresis**: after the order is lifted the response decays exponentially (30-day time
  constant) only to a persistent fraction (habits that stay: remote work);
* **level shifts** unrelated to the crisis (a customer migration: +/-15% from a random day),
  **missing hours** (2% random, plus a 36-hour outage on some resources) and **spikes**
  (0.2% of hours x1.3-2) in the measurements;
* regions are hit at **staggered dates** (the first region about two weeks before the last), and
  their indicators (stringency index, stay-at-home level, cases per 100k) move before the order.

Nothing here is random without the ``seed``. Capacities are drawn so that part of the resources run
short during the shock (the anticipation score has something to find).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: kind -> (amplitude of the shock as a multiple of baseline minus one, lag of the ramp in days,
#: ramp width in days, persistent fraction after lifting, typical baseline peak, decay after peak)
_KIND_SHOCK = {
    "vpn_gateway": (5.0, -2.0, 1.5, 0.45, 2000.0, 0.0),
    "conference_bridge": (1.2, 4.0, 2.5, 0.35, 300.0, 0.0),
    "trunk_group": (0.9, 0.0, 1.0, 0.10, 400.0, 0.0),
    "link": (0.3, 1.0, 3.0, 0.30, 60.0, 0.0),
    "contact_center": (1.5, 0.5, 0.8, 0.05, 500.0, 0.04),
}


@dataclass
class AltShockData:
    """Everything the generator produced.

    Attributes
    ----------
    inventory : DataFrame
        ``resource_id, kind, region, capacity`` (+ the other inventory columns with plain values).
    measurements : DataFrame
        ``resource_id, ts, load`` with missing hours and spikes (ts UTC, hourly).
    indicators : DataFrame
        ``region, date, name, value`` (``stringency_index``, ``stay_home_required``,
        ``new_cases_per_100k_7d``, ``lockdown``).
    covariates : DataFrame
        ``region, ts, name, value`` with ``name = temperature_c``.
    expected : DataFrame
        ``resource_id, ts, load``: the noise-free expected load (for reference only).
    order_dates : dict
        Region -> date of its stay-at-home order (day the response ramps around).
    lift_dates : dict
        Region -> date the order is lifted.
    """

    inventory: pd.DataFrame
    measurements: pd.DataFrame
    indicators: pd.DataFrame
    covariates: pd.DataFrame
    expected: pd.DataFrame
    order_dates: dict
    lift_dates: dict


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def generate(
    n_resources: int = 20,
    start: str = "2020-01-01",
    end: str = "2020-06-30",
    regions: tuple[str, ...] = ("ALP", "BOR", "CEN"),
    first_order: str = "2020-03-10",
    stagger_days: float = 7.0,
    lockdown_days: int = 55,
    seed: int = 0,
    shortage_share: float = 0.5,
) -> AltShockData:
    """Generate an inventory with hourly load, regional indicators and temperatures.

    Parameters
    ----------
    n_resources : int
        Number of resources (kinds cycle through vpn_gateway, conference_bridge, trunk_group,
        link, contact_center; regions cycle too).
    start, end : str
        First and last day (UTC) of the hourly series.
    regions : tuple of str
        Region codes (alpha-3 style; fictitious by default).
    first_order : str
        Date of the first region's stay-at-home order; the others follow ``stagger_days`` apart.
    stagger_days : float
        Days between consecutive regions' orders.
    lockdown_days : int
        Days each order lasts.
    seed : int
        Random seed.
    shortage_share : float
        Share of resources given a capacity below their shock peak.

    Returns
    -------
    AltShockData
    """
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, pd.Timestamp(end) + pd.Timedelta(hours=23), freq="h", tz="UTC")
    T = len(ts)
    t_days = (ts - ts[0]).total_seconds().to_numpy() / 86400.0
    hour = ts.hour.to_numpy() + 0.0
    dow = ts.dayofweek.to_numpy()
    weekend = dow >= 5
    days = pd.date_range(start, end, freq="D")

    n_reg = len(regions)
    order = {
        r: pd.Timestamp(first_order) + pd.Timedelta(days=round(i * stagger_days + rng.uniform(-1, 1)))
        for i, r in enumerate(regions)
    }
    lift = {r: order[r] + pd.Timedelta(days=lockdown_days) for r in regions}

    # ---------------------------------------------------------------- indicators (daily, per region)
    ind_rows = []
    temp = np.empty((n_reg, T))
    for i, r in enumerate(regions):  # a handful of regions: loop is fine in a test generator
        d_order = (days - order[r]).days.to_numpy() + 0.0
        d_lift = (days - lift[r]).days.to_numpy() + 0.0
        # epidemic curve: growth 0.2/day until ~8 days after the order, then decline 0.06/day
        growth = np.where(d_order < 8, 0.2 * (d_order - 8), -0.06 * (d_order - 8))
        cases = 120.0 * np.exp(growth) * (1 + 0.05 * rng.standard_normal(len(days)))
        # stringency: staircase building up before the order, steps down after lifting
        string = np.select(
            [d_order < -10, d_order < -4, d_order < 0, d_lift < 0, d_lift < 21],
            [5.0, 25.0, 50.0, 85.0, 60.0],
            default=40.0,
        )
        stay = np.select([d_order < 0, d_lift < 0, d_lift < 21], [0.0, 2.0, 1.0], default=0.0)
        lock = ((d_order >= 0) & (d_lift < 0)).astype(float)
        for name, v in (
            ("new_cases_per_100k_7d", cases),
            ("stringency_index", string),
            ("stay_home_required", stay),
            ("lockdown", lock),
        ):
            ind_rows.append(pd.DataFrame({"region": r, "date": days, "name": name, "value": v}))
        # temperature: annual sinusoid (coldest mid-January) + AR(1) weather noise
        base = 11.0 - 8.0 * np.cos(2 * np.pi * (t_days + 15) / 365.25 - 0.0) + rng.uniform(-2, 2)
        daily_cycle = 3.0 * np.sin(2 * np.pi * (hour - 9) / 24)
        noise = np.empty(T)
        e = rng.standard_normal(T) * 0.25
        acc = 0.0
        for k in range(T):  # AR(1), hourly, phi=0.995 (multi-day weather spells)
            acc = 0.995 * acc + e[k]
            noise[k] = acc
        temp[i] = base + daily_cycle + noise
    indicators = pd.concat(ind_rows, ignore_index=True)

    # ---------------------------------------------------------------- resources
    kinds = list(_KIND_SHOCK)
    kind_of = [kinds[j % len(kinds)] for j in range(n_resources)]
    reg_idx = np.array([j % n_reg for j in range(n_resources)])
    abbrev = {
        "vpn_gateway": "vpn",
        "conference_bridge": "cnf",
        "trunk_group": "trk",
        "link": "lnk",
        "contact_center": "ctc",
    }
    rid = [f"alt-{abbrev[kind_of[j]]}-{regions[reg_idx[j]]}-{j:03d}" for j in range(n_resources)]
    amp, lag, width, persist, peak, decay = (np.array([_KIND_SHOCK[k][c] for k in kind_of]) for c in range(6))
    scale = peak * rng.lognormal(0.0, 0.4, n_resources)
    amp = amp * rng.uniform(0.8, 1.2, n_resources)

    # daily profile: two Gaussian bumps (hours), shape changes under the shock
    h1 = rng.uniform(9.5, 11.0, n_resources)[:, None]
    h2 = rng.uniform(15.0, 17.5, n_resources)[:, None]
    w1 = 0.8 + rng.uniform(0, 0.4, n_resources)[:, None]
    w2 = 0.6 + rng.uniform(0, 0.4, n_resources)[:, None]

    def profile(shift: float, flatten: float, wk_damp: np.ndarray) -> np.ndarray:
        a = np.exp(-0.5 * ((hour[None, :] - h1 - shift) / (2.0 * (1 + flatten))) ** 2)
        b = w2 * np.exp(-0.5 * ((hour[None, :] - h2) / 2.5) ** 2)
        night = 0.12
        return (night + w1 * a + b) * np.where(weekend[None, :], wk_damp, 1.0)

    wk = rng.uniform(0.45, 0.7, n_resources)[:, None]
    pre = profile(0.0, 0.0, wk)
    during = profile(1.0, 0.4, np.minimum(1.0, wk + 0.35))

    # shock intensity per resource: logistic ramp around order + lag, exponential release after lift
    order_t = np.array(
        [(order[regions[g]] - ts[0].tz_localize(None)).total_seconds() / 86400 for g in reg_idx]
    )[:, None]
    lift_t = np.array(
        [(lift[regions[g]] - ts[0].tz_localize(None)).total_seconds() / 86400 for g in reg_idx]
    )[:, None]
    ramp = _logistic((t_days[None, :] - order_t - lag[:, None]) / (width[:, None] / 4.0))
    after = np.clip(t_days[None, :] - lift_t, 0, None)
    release = np.where(
        t_days[None, :] > lift_t, persist[:, None] + (1 - persist[:, None]) * np.exp(-after / 30.0), 1.0
    )
    peak_decay = np.exp(-decay[:, None] * np.clip(t_days[None, :] - order_t - 3.0, 0, None))
    intensity = ramp * release * np.maximum(peak_decay, persist[:, None])

    shape = pre * (1 - intensity) + during * intensity
    shock = 1.0 + amp[:, None] * intensity
    heating = 1.0 + np.array(
        [0.012 if k in ("trunk_group", "contact_center", "link") else 0.004 for k in kind_of]
    )[:, None] * np.clip(16.0 - temp[reg_idx], 0, None)
    trend = 1.0 + 0.0004 * t_days[None, :] * rng.uniform(-1, 2, n_resources)[:, None]
    # level shift unrelated to the crisis on a third of the resources
    shift_day = rng.uniform(20, t_days[-1] - 20, n_resources)[:, None]
    has_shift = (rng.uniform(size=n_resources) < 1 / 3)[:, None]
    level = np.where(
        has_shift & (t_days[None, :] >= shift_day), 1 + rng.choice([-0.15, 0.15], n_resources)[:, None], 1.0
    )
    expected = scale[:, None] * shape * shock * heating * trend * level / 1.2

    # noise: AR(1) multiplicative log-normal (sigma 5%), counts are Poisson-like on top
    eps = rng.standard_normal((n_resources, T)) * 0.05
    ar = np.empty_like(eps)
    ar[:, 0] = eps[:, 0]
    for k in range(1, T):  # vectorized over resources
        ar[:, k] = 0.6 * ar[:, k - 1] + np.sqrt(1 - 0.36) * eps[:, k]
    load = expected * np.exp(ar - 0.5 * 0.05**2)
    load = np.maximum(load + np.sqrt(np.maximum(load, 0)) * rng.standard_normal(load.shape) * 0.5, 0.0)
    spikes = rng.uniform(size=load.shape) < 0.002
    load = np.where(spikes, load * rng.uniform(1.3, 2.0, load.shape), load)
    missing = rng.uniform(size=load.shape) < 0.02
    outage = rng.uniform(size=n_resources) < 0.3
    o_start = rng.integers(24 * 20, T - 24 * 3, n_resources)
    cols = np.arange(T)[None, :]
    missing |= outage[:, None] & (cols >= o_start[:, None]) & (cols < o_start[:, None] + 36)

    # capacity: below the shock peak for a share of resources, comfortably above for the others
    # (never below the highest load measured before the shock, spikes included: no shortage before it)
    before = t_days[None, :] < order_t - 14
    pre_peak = np.nanmax(np.where(before, expected, np.nan), axis=1)
    pre_obs = np.nanmax(np.where(before, load, np.nan), axis=1)
    shock_peak = expected.max(axis=1)
    short = rng.uniform(size=n_resources) < shortage_share
    capacity = np.where(
        short,
        pre_peak + rng.uniform(0.3, 0.7, n_resources) * (shock_peak - pre_peak),
        shock_peak * rng.uniform(1.3, 1.6, n_resources),
    )
    capacity = np.maximum(capacity, 1.1 * pre_obs)
    capacity = np.round(capacity, 1)

    inventory = pd.DataFrame(
        {
            "resource_id": rid,
            "kind": kind_of,
            "region": [regions[g] for g in reg_idx],
            "capacity": capacity,
            "module_size": np.round(capacity / 10, 1),
            "max_capacity": np.round(capacity * 4, 1),
            "lead_time_days": 14,
            "module_cost": 1000.0,
            "group": "",
            "priority_class": "standard",
        }
    )
    keep = ~missing
    r_i, t_i = np.nonzero(keep)
    measurements = pd.DataFrame({"resource_id": np.asarray(rid)[r_i], "ts": ts[t_i], "load": load[r_i, t_i]})
    exp_frame = pd.DataFrame(
        {"resource_id": np.repeat(rid, T), "ts": np.tile(ts, n_resources), "load": expected.ravel()}
    )
    covariates = pd.DataFrame(
        {
            "region": np.repeat(list(regions), T),
            "ts": np.tile(ts, n_reg),
            "name": "temperature_c",
            "value": temp.ravel(),
        }
    )
    return AltShockData(
        inventory,
        measurements,
        indicators,
        covariates,
        exp_frame,
        {r: order[r] for r in regions},
        {r: lift[r] for r in regions},
    )
