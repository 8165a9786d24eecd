"""A member's own record on a text: the persistent text shock and the cost of visible reversal.

MODEL.md §3 asks the choice model to nest persistence: a member's own earlier vote on the same
text is the strongest single predictor of its next one. Two mechanisms carry it here.

1. **The text shock.** Each member has its own take on each text, a shock ``e ~ N(0, sigma^2)``
   on the latent policy scale (``eta = beta * x + e``) that is the same in every vote on that
   text (committee and plenary, or consecutive sessions). The calibrated spatial model
   integrates it out; a member's earlier vote reveals it. Given the earlier vote ``v``, the
   policy term becomes the posterior predictive
   ``P(c | v) = int P(c | e) P(v | e) phi(e / sigma) de / P(v)``, computed exactly by
   Gauss-Hermite quadrature (:func:`conditional_log_baseline`). Presence carries no policy
   content, so an earlier absence reveals nothing about ``e``.
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
from scipy.special import logsumexp

from sim.acts import ABSENT, FloatArray, IntArray
from sim.choice import persistence_cost

__all__ = ["N_NODES", "conditional_log_baseline", "fit_text_persistence"]

#: Gauss-Hermite nodes for the text shock (exact to ~1e-10 for the smooth integrands here).
N_NODES = 24


def _nodes() -> tuple[FloatArray, FloatArray]:
    z, w = np.polynomial.hermite_e.hermegauss(N_NODES)  # weight exp(-z^2/2)
    return z, np.log(w / w.sum())


def conditional_log_baseline(
    ideal_point: FloatArray,
    participation: FloatArray,
    previous: IntArray,
    *,
    item: Mapping[str, Any],
    sigma: float,
) -> FloatArray:
    """Log policy term given each member's earlier vote on the same text.

    Parameters
    ----------
    ideal_point, participation : ndarray, shape (..., n_members)
        ``x_i`` and ``rho_i`` (leading axes: draws).
    previous : ndarray of int, shape (n_members,)
        Earlier act (index into ``ACTS``), -1 if unknown; absence and unknown leave the
        calibrated term unchanged.
    item : mapping
        ``discrimination``, ``cut_abstain``, ``cut_yes``, ``presence`` (scalars or arrays
        broadcastable to `ideal_point`).
    sigma : float
        Sd of the text shock on the latent scale (logit units); 0 gives the calibrated term.

    Returns
    -------
    ndarray, shape (..., n_members, 4)
        ``log P(c | previous)``; rows sum to one after ``exp``.

    Examples
    --------
    >>> item = dict(discrimination=1.0, cut_abstain=-0.5, cut_yes=0.5, presence=3.0)
    >>> p0 = np.exp(conditional_log_baseline(np.zeros(2), np.zeros(2) + 2, np.array([-1, 0]),
    ...                                      item=item, sigma=2.0))
    >>> bool(p0[1, 0] > p0[0, 0])      # a member that voted yes before is likelier to again
    True
    """
    from sim.calibrate import log_policy_utility

    x = np.asarray(ideal_point, dtype=float)
    rho = np.asarray(participation, dtype=float)
    beta = np.asarray(item["discrimination"], dtype=float)
    params = {k: np.asarray(item[k], dtype=float) for k in ("cut_abstain", "cut_yes", "presence")}
    base = log_policy_utility(x, rho, discrimination=beta, **params)
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

    b = per_member(beta)
    b = np.where(np.abs(b) > 1e-9, b, 1e-9)
    xs = x[..., cols][..., None] + sigma * z / b  # (..., m, K)
    rs = np.broadcast_to(rho[..., cols][..., None], xs.shape)
    expand = {k: per_member(v) for k, v in params.items()}
    lp = log_policy_utility(xs, rs, discrimination=b, **expand)  # (..., m, K, 4)
    prev = previous[cols]
    index = np.broadcast_to(prev[:, None, None], (*lp.shape[:-1], 1))
    lik = np.take_along_axis(lp, index, axis=-1)[..., 0]  # (..., m, K)
    post = logw + lik
    post = post - logsumexp(post, axis=-1, keepdims=True)
    out = base.copy()
    out[..., cols, :] = logsumexp(post[..., None] + lp, axis=-2)
    return out


def _profile(sigma: float, x, rho, item, prev, nxt) -> tuple[float, dict[str, Any]]:
    from sim.calibrate import fit_persistence

    lb = conditional_log_baseline(x, rho, prev, item=item, sigma=sigma) if sigma > 0 else None
    if lb is None:
        from sim.calibrate import log_policy_utility

        lb = log_policy_utility(x, rho, discrimination=item["discrimination"],
                                cut_abstain=item["cut_abstain"], cut_yes=item["cut_yes"],
                                presence=item["presence"])  # fmt: skip
    fit = fit_persistence(lb, prev, nxt)
    cost = _pairwise_cost(prev, fit)
    u = lb - cost
    ll = float(np.sum(u[np.arange(len(nxt)), nxt] - logsumexp(u, axis=1)))
    return ll, fit


def _pairwise_cost(prev: IntArray, fit: Mapping[str, Any]) -> FloatArray:
    return persistence_cost(prev, reversal=fit["reversal"], leave=fit["leave"], ret=fit["return"])[
        0
    ]


def fit_text_persistence(
    ideal_point: FloatArray,
    participation: FloatArray,
    previous: IntArray,
    chosen: IntArray,
    *,
    item: Mapping[str, FloatArray],
) -> dict[str, Any]:
    """Estimate the text-shock sd and the visible-reversal costs on pairs of votes.

    Parameters
    ----------
    ideal_point, participation : ndarray, shape (n_pairs,)
        The member of each pair.
    previous, chosen : ndarray of int, shape (n_pairs,)
        Its earlier and its next act on the same text.
    item : mapping of ndarray, shape (n_pairs,)
        Item parameters of the earlier roll call (the replay predicts from the last vote).

    Returns
    -------
    dict
        ``sigma`` (and ``sigma_se`` from the profile likelihood's curvature in log sigma),
        ``reversal``, ``leave``, ``return`` with ``_se``, ``loglik``, ``loglik_no_shock``,
        ``n_pairs``.
    """
    x = np.asarray(ideal_point, float)
    rho = np.asarray(participation, float)
    prev = np.asarray(previous)
    nxt = np.asarray(chosen)
    item = {k: np.asarray(v, float) for k, v in item.items()}

    def negative(log_sigma: float) -> float:
        return -_profile(float(np.exp(log_sigma)), x, rho, item, prev, nxt)[0]

    res = optimize.minimize_scalar(negative, bounds=(np.log(0.05), np.log(20.0)),
                                   method="bounded", options={"xatol": 1e-4})  # fmt: skip
    log_sigma = float(res.x)
    h = 0.05
    curvature = (negative(log_sigma + h) - 2 * res.fun + negative(log_sigma - h)) / h**2
    ll, fit = _profile(float(np.exp(log_sigma)), x, rho, item, prev, nxt)
    ll0, _ = _profile(0.0, x, rho, item, prev, nxt)
    sigma = float(np.exp(log_sigma))
    se_log = float(1 / np.sqrt(curvature)) if curvature > 0 else float("nan")
    return {
        "sigma": sigma,
        "sigma_se": sigma * se_log,
        **{k: float(v) for k, v in fit.items() if k != "converged"},
        "loglik": ll,
        "loglik_no_shock": ll0,
        "n_pairs": len(nxt),
    }
