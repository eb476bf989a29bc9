"""Regions (ISO 3166 alpha-3 countries): time zone, working week, public holidays.

One place for what the simulator, the forecaster and the planners need to know about a region's
calendar, so the layers agree on local time. Lowest layer: imports numpy and (lazily) the
``holidays`` package only.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np

#: One IANA zone per region (ISO 3166 alpha-3): the zone of the country's capital or most populous
#: area. Countries spanning several zones (USA, CAN, BRA, MEX, AUS, RUS) get the zone of most of
#: their population; override per scenario (``[timezones]``). Unknown regions use UTC.
REGION_TIMEZONES: dict[str, str] = {
    "ARE": "Asia/Dubai",
    "ARG": "America/Argentina/Buenos_Aires",
    "AUS": "Australia/Sydney",
    "AUT": "Europe/Vienna",
    "BEL": "Europe/Brussels",
    "BGD": "Asia/Dhaka",
    "BRA": "America/Sao_Paulo",
    "CAN": "America/Toronto",
    "CHE": "Europe/Zurich",
    "CHL": "America/Santiago",
    "CHN": "Asia/Shanghai",
    "CIV": "Africa/Abidjan",
    "CMR": "Africa/Douala",
    "COL": "America/Bogota",
    "CZE": "Europe/Prague",
    "DEU": "Europe/Berlin",
    "DNK": "Europe/Copenhagen",
    "DZA": "Africa/Algiers",
    "EGY": "Africa/Cairo",
    "ESP": "Europe/Madrid",
    "ETH": "Africa/Addis_Ababa",
    "FIN": "Europe/Helsinki",
    "FRA": "Europe/Paris",
    "GBR": "Europe/London",
    "GHA": "Africa/Accra",
    "GRC": "Europe/Athens",
    "HKG": "Asia/Hong_Kong",
    "HUN": "Europe/Budapest",
    "IDN": "Asia/Jakarta",
    "IND": "Asia/Kolkata",
    "IRL": "Europe/Dublin",
    "IRN": "Asia/Tehran",
    "ISR": "Asia/Jerusalem",
    "ITA": "Europe/Rome",
    "JOR": "Asia/Amman",
    "JPN": "Asia/Tokyo",
    "KEN": "Africa/Nairobi",
    "KOR": "Asia/Seoul",
    "LUX": "Europe/Luxembourg",
    "MAR": "Africa/Casablanca",
    "MEX": "America/Mexico_City",
    "MUS": "Indian/Mauritius",
    "MYS": "Asia/Kuala_Lumpur",
    "NGA": "Africa/Lagos",
    "NLD": "Europe/Amsterdam",
    "NOR": "Europe/Oslo",
    "NZL": "Pacific/Auckland",
    "PAK": "Asia/Karachi",
    "PER": "America/Lima",
    "PHL": "Asia/Manila",
    "POL": "Europe/Warsaw",
    "PRT": "Europe/Lisbon",
    "QAT": "Asia/Qatar",
    "ROU": "Europe/Bucharest",
    "RUS": "Europe/Moscow",
    "SAU": "Asia/Riyadh",
    "SEN": "Africa/Dakar",
    "SGP": "Asia/Singapore",
    "SVK": "Europe/Bratislava",
    "SWE": "Europe/Stockholm",
    "THA": "Asia/Bangkok",
    "TUN": "Africa/Tunis",
    "TUR": "Europe/Istanbul",
    "UKR": "Europe/Kyiv",
    "USA": "America/New_York",
    "VNM": "Asia/Ho_Chi_Minh",
    "ZAF": "Africa/Johannesburg",
}

#: First working day of the week (Monday = 0) where the weekend is not Saturday-Sunday: Friday-
#: Saturday weekends start the week on Sunday (6); Iran works Saturday to Wednesday (5). The UAE moved
#: to a Saturday-Sunday weekend in 2022; the map describes 2020-2021.
REGION_WEEK_START: dict[str, int] = {
    "ARE": 6,
    "BHR": 6,
    "DZA": 6,
    "EGY": 6,
    "IRN": 5,
    "ISR": 6,
    "JOR": 6,
    "KWT": 6,
    "OMN": 6,
    "QAT": 6,
    "SAU": 6,
}


#: ISO alpha-3 codes the ``holidays`` registry spells otherwise (it lists Morocco as "MOR" because
#: ``holidays.MAR`` is the month constant March).
_ISO3_NOT_IN_HOLIDAYS_REGISTRY = {"MAR": "MA"}


def working_week_day(dow: np.ndarray, region: str | None) -> np.ndarray:
    """Day of the region's working week from the calendar weekday ``dow`` (Monday = 0).

    0-4 are working days (0 the first), 5-6 the weekend (6 the last): Saturday-Sunday weekends
    return ``dow`` unchanged; Friday-Saturday weekends (Egypt, Gulf states, Israel ...) map Sunday
    to 0 and Friday, Saturday to 5, 6 (:data:`REGION_WEEK_START`).
    """
    start = REGION_WEEK_START.get(str(region).upper(), 0) if region else 0
    return np.mod(np.asarray(dow, dtype=np.int64) - start, 7)


@lru_cache(maxsize=1024)
def alpha2(region: str | None) -> str | None:
    """ISO 3166 alpha-2 code of an alpha-3 (or alpha-2) region, from the ``holidays`` registry.

    Returns None for unknown codes. (Looking codes up through ``holidays.country_holidays(alpha3)``
    is unsafe: ``holidays.MAR`` is the month constant March, not Morocco.)
    """
    if region is None:
        return None
    code = str(region).strip().upper()
    if len(code) == 2:
        return code
    if code in _ISO3_NOT_IN_HOLIDAYS_REGISTRY:
        return _ISO3_NOT_IN_HOLIDAYS_REGISTRY[code]
    try:
        from holidays import registry
    except ImportError:  # pragma: no cover - holidays is a dependency
        return None
    for entry in registry.COUNTRIES.values():
        if len(entry) >= 3 and entry[2] == code:
            return entry[1]
    return None


def region_timezone(region: str | None, overrides: Mapping[str, str] | None = None) -> str:
    """IANA time zone of ``region`` (alpha-3).

    Order: ``overrides`` (e.g. a scenario's ``[timezones]``), then :data:`REGION_TIMEZONES`, then the
    first zone pytz lists for the country, else ``"UTC"``.
    """
    if region is None or str(region) in ("", "nan", "None"):
        return "UTC"
    code = str(region).upper()
    if overrides and code in overrides:
        return overrides[code]
    if code in REGION_TIMEZONES:
        return REGION_TIMEZONES[code]
    return _first_zone(code)


@lru_cache(maxsize=1024)
def _first_zone(code: str) -> str:
    a2 = alpha2(code)
    if a2 is None:
        return "UTC"
    try:
        import pytz

        zones = pytz.country_timezones(a2)
        return zones[0] if zones else "UTC"
    except (ImportError, KeyError):
        return "UTC"


@lru_cache(maxsize=1024)
def holiday_dates(region: str | None, first_year: int, last_year: int) -> np.ndarray:
    """National public holidays of ``region`` (alpha-3) in [first_year, last_year], sorted ``datetime64[D]``.

    Unknown regions have none.
    """
    a2 = alpha2(region)
    if a2 is None:
        return np.array([], dtype="datetime64[D]")
    try:
        import holidays

        cal = holidays.country_holidays(a2, years=range(int(first_year), int(last_year) + 1))
    except (NotImplementedError, KeyError, AttributeError, ImportError, TypeError):
        return np.array([], dtype="datetime64[D]")
    return np.array(sorted(cal.keys()), dtype="datetime64[D]")
