"""A member's own record on a text: the persistent text shock and the cost of visible reversal.

MODEL.md §3 asks the choice model to nest persistence: a member's own earlier vote on the same
text is the strongest single predictor of its next one. Two mechanisms carry it here.

1. **The text shock.** Each member has its own take on each text, a shock ``e ~ N(0, sigma^2)``
   on the latent policy scale (``eta = beta * x + e``) that is the same in every vote on that
   text (committee and plenary, or consecutive sessions). The calibrated spatial model
   integrates it out; a member's earlier vote reveals it. Given the shock, the rest of the latent
   noise is logistic with scale ``s``. Two natural constraints are nested: ``s = 1`` (the shock
   comes on top of the calibrated noise) and ``s = sqrt(1 - 3 sigma^2 / pi^2)`` (the shock is
   part of it, so averaged over the shock the calibrated odds come back); ``sigma`` and ``s``
   are both estimated, and the data decide (on the Middle East roll calls, ``s`` is about 1).
   Given the earlier vote ``v``, the policy term is the posterior predictive
   ``P(c | v) = int P(c | e) P(v | e) phi(e / sigma) de / P(v)``, computed by Gauss-Hermite
   quadrature (:func:`conditional_vote_log_probs`). Presence carries no policy content, so an
   earlier absence reveals nothing about ``e``.
2. **Visible reversal.** On top, the costs ``a_i(c)`` of :func:`sim.choice.persistence_cost`
   (a reversal between votes, leaving a vote for absence, returning from absence).

``sigma`` and the three costs are estimated jointly by maximum likelihood on the pairs of roll
calls with the same title in consecutive sessions (:func:`fit_text_persistence`): the costs by
the concave inner fit of :func:`sim.calibrate.fit_persistence`, ``sigma`` by profiling.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import optimize
from scipy.special import log_expit, logsumexp

from sim.acts import ABSENT, FloatArray, IntArray
from sim.choice import persistence_cost
from sim.quadrature import normal_nodes

__all__ = [
    "N_NODES",
    "conditional_vote_log_probs",
    "conditional_vote_log_probs_on_draws",
    "fit_text_persistence",
    "vote_log_probs",
]

#: Largest text-shock sd: all of the ordered logit's latent noise (``pi / sqrt(3)``).
SIGMA_MAX = float(np.pi / np.sqrt(3.0))

#: Gauss-Hermite nodes for the text shock (exact to ~1e-10 for the smooth integrands here).
N_NODES = 24

#: Grid points per member for :func:`conditional_vote_log_probs_on_draws`.
GRID = 513


def _nodes() -> tuple[FloatArray, FloatArray]:
    z, w = normal_nodes(N_NODES)
    return z, np.log(w)


def _logsumexp(a: FloatArray, *, axis: int, keepdims: bool = False) -> FloatArray:
    """``log(sum(exp(a)))`` along `axis`, max-shifted (a lean scipy.special.logsumexp for finite
    maxima, which these posteriors always have)."""
    top = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis)


def vote_log_probs(ideal_point: FloatArray, *, item: Mapping[str, Any]) -> FloatArray:
    """``log P(c | present)`` for c in yes, no, abstain (the ordered logit alone).

    Examples
    --------
    >>> item = dict(discrimination=1.0, cut_abstain=0.0, cut_yes=0.0)
    >>> np.exp(vote_log_probs(np.zeros(1), item=item)).round(3)
    array([[0.5, 0.5, 0. ]])
    """
    x = np.asarray(ideal_point, dtype=float)
    beta = np.asarray(item["discrimination"], dtype=float)
    t1 = np.asarray(item["cut_abstain"], dtype=float)
    gap = np.asarray(item["cut_yes"], dtype=float) - t1
    if np.any(gap < 0):
        raise ValueError("cut_yes must not be below cut_abstain (the order yes > abstain > no)")
    a = beta * x - t1  # logit P(vote >= abstain)
    b = a - gap  # logit P(yes)
    out = np.empty((*a.shape, 3))
    out[..., 0] = log_expit(b)
    out[..., 1] = log_expit(-a)
    with np.errstate(divide="ignore"):
        out[..., 2] = log_expit(a) + log_expit(-b) + np.log(-np.expm1(-gap))
    return out


def conditional_vote_log_probs(
    ideal_point: FloatArray,
    previous: IntArray,
    *,
    item: Mapping[str, Any],
    sigma: float,
    scale: float | None = None,
) -> FloatArray:
    """``log P(c | present, earlier vote)`` for c in yes, no, abstain: the text-shock posterior
    predictive, by Gauss-Hermite quadrature.

    Parameters
    ----------
    ideal_point : ndarray, shape (..., n_members)
        ``x_i`` (leading axes: draws).
    previous : ndarray of int, shape (n_members,)
        Earlier act (index into ``ACTS``), -1 if unknown; absence and unknown reveal nothing,
        so those members keep the calibrated term.
    item : mapping
        ``discrimination``, ``cut_abstain``, ``cut_yes`` (scalars, or arrays with a trailing
        member axis, as for pairs of roll calls).
    sigma : float
        Sd of the text shock on the latent scale (logit units); 0 gives the calibrated term.
    scale : float, optional
        Scale of the logistic noise left given the shock; default: the variance-matched
        ``sqrt(1 - 3 sigma^2 / pi^2)``.

    Returns
    -------
    ndarray, shape (..., n_members, 3)

    Examples
    --------
    >>> item = dict(discrimination=1.0, cut_abstain=-0.5, cut_yes=0.5)
    >>> p = np.exp(conditional_vote_log_probs(np.zeros(2), np.array([-1, 0]), item=item,
    ...                                       sigma=1.5))
    >>> bool(p[1, 0] > p[0, 0])      # a member that voted yes before is likelier to again
    True
    """
    x = np.asarray(ideal_point, dtype=float)
    beta = np.asarray(item["discrimination"], dtype=float)
    cuts = {k: np.asarray(item[k], dtype=float) for k in ("cut_abstain", "cut_yes")}
    base = vote_log_probs(x, item={"discrimination": beta, **cuts})
    previous = np.asarray(previous)
    voted = (previous >= 0) & (previous != ABSENT)
    if sigma <= 0 or not voted.any():
        return base
    z, logw = _nodes()
    cols = np.flatnonzero(voted)
    n_members = x.shape[-1]

    def per_member(v: FloatArray) -> FloatArray:
        """Item parameters given per member (pairs) are subset; scalars broadcast."""
        return v[..., cols][..., None] if v.ndim and v.shape[-1] == n_members else v

    if scale is None:
        if sigma >= SIGMA_MAX:
            raise ValueError(f"sigma must be below pi/sqrt(3) = {SIGMA_MAX:.4f}; got {sigma}")
        scale = float(np.sqrt(1.0 - (sigma / SIGMA_MAX) ** 2))
    if scale <= 0:
        raise ValueError(f"scale must be positive; got {scale}")
    b = per_member(beta)
    b = np.where(np.abs(b) > 1e-9, b, 1e-9)
    xs = x[..., cols][..., None] + sigma * z / b  # (..., m, K)
    lp = vote_log_probs(
        xs,
        item={"discrimination": b / scale, **{k: per_member(v) / scale for k, v in cuts.items()}},
    )
    prev = previous[cols]
    index = np.broadcast_to(prev[:, None, None], (*lp.shape[:-1], 1))
    lik = np.take_along_axis(lp, index, axis=-1)[..., 0]  # (..., m, K)
    post = logw + lik
    post = post - _logsumexp(post, axis=-1, keepdims=True)
    out = base.copy()
    out[..., cols, :] = _logsumexp(post[..., None] + lp, axis=-2)
    return out


def conditional_vote_log_probs_on_draws(
    ideal_point: FloatArray,
    previous: IntArray,
    *,
    item: Mapping[str, float],
    sigma: float,
    scale: float | None = None,
    grid: int = GRID,
) -> FloatArray:
    """:func:`conditional_vote_log_probs` for many draws of scalar-item ideal points, fast.

    For each member with an earlier vote the posterior predictive is computed exactly on
    ``grid`` ideal points spanning its draws, then interpolated linearly in log space (the
    function is smooth: with the default 513 points the error is below 1e-6 in log
    probability, checked in the tests). Members without an earlier vote are computed directly.

    Parameters
    ----------
    ideal_point : ndarray, shape (n_draws, n_members)
    previous : ndarray of int, shape (n_members,)
    item : mapping of float
    sigma : float
    grid : int

    Returns
    -------
    ndarray, shape (n_draws, n_members, 3)
    """
    x = np.asarray(ideal_point, dtype=float)
    out = vote_log_probs(x, item=item)
    previous = np.asarray(previous)
    voted = np.flatnonzero((previous >= 0) & (previous != ABSENT))
    if sigma <= 0 or len(voted) == 0:
        return out
    lo, hi = x[:, voted].min(axis=0), x[:, voted].max(axis=0)
    hi = np.where(hi > lo, hi, lo + 1e-9)
    nodes = lo[None, :] + (hi - lo)[None, :] * np.linspace(0.0, 1.0, grid)[:, None]  # (G, m)
    table = conditional_vote_log_probs(
        nodes, previous[voted], item=item, sigma=sigma, scale=scale
    )  # (G,m,3)
    position = (x[:, voted] - lo) / (hi - lo) * (grid - 1)
    left = np.clip(np.floor(position).astype(np.int64), 0, grid - 2)
    frac = (position - left)[..., None]
    cols = np.arange(len(voted))
    out[:, voted, :] = (1 - frac) * table[left, cols] + frac * table[left + 1, cols]
    return out


def _profile(
    sigma: float, scale: float, x, presence_base, gamma, item, prev, nxt
) -> tuple[float, dict[str, Any]]:
    from sim.absence import log_act_baseline
    from sim.calibrate import fit_persistence

    lv = conditional_vote_log_probs(x, prev, item=item, sigma=sigma, scale=scale)
    lb = log_act_baseline(lv, presence_base, gamma)
    fit = fit_persistence(lb, prev, nxt)
    u = lb - _pairwise_cost(prev, fit)
    ll = float(np.sum(u[np.arange(len(nxt)), nxt] - logsumexp(u, axis=1)))
    return ll, fit


def _pairwise_cost(prev: IntArray, fit: Mapping[str, Any]) -> FloatArray:
    return persistence_cost(prev, reversal=fit["reversal"], leave=fit["leave"], ret=fit["return"])[
        0
    ]


def _inverse_hessian(f: Any, theta: FloatArray, h: float = 1e-3) -> FloatArray:
    """Inverse of a central finite-difference Hessian of `f` at `theta` (2 parameters)."""
    k = len(theta)
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            hess[i, j] = (
                f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)
            ) / (4 * h * h)
    return np.linalg.pinv(hess)


def fit_text_persistence(
    ideal_point: FloatArray,
    participation: FloatArray,
    previous: IntArray,
    chosen: IntArray,
    *,
    item: Mapping[str, FloatArray],
    gamma: float = 0.0,
) -> dict[str, Any]:
    """Estimate the text-shock sd and the visible-reversal costs on pairs of votes.

    Parameters
    ----------
    ideal_point, participation : ndarray, shape (n_pairs,)
        The member of each pair (``x_i``, ``rho_i``).
    previous, chosen : ndarray of int, shape (n_pairs,)
        Its earlier and its next act on the same text.
    item : mapping of ndarray, shape (n_pairs,)
        Item parameters of the earlier roll call (the replay predicts from the last vote),
        ``presence`` included.
    gamma : float
        Strategic-absence slope (:mod:`sim.absence`), held fixed.

    Returns
    -------
    dict
        ``sigma``, ``scale`` (with ``_se`` from the profile likelihood's curvature),
        ``reversal``, ``leave``, ``return`` with ``_se``, ``loglik``, ``loglik_no_shock``
        (sigma = 0), ``loglik_variance_matched`` (best sigma with the matched scale),
        ``n_pairs``.
    """
    x = np.asarray(ideal_point, float)
    prev = np.asarray(previous)
    nxt = np.asarray(chosen)
    item = {k: np.asarray(v, float) for k, v in item.items()}
    base = np.asarray(participation, float) + item["presence"]

    def negative(theta: FloatArray) -> float:
        sigma, scale = np.exp(theta)
        return -_profile(float(sigma), float(scale), x, base, gamma, item, prev, nxt)[0]

    res = optimize.minimize(negative, np.log([1.0, 1.0]), method="Nelder-Mead",
                            options={"xatol": 1e-4, "fatol": 1e-6, "maxiter": 400})  # fmt: skip
    sigma, scale = (float(v) for v in np.exp(res.x))
    ll, fit = _profile(sigma, scale, x, base, gamma, item, prev, nxt)
    ll0, _ = _profile(0.0, 1.0, x, base, gamma, item, prev, nxt)
    matched = optimize.minimize_scalar(
        lambda ls: -_profile(float(np.exp(ls)), None, x, base, gamma, item, prev, nxt)[0],
        bounds=(np.log(0.05), np.log(0.995 * SIGMA_MAX)), method="bounded",
    )  # fmt: skip
    cov = _inverse_hessian(negative, res.x)
    se = np.sqrt(np.clip(np.diag(cov), 0, None)) * np.array([sigma, scale])
    return {
        "sigma": sigma,
        "sigma_se": float(se[0]),
        "scale": scale,
        "scale_se": float(se[1]),
        **{k: float(v) for k, v in fit.items() if k != "converged"},
        "loglik": ll,
        "loglik_no_shock": ll0,
        "loglik_variance_matched": float(-matched.fun),
        "n_pairs": len(nxt),
    }
