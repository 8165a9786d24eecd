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

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import numpy as np
from scipy import optimize
from scipy.special import logsumexp

from sim.core.absence import log_act_baseline
from sim.core.acts import ABSENT, ACTS, FloatArray, IntArray
from sim.core.choice import ordered_log_probs, persistence_cost
from sim.core.derivatives import hessian
from sim.core.quadrature import normal_nodes

__all__ = [
    "N_NODES",
    "SCALE_MIN",
    "conditional_vote_log_probs",
    "conditional_vote_log_probs_on_draws",
    "fit_text_persistence",
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
#: keeps the persistence part of a ten-year 'all' fit near half a minute.
MAX_PAIRS = 20_000

#: A fit on many pairs first finds its way on every ``COARSE``-th of them
#: (:func:`fit_text_persistence`).
COARSE = 4
#: Relative tolerances of the profile log-likelihood's optimiser, the coarse stage's and the
#: last one's (1e-8 of a log-likelihood of thousands: a few 1e-5; its standard errors are ~1).
FTOL_COARSE = 1e-6
FTOL = 1e-8

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
    lp = vote_log_probs(
        xs,
        item={"discrimination": b / scale, **{k: per_member(v) / scale for k, v in cuts.items()}},
    )
    r = np.broadcast_to(np.asarray(correlation, dtype=float), (n_members,))[cols]
    if np.any((r < 0) | (r > 1)):
        raise ValueError("correlation must lie in [0, 1]")
    if np.all(r == 1.0):
        predictive = lp
    else:
        r = r[:, None]  # (m, 1)
        fresh = np.sqrt(scale**2 + 3.0 * sigma**2 * (1.0 - r**2) / np.pi**2)
        predictive = vote_log_probs(
            x[..., cols][..., None] + r * shift,
            item={"discrimination": b / fresh,
                  **{k: per_member(v) / fresh for k, v in cuts.items()}},
        )  # fmt: skip
    prev = previous[cols]
    index = np.broadcast_to(prev[:, None, None], (*lp.shape[:-1], 1))
    lik = np.take_along_axis(lp, index, axis=-1)[..., 0]  # (..., m, K)
    post = logw + lik
    post = post - _logsumexp(post, axis=-1, keepdims=True)
    out = base.copy()
    # log sum_k exp(post_k + predictive_kc), with the nodes on the last, contiguous axis (numpy
    # reduces a contiguous axis several times faster than a strided one).
    joint = np.ascontiguousarray(np.swapaxes(predictive, -1, -2))  # (..., m, 3, K)
    joint += post[..., None, :]
    out[..., cols, :] = _logsumexp(joint, axis=-1)
    return out


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


def _profile(
    sigma: float,
    scale: float | None,
    x: FloatArray,
    presence_base: FloatArray,
    gamma: float,
    item: Mapping[str, FloatArray],
    prev: IntArray,
    nxt: IntArray,
    correlation: FloatArray | float = 1.0,
    warm: dict[str, FloatArray] | None = None,
    weight: FloatArray | None = None,
) -> tuple[float, dict[str, Any]]:
    """Log-likelihood of the next acts given the shock parameters, the costs maximised out
    (from the last solution kept in `warm`, if given: neighbouring calls differ little).
    """
    lv = conditional_vote_log_probs(
        x, prev, item=item, sigma=sigma, scale=scale, correlation=correlation
    )
    lb = log_act_baseline(lv, presence_base, gamma)
    fit = fit_persistence(
        lb, prev, nxt, start=None if warm is None else warm.get("costs"), weight=weight
    )
    if warm is not None:
        warm["costs"] = np.array([fit[k] for k in PERSISTENCE_COSTS])
    u = lb - _pairwise_cost(prev, fit)
    terms = u[np.arange(len(nxt)), nxt] - logsumexp(u, axis=1)
    ll = float(np.sum(terms) if weight is None else weight @ terms)
    return ll, fit


def _pairwise_cost(prev: IntArray, fit: Mapping[str, Any]) -> FloatArray:
    return persistence_cost(prev, reversal=fit["reversal"], leave=fit["leave"], ret=fit["return"])[
        0
    ]


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

    The shock's parameters are found first on every :data:`COARSE`-th pair (a loose tolerance,
    :data:`FTOL_COARSE`), then on all pairs from there (:data:`FTOL`); the costs are maximised
    out at each step (:func:`fit_persistence`, concave).

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
    keep, weight = _sample(
        None if gap is None else np.asarray(gap, float), len(np.asarray(chosen)), max_pairs
    )
    weights: FloatArray | None = None if np.all(weight == 1.0) else weight  # None: plain likelihood
    x = np.asarray(ideal_point, float)[keep]
    prev = np.asarray(previous)[keep]
    nxt = np.asarray(chosen)[keep]
    item = {k: np.asarray(v, float)[keep] for k, v in item.items()}
    base = np.asarray(participation, float)[keep] + item["presence"]
    g = None if gap is None else np.asarray(gap, float)[keep]
    gaps = np.zeros(len(nxt)) if g is None else g
    # Unconstrained-looking parameters (log sigma, log scale, log tau, power) with bounds: the
    # scale stops at SCALE_MIN and the power at 2 (the smoothest valid correlation).
    bounds = [(np.log(0.05), np.log(SIGMA_MAX * 3)), (np.log(SCALE_MIN), np.log(3.0)),
              (np.log(0.05), np.log(100.0)), (0.1, 2.0)]  # fmt: skip

    def objectives(
        part: IntArray,
    ) -> tuple[Callable[[FloatArray], float], Callable[[FloatArray], float]]:
        """Minus the profile log-likelihood of the pairs `part`: the shock the same in both
        votes (log sigma, log scale), and moving with the gap (and log tau, power).
        """
        w = None if weights is None else weights[part]
        args = (x[part], base[part], gamma, {k: v[part] for k, v in item.items()},
                prev[part], nxt[part])  # fmt: skip
        warm: dict[str, FloatArray] = {}

        def still(theta: FloatArray) -> float:
            sigma, scale = np.exp(theta[:2])
            return -_profile(float(sigma), float(scale), *args, warm=warm, weight=w)[0]

        def moving(theta: FloatArray) -> float:
            sigma, scale, tau = np.exp(theta[:3])
            r = shock_correlation(gaps[part], tau=float(tau), power=float(theta[3]))
            return -_profile(float(sigma), float(scale), *args, correlation=r, warm=warm, weight=w)[
                0
            ]

        return still, moving

    def minimise(
        f: Callable[[FloatArray], float], start: FloatArray, n: int, ftol: float
    ) -> optimize.OptimizeResult:
        return optimize.minimize(f, start, method="L-BFGS-B", bounds=bounds[:n],
                                 options={"eps": 1e-5, "ftol": ftol, "maxiter": 200})  # fmt: skip

    # First on every COARSE-th pair, then on all of them from there: the long walk from the
    # generic start is made at a fraction of the cost, and the last steps on the full sample.
    starts = [np.log([1.5, 0.8]), np.array([0.0, 0.0, np.log(2.0), 1.0])]
    everything = np.arange(len(nxt))
    stages = [everything[::COARSE], everything] if len(nxt) >= COARSE * 1000 else [everything]
    for part in stages:
        still, moving = objectives(part)
        ftol = FTOL if part is stages[-1] else FTOL_COARSE
        res0 = minimise(still, starts[0], 2, ftol)
        starts[0] = res0.x
        if g is not None:
            res = minimise(moving, np.array([*res0.x, *starts[1][2:]]) if part is stages[0]
                           else starts[1], 4, ftol)  # fmt: skip
            starts[1] = res.x
    names: tuple[str, ...]
    if g is None:
        theta, negative, names = res0.x, still, ("sigma", "scale")
    else:
        theta, negative, names = res.x, moving, ("sigma", "scale", "tau", "power")
    args = (x, base, gamma, item, prev, nxt)
    warm: dict[str, FloatArray] = {}
    values = {"sigma": float(np.exp(theta[0])), "scale": float(np.exp(theta[1]))}
    correlation: FloatArray | float = 1.0
    if g is not None:
        values["tau"] = float(np.exp(theta[2]))
        values["power"] = float(theta[3])
        correlation = shock_correlation(g, tau=values["tau"], power=values["power"])
    ll, fit = _profile(
        values["sigma"], values["scale"], *args, correlation=correlation, warm=warm, weight=weights
    )
    ll0, _ = _profile(0.0, 1.0, *args, weight=weights)
    # Curvature of the profile likelihood in the free parameters (a parameter at its bound is
    # held there: se 0), then the delta method from the logs.
    free = np.array([lo + 1e-6 < t < hi - 1e-6 for t, (lo, hi) in zip(theta, bounds, strict=False)])
    se = np.zeros(len(theta))
    if free.any():

        def restricted(t: FloatArray) -> float:
            full = theta.copy()
            full[free] = t
            return negative(full)

        se[free] = np.sqrt(
            np.clip(np.diag(np.linalg.pinv(hessian(restricted, theta[free], step=1e-3))), 0, None)
        )
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
    The log-likelihood is concave in the costs; it is maximised by scipy's ``trust-exact`` with
    the analytic gradient and Hessian (``sum of Cov_P(f)``), under a flat-ish N(0, 10^2) prior
    that only matters if a departure never occurs. Standard errors from the inverse Hessian.

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
    log_baseline = np.asarray(log_baseline, dtype=float)
    previous = np.asarray(previous)
    chosen = np.asarray(chosen)
    # The features depend on the pair only through its previous act: one (4, 3) table per
    # previous act (and one of zeros for an unknown one), so each pass over the pairs is a few
    # (n, 4) arrays and the moments are sums per previous act (far fewer flops than (n, 4, 3)).
    kinds = np.arange(-1, len(ACTS))
    tables = _persistence_features(kinds)  # (5, 4, 3); row 0: unknown (-1)
    group = np.clip(previous, -1, len(ACTS) - 1) + 1
    rows = np.arange(len(chosen))
    w = np.ones(len(chosen)) if weight is None else np.asarray(weight, dtype=float)
    f_obs = tables[group, chosen]  # (n, 3)
    w_f_obs = w @ f_obs
    members = [np.flatnonzero(group == g) for g in range(len(kinds))]
    n = max(float(w.sum()), 1.0)
    precision = 1.0 / PERSISTENCE_PRIOR_SD**2

    def probabilities(lam: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The pairs' act probabilities and log normalisers at costs `lam`."""
        u = log_baseline - (tables @ lam)[group]
        top = u.max(axis=1, keepdims=True)
        e = np.exp(u - top)
        total = e.sum(axis=1, keepdims=True)
        return e / total, (np.log(total) + top)[:, 0] - u[rows, chosen]

    def weighted_p(p: FloatArray) -> FloatArray:
        """Per previous act, the weighted sum of the pairs' act probabilities: (5, 4)."""
        return np.stack([w[m] @ p[m] for m in members])

    # Per pair, so that the tolerance does not depend on the number of pairs.
    def objective(lam: FloatArray) -> tuple[float, FloatArray]:
        p, nll = probabilities(lam)
        expected = np.einsum("gc,gck->k", weighted_p(p), tables)
        grad = w_f_obs - expected  # d ll / d lambda = -(f_obs - E f)
        value = float(w @ nll + 0.5 * precision * lam @ lam) / n
        return value, (grad + precision * lam) / n

    def information(lam: FloatArray) -> FloatArray:
        p, _ = probabilities(lam)
        second = np.einsum("gc,gck,gcl->kl", weighted_p(p), tables, tables)
        out = second + precision * np.eye(3)
        for g, m in enumerate(members):
            mean = p[m] @ tables[g]  # (n_g, 3)
            out -= (w[m, None] * mean).T @ mean
        return out

    res = optimize.minimize(
        objective,
        np.zeros(3) if start is None else np.asarray(start, dtype=float),
        jac=True,
        hess=lambda lam: information(lam) / n,
        method="trust-exact",
        options={"gtol": 1e-10, "maxiter": 200},
    )
    cov = np.linalg.inv(information(res.x))
    se = np.sqrt(np.diag(cov))
    out: dict[str, float | int | bool] = {}
    for k, name in enumerate(PERSISTENCE_COSTS):
        out[name] = float(res.x[k])
        out[f"{name}_se"] = float(se[k])
    out["n_pairs"] = len(chosen)
    out["converged"] = bool(res.success)
    return out
