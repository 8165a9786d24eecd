"""Roll-call loader: the README's checks on the real data, the absence rule, errors and fetch.

The real data are ../shared/data (fixture ``data_dir``); facts come from its README and FACTS.md.
Error and fetch tests use tiny hand-made folders and a loopback HTTP server, never the network.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.core.acts import ACTS
from sim.estimate.window import find_roll_call
from sim.io import data as sim_data
from sim.io.countries import iso3_name, to_iso3
from sim.io.data import RollCallData, fetch, load_roll_calls, resolve_data_dir
from sim.io.errors import DataError

# --------------------------------------------------------------------------------------------------
# helpers


def tally(data: RollCallData, rcid: int) -> dict[str, int]:
    """Acts on one roll call, counted from the tidy votes frame."""
    acts = data.votes.loc[data.votes.rcid == rcid, "act"]
    return {act: int((acts == act).sum()) for act in ACTS}


def members_of_session(data: RollCallData, session: int) -> int:
    return int((data.membership.session == session).sum())


def write_csv_gz(frame: pd.DataFrame, path: Path) -> None:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n")
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(buf.getvalue().encode("utf-8"))


def write_sums(folder: Path) -> None:
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n"
        for p in sorted(folder.iterdir())
        if p.name != "SHA256SUMS"
    ]
    (folder / "SHA256SUMS").write_text("".join(lines))


ROLL_CALL_COLUMNS = ["rcid", "session", "importantvote", "date", "unres", "amend", "para"]


def make_tiny_data(root: Path, votes: list[tuple[int, str, str, str]] | None = None) -> Path:
    """A three-roll-call data folder: session 1 (rcids 1, 2), session 2 (rcid 3)."""
    part = root / "unvotes"
    part.mkdir(parents=True)
    if votes is None:
        votes = [
            (1, "Namibia", "NA", "no"),
            (1, "United States", "US", "yes"),
            (2, "Federal Republic of Germany", "", "abstain"),
            (2, "United States", "US", "yes"),
            (3, "United States", "US", "no"),
        ]
    write_csv_gz(
        pd.DataFrame(votes, columns=["rcid", "country", "country_code", "vote"]),
        part / "votes.csv.gz",
    )
    roll_calls = pd.DataFrame(
        [
            (1, 1, 0, "1990-10-01", "R/1/1", 0, 0, "FIRST", "first vote"),
            (2, 1, "", "1990-09-30", "A/RES/ES-10/19", "", 1, "", "second vote, earlier date"),
            (3, 2, 1, "1991-10-01", "", "", "", "Third", "third vote"),
        ],
        columns=[*ROLL_CALL_COLUMNS, "short", "descr"],
    )
    write_csv_gz(roll_calls, part / "roll_calls.csv.gz")
    issues = pd.DataFrame(
        [(1, "me", "Palestinian conflict"), (3, "hr", "Human rights")],
        columns=["rcid", "short_name", "issue"],
    )
    write_csv_gz(issues, part / "issues.csv.gz")
    write_sums(part)
    return root


@pytest.fixture(scope="module")
def real(data_dir: Path) -> RollCallData:
    return load_roll_calls(data_dir)


# --------------------------------------------------------------------------------------------------
# the README's checks on the real data


def test_jerusalem_72_15_is_151_6_9_and_the_other_members_of_session_72_are_absent(real):
    assert real.roll_calls.loc[5550, "symbol"] == "A/RES/72/15"
    counts = tally(real, 5550)
    assert (counts["yes"], counts["no"], counts["abstain"]) == (151, 6, 9)
    assert counts["absent"] == members_of_session(real, 72) - 166


def test_es_10_19_is_127_9_35_with_algerias_missing_row_counted_absent(real):
    assert real.roll_calls.loc[5588, "symbol"] == "A/RES/ES-10/19"
    counts = tally(real, 5588)
    assert (counts["yes"], counts["no"], counts["abstain"]) == (127, 9, 35)
    assert counts["absent"] == members_of_session(real, 72) - 171
    algeria = real.votes[(real.votes.rcid == 5588) & (real.votes.iso3 == "DZA")]
    assert algeria.act.tolist() == ["absent"]  # README: an error in the source, not an absence


def test_palestine_observer_state_67_19_is_normalised_and_138_9_41(real):
    assert real.roll_calls.loc[5182, "symbol"] == "A/RES/67/19"  # "R/67/19" in the file
    counts = tally(real, 5182)
    assert (counts["yes"], counts["no"], counts["abstain"], counts["absent"]) == (138, 9, 41, 5)


def test_es_11_1_is_141_5_35_with_193_minus_181_absent(real):
    assert real.roll_calls.loc[100183, "symbol"] == "A/RES/ES-11/1"
    counts = tally(real, 100183)
    assert (counts["yes"], counts["no"], counts["abstain"]) == (141, 5, 35)
    assert counts["absent"] == 193 - 181
    assert real.roll_calls.loc[100183, "issues_coded"] == np.False_


def test_namibia_is_nam_not_missing(real, data_dir):
    assert real.votes.iso3.notna().all()
    assert (real.votes.iso3 != "").all()
    raw = pd.read_csv(data_dir / "unvotes" / "votes.csv.gz", dtype=str, keep_default_na=False)
    cast = real.votes[(real.votes.iso3 == "NAM") & (real.votes.act != "absent")]
    assert len(cast[cast.rcid < 100000]) == (raw.country_code == "NA").sum() > 0


def test_one_row_per_member_and_roll_call_with_every_cast_vote_kept(real):
    cast = (real.votes.act != "absent").sum()
    assert cast == 870_109 + 33_241  # rows of the two votes.csv.gz files
    assert not real.votes.duplicated(["rcid", "iso3"]).any()
    assert list(real.votes.act.cat.categories) == list(ACTS)
    assert len(real.roll_calls) == 6_203 + 188
    assert set(real.votes.rcid) == set(real.roll_calls.index)
    keys = real.votes[["session", "iso3"]].drop_duplicates()
    assert len(keys.merge(real.membership, how="inner")) == len(keys) == len(real.membership)


def test_votes_are_sorted_by_date_rcid_iso3(real):
    ordered = real.votes.sort_values(["date", "rcid", "iso3"], kind="mergesort")
    assert ordered.index.equals(real.votes.index)
    assert real.roll_calls.date.is_monotonic_increasing


def test_mean_share_not_voting_1991_2019_is_9_86_percent(real):
    window = real.between("1991-01-01", "2020-01-01")
    assert len(window.roll_calls) == 2_564
    share = window.votes.groupby("rcid").act.apply(lambda a: (a == "absent").mean())
    assert share.mean() == pytest.approx(0.0986, abs=0.001)  # README rounds to 0.01 pp


def test_members_per_session_run_from_154_in_session_45_to_193_from_session_66(real):
    per_session = real.membership.groupby("session").size()
    assert per_session.loc[45:74].min() == per_session.loc[45] == 154
    assert (per_session.loc[66:76] == 193).all()


def test_ukraine_was_absent_on_three_palestine_votes_of_sessions_66_to_74(real):
    # FACTS.md: "absent on 3 of 163 Middle East votes and 22 of 670 other votes in 2011-2019".
    # The 833 roll calls and 25 absences are sessions 66-74 of unvotes/. The 163 is not Voeten's
    # "me" tag (141 roll calls there); the three absences are the same under either definition.
    rc = real.roll_calls
    window = rc[rc.session.between(66, 74) & (rc.date < "2020-02-01")]
    ukraine = real.votes[real.votes.rcid.isin(window.index) & (real.votes.iso3 == "UKR")]
    assert len(ukraine) == 163 + 670
    assert (ukraine.act == "absent").sum() == 3 + 22
    absent_me = ukraine[(ukraine.act == "absent") & ukraine.rcid.map(rc.me)]
    assert sorted(rc.loc[absent_me.rcid, "symbol"]) == [
        "A/RES/67/19",
        "A/RES/69/241",
        "A/RES/ES-10/19",
    ]


def test_the_18_roll_calls_voeten_lacks_are_marked_uncoded(real):
    readme = {f"A/RES/74/{n}" for n in (300, 301, 302, 306, 307)}
    readme |= {f"A/RES/75/{n}" for n in ("250 B", 277, 284, 285, 287, 289, "290 A")}
    readme |= {f"A/RES/ES-11/{n}" for n in (1, 2, 3)} | {f"A/RES/76/{n}" for n in (267, 290, 300)}
    uncoded = real.roll_calls[~real.roll_calls.issues_coded]
    assert set(uncoded.symbol) == readme
    assert len(uncoded) == 18
    assert not uncoded[list(sim_data.ISSUE_CODES)].any(axis=None)


def test_issue_tags_count_as_in_the_readme(real):
    tags = real.roll_calls[list(sim_data.ISSUE_CODES)].sum()
    readme = {"me": 1061 + 26, "nu": 855 + 33, "di": 1092 + 34, "hr": 1015 + 25}
    readme |= {"co": 957 + 34, "ec": 765 + 34}
    assert tags.to_dict() == readme


def test_matrix_holds_the_same_acts_as_the_votes_frame(real):
    subset = real.between("2017-01-01", "2018-01-01").with_issue("me")
    iso3, rcid, codes = subset.matrix()
    assert codes.dtype == np.int8
    assert codes.shape == (len(iso3), len(rcid))
    assert list(rcid) == list(subset.roll_calls.index)
    assert list(iso3) == sorted(subset.votes.iso3.unique())
    rows = iso3.get_indexer(subset.votes.iso3)
    cols = rcid.get_indexer(subset.votes.rcid)
    assert np.array_equal(codes[rows, cols], subset.votes.act.cat.codes.to_numpy())
    assert (codes >= 0).sum() == len(subset.votes)  # everything else is -1: not a member
    assert not codes.flags.writeable


def test_between_includes_start_and_excludes_end(real):
    day = real.between("2017-11-30", "2017-12-01")
    assert 5550 in day.roll_calls.index
    assert 5550 not in real.between("2017-12-01", "2018-01-01").roll_calls.index
    assert 5550 not in real.between(None, "2017-11-30").roll_calls.index
    assert set(day.votes.rcid) == set(day.roll_calls.index)


def test_with_issue_keeps_only_tagged_roll_calls(real):
    me = real.with_issue("me")
    assert me.roll_calls.me.all()
    assert len(me.roll_calls) == real.roll_calls.me.sum()
    with pytest.raises(ValueError, match="issue code 'xx'"):
        real.with_issue("xx")


def test_repeated_loads_are_cached_and_callers_cannot_corrupt_the_cache(data_dir):
    first = load_roll_calls(data_dir)
    first.votes.loc[0, "iso3"] = "XXX"
    again = load_roll_calls(data_dir)
    assert again.votes.loc[0, "iso3"] != "XXX"
    assert again.roll_calls is not first.roll_calls


# --------------------------------------------------------------------------------------------------
# the absence rule and the columns, on a hand-made folder


def test_absence_rule_on_a_hand_made_record(tmp_path):
    data = load_roll_calls(make_tiny_data(tmp_path))
    acts = {(r.rcid, r.iso3): r.act for r in data.votes.itertuples()}
    assert acts == {
        (2, "DEU"): "abstain",  # rcid 2 is dated before rcid 1, so it comes first
        (2, "NAM"): "absent",  # voted in session 1, not on rcid 2
        (2, "USA"): "yes",
        (1, "DEU"): "absent",
        (1, "NAM"): "no",
        (1, "USA"): "yes",
        (3, "USA"): "no",  # NAM and DEU cast no vote in session 2: not members, no row
    }
    assert list(data.votes.rcid) == [2, 2, 2, 1, 1, 1, 3]
    assert data.membership.to_dict("list") == {
        "session": [1, 1, 1, 2],
        "iso3": ["DEU", "NAM", "USA", "USA"],
    }
    rc = data.roll_calls
    assert rc.symbol.to_dict() == {2: "A/RES/ES-10/19", 1: "A/RES/1/1", 3: ""}
    assert rc.title.to_dict() == {2: "", 1: "FIRST", 3: "Third"}
    assert rc.partial.to_dict() == {2: True, 1: False, 3: False}
    assert rc.importantvote.isna().tolist() == [True, False, False]
    assert rc.me.to_dict() == {2: False, 1: True, 3: False}
    assert rc.hr.loc[3]
    assert rc.issues_coded.all()
    iso3, rcid, codes = data.matrix()
    assert list(iso3) == ["DEU", "NAM", "USA"]
    assert list(rcid) == [2, 1, 3]
    assert codes.tolist() == [[2, 3, -1], [3, 1, -1], [0, 0, 1]]  # DEU, NAM, USA x rcids 2, 1, 3


def add_extension(
    root: Path, name: str, rcid: int, *, sums: bool = True, voeten: tuple[str, str] | None = None
) -> Path:
    """A later ``unvotes_*`` folder in the same format: two roll calls of session 3 (with
    `voeten`, a provenance.csv giving each one's rcid in Voeten's data, "" if none)."""
    part = root / name
    part.mkdir()
    votes = [(rcid, "Namibia", "NA", "yes"), (rcid + 1, "United States", "US", "no")]
    write_csv_gz(pd.DataFrame(votes, columns=["rcid", "country", "country_code", "vote"]),
                 part / "votes.csv.gz")  # fmt: skip
    roll_calls = pd.DataFrame(
        [(rcid, 3, "", "1992-10-01", "A/RES/3/1", "", "", "Later", "a later vote"),
         (rcid + 1, 3, "", "1992-10-02", "A/RES/3/2", "", "", "Later too", "another")],
        columns=[*ROLL_CALL_COLUMNS, "short", "descr"],
    )  # fmt: skip
    write_csv_gz(roll_calls, part / "roll_calls.csv.gz")
    issues = pd.DataFrame([(rcid, "me", "Palestinian conflict")],
                          columns=["rcid", "short_name", "issue"])  # fmt: skip
    write_csv_gz(issues, part / "issues.csv.gz")
    if voeten is not None:
        pd.DataFrame({"rcid": [rcid, rcid + 1], "voeten_rcid": list(voeten)}).to_csv(
            part / "provenance.csv", index=False, lineterminator="\n"
        )
    if sums:
        write_sums(part)
    return root


def test_a_later_extension_folder_is_loaded_after_the_others_without_code_changes(tmp_path):
    root = add_extension(make_tiny_data(tmp_path), "unvotes_2022_2023", 200_001)
    data = load_roll_calls(root)
    assert list(data.roll_calls.index[-2:]) == [200_001, 200_002]
    acts = {(r.rcid, r.iso3): r.act for r in data.votes.itertuples() if r.rcid > 200_000}
    # Namibia and the US each voted in session 3, so each is absent where it has no row.
    assert acts == {(200_001, "NAM"): "yes", (200_001, "USA"): "absent",
                    (200_002, "NAM"): "absent", (200_002, "USA"): "no"}  # fmt: skip
    assert data.roll_calls.loc[200_001, "me"]
    assert data.roll_calls.loc[200_002, "issues_coded"]  # no provenance file: all coded


def test_a_roll_call_unvotes_already_holds_is_not_read_twice_from_an_extension(tmp_path):
    """A newer unvotes/ may hold votes an extension also has, under other rcids: the extension's
    provenance names them (voeten_rcid), and unvotes/ wins."""
    root = add_extension(make_tiny_data(tmp_path), "unvotes_later", 300, voeten=("3", ""))
    data = load_roll_calls(root)
    assert 300 not in data.roll_calls.index
    assert 301 in data.roll_calls.index
    assert not (data.votes.rcid == 300).any()
    assert not data.roll_calls.loc[301, "issues_coded"]  # not in Voeten's data: not coded


def test_an_extension_that_repeats_a_roll_call_or_lacks_checksums_is_refused(tmp_path):
    clash = add_extension(make_tiny_data(tmp_path / "a"), "unvotes_later", 3)
    with pytest.raises(DataError, match="also in another folder"):
        load_roll_calls(clash)
    unsummed = add_extension(make_tiny_data(tmp_path / "b"), "unvotes_later", 500, sums=False)
    with pytest.raises(DataError, match="unvotes_later"):
        load_roll_calls(unsummed)


def test_a_corrupt_file_is_named_with_expected_and_found_hash(tmp_path, data_dir):
    copy = tmp_path / "data"
    shutil.copytree(data_dir / "unvotes", copy / "unvotes")
    target = copy / "unvotes" / "issues.csv.gz"
    target.chmod(0o644)
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"issues\.csv\.gz: corrupt \(SHA-256 expected 2c6f4c"):
        load_roll_calls(copy)


def test_a_missing_file_says_how_to_fetch(tmp_path):
    root = make_tiny_data(tmp_path)
    (root / "unvotes" / "roll_calls.csv.gz").unlink()
    with pytest.raises(DataError, match=r"roll_calls\.csv\.gz: file missing.*sim data fetch"):
        load_roll_calls(root)


def test_a_broken_2020_2022_extension_says_what_can_replace_it_not_sim_data_fetch(tmp_path):
    # No command downloads unvotes_2020_2022/ (its sources hold held-out votes): the error
    # names where it comes from and what provides the votes after 2020 instead.
    root = add_extension(make_tiny_data(tmp_path), "unvotes_2020_2022", 100_001, voeten=("", ""))
    (root / "unvotes_2020_2022" / "votes.csv.gz").unlink()
    with pytest.raises(DataError) as missing:
        load_roll_calls(root)
    message = str(missing.value)
    assert "unvotes_2020_2022/votes.csv.gz: file missing" in message
    assert "shared/data" in message
    assert "sim data fetch --source un-library" in message
    assert "or run `sim data fetch`" not in message


def test_a_broken_later_extension_says_to_rebuild_it_from_the_un_library(tmp_path):
    root = add_extension(make_tiny_data(tmp_path), "unvotes_2024_2025", 200_001, sums=False)
    with pytest.raises(DataError, match=r"unvotes_2024_2025/SHA256SUMS: checksum file missing.*"
                       r"sim data fetch --source un-library` again"):  # fmt: skip
        load_roll_calls(root)


def test_a_roll_call_the_data_lack_names_the_datas_end_and_what_adds_later_votes(tmp_path):
    data = load_roll_calls(make_tiny_data(tmp_path))
    with pytest.raises(DataError, match=r"run to 1991-10-01.*sim data fetch --source un-library"):
        find_roll_call(data, "A/RES/77/247", "my.toml: item.like")


def test_a_vote_other_than_yes_no_abstain_is_rejected_by_name(tmp_path):
    root = make_tiny_data(tmp_path, votes=[(1, "Ukraine", "UA", "maybe")])
    with pytest.raises(DataError, match=r"votes\.csv\.gz: column 'vote'.*'maybe'"):
        load_roll_calls(root)


def test_a_vote_on_an_unknown_roll_call_is_rejected(tmp_path):
    root = make_tiny_data(
        tmp_path, votes=[(1, "Ukraine", "UA", "yes"), (99, "Ukraine", "UA", "no")]
    )
    with pytest.raises(DataError, match=r"votes\.csv\.gz: rcid not in roll_calls\.csv\.gz: \[99\]"):
        load_roll_calls(root)


def test_an_unknown_country_code_is_rejected(tmp_path):
    root = make_tiny_data(tmp_path, votes=[(1, "Atlantis", "XX", "yes")])
    with pytest.raises(DataError, match=r"votes\.csv\.gz: unknown country code 'XX'"):
        load_roll_calls(root)


def test_a_changed_file_is_reloaded_not_served_from_the_cache(tmp_path):
    root = make_tiny_data(tmp_path)
    assert len(load_roll_calls(root).votes) == 7
    shutil.rmtree(root / "unvotes")
    make_tiny_data(root, votes=[(1, "Ukraine", "UA", "maybe")])
    with pytest.raises(DataError, match="maybe"):
        load_roll_calls(root)


# --------------------------------------------------------------------------------------------------
# where the data are


def test_resolve_data_dir_prefers_argument_then_env_then_cache(tmp_path, monkeypatch):
    arg, env, cache = (make_tiny_data(tmp_path / name) for name in ("arg", "env", "cache"))
    monkeypatch.setattr(sim_data, "default_cache_dir", lambda: cache)
    monkeypatch.setenv("SIM_DATA_DIR", str(env))
    assert resolve_data_dir(arg) == arg.resolve()
    assert resolve_data_dir(arg / "unvotes") == arg.resolve()
    assert resolve_data_dir() == env.resolve()
    monkeypatch.delenv("SIM_DATA_DIR")
    assert resolve_data_dir() == cache.resolve()


def test_no_data_anywhere_says_all_three_ways_out(tmp_path, monkeypatch):
    monkeypatch.setattr(sim_data, "default_cache_dir", lambda: tmp_path / "empty")
    monkeypatch.delenv("SIM_DATA_DIR", raising=False)
    with pytest.raises(DataError, match=r"--data-dir.*SIM_DATA_DIR.*sim data fetch"):
        resolve_data_dir()
    with pytest.raises(DataError, match="no unvotes/ folder"):
        resolve_data_dir(tmp_path)


# --------------------------------------------------------------------------------------------------
# countries


@pytest.mark.parametrize(
    ("code2", "country", "iso3"),
    [
        ("CS", "Czechoslovakia", "CSK"),
        ("DD", "German Democratic Republic", "DDR"),
        ("YD", "Yemen People's Republic", "YMD"),
        ("YU", "Yugoslavia", "SRB"),
        ("", "Federal Republic of Germany", "DEU"),
        ("", "Yemen Arab Republic", "YEM"),
        ("", "Zanzibar", "ZZB"),
        ("TW", "Taiwan", "TWN"),
        ("NA", "Namibia", "NAM"),
        ("UA", "Ukraine", "UKR"),
        ("IL", "Israel", "ISR"),
    ],
)
def test_to_iso3_covers_historic_and_codeless_members(code2, country, iso3):
    assert to_iso3(code2, country) == iso3


def test_to_iso3_rejects_an_unknown_empty_code_and_a_nan_code():
    with pytest.raises(DataError, match="empty country code"):
        to_iso3("", "Atlantis")
    with pytest.raises(DataError, match="keep_default_na=False"):
        to_iso3(float("nan"), "Namibia")  # type: ignore[arg-type]


def test_every_member_in_the_data_has_a_short_name(real):
    names = {code: iso3_name(code) for code in real.membership.iso3.unique()}
    assert names["USA"] == "United States"
    assert names["KOR"] == "South Korea"
    assert names["RUS"] == "Russia"
    assert names["TUR"] == "Türkiye"
    assert all("," not in name for name in names.values())


# --------------------------------------------------------------------------------------------------
# fetch: tiny .rda files served on loopback


@pytest.fixture
def rda_server(tmp_path) -> Iterator[tuple[str, dict[str, str]]]:
    """Serve three tiny .rda files with the real frame names and columns; yield (url, sha256s)."""
    pyreadr = pytest.importorskip("pyreadr")
    served = tmp_path / "served"
    served.mkdir()
    votes = pd.DataFrame(
        {
            "rcid": [3.0, 3.0, 3.0, 4.0, 4.0],
            "country": ["United States", "Namibia", "Yugoslavia", "United States", "Namibia"],
            "country_code": ["US", "NA", "YU", "US", "NA"],
            "vote": pd.Categorical(
                ["yes", "no", "abstain", "no", "yes"], categories=["yes", "abstain", "no"]
            ),
        }
    )
    roll_calls = pd.DataFrame(
        {
            "rcid": [4.0, 3.0],
            "session": [1.0, 1.0],
            "importantvote": [0.0, np.nan],
            "date": pd.to_datetime(["1946-01-02", "1946-01-01"]),
            "unres": ["R/1/79", "R/1/66"],
            "amend": [0.0, 1.0],
            "para": [0.0, 0.0],
            "short": ["SECURITY COUNCIL ELECTIONS", None],
            "descr": ["TO ADOPT", "TO AMEND"],
        }
    )
    issues = pd.DataFrame(
        {"rcid": [3.0], "short_name": ["co"], "issue": pd.Categorical(["Colonialism"])}
    )
    frames = {"un_votes": votes, "un_roll_calls": roll_calls, "un_roll_call_issues": issues}
    for name, frame in frames.items():
        pyreadr.write_rdata(str(served / f"{name}.rda"), frame, df_name=name, compress="gzip")
    sums = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in served.iterdir()}

    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", sums
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_fetch_downloads_verifies_converts_and_the_result_loads(tmp_path, rda_server):
    url, sums = rda_server
    dest = fetch(tmp_path / "cache", base_url=url, expected_sha256=sums, verify_converted=False)
    assert sorted(p.name for p in (dest / "unvotes").iterdir()) == [
        "SHA256SUMS",
        "issues.csv.gz",
        "roll_calls.csv.gz",
        "votes.csv.gz",
    ]
    data = load_roll_calls(dest)  # verify=True: fetch wrote matching SHA256SUMS
    assert tally(data, 3) == {"yes": 1, "no": 1, "abstain": 1, "absent": 0}
    assert tally(data, 4) == {"yes": 1, "no": 1, "abstain": 0, "absent": 1}  # SRB absent
    assert data.roll_calls.symbol.to_dict() == {3: "A/RES/1/66", 4: "A/RES/1/79"}
    assert data.roll_calls.partial.to_dict() == {3: True, 4: False}
    assert data.roll_calls.co.to_dict() == {3: True, 4: False}
    header = gzip.decompress((dest / "unvotes" / "roll_calls.csv.gz").read_bytes()).split(b"\n")
    assert header[0] == b"rcid,session,importantvote,date,unres,amend,para,short,descr"
    assert header[1] == b"3,1,,1946-01-01,R/1/66,1,0,,TO AMEND"


def test_fetch_reads_the_base_url_from_sim_data_url(tmp_path, rda_server, monkeypatch):
    url, sums = rda_server
    monkeypatch.setenv("SIM_DATA_URL", url)
    dest = fetch(tmp_path / "cache", expected_sha256=sums, verify_converted=False)
    assert (dest / "unvotes" / "votes.csv.gz").is_file()


def test_fetch_with_a_wrong_hash_leaves_nothing_behind(tmp_path, rda_server):
    url, sums = rda_server
    wrong = sums | {"un_roll_calls.rda": "0" * 64}
    dest = tmp_path / "cache"
    with pytest.raises(DataError, match=r"un_roll_calls\.rda.*expected 0{64}, found"):
        fetch(dest, base_url=url, expected_sha256=wrong, verify_converted=False)
    assert not (dest / "rda" / "un_roll_calls.rda").exists()
    assert not list((dest / "rda").glob("*.part"))
    assert not (dest / "unvotes").exists()


def test_fetch_rejects_a_conversion_that_does_not_reproduce_the_published_csvs(
    tmp_path, rda_server
):
    url, sums = rda_server
    dest = tmp_path / "cache"
    with pytest.raises(DataError, match=r"converted CSVs differ.*votes\.csv\.gz: expected aeb506"):
        fetch(dest, base_url=url, expected_sha256=sums)  # tiny files != the real CSVs
    assert not (dest / "unvotes").exists()
    assert [p.name for p in dest.iterdir()] == ["rda"]  # no staging folder left


def test_fetch_never_touches_the_network_in_tests_with_the_default_hashes(tmp_path, rda_server):
    url, _ = rda_server  # the tiny files cannot match the real hashes
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        fetch(tmp_path / "cache", base_url=url)


@pytest.mark.slow
def test_conversion_reproduces_the_published_csvs_from_an_rda_round_trip(tmp_path, data_dir):
    # The real .rda files cannot be fetched in tests; write the published CSVs back to .rda with
    # R's types (double ids, factor votes, Date-times, NA codes) and convert them again.
    pyreadr = pytest.importorskip("pyreadr")
    src = data_dir / "unvotes"
    votes = pd.read_csv(src / "votes.csv.gz", dtype=str, keep_default_na=False)
    votes["rcid"] = votes.rcid.astype(float)
    votes["country_code"] = votes.country_code.replace("", None)
    votes["vote"] = pd.Categorical(votes.vote, categories=["yes", "abstain", "no"])
    text = {"unres": str, "short": str, "descr": str}
    roll_calls = pd.read_csv(
        src / "roll_calls.csv.gz", keep_default_na=False, na_values=[""], dtype=text
    )
    roll_calls["date"] = pd.to_datetime(roll_calls.date)
    for column in ("rcid", "session", "importantvote", "amend", "para"):
        roll_calls[column] = roll_calls[column].astype(float)
    issues = pd.read_csv(src / "issues.csv.gz", dtype=str, keep_default_na=False)
    issues["rcid"] = issues.rcid.astype(float)
    rda = tmp_path / "rda"
    rda.mkdir()
    frames = {"un_votes": votes, "un_roll_calls": roll_calls, "un_roll_call_issues": issues}
    for name, frame in frames.items():
        pyreadr.write_rdata(str(rda / f"{name}.rda"), frame, df_name=name, compress="gzip")
    assert sim_data.convert_rda(rda, tmp_path / "out") == dict(sim_data.UNVOTES_CSV_SHA256)
