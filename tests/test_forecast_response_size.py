"""Size of the shock response at full restriction intensity (transfer from earlier-hit regions).

Known answers by construction: the synthetic load is ``base x 5`` once a region's lockdown starts
(a x5 response at any restriction level, the load saturating before the indicator does), so the
response at full intensity is x5 (``response = 4``) in every region. A region hit three weeks
after the first one, seen only at partial restrictions (stringency 56: ``u = 0.4`` on the
default 40-80 ramp), must not extrapolate its slope ``log 5 / 0.4`` (x56) to full restrictions.
"""

from __future__ import annotations

import types

import numpy as np
import pandas as pd

from surgeplan.forecast import ShockForecaster, busy_hour
from surgeplan.forecast import transfer as tr

TZ = {"ITA": "Europe/Rome", "FRA": "Europe/Paris"}
START = "2021-04-05"  # between the 2021 DST changes
LOCK_A = pd.Timestamp("2021-05-10")  # region A (ITA): full lockdown (stringency 90, stay home 2)
LOCK_B = pd.Timestamp("2021-05-31")  # region B (FRA): three weeks later, partial (stringency 56)
ORIGIN = LOCK_B + pd.Timedelta(days=3)  # forecast made 3 days into B's own lockdown
TRUE_X = 5.0


def _base(ts: pd.DatetimeIndex, region: str) -> np.ndarray:
    local = ts.tz_convert(TZ[region])
    h = np.asarray(local.hour, float)
    weekend = np.asarray(local.dayofweek >= 5)
    return 100.0 * (1.0 + 0.3 * np.sin(2 * np.pi * (h - 8) / 24)) * np.where(weekend, 0.7, 1.0)


def _case(seed: int = 0):
    rng = np.random.default_rng(seed)
    ts = pd.date_range(START, ORIGIN + pd.Timedelta(days=21), freq="1h", tz="UTC", inclusive="left")
    frames, inv = [], []
    for region, lock in (("ITA", LOCK_A), ("FRA", LOCK_B)):
        day = ts.tz_convert(TZ[region]).tz_localize(None).normalize()
        mult = np.where(day >= lock, TRUE_X, 1.0)
        for j in range(3):
            rid = f"VPN-{region}-{j}"
            load = _base(ts, region) * mult * np.exp(rng.normal(0.0, 0.03, len(ts)))
            frames.append(pd.DataFrame({"resource_id": rid, "ts": ts, "load": load}))
            inv.append({"resource_id": rid, "kind": "vpn_gateway", "region": region})
    meas = pd.concat(frames, ignore_index=True)
    dates = pd.date_range(START, periods=120, freq="D")
    ind = []
    for region, lock, s, c6 in (("ITA", LOCK_A, 90.0, 2.0), ("FRA", LOCK_B, 56.0, 0.0)):
        on = (dates >= lock).astype(float)
        ind.append(
            pd.DataFrame({"region": region, "date": dates, "name": "stringency_index", "value": on * s})
        )
        ind.append(
            pd.DataFrame({"region": region, "date": dates, "name": "stay_home_required", "value": on * c6})
        )
    return meas, pd.DataFrame(inv), pd.concat(ind, ignore_index=True)


# ----------------------------------------------------------------------------------- pool, unit level
def _group(lr_hour: np.ndarray, evidence: np.ndarray, kinds=None, phi: float = 0.0):
    """A minimal stand-in for the model's per-group arrays: 24 hourly blocks, lags (1, 7)."""
    n = lr_hour.shape[0]
    k = 4  # lag1, lag7, shock, shock_weekday
    beta = np.zeros((n, 24, k))
    beta[..., 0] = phi
    beta[..., 2] = lr_hour * (1.0 - phi)  # short-run = long-run x (1 - sum phi)
    return types.SimpleNamespace(
        beta=beta,
        n=n,
        nb=24,
        r=1,
        cadence_s=3600,
        evidence=np.asarray(evidence, float),
        kinds=np.asarray(kinds if kinds is not None else ["vpn_gateway"] * n, dtype=object),
        groups={"lag": np.array([0, 1]), "shock": np.array([2, 3])},
    )


def test_pool_centre_resists_extrapolated_fits():
    # 5 resources at log 5 (x5), 2 with slopes extrapolated from partial intensity (x56, x200):
    # the weighted median is log 5 and the spread stays small (hand: MAD of {0 x5, 2.4, 3.7} = 0)
    lr = np.array([np.log(5)] * 5 + [np.log(56), np.log(200)])[:, None] * np.ones((1, 24))
    g = _group(lr, evidence=[20] * 7)
    pool = tr.kind_pools([g], min_evidence=7.0)["vpn_gateway"]
    centre, sd = pool.centre, pool.sd
    np.testing.assert_allclose(centre[:, 0], np.log(5), atol=1e-12)
    assert np.all(sd[:, 0] < 0.1)
    # below min_evidence: not pooled
    assert tr.kind_pools([_group(lr, evidence=[3] * 7)], min_evidence=7.0) == {}


def test_extrapolation_band_clips_only_thin_evidence():
    pool_g = _group(np.full((4, 24), np.log(5)), evidence=[20] * 4, phi=0.3)
    pools = tr.kind_pools([pool_g], min_evidence=7.0)
    # resource 0: slope from partial intensity, x56 at u = 1, no evidence -> clipped near x5;
    # resource 1: same slope with 30 days of evidence -> kept
    g = _group(np.full((2, 24), np.log(56)), evidence=[0, 30], phi=0.3)
    b = tr.extrapolation_band(g, pools, min_evidence=7.0, width=2.0)
    long_run = (b[..., 2] + b[..., 3]) / (1.0 - 0.3)  # day lags 0.3 + 0
    # band: log 5 +/- 2 x 0.05 (floor) -> x5 e^0.1 = 5.53 at most
    assert np.all(np.exp(long_run[0]) <= 5.0 * np.exp(0.1) + 1e-9)
    assert np.all(np.exp(long_run[0]) >= 5.0)
    np.testing.assert_allclose(long_run[1], np.log(56), rtol=1e-12)


# ------------------------------------------------------------------------------ end to end
def test_region_hit_later_gets_x5_at_full_intensity():
    meas, inv, ind = _case()
    origin = pd.Timestamp(ORIGIN, tz="UTC")
    hist = meas[meas["ts"] < origin]
    m = ShockForecaster(calibration_days=14).fit(hist, inv, ind[ind["date"] < ORIGIN])
    r = m.response_.set_index("resource_id")
    b_ids = [i for i in r.index if "-FRA-" in i]
    # response at full intensity (u = 1), weekday, mean over hours: x5 within 25 %
    size = 1.0 + r.loc[b_ids, "response"]
    assert np.all(np.abs(size / TRUE_X - 1.0) < 0.25), size.to_dict()
    # forecast under full restrictions from the origin: busy hour x5 of the pre-shock busy hour
    fc = m.predict("14D", indicators_future={"FRA": {"lockdown_start": ORIGIN, "stringency": 90.0}})
    bh = busy_hour(fc[fc["resource_id"].isin(b_ids)], "D")
    bh["period"] = pd.to_datetime(bh["period"])
    per = bh["period"].dt.tz_localize(None) if bh["period"].dt.tz is not None else bh["period"]
    bh = bh[(per >= ORIGIN + pd.Timedelta(days=4)) & (pd.to_datetime(per).dt.dayofweek < 5)]
    # pre-shock weekday busy hour of the generator: 100 x 1.3 (sine peak at 14:00)
    ratio = bh["mean"].median() / 130.0
    assert abs(ratio / TRUE_X - 1.0) < 0.25, ratio
