"""The exact distribution of a resolution's margin ``D = yes - w * no`` under a decision rule.

A resolution is adopted iff ``D >= min_margin`` (and someone voted yes or no;
:class:`sim.core.tally.DecisionRule`), so the distribution of ``D`` shows at a glance how far the
tally sits from the rule's threshold. :func:`margin_pmf` computes it exactly, as the other tally
functions do: a dynamic programme over members for every draw at once (members independent
within a draw), then the mixture over equally weighted draws.

Examples
--------
>>> import numpy as np
>>> from sim.core.tally import SIMPLE_MAJORITY
>>> probs = np.array([[[0.5, 0.5, 0.0, 0.0]]])  # one member: yes or no, evenly
>>> margins, pmf = margin_pmf(probs, rule=SIMPLE_MAJORITY)
>>> margins.tolist(), pmf.tolist()
([-1, 0, 1], [0.5, 0.0, 0.5])
"""

from __future__ import annotations

import numpy as np

from sim.core.acts import FloatArray, IntArray
from sim.core.tally import DecisionRule

__all__ = ["margin_pmf"]

#: Draws per chunk of the programme (its state is about 1 MB per chunk for 193 members).
CHUNK = 256


def margin_pmf(probs: FloatArray, *, rule: DecisionRule) -> tuple[IntArray, FloatArray]:
    """The pmf of ``D = yes - rule.no_weight * no``, mixed over draws.

    Parameters
    ----------
    probs : ndarray, shape (n_draws, n_members, 4)
        Act probabilities in ``ACTS`` order (yes, no, abstain, absent), each member's summing
        to 1; members independent within a draw, draws equally weighted.
    rule : DecisionRule
        Gives ``w`` (``no_weight``).

    Returns
    -------
    margins : ndarray of int, shape (n_members * (w + 1) + 1,)
        ``-w * n_members .. n_members``.
    pmf : ndarray, shape like `margins`
        P(D = margin). Only non-negative terms are added: exact to rounding.
    """
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 3 or probs.shape[2] != 4:
        raise ValueError(f"probs: expected shape (n_draws, n_members, 4); got {probs.shape}")
    n_draws, n, _ = probs.shape
    w = int(rule.no_weight)
    offset = w * n
    total = np.zeros(offset + n + 1)
    for start in range(0, n_draws, CHUNK):
        block = probs[start : start + CHUNK]
        state = np.zeros((block.shape[0], offset + n + 1))
        state[:, offset] = 1.0
        for j in range(n):
            lo, hi = offset - w * j, offset + j + 1  # reachable margins before member j
            old = state[:, lo:hi].copy()
            p_yes, p_no = block[:, j, 0:1], block[:, j, 1:2]
            p_neither = block[:, j, 2:3] + block[:, j, 3:4]
            state[:, lo:hi] = old * p_neither
            state[:, lo + 1 : hi + 1] += old * p_yes
            state[:, lo - w : hi - w] += old * p_no
        total += state.sum(axis=0)
    return np.arange(-offset, n + 1), total / n_draws
