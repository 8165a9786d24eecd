"""Roll-call loader: Voeten's UNGA votes from a local folder, or a checksummed download.

The data folder (``shared/data`` in the project, see its README) holds

- ``unvotes/``: Voeten's data via the ``unvotes`` R package, 1946-01-01 to 2020-01-14
  (sessions 1-74), as ``votes.csv.gz``, ``roll_calls.csv.gz``, ``issues.csv.gz`` and ``SHA256SUMS``;
- ``unvotes_2020_2022/`` (optional): the plenary votes of 3 Sep 2020 to 28 Jul 2022 in the same
  format, plus ``provenance.csv``. Its rcids are 100001-100188;
- any other ``unvotes_*/`` folder (optional): a later extension in the same format, loaded after
  those two in name order (:func:`data_parts`), so newer votes need no change to the code.
  ``sim data fetch --source un-library`` writes one from the UN Library's voting data
  (:mod:`sim.io.un_library`); its ``provenance.csv`` says where each roll call's issue tags come
  from (``issue_source``: ``voeten``, ``predicted`` or empty).

The files record only votes cast. Absence is inferred (README, "Absence must be inferred"): a
country with at least one row in a roll call's session but none on that roll call did not vote
("absent").
A country that cast no vote all session is not a member for that session, by the same rule.

Where the folder is found: :func:`resolve_data_dir`. Users without ``shared/`` run
``sim data fetch`` (:func:`fetch`), which downloads the three published ``.rda`` files of the R
package pinned to one commit, checks their SHA-256 and converts them exactly as
``shared/data/unvotes/build_unvotes.py`` does. It provides 1946-2020 only: the 2020-2022 extension
cannot be downloaded, because its raw sources also hold the held-out votes (from 2022-09-01) on
which the model is evaluated.

Examples
--------
>>> normalise_symbol("R/67/19"), normalise_symbol("A/RES/ES-10/19"), normalise_symbol("ESS/1/997")
('A/RES/67/19', 'A/RES/ES-10/19', 'ESS/1/997')
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import io
import os
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import platformdirs

from sim.core.acts import ABSENT, ACTS, ISSUE_CODES, VOTES
from sim.io.countries import to_iso3
from sim.io.errors import DataError

#: Where a roll call's issue tags come from (``roll_calls.issue_source``): Voeten's coding,
#: a classifier's prediction from its title (:mod:`sim.estimate.issue_codes`, for roll calls
#: Voeten's data lack), or ``""``: not coded (no tag does not mean no issue).
ISSUE_SOURCES: Final[tuple[str, ...]] = ("voeten", "predicted", "")

#: Sub-folders of the data folder, in load order; only the first is required. Any other folder
#: named ``unvotes_*`` with the same files (a later extension of the record) is loaded after
#: them, in name order (:func:`data_parts`).
PARTS: Final[tuple[str, ...]] = ("unvotes", "unvotes_2020_2022")
_EXTENSION_FILES: Final[tuple[str, ...]] = ("votes.csv.gz", "roll_calls.csv.gz", "issues.csv.gz")
_REQUIRED_FILES: Final[dict[str, tuple[str, ...]]] = {
    "unvotes": _EXTENSION_FILES,
    "unvotes_2020_2022": (*_EXTENSION_FILES, "provenance.csv"),
}


def data_parts(root: Path) -> tuple[str, ...]:
    """The sub-folders of data folder `root` to load, in order: ``unvotes/``, then
    ``unvotes_2020_2022/`` if there, then any other ``unvotes_*/`` folder holding a
    ``votes.csv.gz`` (a later extension in the same format, with its ``SHA256SUMS`` and, if it
    has one, a ``provenance.csv``), by name. Roll-call ids must not repeat across folders.

    Examples
    --------
    >>> data_parts(Path("/nonexistent"))
    ()
    """
    known = [p for p in PARTS if (root / p).is_dir()]
    later = sorted(
        d.name
        for d in (root.glob("unvotes_*") if root.is_dir() else ())
        if d.is_dir() and d.name not in PARTS and (d / "votes.csv.gz").is_file()
    )
    return (*known, *later)


#: The ``unvotes`` R package (David Robinson) pinned to commit 7eb7034 (2021-03-08).
UNVOTES_COMMIT: Final = "7eb7034314ff79c49c9e0785fcd9d216fa04cf14"
DEFAULT_BASE_URL: Final = f"https://raw.githubusercontent.com/dgrtwo/unvotes/{UNVOTES_COMMIT}/data/"

#: SHA-256 of the published .rda files at ``UNVOTES_COMMIT`` (shared/data/README.md).
RDA_SHA256: Final[Mapping[str, str]] = {
    "un_votes.rda": "cf814a48bc536e8f87f8e027942ac515fe6aae9d63cd71dd88ed718b14887e87",
    "un_roll_calls.rda": "ff2070ae600cfd32176c6d149637306b9b677d6b910f48bec59a15357d673b4b",
    "un_roll_call_issues.rda": "eec1b509ebce692c242b842837d5d861b52b65b2868a7c66f573d4a87d2eb0be",
}

#: SHA-256 of the converted CSVs (shared/data/unvotes/SHA256SUMS): :func:`fetch` reproduces them.
UNVOTES_CSV_SHA256: Final[Mapping[str, str]] = {
    "votes.csv.gz": "aeb50660f73abe85c51ab28764c98369dd4aad7f91d008eab106bca6655305d5",
    "roll_calls.csv.gz": "7cf3ea3695cb5e2d742ec9dd59142ed75b69568e9650e2560bb6e05344e7f6cb",
    "issues.csv.gz": "2c6f4c8665dbb765feead6ba99a5ab7c9e9d418c1714fa3789f5157f80bf43bd",
}

_HOLDOUT_START: Final = pd.Timestamp("2022-09-01")  # UNGA session 77 starts 13 Sep 2022
_HOLDOUT_SESSION: Final = 77

_FETCH_HINT: Final = (
    "pass --data-dir (a folder containing unvotes/), set SIM_DATA_DIR, or run `sim data fetch`"
)

#: What provides which roll calls, for messages about votes the data lack.
NEWER_VOTES_HINT: Final = (
    "run `sim data fetch` (Voeten's roll calls, 1946 to 2020-01-14), then `sim data fetch "
    "--source un-library` for the later ones (docs/data.md)"
)


def part_hint(part: str) -> str:
    """What restores data folder `part` (``unvotes/``, ``unvotes_2020_2022/`` or a later
    ``unvotes_*/`` extension): the command that makes it, or, for the one no command makes,
    where it comes from and what can replace it (``docs/data.md``).

    Examples
    --------
    >>> "--source un-library" in part_hint("unvotes_2020_2022")
    True
    """
    if part == PARTS[0]:
        return "restore it from shared/data or run `sim data fetch` (Voeten's data, 1946-2020)"
    if part == PARTS[1]:
        return (
            "restore it from the project's shared/data, the only place it comes from (no command "
            "downloads it: its sources hold held-out votes); or move the folder aside and run "
            "`sim data fetch --source un-library --until 2022-09-01` for the votes after 2020 "
            "(docs/data.md)"
        )
    return (
        "move the folder aside and run `sim data fetch --source un-library` again, which "
        "rebuilds it (docs/data.md)"
    )


# --------------------------------------------------------------------------------------------------
# Where the data are


def cache_root() -> Path:
    """The user's cache for sim: ``SIM_CACHE_DIR`` if set, else
    ``platformdirs.user_cache_dir("sim")`` (fetched data, bundles calibrated on first use).
    """
    return Path(os.environ.get("SIM_CACHE_DIR") or platformdirs.user_cache_dir("sim")).expanduser()


def default_cache_dir() -> Path:
    """Folder that ``sim data fetch`` fills: :func:`cache_root` ``/data``."""
    return cache_root() / "data"


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """Find the data folder (the one containing ``unvotes/``).

    Parameters
    ----------
    data_dir : str or Path, optional
        Tried first. The ``unvotes/`` folder itself is accepted too (its parent is used).

    Returns
    -------
    Path
        Absolute path of the first candidate holding ``unvotes/``: `data_dir`, else the environment
        variable ``SIM_DATA_DIR``, else :func:`default_cache_dir` if ``sim data fetch`` filled it.

    Raises
    ------
    DataError
        If an explicit `data_dir` or ``SIM_DATA_DIR`` lacks ``unvotes/`` (no silent fallback), or
        nothing is found; the message says to pass ``--data-dir``, set ``SIM_DATA_DIR`` or fetch.
    """
    explicit = [("data_dir argument", data_dir), ("SIM_DATA_DIR", os.environ.get("SIM_DATA_DIR"))]
    for label, candidate in explicit:
        if candidate is None or str(candidate) == "":
            continue
        path = Path(candidate).expanduser().resolve()
        if (path / PARTS[0]).is_dir():
            return path
        if path.name == PARTS[0] and (path / "votes.csv.gz").is_file():
            return path.parent
        raise DataError(f"{label} {path}: no {PARTS[0]}/ folder there; {_FETCH_HINT}")
    cache = default_cache_dir()
    if (cache / PARTS[0]).is_dir():
        return cache.resolve()
    raise DataError(
        f"no roll-call data found (no data_dir given, SIM_DATA_DIR unset, nothing in {cache}); "
        + _FETCH_HINT
    )


# --------------------------------------------------------------------------------------------------
# The loaded data


@dataclasses.dataclass(frozen=True)
class _Grid:
    """Members x roll calls act codes; shared read-only between a RollCallData and its copies."""

    iso3: pd.Index
    rcid: pd.Index
    codes: npt.NDArray[np.int8]  # shape (n_iso3, n_rcid), ACTS index or -1 (not a member)

    def subset(self, rcid: pd.Index) -> _Grid:
        """Restrict to roll calls `rcid` (in that order), dropping members of none of them."""
        cols = self.rcid.get_indexer(rcid)
        codes = self.codes[:, cols]
        keep = (codes >= 0).any(axis=1)
        out = np.ascontiguousarray(codes[keep])
        out.flags.writeable = False
        return _Grid(self.iso3[keep], pd.Index(rcid, name="rcid"), out)


@dataclasses.dataclass(frozen=True, eq=False)
class RollCallData:
    """UNGA roll calls with every member's act, absences included.

    Frames are shared with the loader's in-process cache through pandas copy-on-write: modify a
    frame only after ``.copy()`` (assigning columns to the frames given here is safe under
    copy-on-write, but don't rely on it).

    Attributes
    ----------
    roll_calls : DataFrame, index ``rcid`` (int)
        One row per roll call, sorted by ``date`` then ``rcid`` (rcid is not chronological).
        Columns: ``session`` int; ``date`` datetime64; ``symbol`` str (``R/67/19`` ->
        ``A/RES/67/19``, others as in the data, ``""`` when empty); ``title`` (the data's
        ``short``, ``""`` if empty);
        ``descr`` str; ``importantvote`` Int64 (US "important votes" list, <NA> if not coded);
        ``partial`` bool (vote on an amendment or paragraph only); ``me, nu, di, hr, co, ec`` bool
        (Voeten's issue tags, or predicted ones: see ``issue_source``); ``issue_source`` str
        (``"voeten"``, ``"predicted"`` for tags a classifier gave a roll call Voeten's data lack,
        ``""`` when not coded); ``issues_coded`` bool (``issue_source`` not empty: False for the
        18 roll calls of the 2020-2022 extension that Voeten's data lack, where no tag does not
        mean no issue). :meth:`without_predicted_issues` drops predicted tags.
    votes : DataFrame
        One row per member and roll call: ``rcid`` int64, ``iso3`` str, ``act`` Categorical with
        categories ``ACTS``, ``session`` int64, ``date`` datetime64. Sorted by date, rcid, iso3.
    membership : DataFrame
        Columns ``session`` int64, ``iso3`` str: the members of each session (at least one vote
        cast in it), sorted.
    """

    roll_calls: pd.DataFrame
    votes: pd.DataFrame
    membership: pd.DataFrame
    _grid: _Grid = dataclasses.field(repr=False)
    #: :func:`data_sha256` of the folder the roll calls were read from (kept by subsets;
    #: None for data built in memory).
    sha256: str | None = None

    def __repr__(self) -> str:
        """Sizes and date range, not the frames."""
        if self.roll_calls.empty:
            return "RollCallData(0 roll calls)"
        first, last = self.roll_calls.date.min().date(), self.roll_calls.date.max().date()
        return (
            f"RollCallData({len(self.roll_calls)} roll calls, {len(self.votes)} member-votes, "
            f"{self.membership.iso3.nunique()} members, {first} to {last})"
        )

    def _select(self, mask: npt.NDArray[np.bool_] | pd.Series) -> RollCallData:
        roll_calls = self.roll_calls[np.asarray(mask, dtype=bool)]
        votes = self.votes[self.votes.rcid.isin(roll_calls.index)].reset_index(drop=True)
        sessions = roll_calls.session.unique()
        membership = self.membership[self.membership.session.isin(sessions)].reset_index(drop=True)
        return RollCallData(
            roll_calls, votes, membership, self._grid.subset(roll_calls.index), self.sha256
        )

    def between(self, start: object = None, end: object = None) -> RollCallData:
        """Roll calls dated in ``[start, end)``.

        Parameters
        ----------
        start, end : date-like (str ``"2011-01-01"``, Timestamp, date) or None
            Inclusive start, exclusive end; None leaves that side open.

        Returns
        -------
        RollCallData
            Absences keep their meaning: membership is still by whole session.
        """
        mask = np.ones(len(self.roll_calls), dtype=bool)
        if start is not None:
            mask &= (self.roll_calls.date >= pd.Timestamp(start)).to_numpy()
        if end is not None:
            mask &= (self.roll_calls.date < pd.Timestamp(end)).to_numpy()
        return self._select(mask)

    def with_issue(self, code: str) -> RollCallData:
        """Roll calls tagged with Voeten issue `code` (one of ``ISSUE_CODES``, e.g. ``"me"``).

        Uncoded roll calls (``issues_coded`` False) are not included; predicted tags are (call
        :meth:`without_predicted_issues` first for Voeten's coding only).
        """
        if code not in ISSUE_CODES:
            raise ValueError(f"issue code {code!r}: expected one of {', '.join(ISSUE_CODES)}")
        return self._select(self.roll_calls[code].to_numpy(dtype=bool))

    def without_predicted_issues(self) -> RollCallData:
        """The same roll calls with predicted issue tags removed (Voeten's coding only).

        Roll calls whose tags were predicted (``issue_source == "predicted"``) become uncoded:
        no tag, ``issues_coded`` False, ``issue_source`` ``""``. Votes are unchanged.
        """
        predicted = (self.roll_calls["issue_source"] == "predicted").to_numpy()
        if not predicted.any():
            return self
        roll_calls = self.roll_calls.copy()
        roll_calls.loc[predicted, list(ISSUE_CODES)] = False
        roll_calls.loc[predicted, "issues_coded"] = False
        roll_calls.loc[predicted, "issue_source"] = ""
        return RollCallData(roll_calls, self.votes, self.membership, self._grid)

    def matrix(self) -> tuple[pd.Index, pd.Index, npt.NDArray[np.int8]]:
        """Members x roll calls act codes, for estimators.

        Returns
        -------
        iso3 : Index of str, length n_members
            Sorted; only countries that are members in at least one of these roll calls' sessions.
        rcid : Index of int, length n_roll_calls
            In ``roll_calls`` order (date, then rcid).
        codes : ndarray of int8, shape (n_members, n_roll_calls), read-only
            Index into ``ACTS`` (0 yes, 1 no, 2 abstain, 3 absent), -1 where not a member.
        """
        return self._grid.iso3, self._grid.rcid, self._grid.codes

    @cached_property
    def counts(self) -> pd.DataFrame:
        """Acts per roll call: index ``rcid`` (``roll_calls`` order), one int column per act."""
        _, _, codes = self.matrix()
        table = {act: (codes == k).sum(axis=0) for k, act in enumerate(ACTS)}
        return pd.DataFrame(table, index=self._grid.rcid)


# --------------------------------------------------------------------------------------------------
# Reading and checking the files


def normalise_symbol(unres: str) -> str:
    """Resolution symbol in one format: ``R/<session>/<n>`` -> ``A/RES/<session>/<n>``.

    ``A/RES/...`` (including ``A/RES/ES-10/19``), ``ESS/...``, ``SS/...`` are kept as they are;
    an empty or missing value becomes ``""``.

    Examples
    --------
    >>> normalise_symbol("R/1/66"), normalise_symbol("")
    ('A/RES/1/66', '')
    """
    if not isinstance(unres, str):
        return ""
    text = unres.strip()
    return "A/RES/" + text[2:] if text.startswith("R/") else text


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_sha256(root: Path) -> str:
    """SHA-256 identifying the roll calls in data folder `root`: of each folder the loader reads
    (:func:`data_parts`), its name and the SHA-256 of each file read, as its ``SHA256SUMS``
    lists them (hashed here where it does not). Cheap: the large files are not read when listed,
    and :func:`load_roll_calls` checks them against those sums. Calibration bundles record it.
    """
    lines = []
    for part in data_parts(root):
        part_dir = root / part
        names = [*_REQUIRED_FILES.get(part, _EXTENSION_FILES)]
        if part not in _REQUIRED_FILES and (part_dir / "provenance.csv").is_file():
            names.append("provenance.csv")
        try:
            sums = _read_sums(part_dir / "SHA256SUMS", part_hint(part))
        except DataError:
            sums = {}
        for name in names:
            path = part_dir / name
            digest = sums.get(name) or (sha256_file(path) if path.is_file() else "missing")
            lines.append(f"{part}/{name} {digest}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _read_sums(path: Path, hint: str) -> dict[str, str]:
    if not path.is_file():
        raise DataError(f"{path}: checksum file missing; {hint} (or load with verify=False)")
    sums: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, _, name = line.strip().partition(" ")
            sums[name.strip().lstrip("*")] = digest.lower()
    return sums


def _check_files(part_dir: Path, names: tuple[str, ...], *, verify: bool) -> None:
    hint = part_hint(part_dir.name)
    for name in names:
        if not (part_dir / name).is_file():
            raise DataError(f"{part_dir / name}: file missing; {hint}")
    if not verify:
        return
    sums = _read_sums(part_dir / "SHA256SUMS", hint)
    for name in names:
        path = part_dir / name
        if name not in sums:
            raise DataError(f"{path}: not listed in {part_dir / 'SHA256SUMS'}")
        found = sha256_file(path)
        if found != sums[name]:
            raise DataError(
                f"{path}: corrupt (SHA-256 expected {sums[name]}, found {found}); {hint}"
            )


def _read_csv(path: Path, columns: list[str], **kwargs: object) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, keep_default_na=False, **kwargs)  # type: ignore[call-overload]
    except (ValueError, OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read as gzip CSV: {exc}") from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing columns {missing}; found {list(frame.columns)}")
    return frame


def _to_int(values: pd.Series, path: Path, column: str, *, nullable: bool = False) -> pd.Series:
    text = values.astype(str).str.strip()
    numbers = pd.to_numeric(text.where(text != "", None), errors="coerce")
    bad = numbers.isna() & ((text != "") | (not nullable))
    if bad.any():
        raise DataError(
            f"{path}: column {column!r} expected integers, found {sorted(set(text[bad]))[:5]!r}"
        )
    if (numbers.dropna() % 1 != 0).any():
        raise DataError(f"{path}: column {column!r} expected integers, found fractions")
    return numbers.astype("Int64" if nullable else "int64")


def _read_provenance(part_dir: Path, part: str) -> pd.DataFrame | None:
    """An extension's ``provenance.csv``: per rcid, ``voeten_rcid`` (a stripped string, ``""``
    for a roll call Voeten's data lack) and ``issue_source`` (one of ``ISSUE_SOURCES``: the
    file's own column if it has one, else ``"voeten"`` where ``voeten_rcid`` is set and ``""``
    elsewhere); None for ``unvotes/`` itself or a folder without one.
    """
    path = part_dir / "provenance.csv"
    if part == PARTS[0] or not path.is_file():
        return None
    prov = _read_csv(path, ["rcid", "voeten_rcid"], dtype=str)
    rcid = _to_int(prov.rcid, path, "rcid")
    voeten = prov.voeten_rcid.str.strip().to_numpy()
    if "issue_source" in prov.columns:
        source = prov.issue_source.str.strip().to_numpy()
        bad = sorted(set(source) - set(ISSUE_SOURCES))
        if bad:
            raise DataError(
                f"{path}: column 'issue_source' expected one of {ISSUE_SOURCES!r}; found {bad!r}"
            )
    else:
        source = np.where(voeten != "", "voeten", "")
    return pd.DataFrame(
        {"voeten_rcid": voeten, "issue_source": source}, index=pd.Index(rcid, name="rcid")
    )


def _read_roll_calls(part_dir: Path, provenance: pd.DataFrame | None) -> pd.DataFrame:
    path = part_dir / "roll_calls.csv.gz"
    cols = ["rcid", "session", "importantvote", "date", "unres", "amend", "para", "short", "descr"]
    raw = _read_csv(path, cols, dtype=str)
    rcid = _to_int(raw.rcid, path, "rcid")
    if rcid.duplicated().any():
        raise DataError(f"{path}: duplicate rcid {sorted(set(rcid[rcid.duplicated()]))[:5]}")
    try:
        date = pd.to_datetime(raw.date, format="%Y-%m-%d")
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: column 'date' expected YYYY-MM-DD: {exc}") from exc
    amend = _to_int(raw.amend, path, "amend", nullable=True)
    para = _to_int(raw.para, path, "para", nullable=True)
    frame = pd.DataFrame(
        {
            "session": _to_int(raw.session, path, "session").to_numpy(),
            "date": date.to_numpy(),
            "symbol": [normalise_symbol(u) for u in raw.unres],
            "title": raw.short.astype(str).to_numpy(),
            "descr": raw.descr.astype(str).to_numpy(),
            "importantvote": _to_int(raw.importantvote, path, "importantvote", nullable=True).array,
            "partial": ((amend == 1) | (para == 1)).fillna(False).astype(bool).to_numpy(),
        },
        index=pd.Index(rcid.to_numpy(), name="rcid"),
    )

    issues_path = part_dir / "issues.csv.gz"
    issues = _read_csv(issues_path, ["rcid", "short_name"], dtype=str)
    issues_rcid = _to_int(issues.rcid, issues_path, "rcid")
    unknown_codes = sorted(set(issues.short_name) - set(ISSUE_CODES))
    if unknown_codes:
        raise DataError(f"{issues_path}: unknown issue codes {unknown_codes!r}")
    orphans = sorted(set(issues_rcid) - set(frame.index))
    if orphans:
        raise DataError(f"{issues_path}: rcid not in roll_calls.csv.gz: {orphans[:5]}")
    for code in ISSUE_CODES:
        frame[code] = frame.index.isin(issues_rcid[issues.short_name == code].to_numpy())

    if provenance is None:
        # Voeten's own roll calls, and those of a later extension without a provenance file,
        # were all coded: an untagged one is on none of the issues.
        frame["issue_source"] = "voeten"
    else:
        # Roll calls absent from Voeten's data (empty voeten_rcid) carry no tags unless their
        # tags were predicted (issue_source "predicted", sim.estimate.issue_codes): not coded.
        if set(provenance.index) != set(frame.index):
            raise DataError(f"{part_dir / 'provenance.csv'}: rcids differ from roll_calls.csv.gz")
        frame["issue_source"] = provenance.issue_source.reindex(frame.index).to_numpy()
    frame["issues_coded"] = (frame["issue_source"] != "").to_numpy()
    return frame


def _read_votes(part_dir: Path, rcids: pd.Index) -> tuple[pd.DataFrame, npt.NDArray[np.str_]]:
    """Votes of one part: (frame with rcid and act code, iso3 per row)."""
    path = part_dir / "votes.csv.gz"
    cols = ["rcid", "country", "country_code", "vote"]
    dtypes = {"rcid": str, "country": "category", "country_code": "category", "vote": "category"}
    raw = _read_csv(path, cols, dtype=dtypes)
    try:
        rcid = raw.rcid.astype("int64")
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: column 'rcid' expected integers: {exc}") from exc

    bad_votes = sorted(set(raw.vote.cat.categories) - set(VOTES))
    if bad_votes:
        first = raw[raw.vote.isin(bad_votes)].iloc[0]
        raise DataError(
            f"{path}: column 'vote' expected one of {', '.join(VOTES)}; found {bad_votes!r} "
            f"(first at rcid {first.rcid}, {first.country})"
        )
    act = np.asarray(
        pd.Categorical(raw.vote, categories=list(ACTS)).codes, dtype=np.int8
    )  # vote values are a subset of ACTS, so no -1 here

    orphans = ~rcid.isin(rcids)
    if orphans.any():
        raise DataError(
            f"{path}: rcid not in roll_calls.csv.gz: {sorted(set(rcid[orphans]))[:5]} "
            f"({int(orphans.sum())} rows)"
        )

    # iso3 of each (code, country) pair, looked up by the pair's category codes.
    code_cats, country_cats = raw.country_code.cat.categories, raw.country.cat.categories
    code_i = raw.country_code.cat.codes.to_numpy(np.intp)
    country_i = raw.country.cat.codes.to_numpy(np.intp)
    table = np.full((len(code_cats), len(country_cats)), "", dtype="U3")
    for i, j in set(zip(code_i.tolist(), country_i.tolist(), strict=True)):
        try:
            table[i, j] = to_iso3(str(code_cats[i]), str(country_cats[j]))
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from exc
    iso3 = table[code_i, country_i]
    return pd.DataFrame({"rcid": rcid.to_numpy(), "act": act}), iso3


ADOPTED_SUFFIX = re.compile(r"\s*:\s*resolution\s*/\s*adopted by the general assembly.*$", re.I)


def resolution_text(title: pd.Series, descr: pd.Series) -> pd.Series:
    """The resolution's own title, normalised, as a key for "the same text" across sessions.

    Voeten's ``short`` title is a generic subject heading ("PALESTINE QUESTION") or empty in
    sessions 66-70, carries " : resolution / adopted by the General Assembly" in 71-73 and is
    plain from 74 on; ``descr`` holds the real title in 66-71. The key is the first field
    holding "<title> : resolution / adopted ..." (with that suffix cut), else a title that is
    not an all-capitals heading, else empty; then stripped, white space collapsed, trailing
    full stops dropped and case-folded.

    Examples
    --------
    >>> t = pd.Series(["PALESTINE QUESTION", "Jerusalem : resolution / adopted by the General "
    ...                "Assembly", "Jerusalem "])
    >>> d = pd.Series(["Jerusalem : resolution / adopted by the General Assembly", "", ""])
    >>> resolution_text(t, d).tolist()
    ['jerusalem', 'jerusalem', 'jerusalem']
    """
    out = []
    for t, d in zip(title.fillna("").astype(str), descr.fillna("").astype(str), strict=True):
        text = ""
        for field in (t, d):
            if ADOPTED_SUFFIX.search(field):
                text = ADOPTED_SUFFIX.sub("", field)
                break
        else:
            if t.strip() and t.strip() != t.strip().upper():
                text = t
        out.append(" ".join(text.split()).rstrip(" .").casefold())
    return pd.Series(out, index=title.index, dtype=object)


@functools.lru_cache(maxsize=8)
def _load_cached(root: Path, parts: tuple[str, ...], verify: bool, _stamp: object) -> RollCallData:
    roll_call_frames, vote_frames, iso_arrays = [], [], []
    for part in parts:
        part_dir = root / part
        _check_files(part_dir, _REQUIRED_FILES.get(part, _EXTENSION_FILES), verify=verify)
        provenance = _read_provenance(part_dir, part)
        rc = _read_roll_calls(part_dir, provenance)
        loaded = pd.Index([i for f in roll_call_frames for i in f.index])
        clash = rc.index.intersection(loaded)
        if len(clash):
            raise DataError(f"{part_dir}: rcids {list(clash[:5])} also in another folder")
        votes, iso3 = _read_votes(part_dir, rc.index)
        # An extension's roll call that Voeten's data (a newer unvotes/) already holds, by its
        # provenance's voeten_rcid, is read from unvotes/ only: never counted twice.
        twice = pd.Index([], dtype="int64")
        if provenance is not None:
            voeten = pd.to_numeric(provenance.voeten_rcid, errors="coerce")
            twice = provenance.index[voeten.isin(loaded).to_numpy()]
        if len(twice):
            rc = rc.drop(twice)
            keep = ~np.isin(votes.rcid.to_numpy(), twice.to_numpy())
            votes, iso3 = votes[keep].reset_index(drop=True), iso3[keep]
        roll_call_frames.append(rc)
        vote_frames.append(votes)
        iso_arrays.append(iso3)
    roll_calls = pd.concat(roll_call_frames).sort_values(["date", "rcid"], kind="mergesort")
    roll_calls["text"] = resolution_text(roll_calls["title"], roll_calls["descr"])
    cast = pd.concat(vote_frames, ignore_index=True)
    cast_iso3 = np.concatenate(iso_arrays)

    # Grid: rows = roll calls in (date, rcid) order, columns = sorted iso3.
    members, col = np.unique(cast_iso3, return_inverse=True)
    row = roll_calls.index.get_indexer(cast.rcid.to_numpy())
    sessions, session_of_row = np.unique(roll_calls.session.to_numpy(), return_inverse=True)
    session_of_vote = session_of_row[row]
    member_of_session = np.zeros((len(sessions), len(members)), dtype=bool)
    member_of_session[session_of_vote, col] = True

    codes = np.where(member_of_session[session_of_row], np.int8(ABSENT), np.int8(-1))
    codes = codes.astype(np.int8)
    seen = np.bincount(row * len(members) + col, minlength=codes.size)
    if seen.max(initial=0) > 1:
        r, c = np.divmod(np.flatnonzero(seen > 1), len(members))
        pairs = zip(r[:5], c[:5], strict=True)
        dups = [f"rcid {roll_calls.index[i]} {members[j]}" for i, j in pairs]
        raise DataError(f"{root}: more than one vote row for {', '.join(dups)}")
    codes[row, col] = cast.act.to_numpy()

    r, c = np.nonzero(codes >= 0)
    votes = pd.DataFrame(
        {
            "rcid": roll_calls.index.to_numpy(np.int64)[r],
            "iso3": pd.array(members[c], dtype="str"),
            "act": pd.Categorical.from_codes(codes[r, c], categories=list(ACTS)),
            "session": roll_calls.session.to_numpy(np.int64)[r],
            "date": roll_calls.date.to_numpy()[r],
        }
    )
    s, m = np.nonzero(member_of_session)
    membership = pd.DataFrame(
        {"session": sessions[s].astype(np.int64), "iso3": pd.array(members[m], dtype="str")}
    )
    grid_codes = np.ascontiguousarray(codes.T)
    grid_codes.flags.writeable = False
    grid = _Grid(pd.Index(members, dtype="str", name="iso3"), roll_calls.index.copy(), grid_codes)
    return RollCallData(roll_calls, votes, membership, grid)


def load_roll_calls(data_dir: str | Path | None = None, *, verify: bool = True) -> RollCallData:
    """Load the roll calls and infer absences.

    Parameters
    ----------
    data_dir : str or Path, optional
        Folder containing ``unvotes/`` and optionally ``unvotes_2020_2022/`` and later
        extensions (:func:`data_parts`); see :func:`resolve_data_dir` for the default.
    verify : bool, default True
        Check every file read against its folder's ``SHA256SUMS``.

    Returns
    -------
    RollCallData
        The folders concatenated. Parsed once per process for each folder (and file state):
        later calls return the cached frames.

    Raises
    ------
    DataError
        A missing or corrupt file (named, with expected and found hash and how to fetch), a vote
        other than yes/no/abstain, a vote on an unknown rcid, an unknown country code.
    """
    root = resolve_data_dir(data_dir)
    parts = data_parts(root)
    stamp = []
    for part in parts:
        for name in (*_REQUIRED_FILES.get(part, _EXTENSION_FILES), "provenance.csv", "SHA256SUMS"):
            try:
                st = (root / part / name).stat()
                stamp.append((part, name, st.st_size, st.st_mtime_ns, st.st_ino))
            except OSError:
                stamp.append((part, name, None, None, None))
    cached = _load_cached(root, parts, verify, tuple(stamp))
    return RollCallData(
        cached.roll_calls.copy(deep=False),
        cached.votes.copy(deep=False),
        cached.membership.copy(deep=False),
        cached._grid,
        data_sha256(root),
    )


# --------------------------------------------------------------------------------------------------
# Download and convert (`sim data fetch`)


def _download(url: str, target: Path, expected: str | None, *, progress: bool) -> None:
    """Download `url` to `target` atomically, checking SHA-256 `expected` (None: no check)."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https", "file"):
        raise DataError(f"{url}: unsupported URL scheme {scheme!r}")
    if progress:
        print(f"downloading {url}", file=sys.stderr)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (checked)
                    for block in iter(lambda: response.read(1 << 16), b""):
                        digest.update(block)
                        out.write(block)
            except (urllib.error.URLError, OSError) as exc:
                raise DataError(
                    f"{url}: download failed ({exc}); check the network, set SIM_DATA_URL to a "
                    "mirror, or pass --data-dir to a local copy"
                ) from exc
        found = digest.hexdigest()
        if expected is not None and found != expected.lower():
            raise DataError(
                f"{url}: SHA-256 mismatch for {target.name} (expected {expected}, found {found}); "
                "the download was deleted"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_csv_gz(frame: pd.DataFrame, path: Path) -> None:
    """Deterministic gzip CSV, byte for byte as build_unvotes.py writes it."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n")
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(buf.getvalue().encode("utf-8"))


def convert_rda(rda_dir: Path, out_dir: Path) -> dict[str, str]:
    """Convert the three ``.rda`` files to ``votes/roll_calls/issues.csv.gz`` as build_unvotes.py.

    Parameters
    ----------
    rda_dir : Path
        Holds ``un_votes.rda``, ``un_roll_calls.rda``, ``un_roll_call_issues.rda``.
    out_dir : Path
        Created if needed; the three CSVs are written there.

    Returns
    -------
    dict
        File name -> SHA-256 of the written CSVs.
    """
    import pyreadr  # slow import, only needed here

    def read(name: str) -> pd.DataFrame:
        path = rda_dir / f"{name}.rda"
        try:
            return pyreadr.read_r(str(path))[name]
        except (pyreadr.custom_errors.PyreadrError, KeyError, OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot read R data frame {name!r}: {exc}") from exc

    votes, rc, iss = read("un_votes"), read("un_roll_calls"), read("un_roll_call_issues")
    try:
        rc = rc.assign(
            rcid=rc.rcid.astype("int64"),
            session=rc.session.astype("int64"),
            date=pd.to_datetime(rc.date),
        )
        for c in ("importantvote", "amend", "para"):
            rc[c] = pd.to_numeric(rc[c]).astype("Int64")
        votes = votes.assign(rcid=votes.rcid.astype("int64"), vote=votes.vote.astype(str))
        iss = iss.assign(rcid=iss.rcid.astype("int64"), issue=iss.issue.astype(str))
    except (AttributeError, KeyError, ValueError, TypeError) as exc:
        raise DataError(f"{rda_dir}: unexpected columns or types in the .rda files: {exc}") from exc

    # Holdout protection, as in build_unvotes.py: nothing on/after 2022-09-01 or in session >= 77.
    hold = (rc.date >= _HOLDOUT_START) | (rc.session >= _HOLDOUT_SESSION)
    dropped = set(rc.rcid[hold])
    rc = rc[~hold]
    votes = votes[~votes.rcid.isin(dropped)]
    iss = iss[~iss.rcid.isin(dropped)]
    if not (set(votes.rcid) <= set(rc.rcid) and set(iss.rcid) <= set(rc.rcid)):
        raise DataError(f"{rda_dir}: votes or issues refer to roll calls not in un_roll_calls")

    rc = rc.sort_values("rcid", kind="mergesort").reset_index(drop=True)
    rc["date"] = rc.date.dt.strftime("%Y-%m-%d")
    votes = votes.sort_values(
        ["rcid", "country_code", "country"], na_position="last", kind="mergesort"
    ).reset_index(drop=True)
    iss = iss.sort_values(["rcid", "short_name"], kind="mergesort").reset_index(drop=True)

    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv_gz(votes[["rcid", "country", "country_code", "vote"]], out_dir / "votes.csv.gz")
    rc_cols = ["rcid", "session", "importantvote", "date", "unres", "amend", "para", "short"]
    write_csv_gz(rc[[*rc_cols, "descr"]], out_dir / "roll_calls.csv.gz")
    write_csv_gz(iss[["rcid", "short_name", "issue"]], out_dir / "issues.csv.gz")
    return {name: sha256_file(out_dir / name) for name in _REQUIRED_FILES["unvotes"]}


def fetch(
    dest: Path | None = None,
    *,
    base_url: str | None = None,
    progress: bool = False,
    expected_sha256: Mapping[str, str] | None = None,
    verify_converted: bool = True,
) -> Path:
    """Download the ``unvotes`` .rda files, verify them and convert them to ``<dest>/unvotes/``.

    Provides 1946-01-01 to 2020-01-14 only (Voeten's data via the R package): the 2020-2022
    extension of ``shared/data`` cannot be fetched, since its raw sources also hold held-out votes.

    Parameters
    ----------
    dest : Path, optional
        Data folder to fill; default :func:`default_cache_dir` (where :func:`resolve_data_dir`
        looks last). The raw files go to ``<dest>/rda/`` (kept, and not downloaded again while
        their hash matches), the CSVs and ``SHA256SUMS`` to ``<dest>/unvotes/``.
    base_url : str, optional
        Folder URL holding the .rda files; default the environment variable ``SIM_DATA_URL``, else
        ``DEFAULT_BASE_URL`` (the R package on GitHub at commit ``UNVOTES_COMMIT``).
    progress : bool, default False
        Print one line per download to stderr.
    expected_sha256 : Mapping[str, str], optional
        File name -> SHA-256 of the .rda files; default ``RDA_SHA256`` (the README's table).
    verify_converted : bool, default True
        Check the converted CSVs against ``UNVOTES_CSV_SHA256`` (the shared ``SHA256SUMS``).

    Returns
    -------
    Path
        `dest`, ready for :func:`load_roll_calls`.

    Raises
    ------
    DataError
        A failed download, a hash mismatch (the file is deleted; ``unvotes/`` is left as it was),
        or a conversion that does not reproduce the published CSVs.
    """
    dest = Path(dest) if dest is not None else default_cache_dir()
    base = base_url or os.environ.get("SIM_DATA_URL") or DEFAULT_BASE_URL
    expected = dict(RDA_SHA256 if expected_sha256 is None else expected_sha256)
    rda_dir = dest / "rda"
    rda_dir.mkdir(parents=True, exist_ok=True)
    for name in RDA_SHA256:
        target = rda_dir / name
        want = expected.get(name)
        if target.is_file() and want is not None and sha256_file(target) == want.lower():
            continue
        _download(f"{base.rstrip('/')}/{name}", target, want, progress=progress)

    staging = Path(tempfile.mkdtemp(dir=dest, prefix=".unvotes-"))
    try:
        hashes = convert_rda(rda_dir, staging)
        if verify_converted:
            wrong = {n: h for n, h in hashes.items() if h != UNVOTES_CSV_SHA256[n]}
            if wrong:
                detail = "; ".join(
                    f"{n}: expected {UNVOTES_CSV_SHA256[n]}, found {h}" for n, h in wrong.items()
                )
                raise DataError(
                    f"converted CSVs differ from the published ones ({detail}); the pandas or "
                    "pyreadr version may write differently: use shared/data or report it"
                )
        sums = "".join(f"{h}  {n}\n" for n, h in hashes.items())
        (staging / "SHA256SUMS").write_text(sums, encoding="utf-8")
        final = dest / "unvotes"
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(dir=dest, prefix=".unvotes-old-"))
            os.replace(final, old / "unvotes")
        os.replace(staging, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return dest
