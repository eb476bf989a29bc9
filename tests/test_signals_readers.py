"""Readers of the real indicator layouts, checked against values read by hand from the source files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surgeplan.errors import ValidationError
from surgeplan.signals import (
    bundled_indicators,
    bundled_population,
    bundled_regions,
    detect_format,
    is_owid_aggregate,
    read_generic,
    read_indicators,
    read_owid,
    read_oxcgrt_legacy,
    read_oxcgrt_v1,
    validate_indicators,
)

DATA = Path(__file__).parent / "data"
LEGACY = DATA / "oxcgrt_legacy"
V1 = DATA / "OxCGRT_timeseries_StringencyIndex_v1.csv"
OWID = DATA / "owid-covid-data-sample.csv"


def value(ind: pd.DataFrame, region: str, name: str, day: str) -> float:
    row = ind[(ind.region == region) & (ind.name == name) & (ind.date == pd.Timestamp(day))]
    assert len(row) == 1, (region, name, day, len(row))
    return float(row.value.iloc[0])


def first_day(ind: pd.DataFrame, region: str, name: str, at_least: float) -> pd.Timestamp:
    sub = ind[(ind.region == region) & (ind.name == name) & (ind.value >= at_least)]
    return sub.date.min()


def check_shape(ind: pd.DataFrame) -> None:
    assert list(ind.columns) == ["region", "date", "name", "value"]
    assert ind.date.dtype == "datetime64[ns]" and ind.value.dtype == np.float64
    assert ind.value.notna().all()
    assert not ind.duplicated(["region", "date", "name"]).any()


# ---------------------------------------------------------------- OxCGRT legacy
def test_legacy_folder_known_values():
    ind = read_oxcgrt_legacy(LEGACY)
    check_shape(ind)
    assert set(ind.name) == {
        "stringency_index",
        "stay_home_required",
        "stay_home_general",
        "workplace_closing",
        "confirmed_cases",
        "confirmed_deaths",
    }
    # stringency_index.csv, row "59","FRA", columns 16Mar2020 / 17Mar2020: "56.94", "87.96" (read by hand)
    assert value(ind, "FRA", "stringency_index", "2020-03-16") == 56.94
    assert value(ind, "FRA", "stringency_index", "2020-03-17") == 87.96
    # France's stay-at-home order began on 17 March 2020 (C6 = 2, flag 1 = whole country)
    assert first_day(ind, "FRA", "stay_home_required", 2) == pd.Timestamp("2020-03-17")
    assert value(ind, "FRA", "stay_home_general", "2020-03-17") == 1
    # Italy: C6 = 2 from 23 Feb 2020 but targeted (flag 0: towns in Lombardy and Veneto)
    assert first_day(ind, "ITA", "stay_home_required", 2) == pd.Timestamp("2020-02-23")
    assert value(ind, "ITA", "stay_home_general", "2020-02-23") == 0
    # confirmed_cases.csv, FRA 17Mar2020 = 7652; c2 FRA 17Mar2020 = 3
    assert value(ind, "FRA", "confirmed_cases", "2020-03-17") == 7652
    assert value(ind, "FRA", "workplace_closing", "2020-03-17") == 3
    # Grenada's empty cells are absent rows, not zeros or NaN: its stringency row is empty up to 31May2020,
    # its confirmed_cases row starts on 22Jan2020 (first 21 cells empty)
    assert ind[(ind.region == "GRD") & (ind.name == "stringency_index")].empty
    grd = ind[(ind.region == "GRD") & (ind.name == "confirmed_cases")]
    assert grd.date.min() == pd.Timestamp("2020-01-22") and len(grd) == 152 - 21


def test_legacy_filters_and_single_files():
    ind = read_oxcgrt_legacy(
        LEGACY, names=["stringency_index"], regions="fra, gbr", start="2020-03-01", end="2020-03-31"
    )
    assert set(ind.region) == {"FRA", "GBR"} and set(ind.name) == {"stringency_index"}
    assert len(ind) == 2 * 31
    one = read_oxcgrt_legacy([LEGACY / "c6_flag.csv"])
    assert set(one.name) == {"stay_home_general"}


def test_legacy_other_stem_keeps_its_name(tmp_path):
    src = (LEGACY / "c2_workplace_closing.csv").read_text()
    (tmp_path / "c1_school_closing.csv").write_text(src)
    ind = read_oxcgrt_legacy(tmp_path / "c1_school_closing.csv")
    assert set(ind.name) == {"c1_school_closing"}


def test_legacy_bad_cell_names_row_and_column(tmp_path):
    lines = (LEGACY / "stringency_index.csv").read_text().splitlines()
    parts = lines[3].split(",")  # 3rd data row (FRA)
    parts[4] = '"abc"'  # fields: index, code, name, 01Jan2020, 02Jan2020
    lines[3] = ",".join(parts)
    bad = tmp_path / "stringency_index.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValidationError) as err:
        read_oxcgrt_legacy(bad)
    assert err.value.row == 3 and err.value.column == "02Jan2020" and "stringency_index.csv" in str(err.value)


def test_legacy_bad_header(tmp_path):
    f = tmp_path / "stringency_index.csv"
    f.write_text('"","code","country_name","01Jan2020"\n"1","FRA","France","0"\n')
    with pytest.raises(ValidationError, match="country_code"):
        read_oxcgrt_legacy(f)
    f.write_text('"","country_code","country_name","32Jan2020"\n"1","FRA","France","0"\n')
    with pytest.raises(ValidationError) as err:
        read_oxcgrt_legacy(f)
    assert err.value.column == "32Jan2020"
    with pytest.raises(ValidationError, match="no OxCGRT legacy"):
        read_oxcgrt_legacy(tmp_path / "..")


# ---------------------------------------------------------------- OxCGRT final v1
def test_v1_national_rows():
    ind = read_oxcgrt_v1(V1)
    check_shape(ind)
    assert set(ind.region) == {"FRA", "GBR", "ITA"} and set(ind.name) == {"stringency_index"}
    # OxCGRT_timeseries_StringencyIndex_v1.csv, FRA NAT_TOTAL, 17Mar2020 = 87.96 (same as legacy)
    assert value(ind, "FRA", "stringency_index", "2020-03-17") == 87.96
    assert value(ind, "GBR", "stringency_index", "2020-03-23") == pytest.approx(
        float(
            pd.read_csv(V1).query("CountryCode == 'GBR' and Jurisdiction == 'NAT_TOTAL'")["23Mar2020"].iloc[0]
        )
    )


def test_v1_subnational_and_errors(tmp_path):
    states = read_oxcgrt_v1(V1, jurisdiction="STATE_TOTAL")
    assert set(states.region) == {"UK_ENG", "UK_NIR", "UK_SCO", "UK_WAL"}
    cities = read_oxcgrt_v1(V1, jurisdiction="CITY_TOTAL", name="si")
    assert set(cities.region) == {"AUS_1GSYD"} and set(cities.name) == {"si"}
    assert set(read_oxcgrt_v1(V1, jurisdiction="all").region) >= {"FRA", "UK_ENG", "AUS_1GSYD"}
    text = V1.read_text().replace(",NAT_TOTAL,", ",NATIONAL,", 1)
    (tmp_path / "x.csv").write_text(text)
    with pytest.raises(ValidationError) as err:
        read_oxcgrt_v1(tmp_path / "x.csv")
    assert err.value.column == "Jurisdiction" and err.value.row == 2


# ---------------------------------------------------------------- OWID
def test_owid_sample():
    ind = read_owid(OWID)
    check_shape(ind)
    # aggregates (OWID_WRL, OWID_EUR: no continent) dropped; Kosovo kept as RKS
    assert set(ind.region) == {"FRA", "ITA", "RKS"}
    assert value(ind, "FRA", "confirmed_cases", "2020-03-10") == 1773
    assert value(ind, "ITA", "new_cases", "2020-03-10") == 10149 - 9172
    assert value(ind, "ITA", "stringency_index", "2020-03-04") == 72.69
    assert value(ind, "FRA", "population", "2020-03-01") == 67813000
    fra_si = ind[(ind.region == "FRA") & (ind.name == "stringency_index")]
    assert pd.Timestamp("2020-03-10") not in set(fra_si.date)  # empty cell -> absent
    kept = read_owid(OWID, aggregates="keep")
    assert {"OWID_WRL", "OWID_EUR"} <= set(kept.region)
    assert list(
        is_owid_aggregate(pd.Series(["OWID_WRL", "FRA", "OWID_KOS"]), pd.Series(["", "Europe", "Europe"]))
    ) == [True, False, False]


def test_owid_columns_and_errors(tmp_path):
    ind = read_owid(OWID, columns={"new_cases_smoothed": "new_cases_mean7"})
    assert set(ind.name) == {"new_cases_mean7"}
    # FRA 2020-03-08 smoothed = (1115 - 130) / 7
    assert value(ind, "FRA", "new_cases_mean7", "2020-03-08") == pytest.approx(985 / 7, abs=1e-3)
    with pytest.raises(ValidationError) as err:
        read_owid(OWID, columns=["no_such_column"])
    assert err.value.column == "no_such_column"
    lines = OWID.read_text().splitlines()
    lines[4] = lines[4].replace("2020-03-04", "2020-13-04")
    (tmp_path / "o.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValidationError) as err:
        read_owid(tmp_path / "o.csv")
    assert err.value.row == 4 and err.value.column == "date"


# ---------------------------------------------------------------- generic
def test_generic_roundtrip_and_errors(tmp_path):
    f = tmp_path / "ind.csv"
    f.write_text(
        "region,date,name,value\nfra,2020-03-02,stringency_index,43.98\nFRA,2020-03-01,stringency_index,"
        "34.72\nGBR,2020-03-01,stringency_index,\n"
    )
    ind = read_generic(f)
    check_shape(ind)
    assert list(ind.date) == [pd.Timestamp("2020-03-01"), pd.Timestamp("2020-03-02")]
    assert list(ind.region) == ["FRA", "FRA"]
    ind.to_parquet(tmp_path / "ind.parquet")
    pd.testing.assert_frame_equal(read_generic(tmp_path / "ind.parquet"), ind)
    cases = {
        "region,date,name,value\nFRA,2020-03-01,x,1\nFRA,2020-03-xx,x,1\n": (2, "date"),
        "region,date,name,value\nFRA,2020-03-01,x,1\nFRA,2020-03-02,x,one\n": (2, "value"),
        "region,date,name,value\nFRA,2020-03-01,x,1\n,2020-03-02,x,1\n": (2, "region"),
        "region,date,name,value\nFRA,2020-03-01,x,1\nFRA,2020-03-01,x,2\n": (2, None),
        "region,day,name,value\nFRA,2020-03-01,x,1\n": (None, "date"),
    }
    for text, (row, column) in cases.items():
        f.write_text(text)
        with pytest.raises(ValidationError) as err:
            read_generic(f)
        assert (err.value.row, err.value.column, err.value.file) == (row, column, str(f)), text


def test_validate_frame_and_detect():
    frame = pd.DataFrame(
        {
            "region": ["FRA"],
            "date": pd.to_datetime(["2020-03-01 00:00"], utc=True),
            "name": ["x"],
            "value": [1],
        }
    )
    out = validate_indicators(frame)
    assert out.date.dtype == "datetime64[ns]" and out.date.iloc[0] == pd.Timestamp("2020-03-01")
    assert detect_format(LEGACY) == "oxcgrt-legacy"
    assert detect_format(V1) == "oxcgrt-v1"
    assert detect_format(OWID) == "owid"
    assert set(read_indicators(V1, "oxcgrt").region) == {"FRA", "GBR", "ITA"}


# ---------------------------------------------------------------- bundled
def test_bundled_covers_the_world_and_matches_source():
    ind = bundled_indicators()
    check_shape(ind)
    regions = set(bundled_regions())
    assert len(regions) >= 25
    for needed in ("FRA", "GBR", "ITA", "USA", "BRA", "ZAF", "EGY", "SAU", "ISR", "IND", "CHN", "JPN", "AUS"):
        assert needed in regions
    assert ind.date.min() == pd.Timestamp("2020-01-01") and ind.date.max() >= pd.Timestamp("2021-06-30")
    assert set(ind.name) == {
        "stringency_index",
        "stay_home_required",
        "stay_home_general",
        "workplace_closing",
        "confirmed_cases",
        "confirmed_deaths",
    }
    # the bundle and the verbatim source extract agree on every shared cell
    src = read_oxcgrt_legacy(LEGACY, regions="CHN,DEU,FRA,GBR,ITA")
    mine = bundled_indicators(regions="CHN,DEU,FRA,GBR,ITA", end="2020-05-31")
    pd.testing.assert_frame_equal(src, mine)


def test_bundled_population():
    pop = bundled_population()
    # population_2019.csv (World Bank): France 67,382,061; Italy 59,729,081
    assert pop["FRA"] == 67382061 and pop["ITA"] == 59729081
    assert pop["RKS"] == pop["XKX"]
    assert np.isnan(bundled_population(["FRA", "ZZZ"])["ZZZ"])
    with pytest.raises(ValueError, match="ZZZ"):
        bundled_indicators(regions="ZZZ", strict=True)
    with pytest.warns(UserWarning, match="ZZZ"):
        assert set(bundled_indicators(regions="FRA,ZZZ", end="2020-01-31").region) == {"FRA"}
