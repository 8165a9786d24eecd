"""Point predictions of one vote from calibrated parameters (no parameter draws).

The same model as a replay without principals: the text-shock posterior given each member's
earlier act (:mod:`sim.core.persistence`), strategic absence (:mod:`sim.core.absence`), reversal
costs
(:func:`sim.core.choice.persistence_cost`), with the common group shock integrated out exactly by
Gauss-Hermite quadrature (each member's marginal odds). Used by validation and forecasts'
scoring, where thousands of roll calls must be predicted quickly.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sim.core.absence import log_act_baseline
from sim.core.acts import FloatArray, IntArray
from sim.core.choice import act_probabilities, persistence_cost, utilities
from sim.core.persistence import conditional_vote_log_probs, shock_correlation, vote_log_probs
from sim.core.quadrature import normal_nodes

__all__ = ["member_odds"]


def member_odds(
    ideal_point: FloatArray,
    participation: FloatArray,
    previous: IntArray,
    *,
    item: Mapping[str, float],
    persistence: Mapping[str, float],
    gamma: float,
    tau: float,
    participation_sd: FloatArray | float = 0.0,
    gap: FloatArray | float = 0.0,
    hold: FloatArray | float = 0.0,
    hold_sd: FloatArray | float = 0.0,
    n_nodes: int = 15,
) -> FloatArray:
    """Each member's probabilities of yes, no, abstain, absent on one roll call.

    Parameters
    ----------
    ideal_point, participation : ndarray, shape (n_members,)
    previous : ndarray of int, shape (n_members,)
        Act on the same text's last roll call (index into ``ACTS``), -1 if none.
    item : mapping
        ``discrimination``, ``cut_abstain``, ``cut_yes``, ``presence``: floats, or arrays of
        shape (n_members,) to predict many (member, roll call) cells in one call.
    persistence : mapping
        ``sigma``, ``scale``, ``reversal``, ``leave``, ``return`` and, if the shock moves over
        time, ``tau`` and ``power`` (a bundle's persistence).
    gamma, tau : float
        Strategic-absence slope and group-shock sd.
    participation_sd : float or ndarray, shape (n_members,)
        Uncertainty of each participation (e.g. grown by the participation walk), integrated
        out by quadrature.
    gap : float or ndarray, shape (n_members,)
        Years since each member's previous act on the text (the shock's correlation decays
        with it, :func:`sim.core.persistence.shock_correlation`).
    hold, hold_sd : float or ndarray, shape (n_members,)
        Each member's extra cost of a reversal on top of the pooled ``reversal`` (how strongly
        it holds its record: :func:`sim.core.persistence.fit_member_hold`) and its sd,
        integrated out by quadrature.

    Returns
    -------
    ndarray, shape (n_members, 4)
        Rows sum to one.

    Examples
    --------
    >>> item = dict(discrimination=2.0, cut_abstain=-1.0, cut_yes=0.0, presence=0.0)
    >>> pers = dict(sigma=1.0, scale=1.0, reversal=1.0, leave=0.3, **{"return": 0.3})
    >>> p = member_odds(np.array([0.5, 0.5]), np.array([2.0, 2.0]), np.array([0, -1]),
    ...                 item=item, persistence=pers, gamma=1.0, tau=0.5)
    >>> bool(np.allclose(p.sum(axis=1), 1)) and bool(p[0, 0] > p[1, 0])
    True
    """
    z, w = normal_nodes(n_nodes)
    beta = np.asarray(item["discrimination"], float)
    beta = np.where(beta != 0, beta, 1e-9)
    x = np.asarray(ideal_point, float)[None, :] + tau * z[:, None] / beta  # (K, M)
    correlation = shock_correlation(
        np.broadcast_to(np.asarray(gap, float), np.shape(previous)),
        tau=float(persistence.get("tau", np.inf)), power=float(persistence.get("power", 1.0)),
    )  # fmt: skip
    log_votes = conditional_vote_log_probs(
        x, previous, item=item, sigma=float(persistence.get("sigma", 0.0)),
        scale=persistence.get("scale"), correlation=correlation, in_probabilities=True,
    )  # fmt: skip
    zp, wp = normal_nodes(9)
    base = (
        np.asarray(participation, float)[None, :]
        + np.asarray(item["presence"], float)
        + zp[:, None] * np.asarray(participation_sd, float)
    )  # (L, M)
    log_baseline = log_act_baseline(
        log_votes[None], np.broadcast_to(base[:, None, :], (len(zp), *x.shape)), gamma
    )  # (L, K, M, 4)
    cost = persistence_cost(
        np.asarray(previous), reversal=persistence["reversal"], leave=persistence["leave"],
        ret=persistence["return"],
    )  # fmt: skip
    hold = np.broadcast_to(np.asarray(hold, float), np.shape(previous))
    hold_sd = np.broadcast_to(np.asarray(hold_sd, float), np.shape(previous))
    reversal = persistence_cost(np.asarray(previous), reversal=1.0, leave=0.0, ret=0.0)
    # the member's hold, 7 nodes; a known hold (or none: the pooled cost) is one node of weight 1
    zh, wh = normal_nodes(7) if np.any(hold_sd) else (np.zeros(1), np.ones(1))
    out = np.zeros((len(hold), 4))
    for zk, wk in zip(zh, wh, strict=True):
        extra = (hold + zk * hold_sd)[None, :, None] * reversal
        odds = act_probabilities(utilities(log_baseline, cost=cost + extra))
        out += wk * np.einsum("l,k,lkmc->mc", wp, w, odds)
    return out


def new_item_odds(
    ideal_point: FloatArray,
    participation: FloatArray,
    *,
    items: Mapping[str, FloatArray],
    gamma: float,
    tau: float,
    participation_sd: FloatArray | float = 0.0,
    n_nodes: int = 15,
    per_item: bool = False,
) -> FloatArray:
    """Members' odds on a roll call whose item is unknown but drawn like `items`.

    The predictive distribution of a new resolution of an issue: the average of the members'
    odds over the fitted items of that issue (each with the group shock integrated out), with
    no earlier act to condition on.

    Parameters
    ----------
    ideal_point, participation : ndarray, shape (n_members,)
    items : mapping of ndarray, shape (n_items,)
        ``discrimination``, ``cut_abstain``, ``cut_yes``, ``presence`` of the reference items.
    gamma, tau : float
    per_item : bool
        Return each item's odds instead of their average.

    Returns
    -------
    ndarray, shape (n_members, 4), or (n_items, n_members, 4) with `per_item`
    """
    z, w = normal_nodes(n_nodes)
    beta = np.asarray(items["discrimination"], float)
    beta = np.where(np.abs(beta) > 1e-9, beta, 1e-9)[None, :, None]  # (1, J, 1)
    x = np.asarray(ideal_point, float)[None, None, :] + tau * z[:, None, None] / beta  # (K,J,M)
    cuts = {k: np.asarray(items[k], float)[None, :, None] for k in ("cut_abstain", "cut_yes")}
    log_votes = vote_log_probs(x, item={"discrimination": beta, **cuts})
    zp, wp = normal_nodes(5)
    out = np.zeros((beta.shape[1], len(np.asarray(ideal_point)), 4))
    for zl, wl in zip(zp, wp, strict=True):  # participation uncertainty, 5 nodes
        rho = np.asarray(participation, float) + zl * np.asarray(participation_sd, float)
        base = rho[None, :] + np.asarray(items["presence"], float)[:, None]
        log_baseline = log_act_baseline(log_votes, np.broadcast_to(base[None], x.shape), gamma)
        odds = act_probabilities(log_baseline)  # (K, J, M, 4)
        out += wl * np.einsum("k,kjmc->jmc", w, odds)
    return out if per_item else out.mean(axis=0)
