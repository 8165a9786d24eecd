"""Participation fits on tables of roll calls: the member-by-session walk and the carry-over of a
text's attendance effect to its next vote.

The maths of strategic absence (:mod:`sim.core.absence`) on arrays; here the fits that read
member, session and text labels from data frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit

from sim.core.absence import PRIOR_SD
from sim.core.acts import FloatArray, IntArray
from sim.core.choice import log_expit


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
    sessions (``N(0, 5^2)`` for its first), by penalised ML with an analytic gradient.

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
    member = np.asarray(member)
    session = np.asarray(session)
    y = np.asarray(present, float)
    offset = np.asarray(offset, float)
    keys = member.astype(np.int64) * 100_000 + session.astype(np.int64)
    slot_keys, cell_slot = np.unique(keys, return_inverse=True)
    slot_member, slot_session = slot_keys // 100_000, slot_keys % 100_000
    n = len(slot_keys)
    same = slot_member[1:] == slot_member[:-1]  # slots are sorted by member, then session
    a, b = np.flatnonzero(same), np.flatnonzero(same) + 1
    prec_edge = 1.0 / (walk_sd**2 * (slot_session[b] - slot_session[a]))
    first = np.ones(n, bool)
    first[b] = False
    prec_first = 1.0 / PRIOR_SD**2

    def objective(rho: FloatArray) -> tuple[float, FloatArray]:
        z = rho[cell_slot] + offset
        ll = np.sum(y * log_expit(z) + (1 - y) * log_expit(-z))
        grad = -np.bincount(cell_slot, y - expit(z), n)
        diff = rho[b] - rho[a]
        value = -ll + 0.5 * np.sum(prec_edge * diff**2) + 0.5 * prec_first * np.sum(rho[first] ** 2)
        grad += np.bincount(b, prec_edge * diff, n) - np.bincount(a, prec_edge * diff, n)
        grad[first] += prec_first * rho[first]
        return value, grad

    res = optimize.minimize(objective, np.zeros(n), jac=True, method="L-BFGS-B",
                            options={"maxiter": 5000, "ftol": 1e-12, "gtol": 1e-8})  # fmt: skip
    rho = res.x
    z = rho[cell_slot] + offset
    info_diag = np.bincount(cell_slot, expit(z) * expit(-z), n)
    # Each member's block is tridiagonal: invert it member by member for the last slot's se.
    se = np.full(n, np.nan)
    starts = np.flatnonzero(np.r_[True, ~same])
    ends = np.r_[starts[1:], n]
    edge_of = {int(i): k for k, i in enumerate(a)}
    for s0, s1 in zip(starts, ends, strict=True):
        size = s1 - s0
        block = np.diag(info_diag[s0:s1])
        block[0, 0] += prec_first
        for i in range(s0, s1 - 1):
            p = prec_edge[edge_of[i]]
            j = i - s0
            block[j, j] += p
            block[j + 1, j + 1] += p
            block[j, j + 1] -= p
            block[j + 1, j] -= p
        se[s0:s1] = np.sqrt(np.diag(np.linalg.inv(block))) if size else np.nan
    slots = pd.DataFrame({"member": slot_member, "session": slot_session, "rho": rho, "rho_se": se})
    last = slots.groupby("member").tail(1).set_index("member")
    ll = float(np.sum(y * log_expit(z) + (1 - y) * log_expit(-z)))
    return {"slots": slots, "last": last, "loglik": ll, "converged": bool(res.success)}


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
