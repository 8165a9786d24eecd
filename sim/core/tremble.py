"""The tremble: a small share of acts the choice model does not explain, calibrated out of sample.

The logit's tails are thin: a member the spatial model places far from a cut gets odds of one
in several thousand of abstaining or voting no, yet members do such things several times as
often (a delegation's error, a late instruction, a vote on a side issue; the rolling-origin
predictions of 2015-2022 abstained 0.6% of the time where the model said 0.03%). The tremble
mixes each member's odds with the act shares ``b``::

    P'(c) = (1 - eps) * P(c) + eps * b(c)

(the "guessing" share of item-response models), over the acts a member has (a member without a
vote stays absent). ``eps`` and ``b`` are estimated by maximum likelihood on the model's own
predictions of a year it was not fitted on: the last complete calendar year before the vote,
predicted from the window of years before it (:func:`held_out_tremble`), so the tremble
measures what the model misses out of sample, not in it.

Examples
--------
>>> p = np.array([[0.999, 0.0, 0.001, 0.0]])
>>> apply_tremble(p, eps=0.02, base=np.array([0.7, 0.1, 0.1, 0.1])).round(5)
array([[0.99302, 0.002  , 0.00298, 0.002  ]])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import optimize

from sim.core.acts import ACTS, BoolArray, FloatArray, IntArray

__all__ = ["apply_tremble", "fit_tremble"]

#: Upper bound of the tremble share (a model that misses more than this is not calibrated).
EPS_MAX = 0.5


def apply_tremble(
    probs: FloatArray, *, eps: float, base: FloatArray, available: BoolArray | None = None
) -> FloatArray:
    """``(1 - eps) * probs + eps * base``, with `base` restricted to each member's available acts.

    Parameters
    ----------
    probs : ndarray, shape (..., 4)
        Act probabilities (``ACTS`` order), summing to 1.
    eps : float
        Tremble share in [0, 1).
    base : ndarray, shape (4,)
        Act shares of the tremble, summing to 1.
    available : ndarray of bool, shape broadcastable to `probs`, optional
        False where an act is impossible; there the tremble puts nothing.
    """
    probs = np.asarray(probs, dtype=float)
    b = np.broadcast_to(np.asarray(base, dtype=float), probs.shape)
    if available is not None:
        b = np.where(np.broadcast_to(available, probs.shape), b, 0.0)
        b = b / b.sum(axis=-1, keepdims=True)
    return (1.0 - eps) * probs + eps * b


def fit_tremble(probs: FloatArray, acts: IntArray) -> dict[str, Any]:
    """Maximum-likelihood tremble share and act shares for predictions `probs` of `acts`.

    Parameters
    ----------
    probs : ndarray, shape (n, 4)
        Held-out predicted probabilities.
    acts : ndarray of int, shape (n,)
        The acts taken (indices into ``ACTS``).

    Returns
    -------
    dict
        ``eps``, ``eps_se`` (from the observed information), ``base`` (the observed act shares,
        a list in ``ACTS`` order), ``n`` (cells), ``loglik_gain`` (over ``eps = 0``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> acts = rng.integers(0, 4, 20000)
    >>> sure = np.eye(4)[np.where(rng.random(20000) < 0.9, acts, (acts + 1) % 4)]
    >>> round(fit_tremble(sure * 0.999 + 0.00025, acts)["eps"], 2)   # 10% wrong: eps ~ 0.13
    0.13
    """
    probs = np.asarray(probs, dtype=float)
    acts = np.asarray(acts)
    counts = np.bincount(acts, minlength=len(ACTS)).astype(float)
    base = (counts + 0.5) / (counts.sum() + 0.5 * len(ACTS))
    p = probs[np.arange(len(acts)), acts]
    b = base[acts]

    def negloglik(eps: float) -> float:
        return -float(np.sum(np.log((1.0 - eps) * p + eps * b)))

    result = optimize.minimize_scalar(negloglik, bounds=(0.0, EPS_MAX), method="bounded",
                                      options={"xatol": 1e-7})  # fmt: skip
    eps = float(result.x)
    mix = (1.0 - eps) * p + eps * b
    information = float(np.sum(((b - p) / mix) ** 2))
    return {
        "eps": eps,
        "eps_se": float(1.0 / np.sqrt(information)) if information > 0 else None,
        "base": [float(x) for x in base],
        "n": len(acts),
        "loglik_gain": negloglik(0.0) - float(result.fun),
    }
