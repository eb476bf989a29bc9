"""Region calendar helpers against facts checked by hand (official calendars)."""

import numpy as np

from surgeplan import regions


def test_alpha2_including_morocco_whose_code_clashes_with_a_month_constant():
    assert regions.alpha2("FRA") == "FR"
    assert regions.alpha2("MAR") == "MA"  # holidays.MAR is March (3), not Morocco
    assert regions.alpha2("GBR") == "GB"
    assert regions.alpha2("XXX") is None


def test_holidays_known_dates():
    fra = regions.holiday_dates("FRA", 2020, 2020)
    assert np.datetime64("2020-07-14") in fra and np.datetime64("2020-05-08") in fra
    mar = regions.holiday_dates("MAR", 2020, 2020)
    assert np.datetime64("2020-07-30") in mar  # Throne Day, Morocco
    assert regions.holiday_dates("XXX", 2020, 2020).size == 0


def test_timezones():
    assert regions.region_timezone("FRA") == "Europe/Paris"
    assert regions.region_timezone("MAR") == "Africa/Casablanca"
    assert regions.region_timezone("FRA", {"FRA": "UTC"}) == "UTC"
    assert regions.region_timezone(None) == "UTC"
    assert regions.region_timezone("KWT") == "Asia/Kuwait"  # not in the table: pytz by country
