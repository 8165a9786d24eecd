"""The multi-principal random-utility vote choice (MODEL.md §3), computed exactly.

For member *i* and act *c* in ``ACTS``::

    U_i(c) = P_i(c; r) + sum_k w_ik * m_k(c) - a_i(c) + e_ic

* ``P_i(c; r)`` is the *baseline* (policy and participation) term. It is the log of the
  calibrated spatial model's probabilities
  (:func:`sim.core.likelihood.act_probabilities_from_item`),
  so that with no principal and no earlier public act the logit choice returns exactly the
  calibrated odds: ``softmax(log p) == p``.
* ``w_ik`` is what principal *k*'s approval is worth to *i*: ``credibility * value + tie``
  (:func:`principal_weight`), in units of the Gumbel noise scale (logit units).
* ``m_k(c)`` is how *k* reads each act (:func:`reading`): +1 for an act it asked for, -1 for
  the act farthest from its ask, linear in between on the latent order yes > abstain > no; absence
  is read by the kind of ask (MODEL.md §3, revised Dec 2026): an ask *not to support* a text (its
  acts exclude yes) reads it as partial compliance ``theta`` in [0, 1], an ask for a positive act
  by its own ``theta``; both are deal parameters estimated from the episodes
  (:mod:`sim.estimate.deal`).
* ``a_i(c)`` is the cost of leaving one's earlier public act on the same text
  (:func:`persistence_cost`): a visible reversal between votes, leaving a vote for absence, or
  returning from absence; the three costs are estimated from real roll calls.
* ``e_ic`` is i.i.d. Gumbel, so the choice probabilities are a softmax (logit quantal response).

All functions are pure and vectorised; the act axis is last and follows ``ACTS``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from sim.core.acts import (
    ABSENT,
    ABSTAIN,
    ACTS,
    LATENT_ORDER,
    NO,
    VOTES,
    YES,
    BoolArray,
    FloatArray,
    IntArray,
    last_max,
    last_sum,
)

__all__ = [
    "ASK_KINDS",
    "act_probabilities",
    "ask_kind",
    "log_expit",
    "ordered_log_probs",
    "own_act_log_probs",
    "persistence_cost",
    "pressure",
    "principal_weight",
    "reading",
    "utilities",
]


#: The kinds of ask whose readings of absence are estimated apart (MODEL.md §3): an ask not to
#: support a text (its acts exclude yes: "no or abstain", "no") and an ask for a positive act.
ASK_KINDS = ("not_support", "positive")


def ask_kind(asked: Iterable[str]) -> str:
    """The kind of an ask by the acts it asks for: ``"not_support"`` when they exclude yes, else
    ``"positive"`` (:data:`ASK_KINDS`).

    Examples
    --------
    >>> ask_kind(["no", "abstain"]), ask_kind(["yes"])
    ('not_support', 'positive')
    """
    return "positive" if "yes" in tuple(asked) else "not_support"


def reading(asked: Iterable[str], *, absent: float = 0.0) -> FloatArray:
    """How a principal reads each act, given the acts it asked for: ``m_k(c)``.

    Parameters
    ----------
    asked : iterable of str
        The acts that satisfy the ask, a non-empty subset of ``("yes", "no", "abstain")``.
    absent : float, optional
        The reading of absence, in [0, 1]: the share of compliance the principal sees in a
        member that stays away (MODEL.md §3: ``theta`` of the kind of ask; 0, neither
        compliance nor defection, by default).

    Returns
    -------
    ndarray, shape (4,)
        +1 for an asked act, -1 for the vote farthest from the ask on the latent order
        yes > abstain > no, linear in between, and `absent`
        for ``absent``.

    Examples
    --------
    >>> reading(["no", "abstain"])          # Israel's ask of Ukraine, Dec 2022
    array([-1.,  1.,  1.,  0.])
    >>> reading(["yes"])                    # a sponsor's ask
    array([ 1., -1.,  0.,  0.])
    >>> reading(["no", "abstain"], absent=0.8)
    array([-1. ,  1. ,  1. ,  0.8])
    """
    asked = tuple(asked)
    unknown = [a for a in asked if a not in VOTES]
    if not asked or unknown:
        raise ValueError(f"an ask names acts among {VOTES}; got {asked!r}")
    if not 0.0 <= absent <= 1.0:
        raise ValueError(f"a reading of absence is in [0, 1]; got {absent!r}")
    position: dict[str, int] = {act: LATENT_ORDER[act] for act in VOTES}
    distance = {act: min(abs(position[act] - position[a]) for a in asked) for act in VOTES}
    farthest = max(distance.values())
    m = np.zeros(len(ACTS))
    for act in VOTES:
        m[ACTS.index(act)] = 1.0 if farthest == 0 else 1.0 - 2.0 * distance[act] / farthest
    m[ABSENT] = absent
    return m


def principal_weight(
    credibility: FloatArray | float, value: FloatArray | float, tie: FloatArray | float = 0.0
) -> FloatArray:
    """What a principal's approval is worth to a member: ``w = credibility * value + tie``.

    Parameters
    ----------
    credibility : float or ndarray
        Probability in [0, 1] that the promised support (or threatened loss) materialises.
    value : float or ndarray
        Logit units: what the support is worth to the member if delivered (its security need
        for that kind of support times the value of such support; negative for a threat's loss
        expressed as a positive stake is *not* allowed: pass the magnitude, the reading does
        the sign).
    tie : float or ndarray, optional
        Logit units: the standing value of the relationship (alliance, bloc, aid dependence).

    Returns
    -------
    ndarray
        Broadcast of the inputs, logit units.

    Examples
    --------
    >>> float(principal_weight(0.5, 4.0, 0.25))
    2.25
    """
    return np.asarray(credibility, dtype=float) * np.asarray(value, dtype=float) + np.asarray(
        tie, dtype=float
    )


def pressure(
    terms: Sequence[tuple[FloatArray, FloatArray, IntArray | None]], *, n_draws: int, n_members: int
) -> FloatArray:
    """Sum of principals' pressure on each act: ``sum_k w_ik * m_k(c)``.

    The one implementation of the pressure term of U_i(c): every replay, game and fit computes it
    here (:meth:`sim.model.setup.Setup.pressure` gathers the terms of the asks in force).

    Parameters
    ----------
    terms : sequence of (weight, m, positions)
        One per ask in force: ``weight`` of shape (n_draws, n_reached), ``w_ik`` of each member the
        ask reaches (logit units); ``m``, shape (4,) or, when its reading of absence is drawn per
        draw, (n_draws, 1, 4), its reading of each act (:func:`reading`);
        ``positions``, the rows of those members among the `n_members` (None: all of them, in
        order, so ``n_reached == n_members``). Members an ask does not reach feel none of it.
    n_draws, n_members : int
        The shape of the result's first two axes.

    Returns
    -------
    ndarray, shape (n_draws, n_members, 4)

    Examples
    --------
    Israel asks one of two members for no or abstain, at weight 2 (the other is not asked):

    >>> m = reading(["no", "abstain"])
    >>> pressure([(np.full((1, 1), 2.0), m, np.array([1]))], n_draws=1, n_members=2)
    array([[[ 0.,  0.,  0.,  0.],
            [-2.,  2.,  2.,  0.]]])
    """
    out = np.zeros((n_draws, n_members, len(ACTS)))
    for weight, m, positions in terms:
        if positions is None:
            out += weight[:, :, None] * m
        else:
            out[:, positions, :] += weight[:, :, None] * m
    return out


def log_expit(y: FloatArray) -> FloatArray:
    """``log(1 / (1 + exp(-y)))``, elementwise, as ``min(y, 0) - log1p(exp(-|y|))``.

    As exact as ``scipy.special.log_expit`` (within 5e-16 absolute) and about three times as
    fast on large arrays, which matters in the replay's per-draw loops.

    Examples
    --------
    >>> log_expit(np.array([0.0, 50.0, -50.0])).round(6)
    array([ -0.693147,  -0.      , -50.      ])
    """
    y = np.asarray(y, dtype=float)
    out = np.asarray(np.exp(-np.abs(y)))  # an array even for a 0-d `y`, so it can be reused
    np.log1p(out, out=out)
    return np.minimum(y, 0.0) - out


def ordered_log_probs(a: FloatArray, gap: FloatArray | float) -> FloatArray:
    """``log P(c | present)`` for c in yes, no, abstain under the ordered logit of the policy
    term: the one implementation of the formula every fit and replay uses.

    Parameters
    ----------
    a : ndarray
        ``beta * x - cut_abstain``: the logit of voting abstain or yes rather than no.
    gap : float or ndarray, broadcastable to `a`
        ``cut_yes - cut_abstain >= 0``; the logit of yes is ``b = a - gap``.

    Returns
    -------
    ndarray, shape (*a.shape, 3)
        ``log sigmoid(b)``, ``log sigmoid(-a)`` and, without cancellation,
        ``log(sigmoid(a) - sigmoid(b)) = log sigmoid(a) + log sigmoid(-b) + log(1 - exp(-gap))``
        (``-inf`` for abstain only when ``gap == 0``).

    Examples
    --------
    >>> np.exp(ordered_log_probs(np.zeros(1), 0.0)).round(3)
    array([[0.5, 0.5, 0. ]])
    """
    a = np.asarray(a, dtype=float)
    gap = np.asarray(gap, dtype=float)
    b = a - gap
    out = np.empty((*np.broadcast_shapes(a.shape, gap.shape), 3))
    out[..., 0] = log_expit(b)
    out[..., 1] = log_expit(-a)
    # log sigmoid(-b) = log sigmoid(b) - b saves a transcendental pass; its absolute error, about
    # 1e-16 * |b|, is that relative error in the abstention's probability.
    with np.errstate(divide="ignore"):
        out[..., 2] = log_expit(a) + (out[..., 0] - b) + np.log(-np.expm1(-gap))
    return out


def own_act_log_probs(a: FloatArray, gap: FloatArray | float, act: IntArray) -> FloatArray:
    """``log P(act | present)`` under the ordered logit, each row's own act only: the column
    `act` of :func:`ordered_log_probs` ``(a, gap)``, the same arithmetic (so the
    same numbers) on a third of the values.

    Parameters
    ----------
    a : ndarray, shape (..., n, K)
        ``beta * x - cut_abstain`` (rows on the second axis from the end; e.g. nodes last).
    gap : float or ndarray broadcastable to `a`, with size 1 or n on that axis
        ``cut_yes - cut_abstain``.
    act : ndarray of int, shape (n,)
        0 yes, 1 no, 2 abstain.

    Returns
    -------
    ndarray, shape like `a`

    Examples
    --------
    >>> a, gap = np.array([[0.3], [-1.0], [2.0]]), np.array([[0.5], [0.2], [1.0]])
    >>> full = ordered_log_probs(a, gap)
    >>> bool(np.array_equal(own_act_log_probs(a, gap, np.array([0, 1, 2]))[:, 0],
    ...                     full[[0, 1, 2], 0, [0, 1, 2]]))
    True
    """
    a = np.asarray(a, dtype=float)
    gap = np.asarray(gap, dtype=float)
    act = np.asarray(act)
    n = a.shape[-2]
    out = np.empty(np.broadcast_shapes(a.shape, gap.shape))
    for code in (YES, NO, ABSTAIN):
        rows = np.flatnonzero(act == code)
        if len(rows) == 0:
            continue
        ai = a[..., rows, :]
        g = gap[..., rows, :] if gap.ndim >= 2 and gap.shape[-2] == n else gap
        if code == NO:
            out[..., rows, :] = log_expit(-ai)
            continue
        b = ai - g
        lik = log_expit(b)
        if code == ABSTAIN:
            with np.errstate(divide="ignore"):
                lik = log_expit(ai) + (lik - b) + np.log(-np.expm1(-g))
        out[..., rows, :] = lik
    return out


def persistence_cost(
    previous: IntArray,
    *,
    reversal: FloatArray | float,
    leave: FloatArray | float,
    ret: FloatArray | float,
) -> FloatArray:
    """Cost of departing from each member's earlier public act on the same text: ``a_i(c)``.

    Parameters
    ----------
    previous : ndarray of int, shape (n_members,) or (n_draws, n_members)
        Index into ``ACTS`` of the member's earlier act on the same text (a committee vote, or
        last session's vote on the same agenda item); -1 where none is known. Per draw when
        each draw's resolution is like another earlier text (``[item] by_title``).
    reversal : float or ndarray broadcastable to (n_draws, 1)
        Cost of a visible reversal from one vote to another (logit units).
    leave : float or ndarray
        Cost of going absent after having voted.
    ret : float or ndarray
        Cost of voting after having been absent.

    Returns
    -------
    ndarray, shape (n_draws or 1, n_members, 4)
        Non-negative when the three costs are; 0 everywhere for a member with no earlier act.

    Examples
    --------
    >>> persistence_cost(np.array([0, -1]), reversal=3.0, leave=1.0, ret=0.5)[0]
    array([[0., 3., 3., 1.],
           [0., 0., 0., 0.]])
    """
    previous = np.asarray(previous)
    if previous.ndim == 1:
        previous = previous[None, :]  # one row for every draw
    is_vote_act = np.arange(len(ACTS)) != ABSENT  # (4,)
    prev_vote = ((previous >= 0) & (previous != ABSENT))[..., None]  # (d or 1, m, 1)
    prev_absent = (previous == ABSENT)[..., None]
    same = np.arange(len(ACTS)) == previous[..., None]  # (d or 1, m, 4)
    reversal_mask = prev_vote & is_vote_act & ~same
    leave_mask = prev_vote & ~is_vote_act
    return_mask = prev_absent & is_vote_act

    def col(x: FloatArray | float) -> FloatArray:
        return np.asarray(x, dtype=float).reshape(-1, 1, 1)

    return col(reversal) * reversal_mask + col(leave) * leave_mask + col(ret) * return_mask


def utilities(
    log_baseline: FloatArray,
    *,
    pressure_term: FloatArray | None = None,
    cost: FloatArray | None = None,
) -> FloatArray:
    """Systematic utility ``U_i(c)`` without the noise term.

    Parameters
    ----------
    log_baseline : ndarray, shape (n_draws, n_members, 4)
        ``P_i(c; r)``: log calibrated act probabilities (may be ``-inf`` for an impossible act).
    pressure_term : ndarray, shape broadcastable to `log_baseline`, optional
        ``sum_k w_ik m_k(c)`` from :func:`pressure`.
    cost : ndarray, shape broadcastable to `log_baseline`, optional
        ``a_i(c)`` from :func:`persistence_cost`.

    Returns
    -------
    ndarray, shape (n_draws, n_members, 4)
    """
    terms = [t for t in (pressure_term, cost) if t is not None]
    shape = np.broadcast_shapes(np.shape(log_baseline), *(np.shape(t) for t in terms))
    u = np.array(np.broadcast_to(log_baseline, shape), dtype=float)  # a copy: added to in place
    if pressure_term is not None:
        u += pressure_term
    if cost is not None:
        u -= cost
    return u


def act_probabilities(utility: FloatArray, *, available: BoolArray | None = None) -> FloatArray:
    """Logit (quantal) response: the probability of each act given its utility.

    Parameters
    ----------
    utility : ndarray, shape (..., n_members, 4)
        ``U_i(c)`` per act in ``ACTS`` order, logit units; leading axes are draws.
    available : ndarray of bool, shape broadcastable to `utility`, optional
        False where an act is impossible (a member in Charter Art. 19 arrears can only be
        absent). Every member must keep at least one available act.

    Returns
    -------
    ndarray, shape like `utility`
        Probabilities summing to 1 over the last axis (a max-shifted softmax, so no overflow).

    Examples
    --------
    >>> act_probabilities(np.zeros((1, 4)))
    array([[0.25, 0.25, 0.25, 0.25]])
    >>> act_probabilities(np.zeros((1, 4)), available=np.array([False, False, False, True]))
    array([[0., 0., 0., 1.]])
    """
    u = np.asarray(utility, dtype=float)
    if available is not None:
        available = np.broadcast_to(np.asarray(available, dtype=bool), u.shape)
        if not np.all(available.any(axis=-1)):
            raise ValueError("every member needs at least one available act")
        u = np.where(available, u, -np.inf)
    e = u - last_max(u)[..., None]
    np.exp(e, out=e)
    e /= last_sum(e)[..., None]
    return e
