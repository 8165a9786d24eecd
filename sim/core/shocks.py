"""Common shocks per UN regional group: why votes of neighbours move together.

MODEL.md §5: within a parameter draw, members act independently given their odds, so all the
correlation between members' votes comes from what the draws share. Beyond the uncertain
parameters, each UN regional group gets a common shock ``u_gj ~ N(0, tau^2)`` on the latent
policy scale of each vote (``eta_ij = beta_j x_i + u_g(i)j``): a group that caucuses moves
together. :func:`fit_group_shock_sd` estimates ``tau`` from the roll calls by marginal maximum
likelihood, holding the fitted ideal points and items fixed and integrating each (roll call,
group) shock out by Gauss-Hermite quadrature; the replay draws one shock per group and draw.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import optimize
from scipy.special import logsumexp

from sim.core.acts import FloatArray, IntArray
from sim.core.choice import own_act_log_probs
from sim.core.quadrature import normal_nodes

__all__ = ["fit_group_shock_sd"]

N_NODES = 20


def _node_loglik(
    eta: FloatArray, act: IntArray, cut_abstain: FloatArray, cut_yes: FloatArray, tau: float
) -> FloatArray:
    """Log P(act | present, eta + tau z_k) per cell and node, shape (n_cells, N_NODES)."""
    z, _ = normal_nodes(N_NODES)
    a = eta[:, None] + tau * z[None, :] - cut_abstain[:, None]
    # Each cell's own act only (the same numbers as that column of the three acts' log
    # probabilities, a third of the work).
    return own_act_log_probs(a, (cut_yes - cut_abstain)[:, None], np.asarray(act))


def fit_group_shock_sd(
    eta: FloatArray,
    act: IntArray,
    cluster: IntArray,
    *,
    cut_abstain: FloatArray,
    cut_yes: FloatArray,
) -> dict[str, Any]:
    """Marginal ML of the sd of a common latent shock per cluster (roll call × group).

    Parameters
    ----------
    eta : ndarray, shape (n_cells,)
        ``beta_j x_i`` of each cell where the member voted (absences carry no policy content).
    act : ndarray of int, shape (n_cells,)
        0 yes, 1 no, 2 abstain.
    cluster : ndarray of int, shape (n_cells,)
        Index of the cell's (roll call, group) cluster.
    cut_abstain, cut_yes : ndarray, shape (n_cells,)
        The roll call's cutpoints.

    Returns
    -------
    dict
        ``tau`` (logit units), ``tau_se`` (from the curvature of the log-likelihood in log tau),
        ``loglik_gain`` over ``tau = 0``, ``n_clusters``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> cluster = np.repeat(np.arange(300), 12)
    >>> shock = rng.normal(0, 1.5, 300)[cluster]
    >>> eta = rng.normal(0, 1, cluster.size)
    >>> latent = eta + shock + rng.logistic(size=cluster.size)
    >>> act = np.where(latent > 0.5, 0, np.where(latent < -0.5, 1, 2))
    >>> fit = fit_group_shock_sd(eta, act, cluster, cut_abstain=np.full(act.size, -0.5),
    ...                          cut_yes=np.full(act.size, 0.5))
    >>> bool(abs(fit["tau"] - 1.5) < 3 * fit["tau_se"])
    True
    """
    logw = np.log(normal_nodes(N_NODES)[1])
    _, cluster = np.unique(np.asarray(cluster), return_inverse=True)
    n_clusters = int(cluster.max()) + 1

    def loglik(tau: float) -> float:
        node = _node_loglik(eta, act, cut_abstain, cut_yes, tau)
        per_cluster = np.stack(
            [np.bincount(cluster, node[:, k], n_clusters) for k in range(N_NODES)], axis=1
        )
        return float(logsumexp(per_cluster + logw, axis=1).sum())

    res = optimize.minimize_scalar(
        lambda lt: -loglik(float(np.exp(lt))), bounds=(np.log(1e-3), np.log(10.0)),
        method="bounded", options={"xatol": 1e-5},
    )  # fmt: skip
    log_tau = float(res.x)
    h = 0.02
    curvature = (
        -loglik(float(np.exp(log_tau + h))) - 2 * res.fun - loglik(float(np.exp(log_tau - h)))
    ) / h**2
    tau = float(np.exp(log_tau))
    se = tau / np.sqrt(curvature) if curvature > 0 else float("nan")
    return {
        "tau": tau,
        "tau_se": float(se),
        "loglik_gain": float(-res.fun - loglik(1e-9)),
        "n_clusters": n_clusters,
    }
