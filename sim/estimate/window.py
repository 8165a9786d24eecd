"""A window of roll calls fitted once: ideal points, participation, shocks and persistence.

:func:`fit_window` fits the spatial model (:class:`sim.estimate.ideal_points.IdealPoints`, or the
dynamic :class:`sim.estimate.dynamic.DynamicIdealPoints`) on the roll calls of one issue dimension
and period, then what the replay needs beside it: strategic absence, the participation walk, the
group shock and the text persistence. :func:`bundle_from_fit` turns a fit into the calibration
bundle of a scenario (:mod:`sim.io.bundles`); :func:`title_item` places a new text by its title.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.core.absence import (
    ambivalence,
    fit_strategic_presence,
    log_act_baseline,
    presence_probability,
)
from sim.core.acts import ACTS
from sim.core.persistence import (
    conditional_vote_log_probs,
    fit_member_hold,
    fit_text_persistence,
    shock_correlation,
    vote_log_probs,
)
from sim.core.shocks import fit_group_shock_sd
from sim.core.threads import single_blas_thread
from sim.estimate.dynamic import DynamicIdealPoints
from sim.estimate.ideal_points import persistence_pairs, transition_matrix
from sim.estimate.participation import fit_participation_walk, fit_presence_carryover
from sim.estimate.titles import first_votes, new_texts, text_keys, window_acts
from sim.estimate.window_cache import kept_persistence, load_window, save_window, static_fit
from sim.io.bundles import ITEM_KEYS, MEMBER_COLUMNS
from sim.io.errors import DataError
from sim.io.registry import load_members
from sim.io.results import package_versions


def find_roll_call(data: Any, like: str, where: str) -> int:
    """The rcid that `like` names (``A/RES/74/87`` or ``rcid:9108``); of several roll calls with
    one symbol (paragraph votes), the last whole-text one. Errors start with `where`.
    """
    rc = data.roll_calls
    if like.startswith("rcid:"):
        try:
            rcid = int(like[5:])
        except ValueError:
            rcid = -1
        if rcid not in rc.index:
            raise DataError(f"{where}: roll call {like} is not in the data")
        return rcid
    hits = rc.index[rc["symbol"].to_numpy() == like]
    if len(hits) == 0:
        last = (
            f"; the data run to {rc['date'].max().date()} (later roll calls: `sim data fetch "
            "--source un-library`, docs/data.md)"
            if len(rc)
            else ""
        )
        raise DataError(
            f"{where}: no roll call with symbol {like!r} in the data (symbols are written like "
            f"A/RES/74/87; or pass rcid:N){last}"
        )
    whole = [r for r in hits if not bool(rc.loc[r, "partial"])]
    return int((whole or list(hits))[-1])


@dataclass
class WindowFit:
    """Everything fitted on one window of roll calls and one dimension (before any scenario)."""

    est: Any
    window: Any
    dimension: str
    start: pd.Timestamp
    end: pd.Timestamp
    absence: dict[str, float]
    group_shock: dict[str, float]
    persistence: dict[str, float]
    #: How an attendance effect carries over to the same text's vote in a later session
    #: (:func:`sim.estimate.participation.fit_presence_carryover`).
    presence_carryover: dict[str, float] = field(default_factory=dict)


@single_blas_thread
def fit_window(
    data: Any,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    dimension: str,
    dynamic: bool = False,
    on: Any = None,
    progress: bool = False,
) -> WindowFit:
    """Fit ideal points, items, strategic absence, group shocks and persistence on the roll
    calls dated in ``[start, end)`` of `dimension`.

    With `dynamic`, ideal points follow a random walk over sessions
    (:class:`sim.estimate.dynamic.DynamicIdealPoints`) and the members' table holds each member's
    point
    projected to the session of `on` (default `end`), its standard error grown by the walk.
    `progress` draws the optimiser's progress on a terminal (:mod:`sim.io.progress`).
    """
    window = data.between(start, end)
    # A static fit carried to the same vote: kept whole (sim.estimate.window_cache).
    kept_for = {"session": session_of(on if on is not None else end), "end": str(end.date())}
    kept = None if dynamic else load_window(window, dimension=dimension, target=kept_for)
    if kept is not None:
        est, parts = kept
        return WindowFit(est, window, dimension, start, end, **parts)
    if dynamic:
        est = DynamicIdealPoints(dimension=dimension, progress=progress).fit(window)
        if not hasattr(est, "period_"):
            dates = window.roll_calls.loc[est.items_.index, "date"]
            est.period_ = (dates.min().date().isoformat(), dates.max().date().isoformat())
    else:  # shared with any earlier fit of the same window (sim.estimate.window_cache)
        est = static_fit(window, dimension=dimension, progress=progress)
    target = session_of(on if on is not None else end)
    absence = _strategic_presence(est, window, target_session=target)
    group_shock = _group_shock(est, window, end)
    if dynamic:
        persistence = _text_persistence(est, window, gamma=absence["gamma"])
    else:  # the same for every vote the window is carried to: kept once per window
        persistence = kept_persistence(
            window,
            dimension=dimension,
            fit=lambda: _text_persistence(est, window, gamma=absence["gamma"]),
        )
    if dynamic:
        target = max(
            session_of(on if on is not None else end), int(est.members_["last_session"].max())
        )
        projected = est.project(target)
        est.members_ = est.members_.assign(
            ideal_point=projected["ideal_point"].reindex(est.members_.index).to_numpy(),
            ideal_point_se=projected["ideal_point_se"].reindex(est.members_.index).to_numpy(),
        )
    rc = window.roll_calls.loc[est.items_.index]
    carryover = fit_presence_carryover(est.items_["presence"], text_keys(rc), rc["session"])
    fit = WindowFit(
        est, window, dimension, start, end, absence, group_shock, persistence, carryover
    )
    if not dynamic:
        parts = {
            "absence": absence,
            "group_shock": group_shock,
            "persistence": persistence,
            "presence_carryover": carryover,
        }
        save_window(window, est, parts, target=kept_for)
    return fit


def title_item(fit: WindowFit, data: Any, title: str, *, issue: str = "all") -> dict[str, Any]:
    """A new text's item as a mixture over the window's first votes of texts, weighted by how
    alike their titles are to `title` (:mod:`sim.estimate.titles`, the predictive ``sim validate``
    scores for new texts).

    Parameters
    ----------
    fit : WindowFit
    data : RollCallData
        The whole record (a text first voted before the window is not new inside it).
    title : str
    issue : str
        Mix over this issue's first votes (``all``: every issue's).

    Returns
    -------
    dict
        ``title``, ``issue``, ``sharpness``, ``place_weight`` (of country words in the title
        vectors, :func:`sim.estimate.titles.title_fit`), and per first vote kept (weight above 1e-9
        of the
        largest): ``rcid``, ``symbol``, ``date``, ``weight`` (summing to one), the item
        parameters and ``acts``, the fitted ``members``' acts on it (their previous public
        act on another text, as ``[previous] same_text = false`` reads one).
    """
    rc = data.roll_calls
    titles = text_keys(rc)
    texts = new_texts(fit, rc, first_votes(rc, titles), titles)
    weights = texts.weights(issue, title)
    items = fit.est.items_.loc[weights.index]
    symbols = rc.loc[weights.index, "symbol"] if "symbol" in rc.columns else None
    members = fit.est.members_.index
    acts = window_acts(fit, weights.index)
    return {
        "title": title,
        "issue": issue if issue in texts.groups else "all",
        "sharpness": texts.sharpness,
        "place_weight": texts.place_weight,
        "rcid": [int(r) for r in weights.index],
        "symbol": [str(s or "") for s in symbols] if symbols is not None else [""] * len(weights),
        "date": [pd.Timestamp(d).date().isoformat() for d in rc.loc[weights.index, "date"]],
        "weight": [float(w) for w in weights],
        **{k: [float(v) for v in items[k]] for k in ITEM_KEYS},
        # Each member's act on each text: one character per member of `members`, the index
        # into ACTS ("0" yes, "1" no, "2" abstain, "3" absent) or "-" if it had no seat.
        "members": [str(m) for m in members],
        "acts": ["".join("0123"[c] if c >= 0 else "-" for c in acts[j]) for j in acts.columns],
    }


def bundle_from_fit(
    fit: WindowFit,
    *,
    like: str | None,
    previous: str | None,
    name: str,
    where: str,
    data_sha256: Any,
    by_title: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The members table and metadata of a bundle: `fit` plus the item of roll call `like` and
    each member's act on roll call `previous` (if any). With `by_title` (:func:`title_item`)
    instead of `like`, the item's fields are the nearest title's and the mixture is stored
    beside them (``item.by_title``).
    """
    est, window = fit.est, fit.window
    if by_title is not None:
        rcid = by_title["rcid"][int(np.argmax(by_title["weight"]))]
        like = f"rcid:{rcid}"
    else:
        if like is None:
            raise ValueError("bundle_from_fit needs like or by_title")
        rcid = find_roll_call(window, like, f"{where}: item.like")
    if rcid not in est.items_.index:
        raise DataError(
            f"{where}: item.like: roll call {like} (rcid {rcid}) is not among the "
            f"{fit.dimension!r} roll calls of {fit.start.date()}..{fit.end.date()}; pick one "
            f"tagged {fit.dimension!r} in that window"
        )
    item = est.items_.loc[rcid]
    location_sd = _new_text_location_sd(est, window)
    members = est.members_.copy()
    members["previous_act"] = ""
    previous_date = None
    if previous is not None:
        prev = find_roll_call(window, previous, f"{where}: previous.like")
        votes = window.votes
        acts = votes.loc[votes["rcid"] == prev].set_index("iso3")["act"].astype(str)
        members["previous_act"] = acts.reindex(members.index).fillna("").to_numpy()
        previous_date = pd.Timestamp(window.roll_calls.loc[prev, "date"]).date().isoformat()
    members = members[list(MEMBER_COLUMNS)]
    meta = {
        "scenario": name,
        "dimension": fit.dimension,
        "window": [fit.start.date().isoformat(), fit.end.date().isoformat()],
        "period": list(est.period_),
        "item": {
            "like": like,
            "rcid": int(rcid),
            "date": pd.Timestamp(item["date"]).date().isoformat(),
            **{k: float(item[k]) for k in ITEM_KEYS},
            **{f"{k}_se": float(item[f"{k}_se"]) for k in ITEM_KEYS},
            "new_text_location_sd": location_sd,
            **({"by_title": by_title} if by_title is not None else {}),
        },
        "previous": previous,
        "previous_date": previous_date,
        # Each member's hold (hold.*) stays out of the bundles for now: in the replay it turned
        # Russia's abstaining treaty allies back from no under its warning (docs/validation.md).
        "persistence": {
            k: v for k, v in fit.persistence.items() if "hold" not in k and k != "loglik_pooled"
        },
        "absence": fit.absence,
        "presence_carryover": fit.presence_carryover,
        "group_shock": fit.group_shock,
        "transitions": {
            str(p): {str(k): float(v) for k, v in row.items()}
            for p, row in est.transitions_.iterrows()
        },
        "fit": {
            "n_members": len(members),
            "n_roll_calls": len(est.items_),
            "n_cells": est.n_cells_,
            "loglik": est.loglik_,
            "n_iter": est.n_iter_,
            "converged": est.converged_,
        },
        "data_sha256": data_sha256,
        "versions": package_versions(),
    }
    return members, meta


def _new_text_location_sd(est: Any, window: Any) -> float:
    """Spread of where the window's new texts sit: the sd, over the first votes of texts, of
    the item's location ``(cut_abstain + cut_yes) / (2 * discrimination)`` (ideal-point units).

    It is how uncertain a new text's position is around the roll call it is said to be like
    (``[item] new_text``); NaN with fewer than three first votes.
    """
    items = est.items_
    rc = window.roll_calls.loc[items.index]
    first = [r for r in first_votes(rc, text_keys(rc)) if r in items.index]
    if len(first) < 3:
        return float("nan")
    it = items.loc[first]
    beta = it["discrimination"].where(it["discrimination"].abs() > 1e-9, 1e-9)
    return float(((it["cut_abstain"] + it["cut_yes"]) / (2 * beta)).std())


def session_of(date: Any) -> int:
    """UNGA session meeting on `date` (session s opens in September of 1945 + s).

    Examples
    --------
    >>> session_of("2022-12-30"), session_of("2022-07-28")
    (77, 76)
    """
    ts = pd.Timestamp(date)
    return ts.year - 1945 if ts.month >= 9 else ts.year - 1946


def cell_ideal_points(
    est: Any, iso3: Any, rcid: Any, roll_calls: pd.DataFrame, column: str = "ideal_point"
) -> np.ndarray:
    """Each cell's ideal point (or another member-session `column`, e.g. ``participation``):
    the member's (static fit) or the member's in the roll call's session (dynamic fit,
    :class:`sim.estimate.dynamic.DynamicIdealPoints`).
    """
    iso3 = np.asarray(iso3)
    static = est.members_[column].reindex(iso3).to_numpy()
    if column not in getattr(est, "ideal_points_", pd.DataFrame()).columns:
        return static
    sessions = roll_calls.loc[np.asarray(rcid), "session"].to_numpy()
    index = pd.MultiIndex.from_arrays([iso3, sessions])
    dynamic = est.ideal_points_[column].reindex(index).to_numpy()
    return np.where(np.isfinite(dynamic), dynamic, static)


#: Candidate sds (logit units per session) of the participation random walk; the one that best
#: predicts the window's last session from the earlier ones is used.
PARTICIPATION_WALK_SDS = (0.05, 0.2, 0.5, 1.0)


def _strategic_presence(est: Any, window: Any, *, target_session: int) -> dict[str, float]:
    """Strategic absence and participation moving over sessions, carried to `target_session`.

    A dynamic fit (:class:`sim.estimate.dynamic.DynamicIdealPoints`) estimated ``gamma``, the
    roll-call
    effects and each member-session's participation jointly with the vote: its last session's
    participation is used, the se grown by the participation walk. After a static fit (its
    ``gamma`` also joint when ``strategic``), the presence model is refitted given the vote
    (:func:`sim.core.absence.fit_strategic_presence`: at a joint estimate this returns the same
    ``gamma`` and effects, and their standard errors), then participation moves over sessions
    by :func:`sim.estimate.participation.fit_participation_walk`. Updates ``est.members_`` and
    ``est.items_`` in place.
    """
    if "participation" in getattr(est, "ideal_points_", pd.DataFrame()).columns:
        # The dynamic fit estimated gamma, the roll-call effects and each member-session's
        # participation jointly with the vote: carry the last session's forward by its walk.
        m = est.members_
        gap = np.maximum(target_session - m["last_session"].to_numpy(), 0)
        sd = est.participation_walk_sd
        est.members_ = m.assign(
            participation_se=np.sqrt(m["participation_se"].to_numpy() ** 2 + sd**2 * gap)
        )
        return {
            "gamma": float(est.gamma_),
            "gamma_se": float(est.gamma_se_),
            "participation_walk_sd": float(sd),
            "joint": True,
        }
    votes = window.votes[window.votes["rcid"].isin(est.items_.index)]
    votes = votes[votes["iso3"].isin(est.members_.index)]
    member = est.members_.index.get_indexer(votes["iso3"].to_numpy())
    item = est.items_.index.get_indexer(votes["rcid"].to_numpy())
    m, it = est.members_, est.items_
    log_votes = vote_log_probs(
        cell_ideal_points(
            est, votes["iso3"].to_numpy(), votes["rcid"].to_numpy(), window.roll_calls
        ),
        item={k: it[k].to_numpy()[item] for k in ("discrimination", "cut_abstain", "cut_yes")},
    )
    present = (votes["act"].astype(str).to_numpy() != "absent").astype(float)
    session = window.roll_calls.loc[votes["rcid"].to_numpy(), "session"].to_numpy()
    # As in the joint fit (sim.core.likelihood.Cells.strategic): no strategic term for a
    # member in a
    # session in which it cast no vote at all.
    voted = pd.Series(present).groupby([member, session]).transform("max").to_numpy()
    h = ambivalence(log_votes) * voted
    fit = fit_strategic_presence(member, item, present, h, n_members=len(m), n_items=len(it))
    est.items_ = it.assign(presence=fit["delta"])
    offset = fit["delta"][item] - fit["gamma"] * h
    walk_sd, scores = _choose_participation_walk(member, session, offset, present)
    walk = fit_participation_walk(member, session, offset, present, walk_sd=walk_sd)
    last = walk["last"].reindex(np.arange(len(m)))
    gap = np.maximum(target_session - last["session"].to_numpy(), 0)
    est.members_ = m.assign(
        participation=last["rho"].to_numpy(),
        participation_se=np.sqrt(last["rho_se"].to_numpy() ** 2 + walk_sd**2 * gap),
    )
    out = {k: float(fit[k]) for k in ("gamma", "gamma_se", "loglik", "loglik_gain")}
    out["participation_walk_sd"] = float(walk_sd)
    out["joint"] = bool(getattr(est, "strategic", False))
    out.update({f"holdout_loglik_walk_{k:g}": v for k, v in scores.items()})
    return out


def _choose_participation_walk(
    member: np.ndarray, session: np.ndarray, offset: np.ndarray, present: np.ndarray
) -> tuple[float, dict[float, float]]:
    """The walk sd whose fit on all but the last session best predicts the last session."""
    last_session = int(session.max())
    train, test = session < last_session, session == last_session
    if not train.any() or not test.any():
        return PARTICIPATION_WALK_SDS[1], {}
    scores = {}
    for sd in PARTICIPATION_WALK_SDS:
        walk = fit_participation_walk(
            member[train], session[train], offset[train], present[train], walk_sd=sd
        )
        last = walk["last"].reindex(member[test])
        gap = last_session - last["session"].to_numpy()
        rho = last["rho"].to_numpy()
        known = np.isfinite(rho)
        p = presence_probability(
            rho[known] + offset[test][known],
            np.sqrt(last["rho_se"].to_numpy()[known] ** 2 + sd**2 * gap[known]),
        )
        y = present[test][known]
        p = np.clip(p, 1e-12, 1 - 1e-12)
        scores[sd] = float(np.sum(y * np.log(p) + (1 - y) * np.log1p(-p)))
    return max(scores, key=lambda k: scores[k]), scores


def _group_shock(est: Any, window: Any, on: pd.Timestamp) -> dict[str, float]:
    """Sd of the common shock per UN regional group and roll call (:mod:`sim.core.shocks`)."""
    groups = load_members(on.date())["un_group"]
    votes = window.votes[window.votes["rcid"].isin(est.items_.index)]
    votes = votes[votes["act"].astype(str) != "absent"]
    it = est.items_.loc[votes["rcid"].to_numpy()]
    group = groups.reindex(votes["iso3"].to_numpy()).fillna("none").to_numpy()
    cluster = pd.factorize(pd.Series(votes["rcid"].astype(str).to_numpy()) + "|" + group)[0]
    fit = fit_group_shock_sd(
        it["discrimination"].to_numpy()
        * cell_ideal_points(
            est, votes["iso3"].to_numpy(), votes["rcid"].to_numpy(), window.roll_calls
        ),
        pd.Categorical(votes["act"].astype(str), categories=list(ACTS)).codes.astype(np.int64),
        cluster,
        cut_abstain=it["cut_abstain"].to_numpy(),
        cut_yes=it["cut_yes"].to_numpy(),
    )
    return {k: float(v) for k, v in fit.items()}


def _text_persistence(est: Any, window: Any, *, gamma: float) -> dict[str, float]:
    """Fit the text shock, how fast it moves, and the reversal costs (:mod:`sim.core.persistence`)
    on same-title pairs: each vote with its text's previous vote, at whatever gap.
    """
    votes = window.votes[window.votes["rcid"].isin(est.items_.index)]
    rc = window.roll_calls.loc[est.items_.index]
    key = getattr(est, "persistence_key", "text")
    if not hasattr(est, "transitions_"):
        consecutive = persistence_pairs(votes, rc, key=key)
        est.transitions_ = transition_matrix(
            consecutive["act_prev"].to_numpy(dtype=np.int64),
            consecutive["act_next"].to_numpy(dtype=np.int64),
        )
    pairs = persistence_pairs(votes, rc, key=key, consecutive=False)
    it = est.items_.loc[pairs["rcid_prev"].to_numpy()]
    fit = fit_text_persistence(
        cell_ideal_points(est, pairs["iso3"].to_numpy(), pairs["rcid_prev"].to_numpy(), rc),
        cell_ideal_points(
            est, pairs["iso3"].to_numpy(), pairs["rcid_prev"].to_numpy(), rc, "participation"
        ),
        pairs["act_prev"].to_numpy(dtype=np.int64),
        pairs["act_next"].to_numpy(dtype=np.int64),
        item={k: it[k].to_numpy() for k in ITEM_KEYS},
        gamma=gamma,
        gap=pairs["gap"].to_numpy(dtype=float),
    )
    fit["n_texts"] = int(pairs[["rcid_prev", "rcid_next"]].drop_duplicates().shape[0])
    out = {k: float(v) for k, v in fit.items()}
    out.update(_member_hold(est, rc, pairs, it, out, gamma=gamma))
    return out


def _member_hold(
    est: Any,
    rc: pd.DataFrame,
    pairs: pd.DataFrame,
    it: pd.DataFrame,
    pooled: dict[str, float],
    *,
    gamma: float,
) -> dict[str, float]:
    """Each member's hold on its record (:func:`sim.core.persistence.fit_member_hold`) on all the
    window's same-text pairs, given the pooled fit: ``hold_mean``, ``hold_sd`` (with ``_se``),
    ``loglik_hold``, ``loglik_pooled`` and per member ``hold.<iso3>``, ``hold_se.<iso3>`` (its
    posterior mean and sd) and ``hold_pairs.<iso3>``.
    """
    iso3 = pairs["iso3"].to_numpy()
    rcid = pairs["rcid_prev"].to_numpy()
    previous = pairs["act_prev"].to_numpy(dtype=np.int64)
    correlation = shock_correlation(
        pairs["gap"].to_numpy(dtype=float), tau=pooled.get("tau", np.inf),
        power=pooled.get("power", 1.0),
    )  # fmt: skip
    log_votes = conditional_vote_log_probs(
        cell_ideal_points(est, iso3, rcid, rc), previous,
        item={k: it[k].to_numpy() for k in ITEM_KEYS}, sigma=pooled["sigma"],
        scale=pooled["scale"], correlation=correlation,
    )  # fmt: skip
    presence = cell_ideal_points(est, iso3, rcid, rc, "participation") + it["presence"].to_numpy()
    codes, member = np.unique(iso3.astype(str), return_inverse=True)
    fit = fit_member_hold(
        log_act_baseline(log_votes, presence, gamma).reshape(-1, 4), previous,
        pairs["act_next"].to_numpy(dtype=np.int64), member, costs=pooled,
        n_members=len(codes),
    )  # fmt: skip
    # its own pair count beside the pooled fit's n_pairs (pairs with an earlier vote, all used)
    out = {("hold_n_pairs" if k == "n_pairs" else k): float(v) for k, v in fit.items()
           if np.ndim(v) == 0}  # fmt: skip
    for k, code in enumerate(codes):
        out[f"hold.{code}"] = float(fit["mean"][k])
        out[f"hold_se.{code}"] = float(fit["sd"][k])
        out[f"hold_pairs.{code}"] = float(fit["pairs"][k])
    return out
