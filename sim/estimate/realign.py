"""Realignment of a window fit: each member's recent position on each group of texts.

:func:`fit_realignment` fits :mod:`sim.core.realign`'s random walk of each member's offset on
each issue group (the first of a roll call's issue codes, ``all`` for a roll call without one,
as :func:`sim.estimate.validate.validate` groups new texts) over the window's sessions, the
spatial fit's ideal points and items held fixed, with each group's sds chosen on the window
alone (the walk fitted on all sessions but the last, scored on the last). The offsets of the
window's last session are the realignment a forecast adds to each member's ideal point on a
text of that group (:meth:`Realignment.ideal_points`).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.core.acts import ACTS, DIMENSIONS, ISSUE_CODES
from sim.core.realign import choose_walk, fit_walk

__all__ = ["Realignment", "fit_realignment", "issue_group", "text_group"]


def text_group(row: pd.Series) -> str:
    """One roll call's group: its first issue code in ``ISSUE_CODES`` order, ``all`` if none.

    Examples
    --------
    >>> text_group(pd.Series({"me": False, "hr": True, "co": True}))
    'hr'
    >>> text_group(pd.Series({"symbol": "A/RES/ES-11/1"}))
    'all'
    """
    for code in ISSUE_CODES:
        if bool(row.get(code, False)):
            return code
    return "all"


def issue_group(roll_calls: pd.DataFrame) -> pd.Series:
    """Each roll call's group (:func:`text_group`: its first issue code in ``ISSUE_CODES``
    order, ``all`` if none).
    """
    return pd.Series([text_group(row) for _, row in roll_calls.iterrows()],
                     index=roll_calls.index, dtype=object)  # fmt: skip


@dataclass(frozen=True)
class Realignment:
    """Each member's offset on each group at the window's end, and how it was chosen.

    Attributes
    ----------
    offset, offset_sd : DataFrame
        Indexed by iso3 (the fit's members), one column per group (``DIMENSIONS``): the
        offset's posterior mode and sd in the window's last session (ideal-point units).
    start_sd, step_sd : dict
        Each group's chosen sds (0 and 0: the group keeps the spatial fit's positions).
    scores : DataFrame
        The held-out log-likelihood of the last session's votes, per group (columns) and
        candidate ``(start_sd, step_sd)`` (rows).
    n_sessions : int
        Sessions the walk runs over.
    """

    offset: pd.DataFrame
    offset_sd: pd.DataFrame
    start_sd: dict[str, float]
    step_sd: dict[str, float]
    scores: pd.DataFrame
    n_sessions: int

    def ideal_points(self, ideal_point: pd.Series, group: str) -> pd.Series:
        """`ideal_point` (indexed by iso3) moved by each member's offset on `group` (members
        without one keep theirs).
        """
        shift = self.offset[group] if group in self.offset.columns else None
        if shift is None:
            return ideal_point
        return ideal_point + shift.reindex(ideal_point.index).fillna(0.0)

    def moved_fit(self, fit: Any, group: str) -> Any:
        """`fit` (a :class:`sim.estimate.window.WindowFit`) with each member's ideal point moved
        by its offset on `group`: what a forecast of a text of that group reads.
        """
        est = copy.copy(fit.est)
        est.members_ = est.members_.assign(
            ideal_point=self.ideal_points(est.members_["ideal_point"], group).to_numpy()
        )
        return dataclasses.replace(fit, est=est)


def fit_realignment(fit: Any) -> Realignment:
    """:mod:`sim.core.realign`'s walk on a window fit (:func:`sim.estimate.window.fit_window`).

    Parameters
    ----------
    fit : WindowFit
        Its ``est`` (members' ``ideal_point``, items' ``discrimination``, ``cut_abstain``,
        ``cut_yes``) and ``window`` (the votes and roll calls fitted).

    Returns
    -------
    Realignment
    """
    est, window = fit.est, fit.window
    items, members = est.items_, est.members_
    rc = window.roll_calls.loc[items.index]
    votes = window.votes
    votes = votes[
        votes["rcid"].isin(items.index)
        & votes["iso3"].isin(members.index)
        & (votes["act"].astype(str) != "absent")
    ]
    groups = list(DIMENSIONS)
    group_of = issue_group(rc).map({g: k for k, g in enumerate(groups)})
    sessions = np.sort(rc["session"].unique())
    rcid = votes["rcid"].to_numpy()
    member = members.index.get_indexer(votes["iso3"].to_numpy())
    group = group_of.reindex(rcid).to_numpy(np.int64)
    step = np.searchsorted(sessions, rc.loc[rcid, "session"].to_numpy())
    it = items.loc[rcid]
    beta = it["discrimination"].to_numpy(float)
    t1 = it["cut_abstain"].to_numpy(float)
    gap = it["cut_yes"].to_numpy(float) - t1
    x = members["ideal_point"].to_numpy(float)[member]
    eta = beta * x - t1
    act = pd.Categorical(votes["act"].astype(str), categories=list(ACTS)).codes.astype(np.int64)
    n_groups = len(groups)
    chain = member * n_groups + group
    n_chains = len(members) * n_groups
    chain_group = np.tile(np.arange(n_groups), len(members))
    start_sd, step_sd, scores = choose_walk(
        eta, beta, gap, act, chain, step, chain_group,
        n_chains=n_chains, n_steps=len(sessions), n_groups=n_groups,
    )  # fmt: skip
    u, sd = fit_walk(
        eta, beta, gap, act, chain, step, n_chains=n_chains, n_steps=len(sessions),
        start_sd=start_sd[chain_group], step_sd=step_sd[chain_group],
    )  # fmt: skip
    shape = (len(members), n_groups)
    return Realignment(
        offset=pd.DataFrame(u[:, -1].reshape(shape), index=members.index, columns=groups),
        offset_sd=pd.DataFrame(sd[:, -1].reshape(shape), index=members.index, columns=groups),
        start_sd={g: float(start_sd[k]) for k, g in enumerate(groups)},
        step_sd={g: float(step_sd[k]) for k, g in enumerate(groups)},
        scores=pd.DataFrame(
            {g: [float(s[k]) for s in scores.values()] for k, g in enumerate(groups)},
            index=pd.MultiIndex.from_tuples(list(scores), names=["start_sd", "step_sd"]),
        ),
        n_sessions=len(sessions),
    )
