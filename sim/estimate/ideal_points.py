"""Calibration: ideal points, item parameters, participation and persistence from roll calls.

The first-version estimator of MODEL.md §6 (a later version adds dynamics; the objective is
written over index arrays of observed cells so that time-varying terms can be added to it).

The model
---------
For member *i* with ideal point ``x_i`` (``ideal_point``) and participation propensity ``rho_i``
(``participation``), and roll call *j* with discrimination ``beta_j``, cutpoints
``tau1_j < tau2_j`` (``cut_abstain``, ``cut_yes``) and attendance effect ``delta_j``
(``presence``)::

    P(present_ij)            = sigmoid(rho_i + delta_j)
    eta_ij                   = beta_j * x_i
    P(vote >= abstain | pr.) = sigmoid(eta_ij - tau1_j)
    P(yes | present)         = sigmoid(eta_ij - tau2_j)

an ordered logit on the latent order yes > abstain > no (MODEL.md §3), with absence carrying no
policy content. ``tau2 = tau1 + exp(s)`` keeps the cutpoints ordered during the fit. With
``strategic=True`` (the default) presence is ``sigmoid(rho_i + delta_j - gamma * H_ij)``, ``H_ij``
the ambivalence (normalised entropy) of the member's vote given presence, and ``gamma`` is fitted
jointly with everything else (strategic absence, :mod:`sim.core.absence`): absences then carry
information about ideal points and items. A member-session without any vote gets no strategic
term (``Cells.strategic``).

Estimation is penalised maximum likelihood with weak Gaussian priors (identification and
regularisation): ``x ~ N(0, 1)``, ``beta ~ N(0, 2.5^2)``, ``tau1, tau2, rho, delta ~ N(0, 5^2)``
and the log gap ``s ~ N(0, 2^2)`` (keeps a roll call with no abstention at a finite gap);
``gamma ~ N(0, 5^2)``.
The gradient is analytic and the whole objective is vectorised over the observed cells
(``np.bincount`` accumulates it). From SVD start values, block-Newton sweeps
(:mod:`sim.core.block_newton`: each member's ``(x, rho)``, each roll call's items, ``gamma``, and
the directions that change only the prior) run until a sweep lowers the per-cell objective by
less than ``tol``; scipy's L-BFGS-B then finishes with its own stopping rule (``ftol = gtol =
tol``), usually in one or two iterations. L-BFGS-B alone took hundreds of iterations and
stopped farther from the optimum (a five-year window: 669 iterations, 3e-8 per cell above it).

Normalisation and orientation. After the fit the ideal points are rescaled to mean 0 and standard
deviation 1 across the fitted members (population sd, ``ddof=0``); discriminations are multiplied
by that sd and both cutpoints shifted by ``beta * mean``, which leaves every probability unchanged.
The dimension is then oriented so that the United States (``"USA"``) has a **negative** ideal
point (flipping the signs of ideal points and discriminations, cutpoints unchanged): positive
means farther from the US position, the usual reading of the UNGA's main dimension (Bailey,
Strezhnev & Voeten 2017). If the USA is not among the members the orientation is left as fitted,
with a warning.

Persistence. MODEL.md §3: "a member's own record on a text is the strongest single predictor of
its next vote". After the spatial fit, pairs of roll calls on the same text in consecutive
sessions give, per member, ``P(c) ∝ p_spatial(c) * exp(-cost(c | previous act))`` with three
costs (reversal, leave, return; :func:`sim.core.choice.persistence_cost`), fitted by maximum
likelihood (:func:`fit_persistence`).

The pure functions (:func:`act_probabilities_from_item`, :func:`log_policy_utility`,
:func:`fit_persistence`, :func:`fit_item_to_tally`) take arrays or frames only, so the replay can
call them without an estimator. :class:`IdealPoints` is the scikit-learn style facade.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit

from sim.core.acts import ABSENT, ACTS, ISSUE_CODES, NO, YES, BoolArray, FloatArray, IntArray
from sim.core.block_newton import BlockProblem, block_newton, static_walk
from sim.core.likelihood import (
    ITEM_PARAMS,
    PRIOR_SD,
    Cells,
    act_probabilities_from_item,
    gamma_se,
    item_standard_errors,
    log_policy_utility,
    log_prob_and_partials,
    member_information,
    negative_log_posterior,
    orient,
    start_values,
    strategic_log_prob_and_partials,
    unpack,
)
from sim.core.persistence import PERSISTENCE_COSTS, PERSISTENCE_PRIOR_SD, fit_persistence
from sim.core.threads import one_blas_thread, single_blas_thread
from sim.io.errors import DataError
from sim.io.progress import fit_progress
from sim.io.results import atomic_write_text, package_versions

__all__ = [
    "ISSUES",
    "ITEM_PARAMS",
    "IdealPoints",
    "fit_item_to_tally",
    "load_calibration",
    "persistence_pairs",
    "save_calibration",
    "transition_matrix",
]

#: Voeten's issue codes; ``IdealPoints(dimension=...)`` takes one of these or ``"all"``.
ISSUES: Final[tuple[str, ...]] = ISSUE_CODES


_FORMAT_VERSION: Final[int] = 1

#: Search bounds of :func:`fit_item_to_tally`: cutpoints and presence within this many logits
#: beyond the members' range, discrimination within +-8 (logit units per sd of ideal point).
_TALLY_BOUND: Final[float] = 30.0
_TALLY_MAX_DISCRIMINATION: Final[float] = 8.0


# ---------------------------------------------------------------------------------------------
# Pure maths: act probabilities of the spatial model
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# The penalised likelihood over observed cells
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Persistence: the same text in consecutive sessions
# ---------------------------------------------------------------------------------------------


def normalise_text(text: pd.Series) -> pd.Series:
    """Strip, collapse white space and case-fold a title so trivial variants match."""
    return text.fillna("").astype(str).str.split().str.join(" ").str.casefold()


def persistence_pairs(
    votes: pd.DataFrame,
    roll_calls: pd.DataFrame,
    *,
    key: str = "title",
    consecutive: bool = True,
) -> pd.DataFrame:
    """Member pairs of acts on the same text: each vote with the text's previous vote.

    Two non-partial roll calls pair when their `key` (normalised: stripped, white space
    collapsed, case-folded; empty titles skipped) is equal; the later one is the "next". With
    `consecutive` (the default, as in FACTS.md §4) their sessions must be consecutive; without
    it each vote pairs with the text's last vote in any earlier session, however long ago. A
    title used by more than one roll call within a session is ambiguous there (which of them
    continues which?) and that session's roll calls with it are not paired. A member
    contributes a pair when it has a cell (an act, absence included) in both roll calls.

    Parameters
    ----------
    votes : DataFrame
        Tidy cells: ``rcid``, ``iso3``, ``act`` (values in ``ACTS``).
    roll_calls : DataFrame
        Indexed by ``rcid`` with ``session``, ``partial`` and the `key` column (and ``date``
        for the gap).
    key : str, optional
        Column naming the text (``"title"``; ``"descr"`` is the other candidate in Voeten's data).
    consecutive : bool, optional
        Pair only votes in consecutive sessions.

    Returns
    -------
    DataFrame
        One row per member pair: ``iso3``, ``rcid_prev``, ``rcid_next``, ``act_prev``,
        ``act_next`` (int codes into ``ACTS``) and ``gap`` (years between the two votes; NaN
        without dates), sorted by ``rcid_next``, ``iso3``.
    """
    columns = ["iso3", "rcid_prev", "rcid_next", "act_prev", "act_next", "gap"]
    cols = ["session", key] + (["date"] if "date" in roll_calls.columns else [])
    rc = roll_calls.loc[~roll_calls["partial"].astype(bool), cols].copy()
    rc["text"] = normalise_text(rc[key])
    rc = rc[rc["text"] != ""]
    per_session = rc.groupby(["text", "session"])["text"].transform("size")
    rc = rc[per_session == 1]
    texts = rc.reset_index()[["rcid", "text", "session"]]
    if consecutive:
        following = texts.assign(session=texts["session"] - 1)
        pairs = texts.merge(following, on=["text", "session"], suffixes=("_prev", "_next"))
    else:
        ordered = texts.sort_values(["text", "session"], kind="stable")
        ordered["rcid_prev"] = ordered.groupby("text")["rcid"].shift(1)
        pairs = ordered.dropna(subset=["rcid_prev"]).rename(columns={"rcid": "rcid_next"})
        pairs["rcid_prev"] = pairs["rcid_prev"].astype(np.int64)
    if pairs.empty:
        dtypes = {"iso3": object, "gap": float}
        return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, int)) for c in columns})
    codes = _act_codes(votes)
    cells = pd.DataFrame(
        {"rcid": votes["rcid"].to_numpy(), "iso3": votes["iso3"].to_numpy(), "act": codes}
    )
    prev = cells.rename(columns={"rcid": "rcid_prev", "act": "act_prev"})
    nxt = cells.rename(columns={"rcid": "rcid_next", "act": "act_next"})
    out = pairs[["rcid_prev", "rcid_next"]].merge(prev, on="rcid_prev")
    out = out.merge(nxt, on=["rcid_next", "iso3"])
    if "date" in rc.columns:
        dates = pd.to_datetime(rc["date"])
        later = dates.reindex(out["rcid_next"]).to_numpy()
        earlier = dates.reindex(out["rcid_prev"]).to_numpy()
        out["gap"] = (later - earlier) / np.timedelta64(1, "D") / 365.25
    else:
        out["gap"] = np.nan
    return out[columns].sort_values(["rcid_next", "iso3"], kind="stable").reset_index(drop=True)


def transition_matrix(act_prev: IntArray, act_next: IntArray) -> pd.DataFrame:
    """Empirical transition shares previous act -> next act, with the row counts ``n``.

    Parameters
    ----------
    act_prev, act_next : ndarray of int, shape (n_pairs,)
        Codes into ``ACTS``.

    Returns
    -------
    DataFrame, shape (4, 5)
        Rows: previous act; columns: next act in ``ACTS`` order (shares summing to 1) and ``n``.

    Examples
    --------
    >>> transition_matrix(np.array([0, 0, 3]), np.array([0, 3, 3]))["yes"].tolist()
    [0.5, nan, nan, 0.0]
    """
    counts = np.zeros((len(ACTS), len(ACTS)))
    np.add.at(counts, (np.asarray(act_prev), np.asarray(act_next)), 1.0)
    n = counts.sum(axis=1)
    with np.errstate(invalid="ignore"):
        shares = counts / n[:, None]
    frame = pd.DataFrame(shares, index=pd.Index(ACTS, name="previous"), columns=list(ACTS))
    frame["n"] = n.astype(np.int64)
    return frame


# ---------------------------------------------------------------------------------------------
# A new item from an aggregate tally
# ---------------------------------------------------------------------------------------------


def _solve_monotone(f: Any, lo: float, hi: float) -> float:
    """Root of an increasing function on ``[lo, hi]``; the nearer end if it has none there."""
    f_lo, f_hi = f(lo), f(hi)
    if f_lo >= 0:
        return lo
    if f_hi <= 0:
        return hi
    return float(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=4 * np.finfo(float).eps))


def _item_matching_tally(
    beta: float, delta: float, x: FloatArray, rho: FloatArray, n_yes: float, n_no: float
) -> tuple[float, float]:
    """Cutpoints ``(tau1, tau2)`` at which members' expected no and yes counts are the targets.

    With ``q_i = sigmoid(rho_i + delta)``, ``E[no] = sum_i q_i sigmoid(tau1 - beta x_i)`` rises
    with ``tau1`` alone and ``E[yes] = sum_i q_i sigmoid(beta x_i - tau2)`` falls with ``tau2``
    alone, so each is a one-dimensional monotone root; abstain takes the rest, and
    ``tau1 <= tau2`` follows from a non-negative abstain count.
    """
    q = expit(rho + delta)
    eta = beta * x
    bound = _TALLY_BOUND + float(np.max(np.abs(eta), initial=0.0))
    t1 = _solve_monotone(lambda t: float(np.sum(q * expit(t - eta))) - n_no, -bound, bound)
    t2 = _solve_monotone(lambda t: n_yes - float(np.sum(q * expit(eta - t))), -bound, bound)
    return t1, max(t2, t1)


def _tally_inputs(
    members_frame: pd.DataFrame,
    tally: Mapping[str, int],
    prior_item: Mapping[str, float],
    known_acts: Mapping[str, str] | None,
    prior_scale: float | Mapping[str, float],
) -> tuple[BoolArray, IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
    """:func:`fit_item_to_tally`'s inputs checked and as arrays: which members are named, their
    act codes and counts, the counts left to the unnamed, the prior item and its sds.

    Raises
    ------
    ValueError
        As listed in :func:`fit_item_to_tally`.
    """
    known_acts = dict(known_acts or {})
    unknown_acts = set(tally) - set(ACTS)
    if unknown_acts:
        raise ValueError(f"tally: acts must be among {ACTS}; got {sorted(unknown_acts)}")
    counts = np.array([int(tally.get(act, 0)) for act in ACTS], dtype=float)
    if np.any(counts < 0):
        raise ValueError(f"tally: counts must be non-negative; got {dict(tally)}")
    n_members = len(members_frame)
    if counts.sum() != n_members:
        raise ValueError(
            f"tally sums to {int(counts.sum())} but members_frame has {n_members} members"
        )
    missing = sorted(set(known_acts) - set(members_frame.index))
    if missing:
        raise ValueError(f"known_acts: members not in members_frame: {missing}")
    bad = {k: v for k, v in known_acts.items() if v not in ACTS}
    if bad:
        raise ValueError(f"known_acts: acts must be among {ACTS}; got {bad}")
    is_known = members_frame.index.isin(list(known_acts))
    known_codes = np.array(
        [ACTS.index(known_acts[i]) for i in members_frame.index[is_known]], dtype=np.int64
    )
    known_counts = np.bincount(known_codes, minlength=len(ACTS))
    rest = counts - known_counts
    if np.any(rest < 0):
        raise ValueError("known_acts: more named members take an act than the tally counts")
    for name in ITEM_PARAMS:
        if name not in prior_item:
            raise ValueError(f"prior_item: missing {name!r}")
    scale = np.array(
        [
            float(prior_scale[k]) if isinstance(prior_scale, Mapping) else float(prior_scale)
            for k in ITEM_PARAMS
        ]
    )
    prior = np.array([float(prior_item[k]) for k in ITEM_PARAMS])
    if prior[2] < prior[1]:
        raise ValueError("prior_item: cut_yes must not be below cut_abstain")

    return is_known, known_codes, known_counts, rest, prior, scale


def fit_item_to_tally(
    members_frame: pd.DataFrame,
    tally: Mapping[str, int],
    *,
    prior_item: Mapping[str, float],
    known_acts: Mapping[str, str] | None = None,
    prior_scale: float | Mapping[str, float] = 1.0,
) -> dict[str, Any]:
    """Item parameters of a roll call known only by its tally and a few named acts.

    For a vote whose per-member record is not at hand (a committee vote reported as
    98-17-52 with 26 not voting, with a few members' acts reported by name), find
    ``(discrimination, cut_abstain, cut_yes, presence)`` by penalised maximum likelihood under
    exact moment matching::

        maximise   sum_{i named} log P_i(a_i) - sum_k (theta_k - prior_k)^2 / (2 prior_scale_k^2)
        subject to sum_{i unnamed} P_i(c) = m_c   for every act c,

    where ``m_c`` is the tally minus the named acts. So the expected tally given what is known
    (the named acts plus the unnamed members' expected acts) equals the observed tally, and the
    named acts and the prior (the last vote on the same agenda item) choose among the items that
    reproduce it.

    Why this form. A replay starts from the committee vote: its baseline must reproduce the
    committee tally, so that any movement to the plenary comes from the scenario's events, not
    from a misfit (a multinomial likelihood of the counts, tried first, let eight named acts move
    the expected tally by up to three members). The constraints separate: ``presence`` alone
    sets the expected number absent, ``cut_abstain`` (given presence and discrimination) the
    expected number of no votes, ``cut_yes`` the yes votes, each a monotone one-dimensional root;
    abstain takes the rest. What the tally cannot tell is the discrimination, which is chosen by
    the named acts and the prior: a grid over ``[-8, 8]`` (so both orientations are considered)
    refined by a bounded Brent search. A zero count puts its parameter at the search bound
    (the expected count is then below 1e-10). The members' own parameters are held fixed.

    Parameters
    ----------
    members_frame : DataFrame
        Indexed by ``iso3`` with ``ideal_point`` and ``participation`` (e.g.
        ``IdealPoints.members_``): the members of the assembly that voted.
    tally : mapping act -> int
        Counts of ``yes``, ``no``, ``abstain``, ``absent`` (missing acts count 0); must sum to the
        number of members.
    prior_item : mapping
        ``discrimination``, ``cut_abstain``, ``cut_yes``, ``presence`` of the prior item.
    known_acts : mapping iso3 -> act, optional
        Acts reported by name.
    prior_scale : float or mapping parameter -> float, optional
        Prior sd of each parameter around `prior_item` (logit units).

    Returns
    -------
    dict
        The four item parameters; ``expected_tally`` (act -> expected count given the named
        acts: their counts plus the unnamed members' expected counts; equals `tally`);
        ``model_tally`` (the expected count over all members, ignoring what is known of the
        named ones); ``converged``.

    Raises
    ------
    ValueError
        If the tally does not sum to the number of members, names an unknown act, or a named act
        exceeds its count; if a named member is not in `members_frame`.

    Examples
    --------
    >>> members = pd.DataFrame({"ideal_point": np.linspace(-2, 2, 9),
    ...                         "participation": np.full(9, 2.0)},
    ...                        index=[f"M{k}" for k in range(9)])
    >>> prior = {"discrimination": 2.0, "cut_abstain": -1.0, "cut_yes": 0.0, "presence": 0.0}
    >>> fit = fit_item_to_tally(members, {"yes": 5, "no": 2, "abstain": 1, "absent": 1},
    ...                         prior_item=prior)
    >>> {act: round(n, 6) for act, n in fit["expected_tally"].items()}
    {'yes': 5.0, 'no': 2.0, 'abstain': 1.0, 'absent': 1.0}
    """
    is_known, known_codes, known_counts, rest, prior, scale = _tally_inputs(
        members_frame, tally, prior_item, known_acts, prior_scale
    )
    x = members_frame["ideal_point"].to_numpy(dtype=float)
    rho = members_frame["participation"].to_numpy(dtype=float)
    x_k, rho_k, x_u, rho_u = x[is_known], rho[is_known], x[~is_known], rho[~is_known]
    bound = _TALLY_BOUND + float(np.max(np.abs(rho), initial=0.0))
    # Expected absences fall as presence rises: the root that sets presence.
    delta = _solve_monotone(
        lambda d: rest[ABSENT] - float(np.sum(expit(-(rho_u + d)))), -bound, bound
    )

    def item_at(beta: float) -> FloatArray:
        t1, t2 = _item_matching_tally(beta, delta, x_u, rho_u, rest[YES], rest[NO])
        return np.array([beta, t1, t2, delta])

    def objective(beta: float) -> float:
        item = item_at(beta)
        value = -0.5 * float(np.sum((item - prior) ** 2 / scale**2))
        if len(x_k):
            logp, *_ = log_prob_and_partials(
                item[0] * x_k - item[1],
                np.full_like(x_k, item[2] - item[1]),
                rho_k + item[3],
                known_codes,
            )
            value += float(logp.sum())
        return -value

    grid = np.linspace(-_TALLY_MAX_DISCRIMINATION, _TALLY_MAX_DISCRIMINATION, 161)
    values = np.array([objective(b) for b in grid])
    best = int(np.argmin(values))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(
        objective, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10}
    )
    beta = float(res.x) if res.fun <= values[best] else float(grid[best])
    item = dict(zip(ITEM_PARAMS, item_at(beta).tolist(), strict=True))
    p_all = act_probabilities_from_item(x, rho, **item)
    conditional = known_counts + p_all[~is_known].sum(axis=0)
    return {
        **item,
        "expected_tally": dict(zip(ACTS, conditional.tolist(), strict=True)),
        "model_tally": dict(zip(ACTS, p_all.sum(axis=0).tolist(), strict=True)),
        "converged": bool(res.success),
    }


# ---------------------------------------------------------------------------------------------
# Data in
# ---------------------------------------------------------------------------------------------


def _act_codes(votes: pd.DataFrame) -> IntArray:
    """Codes into ``ACTS`` of the ``act`` column; :class:`DataError` listing any other value."""
    if "act" not in votes.columns:
        raise DataError("votes: no 'act' column (expected the acts yes, no, abstain, absent)")
    act = votes["act"]
    values = act.astype(object).to_numpy()
    known = pd.Index(ACTS)
    codes = known.get_indexer(values)
    bad = codes < 0
    if bad.any():
        examples = pd.Series(values[bad]).astype(str).value_counts().head(5).to_dict()
        raise DataError(
            f"votes: {int(bad.sum())} cells have an act outside {ACTS} "
            f"(value: count {examples}); recode them to one of the four acts"
        )
    return codes.astype(np.int64)


def _check_membership(data: Any, cells: pd.DataFrame, roll_calls: pd.DataFrame) -> None:
    """Every cell's member must be in the data's membership table for the roll call's session
    (where the data has one, as :class:`sim.io.data.RollCallData` does); :class:`DataError` naming
    the first offenders otherwise.
    """
    membership = getattr(data, "membership", None)
    if not isinstance(membership, pd.DataFrame) or "session" not in roll_calls.columns:
        return
    if not {"iso3", "session"} <= set(membership.columns):
        raise DataError("membership: expected columns 'iso3' and 'session'")
    session = roll_calls["session"].reindex(cells["rcid"].to_numpy()).to_numpy()
    keys = pd.MultiIndex.from_arrays([cells["iso3"].to_numpy(), session])
    known = pd.MultiIndex.from_frame(membership[["iso3", "session"]])
    missing = ~keys.isin(known)
    if missing.any():
        examples = sorted({(str(i), int(s)) for i, s in keys[missing]})[:5]
        raise DataError(
            f"votes: {int(missing.sum())} cells belong to members missing from the membership "
            f"table of their session, e.g. (iso3, session) {examples}; add them to "
            "RollCallData.membership or drop their cells"
        )


def select_roll_calls(data: Any, dimension: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cells and roll calls of the fitted dimension, validated."""
    for attr in ("votes", "roll_calls"):
        if not isinstance(getattr(data, attr, None), pd.DataFrame):
            raise DataError(f"roll-call data: expected a DataFrame attribute {attr!r}")
    votes, roll_calls = data.votes, data.roll_calls
    missing = [c for c in ("rcid", "iso3", "act") if c not in votes.columns]
    if missing:
        raise DataError(f"votes: missing columns {missing}")
    need = ["partial"] + ([dimension] if dimension != "all" else [])
    missing = [c for c in need if c not in roll_calls.columns]
    if missing:
        raise DataError(f"roll_calls: missing columns {missing}")
    _act_codes(votes)  # validates every act before anything is dropped
    keep = ~roll_calls["partial"].astype(bool)
    if dimension != "all":
        keep &= roll_calls[dimension].astype(bool)
    rc = roll_calls.loc[keep].sort_index()
    unknown = np.setdiff1d(votes["rcid"].unique(), roll_calls.index.to_numpy())
    if len(unknown):
        raise DataError(
            f"votes: {len(unknown)} rcids have no roll call (e.g. {unknown[:5].tolist()})"
        )
    cells = votes.loc[votes["rcid"].isin(rc.index)]
    if cells.duplicated(["rcid", "iso3"]).any():
        dup = cells.loc[cells.duplicated(["rcid", "iso3"]), ["rcid", "iso3"]].head(3)
        raise DataError(f"votes: duplicate (rcid, iso3) cells, e.g. {dup.values.tolist()}")
    if cells.empty:
        raise DataError(f"no roll call with dimension {dimension!r} in the data")
    _check_membership(data, cells, roll_calls)
    rc = rc.loc[rc.index.isin(cells["rcid"].unique())]
    return cells.sort_values(["rcid", "iso3"], kind="stable").reset_index(drop=True), rc


def make_cells(
    votes: pd.DataFrame,
    members: pd.Index,
    items: pd.Index,
    item_session: IntArray | None = None,
) -> Cells:
    """Index arrays of `votes`; with `item_session` (each item's session), the ``strategic``
    mask of member-sessions with at least one vote (else members with at least one vote).
    """
    member = members.get_indexer(votes["iso3"].to_numpy()).astype(np.int64)
    item = items.get_indexer(votes["rcid"].to_numpy()).astype(np.int64)
    act = _act_codes(votes)
    session = (
        np.zeros(len(item), np.int64) if item_session is None else np.asarray(item_session)[item]
    )
    key = member * (int(session.max(initial=0)) + 1) + session
    slots, slot = np.unique(key, return_inverse=True)
    voted = np.bincount(slot, act != ABSENT, len(slots)) > 0
    return Cells(
        member=member,
        item=item,
        act=act,
        n_members=len(members),
        n_items=len(items),
        strategic=voted[slot].astype(float),
    )


# ---------------------------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------------------------


def minimise_lbfgs(
    fun: Any,
    theta0: FloatArray,
    args: tuple[Any, ...],
    *,
    label: str,
    progress: bool,
    max_iter: int,
    tol: float,
) -> optimize.OptimizeResult:
    """Scipy's L-BFGS-B on a penalised objective returning its value and analytic gradient:
    ``ftol`` and ``gtol`` both `tol`, 20 stored corrections, a progress bar labelled `label` on
    a terminal (:func:`sim.io.progress.fit_progress`). Shared by the static and dynamic fits.

    BLAS runs on one thread: L-BFGS-B makes thousands of calls on vectors of a few thousand
    numbers, where a thread pool's wake-ups cost more than the arithmetic (a five-year window:
    1.0 s of CPU instead of 3.6 s, ``benchmarks/bench_first_replay.py``).
    """
    with (
        one_blas_thread(),
        fit_progress(label, progress, total=max_iter) as callback,
    ):
        return optimize.minimize(
            fun,
            theta0,
            args=args,
            jac=True,
            method="L-BFGS-B",
            callback=callback,
            options={"maxiter": max_iter, "ftol": tol, "gtol": tol, "maxcor": 20},
        )


def static_block_newton(
    cells: Cells, theta0: FloatArray, *, strategic: bool, tol: float, max_sweeps: int
) -> tuple[FloatArray, int]:
    """Block-Newton sweeps of the static fit (:func:`sim.core.block_newton.block_newton`: one
    slot per member, one text per roll call) from `theta0` until a sweep lowers the objective
    per cell by less than `tol`. Returns the vector and the number of sweeps.
    """
    j = cells.n_items
    prob = BlockProblem(
        walk=static_walk(cells.member, cells.n_members),
        text=cells.item,
        roll_call=cells.item,
        act=cells.act,
        mask=cells.strategic,
        text_of_roll_call=np.arange(j, dtype=np.int64),
        n_texts=j,
        walk_sd=1.0,  # no links: unused
        participation_sd=1.0,
        strategic=strategic,
        roll_call_session=np.zeros(j, dtype=np.int64),
    )
    with one_blas_thread():
        theta, sweeps, _ = block_newton(prob, theta0, rtol=tol, max_sweeps=max_sweeps)
    return theta, sweeps


def _item_sessions(rc: pd.DataFrame) -> IntArray | None:
    """Each roll call's session, or None if the frame has none (the mask is then per member)."""
    if "session" not in rc.columns or rc["session"].isna().any():
        return None
    return rc["session"].to_numpy(dtype=np.int64)


class IdealPoints:
    """Ideal points, item parameters and participation by penalised maximum likelihood.

    The model, priors, normalisation (mean 0, sd 1) and orientation (USA negative) are in the
    module docstring. ``fit`` then fits the persistence costs on pairs of roll calls on the same
    text in consecutive sessions (:func:`persistence_pairs`, :func:`fit_persistence`).

    Parameters
    ----------
    dimension : str, optional
        ``"all"``: every non-partial roll call; an issue code in ``ISSUES`` (``"me"``: the
        Palestinian conflict, ``"hr"``, ...): the non-partial roll calls tagged with it.
    max_iter : int, optional
        Limit of the block-Newton sweeps and of L-BFGS-B's iterations, each.
    tol : float, optional
        The sweeps stop when one lowers the per-cell penalised negative log-likelihood by less
        than `tol`; L-BFGS-B's ``ftol`` and ``gtol``.
    persistence_key : str, optional
        Roll-call column identifying "the same text" for persistence pairs: ``"text"``
        (:func:`sim.io.data.resolution_text`, the default; ``"title"`` where a frame lacks it).
    strategic : bool, optional
        Estimate strategic absence jointly with the vote (default): presence is
        ``sigmoid(rho + delta - gamma * H)``, ``H`` the ambivalence of the member's vote on the
        roll call (:mod:`sim.core.absence`), and ``gamma`` is fitted with every other parameter, so
        absences inform the ideal points and items. ``False``: ``gamma = 0``.
    progress : bool, optional
        Show a live progress line (iterations, objective) on a terminal while fitting.

    Attributes
    ----------
    members_ : DataFrame indexed by iso3
        ``ideal_point``, ``ideal_point_se``, ``participation``, ``participation_se``,
        ``n_cells`` (roll calls it could vote on), ``n_votes`` (those it voted on).
    items_ : DataFrame indexed by rcid
        ``symbol``, ``title``, ``date``, ``discrimination``, ``cut_abstain``, ``cut_yes``,
        ``presence``, their ``_se``, ``n_cells``, ``n_votes``.
    loglik_ : float
        Log-likelihood (without the prior) at the estimate.
    n_cells_ : int
    n_iter_ : int
        Block-Newton sweeps plus the L-BFGS-B iterations that finish the fit (module docstring).
    converged_ : bool
    persistence_ : dict
        :func:`fit_persistence` output plus ``n_texts`` (roll-call pairs).
    transitions_ : DataFrame
        Empirical previous -> next act shares of the persistence pairs (:func:`transition_matrix`).
    period_ : tuple of str
        First and last roll-call date fitted (ISO).
    gamma_, gamma_se_ : float
        The strategic-absence slope and its sd (participation and roll-call effects profiled
        out, vote parameters fixed; :func:`sim.core.absence.gamma_standard_error`); 0 and 0 when
        ``strategic=False``.

    Examples
    --------
    >>> est = IdealPoints(dimension="me")
    >>> est.dimension
    'me'
    """

    def __init__(
        self,
        *,
        dimension: str = "all",
        max_iter: int = 5000,
        tol: float = 1e-10,
        persistence_key: str = "text",
        strategic: bool = True,
        progress: bool = False,
    ) -> None:
        if dimension != "all" and dimension not in ISSUES:
            raise ValueError(f"dimension: expected 'all' or one of {ISSUES}; got {dimension!r}")
        if max_iter < 1 or not tol > 0:
            raise ValueError("max_iter must be >= 1 and tol > 0")
        self.dimension = dimension
        self.max_iter = max_iter
        self.tol = tol
        self.persistence_key = persistence_key
        self.strategic = strategic
        self.progress = progress

    @single_blas_thread
    def fit(self, data: Any) -> IdealPoints:
        """Fit to roll calls.

        Parameters
        ----------
        data : RollCallData
            Anything with ``.votes`` (tidy cells: ``rcid``, ``iso3``, ``act`` in ``ACTS``,
            inferred absences included) and ``.roll_calls`` (indexed by ``rcid``: ``session``,
            ``date``, ``symbol``, ``title``, ``partial`` and the issue columns).

        Returns
        -------
        self

        Raises
        ------
        DataError
            If an act is outside ``ACTS``, cells are duplicated, or nothing is left to fit.
        """
        votes, rc = select_roll_calls(data, self.dimension)
        members = pd.Index(np.unique(votes["iso3"].to_numpy().astype(str)), name="iso3")
        items = pd.Index(rc.index.to_numpy(), name="rcid")
        cells = make_cells(votes, members, items, _item_sessions(rc))
        n, j = cells.n_members, cells.n_items

        theta0 = start_values(cells)
        if self.strategic:
            theta0 = np.append(theta0, 0.0)
        theta0, sweeps = static_block_newton(
            cells, theta0, strategic=self.strategic, tol=self.tol, max_sweeps=self.max_iter
        )
        res = minimise_lbfgs(
            negative_log_posterior, theta0, (cells, self.strategic),
            label=f"ideal points ({self.dimension})", progress=self.progress,
            max_iter=self.max_iter, tol=self.tol,
        )  # fmt: skip
        if not res.success:
            warnings.warn(
                f"IdealPoints.fit did not converge: {res.message}", RuntimeWarning, stacklevel=2
            )
        x, rho, beta, t1, s, delta = unpack(res.x, n, j)
        t2 = t1 + np.exp(s)
        self.gamma_ = float(res.x[-1]) if self.strategic else 0.0
        self.gamma_se_ = (
            gamma_se(cells, x[cells.member], rho, beta, t1, t2, delta, self.gamma_, cells.member)
            if self.strategic
            else 0.0
        )
        usa = members.get_indexer(["USA"])[0]
        if usa < 0:
            warnings.warn(
                "USA is not among the members: the dimension's orientation is arbitrary",
                RuntimeWarning,
                stacklevel=2,
            )
        x, beta, t1, t2 = orient(x, beta, t1, t2, usa if usa >= 0 else None)

        x_se, rho_se = member_information(cells, x, rho, beta, t1, t2, delta)
        item_se = item_standard_errors(cells, x, rho, beta, t1, t2, delta)
        present = cells.act != ABSENT
        self.members_ = pd.DataFrame(
            {
                "ideal_point": x,
                "ideal_point_se": x_se,
                "participation": rho,
                "participation_se": rho_se,
                "n_cells": np.bincount(cells.member, minlength=n),
                "n_votes": np.bincount(cells.member, present, n).astype(np.int64),
            },
            index=members,
        )
        self.items_ = items_table(rc, cells, items, beta, t1, t2, delta, item_se)
        self.loglik_ = self._loglik(cells)
        self.n_cells_ = len(cells.act)
        self.n_iter_ = sweeps + int(res.nit)
        self.converged_ = bool(res.success)
        dates = pd.to_datetime(rc["date"]) if "date" in rc.columns else None
        self.period_ = (
            (dates.min().date().isoformat(), dates.max().date().isoformat())
            if dates is not None
            else ("", "")
        )
        self.data_sha256_ = getattr(data, "sha256", None)
        self._fit_persistence(votes, rc)
        return self

    def _loglik(self, cells: Cells) -> float:
        m, it = self.members_, self.items_
        x, rho = m["ideal_point"].to_numpy(), m["participation"].to_numpy()
        beta, t1 = it["discrimination"].to_numpy(), it["cut_abstain"].to_numpy()
        t2, delta = it["cut_yes"].to_numpy(), it["presence"].to_numpy()
        mi, ji = cells.member, cells.item
        logp, *_ = strategic_log_prob_and_partials(
            beta[ji] * x[mi] - t1[ji], (t2 - t1)[ji], rho[mi] + delta[ji], cells.act,
            self.gamma_, cells.strategic,
        )  # fmt: skip
        return float(logp.sum())

    def _fit_persistence(self, votes: pd.DataFrame, rc: pd.DataFrame) -> None:
        key = self.persistence_key
        if key == "text" and key not in rc.columns and "title" in rc.columns:
            key = "title"  # frames not from sim.data (no derived text key): the short title
        if key not in rc.columns or "session" not in rc.columns:
            warnings.warn(
                f"roll_calls lack {self.persistence_key!r} or 'session': no persistence fit",
                RuntimeWarning,
                stacklevel=3,
            )
            pairs = pd.DataFrame(columns=["iso3", "rcid_prev", "rcid_next", "act_prev", "act_next"])
        else:
            pairs = persistence_pairs(votes, rc, key=key)
        prev = pairs["act_prev"].to_numpy(dtype=np.int64)
        nxt = pairs["act_next"].to_numpy(dtype=np.int64)
        self.transitions_ = transition_matrix(prev, nxt)
        n_texts = int(pairs[["rcid_prev", "rcid_next"]].drop_duplicates().shape[0])
        if len(pairs) == 0:
            self.persistence_ = {
                **{k: math.nan for c in PERSISTENCE_COSTS for k in (c, f"{c}_se")},
                "n_pairs": 0,
                "n_texts": 0,
                "converged": False,
            }
            return
        m = self.members_.loc[pairs["iso3"].to_numpy()]
        it = self.items_.loc[pairs["rcid_prev"].to_numpy()]
        log_base = log_policy_utility(
            m["ideal_point"].to_numpy(),
            m["participation"].to_numpy(),
            **{k: it[k].to_numpy() for k in ITEM_PARAMS},
            gamma=self.gamma_,
        )
        self.persistence_ = {**fit_persistence(log_base, prev, nxt), "n_texts": n_texts}

    def _check_fitted(self) -> None:
        if not hasattr(self, "members_"):
            raise RuntimeError("IdealPoints is not fitted: call fit(data) first")

    def predict_proba(
        self, members: Sequence[str] | pd.Index, item: Mapping[str, Any]
    ) -> FloatArray:
        """Act probabilities of members on an item.

        Parameters
        ----------
        members : sequence of str or Index
            ISO3 codes of fitted members.
        item : mapping or Series
            ``discrimination``, ``cut_abstain``, ``cut_yes``, ``presence`` (e.g. a row of
            ``items_``, or the output of :func:`fit_item_to_tally`).

        Returns
        -------
        ndarray, shape (n_members, 4)
            In ``ACTS`` order.
        """
        self._check_fitted()
        members = pd.Index(members)
        missing = members[~members.isin(self.members_.index)]
        if len(missing):
            raise KeyError(f"members not fitted: {missing.tolist()}")
        m = self.members_.loc[members]
        return act_probabilities_from_item(
            m["ideal_point"].to_numpy(),
            m["participation"].to_numpy(),
            **{k: float(item[k]) for k in ITEM_PARAMS},
            gamma=self.gamma_,
        )

    def score(self, data: Any) -> float:
        """Mean log-likelihood per cell on fitted members and roll calls in `data`.

        Cells whose roll call or member was not fitted are left out with a warning.

        Parameters
        ----------
        data : RollCallData

        Returns
        -------
        float
            Mean ``log P(act)`` over the scored cells (nats; 0 is perfect).
        """
        self._check_fitted()
        votes, _ = select_roll_calls(data, self.dimension)
        known = votes["rcid"].isin(self.items_.index) & votes["iso3"].isin(self.members_.index)
        if not known.all():
            warnings.warn(
                f"score: {int((~known).sum())} cells on roll calls or members not fitted are "
                "left out",
                RuntimeWarning,
                stacklevel=2,
            )
        votes = votes.loc[known]
        if votes.empty:
            raise DataError("score: no cell of the data is on a fitted roll call and member")
        rc = getattr(data, "roll_calls", pd.DataFrame()).reindex(self.items_.index)
        cells = make_cells(votes, self.members_.index, self.items_.index, _item_sessions(rc))
        return self._loglik(cells) / len(cells.act)


def items_table(
    rc: pd.DataFrame,
    cells: Cells,
    items: pd.Index,
    beta: FloatArray,
    t1: FloatArray,
    t2: FloatArray,
    delta: FloatArray,
    item_se: Mapping[str, FloatArray],
) -> pd.DataFrame:
    """The ``items_`` table of a fit: labels, item parameters with their se, cell counts."""
    j = len(items)
    present = cells.act != ABSENT
    return pd.DataFrame(
        {
            "symbol": _column(rc, "symbol"),
            "title": _column(rc, "title"),
            "date": rc["date"] if "date" in rc.columns else pd.NaT,
            "discrimination": beta,
            "discrimination_se": item_se["discrimination_se"],
            "cut_abstain": t1,
            "cut_abstain_se": item_se["cut_abstain_se"],
            "cut_yes": t2,
            "cut_yes_se": item_se["cut_yes_se"],
            "presence": delta,
            "presence_se": item_se["presence_se"],
            "n_cells": np.bincount(cells.item, minlength=j),
            "n_votes": np.bincount(cells.item, present, j).astype(np.int64),
        },
        index=items,
    )


def _column(rc: pd.DataFrame, name: str) -> pd.Series:
    return rc[name].fillna("").astype(str) if name in rc.columns else pd.Series("", index=rc.index)


# ---------------------------------------------------------------------------------------------
# Files: committed calibrations (CSV + JSON, no pickle, deterministic bytes)
# ---------------------------------------------------------------------------------------------


def _json_value(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return None if math.isnan(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def save_calibration(
    est: IdealPoints,
    directory: str | os.PathLike[str],
    *,
    name: str,
    data_sha256: str | None = None,
) -> tuple[Path, Path, Path]:
    """Write a fitted estimator as ``<name>.members.csv``, ``<name>.items.csv``, ``<name>.json``.

    Floats are written with 17 significant digits (``%.17g``), so they read back bit for bit;
    there is no clock time in any file, so the same fit gives the same bytes. Each file is
    written to a temporary file and renamed.

    Parameters
    ----------
    est : IdealPoints
        A fitted estimator.
    directory : path
        Created if missing.
    name : str
        File stem, e.g. ``"all_2012_2022"``.
    data_sha256 : str, optional
        Checksum of the input data (defaults to ``est.data_sha256_``, if the data had one).

    Returns
    -------
    tuple of Path
        The members CSV, items CSV and JSON paths.
    """
    est._check_fitted()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    members_path = directory / f"{name}.members.csv"
    items_path = directory / f"{name}.items.csv"
    json_path = directory / f"{name}.json"
    items = est.items_.copy()
    items["date"] = pd.to_datetime(items["date"]).dt.strftime("%Y-%m-%d").fillna("")
    csv = {"float_format": "%.17g", "lineterminator": "\n"}
    meta = {
        "format_version": _FORMAT_VERSION,
        "model": "sim.estimate.ideal_points.IdealPoints",
        "dimension": est.dimension,
        "period": {"start": est.period_[0], "end": est.period_[1]},
        "settings": {
            "max_iter": est.max_iter,
            "tol": est.tol,
            "persistence_key": est.persistence_key,
            "strategic": est.strategic,
            "prior_sd": dict(PRIOR_SD),
            "persistence_prior_sd": PERSISTENCE_PRIOR_SD,
        },
        "normalisation": "ideal points mean 0, sd 1 (ddof=0) across members; USA negative",
        "loglik": est.loglik_,
        "n_cells": est.n_cells_,
        "n_members": len(est.members_),
        "n_items": len(est.items_),
        "n_iter": est.n_iter_,
        "converged": est.converged_,
        "absence": {"gamma": est.gamma_, "gamma_se": est.gamma_se_},
        "persistence": {k: _json_value(v) for k, v in est.persistence_.items()},
        "transitions": {
            prev: {k: _json_value(v) for k, v in row.items()}
            for prev, row in est.transitions_.to_dict(orient="index").items()
        },
        "data_sha256": data_sha256 if data_sha256 is not None else est.data_sha256_,
        "versions": package_versions(),
    }
    atomic_write_text(members_path, est.members_.to_csv(**csv))
    atomic_write_text(items_path, items.to_csv(**csv))
    atomic_write_text(json_path, json.dumps(meta, indent=2, sort_keys=True, allow_nan=False) + "\n")
    return members_path, items_path, json_path


def load_calibration(directory: str | os.PathLike[str], name: str) -> IdealPoints:
    """Read a calibration written by :func:`save_calibration` into a fitted :class:`IdealPoints`.

    Parameters
    ----------
    directory : path
    name : str

    Returns
    -------
    IdealPoints
        With ``members_``, ``items_``, ``gamma_``, ``gamma_se_``, ``persistence_``,
        ``transitions_``, ``loglik_``, ``n_cells_``, ``n_iter_``, ``converged_``, ``period_``
        and ``metadata_`` (the JSON), ready for ``predict_proba``.

    Raises
    ------
    DataError
        If a file is missing or its columns are not those written by :func:`save_calibration`.
    """
    directory = Path(directory)
    paths = [directory / f"{name}{suffix}" for suffix in (".members.csv", ".items.csv", ".json")]
    for path in paths:
        if not path.is_file():
            raise DataError(f"{path}: calibration file missing (written by save_calibration)")
    meta = json.loads(paths[2].read_text(encoding="utf-8"))
    members = pd.read_csv(
        paths[0], index_col="iso3", keep_default_na=False, na_values=[""], dtype={"iso3": str}
    )
    items = pd.read_csv(
        paths[1],
        index_col="rcid",
        keep_default_na=False,
        na_values=[""],
        dtype={"symbol": str, "title": str},
    )
    need_m = {"ideal_point", "participation"}
    need_i = set(ITEM_PARAMS)
    if not need_m <= set(members.columns) or not need_i <= set(items.columns):
        raise DataError(f"{directory}/{name}: calibration files lack the parameter columns")
    items["date"] = pd.to_datetime(items["date"])
    for col in ("symbol", "title"):
        items[col] = items[col].fillna("")
    settings = meta.get("settings", {})
    est = IdealPoints(
        dimension=meta["dimension"],
        max_iter=settings.get("max_iter", 5000),
        tol=settings.get("tol", 1e-10),
        persistence_key=settings.get("persistence_key", "text"),
        strategic=settings.get("strategic", False),
    )
    absence = meta.get("absence", {"gamma": 0.0, "gamma_se": 0.0})
    est.gamma_, est.gamma_se_ = float(absence["gamma"]), float(absence["gamma_se"])
    est.members_ = members
    est.items_ = items
    est.loglik_ = meta["loglik"]
    est.n_cells_ = meta["n_cells"]
    est.n_iter_ = meta["n_iter"]
    est.converged_ = meta["converged"]
    est.period_ = (meta["period"]["start"], meta["period"]["end"])
    est.persistence_ = {k: (math.nan if v is None else v) for k, v in meta["persistence"].items()}
    # As transition_matrix made it: a row per previous act in ACTS order and columns in that
    # order (the file sorts its keys), shares as floats (NaN for an act never taken before:
    # JSON's null), ``n`` as an integer count.
    transitions = pd.DataFrame.from_dict(meta["transitions"], orient="index")
    transitions = transitions.reindex(index=list(ACTS), columns=[*ACTS, "n"])
    transitions = transitions.apply(pd.to_numeric).rename_axis("previous")
    transitions["n"] = transitions["n"].fillna(0).astype(np.int64)
    est.transitions_ = transitions
    est.data_sha256_ = meta.get("data_sha256")
    est.metadata_ = meta
    return est
