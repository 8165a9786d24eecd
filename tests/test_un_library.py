"""`sim data fetch --source un-library`: download, checks, conversion and issue codes.

Everything runs against an HTTP server the tests start on 127.0.0.1, serving a small CSV written
here in the UN Library's column layout. Its roll calls are invented (symbols numbered from 9001,
made-up votes), except one that repeats a real roll call of the record (A/RES/72/15 of
2017-11-30) to check that the record's roll calls are not added twice. The record extended is
the real one (../shared/data, fixture ``data_dir``), linked into a temporary data folder.
"""

from __future__ import annotations

import csv
import hashlib
import http.server
import io
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from sim.io.data import ISSUE_CODES, load_roll_calls
from sim.io.errors import DataError
from sim.io.un_library import (
    build_extension,
    download,
    match_record,
    read_library_csv,
    write_extension,
)
from sim.run.un_library import FIRST_RCID, fetch_un_library

ROOT = Path(__file__).resolve().parents[1]

COLUMNS = [
    "undl_id", "ms_code", "ms_name", "ms_vote", "date", "session", "resolution", "modality",
    "draft", "committee_report", "meeting", "title", "agenda_title", "subjects", "vote_note",
    "total_yes", "total_no", "total_abstentions", "total_non_voting", "total_ms", "undl_link",
]  # fmt: skip

MEMBERS = {
    "USA": "United States of America",
    "FRA": "France",
    "BRA": "Brazil",
    "IND": "India",
    "ZAF": "South Africa",
    "NAM": "Namibia",
    "SRB": "Serbia",
    "TUR": "Türkiye",
    "SSD": "South Sudan",
}
ADOPTED = " : resolution / adopted by the General Assembly"

#: (undl_id, date, session, symbol, title, agenda title, subjects, {member: vote}). Missing
#: members have no row; "NV" and "" are non-voting.
ROLL_CALLS = [
    ("9000001", "2024-07-01", "78", "A/RES/78/9001",
     "Question of nuclear disarmament and the prohibition of nuclear weapons" + ADOPTED,
     "General and complete disarmament", "NUCLEAR DISARMAMENT|NUCLEAR WEAPONS",
     {"USA": "N", "FRA": "N", "BRA": "Y", "IND": "A", "ZAF": "Y", "NAM": "Y", "SRB": "NV",
      "TUR": "A"}),
    ("9000002", "2024-07-02", "78", "A/RES/78/9002",
     "Cooperation for sustainable development and international trade",
     "Macroeconomic policy questions", "ECONOMIC DEVELOPMENT|INTERNATIONAL TRADE",
     {"USA": "N", "FRA": "A", "BRA": "Y", "IND": "Y", "ZAF": "Y", "NAM": "Y", "SRB": "Y",
      "TUR": "Y"}),
    ("9000003", "2024-12-10", "79", "A/RES/79/9003 A",
     "Situation of human rights in a member state" + ADOPTED,
     "Promotion and protection of human rights", "HUMAN RIGHTS",
     {"USA": "Y", "FRA": "Y", "BRA": "A", "IND": "A", "ZAF": "N", "NAM": "N", "SRB": "Y",
      "TUR": "Y", "SSD": "A"}),
    ("9000004", "2024-12-10", "79", "A/RES/79/9003 B",
     "Situation of human rights in a member state" + ADOPTED,
     "Promotion and protection of human rights", "HUMAN RIGHTS",
     {"USA": "Y", "FRA": "Y", "BRA": "Y", "IND": "A", "ZAF": "A", "NAM": "", "SRB": "Y",
      "TUR": "Y", "SSD": "Y"}),
    ("9000005", "2017-11-30", "72", "A/RES/72/15", "Jerusalem" + ADOPTED,
     "The situation in the Middle East", "JERUSALEM",
     {"USA": "N", "FRA": "Y", "BRA": "Y", "IND": "Y"}),
    ("9000006", "2025-06-02", "79", "A/RES/79/9004",
     "Implementation of the declaration on decolonization" + ADOPTED,
     "Decolonization", "DECOLONIZATION|NON-SELF-GOVERNING TERRITORIES",
     {"USA": "N", "FRA": "A", "BRA": "Y", "IND": "Y", "ZAF": "Y", "NAM": "Y", "SRB": "Y",
      "TUR": "Y", "SSD": "Y"}),
]  # fmt: skip

NEW = 5  # all but the repeated A/RES/72/15


def library_csv(
    *, wrong_total: bool = False, old_names: bool = False, roll_calls: list | None = None
) -> bytes:
    """The fixture in the Library's layout (UTF-8 with a byte-order mark, as Excel exports)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    header = list(COLUMNS)
    if old_names:
        renames = {"ms_code": "ms_codes", "ms_name": "ms_names", "ms_vote": "ms_votes",
                   "resolution": "resolutions", "total_yes": "yes", "total_no": "no",
                   "total_abstentions": "abstentions"}  # fmt: skip
        header = [renames.get(c, c) for c in header]
    writer.writerow(header)
    for undl, date, session, symbol, title, agenda, subjects, votes in roll_calls or ROLL_CALLS:
        counts = {v: sum(1 for x in votes.values() if x == v) for v in ("Y", "N", "A")}
        non_voting = sum(1 for x in votes.values() if x in ("NV", ""))
        if wrong_total and undl == "9000003":
            counts["Y"] += 1
        for code, vote in votes.items():
            writer.writerow([
                undl, code, MEMBERS.get(code, "Atlantis"), vote, date, session, symbol, "Voted",
                "A/L.1", "", "A/PV.1", title, agenda, subjects, "", counts["Y"], counts["N"],
                counts["A"], non_voting, len(votes),
                f"https://digitallibrary.un.org/record/{undl}",
            ])  # fmt: skip
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


# --------------------------------------------------------------------------------------------------
# A loopback server: files by path, HTTP Range, and a mode that stops half-way


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files[path]``; honours ``Range: bytes=N-``; for paths in ``server.cut``
    announces the full length but sends only the first half, then closes."""

    def do_GET(self) -> None:
        files: dict[str, bytes] = self.server.files  # type: ignore[attr-defined]
        self.server.ranges.append(self.headers.get("Range"))  # type: ignore[attr-defined]
        body = files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        wanted = self.headers.get("Range")
        if wanted and wanted.startswith("bytes="):
            start = int(wanted[6:].split("-")[0])
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if self.path in self.server.cut:  # type: ignore[attr-defined]
            self.wfile.write(body[start : start + (len(body) - start) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body[start:])

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.files = {}  # type: ignore[attr-defined]
    srv.ranges = []  # type: ignore[attr-defined]
    srv.cut = set()  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def serve(srv: http.server.ThreadingHTTPServer, name: str, body: bytes) -> str:
    srv.files[f"/{name}"] = body  # type: ignore[attr-defined]
    return f"http://127.0.0.1:{srv.server_address[1]}/{name}"


def record_folder(tmp: Path, data_dir: Path) -> Path:
    """A data folder whose unvotes/ and unvotes_2020_2022/ are the real ones (linked)."""
    for part in ("unvotes", "unvotes_2020_2022"):
        (tmp / part).symlink_to(data_dir / part, target_is_directory=True)
    return tmp


def cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", "data", "fetch", "--source", "un-library",
         *map(str, args)],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# The whole command, once


@pytest.fixture(scope="module")
def fetched(
    server: http.server.ThreadingHTTPServer,
    data_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    dest = record_folder(tmp_path_factory.mktemp("data"), data_dir)
    url = serve(server, "2026_01_01_ga_voting.csv", library_csv())
    done = cli("--url", url, "--dest", dest)
    assert done.returncode == 0, done.stderr
    return dest, done


def test_fetch_reports_what_it_added(fetched: tuple[Path, subprocess.CompletedProcess[str]]):
    dest, done = fetched
    out = " ".join(done.stdout.split())
    assert f"{len(ROLL_CALLS)} roll calls with votes" in out
    assert "already in the record: 1 (1 by symbol+date)" in out
    assert f"added {NEW} roll calls, 2024-07-01 to 2025-06-02, 9 members" in out
    assert (dest / "unvotes_2024_2025").is_dir()
    for code in ISSUE_CODES:
        assert f"│ {code} " in done.stdout  # the held-out accuracy table, one row per code
    # The folder checks out against its own SHA256SUMS (the loader verifies it too).
    folder = dest / "unvotes_2024_2025"
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest


def test_extension_loads_with_the_record(
    fetched: tuple[Path, subprocess.CompletedProcess[str]], data_dir: Path
):
    dest, _ = fetched
    base = load_roll_calls(data_dir)
    data = load_roll_calls(dest)
    rc = data.roll_calls
    assert len(rc) == len(base.roll_calls) + NEW
    added = rc[rc.index > FIRST_RCID]
    assert list(added.symbol) == [
        "A/RES/78/9001", "A/RES/78/9002", "A/RES/79/9003 A", "A/RES/79/9003 B", "A/RES/79/9004",
    ]  # fmt: skip
    # Parts A and B are two roll calls; the Library's " : resolution / adopted ..." is cut.
    assert added.title.iloc[0] == (
        "Question of nuclear disarmament and the prohibition of nuclear weapons"
    )
    assert not added.title.str.contains("adopted by").any()
    assert list(added.session) == [78, 78, 79, 79, 79]
    # The repeated roll call is the record's only.
    assert (rc.symbol == "A/RES/72/15").sum() == (base.roll_calls.symbol == "A/RES/72/15").sum()

    votes = data.votes.set_index(["rcid", "iso3"]).act
    first, part_b = added.index[0], added.index[3]
    assert votes[(first, "USA")] == "no"
    assert votes[(first, "IND")] == "abstain"
    assert votes[(first, "NAM")] == "yes"  # Namibia's "NA" survives the round trip
    assert votes[(first, "SRB")] == "absent"  # NV is absence
    assert votes[(part_b, "NAM")] == "absent"  # an empty vote too
    # South Sudan joined late (first row in session 79): not a member in session 78.
    assert (first, "SSD") not in votes.index
    members = data.membership
    assert not ((members.session == 78) & (members.iso3 == "SSD")).any()
    assert votes[(part_b, "SSD")] == "yes"
    tally = data.counts.loc[added.index[2]]
    assert (tally["yes"], tally["no"], tally["abstain"]) == (4, 2, 3)


def test_predicted_issue_codes_are_marked(fetched: tuple[Path, subprocess.CompletedProcess[str]]):
    dest, _ = fetched
    prov = pd.read_csv(dest / "unvotes_2024_2025" / "provenance.csv", dtype=str,
                       keep_default_na=False)  # fmt: skip
    assert set(prov.issue_source) == {"predicted"}
    data = load_roll_calls(dest)
    added = data.roll_calls[data.roll_calls.index > FIRST_RCID]
    assert (added.issue_source == "predicted").all()
    assert added.issues_coded.all()
    nuclear, development, rights = added.iloc[0], added.iloc[1], added.iloc[2]
    assert nuclear.nu
    assert not nuclear.hr
    assert rights.hr
    assert not rights.nu
    assert development.ec
    assert not development.me
    # Estimators that want Voeten's coding only can drop the predictions.
    voeten = data.without_predicted_issues().roll_calls
    assert not voeten.loc[added.index, list(ISSUE_CODES)].any(axis=None)
    assert not voeten.loc[added.index, "issues_coded"].any()
    assert (voeten.loc[voeten.index < FIRST_RCID, "issue_source"] != "predicted").all()


# --------------------------------------------------------------------------------------------------
# Refusals: one line naming the file, exit 2, nothing written


def corrupt() -> bytes:
    return b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4  # gzip header, then garbage


def truncated() -> bytes:
    body = library_csv()
    return body[: int(len(body) * 0.6)]  # cut inside a roll call's rows


def test_a_corrupt_file_is_refused_by_the_command(
    server: http.server.ThreadingHTTPServer, data_dir: Path, tmp_path: Path
):
    dest = record_folder(tmp_path, data_dir)
    before = sorted(dest.rglob("*"))
    done = cli("--url", serve(server, "corrupt.csv", corrupt()), "--dest", dest)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "corrupt.csv: not the Library's voting CSV" in lines[0]
    assert sorted(dest.rglob("*")) == before  # nothing written, the download not kept


@pytest.mark.parametrize(
    ("name", "make", "says"),
    [
        ("truncated.csv", truncated, "truncated"),
        ("wrong.csv", lambda: library_csv(wrong_total=True), "total_yes is 5 but 4 rows say yes"),
    ],
)
def test_truncated_or_wrongly_totalled_files_are_refused(
    server: http.server.ThreadingHTTPServer,
    data_dir: Path,
    tmp_path: Path,
    name: str,
    make: object,
    says: str,
):
    dest = record_folder(tmp_path, data_dir)
    before = sorted(dest.rglob("*"))
    with pytest.raises(DataError) as refused:
        fetch_un_library(dest, url=serve(server, name, make()))  # type: ignore[operator]
    message = str(refused.value)
    assert len(message.splitlines()) == 1
    assert name in message
    assert says in message
    assert sorted(dest.rglob("*")) == before


def test_no_network_is_one_line(data_dir: Path, tmp_path: Path):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dest = record_folder(tmp_path, data_dir)
    done = cli("--url", f"http://127.0.0.1:{port}/ga_voting.csv", "--dest", dest)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "cannot download" in lines[0]
    assert "no network" in lines[0]


def test_a_folder_without_the_record_is_refused_before_downloading(tmp_path: Path):
    with pytest.raises(DataError, match="no unvotes/ folder to extend"):
        fetch_un_library(tmp_path, url="http://127.0.0.1:9/never.csv")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------------
# Resuming, reading, the date limit


def test_an_interrupted_download_resumes(server: http.server.ThreadingHTTPServer, tmp_path: Path):
    body = library_csv()
    url = serve(server, "cut.csv", body)
    server.cut.add("/cut.csv")  # type: ignore[attr-defined]
    target = tmp_path / "cut.csv"
    with pytest.raises(DataError, match="run the command again to resume"):
        download(url, target)
    part = tmp_path / "cut.csv.part"
    assert not target.exists()
    assert 0 < part.stat().st_size < len(body)
    kept = part.stat().st_size
    server.cut.discard("/cut.csv")  # type: ignore[attr-defined]
    server.ranges.clear()  # type: ignore[attr-defined]
    download(url, target)
    assert server.ranges == [f"bytes={kept}-"]  # type: ignore[attr-defined]
    assert target.read_bytes() == body
    assert not part.exists()


def test_first_release_column_names_are_read(tmp_path: Path):
    path = tmp_path / "2024_09_12_ga_resolutions_voting.csv"
    path.write_bytes(library_csv(old_names=True))
    library = read_library_csv(path)
    assert len(library.roll_calls) == len(ROLL_CALLS)
    assert set(library.votes.iso3) == set(MEMBERS)
    assert "NV" not in set(library.votes.vote)


def test_until_leaves_later_roll_calls_out(
    server: http.server.ThreadingHTTPServer, data_dir: Path, tmp_path: Path
):
    dest = record_folder(tmp_path, data_dir)
    url = serve(server, "until.csv", library_csv())
    report = fetch_un_library(dest, url=url, until="2024-01-01")
    assert report.folder is None
    assert report.added == 0
    assert report.after_until == NEW
    assert report.already["symbol+date"] == 1
    assert not list(dest.glob("unvotes_2024*"))


def test_the_same_file_gives_the_same_bytes(data_dir: Path, tmp_path: Path):
    path = tmp_path / "release.csv"
    path.write_bytes(library_csv())
    library = read_library_csv(path)
    record = load_roll_calls(data_dir)
    new = library.roll_calls.index[(match_record(library.roll_calls, record).rule == "").to_numpy()]
    tags = pd.DataFrame(False, index=new, columns=list(ISSUE_CODES))
    tags.loc[new[0], "nu"] = True
    folders = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        extension = build_extension(library, new, first_rcid=FIRST_RCID + 1, tags=tags)
        folders.append(write_extension(extension, tmp_path / name))
    assert folders[0].name == "unvotes_2024_2025"
    for file in ("votes.csv.gz", "roll_calls.csv.gz", "issues.csv.gz", "provenance.csv",
                 "SHA256SUMS"):  # fmt: skip
        assert (folders[0] / file).read_bytes() == (folders[1] / file).read_bytes()
    with pytest.raises(DataError, match="already exists"):
        write_extension(extension, tmp_path / "a")


def test_the_loader_refuses_an_unknown_issue_source(
    fetched: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
):
    dest, _ = fetched
    copy = tmp_path / "data"
    copy.mkdir()
    (copy / "unvotes").symlink_to((dest / "unvotes").resolve(), target_is_directory=True)
    shutil.copytree(dest / "unvotes_2024_2025", copy / "unvotes_2024_2025")
    folder = copy / "unvotes_2024_2025"
    prov = (folder / "provenance.csv").read_text().replace(",predicted\n", ",guessed\n", 1)
    (folder / "provenance.csv").write_text(prov)
    sums = "".join(
        f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}\n"
        for n in ("votes.csv.gz", "roll_calls.csv.gz", "issues.csv.gz", "provenance.csv")
    )
    (folder / "SHA256SUMS").write_text(sums)
    with pytest.raises(DataError, match=r"provenance.csv: column 'issue_source' expected one of"):
        load_roll_calls(copy)


def test_a_roll_call_with_an_unknown_member_code_is_left_out(
    server: http.server.ThreadingHTTPServer, data_dir: Path, tmp_path: Path
):
    jerusalem = ROLL_CALLS[4]
    odd = ("9000099", "2025-06-03", "79", "A/RES/79/9099", "Another text", "", "",
           {"USA": "Y", "XYZ": "N"})  # fmt: skip
    url = serve(server, "odd.csv", library_csv(roll_calls=[jerusalem, odd]))
    dest = record_folder(tmp_path, data_dir)
    report = fetch_un_library(dest, url=url)
    assert report.unknown_members == {"XYZ": "Atlantis"}
    assert report.unknown_left_out == 1
    assert report.folder is None
    assert report.already["symbol+date"] == 1
