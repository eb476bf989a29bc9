"""Calm regions under the chance of a lockdown (``future.regime_risk``, ``predict``'s mixture).

Hand values for the onset rate of the current wave and for the indicator paths a calm region would
follow; end to end, a generator whose links fall after stay-at-home (OxCGRT C6 >= 2, general
flag): a calm region whose lockdown is days away has its p50 taken down with the fall, not held at
the pre-shock level with a p90 above it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surgeplan.forecast.future import onset_hazard
from surgeplan.forecast.projection import restricted_paths


def test_onset_rate_is_the_current_waves_when_higher():
    # 100 calm days of 4 regions, then a wave: A restricts on day 100, B on 102, C on 104
    on = np.zeros((106, 4), bool)
    for r, d in enumerate((100, 102, 104)):
        on[d:, r] = True
    # whole table: 3 onsets over the calm region-days before each day (hand: 100 + 102 + 104 +
    # 105 prior days at risk = 411, less nothing) -> 3 / 411; the wave (from day 100): onsets of
    # B and C (A's onset opens it) over the calm region-days of days 100-104: 0 + 2 + 2 + 1 + 1 +
    # 3 + 3... counted directly below
    whole = 3 / float((~on[:-1]).sum())
    wave = on[100:]
    hand = 2 / float((~wave[:-1]).sum())
    assert onset_hazard(on) == max(whole, hand) == hand
    assert hand > 10 * whole
    # all calm again (the wave ended): the whole table's rate
    on2 = np.vstack([on, np.zeros((5, 4), bool)])
    assert onset_hazard(on2) == 3 / float((~on2[:-1]).sum())
    assert onset_hazard(np.zeros((10, 3), bool)) == 0.0


def test_a_calm_region_follows_the_median_path_of_the_regions_that_locked_down():
    days = pd.date_range("2020-03-01", "2020-03-20", freq="D")
    rows = []
    # A locks down on 5 Mar, B on 8 Mar (stay-at-home 2, nationwide); workplace closing goes to 2
    # on the day, to 3 two days later in A and three days later in B; C is calm
    for region, start, step in (("A", 5, 2), ("B", 8, 3), ("C", None, None)):
        d = np.arange(len(days)) + 1
        lock = (d >= start) if start else np.zeros(len(days), bool)
        work = np.where(lock, np.where(d >= (start or 0) + (step or 0), 3.0, 2.0), 1.0)
        for name, v in (
            ("stay_home_required", 2.0 * lock),
            ("stay_home_general", 1.0 * lock),
            ("workplace_closing", work),
        ):
            rows.append(pd.DataFrame({"region": region, "date": days, "name": name, "value": v}))
    ind = pd.concat(rows, ignore_index=True)
    asof = pd.Timestamp("2020-03-21")
    out = restricted_paths(ind, asof, {"C": (asof, None)}, ["workplace_closing"], horizon_days=10)
    assert set(out["region"]) == {"C"} and set(out["name"]) == {"workplace_closing"}
    path = out.set_index("date")["value"]
    # median of A and B k days after their start (hand): 2, 2, (3 + 2) / 2, 3, 3 ...
    np.testing.assert_allclose(path.to_numpy()[:5], [2.0, 2.0, 2.5, 3.0, 3.0])
    assert path.index[0] == asof and len(path) == 10 and (path.iloc[3:] == 3.0).all()
    # nobody locked down before: nothing to follow
    assert restricted_paths(
        ind, pd.Timestamp("2020-03-04"), {"C": (pd.Timestamp("2020-03-04"), None)}, ["workplace_closing"]
    ).empty


def test_a_calm_region_about_to_lock_down_is_forecast_with_the_fall():
    import sys
    import warnings
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from generators import family as fam
    from generators import scoring as sc

    data = fam.generate("links_fall_late", seed=0, per_kind=2, start="2020-01-06", end="2020-05-31")
    assert data.crossing["BEL"] == pd.Timestamp("2020-03-18")  # the origin's day: not known yet
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ratios = sc.runaway_ratios(data, sc.shock_forecaster())
    inv = data.inventory.set_index("resource_id")
    ratios["region"] = ratios["resource_id"].map(inv["region"])
    bel = ratios[ratios["region"] == "BEL"]["ratio"]
    # the fall is x0.45-0.7: a p90 held at the pre-shock level is 1.4-2.2x the realised peak
    assert bel.median() <= 1.45, bel.describe()
    assert ratios["ratio"].median() <= 1.6 and ratios["ratio"].quantile(0.95) <= 2.5


def test_a_lockdown_given_or_feared_turns_on_a_rule_that_reads_a_flag():
    # A rule learned as "stay-at-home >= 2 nationwide" (OxCGRT C6 with its general flag). A
    # lockdown start (the planner's scenario, or the regime risk of a calm region) sets the
    # stringency index and the stay-at-home level; the general flag follows the regions that
    # locked down before. Held at the calm region's 0, the rule never turned on.
    from surgeplan.forecast.candidates import Candidate
    from surgeplan.forecast.future import given_future, regime_risk

    days = pd.date_range("2020-02-01", "2020-03-20", freq="D")
    rows = []
    for region, start in (("A", 5), ("B", 8), ("C", None)):
        d = np.arange(len(days)) - 33  # day 1 = 5 Mar
        lock = (d >= start) if start else np.zeros(len(days), bool)
        for name, v in (("stay_home_required", 2.0 * lock), ("stay_home_general", 1.0 * lock)):
            rows.append(pd.DataFrame({"region": region, "date": days, "name": name, "value": v}))
        rows.append(
            pd.DataFrame(
                {"region": region, "date": days, "name": "stringency_index", "value": 20.0 + 60.0 * lock}
            )
        )
    ind = pd.concat(rows, ignore_index=True)
    asof = pd.Timestamp("2020-03-21")
    rule = Candidate("stay_home_required", "threshold", ">=", 2.0, flag="stay_home_general")
    specs, used = [((40.0, 80.0), True), rule], {0, 1}
    drv = (
        ind[ind["name"] == "stringency_index"].pivot_table(index="date", columns="region", values="value")
        / 80.0
    )

    given = given_future({"C": {"lockdown_start": "2020-03-23"}}, ind, drv, asof, specs=specs, used=used)
    on = given.scen_tables[1]["C"]
    assert len(on.loc["2020-03-23":"2020-04-30"]) == 39 and (on.loc["2020-03-23":"2020-04-30"] == 1.0).all()
    assert not (on.loc[:"2020-03-22"] > 0).any()

    regime, _ = regime_risk(ind, drv, asof, policy=["stay_home_general"])
    assert regime is not None and regime.calm == frozenset({"C"})
    flag = regime.scen[(regime.scen["region"] == "C") & (regime.scen["name"] == "stay_home_general")]
    assert len(flag) and (flag["value"] == 1.0).all() and flag["date"].min() == asof
