"""Participation fits on tables of roll calls: the member-by-session walk and the carry-over of a
text's attendance effect to its next vote.

The maths of strategic absence (:mod:`sim.core.absence`) on arrays; here the fits that read
member, session and text labels from data frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg
from scipy.special import expit

from sim.core.absence import PRIOR_SD
from sim.core.acts import FloatArray, IntArray
from sim.core.choice import log_expit
from sim.core.walk import random_walk, walk_penalty, walk_se

#: Newton steps :func:`fit_participation_walk` may take (it needs about ten), and the largest
#: gradient component it stops at (its L-BFGS-B predecessor stopped at 1e-8).
WALK_NEWTON_STEPS = 100
WALK_GTOL = 1e-9


def fit_participation_walk(
    member: IntArray,
    session: IntArray,
    offset: FloatArray,
    present: FloatArray,
    *,
    walk_sd: float,
) -> dict[str, Any]:
    """Participation that moves over sessions: ``rho_{i,s}`` under a Gaussian random walk.

    Holds the roll-call effects and the ambivalence term fixed in `offset`
    (``delta_j - gamma * H_ij``) and fits one participation per member and session with the
    prior ``rho_{i,s} ~ N(rho_{i,s'}, walk_sd^2 (s - s'))`` between a member's consecutive
    sessions (``N(0, 5^2)`` for its first), by penalised ML: Newton's method on the tridiagonal
    Hessian, to a largest gradient component of :data:`WALK_GTOL`.

    Parameters
    ----------
    member, session : ndarray of int, shape (n_cells,)
    offset, present : ndarray, shape (n_cells,)
    walk_sd : float
        Logit units per session.

    Returns
    -------
    dict
        ``slots`` (DataFrame of member, session, rho, rho_se), ``last`` (per member: its last
        session, rho and rho_se), ``loglik``.
    """
    y = np.asarray(present, float)
    offset = np.asarray(offset, float)
    walk = random_walk(member, session)
    n, cell_slot = walk.n_slots, walk.slot

    def objective(rho: FloatArray) -> tuple[float, FloatArray]:
        z = rho[cell_slot] + offset
        ll = np.sum(y * log_expit(z) + (1 - y) * log_expit(-z))
        prior, prior_grad = walk_penalty(rho, walk, walk_sd, PRIOR_SD)
        return -ll + prior, prior_grad - np.bincount(cell_slot, y - expit(z), n)

    # The objective is strictly convex and its Hessian tridiagonal (the data's information on
    # the diagonal, the walk's precision linking a member's consecutive sessions): Newton's
    # method with a banded solve reaches the optimum in a few steps.
    precision = 1.0 / (walk_sd**2 * walk.gap)
    prior_diag = np.zeros(n)
    prior_diag[walk.first] += 1.0 / PRIOR_SD**2
    prior_diag[walk.prev] += precision  # each slot at most once a "prev" and once a "next"
    prior_diag[walk.next] += precision
    banded = np.zeros((2, n))
    banded[1, walk.prev] = -precision  # H[prev + 1, prev], the lower band
    rho = np.zeros(n)
    value, grad = objective(rho)
    converged = False
    for _ in range(WALK_NEWTON_STEPS):
        if np.max(np.abs(grad), initial=0.0) < WALK_GTOL:
            converged = True
            break
        z = rho[cell_slot] + offset
        banded[0] = np.bincount(cell_slot, expit(z) * expit(-z), n) + prior_diag
        step = linalg.solveh_banded(banded, -grad, lower=True)
        slope = float(grad @ step)
        t = 1.0
        while True:  # backtracking (Armijo); near the optimum every full step is taken
            trial = rho + t * step
            new_value, new_grad = objective(trial)
            if new_value <= value + 1e-4 * t * slope + 1e-12 * abs(value) or t < 1e-8:
                break
            t *= 0.5
        rho, value, grad = trial, new_value, new_grad
    z = rho[cell_slot] + offset
    se = walk_se(walk, np.bincount(cell_slot, expit(z) * expit(-z), n), walk_sd, PRIOR_SD)
    slots = pd.DataFrame({"member": walk.slot_member, "session": walk.slot_session, "rho": rho,
                          "rho_se": se})  # fmt: skip
    last = slots.groupby("member").tail(1).set_index("member")
    ll = float(np.sum(y * log_expit(z) + (1 - y) * log_expit(-z)))
    return {"slots": slots, "last": last, "loglik": ll, "converged": converged}


def fit_presence_carryover(
    presence: pd.Series, text: pd.Series, session: pd.Series
) -> dict[str, float]:
    """How a roll call's attendance effect carries over to the same text's next vote.

    A future roll call's ``delta`` is unknown; the same text's last vote tells part of it (the
    same item comes up at the same point of the session with the same salience). On pairs of
    consecutive sessions voting the same text (each text-session's mean ``delta``), the least
    squares line ``delta_next = intercept + slope * delta_prev`` and the sd of its residuals.

    Parameters
    ----------
    presence, text, session : Series indexed alike (roll calls)
        Fitted ``delta``, the normalised text key ("" for none) and the session.

    Returns
    -------
    dict
        ``intercept``, ``slope``, ``sd``, ``n_pairs``. With fewer than 10 pairs: no carry-over
        (slope 0, the mean and sd of all ``delta``).

    Examples
    --------
    >>> d = pd.Series([0.0, 1.0, 2.0, 0.5, 1.5, 2.5])
    >>> t = pd.Series(["a", "b", "c", "a", "b", "c"])
    >>> fit_presence_carryover(d, t, pd.Series([1, 1, 1, 2, 2, 2]))["n_pairs"]
    3
    """
    frame = pd.DataFrame(
        {"delta": presence.to_numpy(float), "text": text.to_numpy(), "session": session.to_numpy()}
    )
    frame = frame[frame["text"] != ""]
    means = frame.groupby(["text", "session"])["delta"].mean().reset_index()
    nxt = means.assign(session=means["session"] - 1)
    pairs = means.merge(nxt, on=["text", "session"], suffixes=("_prev", "_next"))
    all_delta = presence.to_numpy(float)
    if len(pairs) < 10:
        return {
            "intercept": float(np.mean(all_delta)),
            "slope": 0.0,
            "sd": float(np.std(all_delta)),
            "n_pairs": len(pairs),
        }
    x, y = pairs["delta_prev"].to_numpy(), pairs["delta_next"].to_numpy()
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (intercept + slope * x)
    return {
        "intercept": float(intercept),
        "slope": float(slope),
        "sd": float(np.sqrt(np.sum(resid**2) / max(len(y) - 2, 1))),
        "n_pairs": len(pairs),
    }
