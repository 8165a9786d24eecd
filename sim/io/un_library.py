"""The UN Dag Hammarskjöld Library's General Assembly voting data, as an extension of the record.

The Library publishes every recorded vote on an adopted General Assembly resolution, 1946 to the
latest session, as one CSV (record 4060887 of the UN Digital Library; its "Description and Terms
of Use" lists the columns). One row is one Member State's vote on one resolution: ``undl_id``
(the Library's record number), ``ms_code`` (three letters), ``ms_name``, ``ms_vote`` (``Y``,
``N``, ``A``; ``NV``, ``X`` or empty for non-voting), ``resolution`` (symbol), ``title``,
``modality``, ``draft``, ``committee_report``, ``meeting``, ``agenda_title``, ``subjects``,
``date`` and the totals ``total_yes``, ``total_no``, ``total_abstentions`` (and, in later
releases, ``session``, ``total_non_voting``, ``total_ms``, ``undl_link``). The first release
(September 2024) spelled some names differently (``ms_codes``, ``resolutions``, ``yes``...):
both are read.

This module downloads the file (:func:`download`: plain ``urllib`` with a ``.part`` file and an
HTTP ``Range`` request to resume), reads and checks it (:func:`read_library_csv`: the size and
SHA-256 of a release in ``KNOWN_RELEASES``, and for any release the totals of each roll call
against its rows), finds the roll calls the record already holds (:func:`match_record`: same
symbol and date, else same symbol on a whole-resolution vote, else same date and same counts)
and writes the others as an extension folder ``unvotes_<first>_<last>/`` in the loader's format
(:func:`build_extension`, :func:`write_extension`), which :func:`sim.io.data.load_roll_calls`
reads after ``unvotes/``. "NV" and a missing row are both absence, as the loader infers it; the
member codes become the loader's ISO codes (:func:`library_iso3`).

Issue tags for the new roll calls are predicted elsewhere (:mod:`sim.estimate.issue_codes`); the
extension records where each roll call's tags come from in ``provenance.csv:issue_source``.
The wiring (download, check, match, predict, write) is :func:`sim.run.un_library.fetch_un_library`.

Examples
--------
>>> symbol_key("A/RES/75/250 A"), symbol_key("R/37/123A"), symbol_key(" a/res/ES-11/1 ")
('A/RES/75/250A', 'A/RES/37/123A', 'A/RES/ES-11/1')
>>> clean_title("Jerusalem : resolution / adopted by the General Assembly")
'Jerusalem'
>>> library_iso3("USA", "United States of America"), library_iso3("YUG", "Yugoslavia")
('USA', 'SRB')
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import io
import os
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pycountry

from sim.core.acts import ISSUE_CODES
from sim.io.countries import HISTORIC_ALPHA2, NO_CODE, iso3_name, to_iso3
from sim.io.data import (
    RollCallData,
    normalise_symbol,
    sha256_file,
    write_csv_gz,
)
from sim.io.errors import DataError

__all__ = [
    "DEFAULT_URL",
    "HISTORIC_ALPHA3",
    "ISSUE_NAMES",
    "KNOWN_RELEASES",
    "URL_ENV",
    "Extension",
    "LibraryRecord",
    "build_extension",
    "clean_title",
    "download",
    "library_iso3",
    "match_record",
    "read_library_csv",
    "symbol_key",
    "write_extension",
]

#: The Library's published CSV (record 4060887); a newer release has a newer file name: pass
#: ``--url`` or set ``URL_ENV``.
DEFAULT_URL: Final = "https://digitallibrary.un.org/record/4060887/files/2026_02_06_ga_voting.csv"

#: Environment variable overriding ``DEFAULT_URL``.
URL_ENV: Final = "SIM_UN_LIBRARY_URL"

#: Size in bytes and SHA-256 of each release checked by hand, by file name. Empty: no release
#: could be downloaded where this was written (no network), so every release is checked by its
#: totals (:func:`read_library_csv`). Add a row once a release has been checked.
KNOWN_RELEASES: Final[Mapping[str, tuple[int, str]]] = {}

#: Voeten's names of the issue codes (``issues.csv.gz:issue``).
ISSUE_NAMES: Final[Mapping[str, str]] = {
    "me": "Palestinian conflict",
    "nu": "Nuclear weapons and nuclear material",
    "di": "Arms control and disarmament",
    "hr": "Human rights",
    "co": "Colonialism",
    "ec": "Economic development",
}

#: Canonical column -> the names releases have used for it (first release's names second).
_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "undl_id": ("undl_id",),
    "ms_code": ("ms_code", "ms_codes"),
    "ms_name": ("ms_name", "ms_names"),
    "ms_vote": ("ms_vote", "ms_votes"),
    "resolution": ("resolution", "resolutions"),
    "title": ("title",),
    "date": ("date",),
    "total_yes": ("total_yes", "yes"),
    "total_no": ("total_no", "no"),
    "total_abstentions": ("total_abstentions", "abstentions"),
}
_OPTIONAL: Final[dict[str, tuple[str, ...]]] = {
    "session": ("session",),
    "modality": ("modality",),
    "draft": ("draft",),
    "committee_report": ("committee_report",),
    "meeting": ("meeting",),
    "agenda_title": ("agenda_title", "agenda_titles"),
    "subjects": ("subjects",),
    "total_non_voting": ("total_non_voting", "non-voting"),
    "total_ms": ("total_ms", "total-voting"),
    "undl_link": ("undl_link",),
}

#: The Library's votes: Y/N/A are the loader's yes/no/abstain; the rest are absence.
_VOTE: Final[dict[str, str]] = {"Y": "yes", "N": "no", "A": "abstain"}
_NON_VOTING: Final[frozenset[str]] = frozenset({"NV", "X", ""})

#: Three-letter codes of seats that ISO has withdrawn, mapped as the loader keys them
#: (:mod:`sim.io.countries`: a seat is keyed by its continuing member).
HISTORIC_ALPHA3: Final[dict[str, str]] = {
    "YUG": "SRB",  # Yugoslavia (SFR, then FR): Serbia, as the loader keys YU
    "SCG": "SRB",  # Serbia and Montenegro
    "CSK": "CSK",  # Czechoslovakia
    "DDR": "DDR",  # German Democratic Republic
    "YMD": "YMD",  # Democratic Yemen
    "YAR": "YEM",  # Yemen Arab Republic: its seat continues as Yemen
    "SUN": "RUS",  # USSR: its seat continues as the Russian Federation
    "USR": "RUS",
    "BYS": "BLR",  # Byelorussian SSR
    "ZAR": "COD",  # Zaire
    "BUR": "MMR",  # Burma
    "DHY": "BEN",  # Dahomey
    "HVO": "BFA",  # Upper Volta
    "TMP": "TLS",  # East Timor
}

_ADOPTED: Final = re.compile(r"\s*:\s*resolution\s*/\s*adopted by the general assembly.*$", re.I)
_SESSION_IN_SYMBOL: Final = re.compile(r"^A/RES/(\d+)/")


# --------------------------------------------------------------------------------------------------
# Small pieces


def symbol_key(symbol: str) -> str:
    """A resolution symbol as a matching key: ``R/`` written ``A/RES/``, upper case, no spaces.

    Parts are kept (``A/RES/75/250 A`` and ``A/RES/75/250A`` are one key, ``.../250 B`` another).
    """
    return re.sub(r"\s+", "", normalise_symbol(str(symbol))).upper()


def clean_title(title: str) -> str:
    """The title without the Library's " : resolution / adopted by the General Assembly".

    White space is collapsed too.
    """
    return " ".join(_ADOPTED.sub("", str(title)).split())


def library_iso3(code: str, name: str) -> str:
    """The loader's ISO3 key of a member from the Library's three-letter code.

    Parameters
    ----------
    code : str
        ``ms_code``: ISO 3166-1 alpha-3, or a withdrawn code in ``HISTORIC_ALPHA3``.
    name : str
        ``ms_name``, for the error message.

    Raises
    ------
    DataError
        An unknown code.
    """
    key = str(code).strip().upper()
    if key in HISTORIC_ALPHA3:
        return HISTORIC_ALPHA3[key]
    if len(key) == 3 and pycountry.countries.get(alpha_3=key) is not None:
        return key
    raise DataError(
        f"unknown member code {code!r} ({name!r}): not ISO 3166 alpha-3 nor in "
        "sim.io.un_library.HISTORIC_ALPHA3"
    )


def _code_and_name(iso3: str) -> tuple[str, str]:
    """The (``country_code``, ``country``) pair the loader maps back to `iso3`."""
    inverse = {v: k for k, v in HISTORIC_ALPHA2.items()}
    nameless = {v: k for k, v in NO_CODE.items() if v not in ("DEU", "YEM")}
    if iso3 in inverse:
        pair = (inverse[iso3], iso3_name(iso3))
    elif iso3 in nameless:
        pair = ("", nameless[iso3])
    else:
        record = pycountry.countries.get(alpha_3=iso3)
        if record is None:
            raise DataError(f"member {iso3}: no ISO 3166 alpha-2 code for the loader's files")
        pair = (str(record.alpha_2), iso3_name(iso3))
    if to_iso3(*pair) != iso3:  # the loader must read back the same member
        raise DataError(f"member {iso3}: written as {pair} but read back as {to_iso3(*pair)}")
    return pair


def _session_of(session: str, symbol: str, date: pd.Timestamp) -> int:
    """Regular session of a roll call.

    The file's ``session`` if a number, else the symbol's, else the date's (a session opens in
    mid-September; emergency and special sessions fall in the regular session of their date, as
    ES-11 is filed in session 76 in ``unvotes_2020_2022/``).
    """
    text = str(session).strip()
    if text.isdigit():
        return int(text)
    found = _SESSION_IN_SYMBOL.match(symbol_key(symbol))
    if found:
        return int(found[1])
    opened = (date.month, date.day) >= (9, 15)
    return int(date.year - 1945 if opened else date.year - 1946)


# --------------------------------------------------------------------------------------------------
# Download


@contextlib.contextmanager
def _bar(label: str, total: int | None, start: int, enabled: bool) -> Iterator[object]:
    """A rich download bar on a terminal's stderr; a no-op object elsewhere."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total, completed=start)
        yield lambda n: progress.update(task, advance=n)


def _offline(url: str, exc: BaseException) -> DataError:
    reason = getattr(exc, "reason", None) or exc
    return DataError(
        f"{url}: cannot download ({reason}); no network here? Pass --url to a copy you can "
        "reach (a file:// URL works)"
    )


def download(url: str, target: Path, *, progress: bool = False, timeout: float = 60.0) -> Path:
    """Download `url` to `target`, resuming a partial download.

    The bytes go to ``<target>.part``; if that file exists, an HTTP ``Range`` request asks for
    the rest (a server that ignores it sends everything again, which is then written from the
    start). When the server's length is reached the ``.part`` file becomes `target`. An
    interrupted download leaves the ``.part`` file for the next call.

    Parameters
    ----------
    url : str
        ``http``, ``https`` or ``file`` URL.
    target : Path
        Final file; its folder is created.
    progress : bool, default False
        A progress bar on stderr (on a terminal only).
    timeout : float, default 60
        Seconds to wait for the server.

    Returns
    -------
    Path
        `target`.

    Raises
    ------
    DataError
        No network or an unreachable server (one line), an HTTP error, or an interrupted or
        short download (the ``.part`` file is kept: run again to resume).
    """
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https", "file"):
        raise DataError(f"{url}: unsupported URL scheme {scheme!r} (expected http, https, file)")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": "sim (UNGA roll calls; https://digitallibrary.un.org)"}
    if have and scheme != "file":
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (scheme checked)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send: the .part file is complete
            os.replace(part, target)
            return target
        raise DataError(f"{url}: download failed (HTTP {exc.code} {exc.reason})") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise _offline(url, exc) from exc
    with response:
        resumed = have > 0 and getattr(response, "status", 200) == 206
        if not resumed:
            have = 0
        elif not str(response.headers.get("Content-Range", "")).startswith(f"bytes {have}-"):
            raise DataError(
                f"{url}: the server resumed at another byte than {have} "
                f"({response.headers.get('Content-Range')}); delete {part} and run again"
            )
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        written = have
        label = f"{Path(urllib.parse.urlsplit(url).path).name or url}"
        if progress and sys.stderr.isatty():  # with the bar; keeps errors to one line in logs
            where = f"resuming at byte {have}" if resumed else "downloading"
            print(f"{where} {url}", file=sys.stderr)
        try:
            with (
                open(part, "ab" if resumed else "wb") as out,
                _bar(label, total, have, progress) as advance,
            ):
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    written += len(block)
                    if advance is not None:
                        advance(len(block))  # type: ignore[operator]
        except (http.client.IncompleteRead, OSError, TimeoutError) as exc:
            raise DataError(
                f"{url}: download interrupted after {written} bytes ({exc}); run the command "
                f"again to resume from {part}"
            ) from exc
    if total is not None and written != total:
        raise DataError(
            f"{url}: download stopped at {written} of {total} bytes; run the command again to "
            f"resume from {part}"
        )
    os.replace(part, target)
    return target


# --------------------------------------------------------------------------------------------------
# Reading and checking a release


@dataclasses.dataclass(frozen=True)
class LibraryRecord:
    """One release of the Library's file, read and checked.

    Attributes
    ----------
    path : Path
        The file read.
    roll_calls : DataFrame, index ``undl_id`` (str)
        One row per roll call with per-member votes: ``symbol``, ``date`` (datetime64),
        ``session`` int, ``title`` (without the trailing " : resolution / adopted by the
        General Assembly"), ``agenda_title``, ``subjects``, ``draft``, ``meeting``, ``link``,
        ``yes``, ``no``, ``abstain`` (the file's totals, equal to the rows), ``not_voting``
        (members listed with NV, X or no vote), sorted by date then symbol.
    votes : DataFrame
        The votes cast: ``undl_id``, ``iso3`` (``""`` for a code in `unknown_members`),
        ``ms_code`` (the file's), ``vote`` (``yes``, ``no`` or ``abstain``). Non-voting rows
        are dropped: the loader infers absence.
    no_votes : int
        Roll calls in the file without any member's vote (left out: nothing to load).
    unknown_members : dict
        Member codes :func:`library_iso3` does not know -> the file's name for them. Their roll
        calls cannot be added (:meth:`unmapped`), but may already be in the record.
    """

    path: Path
    roll_calls: pd.DataFrame
    votes: pd.DataFrame
    no_votes: int
    unknown_members: dict[str, str] = dataclasses.field(default_factory=dict)

    def unmapped(self) -> pd.Index:
        """The roll calls (``undl_id``) with a vote by a member of unknown code."""
        return pd.Index(self.votes.undl_id[self.votes.iso3 == ""].unique(), name="undl_id")


def _pick(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lower = {c.strip().lower(): c for c in frame.columns}
    for name in names:
        if name in lower:
            return lower[name]
    return None


def read_library_csv(path: Path) -> LibraryRecord:
    """Read the Library's CSV and check it: columns, votes, dates, codes and every total.

    Parameters
    ----------
    path : Path
        The downloaded file (UTF-8 CSV with a header row; either release's column names).

    Returns
    -------
    LibraryRecord

    Raises
    ------
    DataError
        Naming `path`: a file that is not such a CSV (corrupt), a missing column, an unknown
        vote or member code, a bad date, a roll call whose rows disagree on its symbol, date
        or totals, or whose totals differ from its rows (wrongly totalled or truncated), a
        member listed twice on one roll call with different votes (an unknown member code is not
        an error: :attr:`LibraryRecord.unknown_members`). The size and SHA-256 of a
        release in ``KNOWN_RELEASES`` are checked first.
    """
    path = Path(path)
    known = KNOWN_RELEASES.get(path.name)
    if known is not None:
        size, digest = known
        found_size, found = path.stat().st_size, sha256_file(path)
        if (found_size, found) != (size, digest):
            raise DataError(
                f"{path}: corrupt or truncated (expected {size} bytes, SHA-256 {digest}; found "
                f"{found_size} bytes, {found})"
            )
    try:
        raw = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", on_bad_lines="error"
        )
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: not the Library's voting CSV (corrupt?): {first}") from exc
    columns: dict[str, str] = {}
    missing = []
    for name, aliases in _COLUMNS.items():
        found_col = _pick(raw, aliases)
        if found_col is None:
            missing.append(name)
        else:
            columns[name] = found_col
    if missing:
        raise DataError(
            f"{path}: not the Library's voting CSV: missing columns {missing} "
            f"(found {list(raw.columns)[:12]})"
        )
    for name, aliases in _OPTIONAL.items():
        found_col = _pick(raw, aliases)
        if found_col is not None:
            columns[name] = found_col
    frame = pd.DataFrame({name: raw[col].astype(str).str.strip() for name, col in columns.items()})
    for name in _OPTIONAL:
        if name not in frame:
            frame[name] = ""
    if frame.empty:
        raise DataError(f"{path}: no rows")
    if (frame.undl_id == "").any():
        row = int(np.flatnonzero(frame.undl_id == "")[0]) + 2
        raise DataError(f"{path}: line {row}: empty undl_id (truncated or corrupt?)")

    votes = frame.ms_vote.str.upper()
    bad = sorted(set(votes) - set(_VOTE) - _NON_VOTING)
    if bad:
        row = int(np.flatnonzero(votes.isin(bad))[0]) + 2
        raise DataError(
            f"{path}: line {row}: ms_vote expected Y, N, A, NV, X or empty; found {bad[:5]!r}"
        )
    date = pd.to_datetime(frame.date, format="ISO8601", errors="coerce")
    if date.isna().any():
        row = int(np.flatnonzero(date.isna())[0]) + 2
        raise DataError(
            f"{path}: line {row}: date expected YYYY-MM-DD; found {frame.date.iloc[row - 2]!r}"
        )
    frame["date"] = date.dt.normalize()
    frame["vote"] = votes.map(_VOTE).fillna("")

    # One roll call, one set of facts: its rows must agree.
    per_roll_call = [
        "resolution",
        "date",
        "total_yes",
        "total_no",
        "total_abstentions",
        "total_non_voting",
    ]
    varies = frame.groupby("undl_id", sort=False)[per_roll_call].nunique() > 1
    if varies.any(axis=None):
        undl, column = varies.stack()[lambda s: s].index[0]
        raise DataError(
            f"{path}: roll call {undl}: rows disagree on {column} (a truncated or corrupt file?)"
        )

    first = frame.drop_duplicates("undl_id").set_index("undl_id")
    counts = pd.crosstab(frame.undl_id, frame.vote).reindex(
        index=first.index, columns=["yes", "no", "abstain", ""], fill_value=0
    )
    cast = counts[["yes", "no", "abstain"]].sum(axis=1)
    no_votes = int((cast == 0).sum())
    checked = cast > 0
    totals = {}
    for act, column in (("yes", "total_yes"), ("no", "total_no"), ("abstain", "total_abstentions")):
        number = pd.to_numeric(first[column], errors="coerce")
        bad_total = checked & number.isna()
        if bad_total.any():
            undl = bad_total.index[bad_total.to_numpy()][0]
            raise DataError(
                f"{path}: roll call {undl}: {columns[column]} expected a number, found "
                f"{first.loc[undl, column]!r}"
            )
        totals[act] = number
        wrong = checked & (number != counts[act])
        if wrong.any():
            undl = wrong.index[wrong.to_numpy()][0]
            raise DataError(
                f"{path}: roll call {undl} ({first.loc[undl, 'resolution']}): "
                f"{columns[column]} is {first.loc[undl, column]} but {int(counts.loc[undl, act])} "
                f"rows say {act} (wrongly totalled or truncated file)"
            )
    non_voting = pd.to_numeric(first["total_non_voting"], errors="coerce")
    wrong = checked & non_voting.notna() & (non_voting != counts[""])
    if wrong.any():
        undl = wrong.index[wrong.to_numpy()][0]
        raise DataError(
            f"{path}: roll call {undl} ({first.loc[undl, 'resolution']}): "
            f"{columns['total_non_voting']} is {first.loc[undl, 'total_non_voting']} but "
            f"{int(counts.loc[undl, ''])} rows are non-voting (wrongly totalled or truncated file)"
        )

    keep = frame.undl_id.isin(first.index[checked.to_numpy()])
    cast_rows = frame[keep & (frame.vote != "")]
    iso3, unknown = {}, {}
    for code, name in cast_rows.drop_duplicates("ms_code")[["ms_code", "ms_name"]].itertuples(
        index=False
    ):
        try:
            iso3[code] = library_iso3(code, name)
        except DataError:
            iso3[code], unknown[code] = "", name
    cast_votes = pd.DataFrame(
        {
            "undl_id": cast_rows.undl_id.to_numpy(),
            "iso3": cast_rows.ms_code.map(iso3).to_numpy(),
            "ms_code": cast_rows.ms_code.to_numpy(),
            "vote": cast_rows.vote.to_numpy(),
        }
    ).drop_duplicates()
    known = cast_votes[cast_votes.iso3 != ""]
    twice = known.duplicated(["undl_id", "iso3"], keep=False)
    if twice.any():
        undl, member = known[twice].iloc[0][["undl_id", "iso3"]]
        raise DataError(f"{path}: roll call {undl}: member {member} has more than one vote")

    rc = first[checked.to_numpy()]
    roll_calls = pd.DataFrame(
        {
            "symbol": rc.resolution.to_numpy(),
            "date": rc.date.to_numpy(),
            "session": [
                _session_of(s, sym, d)
                for s, sym, d in zip(rc.session, rc.resolution, rc.date, strict=True)
            ],
            "title": [clean_title(t) for t in rc.title],
            "agenda_title": rc.agenda_title.to_numpy(),
            "subjects": rc.subjects.to_numpy(),
            "draft": rc.draft.to_numpy(),
            "meeting": rc.meeting.to_numpy(),
            "link": [
                link or f"https://digitallibrary.un.org/record/{u}"
                for u, link in zip(rc.index, rc.undl_link, strict=True)
            ],
            "yes": counts.loc[rc.index, "yes"].to_numpy(np.int64),
            "no": counts.loc[rc.index, "no"].to_numpy(np.int64),
            "abstain": counts.loc[rc.index, "abstain"].to_numpy(np.int64),
            "not_voting": counts.loc[rc.index, ""].to_numpy(np.int64),
        },
        index=pd.Index(rc.index, name="undl_id"),
    )
    roll_calls["key"] = [symbol_key(s) for s in roll_calls.symbol]
    roll_calls = roll_calls.sort_values(["date", "session", "key"], kind="mergesort")
    return LibraryRecord(path, roll_calls, cast_votes.reset_index(drop=True), no_votes, unknown)


# --------------------------------------------------------------------------------------------------
# Matching against the record


def match_record(library: pd.DataFrame, record: RollCallData) -> pd.DataFrame:
    """Which of the Library's roll calls the record already holds.

    Tried in order: the same symbol (:func:`symbol_key`) and date; the same symbol on one of
    the record's whole-resolution votes (the record's dates before 1990 are sometimes only
    month-accurate, and a resolution is adopted once); the same date and the same yes, no and
    abstain counts (symbols written differently, e.g. ``A/RES/66(I)`` for ``R/1/66``).

    Parameters
    ----------
    library : DataFrame
        :attr:`LibraryRecord.roll_calls`.
    record : RollCallData
        The roll calls already loaded.

    Returns
    -------
    DataFrame, index ``undl_id``
        ``rcid`` (Int64, <NA> for a roll call the record lacks) and ``rule`` (``"symbol+date"``,
        ``"symbol"``, ``"date+counts"`` or ``""``).
    """
    rc = record.roll_calls
    keys = pd.Series([symbol_key(s) for s in rc.symbol], index=rc.index)
    by_symbol_date: dict[tuple[str, pd.Timestamp], int] = {}
    by_symbol: dict[str, int] = {}
    for rcid, key, date, partial in zip(rc.index, keys, rc.date, rc.partial, strict=True):
        if key:
            by_symbol_date.setdefault((key, pd.Timestamp(date)), int(rcid))
            if not partial:
                by_symbol.setdefault(key, int(rcid))
    counts = record.counts
    by_counts: dict[tuple[pd.Timestamp, int, int, int], int] = {}
    for rcid, date in zip(rc.index, rc.date, strict=True):
        row = counts.loc[rcid]
        by_counts.setdefault(
            (pd.Timestamp(date), int(row["yes"]), int(row["no"]), int(row["abstain"])), int(rcid)
        )
    rcids: list[int | None] = []
    rules: list[str] = []
    for key, date, yes, no, abstain in zip(
        library.key, library.date, library.yes, library.no, library.abstain, strict=True
    ):
        day = pd.Timestamp(date)
        for rule, found in (
            ("symbol+date", by_symbol_date.get((key, day)) if key else None),
            ("symbol", by_symbol.get(key) if key else None),
            ("date+counts", by_counts.get((day, int(yes), int(no), int(abstain)))),
        ):
            if found is not None:
                rcids.append(found)
                rules.append(rule)
                break
        else:
            rcids.append(None)
            rules.append("")
    return pd.DataFrame(
        {"rcid": pd.array(rcids, dtype="Int64"), "rule": rules}, index=library.index
    )


# --------------------------------------------------------------------------------------------------
# The extension folder


@dataclasses.dataclass(frozen=True)
class Extension:
    """The files of an extension folder, as frames (written by :func:`write_extension`).

    Attributes
    ----------
    name : str
        ``unvotes_<first year>_<last year>``.
    roll_calls, votes, issues, provenance : DataFrame
        The rows of ``roll_calls.csv.gz``, ``votes.csv.gz``, ``issues.csv.gz`` and
        ``provenance.csv``, in the loader's columns and order.
    """

    name: str
    roll_calls: pd.DataFrame
    votes: pd.DataFrame
    issues: pd.DataFrame
    provenance: pd.DataFrame

    @property
    def members(self) -> int:
        """Members with at least one vote cast in the extension."""
        return int(self.votes[["country", "country_code"]].drop_duplicates().shape[0])


def build_extension(
    library: LibraryRecord,
    new: pd.Index,
    *,
    first_rcid: int,
    tags: pd.DataFrame | None = None,
) -> Extension:
    """The extension holding the Library's roll calls `new`.

    Parameters
    ----------
    library : LibraryRecord
        The checked release.
    new : Index of undl_id
        The roll calls to add (those :func:`match_record` found nowhere in the record), none
        of them :meth:`LibraryRecord.unmapped`.
    first_rcid : int
        rcid of the first new roll call; the others follow in date order (they must not repeat
        an rcid of any other folder: the caller starts above the record's largest).
    tags : DataFrame, optional
        Index ``undl_id``, one bool column per issue code (``ISSUE_CODES``): predicted tags.
        ``provenance.csv:issue_source`` is ``"predicted"`` for the roll calls it covers and
        ``""`` (not coded) for the others.

    Returns
    -------
    Extension
    """
    rc = library.roll_calls.loc[library.roll_calls.index.isin(new)]
    if rc.empty:
        raise ValueError("no roll calls to add")
    rcid = pd.Series(np.arange(first_rcid, first_rcid + len(rc), dtype=np.int64), index=rc.index)
    titles = rc.title.to_numpy()
    roll_calls = pd.DataFrame(
        {
            "rcid": rcid.to_numpy(),
            "session": rc.session.to_numpy(np.int64),
            "importantvote": "",
            "date": rc.date.dt.strftime("%Y-%m-%d").to_numpy(),
            "unres": rc.symbol.to_numpy(),
            "amend": "",
            "para": "",
            "short": titles,
            "descr": titles,
        }
    )
    cast = library.votes[library.votes.undl_id.isin(rc.index)]
    if (cast.iso3 == "").any():
        undl = cast.undl_id[cast.iso3 == ""].iloc[0]
        raise DataError(f"{library.path}: roll call {undl}: a member code is unknown")
    pairs = {iso3: _code_and_name(iso3) for iso3 in sorted(set(cast.iso3))}
    votes = pd.DataFrame(
        {
            "rcid": cast.undl_id.map(rcid).to_numpy(np.int64),
            "country": [pairs[i][1] for i in cast.iso3],
            "country_code": [pairs[i][0] for i in cast.iso3],
            "vote": cast.vote.to_numpy(),
        }
    )
    votes["_empty"] = votes.country_code == ""
    votes = votes.sort_values(["rcid", "_empty", "country_code", "country"], kind="mergesort")
    votes = votes.drop(columns="_empty").reset_index(drop=True)

    covered = pd.Index([]) if tags is None else tags.index.intersection(rc.index)
    issue_rows = []
    if tags is not None:
        for undl in rc.index:
            if undl in covered:
                for code in ISSUE_CODES:
                    if bool(tags.loc[undl, code]):
                        issue_rows.append((int(rcid[undl]), code, ISSUE_NAMES[code]))
    issues = pd.DataFrame(issue_rows, columns=["rcid", "short_name", "issue"])
    issues = issues.sort_values(["rcid", "short_name"], kind="mergesort").reset_index(drop=True)

    provenance = pd.DataFrame(
        {
            "rcid": rcid.to_numpy(),
            "unres": rc.symbol.to_numpy(),
            "date": roll_calls.date.to_numpy(),
            "yes": rc.yes.to_numpy(),
            "no": rc.no.to_numpy(),
            "abstain": rc.abstain.to_numpy(),
            "not_voting": rc.not_voting.to_numpy(),
            "source": "UNDL",
            "undl_record": rc.link.to_numpy(),
            "voeten_rcid": "",
            "draft": rc.draft.to_numpy(),
            "meeting": rc.meeting.to_numpy(),
            "undl_id": rc.index.to_numpy(),
            "agenda_title": rc.agenda_title.to_numpy(),
            "subjects": rc.subjects.to_numpy(),
            "issue_source": np.where(rc.index.isin(covered), "predicted", ""),
        }
    )
    first, last = rc.date.min().year, rc.date.max().year
    return Extension(f"unvotes_{first}_{last}", roll_calls, votes, issues, provenance)


def write_extension(extension: Extension, dest: Path) -> Path:
    """Write `extension` into data folder `dest` atomically, with its ``SHA256SUMS``.

    The files are written to a hidden folder in `dest`, which is then renamed: the loader never
    sees half a folder. Gzip CSVs as the loader's other folders (mtime 0, newline line ends), so
    the same input gives the same bytes.

    Returns
    -------
    Path
        ``dest / extension.name``.

    Raises
    ------
    DataError
        If that folder already exists (delete it to rebuild it).
    """
    final = Path(dest) / extension.name
    if final.exists():
        raise DataError(f"{final}: already exists; delete it to rebuild the extension")
    staging = Path(tempfile.mkdtemp(dir=dest, prefix=f".{extension.name}-"))
    try:
        write_csv_gz(extension.votes, staging / "votes.csv.gz")
        write_csv_gz(extension.roll_calls, staging / "roll_calls.csv.gz")
        write_csv_gz(extension.issues, staging / "issues.csv.gz")
        buf = io.StringIO()
        extension.provenance.to_csv(buf, index=False, lineterminator="\n")
        (staging / "provenance.csv").write_bytes(buf.getvalue().encode("utf-8"))
        names = ("votes.csv.gz", "roll_calls.csv.gz", "issues.csv.gz", "provenance.csv")
        sums = "".join(f"{sha256_file(staging / n)}  {n}\n" for n in names)
        (staging / "SHA256SUMS").write_text(sums, encoding="utf-8")
        os.chmod(staging, 0o755)  # noqa: S103 (mkdtemp makes it private; data are public)
        os.replace(staging, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return final
