"""The exact distribution of an assembly's tally and the probability a resolution is adopted.

MODEL.md §5: for each parameter draw the model gives every member's act probabilities; members
act independently *within* a draw, and correlation between members comes only from the draws. The
tally is therefore a mixture, over equally weighted draws, of Poisson-multinomial distributions.
Everything here is computed exactly, by dynamic programming over members (DP), never by sampling:

* :func:`count_pmf`: the Poisson-binomial pmf of how many members take one act;
* :func:`prob_adopted`: per draw, the probability that the resolution is adopted under a
  :class:`DecisionRule` (UN General Assembly: abstentions and absences do not count);
* :func:`conditional_adoption`: per draw and member, the probability of adoption given that
  member's vote (yes, no, neither): who is decisive, and the exact effect of moving one member;
* :class:`Tally`: the frozen mixture, queried like a scipy frozen distribution:
  ``tally.marginal("absent")``, ``tally.pmf(yes=87, no=26)``, ``tally.prob_pass()``.

Arrays follow the axis order ``(draw, member, act)``, the act axis in ``ACTS`` order.

Cost and accuracy
-----------------
Every DP adds only non-negative terms, so each probability carries a *relative* rounding error
of order ``n_members * 2**-52``, tails included (no FFT, whose error is relative to the largest
value), down to :data:`TINY` (1e-300): edge counts below it in every draw of a chunk are
dropped, where double precision loses its relative accuracy anyway and subnormal arithmetic is
slow. The count DP touches only the reachable counts (at most ``j + 1`` after ``j`` members).
The mixture of the count pmfs over draws splits the members in two halves: a DP per half and
draw, then one matrix product over draws per act (:func:`_marginals`), which halves the DP's
updates. The adoption DP runs over the margin ``D = yes - w * no`` and absorbs, as it goes,
every margin whose outcome is already decided whatever the remaining members do, which halves
its support on average. Draws are processed in chunks, with optional threads (numpy releases
the GIL in its loops; the chunks are combined in a fixed order and the matrix product runs on
one BLAS thread, so the result depends neither on ``workers`` nor on the machine's cores). For
193 members and 10,000 draws the four marginals and the pass probability take about 1.1 s on
one core and 0.7 s with ``workers=2`` (``benchmarks/bench_tally.py``); a joint query is
computed only when asked (:meth:`Tally.pmf`).

Examples
--------
>>> probs = np.array([[[0.5, 0.5, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]])
>>> tally = Tally.from_probabilities(probs, rule="simple_majority")
>>> tally.marginal("yes")
array([0. , 0.5, 0.5, 0. ])
>>> tally.prob_pass()        # 2 yes, or 1 yes against 1 no (a tie fails)
0.5
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np

from sim.core.acts import (
    ABSENT,
    ABSTAIN,
    ACTS,
    NO,
    YES,
    Act,
    BoolArray,
    FloatArray,
    IntArray,
    last_sum,
)
from sim.core.threads import one_blas_thread

__all__ = [
    "RULES",
    "SIMPLE_MAJORITY",
    "TWO_THIRDS",
    "DecisionRule",
    "RuleName",
    "Tally",
    "conditional_adoption",
    "count_pmf",
    "decision_rule",
    "prob_adopted",
]

#: How far act probabilities may stray from summing to 1 before they are refused.
SUM_TOLERANCE: Final = 1e-9
#: Columns (draws) per chunk of the count DP: few enough to stay in cache, enough that
#: numpy's per-call overhead (which holds the GIL) stays small next to the work.
_COUNT_COLUMNS: Final = 1024
#: Probabilities below this at the edge of a DP's support, in every column of a chunk, are
#: dropped: double precision keeps no relative accuracy below 2.2e-308 anyway, and arithmetic on
#: such subnormal numbers is many times slower than on normal ones.
TINY: Final = 1e-300
#: Draws per chunk of the adoption DP.
_MARGIN_COLUMNS: Final = 1024
#: Draws per chunk of the conditional adoption DP, which keeps a state per member (about 40 MB
#: for 193 members under a simple majority, 55 MB under two thirds).
_CONDITIONAL_COLUMNS: Final = 128
#: Elements per chunk of the joint DP's state (512 KiB of float64: three buffers fit in L2).
_JOINT_ELEMENTS: Final = 1 << 16

RuleName = Literal["simple_majority", "two_thirds"]


@dataclass(frozen=True)
class DecisionRule:
    """When a resolution is adopted, given its yes and no counts.

    Abstentions and absences do not count (UN Charter Art. 18: "members present and voting").
    A resolution is adopted iff the margin ``D = yes - no_weight * no`` is at least
    ``min_margin`` and at least one member voted yes or no.

    Attributes
    ----------
    name : str
        The rule's name, as written in scenario files.
    no_weight : int
        ``w >= 1``: how many yes votes one no vote cancels.
    min_margin : int
        The least margin ``D`` that adopts.

    Examples
    --------
    >>> TWO_THIRDS.adopts(yes=2, no=1), TWO_THIRDS.adopts(yes=3, no=2)
    (True, False)
    >>> SIMPLE_MAJORITY.adopts(yes=np.array([0, 1, 2]), no=1)
    array([False, False,  True])
    """

    name: str
    no_weight: int
    min_margin: int

    def __post_init__(self) -> None:
        """Refuse a weight of no votes below 1 (a no never counts less than a yes)."""
        if self.no_weight < 1:
            raise ValueError(f"DecisionRule {self.name!r}: no_weight must be >= 1")

    def adopts(self, *, yes: IntArray | int, no: IntArray | int) -> BoolArray | bool:
        """Whether counts of ``yes`` and ``no`` votes adopt (elementwise; the oracle)."""
        yes, no = np.asarray(yes), np.asarray(no)
        adopted = (yes - self.no_weight * no >= self.min_margin) & (yes + no > 0)
        return adopted if adopted.ndim else bool(adopted)


#: Art. 18(3): adopted iff yes > no.
SIMPLE_MAJORITY: Final = DecisionRule("simple_majority", no_weight=1, min_margin=1)
#: Art. 18(2), important questions: adopted iff yes >= 2/3 of yes + no, i.e. yes >= 2 no, yes >= 1.
TWO_THIRDS: Final = DecisionRule("two_thirds", no_weight=2, min_margin=0)
RULES: Final[dict[str, DecisionRule]] = {r.name: r for r in (SIMPLE_MAJORITY, TWO_THIRDS)}


def decision_rule(rule: RuleName | DecisionRule) -> DecisionRule:
    """The :class:`DecisionRule` named `rule` (a rule passes through).

    Examples
    --------
    >>> decision_rule("two_thirds").no_weight
    2
    """
    if isinstance(rule, DecisionRule):
        return rule
    try:
        return RULES[rule]
    except (KeyError, TypeError):
        raise ValueError(f"rule: expected one of {tuple(RULES)}; got {rule!r}") from None


# --------------------------------------------------------------------------- validation


def _check_probabilities(probs: FloatArray, *, copy: bool = True) -> FloatArray:
    """Validate `probs` of shape (n_draws, n_members, 4) and return it renormalised, float64
    (with ``copy=False``, a writeable float64 array is renormalised in place and returned).
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 3 or probs.shape[2] != len(ACTS) or 0 in probs.shape[:2]:
        raise ValueError(
            f"probs: expected shape (n_draws, n_members, {len(ACTS)}) with at least one draw "
            f"and one member, acts in order {ACTS}; got shape {probs.shape}"
        )
    total = last_sum(probs)  # not finite if any entry is not
    if not np.isfinite(total).all() or probs.min() < 0 or probs.max() > 1.0 + SUM_TOLERANCE:
        _check_unit_interval("probs", probs, labels=("draw", "member", "act"))
    bad = np.abs(total - 1.0) > SUM_TOLERANCE
    if bad.any():
        d, m = np.argwhere(bad)[0]
        raise ValueError(
            f"probs: act probabilities must sum to 1 within {SUM_TOLERANCE:g} for each draw and "
            f"member; {int(bad.sum())} do not, e.g. draw {d}, member {m} sums to "
            f"{total[d, m]!r}"
        )
    if not copy and probs.flags.writeable:
        probs /= total[:, :, None]
        return probs
    return probs / total[:, :, None]


def _check_unit_interval(name: str, x: FloatArray, *, labels: Sequence[str]) -> None:
    """Raise ValueError naming the first entry of `x` that is not a probability."""
    for problem, bad in (
        ("finite", ~np.isfinite(x)),
        ("non-negative", x < 0),
        ("at most 1", x > 1.0 + SUM_TOLERANCE),
    ):
        if bad.any():
            where = np.argwhere(bad)[0]
            at = ", ".join(
                f"act {ACTS[i]!r}" if label == "act" else f"{label} {i}"
                for label, i in zip(labels, where, strict=False)
            )
            raise ValueError(
                f"{name}: probabilities must be {problem}; {int(bad.sum())} are not, "
                f"e.g. {x[tuple(where)]!r} at {at}"
            )


def _check_workers(workers: int) -> None:
    if not isinstance(workers, int | np.integer) or workers < 1:
        raise ValueError(f"workers: expected a positive integer; got {workers!r}")


def _complements(probs: FloatArray) -> FloatArray:
    """For each act, the summed probability of the other three (more exact than ``1 - p``)."""
    others = np.empty_like(probs)
    for act in range(len(ACTS)):
        rest = [c for c in range(len(ACTS)) if c != act]
        np.add(probs[..., rest[0]], probs[..., rest[1]], out=others[..., act])
        others[..., act] += probs[..., rest[2]]
    return others


def _map_chunks[T](fn: Callable[[int, int], T], n: int, size: int, workers: int) -> list[T]:
    """``[fn(start, stop) for each chunk]`` in chunk order, on `workers` threads."""
    bounds = [(s, min(s + size, n)) for s in range(0, n, size)]
    if workers == 1 or len(bounds) == 1:
        return [fn(s, e) for s, e in bounds]
    with ThreadPoolExecutor(max_workers=min(workers, len(bounds))) as pool:
        return list(pool.map(lambda b: fn(*b), bounds))


# --------------------------------------------------------------------------- DP kernels


def _trim(state: FloatArray, lo: int, hi: int) -> tuple[int, int]:
    """Drop edge rows of `state` (rows lo..hi) below :data:`TINY` in every column; zero them.
    Returns the new ``(lo, hi)``.
    """
    while hi > lo and state[hi].max() < TINY:
        state[hi] = 0.0
        hi -= 1
    while lo < hi and state[lo].max() < TINY:
        state[lo] = 0.0
        lo += 1
    return lo, hi


def _count_kernel(p: FloatArray, q: FloatArray) -> FloatArray:
    """Poisson-binomial DP for independent columns, taking members two at a time.

    `p`, `q` : shape (n_members, n_columns), C-contiguous; ``q`` is the complement of ``p``.
    Returns shape (n_members + 1, n_columns): row ``k`` is P(count = k).

    A pair of members adds 0, 1 or 2 with probabilities ``q1 q2``, ``p1 q2 + q1 p2``, ``p1 p2``
    (all sums of non-negative terms): five passes over the state per pair instead of six.
    """
    n, width = p.shape
    pmf = np.zeros((n + 1, width))
    pmf[0] = 1.0
    one = np.empty((max(n, 1), width))
    two = np.empty_like(one)
    can_take = (p > 0).any(axis=1)  # else the count cannot grow at this member
    must_take = (q == 0).all(axis=1)  # else the count can stay: the lowest count survives
    lo = hi = 0  # reachable counts so far: rows lo..hi; every other row is 0
    for j in range(0, n - 1, 2):
        stay = q[j] * q[j + 1]
        step = p[j] * q[j + 1]
        step += q[j] * p[j + 1]
        jump = p[j] * p[j + 1]
        rows, size = pmf[lo : hi + 1], hi - lo + 1
        np.multiply(rows, step, out=one[:size])
        np.multiply(rows, jump, out=two[:size])
        rows *= stay
        pmf[lo + 1 : hi + 2] += one[:size]  # rows above hi held 0; a zero jump adds zeros
        pmf[lo + 2 : hi + 3] += two[:size]
        hi += int(can_take[j]) + int(can_take[j + 1])
        lo += int(must_take[j]) + int(must_take[j + 1])
        lo, hi = _trim(pmf, lo, hi)
    if n % 2:
        rows, size = pmf[lo : hi + 1], hi - lo + 1
        np.multiply(rows, p[n - 1], out=one[:size])
        rows *= q[n - 1]
        pmf[lo + 1 : hi + 2] += one[:size]
    return pmf


def _margin_kernel(
    p_yes: FloatArray, p_no: FloatArray, p_neither: FloatArray, *, rule: DecisionRule
) -> FloatArray:
    """Per column, P(yes - w no >= min_margin and yes + no > 0), by a DP over the margin.

    `p_yes`, `p_no`, `p_neither` : shape (n_members, n_columns), C-contiguous, summing to 1.
    Returns shape (n_columns,).

    The state is the distribution of ``D = yes - w * no`` over the paths on which somebody has
    voted; the path on which nobody has (D = 0, probability ``prod p_neither``) is kept apart
    and never adopts, so no subtraction is needed. After each member, margins that adopt (or
    fail) whatever the remaining members do are absorbed into `adopted` (or dropped).
    """
    n, width = p_yes.shape
    w, target = rule.no_weight, rule.min_margin
    zero = w * n  # row of D = 0; rows cover D in [-w n, n]
    state = np.zeros(((w + 1) * n + 1, width))
    yes_buffer = np.empty_like(state)
    no_buffer = np.empty_like(state)
    adopted = np.zeros(width)
    nobody = np.ones(width)  # P(no member so far voted yes or no)
    can_yes = (p_yes > 0).any(axis=1)
    can_no = (p_no > 0).any(axis=1)
    # After member j, D can still rise by up[j] and fall by down[j].
    up = np.concatenate([np.cumsum(can_yes[::-1])[::-1][1:], [0]])
    down = w * np.concatenate([np.cumsum(can_no[::-1])[::-1][1:], [0]])
    lo, hi = zero, zero - 1  # support rows lo..hi (empty); rows outside hold 0
    for j in range(n):
        if lo <= hi:
            rows = slice(lo, hi + 1)
            size = hi - lo + 1
            if can_yes[j]:
                np.multiply(state[rows], p_yes[j], out=yes_buffer[:size])
            if can_no[j]:
                np.multiply(state[rows], p_no[j], out=no_buffer[:size])
            state[rows] *= p_neither[j]
            if can_yes[j]:
                state[lo + 1 : hi + 2] += yes_buffer[:size]
            if can_no[j]:
                state[lo - w : hi + 1 - w] += no_buffer[:size]
            lo, hi = lo - w * int(can_no[j]), hi + int(can_yes[j])
        if can_yes[j]:
            state[zero + 1] += nobody * p_yes[j]
            lo, hi = min(lo, zero + 1), max(hi, zero + 1)
        if can_no[j]:
            state[zero - w] += nobody * p_no[j]
            lo, hi = min(lo, zero - w), max(hi, zero - w)
        nobody *= p_neither[j]
        # Still undecided: target - up[j] <= D <= target + down[j] - 1.
        live_lo, live_hi = zero + target - int(up[j]), zero + target + int(down[j]) - 1
        if hi > live_hi:
            decided = slice(max(lo, live_hi + 1), hi + 1)
            adopted += state[decided].sum(axis=0)
            state[decided] = 0.0
            hi = live_hi
        if lo < live_lo:
            state[lo : min(hi, live_lo - 1) + 1] = 0.0
            lo = live_lo
    return adopted


def _joint_kernel(p: FloatArray, p_rest: FloatArray, targets: tuple[int, ...]) -> FloatArray:
    """Per column, P(count_a = targets[a] for each queried act a), by a k-dimensional DP.

    `p` : shape (k, n_members, n_columns), the queried acts; `p_rest` : shape
    (n_members, n_columns), the probability of any other act. Returns shape (n_columns,).
    Only counts that can still end at the targets are updated: after j members,
    ``max(0, t - (n - j)) <= count <= min(j, t)`` in each dimension (the box). The state is
    indexed by absolute counts; entries outside the current box are stale and never read.
    """
    k, n, width = p.shape
    t = np.array(targets)
    shape = (*(t + 1), width)
    state, new, scratch = np.zeros(shape), np.empty(shape), np.empty(shape)
    state[(0,) * k] = 1.0
    lo_old, hi_old = np.zeros(k, int), np.zeros(k, int)
    for j in range(n):
        lo, hi = np.maximum(0, t - (n - j - 1)), np.minimum(j + 1, t)
        # Stay: member j takes none of the queried acts; the rest of the box starts at 0.
        stay_hi = np.minimum(hi_old, hi)
        stay = tuple(slice(a, b + 1) for a, b in zip(lo, stay_hi, strict=True))
        if np.all(stay_hi >= lo):
            np.multiply(state[stay], p_rest[j], out=new[stay])
        for d in range(k):
            if hi[d] > stay_hi[d]:
                slab = [slice(a, b + 1) for a, b in zip(lo, hi, strict=True)]
                slab[d] = slice(max(lo[d], stay_hi[d] + 1), hi[d] + 1)
                new[tuple(slab)] = 0.0
        # Move: member j takes queried act d, so count_d rises by one.
        for d in range(k):
            first, last = lo.copy(), stay_hi.copy()
            first[d], last[d] = max(lo[d], lo_old[d] + 1), min(hi[d], hi_old[d] + 1)
            if np.any(last < first):
                continue
            to = tuple(slice(a, b + 1) for a, b in zip(first, last, strict=True))
            source = list(to)
            source[d] = slice(first[d] - 1, last[d])
            np.multiply(state[tuple(source)], p[d, j], out=scratch[to])
            new[to] += scratch[to]
        state, new = new, state
        lo_old, hi_old = lo, hi
    return state[tuple(t)].copy()


# --------------------------------------------------------------------------- public functions


def count_pmf(
    p: FloatArray,
    *,
    complement: FloatArray | None = None,
    workers: int = 1,
) -> FloatArray:
    """Poisson-binomial pmf: how many of `n_members` independent members take an act.

    Parameters
    ----------
    p : ndarray, shape (..., n_members)
        Each member's probability of taking the act; leading axes (e.g. draws) are independent
        problems.
    complement : ndarray, shape like `p`, optional
        Each member's probability of *not* taking it, when known more exactly than ``1 - p``
        (the sum of the other acts' probabilities); must equal ``1 - p`` within 1e-9.
    workers : int, default 1
        Threads over chunks of the leading axes; the result does not depend on it.

    Returns
    -------
    ndarray, shape (..., n_members + 1)
        Entry ``k``: P(exactly k members take the act), exact to relative rounding error
        (DP over members, O(n_members**2) per problem).

    Raises
    ------
    ValueError
        If `p` (or `complement`) is not a probability, or ``p + complement != 1``.

    Examples
    --------
    >>> count_pmf(np.array([0.5, 0.5]))
    array([0.25, 0.5 , 0.25])
    >>> count_pmf(np.array([[1.0, 0.0], [0.2, 0.5]])).round(2)
    array([[0. , 1. , 0. ],
           [0.4, 0.5, 0.1]])
    """
    _check_workers(workers)
    p = np.asarray(p, dtype=np.float64)
    if p.ndim < 1:
        raise ValueError(f"p: expected shape (..., n_members); got a scalar {p!r}")
    labels = ["index"] * (p.ndim - 1) + ["member"]
    _check_unit_interval("p", p, labels=labels)
    p = np.minimum(p, 1.0)  # within tolerance of 1: exactly 1
    if complement is None:
        q = 1.0 - p
    else:
        q = np.asarray(complement, dtype=np.float64)
        if q.shape != p.shape:
            raise ValueError(f"complement: expected shape {p.shape} like p; got {q.shape}")
        _check_unit_interval("complement", q, labels=labels)
        q = np.minimum(q, 1.0)
        off = np.abs(p + q - 1.0) > SUM_TOLERANCE
        if off.any():
            raise ValueError(
                f"complement: p + complement must be 1 within {SUM_TOLERANCE:g}; "
                f"{int(off.sum())} entries are not"
            )
    *lead, n = p.shape
    batch = math.prod(lead)
    p_t = np.ascontiguousarray(p.reshape(batch, n).T)
    q_t = np.ascontiguousarray(q.reshape(batch, n).T)
    out = np.empty((n + 1, batch))

    def run(start: int, stop: int) -> None:
        out[:, start:stop] = _count_kernel(
            np.ascontiguousarray(p_t[:, start:stop]), np.ascontiguousarray(q_t[:, start:stop])
        )

    if batch:
        _map_chunks(run, batch, _COUNT_COLUMNS, workers)
    return out.T.reshape(*lead, n + 1)


def prob_adopted(
    probs: FloatArray, *, rule: RuleName | DecisionRule, workers: int = 1
) -> FloatArray:
    """Per draw, the exact probability that the resolution is adopted under `rule`.

    Parameters
    ----------
    probs : ndarray, shape (n_draws, n_members, 4)
        Act probabilities in ``ACTS`` order; members independent within a draw.
    rule : {"simple_majority", "two_thirds"} or DecisionRule
        Adopted iff ``yes - w * no >= min_margin`` and ``yes + no > 0``: yes > no, or
        yes >= 2 no with at least one yes.
    workers : int, default 1
        Threads over chunks of draws; the result does not depend on it.

    Returns
    -------
    ndarray, shape (n_draws,)
        P(adopted | draw). A DP over the margin ``D = yes - w * no`` (O(n_members**2) per draw),
        adding non-negative terms only, so exact to relative rounding error.

    Raises
    ------
    ValueError
        For an unknown rule, or `probs` of the wrong shape, negative or not summing to 1.

    Examples
    --------
    >>> probs = np.tile([0.5, 0.5, 0.0, 0.0], (1, 5, 1))   # five members toss coins
    >>> prob_adopted(probs, rule="simple_majority")      # yes >= 3: 16/32
    array([0.5])
    >>> prob_adopted(probs, rule="two_thirds")           # 5-0 or 4-1: 6/32
    array([0.1875])
    """
    rule = decision_rule(rule)
    _check_workers(workers)
    probs = _check_probabilities(probs)
    return _prob_adopted(probs, rule=rule, workers=workers)


def conditional_adoption(
    probs: FloatArray, *, rule: RuleName | DecisionRule, workers: int = 1
) -> FloatArray:
    """Per draw and member, the probability of adoption given that member's vote.

    Parameters
    ----------
    probs : ndarray, shape (n_draws, n_members, 4)
        Act probabilities in ``ACTS`` order; members independent within a draw.
    rule : {"simple_majority", "two_thirds"} or DecisionRule
    workers : int, default 1
        Threads over chunks of draws; the result does not depend on it.

    Returns
    -------
    ndarray, shape (n_draws, n_members, 3)
        P(adopted | draw, the member votes yes), (... votes no), (... neither votes: abstains or
        is absent), everyone else as in `probs`. The probability of adoption is linear in each
        member's odds, ``P = sum_a p_j(a) P(adopted | j does a)``, so the exact effect of any
        change to one member's odds follows; ``[..., 0] - [..., 1]`` is the member's probability
        of being decisive. Exact: a forward DP over the margin ``D = yes - w * no`` of the
        members before each one and a backward DP of the adoption probability from each margin
        on, both adding non-negative terms only (O(n_members**2) per draw and pass).

    Examples
    --------
    >>> probs = np.tile([0.5, 0.5, 0.0, 0.0], (1, 3, 1))   # three members toss coins
    >>> conditional_adoption(probs, rule="simple_majority")[0, 0]   # the others: 2-0, 1-1, 0-2
    array([0.75, 0.25, 0.25])
    """
    rule = decision_rule(rule)
    _check_workers(workers)
    probs = _check_probabilities(probs)
    n_draws = probs.shape[0]
    out = np.empty((n_draws, probs.shape[1], 3))

    def run(start: int, stop: int) -> None:
        kernel = _conditional_kernel(*_yes_no_neither(probs[start:stop]), rule=rule)
        out[start:stop] = kernel.transpose(2, 0, 1)

    _map_chunks(run, n_draws, _CONDITIONAL_COLUMNS, workers)
    return np.minimum(out, 1.0, out=out)


def _conditional_kernel(
    p_yes: FloatArray, p_no: FloatArray, p_neither: FloatArray, *, rule: DecisionRule
) -> FloatArray:
    """Per column, P(adopted | member j votes yes / no / neither): shape (n, 3, n_columns).

    ``S[j]`` is the probability of adoption from a margin ``D`` reached before member ``j``,
    somebody having voted; it is needed only where the margin of ``j`` members can be, ``D`` in
    ``[-w j, j]`` (row ``D + w j``), and ``S[j]`` on that range reads ``S[j + 1]`` on its own, so
    no row ever falls off an edge. ``T[j]`` is the same when nobody has voted yet (the path on
    which nobody ever votes does not adopt). The forward pass carries ``F``, the distribution of
    the margin before ``j`` (somebody having voted, same rows), and ``N``, the probability that
    nobody has.
    """
    n, width = p_yes.shape
    w, target = rule.no_weight, rule.min_margin
    s: list[FloatArray] = [np.empty(0)] * (n + 1)
    adopts = (np.arange((w + 1) * n + 1) - w * n >= target).astype(np.float64)
    s[n] = np.repeat(adopts[:, None], width, axis=1)
    t = np.zeros((n + 1, width))
    for j in range(n - 1, -1, -1):
        nxt, size = s[j + 1], (w + 1) * j + 1
        cur = nxt[w : w + size] * p_neither[j]
        cur += nxt[w + 1 : w + 1 + size] * p_yes[j]  # D + 1
        cur += nxt[:size] * p_no[j]  # D - w
        s[j] = cur
        t[j] = p_yes[j] * nxt[w * (j + 1) + 1] + p_no[j] * nxt[w * j] + p_neither[j] * t[j + 1]
    out = np.empty((n, 3, width))
    f = np.zeros((1, width))  # the margin before member j (somebody having voted): D + w j
    nobody = np.ones(width)
    for j in range(n):
        nxt, size = s[j + 1], (w + 1) * j + 1
        out[j, 0] = np.einsum("dc,dc->c", f, nxt[w + 1 : w + 1 + size])
        out[j, 0] += nobody * nxt[w * (j + 1) + 1]
        out[j, 1] = np.einsum("dc,dc->c", f, nxt[:size]) + nobody * nxt[w * j]
        out[j, 2] = np.einsum("dc,dc->c", f, nxt[w : w + size]) + nobody * t[j + 1]
        moved = np.zeros_like(nxt)
        moved[w : w + size] = f * p_neither[j]
        moved[w + 1 : w + 1 + size] += f * p_yes[j]
        moved[:size] += f * p_no[j]
        moved[w * (j + 1) + 1] += nobody * p_yes[j]
        moved[w * j] += nobody * p_no[j]
        f, nobody = moved, nobody * p_neither[j]
        s[j + 1] = np.empty(0)  # read for the last time
    return out


def _yes_no_neither(block: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """A block of draws (draw, member, act) as the margin DPs read it: P(yes), P(no) and
    P(neither: abstain or absent), each C-contiguous of shape (member, draw).
    """
    chunk = block.transpose(1, 2, 0)  # (member, act, draw)
    return (
        np.ascontiguousarray(chunk[:, YES]),
        np.ascontiguousarray(chunk[:, NO]),
        chunk[:, ABSTAIN] + chunk[:, ABSENT],
    )


def _prob_adopted(probs: FloatArray, *, rule: DecisionRule, workers: int) -> FloatArray:
    n_draws = probs.shape[0]
    out = np.empty(n_draws)

    def run(start: int, stop: int) -> None:
        out[start:stop] = _margin_kernel(*_yes_no_neither(probs[start:stop]), rule=rule)

    _map_chunks(run, n_draws, _MARGIN_COLUMNS, workers)
    # The absorbed pieces add up to 1 + a few ulps when adoption is certain: a probability.
    return np.minimum(out, 1.0, out=out)


def _marginals(probs: FloatArray, *, workers: int) -> FloatArray:
    """Mixture over draws of every act's count pmf: shape (4, n_members + 1).

    The count is split between the first ``h`` members and the rest: a DP over each half per
    draw gives pmfs ``a_d`` and ``b_d``, and the mixture of their convolutions is
    ``sum_d (a_d * b_d)[k] = sum_{i + j = k} M[i, j]`` with ``M = A @ B.T`` (the draws are the
    inner dimension): one matrix product per act and chunk of draws, so the DPs cover half the
    members each (half the updates of one DP over all of them) and every term stays
    non-negative. The DPs run per act and chunk on the worker threads, so an act's support
    (:func:`_trim`) stays as narrow as the act allows.
    """
    n_draws, n, n_acts = probs.shape
    h = n // 2

    def run(start: int, stop: int) -> FloatArray:
        block = probs[start:stop]
        others = _complements(block)
        out = np.empty((n_acts, h + 1, n - h + 1))
        for act in range(n_acts):
            p = np.ascontiguousarray(block[:, :, act].T)
            q = np.ascontiguousarray(others[:, :, act].T)
            first = _count_kernel(p[:h], q[:h])
            np.matmul(first, _count_kernel(p[h:], q[h:]).T, out=out[act])
        return out

    # One BLAS thread per product: a threaded product splits its work by the core count, which
    # changes the last bit of the sums (the files must not depend on the machine), and would
    # compete with the worker threads.
    with one_blas_thread():
        products = _map_chunks(run, n_draws, _COUNT_COLUMNS, workers)
    total = products[0]
    for chunk in products[1:]:  # in chunk order, whatever the number of workers
        total += chunk
    pmf = np.zeros((n_acts, n + 1))
    for i in range(h + 1):  # anti-diagonals: i in the first half, k - i in the second
        pmf[:, i : i + n - h + 1] += total[:, i, :]
    return pmf / n_draws


# --------------------------------------------------------------------------- Tally


def _act_index(act: str) -> int:
    if act not in ACTS:
        raise ValueError(f"act: expected one of {ACTS}; got {act!r}")
    return ACTS.index(act)


def _readonly(x: FloatArray) -> FloatArray:
    x.setflags(write=False)
    return x


@dataclass(frozen=True, eq=False)
class Tally:
    """The exact distribution of an assembly's tally: a mixture over parameter draws.

    Build it with :meth:`from_probabilities`; then query it like a scipy frozen distribution.
    The four count marginals and the adoption probability are computed on construction; joint
    probabilities (:meth:`pmf`) on demand.

    Attributes
    ----------
    probabilities : ndarray, shape (n_draws, n_members, 4)
        The act probabilities (read-only), renormalised to sum to exactly 1 per member.
    rule : DecisionRule
        The rule the resolution is adopted under.
    marginals : ndarray, shape (4, n_members + 1)
        Row ``ACTS.index(act)``: the pmf of that act's count (read-only).
    prob_pass_draws : ndarray, shape (n_draws,)
        P(adopted | draw) (read-only).

    Examples
    --------
    >>> probs = np.full((2, 3, 4), 0.25)
    >>> tally = Tally.from_probabilities(probs, rule="two_thirds")
    >>> tally
    Tally(n_draws=2, n_members=3, rule='two_thirds', prob_pass=0.34375)
    >>> tally.mean()["absent"]
    0.75
    >>> tally.pmf(yes=3), 0.25**3
    (0.015625, 0.015625)
    """

    probabilities: FloatArray = field(repr=False)
    rule: DecisionRule
    marginals: FloatArray = field(repr=False)
    prob_pass_draws: FloatArray = field(repr=False)

    @classmethod
    def from_probabilities(
        cls,
        probs: FloatArray,
        *,
        rule: RuleName | DecisionRule,
        workers: int = 1,
        copy: bool = True,
    ) -> Tally:
        """Compute the tally from act probabilities.

        Parameters
        ----------
        probs : ndarray, shape (n_draws, n_members, 4)
            Each member's act probabilities in ``ACTS`` order, per parameter draw; members
            independent within a draw, draws equally weighted.
        rule : {"simple_majority", "two_thirds"} or DecisionRule
            The decision rule (see :func:`prob_adopted`).
        workers : int, default 1
            Threads over chunks of draws; the result does not depend on it.
        copy : bool, default True
            False hands `probs` over: a writeable float64 array is renormalised in place and
            made read-only, which saves a copy of the largest array of a replay (a read-only one
            is still copied).

        Raises
        ------
        ValueError
            For an unknown rule, or `probs` of the wrong shape, negative or not summing to 1
            (within 1e-9).
        """
        rule = decision_rule(rule)
        _check_workers(workers)
        probs = _check_probabilities(probs, copy=copy)
        return cls(
            probabilities=_readonly(probs),
            rule=rule,
            marginals=_readonly(_marginals(probs, workers=workers)),
            prob_pass_draws=_readonly(_prob_adopted(probs, rule=rule, workers=workers)),
        )

    def __repr__(self) -> str:
        """A short description: draws, members, rule and the probability of adoption."""
        return (
            f"Tally(n_draws={self.n_draws}, n_members={self.n_members}, "
            f"rule={self.rule.name!r}, prob_pass={self.prob_pass():.6g})"
        )

    @property
    def n_draws(self) -> int:
        """Number of parameter draws."""
        return self.probabilities.shape[0]

    @property
    def n_members(self) -> int:
        """Number of members in the assembly."""
        return self.probabilities.shape[1]

    def marginal(self, act: Act) -> FloatArray:
        """The pmf of the number of members taking `act`, shape (n_members + 1,).

        Examples
        --------
        >>> Tally.from_probabilities(np.full((1, 2, 4), 0.25), rule="two_thirds").marginal("no")
        array([0.5625, 0.375 , 0.0625])
        """
        return self.marginals[_act_index(act)].copy()

    def mean(self) -> dict[Act, float]:
        """Expected count of each act: the sum of member probabilities, averaged over draws."""
        means = self.probabilities.sum(axis=1).mean(axis=0)
        return {act: float(m) for act, m in zip(ACTS, means, strict=True)}

    def interval(self, act: Act, level: float = 0.9) -> tuple[int, int]:
        """Equal-tailed interval of `act`'s count holding at least `level` of the probability.

        ``lo`` is the least count with P(count <= lo) >= (1 - level) / 2 and ``hi`` the least
        with P(count <= hi) >= (1 + level) / 2, as scipy's ``ppf`` (a relative slack of 1e-12
        absorbs rounding in the cumulative sums).

        Examples
        --------
        >>> tally = Tally.from_probabilities(np.full((1, 10, 4), 0.25), rule="two_thirds")
        >>> tally.interval("yes", level=0.9)     # as scipy.stats.binom(10, 0.25).interval(0.9)
        (0, 5)
        """
        if not 0.0 < level < 1.0:
            raise ValueError(f"level: expected a probability in (0, 1); got {level!r}")
        cdf = np.cumsum(self.marginals[_act_index(act)])
        cdf /= cdf[-1]
        tails = np.array([(1.0 - level) / 2.0, (1.0 + level) / 2.0]) * (1.0 - 1e-12)
        lo, hi = np.searchsorted(cdf, tails, side="left")
        return int(lo), int(hi)

    def prob_pass(self) -> float:
        """Probability the resolution is adopted: P(adopted | draw) averaged over draws."""
        return float(self.prob_pass_draws.mean())

    def plan_fields(self) -> dict[str, Any]:
        """The expected count of each act, its 90% interval and the probability of adoption,
        keyed as the bargaining game's plans report them (``expected_yes``, ...,
        ``yes_interval``, ..., ``p_adopted``).
        """
        mean = self.mean()
        return {
            **{f"expected_{act}": mean[act] for act in ACTS},
            **{f"{act}_interval": list(self.interval(act)) for act in ACTS},
            "p_adopted": self.prob_pass(),
        }

    def columns(self) -> dict[str, FloatArray | IntArray]:
        """The marginals as columns of a table, one row per count 0..n_members (tally.csv).

        Returns
        -------
        dict of str to ndarray
            ``count, p_yes, p_no, p_abstain, p_absent``, each of length ``n_members + 1``
            (``pandas.DataFrame(tally.columns())`` is the table).
        """
        columns: dict[str, FloatArray | IntArray] = {"count": np.arange(self.n_members + 1)}
        columns.update({f"p_{act}": self.marginals[i] for i, act in enumerate(ACTS)})
        return columns

    def pmf(self, **counts: int) -> float:
        """Joint probability that each named act has the given count, e.g. ``pmf(yes=87, no=26)``.

        Acts not named are unconstrained. One act reads its marginal. Two or three run a DP
        over the named counts, updating only counts that can still reach the query: about
        ``n_draws * n_members * prod(count + 1)`` updates, O(n_members**3) per draw for two
        acts and O(n_members**4) for three. Measured for 193 members on one core: two acts at
        (48, 48) take ~1.4 ms per draw (~14 s for 10,000 draws); three at (48, 48, 48) ~70 ms
        per draw (~12 min for 10,000), so build a :class:`Tally` on fewer draws for those. All
        four acts reduce to three (their counts must sum to ``n_members``).

        Examples
        --------
        >>> tally = Tally.from_probabilities(np.full((1, 2, 4), 0.25), rule="two_thirds")
        >>> tally.pmf(yes=1, no=1), tally.pmf(yes=1, no=1, abstain=0, absent=0)
        (0.125, 0.125)
        """
        if not counts:
            raise ValueError(f"pmf: name at least one act among {ACTS}, e.g. pmf(yes=100)")
        for act, count in counts.items():
            _act_index(act)
            if not isinstance(count, int | np.integer) or isinstance(count, bool) or count < 0:
                raise ValueError(f"pmf: {act}: expected a non-negative integer; got {count!r}")
        n = self.n_members
        total = sum(counts.values())
        if total > n or (len(counts) == len(ACTS) and total != n):
            return 0.0
        if len(counts) == len(ACTS):  # the largest count is implied by the other three
            counts.pop(max(counts, key=lambda act: counts[act]))
        if len(counts) == 1:
            ((act, count),) = counts.items()
            return float(self.marginals[_act_index(act)][count])
        named = [_act_index(act) for act in counts]
        targets = tuple(int(c) for c in counts.values())
        rest = [a for a in range(len(ACTS)) if a not in named]
        size = max(1, _JOINT_ELEMENTS // math.prod(t + 1 for t in targets))

        def run(start: int, stop: int) -> float:
            chunk = self.probabilities[start:stop].transpose(2, 1, 0)  # (act, member, draw)
            p = np.ascontiguousarray(chunk[named])
            p_rest = np.ascontiguousarray(chunk[rest].sum(axis=0))
            return float(_joint_kernel(p, p_rest, targets).sum())

        return float(sum(_map_chunks(run, self.n_draws, size, 1)) / self.n_draws)
