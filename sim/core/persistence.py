"""A member's own record on a text: the persistent text shock and the cost of visible reversal.

MODEL.md §3 asks the choice model to nest persistence: a member's own earlier vote on the same
text is the strongest single predictor of its next one. Two mechanisms carry it here.

1. **The text shock.** Each member has its own take on each text, a shock ``e ~ N(0, sigma^2)``
   on the latent policy scale (``eta = beta * x + e``). It moves slowly over time: the shocks of
   two votes ``gap`` years apart are correlated ``r = exp(-(gap / tau) ** power)``
   (:func:`shock_correlation`, a stationary Gaussian process with a powered-exponential
   correlation), so a committee vote seven weeks before the plenary says almost everything
   about the plenary vote and a vote three sessions back says little. The calibrated spatial
   model integrates the shock out; a member's earlier vote reveals it. Given the shock, the rest
   of the latent noise is logistic with scale ``s``; given the earlier shock ``e0``, the next
   vote's latent noise is ``r * e0`` plus a fresh part, taken as logistic with the variance of
   the fresh shock and the logistic remainder together (scale
   ``sqrt(s^2 + 3 sigma^2 (1 - r^2) / pi^2)``; at ``r = 1`` it is ``s``). The shock comes on
   top of the calibrated noise (the pairs reject the variance-matched alternative, in which
   averaged over the shock the calibrated odds come back): an earlier vote's item is a noisy
   guide to the next text. The data push ``s`` to zero; it is held at :data:`SCALE_MIN`.
   Given the earlier vote ``v``, the policy term is the posterior predictive
   ``P(c | v) = int P(c | e) P(v | e) phi(e / sigma) de / P(v)``, computed by Gauss-Hermite
   quadrature (:func:`conditional_vote_log_probs`). Presence carries no policy content, so an
   earlier absence reveals nothing about ``e``.
2. **Visible reversal.** On top, the costs ``a_i(c)`` of :func:`sim.core.choice.persistence_cost`
   (a reversal between votes, leaving a vote for absence, returning from absence).
3. **Each member's hold on its record.** Members differ in how readily they leave their last
   vote: member ``i`` pays ``reversal + v_i`` for a reversal, ``v_i ~ N(mu, s^2)`` across
   members (:func:`fit_member_hold`: ``mu`` and ``s`` by the marginal likelihood of the pairs,
   each member's ``v_i`` its posterior given its own pairs, shrunk to the pool the more the
   fewer pairs it has). Predictions integrate each member's posterior (mean and sd,
   :func:`member_holds`; :func:`sim.core.predict.member_odds`), and a replay draws it per
   parameter draw (:func:`sim.run.prepare.prepare`).

``sigma``, ``s``, ``tau``, ``power`` and the three costs are estimated jointly by maximum
likelihood on pairs of votes on the same text, each vote paired with the text's previous vote at
whatever gap (:func:`fit_text_persistence`): the costs by the concave inner fit of
:func:`sim.core.persistence.fit_persistence`, the others by profiling. On the Middle East roll
calls
of 2012-2022 the shock's correlation is about 0.7 one year on, 0.2 two years on and above 0.99
seven weeks on; a model without the decay fits those pairs worse by about 40 log-likelihood
points.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import numpy as np
from scipy import optimize
from scipy.special import expit

from sim.core.absence import log_act_baseline
from sim.core.acts import ABSENT, ABSTAIN, ACTS, NO, YES, FloatArray, IntArray
from sim.core.choice import log_expit, ordered_log_probs, own_act_log_probs
from sim.core.derivatives import hessian
from sim.core.quadrature import normal_nodes
from sim.core.threads import one_blas_thread

__all__ = [
    "N_NODES",
    "SCALE_MIN",
    "conditional_vote_log_probs",
    "conditional_vote_log_probs_on_draws",
    "fit_member_hold",
    "fit_text_persistence",
    "member_holds",
    "shock_correlation",
    "vote_log_probs",
]

#: Largest text-shock sd: all of the ordered logit's latent noise (``pi / sqrt(3)``).
SIGMA_MAX = float(np.pi / np.sqrt(3.0))

#: Gauss-Hermite nodes for the text shock. The earlier vote's likelihood is a logistic step in
#: the shock, as steep as the logistic scale ``s`` is small; with ``s >= SCALE_MIN`` 32 nodes
#: give the log-likelihood of the persistence fits to within about 0.5 (checked against 300).
N_NODES = 32

#: Smallest logistic scale left given the shock. The Middle East pairs would take ``s`` lower
#: (about 0.1, 4 log-likelihood points better), where no fixed quadrature is accurate; this
#: floor is a numerical limit, not an estimate.
SCALE_MIN = 0.3

#: Largest number of pairs a persistence fit uses (long gaps kept, the rest thinned and
#: weighted: :func:`_sample`): enough for seven parameters (standard errors about 5%), and it
#: bounds the time of the persistence part of a ten-year 'all' fit.
MAX_PAIRS = 20_000

#: Grid points per member for :func:`conditional_vote_log_probs_on_draws`, interpolated by
#: cubics: on the shipped replays' draws (ideal points spread over up to 7 units) the error is
#: below 3e-4 in log probability, 5e-5 in probability (linear interpolation on 513 points
#: gave 4e-4 and 1.3e-4 at twice the cost); for a spread of 0.2 units it is below 1e-8.
GRID = 257
#: Draws per chunk of that interpolation (its temporaries stay small), and threads for it and
#: for the table (disjoint chunks and members: the result does not depend on them).
_INTERP_DRAWS = 512
_THREADS = 2


def _nodes() -> tuple[FloatArray, FloatArray]:
    z, w = normal_nodes(N_NODES)
    return z, np.log(w)


def _logsumexp(a: FloatArray, *, axis: int, keepdims: bool = False) -> FloatArray:
    """``log(sum(exp(a)))`` along `axis`, max-shifted (a lean scipy.special.logsumexp for finite
    maxima, which these posteriors always have).
    """
    top = np.max(a, axis=axis, keepdims=True)
    shifted = a - top
    np.exp(shifted, out=shifted)
    out = np.log(np.sum(shifted, axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis)


def vote_log_probs(
    ideal_point: FloatArray, *, item: Mapping[str, FloatArray | float]
) -> FloatArray:
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
    return ordered_log_probs(beta * x - t1, gap)


def shock_correlation(
    gap: FloatArray | float, *, tau: float = float("inf"), power: float = 1.0
) -> FloatArray:
    """Correlation of a member's text shock between two votes `gap` years apart.

    ``r = exp(-(gap / tau) ** power)``: the powered-exponential correlation of a stationary
    Gaussian process (``power`` in (0, 2]; 1 is the Ornstein-Uhlenbeck process, 2 the smoothest).
    ``tau = inf`` (no decay) gives 1 at every gap: the shock of the calibration before time
    entered it.

    Examples
    --------
    >>> shock_correlation([0.0, 1.0, 2.0], tau=1.5, power=2.0).round(3)
    array([1.   , 0.641, 0.169])
    >>> float(shock_correlation(3.0))
    1.0
    """
    gap = np.asarray(gap, dtype=float)
    if np.any(gap < 0):
        raise ValueError("gap must be non-negative (years from the earlier vote to the next)")
    if not np.isfinite(tau):
        return np.ones_like(gap)
    return np.exp(-((gap / tau) ** power))


def conditional_vote_log_probs(
    ideal_point: FloatArray,
    previous: IntArray,
    *,
    item: Mapping[str, FloatArray | float],
    sigma: float,
    scale: float | None = None,
    correlation: FloatArray | float = 1.0,
    in_probabilities: bool = False,
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
    correlation : float or ndarray, shape (n_members,)
        Correlation of the shock between the earlier vote and this one
        (:func:`shock_correlation` of the gap); 1 (the default) for the same shock.
    in_probabilities : bool
        Mix the next vote's odds over the nodes as probabilities (``sum_k w_k P_k(c)``, each
        ``P_k(c)`` a product of logistic functions, no cancellation) instead of log-sum-exp:
        the same numbers to about 1e-15, in half the time, except that a probability below
        1e-308 comes out as 0 (log ``-inf``). Predictions of many cells use it
        (:func:`sim.core.predict.member_odds`); the replay keeps the log-space sums (its
        result files' bytes).

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
    >>> later = np.exp(conditional_vote_log_probs(np.zeros(2), np.array([-1, 0]), item=item,
    ...                                           sigma=1.5, correlation=0.3))
    >>> bool(p[1, 0] > later[1, 0] > later[0, 0])    # less so when the shock has moved on
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
    shift = sigma * z / b  # (..., m, K) or (K,)
    xs = x[..., cols][..., None] + shift  # (..., m, K)
    scaled = {"discrimination": b / scale, **{k: per_member(v) / scale for k, v in cuts.items()}}
    r = np.broadcast_to(np.asarray(correlation, dtype=float), (n_members,))[cols]
    if np.any((r < 0) | (r > 1)):
        raise ValueError("correlation must lie in [0, 1]")
    prev = previous[cols]
    if in_probabilities:
        lik = _earlier_log_lik(xs, prev, scaled)
        post = logw + lik
        weight = np.exp(post - _logsumexp(post, axis=-1, keepdims=True))  # (..., m, K)
        r = r[:, None]  # (m, 1)
        fresh = np.sqrt(scale**2 + 3.0 * sigma**2 * (1.0 - r**2) / np.pi**2)
        t1 = per_member(cuts["cut_abstain"]) / fresh
        a = (b / fresh) * (x[..., cols][..., None] + r * shift) - t1
        gap = per_member(cuts["cut_yes"]) / fresh - t1
        b = a - gap
        out = base.copy()
        with np.errstate(divide="ignore"):
            out[..., cols, 0] = np.log(np.einsum("...k,...k->...", weight, _sigmoid(b)))
            out[..., cols, 1] = np.log(np.einsum("...k,...k->...", weight, _sigmoid(-a)))
            abstain = _sigmoid(a) * _sigmoid(-b) * -np.expm1(-gap)
            out[..., cols, 2] = np.log(np.einsum("...k,...k->...", weight, abstain))
        return out
    if np.all(r == 1.0):
        predictive = lp = vote_log_probs(xs, item=scaled)
        index = np.broadcast_to(prev[:, None, None], (*lp.shape[:-1], 1))
        lik = np.take_along_axis(lp, index, axis=-1)[..., 0]  # (..., m, K)
    else:
        # Only the earlier act's likelihood at the nodes (the same numbers as that column of
        # vote_log_probs, a third of the work); the next vote's three below.
        lik = _earlier_log_lik(xs, prev, scaled)
        r = r[:, None]  # (m, 1)
        fresh = np.sqrt(scale**2 + 3.0 * sigma**2 * (1.0 - r**2) / np.pi**2)
        predictive = vote_log_probs(
            x[..., cols][..., None] + r * shift,
            item={"discrimination": b / fresh,
                  **{k: per_member(v) / fresh for k, v in cuts.items()}},
        )  # fmt: skip
    post = logw + lik
    post = post - _logsumexp(post, axis=-1, keepdims=True)
    out = base.copy()
    # log sum_k exp(post_k + predictive_kc), with the nodes on the last, contiguous axis (numpy
    # reduces a contiguous axis several times faster than a strided one).
    joint = np.ascontiguousarray(np.swapaxes(predictive, -1, -2))  # (..., m, 3, K)
    joint += post[..., None, :]
    out[..., cols, :] = _logsumexp(joint, axis=-1)
    return out


def _sigmoid(y: FloatArray) -> FloatArray:
    """``1 / (1 + exp(-y))`` by numpy's vectorised exp (a few times faster than
    ``scipy.special.expit`` on large arrays; within 4e-16 relative of it, 0 below about -709).
    """
    with np.errstate(over="ignore"):
        e = np.exp(-y)
    e += 1.0
    return np.reciprocal(e, out=e)


def _earlier_log_lik(
    xs: FloatArray, previous: IntArray, item: Mapping[str, FloatArray | float]
) -> FloatArray:
    """``log P(previous | present)`` at shifted ideal points `xs` (shape (..., m, K)) for each
    member's earlier vote (yes, no or abstain, shape (m,)) only: the same arithmetic as that
    column of :func:`vote_log_probs` (so the same numbers), on a third of the values.
    """
    beta = np.asarray(item["discrimination"], dtype=float)
    t1 = np.asarray(item["cut_abstain"], dtype=float)
    gap = np.asarray(item["cut_yes"], dtype=float) - t1
    if np.any(gap < 0):
        raise ValueError("cut_yes must not be below cut_abstain (the order yes > abstain > no)")
    return own_act_log_probs(beta * xs - t1, gap, previous)


def conditional_vote_log_probs_on_draws(
    ideal_point: FloatArray,
    previous: IntArray,
    *,
    item: Mapping[str, float],
    sigma: float,
    scale: float | None = None,
    correlation: FloatArray | float = 1.0,
    grid: int = GRID,
) -> FloatArray:
    """:func:`conditional_vote_log_probs` for many draws of scalar-item ideal points, fast.

    For each member with an earlier vote the posterior predictive is computed exactly on
    ``grid`` ideal points spanning its draws (and one beyond each end), then interpolated in
    log space by Catmull-Rom cubics (the function is smooth; the error shrinks as the cube of
    the spacing: see :data:`GRID`, checked in the tests). Members without an earlier vote are
    computed directly, and so is everyone when there are no more draws than nodes.

    Parameters
    ----------
    ideal_point : ndarray, shape (n_draws, n_members)
    previous : ndarray of int, shape (n_members,)
    item : mapping of float
    sigma : float
    scale : float, optional
    correlation : float or ndarray, shape (n_members,)
        As in :func:`conditional_vote_log_probs`.
    grid : int

    Returns
    -------
    ndarray, shape (n_draws, n_members, 3)
    """
    x = np.asarray(ideal_point, dtype=float)
    previous = np.asarray(previous)
    voted = np.flatnonzero((previous >= 0) & (previous != ABSENT))
    if sigma <= 0 or len(voted) == 0:
        return vote_log_probs(x, item=item)
    if x.shape[0] <= grid + 2:  # no more draws than nodes: exact, and cheaper
        return conditional_vote_log_probs(
            x, previous, item=item, sigma=sigma, scale=scale, correlation=correlation
        )
    out = np.empty((*x.shape, 3))
    others = np.setdiff1d(np.arange(x.shape[-1]), voted)
    if len(others):
        out[:, others] = vote_log_probs(x[:, others], item=item)
    lo, hi = x[:, voted].min(axis=0), x[:, voted].max(axis=0)
    hi = np.where(hi > lo, hi, lo + 1e-9)
    step = (hi - lo) / (grid - 1)
    # One node beyond each end, so every interval has the four neighbours the cubic needs.
    nodes = lo[None, :] + step[None, :] * np.arange(-1, grid + 1)[:, None]  # (G + 2, m)
    r = np.broadcast_to(np.asarray(correlation, dtype=float), (x.shape[-1],))[voted]
    halves = np.array_split(np.arange(len(voted)), _THREADS)

    def table_of(part: IntArray) -> FloatArray:
        return conditional_vote_log_probs(
            nodes[:, part], previous[voted][part], item=item, sigma=sigma, scale=scale,
            correlation=r[part],
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=_THREADS) as pool:  # numpy releases the GIL
        table = np.concatenate(list(pool.map(table_of, halves)), axis=1)  # (G + 2, m, 3)
    cols = np.arange(len(voted))

    def interpolate(start: int) -> None:
        d = slice(start, start + _INTERP_DRAWS)
        position = (x[d][:, voted] - lo) / step + 1.0  # in node units; nodes 1..G span lo..hi
        left = np.clip(np.floor(position).astype(np.intp), 1, grid - 1)
        t = (position - left)[..., None]
        p0, p1, p2, p3 = (table[left + k, cols] for k in (-1, 0, 1, 2))
        # Catmull-Rom: the cubic through p1, p2 with slopes (p2 - p0) / 2 and (p3 - p1) / 2.
        out[d, voted] = p1 + 0.5 * t * (
            (p2 - p0)
            + t * ((2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) + t * (3.0 * (p1 - p2) + p3 - p0))
        )

    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        list(pool.map(interpolate, range(0, x.shape[0], _INTERP_DRAWS)))
    return out


class _Shock:
    """:func:`conditional_vote_log_probs` for the fixed pairs of a persistence fit, fast.

    The fit evaluates the posterior predictive of the same pairs some hundred times, at other
    ``sigma``, ``scale`` and correlations; what does not depend on them (the latent index
    ``a0 = beta * x - cut_abstain`` and the gap of each pair, the earlier votes grouped by act)
    is computed once, and only the earlier vote's own log-likelihood at the nodes is formed
    (not all three). The same quadrature and formulas as :func:`conditional_vote_log_probs`:
    equal to it within rounding (about 1e-13; checked in the tests).
    """

    def __init__(self, x: FloatArray, previous: IntArray, item: Mapping[str, FloatArray]) -> None:
        beta = np.asarray(item["discrimination"], dtype=float)
        t1 = np.asarray(item["cut_abstain"], dtype=float)
        gap = np.asarray(item["cut_yes"], dtype=float) - t1
        self.base = vote_log_probs(x, item=item)
        previous = np.asarray(previous)
        voted = np.flatnonzero((previous >= 0) & (previous != ABSENT))
        # The voted pairs ordered by their earlier vote, so each act's rows are one slice.
        self.cols = voted[np.argsort(previous[voted], kind="stable")]
        prev = previous[self.cols]
        self.groups = [slice(*np.searchsorted(prev, [c, c + 1])) for c in (YES, NO, ABSTAIN)]
        b = beta[self.cols]
        b = np.where(np.abs(b) > 1e-9, b, 1e-9)
        self.a0 = (b * x[self.cols] - t1[self.cols])[:, None]  # (m, 1)
        self.gap0 = gap[self.cols][:, None]
        self.z, self.logw = _nodes()

    def __call__(self, sigma: float, scale: float, correlation: FloatArray | float) -> FloatArray:
        """``log P(c | present, earlier vote)`` of every pair, shape (n_pairs, 3)."""
        if sigma <= 0 or len(self.cols) == 0:
            return self.base
        shift = sigma * self.z  # (K,)
        a = (self.a0 + shift) / scale  # (m, K)
        gap = self.gap0 / scale
        lik = np.empty_like(a)
        yes, no, ab = self.groups
        lik[yes] = log_expit(a[yes] - gap[yes])
        lik[no] = log_expit(-a[no])
        b = a[ab] - gap[ab]
        with np.errstate(divide="ignore"):
            lik[ab] = log_expit(a[ab]) + (log_expit(b) - b) + np.log(-np.expm1(-gap[ab]))
        post = lik + self.logw
        post -= _logsumexp(post, axis=-1, keepdims=True)
        r = np.broadcast_to(np.asarray(correlation, dtype=float), (len(self.base),))[self.cols]
        if np.any((r < 0) | (r > 1)):
            raise ValueError("correlation must lie in [0, 1]")
        if not np.all(r == 1.0):
            fresh = np.sqrt(scale**2 + 3.0 * sigma**2 * (1.0 - r**2) / np.pi**2)[:, None]
            a = (self.a0 + r[:, None] * shift) / fresh
            gap = self.gap0 / fresh
        # log sum_k exp(post_k + log P(c | node k)), the nodes on the last (contiguous) axis.
        joint = np.empty((len(a), 3, a.shape[1]))
        b = a - gap
        joint[:, 0] = log_expit(b)
        log_no = log_expit(a)  # log sigmoid(-a) = log sigmoid(a) - a, as ordered_log_probs
        with np.errstate(divide="ignore"):
            joint[:, 2] = log_no + (joint[:, 0] - b) + np.log(-np.expm1(-gap))
        joint[:, 1] = log_no - a
        joint += post[:, None, :]
        out = self.base.copy()
        out[self.cols] = _logsumexp(joint, axis=-1)
        return out

    def gradient(
        self,
        sigma: float,
        scale: float,
        correlation: FloatArray | float,
        correlation_slopes: Sequence[FloatArray] = (),
    ) -> tuple[FloatArray, FloatArray]:
        """:meth:`__call__` and its derivatives in ``log sigma``, ``log scale`` and the
        parameters the correlation moves with (``correlation_slopes``: the derivative of every
        pair's correlation in each, shape (n_pairs,)).

        Returns
        -------
        log_votes : ndarray, shape (n_pairs, 3)
        slopes : ndarray, shape (n_params, n_pairs, 3)
            ``n_params = 2 + len(correlation_slopes)``; 0 for the pairs without an earlier vote.
        """
        n_pairs = len(self.base)
        slopes = np.zeros((2 + len(correlation_slopes), n_pairs, 3))
        if sigma <= 0 or len(self.cols) == 0:
            return self.base, slopes
        shift = sigma * self.z  # (K,)
        a = (self.a0 + shift) / scale  # (m, K)
        gap = self.gap0 / scale  # (m, 1)
        # The earlier vote's log-likelihood at the nodes and its slopes in a and in the gap
        # (d log sigmoid(y) / dy = sigmoid(-y) = -expm1(log sigmoid(y))).
        lik = np.empty_like(a)
        lik_a = np.empty_like(a)
        lik_gap = np.zeros_like(a)
        yes, no, ab = self.groups
        lik[yes] = log_expit(a[yes] - gap[yes])
        lik_a[yes] = -np.expm1(lik[yes])
        lik_gap[yes] = -lik_a[yes]
        lik[no] = log_expit(-a[no])
        lik_a[no] = np.expm1(lik[no])
        b = a[ab] - gap[ab]
        up_a, up_b = log_expit(a[ab]), log_expit(b)
        with np.errstate(divide="ignore"):
            lik[ab] = up_a + (up_b - b) + np.log(-np.expm1(-gap[ab]))
        lik_a[ab] = -np.expm1(up_a) - np.exp(up_b)
        lik_gap[ab] = np.exp(up_b) + _inverse_expm1(gap[ab])
        post = lik + self.logw
        post -= _logsumexp(post, axis=-1, keepdims=True)
        weight = np.exp(post)  # the text shock's posterior at the nodes, (m, K)
        r = np.broadcast_to(np.asarray(correlation, dtype=float), (n_pairs,))[self.cols][:, None]
        c = 3.0 * sigma**2 / np.pi**2
        fresh = np.sqrt(scale**2 + c * (1.0 - r**2))  # (m, 1); = scale where r = 1
        a1 = (self.a0 + r * shift) / fresh
        gap1 = self.gap0 / fresh
        b1 = a1 - gap1
        log_yes = log_expit(b1)
        log_no = log_expit(a1)
        joint = np.empty((len(a1), 3, a1.shape[1]))
        with np.errstate(divide="ignore"):
            joint[:, 2] = log_no + (log_yes - b1) + np.log(-np.expm1(-gap1))
        log_no -= a1
        joint[:, 0] = log_yes
        joint[:, 1] = log_no
        joint += post[:, None, :]
        out = _logsumexp(joint, axis=-1)  # (m, 3)
        with np.errstate(invalid="ignore"):
            mix = np.exp(joint - out[..., None])  # each next vote's posterior at the nodes
        mix[~np.isfinite(mix)] = 0.0
        # The next vote's slopes in a1 (yes: sigmoid(-b1), no: -sigmoid(a1), abstain: their
        # sum's complement) and in gap1, weighted by `mix`.
        e_yes, e_no = np.expm1(log_yes), np.expm1(log_no)  # -sigmoid(-b1), -sigmoid(a1)
        mix_a = np.empty_like(mix)
        mix_a[:, 0] = mix[:, 0] * -e_yes
        mix_a[:, 1] = mix[:, 1] * e_no
        mix_a[:, 2] = mix[:, 2] * (e_no - e_yes)
        mix_gap = np.zeros((len(a1), 3))
        mix_gap[:, 0] = np.sum(mix[:, 0] * e_yes, axis=-1)
        mix_gap[:, 2] = np.sum(mix[:, 2] * (e_yes + 1.0), axis=-1)
        mix_gap[:, 2] += _inverse_expm1(gap1)[:, 0] * np.sum(mix[:, 2], axis=-1)
        # d log fresh in log sigma, log scale and the correlation
        dlf = [c * (1.0 - r**2) / fresh**2, scale**2 / fresh**2]
        dlf_r = -c * r / fresh**2
        # (d a, d gap) of the earlier vote and (d a1, d gap1) of the next one, per parameter
        moves = [
            (shift / scale, 0.0, r * shift / fresh - a1 * dlf[0], -gap1 * dlf[0]),
            (-a, -gap, -a1 * dlf[1], -gap1 * dlf[1]),
        ]
        for dr in correlation_slopes:
            d = np.asarray(dr, dtype=float)[self.cols][:, None]
            moves.append(((0.0), 0.0, (shift / fresh - a1 * dlf_r) * d, -gap1 * dlf_r * d))
        for k, (da, dgap, da1, dgap1) in enumerate(moves):
            dlik = lik_a * da + lik_gap * dgap
            dpost = dlik - np.sum(weight * dlik, axis=-1, keepdims=True)  # (m, K)
            da1 = np.broadcast_to(da1, a1.shape)
            slopes[k, self.cols] = (
                np.einsum("mck,mk->mc", mix_a, da1)
                + mix_gap * dgap1
                + np.einsum("mck,mk->mc", mix, dpost)
            )
        lv = self.base.copy()
        lv[self.cols] = out
        return lv, slopes


def _inverse_expm1(gap: FloatArray) -> FloatArray:
    """``1 / expm1(gap)``, the abstention's slope in its gap's own term; 0 at a zero gap (no
    abstention possible, whatever the parameters).
    """
    with np.errstate(divide="ignore"):
        return np.where(gap > 0, 1.0 / np.expm1(np.maximum(gap, 1e-300)), 0.0)


def _profile(
    sigma: float,
    scale: float,
    shock: _Shock,
    presence_base: FloatArray,
    gamma: float,
    costs: _Costs,
    correlation: FloatArray | float = 1.0,
    warm: dict[str, FloatArray] | None = None,
) -> tuple[float, dict[str, Any]]:
    """Log-likelihood of the next acts given the shock parameters, the costs maximised out
    (from the last solution kept in `warm`, if given: neighbouring calls differ little).
    """
    lv = shock(sigma, scale, correlation)
    lb = log_act_baseline(lv, presence_base, gamma)
    fit = costs.fit(lb, start=None if warm is None else warm.get("costs"))
    if warm is not None:
        warm["costs"] = np.array([fit[k] for k in PERSISTENCE_COSTS])
    return costs.loglik(lb, np.array([fit[k] for k in PERSISTENCE_COSTS])), fit


def _correlation_slopes(
    gap: FloatArray, tau: float, power: float
) -> tuple[FloatArray, tuple[FloatArray, FloatArray]]:
    """:func:`shock_correlation` at `gap` and its derivatives in ``log tau`` and ``power``
    (0 at a zero gap, where the correlation is 1 whatever they are).
    """
    r = shock_correlation(gap, tau=tau, power=power)
    u = (gap / tau) ** power
    with np.errstate(divide="ignore"):
        log_ratio = np.where(gap > 0, np.log(np.maximum(gap, 1e-300) / tau), 0.0)
    return r, (r * power * u, -r * u * log_ratio)


def _baseline_slopes(
    log_votes: FloatArray, slopes: FloatArray, presence_base: FloatArray, gamma: float
) -> FloatArray:
    """Derivatives of :func:`sim.core.absence.log_act_baseline` ``(log_votes, presence_base,
    gamma)`` given those of `log_votes` (`slopes`, shape (n_params, n, 3)): shape (n_params, n,
    4). Presence moves with the votes through the ambivalence ``H`` (0 where ``H`` is clipped).
    """
    lv = np.maximum(log_votes, -745.0)
    shifted = lv - lv.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=-1, keepdims=True)
    q = e / total
    log_q = shifted - np.log(total)
    h = -np.sum(q * log_q, axis=-1)  # ambivalence times log 3, unclipped
    free = (h > 0.0) & (h < np.log(3.0)) & np.all(log_votes > -745.0, axis=-1)
    dh = np.where(free[:, None], -q * (log_q + h[:, None]) / np.log(3.0), 0.0)  # (n, 3)
    z = presence_base - gamma * np.clip(h / np.log(3.0), 0.0, 1.0)
    dz = -gamma * np.einsum("nc,pnc->pn", dh, slopes)  # (n_params, n)
    out = np.empty((*slopes.shape[:2], 4))
    out[..., :3] = slopes + (expit(-z) * dz)[..., None]
    out[..., 3] = -expit(z) * dz
    return out


def _profile_slope(
    sigma: float,
    scale: float,
    shock: _Shock,
    presence_base: FloatArray,
    gamma: float,
    costs: _Costs,
    correlation: FloatArray | float = 1.0,
    correlation_slopes: Sequence[FloatArray] = (),
    warm: dict[str, FloatArray] | None = None,
) -> tuple[float, FloatArray]:
    """:func:`_profile`'s log-likelihood (from :meth:`_Shock.gradient`) and its gradient in
    ``log sigma``, ``log scale`` and the correlation's parameters: the envelope theorem for the
    costs maximised out, with the small term of their prior (the costs maximise the penalised
    likelihood, the profile is the unpenalised one).
    """
    lv, dlv = shock.gradient(sigma, scale, correlation, correlation_slopes)
    lb = log_act_baseline(lv, presence_base, gamma)
    fit = costs.fit(lb, start=None if warm is None else warm.get("costs"))
    lam = np.array([fit[k] for k in PERSISTENCE_COSTS])
    if warm is not None:
        warm["costs"] = lam
    return costs.loglik(lb, lam), costs.slope(lb, lam, _baseline_slopes(lv, dlv, presence_base,
                                                                        gamma))  # fmt: skip


def _thin(n: int, most: int) -> IntArray:
    """At most `most` indices spread evenly over ``range(n)`` (all of them if ``n <= most``)."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(np.int64))


def _sample(gap: FloatArray | None, n: int, most: int) -> tuple[IntArray, FloatArray]:
    """Pairs to fit on, and how many pairs each stands for.

    All pairs if there are at most `most`. Otherwise the pairs more than a session and a half
    apart, which alone show how the shock moves, are all kept (up to half of `most`), and the
    rest are thinned evenly, each kept one standing for those it replaces (weights with mean 1):
    the weighted likelihood estimates the full one.
    """
    if n <= most:
        return np.arange(n), np.ones(n)
    far = np.zeros(n, dtype=bool) if gap is None else np.asarray(gap) > 1.5
    groups = [np.flatnonzero(far), np.flatnonzero(~far)]
    room = [min(len(groups[0]), most // 2)]
    room.append(most - room[0])
    keep, weight = [], []
    for members, k in zip(groups, room, strict=True):
        if len(members) == 0:
            continue
        chosen = members[_thin(len(members), k)]
        keep.append(chosen)
        weight.append(np.full(len(chosen), len(members) / len(chosen)))
    order = np.argsort(np.concatenate(keep), kind="stable")
    w = np.concatenate(weight)[order]
    # Mean 1: the estimates are those of the full likelihood, while the curvature (and so the
    # standard errors) stays that of the pairs actually used.
    return np.concatenate(keep)[order], w / w.mean()


def _bounded_se(
    negative: Callable[[FloatArray], float], theta: FloatArray, bounds: Sequence[tuple[Any, Any]]
) -> FloatArray:
    """Standard errors of a minimum `theta` of `negative` from the curvature of the free
    parameters (a parameter at its bound is held there: se 0), by finite differences.
    """
    free = np.array([lo + 1e-6 < t < hi - 1e-6 for t, (lo, hi) in zip(theta, bounds, strict=True)])
    se = np.zeros(len(theta))
    if free.any():

        def restricted(t: FloatArray) -> float:
            full = theta.copy()
            full[free] = t
            return negative(full)

        se[free] = np.sqrt(
            np.clip(np.diag(np.linalg.pinv(hessian(restricted, theta[free], step=1e-3))), 0, None)
        )
    return se


def fit_text_persistence(
    ideal_point: FloatArray,
    participation: FloatArray,
    previous: IntArray,
    chosen: IntArray,
    *,
    item: Mapping[str, FloatArray],
    gamma: float = 0.0,
    gap: FloatArray | None = None,
    max_pairs: int = MAX_PAIRS,
) -> dict[str, Any]:
    """Estimate the text shock (its sd, the logistic scale left, and with `gap` how fast it
    moves) and the visible-reversal costs on pairs of votes on the same text.

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
        Strategic-absence slope (:mod:`sim.core.absence`), held fixed.
    gap : ndarray, shape (n_pairs,), optional
        Years from the earlier vote to the next. Given, the shock's correlation decays with it
        (:func:`shock_correlation`) and ``tau`` and ``power`` are estimated too; without it the
        shock is the same in both votes (``tau = inf``).
    max_pairs : int
        Fit on at most this many pairs (:data:`MAX_PAIRS`): those more than a session and a half
        apart first, the rest thinned evenly and weighted for the pairs they stand for.

    Returns
    -------
    dict
        ``sigma``, ``scale`` (at least :data:`SCALE_MIN`), and with `gap` ``tau`` (years) and
        ``power``, each with ``_se`` from the profile likelihood's curvature; ``reversal``,
        ``leave``, ``return`` with ``_se``; ``loglik``, ``loglik_no_shock`` (sigma = 0), with
        `gap` ``loglik_no_decay`` (the best fit with ``tau = inf``); ``n_pairs`` (used) and
        ``n_pairs_available``.
    """
    # One BLAS thread: the fit's dot products are of vectors of 20,000 pairs, where waking a
    # pool's threads costs ten times the arithmetic (more on a busy machine).
    with one_blas_thread():
        return _fit_text_persistence(
            ideal_point, participation, previous, chosen, item=item, gamma=gamma, gap=gap,
            max_pairs=max_pairs,
        )  # fmt: skip


def _fit_text_persistence(
    ideal_point: FloatArray,
    participation: FloatArray,
    previous: IntArray,
    chosen: IntArray,
    *,
    item: Mapping[str, FloatArray],
    gamma: float,
    gap: FloatArray | None,
    max_pairs: int,
) -> dict[str, Any]:
    keep, weight = _sample(
        None if gap is None else np.asarray(gap, float), len(np.asarray(chosen)), max_pairs
    )
    weights: FloatArray | None = None if np.all(weight == 1.0) else weight  # None: plain likelihood
    x = np.asarray(ideal_point, float)[keep]
    prev = np.asarray(previous)[keep]
    nxt = np.asarray(chosen)[keep]
    item = {k: np.asarray(v, float)[keep] for k, v in item.items()}
    base = np.asarray(participation, float)[keep] + item["presence"]
    args = (_Shock(x, prev, item), base, gamma, _Costs(prev, nxt, weights))
    warm: dict[str, FloatArray] = {}
    # Unconstrained-looking parameters (log sigma, log scale, log tau, power) with bounds: the
    # scale stops at SCALE_MIN and the power at 2 (the smoothest valid correlation).
    bounds = [(np.log(0.05), np.log(SIGMA_MAX * 3)), (np.log(SCALE_MIN), np.log(3.0)),
              (np.log(0.05), np.log(100.0)), (0.1, 2.0)]  # fmt: skip

    def still(theta: FloatArray) -> float:
        sigma, scale = np.exp(theta[:2])
        return -_profile(float(sigma), float(scale), *args, warm=warm)[0]

    def still_slope(theta: FloatArray) -> tuple[float, FloatArray]:
        sigma, scale = np.exp(theta[:2])
        value, slope = _profile_slope(float(sigma), float(scale), *args, warm=warm)
        return -value, -slope

    def minimise(
        f: Callable[[FloatArray], tuple[float, FloatArray]], start: FloatArray, n: int
    ) -> optimize.OptimizeResult:
        # The profile's analytic gradient (_profile_slope), not finite differences: a fifth of
        # the profile evaluations.
        return optimize.minimize(f, start, jac=True, method="L-BFGS-B", bounds=bounds[:n],
                                 options={"ftol": 1e-9, "maxiter": 200})  # fmt: skip

    res0 = minimise(still_slope, np.log([1.5, 0.8]), 2)
    g = None if gap is None else np.asarray(gap, float)[keep]
    names: tuple[str, ...]
    if g is None:
        theta, negative, names = res0.x, still, ("sigma", "scale")
    else:

        def moving(theta: FloatArray) -> float:
            sigma, scale, tau = np.exp(theta[:3])
            r = shock_correlation(g, tau=float(tau), power=float(theta[3]))
            return -_profile(float(sigma), float(scale), *args, correlation=r, warm=warm)[0]

        def moving_slope(theta: FloatArray) -> tuple[float, FloatArray]:
            sigma, scale, tau = np.exp(theta[:3])
            power = float(theta[3])
            r, slopes = _correlation_slopes(g, float(tau), power)
            value, slope = _profile_slope(
                float(sigma), float(scale), *args, correlation=r, correlation_slopes=slopes,
                warm=warm,
            )  # fmt: skip
            return -value, -slope

        res = minimise(moving_slope, np.array([res0.x[0], res0.x[1], np.log(2.0), 1.0]), 4)
        theta, negative, names = res.x, moving, ("sigma", "scale", "tau", "power")
    values = {"sigma": float(np.exp(theta[0])), "scale": float(np.exp(theta[1]))}
    correlation: FloatArray | float = 1.0
    if g is not None:
        values["tau"] = float(np.exp(theta[2]))
        values["power"] = float(theta[3])
        correlation = shock_correlation(g, tau=values["tau"], power=values["power"])
    ll, fit = _profile(values["sigma"], values["scale"], *args, correlation=correlation, warm=warm)
    ll0, _ = _profile(0.0, 1.0, *args)
    # Curvature of the profile likelihood in the free parameters (a parameter at its bound is
    # held there: se 0), then the delta method from the logs.
    se = _bounded_se(negative, theta, bounds[: len(theta)])
    jac = [values["sigma"], values["scale"]] + ([values["tau"], 1.0] if gap is not None else [])
    se = se * np.array(jac)
    out: dict[str, Any] = {}
    for k, name in enumerate(names):
        out[name] = values[name]
        out[f"{name}_se"] = float(se[k])
    out.update({k: float(v) for k, v in fit.items() if k not in ("converged", "n_pairs")})
    out["loglik"] = ll
    out["loglik_no_shock"] = ll0
    if gap is not None:
        out["loglik_no_decay"] = float(-res0.fun)
    out["n_pairs"] = len(nxt)
    out["n_pairs_available"] = len(np.asarray(chosen))
    return out


#: The three persistence costs, in the order of :func:`fit_persistence`'s parameter vector.
PERSISTENCE_COSTS: Final[tuple[str, str, str]] = ("reversal", "leave", "return")


#: Prior sd of each persistence cost (logit units): only keeps a cost finite when the data never
#: show the departure it prices; negligible against thousands of member pairs.
PERSISTENCE_PRIOR_SD: Final[float] = 10.0


def _persistence_features(previous: IntArray) -> FloatArray:
    """Indicators ``f_k(c | previous)`` of the three departures: shape (n_pairs, 4, 3)."""
    previous = np.asarray(previous)
    act = np.arange(len(ACTS))
    is_vote = act != ABSENT
    prev_vote = (previous != ABSENT)[:, None]
    prev_absent = (previous == ABSENT)[:, None]
    reversal = prev_vote & is_vote[None, :] & (act[None, :] != previous[:, None])
    leave = prev_vote & ~is_vote[None, :]
    ret = prev_absent & is_vote[None, :]
    return np.stack([reversal, leave, ret], axis=-1).astype(float)


def fit_persistence(
    log_baseline: FloatArray,
    previous: IntArray,
    chosen: IntArray,
    *,
    start: FloatArray | None = None,
    weight: FloatArray | None = None,
) -> dict[str, float | int | bool]:
    """Fit the three persistence costs by maximum likelihood.

    ``P(c) ∝ p_spatial(c) * exp(-lambda_reversal [c a vote != previous vote]
    - lambda_leave [c absent, previous a vote] - lambda_return [c a vote, previous absent])``,
    the conditional logit of MODEL.md §3 with ``a_i(c)`` = :func:`sim.core.choice.persistence_cost`.
    The log-likelihood is concave in the costs; it is maximised by Newton's method with the
    analytic gradient and Hessian (``sum of Cov_P(f)``) and a backtracking line search, to a
    gradient norm of 1e-10 per pair, under a flat-ish N(0, 10^2) prior that only matters if a
    departure never occurs. Standard errors from the inverse Hessian.

    Parameters
    ----------
    log_baseline : ndarray, shape (n_pairs, 4)
        ``log p_spatial(c)`` of the next act in ``ACTS`` order (:func:`log_policy_utility`,
        with the previous roll call's item parameters).
    previous, chosen : ndarray of int, shape (n_pairs,)
        Codes into ``ACTS`` of the previous and the next act.
    start : ndarray, shape (3,), optional
        Starting costs (e.g. the last solution when the baseline moves a little); default 0.
    weight : ndarray, shape (n_pairs,), optional
        How many pairs each pair stands for (a thinned sample's expansion weights); default 1.

    Returns
    -------
    dict
        ``reversal``, ``leave``, ``return`` (logit units; positive = a cost) and their ``_se``,
        ``n_pairs``, ``converged``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> base = np.log(np.full((4000, 4), 0.25))
    >>> prev = rng.integers(0, 4, 4000)
    >>> fit = fit_persistence(base, prev, prev)        # nobody ever changes: large costs
    >>> fit["reversal"] > 5 and fit["leave"] > 5 and fit["return"] > 5
    True
    """
    costs = _Costs(np.asarray(previous), np.asarray(chosen), weight)
    with one_blas_thread():  # see fit_text_persistence
        return costs.fit(np.asarray(log_baseline, dtype=float), start=start)


class _Costs:
    """The conditional logit of the three persistence costs on fixed pairs
    (:func:`fit_persistence`).

    Acts run along the first axis (arrays of shape (4, n_pairs)), so a sum over the four acts
    is three vector additions, and each feature ``f_k(c | previous)`` is a 0/1 array of that
    shape: the expected features and their covariance under ``P`` are sums of products, and a
    fit's many calls with the same pairs reuse them.
    """

    def __init__(self, previous: IntArray, chosen: IntArray, weight: FloatArray | None) -> None:
        feats = _persistence_features(previous)  # (n, 4, 3)
        self.f = [np.ascontiguousarray(feats[..., k].T) for k in range(3)]  # (4, n) each
        self.pairs = [(k, m) for k in range(3) for m in range(k, 3)]
        self.ff = [self.f[k] * self.f[m] for k, m in self.pairs]
        self.chosen = np.asarray(chosen)
        self.rows = np.arange(len(self.chosen))
        self.w = np.ones(len(self.chosen)) if weight is None else np.asarray(weight, dtype=float)
        self.n = max(float(self.w.sum()), 1.0)
        self.w_obs = self.w @ feats[self.rows, self.chosen]  # (3,)

    def _utility(self, log_baseline: FloatArray, lam: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``u = log_baseline - cost`` (acts first) and ``log sum_c exp(u_c)`` per pair."""
        u = log_baseline.T - (self.f[0] * lam[0] + self.f[1] * lam[1] + self.f[2] * lam[2])
        top = np.maximum(np.maximum(u[0], u[1]), np.maximum(u[2], u[3]))
        e = np.exp(u - top)
        return u, np.log(e[0] + e[1] + e[2] + e[3]) + top

    def loglik(self, log_baseline: FloatArray, lam: FloatArray) -> float:
        """``sum_i w_i log P_i(chosen_i)`` at costs `lam`."""
        u, norm = self._utility(log_baseline, lam)
        return float(self.w @ (u[self.chosen, self.rows] - norm))

    def slope(self, log_baseline: FloatArray, lam: FloatArray, slopes: FloatArray) -> FloatArray:
        """Total derivative of :meth:`loglik` at the penalised optimum `lam` when the baseline
        moves by `slopes` (shape (n_params, n_pairs, 4)) per parameter: the direct term, and
        the costs' own move (``d lam = H^-1 M``, ``M`` the weighted covariance of the features
        with the baseline's move) times the log-likelihood's slope in them, which at the
        penalised optimum is the prior's, ``lam / PERSISTENCE_PRIOR_SD^2``.
        """
        u, norm = self._utility(log_baseline, lam)
        p = np.exp(u - norm)  # (4, n)
        moves = np.swapaxes(slopes, 1, 2)  # (n_params, 4, n)
        expected = np.sum(p * moves, axis=1)  # (n_params, n)
        direct = (moves[:, self.chosen, self.rows] - expected) @ self.w
        mean = np.stack([np.sum(p * f, axis=0) for f in self.f])  # (3, n)
        cov = np.stack(
            [np.sum(p * f * moves, axis=1) - mean[k] * expected for k, f in enumerate(self.f)]
        )  # (3, n_params, n)
        _, _, hess = self._terms(log_baseline, lam)
        dlam = np.linalg.solve(hess, cov @ self.w)  # (3, n_params)
        return direct + (lam / PERSISTENCE_PRIOR_SD**2) @ dlam

    def _terms(
        self, log_baseline: FloatArray, lam: FloatArray
    ) -> tuple[float, FloatArray, FloatArray]:
        """Penalised negative log-likelihood, its gradient and Hessian (not per pair)."""
        u, norm = self._utility(log_baseline, lam)
        p = np.exp(u - norm)
        value = -float(self.w @ (u[self.chosen, self.rows] - norm))

        def expect(f: FloatArray) -> FloatArray:
            pf = p * f
            return pf[0] + pf[1] + pf[2] + pf[3]

        mean = np.stack([expect(f) for f in self.f])  # (3, n): E_P f per pair
        wm = mean * self.w
        grad = self.w_obs - wm.sum(axis=1)
        hess = np.empty((3, 3))
        for (k, m), ff in zip(self.pairs, self.ff, strict=True):
            # Dot products of vectors, not a (3, n) x (n, 3) product: a multithreaded BLAS
            # spends longer waking its threads than on that product.
            hess[k, m] = hess[m, k] = self.w @ expect(ff) - wm[k] @ mean[m]
        precision = 1.0 / PERSISTENCE_PRIOR_SD**2
        return (
            value + 0.5 * precision * float(lam @ lam),
            grad + precision * lam,
            hess + precision * np.eye(3),
        )

    def fit(
        self, log_baseline: FloatArray, *, start: FloatArray | None = None
    ) -> dict[str, float | int | bool]:
        """The costs maximising the penalised likelihood, their se, ``n_pairs``, ``converged``.

        Newton's method from `start` (default 0) until the gradient per pair is below 1e-10
        (as ``trust-exact``'s ``gtol``), halving a step that does not lower the objective
        (beyond rounding: it is concave, so near the optimum every full step is taken).
        """
        lam = np.zeros(3) if start is None else np.asarray(start, dtype=float).copy()
        value, grad, hess = self._terms(log_baseline, lam)
        converged = False
        for _ in range(200):
            if np.linalg.norm(grad) / self.n < 1e-10:
                converged = True
                break
            step = np.linalg.solve(hess, -grad)
            slope = float(grad @ step)
            t = 1.0
            while True:
                trial = lam + t * step
                new = self._terms(log_baseline, trial)
                if new[0] <= value + 1e-4 * t * slope + 1e-12 * abs(value) or t < 1e-6:
                    break
                t *= 0.5
            lam, (value, grad, hess) = trial, new
        se = np.sqrt(np.diag(np.linalg.inv(hess)))
        out: dict[str, float | int | bool] = {}
        for k, name in enumerate(PERSISTENCE_COSTS):
            out[name] = float(lam[k])
            out[f"{name}_se"] = float(se[k])
        out["n_pairs"] = len(self.chosen)
        out["converged"] = converged
        return out


#: Grid of member effects ``v`` on which each member's likelihood is tabulated
#: (:func:`fit_member_hold`): logit units, wide enough for a member that never reverses (its
#: likelihood is flat upward and the prior closes it) and fine enough for a posterior sd of 0.1.
HOLD_GRID: Final[FloatArray] = np.linspace(-10.0, 10.0, 401)

#: Pairs per block of :func:`fit_member_hold`'s tabulation (bounds its temporaries).
_HOLD_BLOCK = 8192


def _reversal_terms(
    log_baseline: FloatArray, previous: IntArray, chosen: IntArray, costs: Mapping[str, float]
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per pair with an earlier vote: ``log P`` of its next act at member effect 0 split into
    what does not move with a member's extra reversal cost ``v`` and what does.

    ``log P(c | v) = u_c - v r_c - logaddexp(A, B - v)`` with ``u`` the pooled utilities,
    ``r_c`` 1 for a reversal, ``A`` (``B``) the log-sum of ``exp(u)`` over the acts that keep
    (reverse) the earlier vote. Returns ``u_chosen``, ``r_chosen``, ``A``, ``B``.
    """
    feats = _persistence_features(previous)  # (n, 4, 3)
    lam = np.array([costs[k] for k in PERSISTENCE_COSTS], dtype=float)
    u = np.asarray(log_baseline, float) - feats @ lam  # (n, 4)
    rev = feats[..., 0].astype(bool)  # (n, 4)
    rows = np.arange(len(u))
    with np.errstate(divide="ignore"):
        keep = _logsumexp(np.where(rev, -np.inf, u), axis=-1)
        away = _logsumexp(np.where(rev, u, -np.inf), axis=-1)
    return u[rows, chosen], rev[rows, chosen].astype(float), keep, away


def _member_table(
    terms: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    member: IntArray,
    n_members: int,
    grid: FloatArray,
) -> FloatArray:
    """Each member's log-likelihood of its pairs at every grid value of its effect:
    shape (n_members, len(grid)).
    """
    u_ch, r_ch, keep, away = terms
    table = np.zeros((n_members, len(grid)))
    for start in range(0, len(u_ch), _HOLD_BLOCK):
        b = slice(start, start + _HOLD_BLOCK)
        ll = (
            u_ch[b, None]
            - r_ch[b, None] * grid[None, :]
            - np.logaddexp(keep[b, None], away[b, None] - grid[None, :])
        )
        np.add.at(table, member[b], ll)
    return table


def fit_member_hold(
    log_baseline: FloatArray,
    previous: IntArray,
    chosen: IntArray,
    member: IntArray,
    *,
    costs: Mapping[str, float],
    n_members: int | None = None,
    grid: FloatArray = HOLD_GRID,
) -> dict[str, Any]:
    """How strongly each member holds its record: a member effect on the reversal cost, shrunk
    to the pool (empirical Bayes).

    Member ``i`` pays ``reversal + v_i`` to leave its earlier vote for another vote, with
    ``v_i ~ N(mu, s^2)`` across members: a member that almost never reverses gets a positive
    ``v_i`` (a keep-probability above the pool's), one with a mixed record a negative one, and a
    member with few pairs stays near ``mu``. The rest of the model (the spatial odds, the text
    shock, the other costs) is held at the pooled fit. ``mu`` and ``s`` maximise the marginal
    likelihood of all pairs, each member's likelihood integrated over its effect on a fixed fine
    grid (:data:`HOLD_GRID`); each member's posterior mean and sd come from the same grid.

    Parameters
    ----------
    log_baseline : ndarray, shape (n_pairs, 4)
        ``log P(c)`` of the next act before the persistence costs (the pooled text shock and
        strategic absence: :func:`sim.core.absence.log_act_baseline`).
    previous, chosen : ndarray of int, shape (n_pairs,)
        Earlier and next act (codes into ``ACTS``). Pairs whose earlier act is absence or
        unknown say nothing about reversals and are left out.
    member : ndarray of int, shape (n_pairs,)
        Index of the pair's member, in ``range(n_members)``.
    costs : mapping
        The pooled ``reversal``, ``leave``, ``return`` (:func:`fit_persistence`).
    n_members : int, optional
        Number of members (default ``member.max() + 1``); a member without pairs gets the
        prior.
    grid : ndarray
        Values of ``v`` the likelihood is tabulated on (evenly spaced).

    Returns
    -------
    dict
        ``hold_mean`` (``mu``), ``hold_sd`` (``s``) with ``_se`` (curvature of the marginal
        likelihood in ``mu`` and ``log s``, then the delta method); ``loglik_hold`` (the
        marginal log-likelihood), ``loglik_pooled`` (every ``v_i = 0``); ``n_pairs``; arrays
        ``mean``, ``sd`` (each member's posterior) and ``pairs`` (its pairs with an earlier
        vote), shape (n_members,).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> prev = np.zeros(4000, dtype=np.int64)           # every earlier act a yes
    >>> member = np.repeat(np.arange(40), 100)
    >>> p_keep = np.where(np.arange(40) < 20, 0.98, 0.7)[member]   # two kinds of member
    >>> nxt = np.where(rng.random(4000) < p_keep, 0, 2)
    >>> base = np.log(np.full((4000, 4), 0.25))
    >>> fit = fit_member_hold(base, prev, nxt, member, costs=dict(reversal=1.0, leave=0.0,
    ...                       **{"return": 0.0}))
    >>> bool(fit["mean"][:20].mean() > 0 > fit["mean"][20:].mean())
    True
    """
    previous = np.asarray(previous)
    member = np.asarray(member, dtype=np.int64)
    chosen = np.asarray(chosen)
    if n_members is None:
        n_members = int(member.max()) + 1 if len(member) else 0
    voted = (previous >= 0) & (previous != ABSENT)
    if not voted.any():  # nothing to learn a member's hold from: the pooled cost for all
        return {"hold_mean": 0.0, "hold_mean_se": 0.0, "hold_sd": 0.0, "hold_sd_se": 0.0,
                "loglik_hold": 0.0, "loglik_pooled": 0.0, "n_pairs": 0,
                "mean": np.zeros(n_members), "sd": np.zeros(n_members),
                "pairs": np.zeros(n_members, dtype=np.int64)}  # fmt: skip
    terms = _reversal_terms(
        np.asarray(log_baseline, float)[voted], previous[voted], chosen[voted], costs
    )
    grid = np.asarray(grid, dtype=float)
    with one_blas_thread():
        table = _member_table(terms, member[voted], n_members, grid)
    step = float(grid[1] - grid[0])
    pooled = float(table[:, int(np.argmin(np.abs(grid)))].sum())

    def log_prior(theta: FloatArray) -> FloatArray:
        mu, s = float(theta[0]), float(np.exp(theta[1]))
        return -0.5 * ((grid - mu) / s) ** 2 - np.log(s * np.sqrt(2 * np.pi)) + np.log(step)

    def negative(theta: FloatArray) -> float:
        return -float(_logsumexp(table + log_prior(theta)[None, :], axis=-1).sum())

    bounds = [(grid[0] / 2, grid[-1] / 2), (np.log(max(2 * step, 0.05)), np.log(5.0))]
    res = optimize.minimize(negative, np.array([0.0, np.log(1.0)]), method="L-BFGS-B",
                            bounds=bounds, options={"ftol": 1e-12, "maxiter": 200})  # fmt: skip
    theta = res.x
    se = _bounded_se(negative, theta, bounds)
    mu, s = float(theta[0]), float(np.exp(theta[1]))
    post = table + log_prior(theta)[None, :]
    post = np.exp(post - _logsumexp(post, axis=-1, keepdims=True))
    mean = post @ grid
    sd = np.sqrt(np.clip(post @ grid**2 - mean**2, 0.0, None))
    return {
        "hold_mean": mu,
        "hold_mean_se": float(se[0]),
        "hold_sd": s,
        "hold_sd_se": float(se[1] * s),
        "loglik_hold": float(-res.fun),
        "loglik_pooled": pooled,
        "n_pairs": int(voted.sum()),
        "mean": mean,
        "sd": sd,
        "pairs": np.bincount(member[voted], minlength=n_members),
    }


def member_holds(persistence: Mapping[str, float], iso3: Any) -> tuple[FloatArray, FloatArray]:
    """Each member's extra reversal cost (:func:`fit_member_hold`'s posterior mean and sd) as a
    fitted persistence keeps it (``hold.<iso3>``, ``hold_se.<iso3>``).

    A member the window did not see takes the pool's ``hold_mean`` and ``hold_sd`` (its prior);
    without a member fit (no ``hold_sd``) every member's is 0 with sd 0 (the pooled costs).

    Examples
    --------
    >>> pers = {"hold_mean": 0.2, "hold_sd": 1.0, "hold.UKR": 2.5, "hold_se.UKR": 0.4}
    >>> member_holds(pers, ["UKR", "ZZZ"])
    (array([2.5, 0.2]), array([0.4, 1. ]))
    """
    codes = [str(c) for c in np.asarray(iso3, dtype=object).ravel()]
    if "hold_sd" not in persistence:
        return np.zeros(len(codes)), np.zeros(len(codes))
    mu, s = float(persistence["hold_mean"]), float(persistence["hold_sd"])
    mean = np.array([float(persistence.get(f"hold.{c}", mu)) for c in codes])
    sd = np.array([float(persistence.get(f"hold_se.{c}", s)) for c in codes])
    return mean, sd
