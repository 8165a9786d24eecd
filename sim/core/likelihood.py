"""The spatial model of roll calls and its penalised likelihood, on arrays.

For member *i* with ideal point ``x_i`` and participation ``rho_i`` and roll call *j* with
discrimination ``beta_j``, cuts ``t1_j < t2_j`` and attendance effect ``delta_j``: the latent
``a = beta_j x_i``; the votes follow an ordered logit (no < abstain < yes; the one formula,
:func:`sim.core.choice.ordered_log_probs`); presence a logit in ``rho_i + delta_j``, lowered by
the member's ambivalence between the votes times ``gamma`` where absence can be strategic
(:mod:`sim.core.absence`). :func:`negative_log_posterior` is the objective the static fit
(:class:`sim.estimate.ideal_points.IdealPoints`) and the dynamic one
(:class:`sim.estimate.dynamic.DynamicIdealPoints`) minimise, with analytic gradients
(:func:`strategic_log_prob_and_partials`); the rest gives standard errors, start values and
orientation. Cells are the observed (member, roll call, act) triples (:class:`Cells`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import sparse
from scipy.special import expit

from sim.core.absence import gamma_standard_error
from sim.core.acts import ABSENT, ABSTAIN, ACTS, NO, YES, FloatArray, IntArray
from sim.core.choice import log_expit, ordered_log_probs

#: The item parameters of a roll call, as named in ``items_`` and the pure functions' keywords.
ITEM_PARAMS: Final[tuple[str, str, str, str]] = (
    "discrimination",
    "cut_abstain",
    "cut_yes",
    "presence",
)

#: Prior standard deviations of the penalised likelihood (logit units; ideal points in sd units).
PRIOR_SD: Final[dict[str, float]] = {
    "ideal_point": 1.0,
    "discrimination": 2.5,
    "cutpoint": 5.0,
    "log_gap": 2.0,
    "participation": 5.0,
    "presence": 5.0,
    "strategic": 5.0,
}


def item_arrays(
    ideal_point: FloatArray | float,
    participation: FloatArray | float,
    discrimination: FloatArray | float,
    cut_abstain: FloatArray | float,
    cut_yes: FloatArray | float,
    presence: FloatArray | float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Latent indices ``a = beta x - tau1``, ``gap = tau2 - tau1`` and ``u = rho + delta``."""
    x, rho, beta, t1, t2, delta = np.broadcast_arrays(
        *(
            np.asarray(v, dtype=float)
            for v in (ideal_point, participation, discrimination, cut_abstain, cut_yes, presence)
        )
    )
    gap = t2 - t1
    if np.any(gap < 0):
        raise ValueError("cut_yes must not be below cut_abstain (the order yes > abstain > no)")
    return beta * x - t1, gap, rho + delta


def log_probabilities(
    a: FloatArray, gap: FloatArray, u: FloatArray, gamma: FloatArray | float = 0.0
) -> FloatArray:
    """Log act probabilities in ``ACTS`` order from the latent indices, computed in log space.

    ``P(abstain | present) = sigmoid(a) - sigmoid(b)`` with ``b = a - gap`` equals
    ``sigmoid(a) * sigmoid(-b) * (1 - exp(-gap))``, whose log has no cancellation. With
    ``gamma``, presence is ``sigmoid(u - gamma * H)`` (strategic absence, :mod:`sim.core.absence`).
    """
    lq_yes, lq_no, lq_abs = log_vote_probabilities(a, gap)
    if np.any(np.asarray(gamma) != 0):
        u = u - np.asarray(gamma, dtype=float) * normalised_entropy(lq_yes, lq_no, lq_abs)
    log_present = log_expit(u)
    out = np.empty((*a.shape, len(ACTS)))
    out[..., YES] = log_present + lq_yes
    out[..., NO] = log_present + lq_no
    out[..., ABSTAIN] = log_present + lq_abs
    out[..., ABSENT] = log_expit(-u)
    return out


def log_vote_probabilities(
    a: FloatArray, gap: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``log P(yes | present)``, ``log P(no | present)``, ``log P(abstain | present)`` from the
    latent indices (``b = a - gap``; the abstain term without cancellation, see
    :func:`log_probabilities`). ``-inf`` for abstain only when ``gap == 0``.
    """
    out = ordered_log_probs(a, gap)
    return out[..., 0], out[..., 1], out[..., 2]


def normalised_entropy(lq_yes: FloatArray, lq_no: FloatArray, lq_abs: FloatArray) -> FloatArray:
    """``-sum q log q / log 3`` of the vote given presence, from its log probabilities (each
    floored at -745, where ``exp`` underflows), clipped to [0, 1].
    """
    lq = [np.maximum(v, -745.0) for v in (lq_yes, lq_no, lq_abs)]
    return np.clip(-sum(np.exp(v) * v for v in lq) / _LOG3, 0.0, 1.0)


def log_policy_utility(
    ideal_point: FloatArray | float,
    participation: FloatArray | float,
    *,
    discrimination: FloatArray | float,
    cut_abstain: FloatArray | float,
    cut_yes: FloatArray | float,
    presence: FloatArray | float,
    gamma: FloatArray | float = 0.0,
) -> FloatArray:
    """Log of :func:`act_probabilities_from_item`: the baseline utility ``P_i(c; r)``.

    Used as the policy-and-participation term of the logit choice model (MODEL.md §3,
    :mod:`sim.core.choice`), so that with no pressure and no earlier act ``softmax(log p) == p``.
    Computed in log space (no ``log(0)`` for a near-certain act); ``-inf`` only for abstain
    when ``cut_yes == cut_abstain``.

    Parameters
    ----------
    ideal_point, participation : float or ndarray, shape (..., n_members)
        ``x_i`` (sd units of the fitted dimension) and ``rho_i`` (logit units).
    discrimination, cut_abstain, cut_yes, presence : float or ndarray
        The item's ``beta``, ``tau1``, ``tau2`` and ``delta`` (logit units), broadcastable
        against `ideal_point` (e.g. shape (n_draws, 1) for per-draw items).
    gamma : float or ndarray, optional
        Strategic-absence slope: presence is ``sigmoid(rho + delta - gamma * H)`` with ``H``
        the ambivalence of the vote (:func:`sim.core.absence.ambivalence`); 0 (default) is the
        plain participation model.

    Returns
    -------
    ndarray, shape (..., n_members, 4)
        ``log P_i(c)`` in ``ACTS`` order (yes, no, abstain, absent).

    Examples
    --------
    >>> lp = log_policy_utility(0.0, 0.0, discrimination=1.0, cut_abstain=0.0, cut_yes=0.0,
    ...                         presence=0.0)
    >>> np.round(np.exp(lp), 3)
    array([0.25, 0.25, 0.  , 0.5 ])
    """
    a, gap, u = item_arrays(
        ideal_point, participation, discrimination, cut_abstain, cut_yes, presence
    )
    return log_probabilities(a, gap, u, gamma)


def act_probabilities_from_item(
    ideal_point: FloatArray | float,
    participation: FloatArray | float,
    *,
    discrimination: FloatArray | float,
    cut_abstain: FloatArray | float,
    cut_yes: FloatArray | float,
    presence: FloatArray | float,
    gamma: FloatArray | float = 0.0,
) -> FloatArray:
    """Probabilities of yes, no, abstain and absent under the calibrated spatial model.

    ``P(absent) = 1 - sigmoid(rho + delta)``; given presence, an ordered logit on
    ``eta = beta * x`` with ``P(vote >= abstain) = sigmoid(eta - tau1)`` and
    ``P(yes) = sigmoid(eta - tau2)`` (module docstring, MODEL.md §3 policy term).

    Parameters
    ----------
    ideal_point : float or ndarray, shape (..., n_members)
        ``x_i``, sd units of the fitted dimension (negative: the US side).
    participation : float or ndarray, shape (..., n_members)
        ``rho_i``, logit units.
    discrimination : float or ndarray, broadcastable to `ideal_point`
        ``beta``: logit units per sd of ideal point; its sign says which side votes yes.
    cut_abstain, cut_yes : float or ndarray, broadcastable
        ``tau1 <= tau2``, logit units.
    presence : float or ndarray, broadcastable
        ``delta``, the roll call's attendance effect, logit units.
    gamma : float or ndarray, optional
        Strategic-absence slope (see :func:`log_policy_utility`); default 0.

    Returns
    -------
    ndarray, shape (..., n_members, 4)
        In ``ACTS`` order; sums to 1 over the last axis.

    Raises
    ------
    ValueError
        If ``cut_yes < cut_abstain`` anywhere.

    Examples
    --------
    >>> p = act_probabilities_from_item(np.array([-1.0, 1.0]), np.array([2.0, 2.0]),
    ...     discrimination=2.0, cut_abstain=-0.5, cut_yes=0.5, presence=0.0)
    >>> np.round(p, 3)
    array([[0.067, 0.72 , 0.094, 0.119],
           [0.72 , 0.067, 0.094, 0.119]])
    """
    return np.exp(
        log_policy_utility(
            ideal_point,
            participation,
            discrimination=discrimination,
            cut_abstain=cut_abstain,
            cut_yes=cut_yes,
            presence=presence,
            gamma=gamma,
        )
    )


def log_prob_and_partials(
    a: FloatArray, gap: FloatArray, u: FloatArray, act: IntArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Log-probability of `act` and its partial derivatives in ``a``, ``b = a - gap``, ``u``.

    Returns ``(logp, g_a, g_b, g_u)``, each of the shape of the broadcast inputs, treating ``a``
    and ``b`` as the two free latent indices (``gap = a - b``). For abstain,
    ``log P = log sigmoid(a) + log sigmoid(-b) + log(1 - exp(-(a - b)))``. Each act's terms are
    computed on its own cells only.
    """
    shape = np.broadcast_shapes(*(np.shape(v) for v in (a, gap, u, act)))
    a, gap, u, act = (np.ravel(v) for v in np.broadcast_arrays(a, gap, u, act))
    present = act != ABSENT
    logp = log_expit(np.where(present, u, -u))
    g_u = present - expit(u)
    g_a = np.zeros_like(logp)
    g_b = np.zeros_like(logp)
    yes = np.flatnonzero(act == YES)
    b = a[yes] - gap[yes]
    logp[yes] += log_expit(b)
    g_b[yes] = expit(-b)
    no = np.flatnonzero(act == NO)
    a_no = a[no]
    logp[no] += log_expit(-a_no)
    g_a[no] = -expit(a_no)
    ab = np.flatnonzero(act == ABSTAIN)
    a_ab, gap_ab = a[ab], gap[ab]
    b = a_ab - gap_ab
    with np.errstate(divide="ignore", over="ignore"):  # gap -> 0: log P -> -inf, slope -> inf
        logp[ab] += log_expit(a_ab) + log_expit(-b) + np.log(-np.expm1(-gap_ab))
        inv_expm1 = 1.0 / np.expm1(gap_ab)
    g_a[ab] = expit(-a_ab) + inv_expm1
    g_b[ab] = -expit(b) - inv_expm1
    return logp.reshape(shape), g_a.reshape(shape), g_b.reshape(shape), g_u.reshape(shape)


def ambivalence_and_partials(
    a: FloatArray, gap: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Normalised entropy ``H`` of the vote given presence, and its partials in ``a`` and ``b``.

    ``q = (sigmoid(b), sigmoid(-a), sigmoid(a) - sigmoid(b))`` for yes, no, abstain with
    ``b = a - gap``; ``H = -sum q log q / log 3`` (:func:`sim.core.absence.ambivalence`). Since
    ``sum q = 1``, ``dH/da = s_a (log q_no - log q_abs) / log 3`` and
    ``dH/db = s_b (log q_abs - log q_yes) / log 3`` with ``s = sigmoid * sigmoid(-.)``.
    """
    b = a - gap
    lq_yes, lq_no, lq_abs = (np.maximum(v, -745.0) for v in log_vote_probabilities(a, gap))
    s_a = expit(a) * expit(-a)
    s_b = expit(b) * expit(-b)
    return (
        normalised_entropy(lq_yes, lq_no, lq_abs),
        s_a * (lq_no - lq_abs) / _LOG3,
        s_b * (lq_abs - lq_yes) / _LOG3,
    )


def strategic_log_prob_and_partials(
    a: FloatArray,
    gap: FloatArray,
    u: FloatArray,
    act: IntArray,
    gamma: float,
    mask: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """As :func:`log_prob_and_partials`, with strategic presence ``z = u - gamma * H(a, b)``.

    The presence term of every cell, absent ones included, depends on the vote indices through
    the ambivalence ``H`` (:func:`ambivalence_and_partials`): an absence is evidence that the
    member was torn, so absences inform ideal points and items, and ``gamma`` is estimated
    jointly with them (MODEL.md §3; :mod:`sim.core.absence`). Returns
    ``(logp, g_a, g_b, g_u, g_gamma)``, the last the per-cell partial in ``gamma``. `mask`
    (0 or 1 per cell, :class:`Cells` ``strategic``) switches the ambivalence term off where
    absence cannot be strategic.
    """
    h, dh_da, dh_db = ambivalence_and_partials(a, gap)
    if mask is not None:
        h, dh_da, dh_db = h * mask, dh_da * mask, dh_db * mask
    logp, g_a, g_b, g_z = log_prob_and_partials(a, gap, u - gamma * h, act)
    g_a = g_a - gamma * g_z * dh_da
    g_b = g_b - gamma * g_z * dh_db
    return logp, g_a, g_b, g_z, -g_z * h


def latent_hessian(
    a: FloatArray, gap: FloatArray, act: IntArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Second derivatives ``(h_aa, h_ab, h_bb)`` of the vote part of ``log P`` (0 for absent)."""
    b = a - gap
    sa = expit(a) * expit(-a)
    sb = expit(b) * expit(-b)
    is_yes, is_no, is_abs = act == YES, act == NO, act == ABSTAIN
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # L(d) = log(1 - exp(-d)); L''(d) = -exp(-d) / (1 - exp(-d))^2 = -1 / (4 sinh^2(d/2))
        l2 = np.where(is_abs, -0.25 / np.sinh(0.5 * gap) ** 2, 0.0)
    h_aa = np.where(is_no | is_abs, -sa, 0.0) + l2
    h_bb = np.where(is_yes | is_abs, -sb, 0.0) + l2
    h_ab = -l2
    return h_aa, h_ab, h_bb


@dataclass(frozen=True)
class Cells:
    """Observed member x roll-call cells as index arrays (sorted by item, then member)."""

    member: IntArray  # (n_cells,) index into the member axis
    item: IntArray  # (n_cells,) index into the item axis
    act: IntArray  # (n_cells,) index into ACTS
    n_members: int
    n_items: int
    # (n_cells,) 1 where absence can be strategic: the member voted at least once in the roll
    # call's session. A member-session without any vote (arrears, no delegation) is absent for
    # other reasons; letting its ambivalence explain that would drag its ideal point to wherever
    # the votes are most torn. None: every cell.
    strategic: FloatArray | None = None


def unpack(theta: FloatArray, n: int, j: int) -> tuple[FloatArray, ...]:
    """Split the parameter vector: ``x (n), rho (n), beta (j), tau1 (j), s (j), delta (j)``."""
    x, rho = theta[:n], theta[n : 2 * n]
    beta, t1, s, delta = (theta[2 * n + k * j : 2 * n + (k + 1) * j] for k in range(4))
    return x, rho, beta, t1, s, delta


def negative_log_posterior(
    theta: FloatArray, cells: Cells, strategic: bool = False
) -> tuple[float, FloatArray]:
    """Penalised negative log-likelihood per cell and its analytic gradient.

    Parameters
    ----------
    theta : ndarray, shape (2 n_members + 4 n_items [+ 1],)
        Packed as in :func:`unpack`; with `strategic`, ``gamma`` last.
    cells : Cells
    strategic : bool
        Presence ``sigmoid(rho + delta - gamma * H)`` with the ambivalence ``H`` of the vote
        (:func:`strategic_log_prob_and_partials`), ``gamma ~ N(0, 5^2)``; else ``gamma = 0``.

    Returns
    -------
    (float, ndarray of shape like `theta`)
        Divided by the number of cells, so that tolerances do not depend on the data size.
    """
    n, j = cells.n_members, cells.n_items
    x, rho, beta, t1, s, delta = unpack(theta, n, j)
    mi, ji = cells.member, cells.item
    gap_item = np.exp(s)
    t2 = t1 + gap_item
    bj, xi = beta[ji], x[mi]
    a = bj * xi - t1[ji]
    gap = gap_item[ji]
    u = rho[mi] + delta[ji]
    sd = PRIOR_SD
    if strategic:
        gamma = float(theta[-1])
        logp, g_a, g_b, g_u, g_gamma = strategic_log_prob_and_partials(
            a, gap, u, cells.act, gamma, cells.strategic
        )
        gamma_terms = (
            0.5 * gamma**2 / sd["strategic"] ** 2,
            [np.array([g_gamma.sum() - gamma / sd["strategic"] ** 2])],
        )
    else:
        logp, g_a, g_b, g_u = log_prob_and_partials(a, gap, u, cells.act)
        gamma_terms = (0.0, [])
    g_eta = g_a + g_b

    loglik = logp.sum()
    log_prior = (
        -0.5
        * (
            np.sum(x**2) / sd["ideal_point"] ** 2
            + np.sum(beta**2) / sd["discrimination"] ** 2
            + (np.sum(t1**2) + np.sum(t2**2)) / sd["cutpoint"] ** 2
            + np.sum(s**2) / sd["log_gap"] ** 2
            + np.sum(rho**2) / sd["participation"] ** 2
            + np.sum(delta**2) / sd["presence"] ** 2
        )
        - gamma_terms[0]
    )
    grad = np.concatenate(
        [
            np.bincount(mi, g_eta * bj, n) - x / sd["ideal_point"] ** 2,
            np.bincount(mi, g_u, n) - rho / sd["participation"] ** 2,
            np.bincount(ji, g_eta * xi, j) - beta / sd["discrimination"] ** 2,
            -np.bincount(ji, g_eta, j) - (t1 + t2) / sd["cutpoint"] ** 2,
            -np.bincount(ji, g_b, j) * gap_item
            - t2 * gap_item / sd["cutpoint"] ** 2
            - s / sd["log_gap"] ** 2,
            np.bincount(ji, g_u, j) - delta / sd["presence"] ** 2,
            *gamma_terms[1],
        ]
    )
    scale = 1.0 / max(len(mi), 1)
    return -(loglik + log_prior) * scale, -grad * scale


def start_values(cells: Cells) -> FloatArray:
    """Cheap start: SVD of the yes=1 / abstain=0.5 / no=0 matrix, logits of observed shares."""
    n, j = cells.n_members, cells.n_items
    mi, ji, act = cells.member, cells.item, cells.act
    present = act != ABSENT
    score = np.select([act == YES, act == ABSTAIN], [1.0, 0.5], 0.0)
    votes_i = np.bincount(mi, present, n)
    votes_j = np.bincount(ji, present, j)
    col_mean = np.bincount(ji, score * present, j) / np.maximum(votes_j, 1)
    y = np.zeros((n, j))
    y[mi[present], ji[present]] = score[present] - col_mean[ji[present]]
    # Missing cells (absent or not a member) sit at the roll call's mean: zero after centring.
    if n > 1 and j > 1 and np.any(y):
        # Leading left singular vector of y, from the small n x n Gram matrix.
        _, vectors = np.linalg.eigh(y @ y.T)
        x0 = vectors[:, -1]
        x0 = (x0 - x0.mean()) / (x0.std() or 1.0)
        # The sign of an SVD vector is arbitrary; fix it so the start is deterministic.
        if x0[np.argmax(np.abs(x0))] < 0:
            x0 = -x0
    else:
        x0 = np.zeros(n)
    # Linear-probability slope times 4 approximates a logit slope.
    xv = x0[mi[present]]
    sxx = np.bincount(ji[present], xv**2, j)
    sxy = np.bincount(ji[present], xv * (score[present] - col_mean[ji[present]]), j)
    beta0 = np.clip(4.0 * sxy / np.maximum(sxx, 1e-9), -4.0, 4.0)

    def logit(p: FloatArray) -> FloatArray:
        p = np.clip(p, 0.02, 0.98)
        return np.log(p / (1.0 - p))

    n_yes = np.bincount(ji, act == YES, j)
    n_up = n_yes + np.bincount(ji, act == ABSTAIN, j)
    t1 = -logit(n_up / np.maximum(votes_j, 1))
    t2 = -logit(n_yes / np.maximum(votes_j, 1))
    s0 = np.log(np.maximum(t2 - t1, 0.1))
    cells_i = np.bincount(mi, minlength=n)
    cells_j = np.bincount(ji, minlength=j)
    rho0 = logit(votes_i / np.maximum(cells_i, 1))
    delta0 = logit(votes_j / np.maximum(cells_j, 1)) - np.mean(rho0)
    return np.concatenate([x0, rho0, beta0, t1, s0, delta0])


def orient(
    x: FloatArray, beta: FloatArray, t1: FloatArray, t2: FloatArray, flip_index: int | None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Rescale to mean 0 / sd 1 and orient so that member `flip_index` is negative."""
    m, sd = float(np.mean(x)), float(np.std(x))
    sd = sd if sd > 0 else 1.0
    x_n = (x - m) / sd
    beta_n = beta * sd
    t1_n, t2_n = t1 - beta * m, t2 - beta * m
    if flip_index is not None and x_n[flip_index] > 0:
        x_n, beta_n = -x_n, -beta_n
    return x_n, beta_n, t1_n, t2_n


def member_information(
    cells: Cells,
    x: FloatArray,
    rho: FloatArray,
    beta: FloatArray,
    t1: FloatArray,
    t2: FloatArray,
    delta: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Standard errors of ``(x_i, rho_i)`` from the 2 x 2 observed information, items fixed.

    The presence and vote parts of the likelihood separate, so the block is diagonal: ``x_i``
    enters only the vote terms, ``rho_i`` only the presence terms. The prior precision is added
    (penalised information), so a member with no vote gets the prior sd.
    """
    n = cells.n_members
    mi, ji, act = cells.member, cells.item, cells.act
    a = beta[ji] * x[mi] - t1[ji]
    h_aa, h_ab, h_bb = latent_hessian(a, (t2 - t1)[ji], act)
    info_x = np.bincount(mi, -(h_aa + 2 * h_ab + h_bb) * beta[ji] ** 2, n)
    info_x += 1.0 / PRIOR_SD["ideal_point"] ** 2
    u = rho[mi] + delta[ji]
    info_rho = np.bincount(mi, expit(u) * expit(-u), n) + 1.0 / PRIOR_SD["participation"] ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(1.0 / info_x), np.sqrt(1.0 / info_rho)


def item_standard_errors(
    cells: Cells,
    x: FloatArray,
    rho: FloatArray,
    beta: FloatArray,
    t1: FloatArray,
    t2: FloatArray,
    delta: FloatArray,
) -> dict[str, FloatArray]:
    """Standard errors of each item's parameters from its observed information, members fixed.

    ``(beta_j, tau1_j, s_j)`` get a 3 x 3 block (inverted for all items at once), ``delta_j`` a
    scalar (the presence part separates); ``cut_yes = tau1 + exp(s)`` by the delta method.
    Includes the prior precision. NaN where the block is not positive definite.
    """
    j = cells.n_items
    mi, ji, act = cells.member, cells.item, cells.act
    gap_item = t2 - t1
    xi = x[mi]
    a = beta[ji] * xi - t1[ji]
    gap = gap_item[ji]
    h_aa, h_ab, h_bb = latent_hessian(a, gap, act)
    _, _, g_b, _ = log_prob_and_partials(a, gap, rho[mi] + delta[ji], act)
    # Jacobians of a and b in (beta, tau1, s): da = (x, -1, 0), db = (x, -1, -gap).
    da = np.stack([xi, -np.ones_like(xi), np.zeros_like(xi)], axis=1)
    db = np.stack([xi, -np.ones_like(xi), -gap], axis=1)
    hess = np.empty((j, 3, 3))
    for p in range(3):
        for q in range(p, 3):
            w = (
                h_aa * da[:, p] * da[:, q]
                + h_ab * (da[:, p] * db[:, q] + db[:, p] * da[:, q])
                + h_bb * db[:, p] * db[:, q]
            )
            if p == q == 2:
                w = w - g_b * gap  # d2b/ds2 = -gap
            hess[:, p, q] = hess[:, q, p] = np.bincount(ji, w, j)
    info = -hess
    sd = PRIOR_SD
    e = gap_item
    info[:, 0, 0] += 1 / sd["discrimination"] ** 2
    info[:, 1, 1] += 2 / sd["cutpoint"] ** 2  # tau1 and tau2 priors
    info[:, 1, 2] += e / sd["cutpoint"] ** 2
    info[:, 2, 1] += e / sd["cutpoint"] ** 2
    info[:, 2, 2] += (e**2 + t2 * e) / sd["cutpoint"] ** 2 + 1 / sd["log_gap"] ** 2
    cov = np.full_like(info, np.nan)
    ok = np.all(np.linalg.eigvalsh(info) > 0, axis=1)
    cov[ok] = np.linalg.inv(info[ok])
    grad_t2 = np.stack([np.zeros(j), np.ones(j), e], axis=1)
    var_t2 = np.einsum("jp,jpq,jq->j", grad_t2, cov, grad_t2)
    u = rho[mi] + delta[ji]
    info_delta = np.bincount(ji, expit(u) * expit(-u), j) + 1 / sd["presence"] ** 2
    return {
        "discrimination_se": np.sqrt(cov[:, 0, 0]),
        "cut_abstain_se": np.sqrt(cov[:, 1, 1]),
        "cut_yes_se": np.sqrt(var_t2),
        "presence_se": np.sqrt(1.0 / info_delta),
    }


def gamma_se(
    cells: Cells,
    x_cell: FloatArray,
    rho: FloatArray,
    beta: FloatArray,
    t1: FloatArray,
    t2: FloatArray,
    delta: FloatArray,
    gamma: float,
    row: IntArray,
    row_precision: float | FloatArray | sparse.spmatrix | None = None,
) -> float:
    """Sd of the strategic-absence slope (:func:`sim.core.absence.gamma_standard_error`).

    `x_cell` is each cell's ideal point and `row` each cell's participation effect (a member,
    or a member-session of the dynamic fit, with its random-walk `row_precision`).
    """
    ji = cells.item
    a = beta[ji] * x_cell - t1[ji]
    h = ambivalence_and_partials(a, (t2 - t1)[ji])[0]
    if cells.strategic is not None:
        h = h * cells.strategic
    z = rho[row] + delta[ji] - gamma * h
    return gamma_standard_error(
        row,
        ji,
        z,
        h,
        row_precision=(
            1.0 / PRIOR_SD["participation"] ** 2 if row_precision is None else row_precision
        ),
        item_precision=1.0 / PRIOR_SD["presence"] ** 2,
        gamma_precision=1.0 / PRIOR_SD["strategic"] ** 2,
    )


_LOG3: Final[float] = float(np.log(3.0))
