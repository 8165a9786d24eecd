"""The exact distribution of a resolution's margin ``D = yes - w * no`` under a decision rule.

A resolution is adopted iff ``D >= min_margin`` (and someone voted yes or no;
:class:`sim.core.tally.DecisionRule`), so the distribution of ``D`` shows at a glance how far the
tally sits from the rule's threshold. :func:`margin_pmf` computes it exactly, as the other tally
functions do: a dynamic programme over members for every draw at once (members independent
within a draw), then the mixture over equally weighted draws.

The programme runs over each half of the members separately, the margins as rows and the draws
as contiguous columns (each member's update is a few passes over whole rows), and keeps only
the margins a draw can still reach with a probability above :data:`sim.core.tally.TINY`. The
mixture of the halves' convolutions is one matrix product per chunk of draws, ``A @ B.T`` (the
draws the inner dimension), summed along its anti-diagonals, as
:func:`sim.core.tally.Tally.from_probabilities` does for the counts: every term is non-negative,
and the sum is taken in the same order on every machine (one BLAS thread).

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
from sim.core.tally import TINY, DecisionRule
from sim.core.threads import one_blas_thread

__all__ = ["margin_pmf"]

#: Draws per chunk of the programme (its state is about 1.5 MB per chunk for 193 members).
CHUNK = 1024


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
    h = n // 2
    total = np.zeros((w + 1) * n + 1)
    with one_blas_thread():  # the same sums on every machine
        for start in range(0, n_draws, CHUNK):
            block = probs[start : start + CHUNK].transpose(1, 2, 0)  # (member, act, draw)
            first, lo_a = _half(block[:h], w)
            second, lo_b = _half(block[h:], w)
            products = first @ second.T  # [i, j]: sum over draws of P(D1 = i) P(D2 = j)
            for i in range(products.shape[0]):  # anti-diagonals: D = D1 + D2
                at = lo_a + lo_b + i
                total[at : at + products.shape[1]] += products[i]
    return np.arange(-w * n, n + 1), total / n_draws


def _half(block: FloatArray, w: int) -> tuple[FloatArray, int]:
    """The pmf of ``D`` over the members of `block` (shape (member, act, draw)), per draw.

    Returns the rows of the reachable margins, shape (rows, draws), and the index of the first
    row counted from ``D = -w * n_members``.
    """
    n, _, width = block.shape
    zero = w * n  # row of D = 0
    state = np.zeros(((w + 1) * n + 1, width))
    state[zero] = 1.0
    up = np.empty_like(state)
    lo = hi = zero  # reachable rows lo..hi; every other row is 0
    for j in range(n):
        p_yes, p_no = block[j, 0], block[j, 1]
        p_neither = block[j, 2] + block[j, 3]
        rows, size = state[lo : hi + 1], hi - lo + 1
        np.multiply(rows, p_yes, out=up[:size])
        down = rows * p_no
        rows *= p_neither
        state[lo + 1 : hi + 2] += up[:size]
        state[lo - w : hi - w + 1] += down
        lo, hi = lo - w, hi + 1
        while hi > lo and state[hi].max() < TINY:  # margins no draw reaches
            state[hi] = 0.0
            hi -= 1
        while lo < hi and state[lo].max() < TINY:
            state[lo] = 0.0
            lo += 1
    return state[lo : hi + 1], lo
