"""Strategic absence: members torn between votes stay away more often.

MODEL.md §3 reads absence as neither compliance nor defection, "which is why a cross-pressured
state uses it" (Morse & Coggins 2024). The participation model therefore lets a member's
presence depend on how torn it is between the votes::

    logit P(present_ij) = rho_i + delta_j - gamma * H_ij

where ``H_ij`` (:func:`ambivalence`) is the normalised entropy (0 to 1) of its vote choice given
presence: 0 when one vote is certain, 1 when yes, no and abstain are equally likely.

``gamma`` is estimated jointly with the vote: the spatial fits
(:class:`sim.estimate.ideal_points.IdealPoints`
and :class:`sim.estimate.dynamic.DynamicIdealPoints`, ``strategic=True``) put this presence term in
the
likelihood of every cell, absences included, so an absence is evidence about how torn the member
was (as idealstan does in R/Stan), and ``gamma``, ``rho`` and ``delta`` are fitted with the ideal
points and items. Member-sessions without any vote (arrears, no delegation) get no strategic
term: their absence says nothing about the items. In the 2012–2022 Middle East roll calls the
joint ``gamma`` is about 2 with static ideal points (it was about 1 when fitted in a second
stage given the vote) and about 3 with dynamic ones (log-odds of absence per unit of
ambivalence). :func:`fit_strategic_presence` fits the presence part alone given the vote (at a
joint estimate it returns the same values, and their standard errors);
:func:`gamma_standard_error` gives the slope's sd with the effects profiled out. In a replay the
ambivalence is measured after the principals' pressure, so an ask that pulls a member away from
its own preference also pulls it toward staying away.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import optimize, sparse
from scipy.special import expit

from sim.core.acts import FloatArray, IntArray, last_max, last_sum
from sim.core.choice import log_expit
from sim.core.quadrature import normal_nodes

__all__ = [
    "ambivalence",
    "carry_presence",
    "fit_strategic_presence",
    "gamma_standard_error",
    "log_act_baseline",
    "presence_logit",
]

_LOG3 = float(np.log(3.0))
PRIOR_SD = 5.0  # weak N(0, 5^2) on rho and delta, as in the spatial fit


def ambivalence(log_votes: FloatArray) -> FloatArray:
    """Normalised entropy of the vote choice given presence.

    Parameters
    ----------
    log_votes : ndarray, shape (..., 3)
        Unnormalised log weights of yes, no, abstain (``ACTS[:3]`` order).

    Returns
    -------
    ndarray, shape (...)
        In [0, 1]: 0 for a certain vote, 1 for three equally likely votes.

    Examples
    --------
    >>> float(ambivalence(np.zeros(3)))
    1.0
    >>> round(float(ambivalence(np.array([0.0, -np.inf, -np.inf]))), 12)
    0.0
    """
    lv = np.maximum(np.asarray(log_votes, dtype=float), -745.0)  # exp underflows to 0 there
    shifted = lv - last_max(lv)[..., None]
    e = np.exp(shifted)
    total = last_sum(e)
    # H = -sum q log q with q = e / total, i.e. log(total) - sum(q * shifted)
    h = np.log(total) - np.einsum("...c,...c->...", e, shifted) / total
    return np.clip(h / _LOG3, 0.0, 1.0)


def presence_logit(
    base: FloatArray, log_votes: FloatArray, gamma: FloatArray | float
) -> FloatArray:
    """``rho + delta - gamma * H``: the log-odds of being present.

    Parameters
    ----------
    base : ndarray, shape (...)
        ``rho_i + delta_j``.
    log_votes : ndarray, shape (..., 3)
        Log weights of the votes the member weighs (policy and pressure).
    gamma : float or ndarray broadcastable to `base`
    """
    return np.asarray(base, float) - np.asarray(gamma, float) * ambivalence(log_votes)


def log_act_baseline(
    log_votes: FloatArray,
    presence_base: FloatArray,
    gamma: FloatArray | float,
    *,
    pressure_votes: FloatArray | None = None,
) -> FloatArray:
    """Log probabilities of the four acts from the vote part and strategic presence.

    ``log P(c) = log sigmoid(z) + log_votes(c)`` for the votes and ``log sigmoid(-z)`` for
    absence, with ``z = rho + delta - gamma * H``. ``H`` is the ambivalence of the votes the
    member weighs: its policy (`log_votes`) plus, in a replay, the principals' pressure on them.

    Parameters
    ----------
    log_votes : ndarray, shape (..., n_members, 3)
        ``log P(c | present)`` for yes, no, abstain (normalised).
    presence_base : ndarray, shape (..., n_members)
        ``rho_i + delta_j``.
    gamma : float or ndarray broadcastable to `presence_base`
    pressure_votes : ndarray, shape like `log_votes`, optional

    Returns
    -------
    ndarray, shape (..., n_members, 4)

    Examples
    --------
    >>> lb = log_act_baseline(np.log(np.full((1, 3), 1 / 3)), np.array([2.0]), 1.0)
    >>> np.exp(lb).sum().round(12)
    np.float64(1.0)
    """
    weighed = log_votes if pressure_votes is None else log_votes + pressure_votes
    z = presence_logit(presence_base, weighed, gamma)
    out = np.empty((*np.broadcast_shapes(np.shape(log_votes)[:-1], np.shape(z)), 4))
    out[..., :3] = log_votes + log_expit(z)[..., None]
    out[..., 3] = log_expit(-z)
    return out


def fit_strategic_presence(
    member: IntArray,
    item: IntArray,
    present: FloatArray,
    h: FloatArray,
    *,
    n_members: int,
    n_items: int,
) -> dict[str, Any]:
    """Penalised ML of ``rho``, ``delta`` and ``gamma`` (a logistic model with two sets of
    fixed effects and one slope), analytic gradient, standard errors from the full Hessian.

    Parameters
    ----------
    member, item : ndarray of int, shape (n_cells,)
        Row and column of each member × roll-call cell.
    present : ndarray, shape (n_cells,)
        1 if the member voted, 0 if absent.
    h : ndarray, shape (n_cells,)
        :func:`ambivalence` of the cell's vote choice under the spatial model.
    n_members, n_items : int

    Returns
    -------
    dict
        ``rho``, ``rho_se`` (n_members,), ``delta`` (n_items,), ``gamma``, ``gamma_se``,
        ``loglik``, ``loglik_gain`` over ``gamma = 0``, ``converged``.
    """
    member = np.asarray(member)
    item = np.asarray(item)
    y = np.asarray(present, dtype=float)
    h = np.asarray(h, dtype=float)
    n = n_members + n_items
    precision = 1.0 / PRIOR_SD**2

    def objective(theta: FloatArray, fixed_gamma: float | None = None) -> tuple[float, FloatArray]:
        gamma = theta[-1] if fixed_gamma is None else fixed_gamma
        z = theta[member] + theta[n_members + item] - gamma * h
        ll = np.sum(y * log_expit(z) + (1 - y) * log_expit(-z))
        r = y - expit(z)
        grad = np.concatenate(
            [np.bincount(member, r, n_members), np.bincount(item, r, n_items), [-(r @ h)]]
        )
        fe = theta[:n]
        value = -ll + 0.5 * precision * fe @ fe
        grad = -grad
        grad[:n] += precision * fe
        if fixed_gamma is not None:
            grad[-1] = 0.0
        return float(value), grad

    theta0 = np.zeros(n + 1)
    res = optimize.minimize(objective, theta0, jac=True, method="L-BFGS-B",
                            options={"maxiter": 5000, "ftol": 1e-12, "gtol": 1e-8})  # fmt: skip
    res0 = optimize.minimize(objective, theta0, args=(0.0,), jac=True, method="L-BFGS-B",
                             options={"maxiter": 5000, "ftol": 1e-12, "gtol": 1e-8})  # fmt: skip
    theta = res.x
    z = theta[member] + theta[n_members + item] - theta[-1] * h
    w = expit(z) * expit(-z)
    cells = len(y)
    design = sparse.hstack(
        [
            sparse.csr_matrix((np.ones(cells), (np.arange(cells), member)), (cells, n_members)),
            sparse.csr_matrix((np.ones(cells), (np.arange(cells), item)), (cells, n_items)),
            sparse.csr_matrix(-h[:, None]),
        ]
    ).tocsr()
    info = (design.T @ design.multiply(w[:, None])).toarray()
    info[np.arange(n), np.arange(n)] += precision
    cov = np.linalg.inv(info)
    se = np.sqrt(np.diag(cov))
    return {
        "rho": theta[:n_members],
        "rho_se": se[:n_members],
        "delta": theta[n_members:n],
        "gamma": float(theta[-1]),
        "gamma_se": float(se[-1]),
        "loglik": float(-res.fun + 0.5 * precision * theta[:n] @ theta[:n]),
        "loglik_gain": float(res0.fun - res.fun),
        "converged": bool(res.success),
    }


def gamma_standard_error(
    row: IntArray,
    item: IntArray,
    z: FloatArray,
    h: FloatArray,
    *,
    row_precision: float | FloatArray | sparse.spmatrix,
    item_precision: float,
    gamma_precision: float,
) -> float:
    """Sd of ``gamma`` from the presence information, the participation and roll-call effects
    profiled out (Schur complement, sparse solve), the vote parameters held fixed.

    Parameters
    ----------
    row, item : ndarray of int, shape (n_cells,)
        Participation effect (a member, or a member-session) and roll call of each cell.
    z, h : ndarray, shape (n_cells,)
        Presence log-odds ``rho + delta - gamma * H`` and ambivalence ``H`` at the estimate.
    row_precision : float or sparse matrix
        Prior precision of the participation effects (a scalar for independent priors, a
        sparse matrix for a random walk).
    item_precision, gamma_precision : float

    Returns
    -------
    float
        NaN if the information is singular.
    """
    from scipy.sparse import linalg as splinalg

    row, item = np.asarray(row), np.asarray(item)
    w = expit(z) * expit(-z)
    n_rows, n_items = int(row.max()) + 1, int(item.max()) + 1
    cross = sparse.csr_matrix((w, (row, item)), shape=(n_rows, n_items))
    prior_rows = (
        sparse.identity(n_rows) * row_precision
        if np.isscalar(row_precision)
        else sparse.csr_matrix(row_precision)
    )
    a = sparse.bmat(
        [
            [sparse.diags(np.bincount(row, w, n_rows)) + prior_rows, cross],
            [cross.T, sparse.diags(np.bincount(item, w, n_items) + item_precision)],
        ],
        format="csc",
    )
    # d2/dgamma d(rho or delta) = -sum w h ; d2/dgamma2 = sum w h^2
    b = -np.concatenate([np.bincount(row, w * h, n_rows), np.bincount(item, w * h, n_items)])
    c = float(np.sum(w * h * h)) + gamma_precision
    schur = c - float(b @ splinalg.spsolve(a, b))
    return float(np.sqrt(1.0 / schur)) if schur > 0 else float("nan")


def presence_probability(
    logit: FloatArray, sd: FloatArray | float, *, n_nodes: int = 15
) -> FloatArray:
    """``E[sigmoid(logit + u)]`` for ``u ~ N(0, sd^2)``, by Gauss-Hermite quadrature.

    Examples
    --------
    >>> float(presence_probability(np.array(0.0), 2.0).round(12))
    0.5
    >>> bool(presence_probability(np.array(3.0), 2.0) < expit(3.0))  # uncertainty pulls to 1/2
    True
    """
    z, w = normal_nodes(n_nodes)
    values = expit(np.asarray(logit, float)[..., None] + np.asarray(sd, float)[..., None] * z)
    return values @ w


def carry_presence(
    delta: float, delta_se: float, carryover: dict[str, float]
) -> tuple[float, float]:
    """The predicted attendance effect of a text's next vote in a later session, and its sd.

    Examples
    --------
    >>> mean, sd = carry_presence(2.0, 0.1, {"intercept": 0.2, "slope": 0.8, "sd": 0.6})
    >>> round(mean, 6), round(sd, 4)
    (1.8, 0.6053)
    """
    mean = carryover["intercept"] + carryover["slope"] * delta
    sd = float(np.hypot(carryover["slope"] * delta_se, carryover["sd"]))
    return float(mean), sd
