"""Driver selection (``surgeplan.forecast.driver``) on hand-made daily data where the answer is known.

Six regions get staggered, real-looking indicator paths: a stringency index that rises in steps,
a workplace-closing level (0-3) and a stay-at-home level with its general flag, each crossing on
different days. The daily load of one kind is set, by construction, by ONE of them (the "truth"),
with a known delay, size and working-day-only pattern, plus 2% noise; the other indicators are
decoys that cross a few days earlier or later. The selection must name the true indicator and
rule, the delay within a day, the size within 10%, and report its evidence.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surgeplan.forecast.driver import (
    Candidate,
    candidates,
    daily_log_change,
    driver_cube,
    rule_table,
    select_drivers,
)

DAYS = pd.date_range("2020-01-06", periods=100, freq="D")
REGIONS = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"]
# day index of each region's crossings: workplace closing 3, stay-at-home 2 (general), stringency 70
C2 = {"AAA": 50, "BBB": 54, "CCC": 57, "DDD": 61, "EEE": 65, "FFF": 70}
C6 = {"AAA": 45, "BBB": 58, "CCC": 52, "DDD": 61, "EEE": 60, "FFF": 76}
S70 = {"AAA": 47, "BBB": 51, "CCC": 62, "DDD": 58, "EEE": 70, "FFF": 64}


def _indicators(upto: int = len(DAYS)) -> pd.DataFrame:
    rows = []
    d = np.arange(len(DAYS))
    for i, r in enumerate(REGIONS):
        # steps of a stringency index (eased on day 92), a few points apart between regions
        # the earlier steps lead the crossings by a different number of days in each region (as
        # in the real data): a decoy plus a delay cannot mimic the true rule everywhere
        string = np.select(
            [d >= 92, d >= S70[r], d >= S70[r] - 3 - i, d >= S70[r] - 12],
            [50.0, 78.0 + i, 45.0 + i, 25.0],
            default=10.0 + i,
        )
        c2 = np.select([d >= C2[r], d >= C2[r] - 2 - i], [3.0, 1.0], default=0.0)
        c6 = np.where(d >= C6[r], 2.0, 0.0)
        # DDD orders stay-at-home for part of the country first (flag 0), nationwide 5 days later
        flag = np.where(d >= (C6[r] + 5 if r == "DDD" else C6[r] - 1 - i), 1.0, 0.0)
        for name, v in (
            ("stringency_index", string),
            ("workplace_closing", c2),
            ("stay_home_required", c6),
            ("stay_home_general", flag),
        ):
            rows.append(pd.DataFrame({"region": r, "date": DAYS[:upto], "name": name, "value": v[:upto]}))
    return pd.concat(rows, ignore_index=True)


def _working() -> np.ndarray:
    return np.asarray(DAYS.dayofweek < 5)


def _load(cross: dict, delay: int, size: float, weekdays_only: bool, seed: int = 0, per_region: int = 2):
    """Daily mean load: base x (1 + (size - 1) x ramp over 3 days from crossing + delay) + 2% noise."""
    rng = np.random.default_rng(seed)
    wk = _working()
    rows, kinds, regs = [], [], []
    for r in REGIONS:
        d = np.arange(len(DAYS)) - (cross[r] + delay)
        x = np.clip((d + 1) / 3.0, 0.0, 1.0)
        w = wk if weekdays_only else np.ones(len(DAYS), bool)
        for _ in range(per_region):
            base = 100.0 * rng.lognormal(0, 0.3) * np.where(wk, 1.0, 0.6)
            rows.append(base * (1 + (size - 1) * x * w) * np.exp(rng.normal(0, 0.02, len(DAYS))))
            kinds.append("vpn_gateway")
            regs.append(r)
    return np.array(rows), np.tile(wk, (len(rows), 1)), np.array(kinds), np.array(regs)


def test_candidates_cover_every_indicator_and_flagged_forms():
    cands = candidates(_indicators())
    rules = {c.rule for c in cands}
    assert "workplace_closing >= 3" in rules and "workplace_closing == 3" in rules
    assert "stay_home_required >= 2 and stay_home_general == 1" in rules
    assert {c.indicator for c in cands} == {
        "stringency_index",
        "workplace_closing",
        "stay_home_required",
        "stay_home_general",
    }
    # a continuous index: thresholds both ways and levels
    forms = {(c.op, c.form) for c in cands if c.indicator == "stringency_index"}
    assert {(">=", "threshold"), ("<=", "threshold"), ("", "level")} <= forms


def test_rule_table_and_cube_hold_last_value_and_zero_before_first_row():
    ind = _indicators(upto=60)
    cand = Candidate("workplace_closing", "threshold", ">=", 3.0)
    wide = rule_table(ind, cand)
    # AAA crosses on day 50: 0 the day before, 1 on the day (hand count)
    assert wide.loc[DAYS[49], "AAA"] == 0.0 and wide.loc[DAYS[50], "AAA"] == 1.0
    days = (
        (DAYS[0] - pd.Timedelta(days=5) + pd.to_timedelta(np.arange(80), "D"))
        .to_numpy()
        .astype("datetime64[D]")
    )
    cube = driver_cube(ind, [cand], ["AAA", "FFF"], days)
    assert cube[0, 0, :5].sum() == 0.0  # before the first row: no measures
    assert cube[0, 0, -1] == 1.0  # day 74 > last row 59: held at 1
    assert cube[0, 1, -1] == 0.0  # FFF (crosses day 70) held at its last known 0


def test_daily_log_change_is_relative_to_each_day_type():
    wk = _working()
    load = np.where(wk, 200.0, 50.0)[None, :] * np.where(np.arange(len(DAYS)) >= 60, 2.0, 1.0)
    z = daily_log_change(load, wk[None, :])
    assert np.allclose(z[0, :60], 0.0) and np.allclose(z[0, 60:], np.log(2.0))


@pytest.mark.parametrize(
    "truth, cross, delay, size, weekdays_only",
    [
        ("workplace_closing >= 3", C2, 2, 5.0, True),  # VPN x5 on working days, 2 days after C2 = 3
        ("stay_home_required >= 2 and stay_home_general == 1", C6, 0, 0.5, False),  # a fall to half
        ("stringency_index", S70, 4, 2.0, False),  # doubling 4 days after stringency >= 70
    ],
)
def test_the_true_driver_is_chosen_out_of_region(truth, cross, delay, size, weekdays_only):
    load, wk, kinds, regs = _load(cross, delay, size, weekdays_only)
    if truth.endswith("general == 1"):  # DDD's load follows its nationwide order
        cross = {**cross, "DDD": cross["DDD"] + 5}
        load, wk, kinds, regs = _load(cross, delay, size, weekdays_only)
    # up to day 90: the easing of day 92 is in the table (the selection sees what is known) but
    # not in the loads, which only follow the crossing
    n = 90
    days = DAYS[:n].to_numpy().astype("datetime64[D]")
    choice = select_drivers(load[:, :n], wk[:, :n], kinds, regs, days, _indicators())
    ch = choice["vpn_gateway"]
    assert ch.evidence == "loro"
    if truth == "stringency_index":
        # any threshold between the two steps (45-50 and 78-83) is the same rule on these paths
        assert (
            ch.candidate.indicator == truth and ch.candidate.op == ">=" and 50 < ch.candidate.threshold <= 78
        )
    else:
        assert ch.candidate.rule in (truth, truth.replace(">= 3", "== 3"))
    # the ramp is 3 days linear: its delay + rise must put the half-way point within a day
    assert abs(ch.delay_days + ch.tau_up_days - (delay + 1)) <= 1.5
    size_wd, size_we = np.exp(ch.log_size)
    assert size_wd == pytest.approx(size, rel=0.1)
    assert size_we == pytest.approx(1.0 if weekdays_only else size, rel=0.1, abs=0.05)
    assert set(ch.regions_used) == set(REGIONS)
    assert ch.error < 0.5 * ch.error_none  # out of region, the driver explains most of the change
    row = ch.as_dict()
    assert row["sign"] == (1 if size > 1 else -1) and row["n_regions"] == 6


def test_thin_evidence_is_reported_and_no_evidence_is_none():
    # only AAA crossed (day 50), observed up to day 54: one region, 2 days after its delayed start
    load, wk, kinds, regs = _load(C2, 2, 5.0, True)
    upto = 55
    days = DAYS[:upto].to_numpy().astype("datetime64[D]")
    ch = select_drivers(load[:, :upto], wk[:, :upto], kinds, regs, days, _indicators(upto))["vpn_gateway"]
    assert ch.evidence == "thin" and ch.regions_used[0] == "AAA"
    assert np.exp(ch.log_size[0]) > 2.0  # it saw the rise: not flat
    # nobody crossed yet: no driver, no response
    early = 45
    ch0 = select_drivers(
        load[:, :early],
        wk[:, :early],
        kinds,
        regs,
        DAYS[:early].to_numpy().astype("datetime64[D]"),
        _indicators(early),
    )["vpn_gateway"]
    assert ch0.evidence == "none" and ch0.candidate is None and ch0.log_size == (0.0, 0.0)


def test_a_kind_that_does_not_respond_gets_no_driver():
    load, wk, kinds, regs = _load(C2, 0, 1.0, False, seed=3)
    ch = select_drivers(load, wk, kinds, regs, DAYS.to_numpy().astype("datetime64[D]"), _indicators())
    assert ch["vpn_gateway"].evidence == "none"


def _first_order(days: int, tau: float) -> np.ndarray:
    """A first-order rise from day 0: ``1 - exp(-(d + 1) / tau)``."""
    return 1.0 - np.exp(-(np.arange(days) + 1.0) / tau)


def test_a_load_that_stopped_moving_is_level_while_its_shape_still_climbs():
    from surgeplan.forecast.driver_spread import levelled

    # a 4-day linear ramp to x6.6 (log 1.89), complete on day 3, seen up to day 5; fitted by a
    # first-order rise with tau 2 days (0.918 on day 4, 0.950 on day 5). The load is flat on the
    # last two plateau days; net of the shape it "fell" by 1.89 x 0.032 = 0.060 > tol 0.0566
    # (2 sqrt(2) x noise 0.02): the load stopped moving, the response is level.
    size = 1.89
    z = size * np.clip((np.arange(6) + 1.0) / 4.0, 0.0, 1.0)[None, :]
    X = _first_order(6, 2.0)[None, :]
    wk = np.ones_like(z, bool)
    b = np.array([size, size])
    moved_net = (z[0, 5] - z[0, 4]) - size * (X[0, 5] - X[0, 4])
    assert abs(moved_net) > 2 * np.sqrt(2) * 0.02  # the shape alone would say "still moving"
    assert levelled(X, z, wk, b, noise=0.02)


def test_a_ramp_still_climbing_is_not_level_and_one_plateau_day_is_not_enough():
    from surgeplan.forecast.driver_spread import levelled

    # the load climbs 0.2 a day in log (x8 over 10 days) while a quick shape (tau 1) fitted x2.2
    # is at its plateau from day 2: moved 0.2 a day by the load, ~0.19 beyond the shape
    z = 0.2 * (np.arange(6) + 1.0)[None, :]
    X = _first_order(6, 1.0)[None, :]
    wk = np.ones_like(z, bool)
    assert not levelled(X, z, wk, np.array([0.8, 0.8]), noise=0.02)
    # a single working day at the plateau (the rest weekends) says nothing yet
    wk_one = np.zeros_like(wk)
    wk_one[0, 5] = True
    flat = np.full_like(z, 1.0)
    assert not levelled(X, flat, wk_one, np.array([1.0, 1.0]), noise=0.02)


def test_a_plateau_seen_for_a_week_is_level_despite_one_noisy_pair():
    from surgeplan.forecast.driver_spread import levelled

    # x7 from day 0 (log 1.95), eight working days at the plateau with a daily scatter of 0.03
    # (half as large again as the 0.02 before the shock); the last two days differ by 0.066 >
    # 2 sqrt(2) x 0.02 = 0.057, so one pair alone says "moving"; the means of the last two and
    # the two before differ by 0.011 < 2 x 0.02
    z = np.array([[1.962, 1.952, 1.918, 1.881, 1.834, 1.896, 1.919, 1.853]])
    X = np.ones_like(z)
    wk = np.ones_like(z, bool)
    b = np.array([1.9, 1.9])
    assert abs(z[0, -1] - z[0, -2]) > 2 * np.sqrt(2) * 0.02
    assert levelled(X, z, wk, b, noise=0.02)
    # the same days still climbing 0.05 a day are not level
    assert not levelled(X, z + 0.05 * np.arange(8), wk, b, noise=0.02)


def test_one_regions_real_response_is_kept_when_others_crossed_without_it():
    # AAA's load triples 2 days after its C2 = 3 (day 50); the other regions cross the same rule
    # later and do not move. Up to day 62 no candidate predicts out of region, but in sample the
    # response AAA shows (x3, far beyond the 2% daily noise) halves the error of no response: it
    # is kept as thin evidence, not dropped as a spurious rule would be.
    upto = 62
    la, wk, kinds, regs = _load(C2, 2, 3.0, False)
    flat, _, _, _ = _load(C2, 2, 1.0, False)
    load = np.where((regs == "AAA")[:, None], la, flat)
    days = DAYS[:upto].to_numpy().astype("datetime64[D]")
    ch = select_drivers(load[:, :upto], wk[:, :upto], kinds, regs, days, _indicators(upto))["vpn_gateway"]
    assert ch.evidence == "thin" and "AAA" in ch.regions_used and len(ch.regions_used) >= 2
    assert np.exp(ch.log_size[0]) > 2.0
    assert ch.error < 0.75 * ch.error_none


def test_a_response_still_rising_is_carried_at_least_at_its_last_day():
    from surgeplan.forecast.driver_spread import at_least_last_seen

    # one region, driver on from day 2 (x = 1: a step shape), load ramping x1.5 then x2 (log
    # 0.405, 0.693); day 2 a working day, day 3 a weekend day. Fitted slopes 0.32 / 0.51 (hand:
    # a ridge and a weekend leaning on the working day) are raised to what each day type's last
    # day showed: 0.405 and 0.693.
    X = np.array([[0.0, 0.0, 1.0, 1.0]])
    z = np.array([[0.0, 0.01, np.log(1.5), np.log(2.0)]])
    wk = np.array([[True, True, True, False]])
    np.testing.assert_allclose(
        at_least_last_seen(X, z, wk, np.array([0.32, 0.51])), [np.log(1.5), np.log(2.0)]
    )
    # a slope already beyond the last day is kept; a fall stays a fall (the last day's rise on a
    # fitted fall is not taken); a day type never seen under the driver keeps its slope
    np.testing.assert_allclose(at_least_last_seen(X, z, wk, np.array([0.5, 0.9])), [0.5, 0.9])
    np.testing.assert_allclose(at_least_last_seen(X, z, wk, np.array([-0.2, -0.3])), [-0.2, -0.3])
    only_wk = np.array([[True, True, True, True]])
    out = at_least_last_seen(X, z, only_wk, np.array([0.3, 0.25]))
    np.testing.assert_allclose(out, [np.log(2.0), 0.25])
    # a fall still deepening: raised in magnitude
    np.testing.assert_allclose(at_least_last_seen(X, -z, wk, np.array([-0.2, -0.3])), -np.log([1.5, 2.0]))


def test_thin_evidence_of_a_ramp_carries_at_least_its_last_working_day():
    # AAA alone crossed (day 50, delay 2, a 3-day ramp to x5 on working days); seen up to day 54:
    # Thursday x = 1/3, Friday 2/3 (x3.67), Saturday off. The size carried is at least Friday's.
    load, wk, kinds, regs = _load(C2, 2, 5.0, True)
    upto = 55
    days = DAYS[:upto].to_numpy().astype("datetime64[D]")
    ch = select_drivers(load[:, :upto], wk[:, :upto], kinds, regs, days, _indicators(upto))["vpn_gateway"]
    assert ch.evidence == "thin" and not ch.levelled
    assert np.exp(ch.log_size[0]) >= 3.67 * np.exp(-3 * 0.02)


def test_a_threshold_between_the_grid_points_is_found_by_the_second_pass():
    from surgeplan.forecast.candidates import refined

    # stringency wanders through many distinct low values, then jumps: to 72-77 in five regions
    # (on their S70 day), while FFF sits at 68.5 from day 55 and reaches 75 on day 76. The load
    # doubles 1 day after stringency >= 70 (FFF from day 77). The coarse quantile grid has no
    # threshold between 68.5 and 72: its nearest one below 72 reads FFF as on for three weeks
    # without a response. The second pass searches the values' midpoints there.
    d = np.arange(len(DAYS))
    rows = []
    cross = {**S70, "FFF": 76}
    for i, r in enumerate(REGIONS):
        crawl = 30.0 + 20.0 * np.sin(0.37 * d + i) + 0.01 * d  # hundreds of distinct values, no trend
        s = np.where(d >= cross[r], 72.0 + i, crawl)
        if r == "FFF":
            s = np.where((d >= 55) & (d < 76), 68.5, s)
        rows.append(pd.DataFrame({"region": r, "date": DAYS, "name": "stringency_index", "value": s}))
    ind = pd.concat(rows, ignore_index=True)
    grid = [c.threshold for c in candidates(ind) if c.form == "threshold" and c.op == ">="]
    assert not any(68.5 < t < 72.0 for t in grid), grid  # the case this test is about
    load, wk, kinds, regs = _load(cross, 1, 2.0, False)
    n = 90
    days = DAYS[:n].to_numpy().astype("datetime64[D]")
    ch = select_drivers(load[:, :n], wk[:, :n], kinds, regs, days, ind)["vpn_gateway"]
    assert ch.evidence == "loro" and ch.candidate.indicator == "stringency_index"
    assert 68.5 < ch.candidate.threshold <= 72.0, ch.candidate
    assert np.exp(ch.log_size[0]) == pytest.approx(2.0, rel=0.1)
    # refined(): midpoints of the distinct values between the picked threshold's grid neighbours
    below = max(t for t in grid if t < 68.5)
    fine = refined(ind, Candidate("stringency_index", "threshold", ">=", below), candidates(ind))
    assert any(68.5 < c.threshold < 72.0 for c in fine)
    assert all(c.op == ">=" and c.indicator == "stringency_index" for c in fine)
    assert refined(ind, Candidate("stay_home_required", "threshold", ">=", 2.0), candidates(ind)) == []


def test_the_size_spread_counts_the_resources_of_a_region_not_only_its_median():
    from scipy.stats import t as student_t

    from surgeplan.forecast.driver_spread import SPREAD_FLOOR, size_spread

    # two regions, six working days at full drive; each has two resources at +0.2 and -0.2 in log
    # around the same response (median 0): the regions agree, their resources do not
    X = np.ones((2, 6))
    wk = np.ones((2, 6), bool)
    z_region = np.zeros((2, 6))
    z_res = np.array([[0.2] * 6, [-0.2] * 6, [0.2] * 6, [-0.2] * 6])
    region = np.array([0, 0, 1, 1])
    z80 = 1.2815515655446004
    alone = size_spread(X, z_region, wk, (0.0, 0.0))
    assert alone[0] == SPREAD_FLOOR
    both = size_spread(X, z_region, wk, (0.0, 0.0), members=(z_res, region))
    # hand: |error| 0.2 everywhere, its 80% quantile 0.2; sd = 0.2 / z80 x t(0.9, 2) / z80
    assert both[0] == pytest.approx(0.2 / z80 * student_t.ppf(0.9, 2) / z80, rel=1e-9)
