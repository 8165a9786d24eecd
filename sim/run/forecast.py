"""Forecast a future recorded vote on the same agenda item as a roll call in the data.

``sim forecast --like A/RES/76/82 --date 2022-12-09`` asks: on that date, how will each member of
the UN vote on this agenda item's next resolution? The answer is a replay with no pressure beyond
what the record shows: the calibration of the ``years`` before the date (as far as the data
reach), the item of the ``like`` roll call, and each member's own act on it as its previous public
act (the text shock and reversal costs of :mod:`sim.core.persistence`), strategic absence and group
shocks. The output has the replay's format (``members.csv`` first).

A vote on another text about the same question (a new resolution "like" an earlier one) is
``new_text``: the item is uncertain around the earlier one's and members' acts on it count as
positions on another text. A batch (:func:`forecast_batch`) fits each dimension once and reuses
it for every row.

With ``realign`` (the default), each member's position on the text's issue group is moved by
its realignment at the window's end (:func:`sim.estimate.realign.fit_realignment`: a random
walk of its offset over the window's sessions), as ``sim validate`` scores it; the offset's
posterior sd is added to the ideal point's in quadrature.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.absence import carry_presence
from sim.core.acts import DIMENSIONS, ISSUE_CODES
from sim.core.seeds import DEFAULT_SEED
from sim.core.threads import single_blas_thread
from sim.estimate.realign import Realignment, fit_realignment, text_group
from sim.estimate.titles import loose_titles, text_keys
from sim.estimate.validate import held_out_tremble
from sim.estimate.window import (
    WindowFit,
    bundle_from_fit,
    find_roll_call,
    fit_window,
    session_of,
    title_item,
)
from sim.io.bundles import bundle_from_frames
from sim.io.errors import DataError, ScenarioError
from sim.io.registry import load_members
from sim.io.scenario import parse_scenario
from sim.run.replay import ReplayResult, replay

__all__ = ["Forecaster", "check_members", "forecast_batch", "read_batch"]

#: Issue dimensions in the order they are preferred when a roll call carries several tags.


@dataclass
class Forecaster:
    """Forecasts from one roll-call record, caching the fits per dimension and window.

    Parameters
    ----------
    data : RollCallData
        The roll calls (:func:`sim.io.data.load_roll_calls`).
    years : int
        Calibration window: the years before the forecast date, as far as the data reach.
    dimension : str
        ``"all"`` (default: every roll call, which forecast repeated votes better than the
        issue's own roll calls in the rolling-origin tests), ``"auto"`` (the like roll call's
        issue tag, else ``"all"``) or an issue code.
    dynamic : bool
        Ideal points that move over sessions, projected to the forecast's session.
    realign : bool
        Move each member's position on the text's issue group by its realignment at the
        window's end (module docstring); False: the window's one position per member.
    """

    data: Any
    years: int = 10
    dimension: str = "all"
    dynamic: bool = False
    realign: bool = True
    _fits: dict[tuple[str, str, str, int | None], WindowFit] = field(
        default_factory=dict, repr=False
    )
    _realignments: dict[int, Realignment] = field(default_factory=dict, repr=False)
    _trembles: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict, repr=False)

    def roll_call(self, like: str) -> tuple[int, pd.Series]:
        """The roll call `like` names (``A/RES/..`` or ``rcid:N``), whole-text vote preferred."""
        rcid = find_roll_call(self.data, like, f"--like {like}")
        return rcid, self.data.roll_calls.loc[rcid]

    def dimension_for(self, row: pd.Series) -> str:
        """The dimension a forecast like `row` uses."""
        return self.dimension if self.dimension != "auto" else text_group(row)

    def window(self, date: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
        """``[end - years, end)``, where `end` is the date or the day after the data end."""
        last = pd.Timestamp(self.data.roll_calls["date"].max()) + pd.Timedelta(days=1)
        end = min(pd.Timestamp(date), last)
        return end - pd.DateOffset(years=self.years), end

    def fit(self, dimension: str, date: dt.date) -> WindowFit:
        """The (cached) fit for `dimension` and the window of `date`."""
        start, end = self.window(date)
        on = session_of(date) if self.dynamic else None
        key = (dimension, start.isoformat(), end.isoformat(), on)
        if key not in self._fits:
            self._fits[key] = fit_window(
                self.data, start=start, end=end, dimension=dimension, dynamic=self.dynamic,
                on=date,
            )  # fmt: skip
        return self._fits[key]

    def realignment(self, fit: WindowFit) -> Realignment:
        """The (cached) realignment of `fit`, one of this forecaster's fits."""
        if id(fit) not in self._realignments:  # the fit is kept in _fits: its id stays its own
            self._realignments[id(fit)] = fit_realignment(fit)
        return self._realignments[id(fit)]

    def realigned(self, fit: WindowFit, members: pd.DataFrame, group: str) -> pd.DataFrame:
        """`members` (a bundle's table, by iso3) with each member's ideal point moved by its
        realignment on `group` in `fit`'s window, the offset's sd added in quadrature to the
        ideal point's; `members` itself without ``realign``.
        """
        if not self.realign:
            return members
        moved = self.realignment(fit)
        if group not in moved.offset.columns:
            return members
        out = members.copy()
        out["ideal_point"] = moved.ideal_points(members["ideal_point"], group)
        sd = moved.offset_sd[group].reindex(members.index).fillna(0.0).to_numpy()
        out["ideal_point_se"] = np.hypot(members["ideal_point_se"].to_numpy(float), sd)
        return out

    def tremble(self, dimension: str, date: dt.date) -> dict[str, Any]:
        """The (cached) tremble for forecasts on `dimension` from the window of `date`: measured
        on the last complete year before the window's end, predicted from the years before it.
        """
        _, end = self.window(date)
        year = (end - pd.Timedelta(days=1)).year - 1
        key = (dimension, year)
        if key not in self._trembles:
            self._trembles[key] = held_out_tremble(
                self.data, year=year, window=self.years, dimension=dimension,
                dynamic=self.dynamic, realign=self.realign,
            )  # fmt: skip
        return self._trembles[key]

    @single_blas_thread
    def forecast(
        self,
        like: str,
        date: dt.date | str,
        *,
        new_text: bool = False,
        n_draws: int = 1000,
        seed: int = DEFAULT_SEED,
        focal: Sequence[str] = (),
        no_vote: Sequence[str] = (),
    ) -> ReplayResult:
        """Forecast the vote on `like`'s agenda item on `date` for the members on that date.

        With `new_text`, the vote is on another text about the same question: its item sits
        around `like`'s by the spread of the window's new texts, and each member's act on
        `like` counts as its earlier position on another text (``[item] new_text``, ``[previous]
        same_text = false`` of a scenario file). Members in `no_vote` have lost their vote
        (Charter Art. 19, as the forecaster knows it): absent with probability 1.
        """
        date = pd.Timestamp(date).date()
        # The scenario's focal line and members' sections: a bad code fails before the fit.
        focal_line, no_vote_sections = _focal_line(focal, date), _no_vote_sections(no_vote, date)
        rcid, row = self.roll_call(like)
        if pd.Timestamp(row["date"]).date() >= date:
            raise DataError(
                f"--date {date}: must be after the like roll call ({row['date'].date()})"
            )
        dimension = self.dimension_for(row)
        fit = self.fit(dimension, date)
        ref = f"rcid:{rcid}"
        members, meta = bundle_from_fit(
            fit, like=ref, previous=ref, name="forecast", where=f"--like {like}",
            data_sha256=getattr(self.data, "sha256", None),
        )  # fmt: skip
        members = self.realigned(fit, members, text_group(row))
        if session_of(date) > int(row["session"]) and fit.presence_carryover:
            # A later session's vote: its attendance effect is not the earlier vote's, only
            # correlated with it (sim.estimate.participation.fit_presence_carryover).
            item = meta["item"]
            item["presence"], item["presence_se"] = carry_presence(
                item["presence"], item["presence_se"], fit.presence_carryover
            )
        meta["tremble"] = self.tremble(dimension, date)
        scenario = parse_scenario(
            _scenario_toml(row, rcid, date, dimension, self.years, new_text=new_text,
                           focal=focal_line, members=no_vote_sections)
        )  # fmt: skip
        return replay(
            scenario, n_draws=n_draws, seed=seed, calibration=bundle_from_frames(members, meta)
        )

    def same_text(self, title: str, date: dt.date | str) -> int | None:
        """The last whole-text roll call before `date` whose title is `title` (case,
        punctuation, spacing and the UN library's ": resolution / adopted by the General
        Assembly" aside: :func:`sim.estimate.titles.loose_titles`), or None.
        """
        rc = self.data.roll_calls
        text = loose_titles(text_keys(rc))
        key = loose_titles(pd.Series([title])).iloc[0]
        hit = (text == key) & (rc["date"] < pd.Timestamp(date))
        if "partial" in rc.columns:
            hit &= ~rc["partial"].astype(bool)
        if not key or not hit.any():
            return None
        return int(rc.loc[hit].sort_values("date", kind="stable").index[-1])

    @single_blas_thread
    def forecast_title(
        self,
        title: str,
        date: dt.date | str,
        *,
        issue: str = "all",
        n_draws: int = 1000,
        seed: int = DEFAULT_SEED,
        focal: Sequence[str] = (),
        no_vote: Sequence[str] = (),
    ) -> ReplayResult:
        """Forecast the vote on a resolution known only by its title, on `date`.

        A title voted before (case, punctuation and spacing aside) whose last vote is in the
        calibration window is that text's next vote (:meth:`forecast` like it). Any other title
        is a new text: every parameter draw takes its item from one of the window's first votes
        of texts, drawn with weights that grow with how alike the titles are (``[item] by_title``,
        :mod:`sim.estimate.titles`), `issue`'s first votes only if given: the predictive ``sim
        validate`` scores for new texts.
        """
        date = pd.Timestamp(date).date()
        # The scenario's focal line and members' sections: a bad code fails before the fit.
        focal_line, no_vote_sections = _focal_line(focal, date), _no_vote_sections(no_vote, date)
        if not str(title).strip():
            raise ScenarioError("--title: expected the resolution's title; got an empty one")
        dimension = self.dimension if self.dimension not in ("auto",) else issue
        fit = self.fit(dimension, date)
        rcid = self.same_text(title, date)
        if rcid is not None and rcid in fit.est.items_.index:
            return self.forecast(
                f"rcid:{rcid}", date, n_draws=n_draws, seed=seed, focal=focal, no_vote=no_vote
            )

        mixture = title_item(fit, self.data, title, issue=issue)
        members, meta = bundle_from_fit(
            fit, like=None, by_title=mixture, previous=None, name="forecast",
            where=f"--title {title!r}", data_sha256=getattr(self.data, "sha256", None),
        )  # fmt: skip
        members = self.realigned(fit, members, issue if issue in ISSUE_CODES else "all")
        meta["tremble"] = self.tremble(dimension, date)
        scenario = parse_scenario(
            _title_scenario_toml(title, date, dimension, issue, self.years,
                                 focal=focal_line, members=no_vote_sections)
        )  # fmt: skip
        return replay(
            scenario, n_draws=n_draws, seed=seed, calibration=bundle_from_frames(members, meta)
        )


def _focal_line(focal: Sequence[str], date: dt.date) -> str:
    """The ``focal = [...]`` line of a forecast's scenario (empty without `focal`); the codes
    are checked against the members on `date`, the error naming ``--focal``.
    """
    if not focal:
        return ""

    roster = load_members(date)
    codes = [str(c).strip().upper() for c in focal]
    unknown = [c for c in codes if c not in roster.index]
    if unknown:
        raise ScenarioError(
            f"--focal: expected ISO3 codes of UN members on {date}; got {', '.join(unknown)}"
        )
    return f"focal = {json.dumps(codes)}\n"


def check_members(
    date: dt.date | str, *, focal: Sequence[str] = (), no_vote: Sequence[str] = ()
) -> None:
    """Raise :class:`ScenarioError` (naming ``--focal`` or ``--no-vote``) if a code is not a
    UN member on `date`: what a forecast checks first, here without the data.
    """
    try:
        day = pd.Timestamp(date).date()
    except ValueError as exc:
        raise ScenarioError(f"--date: expected a date, YYYY-MM-DD; got {date!r}") from exc
    _focal_line(focal, day)
    _no_vote_sections(no_vote, day)


def _no_vote_sections(no_vote: Sequence[str], date: dt.date) -> str:
    """The ``[members.X] no_vote = true`` sections of a forecast's scenario for the members
    the forecaster says have lost their vote; the codes are checked against the members on
    `date`, the error naming ``--no-vote``.
    """
    if not no_vote:
        return ""

    roster = load_members(date)
    codes = sorted({str(c).strip().upper() for c in no_vote})
    unknown = [c for c in codes if c not in roster.index]
    if unknown:
        raise ScenarioError(
            f"--no-vote: expected ISO3 codes of UN members on {date}; got {', '.join(unknown)}"
        )
    source = json.dumps("the forecaster: Charter Art. 19 (sim forecast --no-vote)")
    return "".join(f"\n[members.{c}]\nno_vote = true\nsource = {source}\n" for c in codes)


def _forecast_toml(
    *,
    heading: str,
    symbol: str,
    title: str,
    date: dt.date,
    issue: str,
    dimension: str,
    years: int,
    source: str,
    relations: str,
    focal: str = "",
    members: str = "",
) -> str:
    """A forecast's scenario: no events, the resolution on `date`, and `relations` (its
    ``[item]`` and ``[previous]`` sections); `focal` is its focal line (:func:`_focal_line`),
    `members` its members' sections (:func:`_no_vote_sections`).
    Strings arrive quoted (JSON strings are valid TOML basic strings).
    """
    return f"""schema = 1
name = "forecast"
title = {heading}
default_variant = "as_happened"
{focal}
[resolution]
symbol = {symbol}
title = {title}
date = {date.isoformat()}
dimension = "{issue}"
rule = "simple_majority"
source = {source}

[calibration]
years = {years}
dimension = "{dimension}"

{relations}{members}
[variants.as_happened]
description = "No pressure beyond what the record shows."
"""  # fmt: skip


def _title_scenario_toml(
    title: str,
    date: dt.date,
    dimension: str,
    issue: str,
    years: int,
    *,
    focal: str = "",
    members: str = "",
) -> str:
    """A scenario with no events: a new text titled `title`, its item drawn by title."""
    q = json.dumps
    source = q("the forecaster's title (sim forecast --title)")
    return _forecast_toml(
        heading=q("Forecast of a new text: " + title[:200]), symbol='"new text"',
        title=q(title[:300]), date=date, issue=issue, dimension=dimension, years=years,
        source=source, relations=f"[item]\nby_title = true\nsource = {source}\n", focal=focal,
        members=members,
    )  # fmt: skip


def _scenario_toml(
    row: pd.Series,
    rcid: int,
    date: dt.date,
    dimension: str,
    years: int,
    *,
    new_text: bool = False,
    focal: str = "",
    members: str = "",
) -> str:
    """A scenario with no events: the next vote on `row`'s agenda item (another text on the same
    question with `new_text`).
    """
    q = json.dumps
    symbol = str(row.get("symbol") or f"rcid:{rcid}")
    title = str(row.get("title") or row.get("descr") or symbol)
    source = q(
        f"Voeten UNGA voting data, rcid {rcid} ({symbol}, {pd.Timestamp(row['date']).date()})"
    )
    flag = "true" if new_text else "false"
    same = "false" if new_text else "true"
    relations = (
        f'[item]\nlike = "rcid:{rcid}"\nnew_text = {flag}\nsource = {source}\n\n'
        f'[previous]\nlike = "rcid:{rcid}"\nsame_text = {same}\nsource = {source}\n'
    )
    return _forecast_toml(
        heading=q("Forecast like " + symbol), symbol=q("like " + symbol), title=q(title[:300]),
        date=date, issue=dimension, dimension=dimension, years=years, source=source,
        relations=relations, focal=focal, members=members,
    )  # fmt: skip


@dataclass(frozen=True)
class BatchRow:
    """One forecast of a batch file: like an earlier roll call (`like`), or by `title`."""

    name: str
    like: str
    date: dt.date
    new_text: bool = False
    title: str = ""
    issue: str = "all"


def read_batch(path: Path) -> list[BatchRow]:
    """Read a batch CSV with columns ``name,date`` and ``like`` or ``title`` (one of them per
    row), optionally ``new_text`` (true or false, default false; with ``like``) and ``issue``
    (an issue code, default all; with ``title``); errors name the file, row and column.
    """
    rows = []
    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or [])
            missing = {"name", "date"} - columns
            if missing or not columns & {"like", "title"}:
                missing |= set() if columns & {"like", "title"} else {"like or title"}
                raise ScenarioError(
                    f"{path}: expected columns name,date and like or title; missing "
                    f"{sorted(missing)}"
                )
            for i, raw in enumerate(reader, start=2):
                rows.append(_batch_row(path, i, raw))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the batch file ({exc.strerror})") from exc
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: not a CSV file ({exc})") from exc
    names = [r.name for r in rows]
    if len(set(names)) != len(names):
        raise ScenarioError(f"{path}: name: every row needs its own name")
    return rows


def _batch_row(path: Path, i: int, raw: dict[str, str | None]) -> BatchRow:
    """One row of a batch file (:func:`read_batch`), checked."""

    def cell(key: str) -> str:
        return (raw.get(key) or "").strip()

    name = cell("name")
    # A folder name, as short as a file system takes with room to spare, never a path.
    if not name or "/" in name or name.startswith(".") or len(name) > 100 or not name.isprintable():
        raise ScenarioError(
            f"{path}: row {i}: name: expected a folder name (at most 100 printable characters, "
            f"no /, not starting with .); got {name[:80]!r}"
        )
    try:
        date = dt.date.fromisoformat(cell("date"))
    except ValueError as exc:
        raise ScenarioError(
            f"{path}: row {i}: date: expected YYYY-MM-DD; got {raw.get('date')!r}"
        ) from exc
    flag = (cell("new_text") or "false").lower()
    if flag not in ("true", "false"):
        raise ScenarioError(
            f"{path}: row {i}: new_text: expected true or false; got {raw.get('new_text')!r}"
        )
    like, title, issue = cell("like"), cell("title"), cell("issue") or "all"
    if bool(like) == bool(title):
        raise ScenarioError(
            f"{path}: row {i}: like, title: expected one of them (an earlier roll call, or the "
            f"new resolution's title); got {'both' if like else 'neither'}"
        )
    if title and flag == "true":
        raise ScenarioError(
            f"{path}: row {i}: new_text: a forecast by title is read as a new text already "
            f"(or as the next vote of a text with that title); leave new_text empty"
        )
    if issue not in DIMENSIONS:
        raise ScenarioError(
            f"{path}: row {i}: issue: expected one of {', '.join(DIMENSIONS)}; got {issue!r}"
        )
    return BatchRow(name, like, date, flag == "true", title, issue)


def forecast_batch(
    forecaster: Forecaster,
    rows: Iterable[BatchRow],
    out: Path,
    *,
    n_draws: int = 1000,
    seed: int = DEFAULT_SEED,
    progress: Callable[[BatchRow], None] | None = None,
    focal: Sequence[str] = (),
    no_vote: Sequence[str] = (),
) -> list[Path]:
    """Forecast every row into ``out/<name>/``, skipping rows already written (resumable);
    `focal` members get their own entries in each ``summary.json``; `no_vote` members are
    absent in every forecast.
    """
    written = []
    for row in rows:
        target = Path(out) / row.name
        if not (target / "manifest.json").is_file():
            if row.title:
                result = forecaster.forecast_title(
                    row.title, row.date, issue=row.issue, n_draws=n_draws, seed=seed,
                    focal=focal, no_vote=no_vote,
                )  # fmt: skip
            else:
                result = forecaster.forecast(
                    row.like, row.date, new_text=row.new_text, n_draws=n_draws, seed=seed,
                    focal=focal, no_vote=no_vote,
                )  # fmt: skip
            result.write(target, plots=False)
        written.append(target)
        if progress is not None:
            progress(row)
    return written
