"""Rolling-origin validation: predict every recorded vote of a year from the years before it.

For each test year Y, the model is fitted on the roll calls of the ``window`` years before 1
January Y (:func:`sim.estimate.window.fit_window`) and predicts every whole-text roll call dated
in Y, member by member (:func:`sim.core.predict.member_odds`):

* a **repeated** resolution (a roll call before Y has the same title, normalised) takes its
  item parameters from that text's last vote, and each member's act on it as its previous act;
* a **new** one has no previous act, and its odds are each member's odds mixed over the
  fitted first votes of texts sharing its first issue tag, each weighted by how alike the two
  titles are, with the weights' sharpness chosen on the fitting window alone, and each
  member's act on each as its previous public act on another text (:mod:`sim.estimate.titles`,
  :func:`sim.estimate.titles.new_text_odds`). A new "Territorial integrity of Ukraine: ..." text
  leans
  on A/RES/68/262 "Territorial integrity of Ukraine", and on how each member voted on it.

The model is scored against the rules analysts use (MODEL.md §7, FACTS.md §4):
``uniform`` (1/4 each), ``base_rates`` (9.9% absent; of votes cast 81.1% yes, 12.2% abstain,
6.7% no), ``persistence`` (FACTS.md §4's transition matrix applied to the member's last act on
the same title, base rates where there is none) and ``last_vote`` (the same, with the
transition matrix of the fitting window). Scores: log-loss, Brier score and accuracy per
member-vote, and the mean absolute error of the expected tally per act.

``lead`` (``sim validate --lead 2``) forecasts further ahead: the fit ends ``lead - 1`` years
before the test year, so each repeated text's previous vote is older, as for votes a few years
past the end of the data.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.core.absence import carry_presence
from sim.core.acts import ACTS, FloatArray
from sim.core.attendance import apply_attendance, fit_attendance
from sim.core.persistence import member_holds
from sim.core.predict import member_odds
from sim.core.threads import single_blas_thread
from sim.core.tremble import apply_tremble, fit_tremble
from sim.estimate.attendance import RECENT_DAYS, attendance_features
from sim.estimate.realign import fit_realignment, text_group
from sim.estimate.titles import (
    SHARPNESS_GRID,
    TitleIndex,
    first_votes,
    new_text_odds,
    new_texts,
    text_keys,
    title_sharpness,
)
from sim.estimate.window import fit_window
from sim.io.bundles import ITEM_KEYS

__all__ = [
    "BASE_RATES",
    "FACTS_TRANSITIONS",
    "METHODS",
    "SHARPNESS_GRID",
    "TitleIndex",
    "Validation",
    "absence_deciles",
    "absence_scores",
    "first_votes",
    "fit_attendance_layer",
    "score",
    "title_sharpness",
    "validate",
]

#: FACTS.md §4 (1991–2019): 9.9% absent; among votes cast 81.1% yes, 12.2% abstain, 6.7% no.
BASE_RATES = np.array([0.811 * 0.901, 0.067 * 0.901, 0.122 * 0.901, 0.099])

#: FACTS.md §4: same country, same title, consecutive sessions 2011–2019; rows and columns in
#: ``ACTS`` order (yes, no, abstain, absent).
FACTS_TRANSITIONS = np.array(
    [
        [0.945, 0.001, 0.015, 0.040],
        [0.006, 0.922, 0.054, 0.017],
        [0.050, 0.027, 0.890, 0.033],
        [0.460, 0.011, 0.060, 0.469],
    ]
)
METHODS = ("model", "uniform", "base_rates", "persistence", "last_vote")


@dataclass(frozen=True)
class Validation:
    """Results of :func:`validate`.

    Attributes
    ----------
    scores : DataFrame
        One row per test year and method (and ``all`` years): ``n_votes``, ``log_loss``,
        ``brier``, ``accuracy``, ``tally_mae``.
    predictions : DataFrame
        One row per member-vote: ``year``, ``rcid``, ``iso3``, ``act``, ``kind`` (repeated or
        new), ``like`` (rcid of the text's last vote, -1 if new), ``sharpness`` and
        ``place_weight`` (of a new text's title weights, :func:`sim.estimate.titles.title_fit`) and
        ``<method>_<act>``.
    """

    scores: pd.DataFrame
    predictions: pd.DataFrame


def _normalise(p: FloatArray) -> FloatArray:
    p = np.clip(np.asarray(p, float), 1e-12, None)
    return p / p.sum(axis=-1, keepdims=True)


def score(probs: FloatArray, acts: Iterable[int]) -> dict[str, float]:
    """Log-loss, Brier score and accuracy of member-vote predictions.

    Examples
    --------
    >>> s = score(np.array([[0.7, 0.1, 0.1, 0.1]]), [0])
    >>> round(s["log_loss"], 4), round(s["brier"], 4), s["accuracy"]
    (0.3567, 0.12, 1.0)
    """
    p = _normalise(probs)
    a = np.asarray(list(acts))
    rows = np.arange(len(a))
    onehot = np.zeros_like(p)
    onehot[rows, a] = 1
    return {
        "log_loss": float(-np.mean(np.log(p[rows, a]))),
        "brier": float(np.mean(((p - onehot) ** 2).sum(axis=1))),
        "accuracy": float(np.mean(p.argmax(axis=1) == a)),
    }


def absence_scores(predictions: pd.DataFrame, method: str = "model") -> dict[str, float]:
    """How well `method` forecast attendance: the log-loss on the member-votes recorded absent
    (``absent_log_loss``, mean ``-log p(absent)`` over them), the binary log-loss of absent
    against present over all member-votes (``attendance_log_loss``), and ``n_absent``.

    Examples
    --------
    >>> pred = pd.DataFrame({"act": ["absent", "yes"], "m_absent": [0.5, 0.1]})
    >>> s = absence_scores(pred, "m")
    >>> round(s["absent_log_loss"], 4), round(s["attendance_log_loss"], 4), s["n_absent"]
    (0.6931, 0.3993, 1)
    """
    p = np.clip(predictions[f"{method}_absent"].to_numpy(float), 1e-12, 1 - 1e-12)
    absent = (predictions["act"] == "absent").to_numpy()
    return {
        "absent_log_loss": float(-np.log(p[absent]).mean()) if absent.any() else float("nan"),
        "attendance_log_loss": float(-np.mean(np.where(absent, np.log(p), np.log1p(-p)))),
        "n_absent": int(absent.sum()),
    }


def absence_deciles(predictions: pd.DataFrame, method: str = "model") -> pd.DataFrame:
    """Calibration of predicted absence: member-votes cut into ten groups of equal size by
    `method`'s predicted probability of absence; per group ``n``, ``predicted`` (its mean) and
    ``observed`` (the share recorded absent).
    """
    p = predictions[f"{method}_absent"].to_numpy(float)
    absent = (predictions["act"] == "absent").to_numpy(float)
    order = np.argsort(p, kind="stable")
    groups = np.empty(len(p), int)
    groups[order] = np.arange(len(p)) * 10 // max(len(p), 1)
    frame = pd.DataFrame({"decile": groups + 1, "predicted": p, "observed": absent})
    return (
        frame.groupby("decile")
        .agg(n=("predicted", "size"), predicted=("predicted", "mean"),
             observed=("observed", "mean"))
        .reset_index()
    )  # fmt: skip


def year_predictions(
    data: Any,
    year: int,
    *,
    window: int,
    dimension: str,
    dynamic: bool = False,
    lead: int = 1,
    member_hold: bool = True,
    realign: bool = False,
) -> pd.DataFrame:
    cutoff = pd.Timestamp(f"{year - lead + 1}-01-01")
    fit = fit_window(data, start=cutoff - pd.DateOffset(years=window), end=cutoff,
                     dimension=dimension, dynamic=dynamic,
                     on=pd.Timestamp(f"{year}-12-01"))  # fmt: skip
    rc = data.roll_calls
    votes = data.votes
    titles = text_keys(rc)
    whole = ~rc["partial"].astype(bool)
    targets = rc.index[
        whole
        & (rc["date"] >= pd.Timestamp(f"{year}-01-01"))
        & (rc["date"] < pd.Timestamp(f"{year + 1}-01-01"))
    ]
    if dimension != "all":
        targets = targets[rc.loc[targets, dimension].astype(bool).to_numpy()]
    before = rc.index[whole & (rc["date"] < cutoff) & (titles != "")]
    last_by_title = (
        pd.DataFrame({"title": titles[before], "date": rc.loc[before, "date"]})
        .sort_values(["date"], kind="stable")
        .groupby("title")
        .tail(1)
    )
    last_by_title = pd.Series(last_by_title.index, index=last_by_title["title"])
    texts = new_texts(fit, rc, first_votes(rc, titles), titles)
    population = texts.groups["all"][1].mean(axis=(0, 1))
    members = fit.est.members_
    fill = {
        "ideal_point": float(members["ideal_point"].mean()),
        "participation": float(members["participation"].median()),
        "participation_se": float(members["participation"].std()),
    }
    trans_window = fit.est.transitions_[list(ACTS)].to_numpy()
    trans_window = np.where(np.isfinite(trans_window), trans_window, FACTS_TRANSITIONS)
    p = fit.persistence
    moved = fit_realignment(fit) if realign else None
    # one realigned fit per group, so that new_text_odds keeps each earlier text's odds across
    # the year's new texts of that group (its table is per fit object)
    moved_fits: dict[str, Any] = {}

    def fit_for(group: str) -> Any:
        if moved is None:
            return fit
        if group not in moved_fits:
            moved_fits[group] = moved.moved_fit(fit, group)
        return moved_fits[group]

    frames = []
    for rcid in targets:
        cells = votes[votes["rcid"] == rcid]
        iso3 = cells["iso3"].to_numpy()
        acts = pd.Categorical(cells["act"].astype(str), categories=list(ACTS)).codes
        title = titles.get(rcid, "")
        like = int(last_by_title.get(title, -1)) if title else -1
        params = members.reindex(iso3)[["ideal_point", "participation", "participation_se"]]
        group = text_group(rc.loc[rcid])
        if moved is not None:  # each member's position on the text's group at the window's end
            shifted = moved.ideal_points(members["ideal_point"], group)
            params["ideal_point"] = shifted.reindex(iso3).to_numpy()
        params = params.fillna(fill)
        if like >= 0 and like in fit.est.items_.index:
            item = {k: float(fit.est.items_.loc[like, k]) for k in ITEM_KEYS}
            presence_sd = 0.0
            if int(rc.loc[rcid, "session"]) > int(rc.loc[like, "session"]):
                item["presence"], presence_sd = carry_presence(
                    item["presence"], float(fit.est.items_.loc[like, "presence_se"]),
                    fit.presence_carryover,
                )  # fmt: skip
            prev_acts = votes[votes["rcid"] == like].set_index("iso3")["act"].astype(str)
            previous = np.array([ACTS.index(a) if a in ACTS else -1
                                 for a in prev_acts.reindex(iso3).fillna("")])  # fmt: skip
            kind = "repeated"
            hold, hold_sd = member_holds(p, iso3) if member_hold else (0.0, 0.0)
            model = member_odds(
                params["ideal_point"].to_numpy(), params["participation"].to_numpy(), previous,
                item=item, persistence=p, gamma=fit.absence["gamma"],
                tau=fit.group_shock["tau"],
                participation_sd=np.hypot(params["participation_se"].to_numpy(), presence_sd),
                gap=(rc.loc[rcid, "date"] - rc.loc[like, "date"]).days / 365.25,
                hold=hold, hold_sd=hold_sd,
            )  # fmt: skip
        else:
            weights = texts.weights(group, str(title))
            odds = new_text_odds(fit_for(group), weights, rc.loc[rcid, "date"])
            model = odds.reindex(iso3).to_numpy()
            model = np.where(np.isfinite(model), model, population)
            previous = np.full(len(iso3), -1)
            kind, like = "new", -1
        has_prev = previous >= 0
        persistence = np.where(has_prev[:, None], FACTS_TRANSITIONS[previous], BASE_RATES)
        last_vote = np.where(has_prev[:, None], trans_window[previous], BASE_RATES)
        preds = {
            "model": model,
            "uniform": np.full((len(iso3), 4), 0.25),
            "base_rates": np.tile(BASE_RATES, (len(iso3), 1)),
            "persistence": persistence,
            "last_vote": last_vote,
        }
        columns: dict[str, Any] = {
            "year": year, "rcid": rcid, "iso3": iso3, "act": np.asarray(ACTS)[acts],
            "kind": kind, "like": like,
            "sharpness": texts.sharpness if kind == "new" else np.nan,
            "place_weight": texts.place_weight if kind == "new" else np.nan,
        }  # fmt: skip
        for method, probs in preds.items():
            normalised = _normalise(probs)
            for k, act in enumerate(ACTS):
                columns[f"{method}_{act}"] = normalised[:, k]
        frames.append(pd.DataFrame(columns))
    if not frames:  # no roll call on the dimension that year
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def _tally_errors(pred: pd.DataFrame) -> pd.DataFrame:
    """Per roll call (``year``, ``rcid``) and method, expected minus recorded count of each act:
    columns ``{method}_{act}_error``.
    """
    observed = pd.get_dummies(pd.Categorical(pred["act"], categories=list(ACTS))).to_numpy(float)
    columns = {
        f"{method}_{act}_error": pred[f"{method}_{act}"].to_numpy() - observed[:, k]
        for method in METHODS
        for k, act in enumerate(ACTS)
    }
    keys = {"year": pred["year"].to_numpy(), "rcid": pred["rcid"].to_numpy()}
    frame = pd.DataFrame({**keys, **columns})
    return frame.groupby(["year", "rcid"], sort=False).sum().reset_index()


def _attendance(
    data: Any,
    pred: pd.DataFrame,
    held_out: pd.DataFrame,
    *,
    year: int,
    lead: int,
    window: int,
    recent: bool = False,
) -> pd.DataFrame:
    """Refit the model's absence in a year's predictions (in place) by the attendance layer
    (:mod:`sim.core.attendance`) fitted on its predictions of the year ``lead`` before, whose
    votes were all cast before this year's cutoff; returns those held-out predictions with the
    layer applied (the tremble is measured on them). With `recent`, the members' recent record
    is a feature too, over the span of :data:`sim.estimate.attendance.RECENT_DAYS` that fits the
    held-out year best (:func:`fit_attendance_layer`).
    """
    columns = [f"model_{a}" for a in ACTS]
    if held_out.empty or pred.empty:
        return held_out
    # the held-out year's own cutoff (its predictions' fit ended there)
    held_cutoff = pd.Timestamp(f"{year - 2 * lead + 1}-01-01")
    fit, f_held = fit_attendance_layer(
        data, held_out, cutoff=held_cutoff, window=window, recent=recent
    )
    f_pred = attendance_features(
        data, pred["rcid"].to_numpy(), pred["iso3"].to_numpy(),
        cutoff=pd.Timestamp(f"{year - lead + 1}-01-01"), window=window,
        recent_days=fit["recent_days"],
    )  # fmt: skip
    pred[columns] = apply_attendance(pred[columns].to_numpy(), f_pred, fit)
    held_out = held_out.copy()
    held_out[columns] = apply_attendance(held_out[columns].to_numpy(), f_held, fit)
    return held_out


def fit_attendance_layer(
    data: Any,
    held_out: pd.DataFrame,
    *,
    cutoff: pd.Timestamp,
    window: int,
    recent: bool = True,
    asof: Any = None,
) -> tuple[dict[str, Any], FloatArray]:
    """The attendance layer (:func:`sim.core.attendance.fit_attendance`) fitted on held-out
    predictions (rows ``rcid``, ``iso3``, ``act``, ``model_<act>``), with features from the
    roll calls before `cutoff` (:func:`sim.estimate.attendance.attendance_features`); with
    `recent`, the members' recent record before `asof` (default `cutoff`; per row, e.g. each
    roll call's own date) over each span of :data:`RECENT_DAYS`, keeping the span whose fit
    has the highest likelihood on these rows (``recent_days`` in the result: chosen on the
    fitting year, never on a scored one). Returns the layer and the rows' features it was
    fitted on.
    """
    columns = [f"model_{a}" for a in ACTS]
    probs = held_out[columns].to_numpy()
    absent = (held_out["act"] == "absent").to_numpy()
    fits = []
    for days in RECENT_DAYS if recent else (None,):
        f = attendance_features(
            data, held_out["rcid"].to_numpy(), held_out["iso3"].to_numpy(), cutoff=cutoff,
            window=window, recent_days=days, asof=asof,
        )  # fmt: skip
        fits.append(({**fit_attendance(probs, f, absent), "recent_days": days}, f))
    return max(fits, key=lambda fit: fit[0]["loglik_gain"])  # the first of equals


def _tremble(pred: pd.DataFrame, held_out: pd.DataFrame) -> None:
    """Mix the model's predictions of a year (in place) with the tremble measured on its
    predictions of the year before (:mod:`sim.core.tremble`).
    """
    columns = [f"model_{a}" for a in ACTS]
    if held_out.empty or pred.empty:
        return
    fit = tremble_of(held_out)
    pred[columns] = apply_tremble(pred[columns].to_numpy(), eps=fit["eps"], base=fit["base"])


@single_blas_thread
def validate(
    data: Any,
    *,
    years: Iterable[int] = range(2015, 2023),
    window: int = 10,
    dimension: str = "all",
    dynamic: bool = False,
    lead: int = 1,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
    attendance: bool = True,
    member_hold: bool = True,
    recent: bool = False,
    realign: bool = True,
) -> Validation:
    """Fit on the `window` years before each test year and score its votes (module docstring).

    Parameters
    ----------
    data : RollCallData
    years : iterable of int
        Test years (each fitted on the years before it).
    window : int
        Years of roll calls per fit.
    dimension : str
        ``"all"`` or an issue code (then only that issue's roll calls are predicted).
    dynamic : bool
        Ideal points that move over sessions (projected to the test year's autumn session).
    lead : int
        How many years ahead the forecasts are made: the fit ends on 1 January of the test
        year minus ``lead - 1`` (1: the year's own 1 January), so with ``lead = 2`` a repeated
        text's previous vote is two sessions old, as for a forecast two years past the data.
        The tremble is then measured on the predictions of the year ``lead`` years earlier.
    progress : callable, optional
        Called with each test year when done.
    workers : int
        Years fitted and predicted at once, each in its own process (1: one after another in
        this process). The results do not depend on it.
    attendance : bool
        Refit absence by the attendance layer (:mod:`sim.core.attendance`, features of
        :mod:`sim.estimate.attendance`), fitted, as the tremble is, on the predictions of the
        year ``lead`` before; False: the model's own absence.
    member_hold : bool
        Each member's own hold on its record on repeated texts (its extra reversal cost,
        :func:`sim.core.persistence.fit_member_hold`, integrated over its posterior); False:
        the pooled reversal cost for every member.
    recent : bool
        With the attendance layer, the members' recent record of absence before the cutoff as
        one more feature (:func:`sim.estimate.attendance.recent_record`, its span chosen on the
        held-out year). Off by default: read on 1 January for a whole year's votes it lost out
        of sample (docs/validation.md); the episodes' replays read it on the vote's day.
    realign : bool, default True
        Move each member's ideal point on a text by its realignment on the text's issue group
        (:func:`sim.estimate.realign.fit_realignment`: a random walk of its offset over the
        window's sessions, the sds chosen on the window's last session), on repeated and new
        texts alike, as ``sim forecast`` does; False: the window's one ideal point per member.
    """
    if lead < 1:
        raise ValueError(f"lead must be at least 1; got {lead}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1; got {workers}")
    years = [int(y) for y in years]
    # Each test year's fit and predictions, and those of the year its tremble is measured on:
    # independent of one another, so they may run side by side.
    needed = sorted(set(years) | {y - lead for y in years})
    options = {"window": window, "dimension": dimension, "dynamic": dynamic, "lead": lead,
               "member_hold": member_hold, "realign": realign}  # fmt: skip
    predictions = []
    if workers == 1:
        raw: dict[int, pd.DataFrame] = {}

        def predicted(year: int) -> pd.DataFrame:
            if year not in raw:
                raw[year] = year_predictions(data, year, **options)
            return raw[year]
    else:
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(needed)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_share_data,
            initargs=(data,),
        )
        futures: dict[int, Future[pd.DataFrame]] = {
            y: pool.submit(_year_job, y, options) for y in needed
        }

        def predicted(year: int) -> pd.DataFrame:
            return futures[year].result()

    try:
        for year in years:
            # the tremble is measured on a year whose votes were all cast before this fit's
            # cutoff
            held_out = predicted(year - lead)
            pred = predicted(year).copy()
            if attendance:
                held_out = _attendance(data, pred, held_out, year=year, lead=lead, window=window,
                                       recent=recent)  # fmt: skip
            _tremble(pred, held_out)
            predictions.append(pred)
            if progress is not None:
                progress(int(year))
    finally:
        if workers > 1:
            pool.shutdown(cancel_futures=True)
    pred = pd.concat(predictions, ignore_index=True)
    tally = _tally_errors(pred)
    rows = []
    acts = pd.Categorical(pred["act"], categories=list(ACTS)).codes
    groups = [
        (str(y), pred["year"] == y, tally["year"] == y) for y in sorted(pred["year"].unique())
    ]
    groups.append(("all", np.ones(len(pred), bool), np.ones(len(tally), bool)))
    for label, cells, tally_rows in groups:
        for method in METHODS:
            probs = pred.loc[cells, [f"{method}_{a}" for a in ACTS]].to_numpy()
            errors = tally.loc[tally_rows, [f"{method}_{a}_error" for a in ACTS]].to_numpy()
            rows.append({
                "year": label, "method": method, "n_votes": int(cells.sum()),
                "n_roll_calls": int(tally_rows.sum()),
                **score(probs, acts[np.asarray(cells)]),
                "tally_mae": float(np.abs(errors).mean()),
            })  # fmt: skip
    return Validation(scores=pd.DataFrame(rows), predictions=pred)


_DATA: Any = None  # the roll calls, in a worker process of validate(workers > 1)


def _share_data(data: Any) -> None:
    global _DATA
    _DATA = data


@single_blas_thread
def _year_job(year: int, options: dict[str, Any]) -> pd.DataFrame:
    return year_predictions(_DATA, year, **options)


def held_out_tremble(
    data: Any,
    *,
    year: int,
    window: int,
    dimension: str,
    dynamic: bool = False,
    realign: bool = False,
) -> dict[str, Any]:
    """The tremble measured on `year`'s roll calls, predicted from the `window` years before it
    (as :func:`sim.estimate.validate.validate` predicts a test year, with or without
    `realign`), with the year recorded.
    """
    predictions = year_predictions(
        data, year, window=window, dimension=dimension, dynamic=dynamic, realign=realign
    )
    if predictions.empty:  # nothing to measure it on: no tremble
        return {"eps": 0.0, "eps_se": None, "base": [0.25] * len(ACTS), "n": 0,
                "loglik_gain": 0.0, "year": int(year)}  # fmt: skip
    return {**tremble_of(predictions), "year": int(year)}


def tremble_of(predictions: pd.DataFrame) -> dict[str, Any]:
    """:func:`fit_tremble` on a table of held-out predictions
    (:func:`sim.estimate.validate.validate`'s
    rows: ``act`` and the model's ``model_<act>`` columns).
    """
    probs = predictions[[f"model_{a}" for a in ACTS]].to_numpy()
    acts = predictions["act"].map({a: i for i, a in enumerate(ACTS)}).to_numpy()
    return fit_tremble(probs, acts)
