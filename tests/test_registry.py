"""Tests for sim.registry and the reference CSVs in sim/defaults/."""

from __future__ import annotations

import datetime as dt
import io
from importlib import resources

import pandas as pd
import pycountry
import pytest

from sim.io.registry import BLOCS, UN_GROUPS, bloc_members, load_members


def _csv(name: str) -> pd.DataFrame:
    text = resources.files("sim").joinpath("defaults", name).read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def members_csv() -> pd.DataFrame:
    return _csv("members.csv")


@pytest.fixture(scope="module")
def blocs_csv() -> pd.DataFrame:
    return _csv("blocs.csv")


# --- UN membership over time ------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "n"),
    [
        ("2022-12-30", 193),
        ("2017-12-21", 193),
        ("2011-07-13", 192),  # before South Sudan
        ("2011-07-14", 193),  # South Sudan admitted
        ("2011-07-15", 193),
        ("2006-06-27", 191),  # before Montenegro
        ("2006-06-28", 192),
        ("2002-09-09", 189),  # before Switzerland and Timor-Leste
        ("1945-10-24", 27),  # Charter in force; un.org dates 27 of today's states to this day
        ("1945-12-31", 49),  # all 51 original members less Czechoslovakia and Yugoslavia
    ],
)
def test_member_counts(on: str, n: int) -> None:
    assert len(load_members(on)) == n


def test_frame_shape_and_types() -> None:
    m = load_members(dt.date(2022, 12, 30))
    assert list(m.columns) == ["name", "un_group", "admitted", "blocs"]
    assert m.index.name == "iso3"
    assert m.index.is_monotonic_increasing
    assert m.index.is_unique
    assert pd.api.types.is_datetime64_any_dtype(m["admitted"])
    assert all(isinstance(b, tuple) for b in m["blocs"])
    assert m.loc["UKR", "admitted"] == pd.Timestamp("1945-10-24")
    assert m.loc["SRB", "admitted"] == pd.Timestamp("2000-11-01")


def test_accepts_dates_strings_and_timestamps() -> None:
    a = load_members("2019-01-01")
    b = load_members(dt.date(2019, 1, 1))
    c = load_members(pd.Timestamp("2019-01-01 15:30"))
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


def test_returns_fresh_copy() -> None:
    m = load_members("2022-12-30")
    m.loc["USA", "name"] = "changed"
    assert load_members("2022-12-30").loc["USA", "name"] == "United States"


def test_bad_date() -> None:
    with pytest.raises(ValueError, match="not a date"):
        load_members("yesterday-ish")


# --- members.csv integrity ----------------------------------------------------------------


def test_members_csv_columns_and_size(members_csv: pd.DataFrame) -> None:
    assert list(members_csv.columns) == ["iso3", "name", "un_group", "admitted"]
    assert len(members_csv) == 193
    assert members_csv["iso3"].is_unique
    assert members_csv["name"].is_unique


def test_valid_iso3(members_csv: pd.DataFrame) -> None:
    bad = [c for c in members_csv["iso3"] if pycountry.countries.get(alpha_3=c) is None]
    assert bad == []


def test_un_groups_valid(members_csv: pd.DataFrame) -> None:
    assert set(members_csv["un_group"]) <= set(UN_GROUPS)


def test_un_group_sizes() -> None:
    # Convention: US counted in WEOG (observer, counted for electoral purposes), Israel and
    # Türkiye in WEOG, Kiribati in Asia-Pacific. 54 + 54 + 23 + 33 + 29 = 193.
    sizes = load_members("2022-12-30")["un_group"].value_counts().to_dict()
    assert sizes == {
        "African": 54,
        "Asia-Pacific": 54,
        "Eastern European": 23,
        "GRULAC": 33,
        "WEOG": 29,
    }


def test_selected_names_and_groups() -> None:
    m = load_members("2022-12-30")
    expected = {
        "UKR": ("Ukraine", "Eastern European"),
        "USA": ("United States", "WEOG"),
        "RUS": ("Russia", "Eastern European"),
        "TUR": ("Türkiye", "WEOG"),
        "ISR": ("Israel", "WEOG"),
        "KIR": ("Kiribati", "Asia-Pacific"),
        "CIV": ("Côte d'Ivoire", "African"),
        "COG": ("Congo", "African"),
        "COD": ("DR Congo", "African"),
        "CYP": ("Cyprus", "Asia-Pacific"),
        "KAZ": ("Kazakhstan", "Asia-Pacific"),
    }
    for iso3, (name, group) in expected.items():
        assert (m.loc[iso3, "name"], m.loc[iso3, "un_group"]) == (name, group)


def test_admission_dates_parse(members_csv: pd.DataFrame) -> None:
    dates = pd.to_datetime(members_csv["admitted"], format="%Y-%m-%d")
    assert dates.min() == pd.Timestamp("1945-10-24")
    assert dates.max() == pd.Timestamp("2011-07-14")


# --- blocs.csv integrity ------------------------------------------------------------------


def test_blocs_csv_columns(blocs_csv: pd.DataFrame) -> None:
    assert list(blocs_csv.columns) == ["bloc", "iso3", "joined", "left", "source", "note"]
    assert set(blocs_csv["bloc"]) == set(BLOCS)
    assert (blocs_csv["source"] != "").all()


def test_bloc_iso3_are_members(blocs_csv: pd.DataFrame, members_csv: pd.DataFrame) -> None:
    assert set(blocs_csv["iso3"]) <= set(members_csv["iso3"])
    assert "PSE" not in set(blocs_csv["iso3"])  # non-UN members are excluded entirely


def test_bloc_spells_well_formed(blocs_csv: pd.DataFrame) -> None:
    joined = pd.to_datetime(blocs_csv["joined"], format="%Y-%m-%d")
    left = pd.to_datetime(blocs_csv["left"].where(blocs_csv["left"] != ""), format="%Y-%m-%d")
    assert ((left > joined) | left.isna()).all()
    # spells of one state in one bloc do not overlap
    df = blocs_csv.assign(
        joined=joined, left=left.fillna(pd.Timestamp("9999-12-31").as_unit(left.dt.unit))
    )
    for _, g in df.sort_values("joined").groupby(["bloc", "iso3"]):
        assert (g["joined"].iloc[1:].to_numpy() >= g["left"].iloc[:-1].to_numpy()).all()


# --- bloc membership over time ------------------------------------------------------------


@pytest.mark.parametrize(
    ("bloc", "on", "n"),
    [
        ("EU", "2022-12-30", 27),
        ("EU", "2017-12-21", 28),
        ("EU", "2013-06-30", 27),
        ("EU", "2013-07-01", 28),
        ("NATO", "2022-12-30", 30),
        ("NATO", "2023-04-04", 31),
        ("NATO", "2024-03-07", 32),
        ("NATO", "2017-06-04", 28),
        ("ArabLeague", "2026-01-01", 21),  # 22 members less Palestine
        ("ArabLeague", "2022-12-30", 20),  # Syria suspended
        ("OIC", "2026-01-01", 56),  # 57 members less Palestine
        ("AU", "2022-12-30", 54),
        ("AU", "2016-12-31", 53),  # before Morocco's return
        ("NAM", "2022-12-30", 119),  # 120 less Palestine
        ("NAM", "2026-01-01", 120),  # South Sudan joined 2024
        ("G77", "2022-12-30", 133),  # 134 less Palestine; China not a member
        ("GCC", "2022-12-30", 6),
        ("CSTO", "2022-12-30", 6),
        ("CSTO", "2010-01-01", 7),  # with Uzbekistan
        ("LDC", "2022-12-30", 46),
        ("LDC", "2026-01-01", 44),
    ],
)
def test_bloc_sizes(bloc: str, on: str, n: int) -> None:
    assert len(bloc_members(bloc, on)) == n


def test_uk_brexit_boundary() -> None:
    assert "GBR" in bloc_members("EU", "2020-01-31")
    assert "GBR" not in bloc_members("EU", "2020-02-01")
    assert "EU" in load_members("2019-01-01").loc["GBR", "blocs"]
    assert "EU" not in load_members("2022-12-30").loc["GBR", "blocs"]


def test_syria_arab_league_suspension() -> None:
    assert "SYR" in bloc_members("ArabLeague", "2011-11-15")
    assert "SYR" not in bloc_members("ArabLeague", "2011-11-16")
    assert "SYR" not in bloc_members("ArabLeague", "2023-05-06")
    assert "SYR" in bloc_members("ArabLeague", "2023-05-07")


def test_specific_memberships() -> None:
    assert "FIN" not in bloc_members("NATO", "2023-04-03")
    assert "FIN" in bloc_members("NATO", "2023-04-04")
    assert "MAR" in bloc_members("AU", "2017-01-30")
    assert "CHN" not in bloc_members("G77", "2022-12-30")
    assert "BTN" in bloc_members("LDC", "2023-12-12")
    assert "BTN" not in bloc_members("LDC", "2023-12-13")
    assert {"BGD", "NPL", "LAO"} <= set(bloc_members("LDC", "2026-01-01"))
    assert "UZB" not in bloc_members("CSTO", "2022-12-30")
    assert {"AZE", "FJI"} <= set(bloc_members("NAM", "2011-12-31"))


def test_blocs_column_matches_bloc_members() -> None:
    on = "2022-12-30"
    m = load_members(on)
    for bloc in BLOCS:
        via_frame = tuple(sorted(i for i, b in m["blocs"].items() if bloc in b))
        assert via_frame == bloc_members(bloc, on)


def test_bloc_members_only_un_members() -> None:
    # Kiribati was on the LDC list from 1986 but joined the UN only in 1999.
    assert "KIR" not in bloc_members("LDC", "1990-01-01")
    assert "KIR" in bloc_members("LDC", "2000-01-01")


def test_unknown_bloc() -> None:
    with pytest.raises(ValueError, match="known blocs: EU, NATO"):
        bloc_members("Warsaw Pact", "1980-01-01")
