"""Attendance recalibrated on what is known before a vote, out of sample.

Absence varies between roll calls far more than between members' propensities (the same
Assembly leaves 7 members away on one vote and 60 on another), and the spatial model's
presence term (:mod:`sim.core.absence`) sees a roll call's attendance only through the last
vote of the same text. The attendance layer refits the probability of absence as::

    logit P'(absent) = w0 + w1 * logit P(absent) + sum_k w_k f_k + s * z,   z ~ N(0, 1)

where the ``f_k`` are features known before the vote (the meeting's expected attendance, the
member's own record by time of year and size of meeting: :mod:`sim.estimate.attendance`) and
``z`` a roll call's common attendance shock, integrated out (Gauss-Hermite, :data:`N_NODES`).
The three votes keep their shares of presence: ``P'(c) = P(c) (1 - P'(absent)) / (1 -
P(absent))``. The weights and ``s`` are fitted by maximum likelihood, under a ridge on the
slopes, on the model's predictions of a year it was not fitted on (as the tremble is,
:mod:`sim.core.tremble`), so they measure what the model misses out of sample.

Examples
--------
>>> probs = np.array([[0.6, 0.1, 0.1, 0.2]])
>>> fit = {"weights": [0.0, 1.0, 0.5], "sd": 0.0}
>>> apply_attendance(probs, np.array([[1.0]]), fit).round(4)
array([[0.5311, 0.0885, 0.0885, 0.2919]])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import optimize
from scipy.special import expit

from sim.core.acts import ABSENT, ACTS, FloatArray
from sim.core.quadrature import normal_nodes

__all__ = ["apply_attendance", "attendance_probability", "fit_attendance"]

#: Nodes of the roll call's common attendance shock.
N_NODES = 15

#: Ridge (precision) on the layer's slopes: keeps a feature the fitting year never varies at 0.
RIDGE = 1.0

#: Probabilities of absence are kept in [LIMIT, 1 - LIMIT] before their logit is taken.
LIMIT = 1e-6


def _design(probs: FloatArray, features: FloatArray) -> FloatArray:
    p = np.clip(np.asarray(probs, dtype=float)[:, ABSENT], LIMIT, 1 - LIMIT)
    f = np.asarray(features, dtype=float).reshape(len(p), -1)
    return np.column_stack([np.ones(len(p)), np.log(p / (1 - p)), f])


def attendance_probability(design: FloatArray, weights: FloatArray, sd: float) -> FloatArray:
    """``E_z expit(design @ weights + sd * z)`` for a standard normal ``z``.

    Examples
    --------
    >>> x = np.array([[1.0, 0.0]])
    >>> float(attendance_probability(x, np.array([0.0, 1.0]), 0.0)[0])
    0.5
    >>> float(attendance_probability(np.array([[1.0, -3.0]]), np.array([0.0, 1.0]), 2.0)[0]) > (
    ...     float(expit(-3.0)))
    True
    """
    eta = np.asarray(design, dtype=float) @ np.asarray(weights, dtype=float)
    if sd <= 0:
        return expit(eta)
    z, w = normal_nodes(N_NODES)
    return expit(eta[:, None] + sd * z[None, :]) @ w


def fit_attendance(probs: FloatArray, features: FloatArray, absent: Any) -> dict[str, Any]:
    """Fit the attendance layer on held-out predictions.

    Parameters
    ----------
    probs : ndarray, shape (n, 4)
        The model's held-out act probabilities (``ACTS`` order).
    features : ndarray, shape (n, k)
        Features known before each vote.
    absent : ndarray of bool, shape (n,)
        Whether each member was recorded absent.

    Returns
    -------
    dict
        ``weights`` (intercept, slope on the model's logit, then one per feature), ``sd`` (of
        the roll call's common shock), ``n`` (cells), ``loglik_gain`` (binary log-likelihood of
        attendance over the model's own).
    """
    x = _design(probs, features)
    y = np.asarray(absent, dtype=float)
    penalty = np.full(x.shape[1], RIDGE)
    penalty[:2] = 0.0  # intercept and the model's logit: free

    z, w = normal_nodes(N_NODES)

    def loglik(theta: FloatArray) -> float:
        q = np.clip(attendance_probability(x, theta[:-1], float(np.exp(theta[-1]))), 1e-12,
                    1 - 1e-12)  # fmt: skip
        return float(y @ np.log(q) + (1 - y) @ np.log1p(-q))

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        """The penalised negative log-likelihood and its analytic gradient: ``q`` is the
        quadrature's mean of ``expit(eta + sd z)``, so ``dq/deta = mean s (1 - s)`` and
        ``dq/dlog sd = mean s (1 - s) sd z``.
        """
        sd = float(np.exp(theta[-1]))
        s = expit((x @ theta[:-1])[:, None] + sd * z[None, :])
        ds = s * (1.0 - s)
        raw = s @ w
        q = np.clip(raw, 1e-12, 1 - 1e-12)
        inside = (raw > 1e-12) & (raw < 1 - 1e-12)  # the clip's gradient is 0 outside
        dll_dq = np.where(inside, y / q - (1.0 - y) / (1.0 - q), 0.0)
        grad = np.empty_like(theta)
        grad[:-1] = x.T @ (dll_dq * (ds @ w))
        grad[-1] = dll_dq @ (ds @ (w * z)) * sd
        value = float(y @ np.log(q) + (1 - y) @ np.log1p(-q))
        shrink = penalty * theta[:-1]
        grad[:-1] -= shrink
        return -value + 0.5 * float(shrink @ theta[:-1]), -grad

    start = np.zeros(x.shape[1] + 1)
    start[1] = 1.0
    start[-1] = np.log(0.5)
    bounds = [(None, None)] * x.shape[1] + [(np.log(1e-3), np.log(5.0))]
    # With the gradient exact, the fit can be pushed well past scipy's default stopping rule,
    # so that odds moved by rounding in the held-out predictions move the layer by as little.
    res = optimize.minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                            options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 1000})  # fmt: skip
    own = np.clip(np.asarray(probs, dtype=float)[:, ABSENT], 1e-12, 1 - 1e-12)
    ll0 = float(y @ np.log(own) + (1 - y) @ np.log1p(-own))
    return {
        "weights": [float(v) for v in res.x[:-1]],
        "sd": float(np.exp(res.x[-1])),
        "n": len(y),
        # the likelihood's own gain, without the ridge's penalty on the slopes
        "loglik_gain": loglik(res.x) - ll0,
    }


def apply_attendance(
    probs: FloatArray,
    features: FloatArray,
    fit: Mapping[str, Any],
    *,
    shock: FloatArray | None = None,
) -> FloatArray:
    """The act probabilities with absence refitted by `fit` (:func:`fit_attendance`), the votes
    keeping their shares of presence. Members whose absence is certain (no vote) stay absent.

    Parameters
    ----------
    probs : ndarray, shape (n, 4)
    features : ndarray, shape (n, k)
        The features the layer was fitted with, in the same order.
    fit : mapping
        ``weights`` (``k + 2``) and ``sd``.
    shock : ndarray, shape (n,), optional
        Standard normal draws of the roll call's common attendance shock, one per row (the same
        for every member of one parameter draw of a replay): the layer at that shock instead of
        integrated over it, so a replay's tally carries the shock's spread.

    Raises
    ------
    ValueError
        Rows of `probs`, `features` or `shock` that do not match, or weights that do not match
        the features.
    """
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2 or probs.shape[1] != len(ACTS):
        raise ValueError(f"attendance layer: probabilities of shape {probs.shape}, not (n, 4)")
    features = np.asarray(features, dtype=float)
    if features.size and features.shape[0] != len(probs):
        raise ValueError(f"attendance layer: {features.shape[0]} rows of features for "
                         f"{len(probs)} of probabilities")  # fmt: skip
    x = _design(probs, features)
    weights = np.asarray(fit["weights"], float)
    if len(weights) != x.shape[1]:
        raise ValueError(f"attendance layer: {len(weights)} weights for {x.shape[1] - 2} "
                         f"features (the intercept and the model's logit aside)")  # fmt: skip
    if shock is None:
        q = attendance_probability(x, weights, float(fit["sd"]))
    else:
        shock = np.asarray(shock, dtype=float)
        if shock.shape != (len(probs),):
            raise ValueError(f"attendance layer: {shock.shape} shocks for {len(probs)} rows")
        q = expit(x @ weights + float(fit["sd"]) * shock)
    pa = probs[:, ABSENT]
    sure = pa >= 1.0 - 1e-12
    scale = np.where(sure, 0.0, (1.0 - q) / np.where(sure, 1.0, 1.0 - pa))
    out = probs * scale[:, None]
    out[:, ABSENT] = np.where(sure, 1.0, q)
    return out
