"""Proof on real data: French electricity load through the March 2020 lockdown.

Protocol of Obst, de Vilmarest & Goude (IEEE TPWRS 2021, arXiv:2009.06527): day-ahead forecasts,
one origin at local midnight (Europe/Paris) each day; each origin sees only the load before it and
the indicators dated before its day; temperature is a known covariate. Test period 1 =
2020-03-16..2020-04-15, period 2 = 2020-04-16..2020-06-07 (local days).

Independent references:
* the published MAPE of the paper's GAM (5.40% / 3.77%) and of its best expert aggregation
  (2.80% / 3.15%): the targets;
* the naive peers "same half-hour yesterday" / "same half-hour last week", computed here from the
  raw data on the same origins, must reproduce the values measured by hand on this extract
  (5.26% / 5.13% and 13.06% / 4.95%): this checks the protocol's alignment (days, DST).
The ShockForecaster runs its general code path (no RTE special case): fit once before the first
origin, then ``update`` with each day's measurements and indicators (Kalman fold-in).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surgeplan.forecast import ShockForecaster
from surgeplan.forecast.datasets import rte_france

TZ = "Europe/Paris"
PERIODS = {1: ("2020-03-16", "2020-04-15"), 2: ("2020-04-16", "2020-06-07")}


def _local_day(ts: pd.Series) -> pd.Series:
    return ts.dt.tz_convert(TZ).dt.tz_localize(None).dt.normalize()


@pytest.fixture(scope="module")
def protocol():
    meas, inv, ind, cov = rte_france()
    first = pd.Timestamp(PERIODS[1][0], tz=TZ)
    last = pd.Timestamp(PERIODS[2][1], tz=TZ)
    model = ShockForecaster(quantiles=(0.1, 0.5, 0.9))
    model.fit(
        meas,
        inventory=inv,
        indicators=ind[ind["date"] < first.tz_localize(None)],
        covariates=cov,
        cutoff=first.tz_convert("UTC"),
    )
    outs, sources = [], set()
    day = first
    while day <= last:
        nxt = pd.Timestamp((day + pd.Timedelta(days=1)).date(), tz=TZ)
        f = model.predict("1D")
        sources.add(f.attrs["indicator_source"]["FRA"])
        assert f["ts"].min() == day.tz_convert("UTC"), "origin must be local midnight"
        outs.append(f[f["ts"] < nxt.tz_convert("UTC")])
        new = meas[(meas["ts"] >= day.tz_convert("UTC")) & (meas["ts"] < nxt.tz_convert("UTC"))]
        model.update(new, indicators=ind[ind["date"] == day.tz_localize(None)])
        day = nxt
    fc = pd.concat(outs, ignore_index=True).merge(meas, on=["resource_id", "ts"], how="inner")
    fc["day"] = _local_day(fc["ts"])
    # naive peers: the load 24 h and 168 h earlier (UTC), as in the hand measurement (using the
    # same local wall-clock time instead gives 5.26 / 5.13 and 12.93 / 4.95)
    by_ts = meas.set_index("ts")["load"]
    fc["naive_day"] = by_ts.reindex(fc["ts"] - pd.Timedelta(days=1)).to_numpy()
    fc["naive_week"] = by_ts.reindex(fc["ts"] - pd.Timedelta(days=7)).to_numpy()
    fc["period"] = np.where(fc["day"] <= pd.Timestamp(PERIODS[1][1]), 1, 2)
    rows = []
    for p, sub in fc.groupby("period"):
        row = {"period": p, "n": len(sub)}
        for col in ("mean", "p50", "naive_day", "naive_week"):
            e = (sub[col] - sub["load"]).to_numpy()
            ok = np.isfinite(e)
            row[f"mape_{col}"] = float(np.mean(np.abs(e[ok]) / sub["load"].to_numpy()[ok]) * 100)
            row[f"rmse_{col}"] = float(np.sqrt(np.mean(e[ok] ** 2)))
        row["coverage80"] = float(((sub["load"] >= sub["p10"]) & (sub["load"] <= sub["p90"])).mean())
        rows.append(row)
    table = pd.DataFrame(rows).set_index("period")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("\nRTE France lockdown, day-ahead (MAPE %, RMSE MW):\n", table.round(3).T)
    return table, fc, model, sources


def test_every_origin_forecasts_a_whole_day(protocol):
    _, fc, _, _ = protocol
    days = fc.groupby("day").size()
    # 84 local days; 48 half-hours each except the spring DST day (46)
    assert len(days) == (pd.Timestamp("2020-06-07") - pd.Timestamp("2020-03-16")).days + 1
    assert days.min() >= 46 and days.max() == 48


def test_naive_peers_match_hand_measurement(protocol):
    table, _, _, _ = protocol
    # measured independently on the raw CSV (see the task's protocol notes)
    assert table.loc[1, "mape_naive_day"] == pytest.approx(5.26, abs=0.06)
    assert table.loc[2, "mape_naive_day"] == pytest.approx(5.13, abs=0.06)
    assert table.loc[1, "mape_naive_week"] == pytest.approx(13.06, abs=0.06)
    assert table.loc[2, "mape_naive_week"] == pytest.approx(4.95, abs=0.06)


def test_beats_best_published_aggregation(protocol):
    table, _, _, _ = protocol
    # Obst et al. 2021, best expert aggregation: 2.80% (period 1), 3.15% (period 2)
    assert table.loc[1, "mape_mean"] <= 2.80
    assert table.loc[2, "mape_mean"] <= 3.15
    # and far better than the naive peers on the same origins
    assert table.loc[1, "mape_mean"] < 0.6 * table.loc[1, "mape_naive_day"]
    assert table.loc[2, "mape_mean"] < 0.6 * table.loc[2, "mape_naive_week"]


def test_intervals_are_honest(protocol):
    table, _, _, _ = protocol
    for p in (1, 2):
        assert 0.75 <= table.loc[p, "coverage80"] <= 0.85


def test_indicators_were_held_not_peeked(protocol):
    _, _, model, sources = protocol
    # each origin only had indicators up to the day before: the forecast day was held
    assert sources == {"held_last"}
    resp = model.response_.iloc[0]
    # electricity consumption FELL under lockdown (sign recovered from the data)
    assert resp["response"] < -0.03
    assert resp["source"] == "fitted"
