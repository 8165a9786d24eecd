"""``sim data fetch --source un-library``: bring the record up to date from the UN Library's data.

Wires the layers: download and check the Library's CSV (:mod:`sim.io.un_library`), load the
record it extends (:func:`sim.io.data.load_roll_calls`), keep the roll calls the record lacks,
predict their issue codes (:mod:`sim.estimate.issue_codes`) and write them as an extension folder
beside ``unvotes/``, which the loader then reads with the rest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import urllib.parse
from pathlib import Path

import pandas as pd

from sim.estimate.issue_codes import fit_issue_codes, record_texts, roll_call_text
from sim.io.data import ISSUE_CODES, PARTS, RollCallData, default_cache_dir, load_roll_calls
from sim.io.errors import DataError
from sim.io.un_library import (
    DEFAULT_URL,
    URL_ENV,
    build_extension,
    download,
    match_record,
    read_library_csv,
    write_extension,
)

__all__ = ["FIRST_RCID", "FetchReport", "fetch_un_library", "issue_training_set"]

#: rcids of the Library's roll calls start above this (and above any rcid already loaded):
#: Voeten's are below 10,000, the 2020-2022 extension's 100001-100188.
FIRST_RCID = 200_000


@dataclasses.dataclass(frozen=True)
class FetchReport:
    """What a fetch added.

    Attributes
    ----------
    folder : Path or None
        The extension folder written; None when the record already held every roll call.
    source : Path
        The downloaded file.
    in_file : int
        Roll calls in the file with per-member votes.
    added : int
        Roll calls added.
    first, last : Timestamp or None
        Dates of the first and last roll call added.
    members : int
        Members with a vote cast on an added roll call.
    already : dict
        Roll calls the record already held, by matching rule (:func:`sim.io.un_library.
        match_record`).
    after_until : int
        Roll calls dated on or after ``until``, left out.
    no_votes : int
        Roll calls in the file without any member's vote, left out.
    unknown_members : dict
        Member codes not known to :func:`sim.io.un_library.library_iso3` (-> the file's name),
        when they vote on roll calls the record lacks; those roll calls are left out.
    unknown_left_out : int
        How many roll calls that left out.
    issue_scores : DataFrame or None
        Held-out scores of the issue-code classifiers (:func:`sim.estimate.issue_codes.
        fit_issue_codes`); None when nothing was added.
    """

    folder: Path | None
    source: Path
    in_file: int
    added: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    members: int
    already: dict[str, int]
    after_until: int
    no_votes: int
    unknown_members: dict[str, str]
    unknown_left_out: int
    issue_scores: pd.DataFrame | None


def _file_name(url: str) -> str:
    name = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    return name or "ga_voting.csv"


def issue_training_set(
    record: RollCallData,
    library: pd.DataFrame | None = None,
    matches: pd.DataFrame | None = None,
) -> tuple[list[str], pd.DataFrame]:
    """Texts and Voeten's tags of the roll calls he coded, in date order, to train on.

    A roll call the Library also holds (`matches`) is described by the Library's words (title,
    agenda title, subjects), as the roll calls to tag will be; the others by the record's title
    and description. Roll calls without any words are left out.

    Parameters
    ----------
    record : RollCallData
        The loaded record.
    library : DataFrame, optional
        :attr:`sim.io.un_library.LibraryRecord.roll_calls`.
    matches : DataFrame, optional
        :func:`sim.io.un_library.match_record` of `library` against `record`.

    Returns
    -------
    texts : list of str
    labels : DataFrame
        One bool column per code of ``ISSUE_CODES``, index rcid, rows aligned with `texts`.
    """
    rc = record.roll_calls
    coded = rc.index[(rc.issue_source == "voeten").to_numpy()]
    own = record_texts(record)
    words: dict[int, str] = {}
    if library is not None and matches is not None:
        for rcid, row in zip(matches.rcid, library.itertuples(), strict=True):
            if rcid is not pd.NA:
                words.setdefault(
                    int(rcid), roll_call_text(row.title, row.agenda_title, row.subjects)
                )
    texts = [words.get(int(i), own[i]) for i in coded]
    keep = [bool(t.strip()) for t in texts]
    labels = rc.loc[coded[keep], list(ISSUE_CODES)].astype(bool)
    return [t for t, k in zip(texts, keep, strict=True) if k], labels


def fetch_un_library(
    dest: Path | None = None,
    *,
    url: str | None = None,
    until: str | pd.Timestamp | None = None,
    progress: bool = False,
    seed: int = 0,
) -> FetchReport:
    """Download the Library's voting data and add what the record lacks as an extension folder.

    Parameters
    ----------
    dest : Path, optional
        The data folder to extend (it must hold ``unvotes/``: run ``sim data fetch`` first);
        default :func:`sim.io.data.default_cache_dir`, the user cache the loader reads. The
        download goes to ``<dest>/un-library/`` (kept; an interrupted one resumes), the
        extension to ``<dest>/unvotes_<first>_<last>/``.
    url : str, optional
        The CSV's URL; default the environment variable ``SIM_UN_LIBRARY_URL``, else
        ``DEFAULT_URL``.
    until : date-like, optional
        Leave out roll calls dated on or after it (e.g. ``"2022-09-01"`` keeps the votes the
        project's validation holds out out of the record).
    progress : bool, default False
        A download bar on stderr (on a terminal).
    seed : int, default 0
        Seed of the issue-code classifiers.

    Returns
    -------
    FetchReport

    Raises
    ------
    DataError
        No record to extend, no network (one line), a corrupt, truncated or wrongly-totalled
        file (named; the download is deleted and nothing is written), or an extension folder of
        the same name already there.
    """
    dest = Path(dest) if dest is not None else default_cache_dir()
    if not (dest / PARTS[0]).is_dir():
        raise DataError(
            f"{dest}: no {PARTS[0]}/ folder to extend; run `sim data fetch` (Voeten's data) "
            "first, or pass --dest to a data folder holding it"
        )
    url = url or os.environ.get(URL_ENV) or DEFAULT_URL
    folder = dest / "un-library"
    made = not folder.exists()
    target = download(url, folder / _file_name(url), progress=progress)
    try:
        library = read_library_csv(target)
    except DataError:
        target.unlink(missing_ok=True)  # refused: keep nothing of it
        if made:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    record = load_roll_calls(dest)

    roll_calls = library.roll_calls
    after = pd.Series(False, index=roll_calls.index)
    if until is not None:
        after = roll_calls.date >= pd.Timestamp(until)
    matches = match_record(roll_calls, record)
    already = {
        rule: int((matches.rule == rule).sum()) for rule in ("symbol+date", "symbol", "date+counts")
    }
    lacking = (matches.rule == "").to_numpy() & ~after.to_numpy()
    unknown = roll_calls.index.isin(library.unmapped()) & lacking
    new = roll_calls.index[lacking & ~unknown]
    odd = library.votes[library.votes.iso3 == ""]
    base = dict(
        source=target,
        in_file=len(roll_calls),
        already=already,
        after_until=int(after.sum()),
        no_votes=library.no_votes,
        unknown_members={
            code: library.unknown_members[code]
            for code in sorted(set(odd.ms_code[odd.undl_id.isin(roll_calls.index[unknown])]))
        },
        unknown_left_out=int(unknown.sum()),
    )
    if len(new) == 0:
        return FetchReport(None, added=0, first=None, last=None, members=0, issue_scores=None,
                           **base)  # fmt: skip

    texts, labels = issue_training_set(record, roll_calls, matches)
    classifier = fit_issue_codes(texts, labels, seed=seed)
    added = roll_calls.loc[new]
    tags = classifier.predict(
        [roll_call_text(r.title, r.agenda_title, r.subjects) for r in added.itertuples()]
    )
    tags.index = added.index

    first_rcid = max(FIRST_RCID, int(record.roll_calls.index.max())) + 1
    extension = build_extension(library, new, first_rcid=first_rcid, tags=tags)
    folder = write_extension(extension, dest)
    return FetchReport(
        folder,
        added=len(new),
        first=pd.Timestamp(added.date.min()),
        last=pd.Timestamp(added.date.max()),
        members=extension.members,
        issue_scores=classifier.scores,
        **base,
    )
