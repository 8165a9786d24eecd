"""The standing camps of a contested vote, from data (MODEL.md §3, revised Dec 2026).

Every contested vote has two standing principals besides any cited ask: the text's camp (the
members that carry the agenda item and the blocs they lead) and the camp against it. Who they are
and how much each member is tied to each come from public acts, never from a tie set by hand:

* **Who.** The text's camp is the members whose earlier public act on the item (the committee
  vote the scenario names, else the same item's earlier roll call: ``[previous]`` or
  ``[item] like``, the bundle's ``previous_act``) was yes; the camp against it, those whose act
  was no.
* **Blocs.** A bloc of the registry (:mod:`sim.io.registry`) leans to a camp by the share of its
  members in it; a member's bloc tie to a camp is the mean lean of its blocs (0 for a member in
  no bloc).
* **Record.** A member whose own earlier act was the camp's is on its record with that camp: 1,
  else 0.
* **Own cause.** A member named in the title of a text it voted yes on in the window before the
  vote (Ukraine's territorial integrity, Georgia's displaced persons, Moldova's foreign forces:
  :func:`own_causes`, from the roll calls) needs the large camps' votes in turn, and pays more
  for openly defying the camp it is on record with: its record counts ``1 + cause``.
* **Tie.** ``standing = (record * (1 + cause) + bloc) / 2`` in [0, 1.5], times ONE scale
  estimated from the episodes (``camp_scale``, :mod:`sim.estimate.deal`).

Each camp reads acts as its kind of ask does (the text's camp asks for yes, a positive ask; the
camp against asks for no, an ask not to support), with the deal's readings of absence. To a
member on its record it reads every other vote as a visible reversal (-1): the side a member
leaves sees an abstention or a no after a public yes on the record, and an absence is not one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.core.acts import ACTS, FloatArray, IntArray

__all__ = ["CAMPS", "Camp", "own_causes", "standing_camps"]

#: The two standing camps: name and the act each asks for.
CAMPS = (("text", "yes"), ("against", "no"))


@dataclass(frozen=True)
class Camp:
    """One standing camp's ties, over the members that have one.

    Attributes
    ----------
    name : str
        ``"text"`` or ``"against"``.
    act : str
        The act the camp asks for.
    members : ndarray of int
        Positions of the members it reaches (a tie above 0).
    standing : ndarray, shape (len(members),)
        Each member's tie in [0, 1] before the scale.
    record : ndarray of bool, shape (len(members),)
        Whether the member's own earlier public act was the camp's.
    """

    name: str
    act: str
    members: IntArray
    standing: FloatArray
    record: np.ndarray


def standing_camps(
    previous: IntArray,
    blocs: Sequence[Sequence[str]],
    *,
    cause: FloatArray | None = None,
    exclude: Sequence[int] = (),
) -> list[Camp]:
    """The text's camp and the camp against it, from each member's earlier act and blocs.

    Parameters
    ----------
    previous : ndarray of int, shape (n_members,)
        Index into ``ACTS`` of each member's earlier public act on the item, -1 if none.
    blocs : sequence of sequence of str
        Each member's blocs (the registry's, on the vote's date).
    cause : ndarray, shape (n_members,), optional
        1 for a member with its own cause before the Assembly (:func:`own_causes`), else 0.
    exclude : sequence of int, optional
        Members no camp reaches (a principal that votes as it asks).

    Returns
    -------
    list of Camp
        One per entry of :data:`CAMPS` whose act some member took earlier (none without an
        earlier act on the item).

    Examples
    --------
    >>> camps = standing_camps(np.array([0, 0, 1, -1]), [("A",), ("A",), ("B",), ("A",)])
    >>> [(c.name, c.members.tolist(), c.standing.round(2).tolist()) for c in camps]
    [('text', [0, 1, 3], [0.83, 0.83, 0.33]), ('against', [2], [1.0])]
    """
    previous = np.asarray(previous)
    n = len(previous)
    names = sorted({b for bs in blocs for b in bs})
    membership = np.zeros((n, len(names)))
    for i, bs in enumerate(blocs):
        for b in bs:
            membership[i, names.index(b)] = 1.0
    size = membership.sum(axis=0)
    out = []
    skip = np.zeros(n, dtype=bool)
    skip[list(exclude)] = True
    for name, act in CAMPS:
        on_record = previous == ACTS.index(act)
        if not on_record.any():
            continue
        lean = (membership * on_record[:, None]).sum(axis=0) / np.maximum(size, 1.0)
        count = membership.sum(axis=1)
        bloc = np.where(count > 0, membership @ lean / np.maximum(count, 1.0), 0.0)
        record = on_record.astype(float) * (1.0 + (0.0 if cause is None else np.asarray(cause)))
        standing = (record + bloc) / 2.0
        reached = np.flatnonzero((standing > 0) & ~skip)
        out.append(
            Camp(
                name=name,
                act=act,
                members=reached,
                standing=standing[reached],
                record=on_record[reached],
            )
        )
    return out


def own_causes(
    roll_calls: pd.DataFrame,
    votes: pd.DataFrame,
    names: Mapping[str, str],
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> pd.Series:
    """Which members have their own cause before the Assembly: named (as a whole word) in the
    title of a roll call dated in [start, end) on which they voted yes.

    Parameters
    ----------
    roll_calls : DataFrame
        Columns ``date`` and ``title``, indexed by ``rcid``.
    votes : DataFrame
        Columns ``rcid``, ``iso3``, ``act``.
    names : mapping of str to str
        Each member's name (the registry's).
    start, end : Timestamp

    Returns
    -------
    Series of float
        1.0 or 0.0 per member of `names`.

    Examples
    --------
    >>> rc = pd.DataFrame({"date": pd.to_datetime(["2014-03-27"]),
    ...                    "title": ["Territorial integrity of Ukraine"]}, index=[5309])
    >>> v = pd.DataFrame({"rcid": [5309, 5309], "iso3": ["UKR", "RUS"], "act": ["yes", "no"]})
    >>> own_causes(rc, v, {"UKR": "Ukraine", "RUS": "Russia"}, start=pd.Timestamp("2014-01-01"),
    ...            end=pd.Timestamp("2015-01-01")).to_dict()
    {'UKR': 1.0, 'RUS': 0.0}
    """
    dates = pd.to_datetime(roll_calls["date"])
    window = roll_calls.loc[(dates >= start) & (dates < end), "title"].fillna("").astype(str)
    yes = votes.loc[votes["act"] == "yes", ["rcid", "iso3"]]
    out = {}
    for iso3, name in names.items():
        pattern = re.compile(rf"\b{re.escape(str(name))}\b", flags=re.IGNORECASE)
        named = window.index[window.map(lambda t, p=pattern: bool(p.search(t)))]
        voted = yes.loc[yes["iso3"] == iso3, "rcid"]
        out[iso3] = float(np.isin(named, voted.to_numpy()).any())
    return pd.Series(out, dtype=float)
