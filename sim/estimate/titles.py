"""How alike two resolutions' titles are, and a new text's odds mixed over earlier texts by it.

A new resolution (a text never voted before) has no item of its own in the record. Its odds
are each member's odds mixed over the fitted first votes of earlier texts (:func:`first_votes`:
the kind of roll call a new resolution is), each weighted by how alike the two titles are
(:class:`TitleIndex`, tf-idf cosine ``s``; weight ``exp(sharpness * s)``), the sharpness chosen
on the fitting window alone: the value on :data:`SHARPNESS_GRID` under which the window's own
first votes are best predicted from the others (:func:`title_sharpness`). A new "Territorial
integrity of Ukraine: ..." text leans on A/RES/68/262 "Territorial integrity of Ukraine".

Words that name a country (:func:`place_stems`: from the ISO 3166 names pycountry keeps, and
their adjectives: "Ukrainian", "Israeli") can weigh more than their idf says: a resolution's
place is often what its supporters and opponents answer to ("... lasting peace in Ukraine" is
about Ukraine before it is about peace). How much more (:data:`PLACE_WEIGHT_GRID`, 1 being
plain tf-idf) is chosen with the sharpness, on the window alone (:func:`title_fit`).

:mod:`sim.estimate.validate` scores this predictive on held-out years; :func:`NewTexts.mixture`
gives
the same weights to a replay (``[item] by_title`` of a scenario, ``sim forecast --title``),
which draws the item of each parameter draw from them.
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from sim.core.acts import ACTS, DIMENSIONS, FloatArray
from sim.core.predict import member_odds, new_item_odds
from sim.estimate.ideal_points import normalise_text
from sim.io.bundles import ITEM_KEYS
from sim.io.data import ADOPTED_SUFFIX

__all__ = [
    "MIN_FIRST_VOTES",
    "PLACE_WEIGHT_GRID",
    "SHARPNESS_GRID",
    "NewTexts",
    "TitleIndex",
    "first_votes",
    "is_place",
    "loose_titles",
    "new_text_odds",
    "new_texts",
    "place_stems",
    "text_keys",
    "title_fit",
    "title_sharpness",
    "title_tokens",
    "title_weights",
    "window_acts",
]


#: Member-text cells :func:`new_text_odds` predicts per call of
#: :func:`sim.core.predict.member_odds` (bounds its memory: about 20 kB per cell).
NEW_TEXT_CELLS = 2048


#: An issue's new-text predictive mixes over its fitted first votes of texts when it has at
#: least this many, else over all its fitted roll calls.
MIN_FIRST_VOTES = 10


def text_keys(roll_calls: pd.DataFrame) -> pd.Series:
    """Each roll call's text key: its ``text`` column, else its title normalised (stripped,
    white space collapsed, case-folded), so that the votes of one text match.
    """
    if "text" in roll_calls.columns:
        return roll_calls["text"]
    return normalise_text(roll_calls["title"])


def loose_titles(titles: pd.Series) -> pd.Series:
    """Titles reduced to their words, so that one text's title matches however it was copied:
    the UN library's " : resolution / adopted by the General Assembly" cut, every run of
    punctuation, dashes, quotes and white space made one space, case-folded.

    Examples
    --------
    >>> loose_titles(pd.Series([
    ...     "Assistance to Palestine refugees : resolution / adopted by the General Assembly",
    ...     "assistance to Palestine refugees.", "Non-use of nuclear weapons", "Non use of ..."])
    ... ).tolist()
    ['assistance to palestine refugees', 'assistance to palestine refugees', \
'non use of nuclear weapons', 'non use of']
    """
    words = titles.fillna("").astype(str).str.replace(ADOPTED_SUFFIX, "", regex=True)
    return words.str.replace(r"[\W_]+", " ", regex=True).str.strip().str.casefold()


def window_acts(fit: Any, rcids: Iterable[Any]) -> pd.DataFrame:
    """The fitted members' recorded acts on roll calls `rcids` of the fit's window: members x
    roll calls, index into ``ACTS``, -1 where a member had no seat.
    """
    iso3, rcid, codes = fit.window.matrix()
    return pd.DataFrame(codes, index=iso3, columns=rcid).reindex(
        index=fit.est.members_.index, columns=pd.Index(rcids), fill_value=-1
    )


def first_votes(roll_calls: pd.DataFrame, titles: pd.Series) -> pd.Index:
    """Roll calls that are the first vote of their text in the record (empty texts excluded):
    the kind of roll call a new resolution is.
    """
    dated = pd.DataFrame({"text": titles.reindex(roll_calls.index), "date": roll_calls["date"]})
    keep = dated["text"].fillna("") != ""
    if "partial" in roll_calls.columns:
        keep &= ~roll_calls["partial"].astype(bool)
    dated = dated[keep]
    first = dated.sort_values("date", kind="stable").groupby("text").head(1)
    return pd.Index(first.index)


#: Sharpness of the title-similarity weights tried when a fit chooses its own
#: (:func:`title_sharpness`); 0 is the plain average over the issue's first votes.
SHARPNESS_GRID = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0)

#: Weights of country words relative to their idf tried by :func:`title_fit` (1: plain tf-idf).
PLACE_WEIGHT_GRID = (1.0, 2.0, 4.0)

_STOPWORDS = frozenset(("the", "of", "and", "in", "on", "to", "a", "for", "by", "with", "its",
                        "at", "from", "as", "an", "all", "be", "or"))  # fmt: skip


def title_tokens(text: str) -> frozenset[str]:
    """A title's content words: lower case, three letters or more, a few function words out.

    Examples
    --------
    >>> sorted(title_tokens("Territorial integrity of Ukraine"))
    ['integrity', 'territorial', 'ukraine']
    """
    words = re.findall(r"[a-z]+", str(text or "").lower())
    return frozenset(w for w in words if len(w) > 2 and w not in _STOPWORDS)


#: Words of ISO 3166 names that describe rather than name a place.
_NOT_PLACES = frozenset(("part", "minor", "outlying", "province", "plurinational", "territory",
                         "ocean", "city", "state", "federated", "bolivarian", "french",
                         "british", "dutch", "island", "islands", "eastern", "western",
                         "northern", "southern", "holy", "sint", "saint", "north",
                         "central", "kingdom", "federation", "islamic", "people", "peoples",
                         "territories", "christmas", "arab", "sandwich", "virgin"))  # fmt: skip


@cache
def place_stems() -> frozenset[str]:
    """Stems of the words that name a country or territory: the first six letters (the whole
    word if shorter) of each word of four letters or more in the ISO 3166 names and common
    names pycountry keeps, leaving out words in the names of three countries or more
    ("republic", "united", "guinea", "south") and words that describe (:data:`_NOT_PLACES`).

    Examples
    --------
    >>> {"ukrain", "israel", "iran", "syrian", "palest"} <= place_stems()
    True
    >>> {"republ", "united", "democr", "south", "territ"} & place_stems()
    set()
    """
    import pycountry

    counts: dict[str, int] = {}
    for country in pycountry.countries:
        names = " ".join(getattr(country, key, "") or "" for key in ("name", "common_name"))
        folded = unicodedata.normalize("NFKD", names).encode("ascii", "ignore").decode().lower()
        words = {w for w in re.findall(r"[a-z]+", folded) if len(w) >= 4}
        for word in words - _STOPWORDS - _NOT_PLACES:
            counts[word[:6]] = counts.get(word[:6], 0) + 1
    return frozenset(stem for stem, n in counts.items() if n <= 2)


def is_place(word: str) -> bool:
    """Whether a title word names a country: it starts with a :func:`place_stems` stem
    ("ukraine", "ukrainian", "iranian"; not "indigenous", India's stem being "india").

    Examples
    --------
    >>> [is_place(w) for w in ("ukrainian", "iranian", "indigenous", "peace", "greenhouse")]
    [True, True, False, False, False]
    """
    stems = place_stems()
    return any(word[:k] in stems for k in (4, 5, 6))


class TitleIndex:
    """Tf-idf vectors of the titles of a fit's items, for the cosine similarity of a new title
    to each (words the items never use count, at the highest idf, in the new title's norm).

    Examples
    --------
    >>> index = TitleIndex(["territorial integrity of ukraine", "the right to food",
    ...                     "the right to development"])
    >>> index.similarity(["territorial integrity of ukraine and peace"]).round(2)
    array([[0.87, 0.  , 0.  ]])

    With `place_weight`, words that name a country (:func:`is_place`) weigh that many times
    their idf.
    """

    def __init__(self, titles: Iterable[str], *, place_weight: float = 1.0) -> None:
        self.place_weight = float(place_weight)
        docs = [title_tokens(t) for t in titles]
        vocab = sorted(set().union(*docs)) if docs else []
        self._column = {w: k for k, w in enumerate(vocab)}
        n = max(len(docs), 1)
        counts = np.zeros(len(vocab))
        for d in docs:
            for w in d:
                counts[self._column[w]] += 1
        self._idf = np.log(n / np.maximum(counts, 1.0))
        if self.place_weight != 1.0:
            self._idf *= np.array([self._weight(w) for w in vocab])
        self._unseen = float(np.log(n)) if n > 1 else 1.0
        self.vectors = self._vectors(docs)

    def _weight(self, word: str) -> float:
        return self.place_weight if self.place_weight != 1.0 and is_place(word) else 1.0

    def _vectors(self, docs: list[frozenset[str]]) -> FloatArray:
        x = np.zeros((len(docs), len(self._column)))
        norm = np.zeros(len(docs))
        for i, d in enumerate(docs):
            for w in d:
                k = self._column.get(w)
                if k is None:
                    norm[i] += (self._unseen * self._weight(w)) ** 2
                else:
                    x[i, k] = self._idf[k]
        norm = np.sqrt(norm + (x**2).sum(axis=1))
        return x / np.where(norm > 0, norm, 1.0)[:, None]

    def similarity(self, titles: Iterable[str]) -> FloatArray:
        """Cosine similarity of each of `titles` to each item's title: (n_titles, n_items)."""
        return self._vectors([title_tokens(t) for t in titles]) @ self.vectors.T


def title_weights(similarity: FloatArray, sharpness: float) -> FloatArray:
    """Rows of ``exp(sharpness * s)``, normalised (``-inf`` similarities get weight 0)."""
    top = np.max(similarity, axis=-1, keepdims=True)
    w = np.exp(sharpness * (similarity - top)) if sharpness else np.isfinite(similarity) * 1.0
    w = np.where(np.isfinite(similarity), w, 0.0)
    return w / w.sum(axis=-1, keepdims=True)


def title_sharpness(odds: FloatArray, similarity: FloatArray, acts: Any) -> float:
    """The sharpness on :data:`SHARPNESS_GRID` under which each of a window's first votes is
    best predicted by the others, mixed by title similarity (leave one out).

    Parameters
    ----------
    odds : ndarray, shape (n_items, n_members, 4)
        Every member's odds on each item (:func:`sim.core.predict.new_item_odds` of one item).
    similarity : ndarray, shape (n_items, n_items)
        The items' titles' similarity to one another.
    acts : ndarray of int, shape (n_items, n_members)
        Each member's recorded act on each item (index into ``ACTS``; -1 unknown).

    Examples
    --------
    Two pairs of alike texts that split members oppositely: the titles should decide.

    >>> yes, no = [0.9, 0.05, 0.03, 0.02], [0.05, 0.9, 0.03, 0.02]
    >>> odds = np.array([[yes], [yes], [no], [no]])
    >>> sim = np.array([[1, .9, 0, 0], [.9, 1, 0, 0], [0, 0, 1, .9], [0, 0, .9, 1]])
    >>> title_sharpness(odds, sim, np.array([[0], [0], [1], [1]])) > 0
    True
    """
    return _loo_sharpness(odds, similarity, acts)[0]


def _loo_sharpness(odds: Any, similarity: Any, acts: Any) -> tuple[float, float]:
    """:func:`title_sharpness` and the leave-one-out log-likelihood it reaches."""
    odds = np.asarray(odds, dtype=float)
    acts = np.asarray(acts)
    loo = np.array(similarity, dtype=float)
    np.fill_diagonal(loo, -np.inf)
    j, m = np.nonzero(acts >= 0)
    flat = odds.reshape(len(odds), -1)  # (items, members * acts): one matrix product (BLAS)
    best, best_ll = 0.0, -np.inf
    for sharpness in SHARPNESS_GRID:
        mix = (title_weights(loo, sharpness) @ flat).reshape(odds.shape)
        ll = float(np.log(np.clip(mix[j, m, acts[j, m]], 1e-300, None)).sum())
        if ll > best_ll + 1e-9:
            best, best_ll = float(sharpness), ll
    return best, best_ll


def title_fit(odds: Any, titles: list[str], acts: Any) -> tuple[float, float]:
    """The sharpness and the weight of country words (:data:`SHARPNESS_GRID` x
    :data:`PLACE_WEIGHT_GRID`) under which a window's first votes are best predicted from the
    others (leave one out, as :func:`title_sharpness`); ties keep plain tf-idf.
    """
    best, best_ll = (0.0, 1.0), -np.inf
    for weight in PLACE_WEIGHT_GRID:
        index = TitleIndex(titles, place_weight=weight)
        sharpness, ll = _loo_sharpness(odds, index.vectors @ index.vectors.T, acts)
        if ll > best_ll + 1e-9:
            best, best_ll = (sharpness, float(weight)), ll
    return best


@dataclass(frozen=True)
class NewTexts:
    """A fit's predictive of new texts: per issue group (``all`` and the issue codes), its
    first votes' roll-call ids, every fitted member's odds on each, and their titles' vectors;
    the sharpness of the title weights and the weight of country words in the vectors.
    """

    members: pd.Index
    groups: dict[str, tuple[pd.Index, FloatArray, TitleIndex]]
    sharpness: float
    place_weight: float = 1.0

    def weights(self, code: str, title: str) -> pd.Series:
        """The weight of each of issue `code`'s first votes (all first votes for ``all`` or an
        issue without roll calls in the window) in a new text titled `title`: a Series indexed
        by rcid, summing to one (texts below 1e-9 of the largest weight left out).
        """
        rcids, _, index = self.groups.get(code, self.groups["all"])
        w = pd.Series(title_weights(index.similarity([title]), self.sharpness)[0], rcids)
        w = w[w > 1e-9 * w.max()]  # texts of no weight to speak of: left out
        return w / w.sum()

    def odds(self, code: str, title: str) -> pd.DataFrame:
        """Every fitted member's odds on a new text of issue `code` titled `title`."""
        rcids, odds, _ = self.groups.get(code, self.groups["all"])
        w = self.weights(code, title).reindex(rcids, fill_value=0.0)
        mix = np.einsum("j,jmc->mc", w.to_numpy(), odds)
        return pd.DataFrame(mix, index=self.members, columns=list(ACTS))


#: What this module computed from a recent fit and keeps while the fit lives: id of the fit ->
#: (weak reference to it, its table: ``"new_texts"`` -> (the inputs' key, :func:`new_texts`'s
#: result), ``"text_odds"`` -> {(rcid, years since it): every fitted member's odds}). A forecast
#: batch asks for the new texts once per title, and the new texts voted on one day (often
#: several) mix over the same earlier texts at the same gaps.
_KEPT: dict[int, tuple[weakref.ref[Any], dict[str, Any]]] = {}


def _kept_for(fit: Any) -> dict[str, Any]:
    """The table this module keeps for `fit` (an empty one for a new fit)."""
    kept = _KEPT.get(id(fit))
    if kept is not None and kept[0]() is fit:
        return kept[1]
    for k in [k for k, (ref, _) in _KEPT.items() if ref() is None]:
        del _KEPT[k]
    table: dict[str, Any] = {}
    _KEPT[id(fit)] = (weakref.ref(fit), table)
    return table


def new_texts(fit: Any, roll_calls: pd.DataFrame, first: pd.Index, titles: pd.Series) -> NewTexts:
    """Per issue (and ``all``): every fitted member's odds on each of the issue's fitted first
    votes of texts (`first`; all its roll calls if it has fewer than ``MIN_FIRST_VOTES``), and
    the sharpness of the title weights chosen on the window's first votes. First votes split
    the Assembly differently from texts repeated year after year, and a new resolution is a
    first vote.

    The result is kept while `fit` lives, and given again for the same fit and inputs.
    """
    key = (id(roll_calls), len(roll_calls), tuple(first), tuple(titles.reindex(first)))
    table = _kept_for(fit)
    kept = table.get("new_texts")
    if kept is not None and kept[0] == key:
        return kept[1]
    out = _new_texts(fit, roll_calls, first, titles)
    table["new_texts"] = (key, out)
    return out


def _new_texts(fit: Any, roll_calls: pd.DataFrame, first: pd.Index, titles: pd.Series) -> NewTexts:

    items, members = fit.est.items_, fit.est.members_
    groups = {}
    for code in DIMENSIONS:
        if code == "all":
            tagged = items.index
        else:
            tagged = items.index[roll_calls.loc[items.index, code].astype(bool).to_numpy()]
        new = tagged[tagged.isin(first)]
        if len(new) >= MIN_FIRST_VOTES:
            groups[code] = new
        elif len(tagged):
            groups[code] = tagged
    odds = {}
    for code, index in groups.items():
        odds[code] = new_item_odds(
            members["ideal_point"].to_numpy(), members["participation"].to_numpy(),
            items={k: items.loc[index, k].to_numpy() for k in ITEM_KEYS},
            gamma=fit.absence["gamma"], tau=fit.group_shock["tau"],
            participation_sd=members["participation_se"].to_numpy(), per_item=True,
        )  # fmt: skip
    names = {code: titles.reindex(index).fillna("").tolist() for code, index in groups.items()}
    # The sharpness and the weight of country words, on the window's own first votes of every
    # issue: each predicted from the others (its recorded acts are in the fitting window).
    acts = window_acts(fit, groups["all"])
    sharpness, weight = title_fit(odds["all"], names["all"], acts.to_numpy().T)
    out = {
        code: (index, odds[code], TitleIndex(names[code], place_weight=weight))
        for code, index in groups.items()
    }
    return NewTexts(members.index, out, sharpness, weight)


def new_text_odds(fit: Any, weights: pd.Series, date: Any) -> pd.DataFrame:
    """Every fitted member's odds on a new text voted on `date`, mixed over earlier first votes
    with `weights` (:meth:`NewTexts.weights`), each member's act on each as its previous public
    act on another text.

    Text ``j`` contributes ``w_j`` times each member's odds on ``j``'s item given its recorded
    act on ``j`` (:func:`sim.core.predict.member_odds`: the text shock's correlation at
    ``max(years since j, 1)``, as ``[previous] same_text = false`` reads an earlier text, and
    the reversal costs). A member's stance on the texts most like the new one thereby carries
    over where one dimension cannot place it (Russia against "Territorial integrity of
    Ukraine" texts). The replay of ``[item] by_title`` draws the same mixture.

    Each text's odds at a gap are kept while `fit` lives: new texts voted the same day (or
    leaning on texts less than a year old) reuse them.
    """
    members, items = fit.est.members_, fit.est.items_
    dates = pd.DatetimeIndex(fit.window.roll_calls.loc[weights.index, "date"])
    years = np.maximum((pd.Timestamp(date) - dates).days.to_numpy() / 365.25, 1.0)
    kept: dict[tuple[Any, float], FloatArray] = _kept_for(fit).setdefault("text_odds", {})
    keys = [(rcid, float(y)) for rcid, y in zip(weights.index, years, strict=True)]
    todo = list(dict.fromkeys(k for k in keys if k not in kept))
    n_members = len(members)
    if todo:
        rcids = pd.Index([k[0] for k in todo])
        gaps = np.array([k[1] for k in todo])
        acts = window_acts(fit, rcids).to_numpy().astype(np.int64)  # (M, J)
        params = {k: items.loc[rcids, k].to_numpy(float) for k in ITEM_KEYS}
        ideal = members["ideal_point"].to_numpy(float)
        rho = members["participation"].to_numpy(float)
        rho_sd = members["participation_se"].to_numpy(float)
        # Many texts' cells in one call (texts side by side on the member axis), a chunk at a
        # time to bound memory: the same odds as one call per text, far fewer numpy calls.
        chunk = max(1, NEW_TEXT_CELLS // max(n_members, 1))
        for start in range(0, len(todo), chunk):
            part = slice(start, min(start + chunk, len(todo)))
            k = part.stop - part.start
            odds = member_odds(
                np.tile(ideal, k), np.tile(rho, k), acts[:, part].T.reshape(-1),
                item={key: np.repeat(v[part], n_members) for key, v in params.items()},
                persistence=fit.persistence, gamma=fit.absence["gamma"],
                tau=fit.group_shock["tau"], participation_sd=np.tile(rho_sd, k),
                gap=np.repeat(gaps[part], n_members),
            ).reshape(k, n_members, len(ACTS))  # fmt: skip
            kept.update(zip(todo[part], odds, strict=True))
    stacked = np.stack([kept[k] for k in keys]) if keys else np.zeros((0, n_members, len(ACTS)))
    out = np.einsum("j,jmc->mc", weights.to_numpy(float), stacked)
    return pd.DataFrame(out, index=members.index, columns=list(ACTS))
