"""Realignment: a member's position on a group of texts that moves when its record breaks.

The spatial fit gives each member one ideal point ``x_i`` for the whole window. A member whose
votes on one group of texts (an issue code) turn after a given session, say from abstaining on
a kind of text to voting yes on it, keeps its old ``x_i`` there; its forecast moves only
through the text shock of the few texts it voted on again. Here each member ``i`` and group
``g`` carry an offset ``u_igs`` that follows a Gaussian random walk over the window's sessions
``s = 0 .. S-1``::

    eta_ij = beta_j * (x_i + u_{i,g(j),s(j)}) - cut_abstain_j      (the ordered logit's latent)
    u_ig0 ~ N(0, start_sd^2 + step_sd^2),   u_igs ~ N(u_ig(s-1), step_sd^2)

with the items and ``x_i`` held at the fit. ``start_sd`` is how far a member's standing
position on the group may sit from its overall one, ``step_sd`` how far it may move in one
session: with ``step_sd > 0`` the offset of the last session follows that session's votes, so a
few votes of a new pattern move it, and with no break it stays where the record put it.
Both sds are chosen per group on the window alone (:func:`choose_walk`): the walk is fitted on
all but the last session and scored on predicting the last session's votes, over a grid that
includes ``0`` (no offset at all), so a group whose record shows no break keeps the fit's
position. The offsets are the posterior mode, found by Newton's method on each member-group's
chain (the ordered logit is log-concave in ``u``, so the mode is unique); the forecast is the
offset of the window's last session (:func:`fit_walk`).

Absences carry no policy content (MODEL.md §3) and are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from scipy.special import expit

from sim.core.acts import ABSTAIN, NO, YES, FloatArray, IntArray
from sim.core.choice import ordered_log_probs

__all__ = ["START_SDS", "STEP_SDS", "choose_walk", "fit_walk", "walk_loglik"]

#: Candidate sds (ideal-point units; ideal points have sd 1 over members) of a member's
#: standing offset on a group of texts.
START_SDS: Final[tuple[float, ...]] = (0.0, 0.25, 0.5)
#: Candidate sds of the offset's step from one session to the next.
STEP_SDS: Final[tuple[float, ...]] = (0.0, 0.1, 0.2, 0.4)


def _derivatives(eta: FloatArray, gap: FloatArray, act: IntArray) -> tuple[FloatArray, ...]:
    """First and second derivatives of ``log P(act)`` in the latent ``eta`` (ordered logit)."""
    s1, s2 = expit(eta), expit(eta - gap)
    d1 = np.where(act == YES, 1.0 - s2, np.where(act == NO, -s1, 1.0 - s1 - s2))
    d2 = np.where(
        act == YES,
        -s2 * (1.0 - s2),
        np.where(act == NO, -s1 * (1.0 - s1), -s1 * (1.0 - s1) - s2 * (1.0 - s2)),
    )
    return d1, d2


def fit_walk(
    eta: FloatArray,
    beta: FloatArray,
    gap: FloatArray,
    act: IntArray,
    chain: IntArray,
    step: IntArray,
    *,
    n_chains: int,
    n_steps: int,
    start_sd: FloatArray | float,
    step_sd: FloatArray | float,
    max_iter: int = 50,
    tol: float = 1e-8,
) -> tuple[FloatArray, FloatArray]:
    """Posterior mode and sd of each chain's offsets (module docstring).

    Parameters
    ----------
    eta : ndarray, shape (n_cells,)
        The fitted latent ``beta_j * x_i - cut_abstain_j`` of each vote cast.
    beta, gap : ndarray, shape (n_cells,)
        The item's discrimination and ``cut_yes - cut_abstain``.
    act : ndarray of int, shape (n_cells,)
        ``YES``, ``NO`` or ``ABSTAIN``.
    chain, step : ndarray of int, shape (n_cells,)
        Each cell's member-group (``0 .. n_chains-1``) and session (``0 .. n_steps-1``).
    start_sd, step_sd : float or ndarray, shape (n_chains,)
        The walk's sds (0: that part of the offset is held at 0).

    Returns
    -------
    u, sd : ndarray, shape (n_chains, n_steps)
        The offsets' posterior mode and the square root of the diagonal of the inverse
        curvature there.

    Examples
    --------
    A member whose position gave yes 0.88 voted yes in four sessions, then no twice in the
    last: its last offset moves towards no, its first barely.

    >>> act = np.array([0] * 8 + [1, 1])
    >>> u, _ = fit_walk(np.full(10, 2.0), np.full(10, 2.0), np.zeros(10), act,
    ...                 np.zeros(10, int), np.repeat(np.arange(5), 2), n_chains=1, n_steps=5,
    ...                 start_sd=0.25, step_sd=0.4)
    >>> bool(u[0, -1] < -0.5 < u[0, 0])
    True
    """
    act = np.asarray(act, dtype=np.int64)
    if np.any((act != YES) & (act != NO) & (act != ABSTAIN)):
        raise ValueError("act must be yes, no or abstain (absences carry no position)")
    a = np.broadcast_to(np.asarray(start_sd, dtype=float), (n_chains,))
    q = np.broadcast_to(np.asarray(step_sd, dtype=float), (n_chains,))
    if np.any(a < 0) or np.any(q < 0):
        raise ValueError("start_sd and step_sd must not be negative")
    # Moving chains (q > 0): every session's offset is free, the prior's precision is the
    # walk's tridiagonal one. Standing chains (q == 0 < a): one offset for all sessions.
    # Pinned chains (a == q == 0): no offset.
    moving = q > 0
    standing = ~moving & (a > 0)
    prior = np.zeros((n_chains, n_steps, n_steps))
    if n_steps > 1:
        diff = np.diff(np.eye(n_steps), axis=0)
        prior[moving] = (diff.T @ diff)[None] / q[moving, None, None] ** 2
    prior[moving, 0, 0] += 1.0 / (a[moving] ** 2 + q[moving] ** 2)
    cell = np.asarray(chain, dtype=np.int64) * n_steps + np.asarray(step, dtype=np.int64)
    size = n_chains * n_steps

    def observed(u: FloatArray) -> tuple[FloatArray, FloatArray]:
        d1, d2 = _derivatives(eta + beta * u.reshape(-1)[cell], gap, act)
        g = np.bincount(cell, beta * d1, size).reshape(n_chains, n_steps)
        h = np.bincount(cell, beta**2 * d2, size).reshape(n_chains, n_steps)
        return g, -h  # gradient and (positive) information per chain and session

    def objective(u: FloatArray) -> FloatArray:
        """Each chain's log posterior (up to a constant)."""
        ll = walk_loglik(eta, beta, gap, act, u.reshape(-1)[cell])
        out = np.bincount(cell // n_steps, ll, n_chains)
        out -= 0.5 * np.einsum("cs,cst,ct->c", u, prior, u)
        out[standing] -= 0.5 * u[standing, 0] ** 2 / a[standing] ** 2
        return out

    u = np.zeros((n_chains, n_steps))
    eye = np.eye(n_steps)[None]
    current = objective(u)
    for _ in range(max_iter):
        g, info = observed(u)
        delta = np.zeros_like(u)
        if moving.any():
            grad = g[moving] - np.einsum("cst,ct->cs", prior[moving], u[moving])
            curv = prior[moving] + info[moving][:, :, None] * eye
            delta[moving] = np.linalg.solve(curv, grad[..., None])[..., 0]
        if standing.any():
            c = u[standing, 0]
            prec = 1.0 / a[standing] ** 2
            step_c = (g[standing].sum(axis=1) - c * prec) / (info[standing].sum(axis=1) + prec)
            delta[standing] = step_c[:, None]
        # Newton's step, halved for each chain until its own log posterior does not fall (far
        # from the mode a vote the fit found very unlikely makes the curvature understate).
        t = np.ones(n_chains)
        for _ in range(40):
            trial = objective(u + t[:, None] * delta)
            worse = trial < current - 1e-12 * np.abs(current)
            if not worse.any():
                break
            t[worse] /= 2.0
        t[worse] = 0.0
        u = u + t[:, None] * delta
        current = objective(u)
        if np.max(np.abs(t[:, None] * delta), initial=0.0) < tol:
            break
    _, info = observed(u)
    sd = np.zeros((n_chains, n_steps))
    if moving.any():
        curv = prior[moving] + info[moving][:, :, None] * eye
        sd[moving] = np.sqrt(np.diagonal(np.linalg.inv(curv), axis1=1, axis2=2))
    if standing.any():
        prec = info[standing].sum(axis=1) + 1.0 / a[standing] ** 2
        sd[standing] = (1.0 / np.sqrt(prec))[:, None]
    return u, sd


def walk_loglik(
    eta: FloatArray, beta: FloatArray, gap: FloatArray, act: IntArray, offset: FloatArray
) -> FloatArray:
    """``log P(act)`` of each vote at the latent ``eta + beta * offset``."""
    lp = ordered_log_probs(eta + beta * offset, gap)
    return np.take_along_axis(lp, np.asarray(act, dtype=np.int64)[:, None], axis=1)[:, 0]


def choose_walk(
    eta: FloatArray,
    beta: FloatArray,
    gap: FloatArray,
    act: IntArray,
    chain: IntArray,
    step: IntArray,
    group: IntArray,
    *,
    n_chains: int,
    n_steps: int,
    n_groups: int,
    start_sds: Sequence[float] = START_SDS,
    step_sds: Sequence[float] = STEP_SDS,
) -> tuple[FloatArray, FloatArray, dict[tuple[float, float], FloatArray]]:
    """Each group's walk sds, chosen by how well the walk fitted on all sessions but the last
    predicts the last session's votes (the offset carried from the session before).

    Parameters
    ----------
    group : ndarray of int, shape (n_chains,)
        Each chain's group (``0 .. n_groups-1``).
    others
        As :func:`fit_walk`.

    Returns
    -------
    start_sd, step_sd : ndarray, shape (n_groups,)
        The chosen sds; ties (within 1e-6) go to the smaller ``step_sd``, then ``start_sd``
        (no offset unless the held-out votes ask for one).
    scores : dict
        ``(start_sd, step_sd)`` -> the held-out log-likelihood per group.
    """
    group = np.asarray(group, dtype=np.int64)
    last = np.asarray(step) == n_steps - 1
    train = ~last
    scores: dict[tuple[float, float], FloatArray] = {}
    cell_group = group[np.asarray(chain)[last]]
    for q in sorted(step_sds):
        for a in sorted(start_sds):
            if n_steps < 2 or not train.any():
                u = np.zeros((n_chains, max(n_steps - 1, 1)))
            else:
                u, _ = fit_walk(
                    eta[train], beta[train], gap[train], act[train], chain[train], step[train],
                    n_chains=n_chains, n_steps=n_steps - 1, start_sd=a, step_sd=q,
                )  # fmt: skip
            ll = walk_loglik(eta[last], beta[last], gap[last], act[last],
                             u[np.asarray(chain)[last], -1])  # fmt: skip
            scores[(a, q)] = np.bincount(cell_group, ll, n_groups)
    best_a = np.zeros(n_groups)
    best_q = np.zeros(n_groups)
    for g in range(n_groups):
        top = -np.inf
        for (a, q), s in scores.items():  # in order of q, then a: the smaller wins ties
            if s[g] > top + 1e-6:
                top, best_a[g], best_q[g] = s[g], a, q
    return best_a, best_q, scores
