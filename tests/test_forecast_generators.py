"""The shock is carried to the next country whatever drives it, and not run away with (issue 16).

Five generators (``tests/generators/family.py``), written independently of ``surgeplan.simulate``,
tie the load of a few resource kinds to different indicator rules (OxCGRT C6 stay-at-home >= 2
with its general flag, C2 workplace closing = 3, stringency >= 70, 7-day case incidence >= 10 per
100k) with delays of 0-7 days, ramps of 1-10 days, sizes x0.4-x8 (falls and rises), working-day-
only responses and decay after lifting, in 9-11 countries each on their real 2020 dates.

For each generator (scoring in ``tests/generators/scoring.py``):

* **carried share**: a forecast made the day after a country crosses carries >= 50% of the change
  that follows in forecast days 8-14, for >= 75% of the countries crossing 3 or more days after
  the first one;
* **no runaway**: a 42-day forecast made 8 days after the first crossing has a p90 daily peak
  within [0.9, 1.6] x the realised peak in the median over resources and days 8-42, and
  <= 2.5 x at the 95th percentile;
* **honest intervals**: over the carried-share forecasts (every resource of the countries scored,
  hours of days 1-14), the measured load is inside p10-p90 75-85% of the time.

One resource per (country, kind) and history from February: a few seconds per fit, about 40 fits.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from generators import scoring as sc
from generators.family import GENERATORS, generate

pytestmark = pytest.mark.slow

START, END = "2020-02-03", "2020-05-20"


@pytest.fixture(scope="module", params=sorted(GENERATORS))
def scored(request):
    name = request.param
    data = generate(name, seed=1, start=START, end=END)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = sc.carried_share(data, sc.shock_forecaster())
        ratios = sc.runaway_ratios(data, sc.shock_forecaster())
    return name, data, table, ratios


def test_the_generator_family_is_what_the_issue_asks(scored):
    name, data, table, _ = scored
    spec = GENERATORS[name]
    assert 6 <= len(data.crossing) <= 11
    first = min(data.crossing.values())
    assert sum((c - first).days >= 3 for c in data.crossing.values()) >= 4
    # the response is really there: resources that moved by >= 20% in days 8-14, in most countries
    assert table.groupby("region")["moved"].any().mean() >= 0.75, table
    assert any(r.size != (1.0, 1.0) for r in spec.responses.values())


def test_forecast_carries_the_change_to_the_next_country(scored):
    name, _, table, _ = scored
    shares = sc.country_shares(table)
    carried = (shares >= 0.5).mean()
    assert carried >= 0.75, f"{name}: share carried per country {shares.round(2).to_dict()}"


#: measured, not met (none at present; kept so that a measured miss is written down with its cause)
COVERAGE_NOT_MET: dict[str, str] = {}

#: measured, not met (none at present; kept so that a measured miss is written down with its cause)
RUNAWAY_NOT_MET: dict[str, str] = {}


def test_intervals_are_honest_through_the_transfer(scored, request):
    name, _, table, _ = scored
    if name in COVERAGE_NOT_MET:
        request.applymarker(pytest.mark.xfail(strict=True, reason=COVERAGE_NOT_MET[name]))
    cov = sc.coverage(table)
    assert 0.75 <= cov <= 0.85, f"{name}: p10-p90 coverage {cov:.3f}"


def test_no_runaway_after_the_response_levels_off(scored, request):
    name, _, _, ratios = scored
    if name in RUNAWAY_NOT_MET:
        request.applymarker(pytest.mark.xfail(strict=True, reason=RUNAWAY_NOT_MET[name]))
    med, p95 = ratios["ratio"].median(), ratios["ratio"].quantile(0.95)
    assert 0.9 <= med <= 1.6, f"{name}: median p90 peak / realised peak {med:.2f}"
    assert p95 <= 2.5, f"{name}: 95th percentile {p95:.2f}"


def test_update_and_predict_after_a_learned_transfer():
    """A fit that carries a learned (load-space) pool, then update() with the next day's hours:
    the pool is converted for days the fit never counted (update appends them), and the forecast
    stays finite and ordered."""
    data = generate("vpn_workplace", seed=2, start="2020-02-10", end="2020-03-31")
    origin = pd.Timestamp("2020-03-22", tz="UTC")
    meas = data.measurements
    model = sc.shock_forecaster()(
        meas, data.inventory, data.indicators[data.indicators["date"] < "2020-03-22"], origin, 1, sc.QUANTILES
    ).attrs["model"]
    assert (model.driver_["evidence"] == "loro").any()
    day = meas[(meas["ts"] >= origin) & (meas["ts"] < origin + pd.Timedelta(days=1))]
    fc = model.update(day).predict("7D")
    assert len(fc) == 7 * 24 * data.inventory.shape[0]
    values = fc[["p10", "p50", "p90"]].to_numpy()
    assert np.isfinite(values).all()
    assert (values[:, 0] <= values[:, 1]).all() and (values[:, 1] <= values[:, 2]).all()


def test_thin_evidence_carries_the_size_seen_in_one_region():
    """Spain the day after it crosses (15 Mar 2020), with Italy the only region hit before it: the
    voice response (x1.9-2.1 three days after the order) is seen in one region for two days, and
    the forecast still carries at least half of the change that follows in days 8-14. Bounded by
    the pool of Italy's own hourly fits (x1.06: a doubling seen at partial intensity), it carried
    13%."""
    data = generate("voice_stay_home", seed=0, start="2020-02-03", end="2020-04-05")
    crossing = data.crossing["ESP"]
    assert sorted(data.crossing.values())[:2] == [data.crossing["ITA"], crossing]
    origin = (crossing + pd.Timedelta(days=1)).tz_localize("UTC")
    meas = data.measurements[data.measurements["ts"] < origin]
    ind = data.indicators[data.indicators["date"] < origin.tz_localize(None)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = sc.shock_forecaster()(meas, data.inventory, ind, origin, 14, sc.QUANTILES)
    drivers = fc.attrs["model"].driver_.set_index("kind")
    assert drivers.loc["trunk_group", "evidence"] == "thin"
    rid = data.inventory.query("region == 'ESP' and kind == 'trunk_group'")["resource_id"].iloc[0]
    meas_all = data.measurements
    load = meas_all[meas_all["resource_id"] == rid].set_index("ts")["load"]
    pre = load[crossing.tz_localize("UTC") - pd.Timedelta(days=14) : crossing.tz_localize("UTC")].mean()
    days_8_14 = slice(origin + pd.Timedelta(days=7), origin + pd.Timedelta(days=14) - pd.Timedelta(hours=1))
    real = load[days_8_14].mean()
    pred = fc[fc["resource_id"] == rid].set_index("ts")["p50"][days_8_14].mean()
    assert real > 1.5 * pre  # the response is there
    assert (pred - pre) / (real - pre) >= 0.5, (pre, real, pred)


def _runaway(name: str, seed: int, per_kind: int) -> pd.DataFrame:
    """The no-runaway ratios of generator ``name`` (``sc.runaway_ratios``), warnings quiet."""
    data = generate(name, seed=seed, per_kind=per_kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sc.runaway_ratios(data, sc.shock_forecaster())


def _assert_no_runaway(ratios: pd.DataFrame) -> None:
    """Issue 16 item 2: median p90 peak / realised peak in [0.9, 1.6], 95th percentile <= 2.5."""
    med, p95 = ratios["ratio"].median(), ratios["ratio"].quantile(0.95)
    assert 0.9 <= med <= 1.6, med
    assert p95 <= 2.5, p95


def test_a_working_day_response_is_not_carried_to_weekends_once_they_are_seen():
    """VPN x4-7 on working days only (``vpn_alone``, six countries closing workplaces): 8 days after
    the first crossing, weekends under the rule were seen in five regions with no response. The
    weekend size leaning a whole day on the working day's still carried a fifth of x7 (log) to
    Saturdays, p90 2.8x the load that came at the 95th percentile (issue 16 item 2: <= 2.5)."""
    ratios = _runaway("vpn_alone", seed=0, per_kind=2)
    _assert_no_runaway(ratios)
    weekend = ratios["ts"].dt.dayofweek >= 5
    assert ratios.loc[weekend, "ratio"].median() <= 1.6 * ratios.loc[~weekend, "ratio"].median()


@pytest.mark.xfail(
    strict=True,
    reason=(
        "measured, not met: with one region hit, dozens of rules tie on its onset and the one that "
        "fired in most regions wins (a case incidence at the first cases, 6 days on): x2.4 carried "
        "to every country weeks before its own closing, p95 6.1. An equal prior per indicator over "
        "its forms fixed it (p95 1.8) but chose workplace_closing >= 1 for the bundled replay's VPN "
        "gateways and made the max_growth guard fire on 8 busy hours (benchmarks/RESULTS.md, session 11)"
    ),
)
def test_one_region_hit_does_not_carry_a_rule_that_fires_everywhere_first():
    """VPN x7-8 on working days, 5 days after workplace closing = 3, over 10 days
    (``vpn_late_x8``): 8 days after Italy closed, only Italy has shown it. The no-runaway ratio
    (issue 16 item 2) on this corner of the family."""
    _assert_no_runaway(_runaway("vpn_late_x8", seed=0, per_kind=1))


def test_a_mobility_index_carries_the_shock_as_a_rule_does():
    """Voice x1.8-2.2 and links x0.6-0.75 in proportion to a residential-mobility index (time at
    home, 0-30%, following stringency over a few days; ``voice_mobility``): no threshold, the
    level drives the load. Its levels are candidates like any indicator's: carried to the next
    country (8 of 8, median share 0.89 when written) and not run away with (p95 1.68)."""
    data = generate("voice_mobility", seed=0, per_kind=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = sc.carried_share(data, sc.shock_forecaster())
        ratios = sc.runaway_ratios(data, sc.shock_forecaster())
    shares = sc.country_shares(table)
    assert (shares >= 0.5).mean() >= 0.75, shares.round(2).to_dict()
    _assert_no_runaway(ratios)
