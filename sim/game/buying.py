"""Vote buying with a budget: how a patron spreads its support across members (MODEL.md §4).

:mod:`sim.game.bargaining` prices one target's offer; :mod:`sim.game.targeting` ranks whom to ask
when
every call costs the same. Here the patron has a budget and chooses, for every member with a
vote, whether to send the ask and how firmly to commit the support it offers (a credibility on
a grid), and targeting follows the cheapest expected vote gain (MODEL.md §4; Groseclose &
Snyder 1996):

1. **Each member's answer at each offer.** For every credibility ``c`` on the grid, one replay
   in which the event's ask reaches every member with the offer made at ``c`` in every draw,
   and one in which it reaches none, all at the same parameter draws. An ask moves only the
   member it reaches (:mod:`sim.model.assembly`), so member *j*'s odds when offered ``c`` are its
   row of the replay at ``c``, whatever is offered to the others.
2. **Gains and costs.** The patron reads the act as in MODEL.md §3 (``m``: +1 asked, -1 the
   opposite, 0 absent); the gain of offering ``c`` to *j* is
   ``G_j(c) = E[m(act) | c] - E[m(act) | not asked]``. Its cost, in units of a firm commitment
   of a member's whole need (what :mod:`sim.game.bargaining` calls ``K``), is
   ``call_cost + c * need_j`` for an ask (the commitment is paid whatever *j* does) and
   ``call_cost + c * need_j * D_j(c)`` for a threat (carried out, with probability ``c``, on
   the expected defiance ``D_j(c)``). A member without a need for the kind of support costs
   only the call, whatever ``c``.
3. **The allocation.** The offers worth making to *j* are the vertices of the upper concave
   hull of its points ``(cost, gain)`` with "not asked" at ``(0, 0)``
   (:func:`sim.game.bargaining.upper_hull`); each step along a hull buys gain at a falling rate.
   The patron takes the steps of all members from the cheapest expected vote gain (the
   steepest) down, each while it fits in what is left of the budget
   (:func:`allocate`). At every budget on the path (``frontier``) no spending of the same
   amount gains more, whole offers or not (it is the optimum of the relaxation in which
   offers can be mixed, which bounds every allocation); between two points of the path, a step
   that does not fit is skipped and cheaper ones further down are taken instead.
4. **The assembly.** For nobody asked, the scenario's own event (its members at its credibility
   prior; its expected spend) and the patron's allocation, the exact tally and probability of
   adoption (:mod:`sim.core.tally`).

Members' choices are independent given the draw, so the allocation is exact in expected
compliance; the outcome is not the objective (most recorded votes are not close; see
:mod:`sim.game.targeting` for the outcome objective with calls).

**A rival buyer** (``rival``: another principal's ask or threat with an offer, e.g. one asking
for the opposite vote) moves second, as Groseclose & Snyder's second buyer: with the patron's
offers fixed as allocated, the same three steps for the rival's event and budget give its best
response, and the assembly after both.

**An anticipating patron** (``anticipate``; their first buyer) is solved on a coarser grid
(:data:`CONTEST_GRID`): one replay per pair of the two buyers' options (each event to every
member at a credibility, or not sent) gives every member's odds, so the rival's exact response
to any allocation of the patron is a greedy allocation over tables (:func:`_respond`). The
patron cannot search all its allocations; it anticipates the rival through a shadow price of
the rival's budget, at which the rival answers each member on its own and the patron's problem
separates into one it solves exactly, tries a range of prices, scores each allocation against
the rival's exact response and keeps the best, or its naive allocation (ignoring the rival's
money) if none beats it (:func:`solve_contest`). Groseclose & Snyder's supermajorities come from
buyers who care about the outcome; these buyers count votes, and the rival spends its whole
budget wherever the patron leaves it room, so anticipation gains only where some of the
patron's buys are cheap for the rival to undo and others are not.

**A buyer who wants the outcome** (``outcome``; Groseclose & Snyder's buyers care who wins):
the same budget spent to raise the exact probability that the resolution is adopted (an ask for
yes) or rejected (an ask against), greedily on each member's exact effect on it
(:func:`buy_outcome`), reported beside the vote-counting allocation (``plans["outcome"]``); it
keeps the vote-counting allocation where that does better. Where the outcome is beyond reach
(the Jerusalem vote, the ICJ referral) it buys nothing.

Not yet: kinds of support other than the event's; an outcome buyer against a rival.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.core.acts import FloatArray, IntArray
from sim.core.tally import DecisionRule, RuleName, conditional_adoption
from sim.game.bargaining import upper_hull

__all__ = [
    "CONTEST_GRID",
    "SHADOW_PRICES",
    "Allocation",
    "Contest",
    "allocate",
    "buy_outcome",
    "p_wanted",
    "solve_contest",
]


@dataclass(frozen=True)
class Allocation:
    """The greedy spending of a budget across members' offer hulls (:func:`allocate`).

    Attributes
    ----------
    choice : ndarray of int, shape (n_members,)
        Per member, the option bought: -1 for none (not asked), else an index into the option
        axis of the inputs.
    cost, gain : float
        Total cost and total gain of the allocation.
    path : DataFrame
        Every hull step of every member, steepest first: ``member``, ``option`` (the option the
        step ends at), ``cost_step``, ``gain_step``, ``rate`` (gain per unit of cost; ``inf``
        for a free step), ``cost``, ``gain`` (cumulative along the path, the efficient frontier
        of the relaxation) and ``taken`` (whether the budget bought it).
    """

    choice: IntArray
    cost: float
    gain: float
    path: pd.DataFrame


def allocate(
    costs: FloatArray, gains: FloatArray, budget: float, *, names: Sequence[str] | None = None
) -> Allocation:
    """Spend `budget` on the steepest steps of each member's upper concave hull of offers.

    Parameters
    ----------
    costs, gains : ndarray, shape (n_members, n_options)
        Each member's options; "not asked" (cost 0, gain 0) is added by this function. Costs must
        be non-negative.
    budget : float
        What the patron can spend (non-negative; ``inf`` buys every step that gains).
    names : sequence of str, optional
        Members' names for breaking ties in rate (default: their positions).

    Returns
    -------
    Allocation

    Examples
    --------
    >>> costs = np.array([[1.0, 2.0], [1.0, 3.0]])
    >>> gains = np.array([[0.5, 0.6], [0.2, 0.9]])
    >>> allocate(costs, gains, 4.0).choice.tolist()  # member 1's only step is (3, 0.9)
    [0, 1]
    >>> a = allocate(costs, gains, 2.0)  # it does not fit: member 0's second step does
    >>> a.choice.tolist(), round(a.gain, 3)
    ([1, -1], 0.6)
    """
    costs, gains = np.asarray(costs, dtype=float), np.asarray(gains, dtype=float)
    if costs.shape != gains.shape or costs.ndim != 2:
        raise ValueError(f"costs and gains must be (members, options); got {costs.shape}")
    if np.any(costs < 0) or not budget >= 0:
        raise ValueError("costs and the budget must be non-negative")
    n = costs.shape[0]
    keys = list(names) if names is not None else [f"{j:09d}" for j in range(n)]
    steps = []  # (rate, member, order along its hull, option, cost_step, gain_step)
    for j in range(n):
        x = np.concatenate([[0.0], costs[j]])
        y = np.concatenate([[0.0], gains[j]])
        hull = upper_hull(x, y)
        if hull[0] != 0:  # an option as cheap as not asking and better: a free first step
            hull = [0, *hull]
        for order, (a, b) in enumerate(itertools.pairwise(hull)):
            dx, dy = x[b] - x[a], y[b] - y[a]
            rate = dy / dx if dx > 0 else np.inf
            steps.append((rate, j, order, b - 1, dx, dy))
    steps.sort(key=lambda s: (-s[0], keys[s[1]], s[2]))
    choice = np.full(n, -1, dtype=np.int64)
    blocked = np.zeros(n, dtype=bool)
    left, spent, gained = float(budget), 0.0, 0.0
    taken = []
    for _rate, j, _order, option, dx, dy in steps:
        ok = not blocked[j] and dx <= left + 1e-12 * max(1.0, abs(left))
        if ok:
            choice[j] = option
            left -= dx
            spent += dx
            gained += dy
        else:
            blocked[j] = True  # its later steps need this one
        taken.append(ok)
    path = pd.DataFrame(
        {
            "member": [keys[s[1]] if names is not None else s[1] for s in steps],
            "option": [s[3] for s in steps],
            "cost_step": [s[4] for s in steps],
            "gain_step": [s[5] for s in steps],
            "rate": [s[0] for s in steps],
        }
    )
    path["cost"] = path["cost_step"].cumsum() if len(path) else []
    path["gain"] = path["gain_step"].cumsum() if len(path) else []
    path["taken"] = taken
    return Allocation(choice=choice, cost=float(spent), gain=float(gained), path=path)


#: A step must raise the probability of the patron's outcome by more than this to be bought.
OUTCOME_TOL = 1e-9

#: The most memory (GB) the outcome buyer may keep for every member's odds at every offer.
OUTCOME_MEMORY_GB = 2.0

#: Conditional adoption's act classes in ``ACTS`` order: yes, no, neither (abstain, absent).
_CLASS = np.array([0, 1, 2, 2])


def buy_outcome(
    tables: FloatArray,
    probs: FloatArray,
    candidates: IntArray,
    costs: FloatArray,
    budget: float,
    *,
    rule: RuleName | DecisionRule,
    want: str,
    start: IntArray | None = None,
    names: Sequence[str] | None = None,
    workers: int = 2,
) -> tuple[Allocation, FloatArray]:
    """Spend `budget` for the outcome: raise the probability that the resolution is adopted
    (``want="adopted"``) or rejected, not the expected compliance (Groseclose & Snyder's
    buyers care who wins).

    That probability is not a sum over members, so there is no hull to walk. It is linear in
    each member's odds given the others' (:func:`sim.core.tally.conditional_adoption`), so the exact
    gain of moving any one member to any of its options is known at once; the patron takes the
    move with the most probability per unit of cost that fits what is left, updates the
    assembly and asks again, until no move that fits gains more than :data:`OUTCOME_TOL`
    (each move raises the probability, so it ends). Greedy: not an optimum, and compared with
    the vote-counting allocation by the caller (:func:`buy_votes`).

    Parameters
    ----------
    tables : ndarray, shape (n_options, n_draws, n, 4)
        Each candidate's odds per draw at each option (members independent within a draw).
    probs : ndarray, shape (n_draws, n_members, 4)
        Everyone's odds with each candidate at its `start` option (not asked where -1).
    candidates : ndarray of int, shape (n,)
        The candidates' columns in `probs`.
    costs : ndarray, shape (n, n_options)
    budget : float
    rule : str
        The decision rule (:mod:`sim.core.tally`).
    want : {"adopted", "rejected"}
    start : ndarray of int, shape (n,), optional
        Each candidate's option at the start (-1: not asked, cost 0; default).
    names : sequence of str, optional
        For breaking ties (default: positions).
    workers : int
        Threads of the exact tally (results do not depend on it).

    Returns
    -------
    (Allocation, ndarray)
        The allocation (``gain``: the probability of `want` gained; ``path``: the moves in the
        order taken, ``gain`` cumulative from the start's probability) and everyone's odds per
        draw under it.

    Examples
    --------
    Two members tied 1-1 and a third who abstains: buying the third's yes decides the vote.

    >>> probs = np.array([[[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0]]])
    >>> tables = np.array([[[[0.9, 0, 0.1, 0]]]])           # member 2 offered: yes 0.9
    >>> a, after = buy_outcome(tables, probs, np.array([2]), np.array([[1.0]]), 1.0,
    ...                        rule="simple_majority", want="adopted")
    >>> a.choice.tolist(), round(a.gain, 3)
    ([0], 0.9)
    """
    if want not in ("adopted", "rejected"):
        raise ValueError(f"want must be adopted or rejected; got {want!r}")
    tables = np.asarray(tables, dtype=float)
    probs = np.array(probs, dtype=float)  # a copy: it is updated move by move
    candidates = np.asarray(candidates, dtype=np.int64)
    costs = np.asarray(costs, dtype=float)
    n_options, n_draws, n = tables.shape[:3]
    if costs.shape != (n, n_options) or len(candidates) != n:
        raise ValueError(f"costs must be (candidates, options) = ({n}, {n_options})")
    current = np.full(n, -1, dtype=np.int64) if start is None else np.array(start, np.int64)
    spent_now = np.where(current >= 0, costs[np.arange(n), np.maximum(current, 0)], 0.0)
    left = float(budget) - float(spent_now.sum())
    keys = list(names) if names is not None else [f"{j:09d}" for j in range(n)]
    sign = 1.0 if want == "adopted" else -1.0
    steps: list[tuple[str, int, float, float, float]] = []
    first = None
    for _ in range(n * n_options + 1):  # each move gains, so it ends well before (a guard)
        given = conditional_adoption(probs, rule=rule, workers=workers)[:, candidates][..., _CLASS]
        now = np.einsum("dnc,dnc->n", probs[:, candidates], given) / n_draws
        if first is None:
            p = float(np.mean(np.einsum("dc,dc->d", probs[:, candidates[0]], given[:, 0])))
            first = p if want == "adopted" else 1.0 - p
        gain = sign * (np.einsum("kdnc,dnc->kn", tables, given) / n_draws - now[None, :])
        extra = costs.T - spent_now[None, :]  # (option, candidate)
        fits = (extra <= left + 1e-12 * max(1.0, abs(left))) & (gain > OUTCOME_TOL)
        fits[current[current >= 0], np.flatnonzero(current >= 0)] = False
        if not fits.any():
            break
        with np.errstate(divide="ignore"):
            rate = np.where(extra > 0, gain / np.where(extra > 0, extra, 1.0), np.inf)
        options, members = np.nonzero(fits)
        k, j = min(
            zip(options.tolist(), members.tolist(), strict=True),
            key=lambda kj: (-rate[kj], -gain[kj], keys[kj[1]], kj[0]),
        )
        probs[:, candidates[j]] = tables[k][:, j]
        left -= float(extra[k, j])
        spent_now[j] = costs[j, k]
        current[j] = k
        steps.append((keys[j] if names is not None else j, k, float(extra[k, j]),
                      float(gain[k, j]), float(rate[k, j])))  # fmt: skip
    path = pd.DataFrame(steps, columns=["member", "option", "cost_step", "gain_step", "rate"])
    path["cost"] = path["cost_step"].cumsum() if len(path) else []
    path["gain"] = first + path["gain_step"].cumsum() if len(path) else []
    path["taken"] = True
    gained = float(path["gain_step"].sum()) if len(path) else 0.0
    return Allocation(current, float(spent_now.sum()), gained, path), probs


def p_wanted(p_adopted: float, want: str) -> float:
    """The probability of the outcome the buyer wants: adoption or rejection."""
    return float(p_adopted) if want == "adopted" else 1.0 - float(p_adopted)


#: The credibilities of the contest in which the patron anticipates the rival (:func:`contest`):
#: every pair of offers is one replay, so the grid is coarser than the pricing game's.
CONTEST_GRID: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)

#: Shadow prices of the rival's budget at which the patron tries its anticipation (logit of
#: compliance per unit of commitment), log-spaced; each candidate is scored against the
#: rival's exact response.
SHADOW_PRICES = tuple(float(x) for x in np.logspace(-3, 3, 49))

#: The gain of an option a buyer may not choose: below every real one, finite for the hull.
_NEVER = -1e9


@dataclass(frozen=True)
class Contest:
    """Two buyers on a grid of offer pairs, the rival moving second (:func:`contest`).

    Attributes
    ----------
    grid : ndarray, shape (G,)
    options_a, options_b : ndarray of int, shape (n_members, 2)
        Each member's first and last allowed option of the patron and of the rival: option 0 is
        "not asked", option ``k >= 1`` the offer at ``grid[k - 1]``.
    reading_a, reading_b : ndarray, shape (G + 1, G + 1, n_members)
        The patron's and the rival's expected reading of each member's act at every pair of
        options (patron's first).
    cost_a, cost_b : ndarray, shape (G + 1, G + 1, n_members)
    naive, leader : tuple of ndarray of int
        The patron's options and the rival's exact response: the patron ignoring the rival's
        money, and the patron anticipating it (the best of its tries at :data:`SHADOW_PRICES`).
    shadow_price : float
        The rival's shadow price at which the patron's best anticipation was found (``nan``
        when ignoring the rival did as well).
    """

    grid: FloatArray
    options_a: IntArray
    options_b: IntArray
    reading_a: FloatArray
    reading_b: FloatArray
    cost_a: FloatArray
    cost_b: FloatArray
    naive: tuple[IntArray, IntArray]
    leader: tuple[IntArray, IntArray]
    shadow_price: float

    def value(self, a: IntArray, b: IntArray) -> tuple[float, float, float, float]:
        """The patron's and the rival's total reading and spend at options `a`, `b`."""
        j = np.arange(len(a))
        return (
            float(self.reading_a[a, b, j].sum()),
            float(self.reading_b[a, b, j].sum()),
            float(self.cost_a[a, b, j].sum()),
            float(self.cost_b[a, b, j].sum()),
        )


def _respond(
    reading: FloatArray, cost: FloatArray, options: IntArray, budget: float, names: Sequence[str]
) -> IntArray:
    """A buyer's exact best response (:func:`allocate`) given the other side's options: per
    member, `reading` and `cost` over this buyer's options (shape (n, G + 1)), choices between
    ``options[:, 0]`` and ``options[:, 1]``, measured from the first.
    """
    n, width = reading.shape
    j = np.arange(n)
    first = options[:, 0]
    costs = np.zeros((n, width - 1))
    gains = np.full((n, width - 1), _NEVER)
    for k in range(1, width):
        allowed = (k > first) & (k <= options[:, 1])
        gains[:, k - 1] = np.where(allowed, reading[:, k] - reading[j, first], _NEVER)
        costs[:, k - 1] = np.where(allowed, np.maximum(cost[:, k] - cost[j, first], 0.0), 0.0)
    chosen = allocate(costs, gains, budget, names=names).choice
    return np.where(chosen >= 0, chosen + 1, first)


def _local_response(
    reading: FloatArray, cost: FloatArray, options: IntArray, price: float
) -> IntArray:
    """Per member and option of the other side, the option maximising ``reading - price * cost``
    (the response of a buyer whose budget is worth `price` per unit), shape (G + 1, n).
    """
    width = reading.shape[1]
    k = np.arange(width)[None, :, None]
    allowed = (k >= options[:, 0][None, None, :]) & (k <= options[:, 1][None, None, :])
    score = np.where(allowed, reading - price * cost, -np.inf)  # (a, b, n)
    return np.argmax(score, axis=1)  # ties: the first, the cheaper offer


def solve_contest(
    reading_a: FloatArray,
    reading_b: FloatArray,
    cost_a: FloatArray,
    cost_b: FloatArray,
    options_a: IntArray,
    options_b: IntArray,
    *,
    budget_a: float,
    budget_b: float,
    names: Sequence[str],
    grid: FloatArray,
) -> Contest:
    """The patron's allocation, ignoring and anticipating the rival's exact best response.

    The rival moves second and spends its budget by the cheapest expected vote gain given the
    patron's offers (:func:`allocate`, exact). The patron cannot search every allocation, so it
    anticipates the rival through a shadow price ``p`` of the rival's budget: at ``p`` the rival
    answers each member on its own, maximising its reading less ``p`` times its cost, and the
    patron's problem separates into one it solves exactly (:func:`allocate`). The patron tries
    every ``p`` of :data:`SHADOW_PRICES`, scores each allocation against the rival's exact
    response, and keeps the best, or its naive allocation if none does better.
    """
    n = reading_a.shape[-1]
    j = np.arange(n)
    base_b = options_b[:, 0]

    def patron_allocation(answer: IntArray) -> IntArray:
        """The patron's best allocation if the rival answered option a with `answer[a, j]`."""
        reading = reading_a[np.arange(reading_a.shape[0])[:, None], answer, j[None, :]].T
        cost = cost_a[np.arange(cost_a.shape[0])[:, None], answer, j[None, :]].T
        return _respond(reading, cost, options_a, budget_a, names)

    def rival_answer(a: IntArray) -> IntArray:
        return _respond(reading_b[a, :, j], cost_b[a, :, j], options_b, budget_b, names)

    def patron_total(a: IntArray, b: IntArray) -> float:
        return float(reading_a[a, b, j].sum())

    ignore = np.broadcast_to(base_b[None, :], (reading_a.shape[0], n))
    naive_a = patron_allocation(ignore)
    naive = (naive_a, rival_answer(naive_a))
    best, best_value, best_price = naive, patron_total(*naive), float("nan")
    for price in SHADOW_PRICES:
        answer = _local_response(reading_b, cost_b, options_b, price)  # (a, n)
        a = patron_allocation(answer)
        b = rival_answer(a)
        value = patron_total(a, b)
        if value > best_value + 1e-12:
            best, best_value, best_price = (a, b), value, price
    return Contest(
        grid=np.asarray(grid, dtype=float), options_a=options_a, options_b=options_b,
        reading_a=reading_a, reading_b=reading_b, cost_a=cost_a, cost_b=cost_b, naive=naive,
        leader=best, shadow_price=best_price,
    )  # fmt: skip
