"""Whom should a patron ask? Targeting by the cheapest expected vote gain (MODEL.md §4).

A patron's ask (an ``ask`` or ``threat`` event of the scenario: the acts it wants, its offer
and the standing tie it invokes) reaches the members the scenario names. Here the patron may
send the same ask to any member with a vote instead. Every call costs the patron the same (a
leader's call or letter: Israel lobbied some 50-60 governments before A/RES/77/247, FACTS.md
§1), so the cheapest expected vote gain is the largest one, and the patron's best list of
``K`` calls is the ``K`` members whose act the ask moves most:

1. **Each member's answer.** One replay in which the event reaches every member, one in which
   it reaches none, at the same parameter draws. An ask changes only the utilities of the
   member it reaches (:mod:`sim.model.assembly`: members no ask reaches keep their calm odds), so
   member *j*'s odds when asked are its row of the first replay, whoever else is asked.
2. **Gains.** The patron reads the act as in MODEL.md §3 (``m``: +1 asked, -1 the opposite,
   0 absent). Member *j*'s gain is ``E[m(act) | asked] - E[m(act) | not asked]``, averaged
   over draws; the expected compliance of a list is the sum of its members' gains, so the
   greedy list (members by decreasing gain) is the best list of every size.
3. **The assembly.** For the patron's best list, the scenario's own list and nobody, the exact
   tally and probability of adoption (:mod:`sim.core.tally`) from the per-draw odds with the listed
   members' rows taken from the first replay; along the ranking, the expected counts for every
   number of calls and the probability of adoption at a grid of them.
4. **Decisive members.** The probability of adoption is linear in each member's odds, so the
   exact change that asking one member alone makes to it follows from the probability of
   adoption given that member's vote (:func:`sim.core.tally.conditional_adoption`):
   :func:`adoption_gains`. It is reported beside the ranking (``adoption_gain``), with each
   member's probability of being decisive between yes and no (``p_decisive``); in a close vote
   it says whose call could change the outcome.

A scenario can also leave the choice to the patron inside a replay: an event whose sources name
only some of the members it reached (``addressees`` above the number of ``targets``, e.g. Lapid's
letters to "more than 50 leaders", 13 named) is completed by the head of this ranking among the
members not named (:func:`complete_addressees`), before the replay runs.

By default the ranking maximises votes moved: most recorded votes are not close, and the
patrons on record counted votes (Israel's foreign ministry took pride in raising the no votes
from 17 to 26). ``objective="outcome"`` picks the list for the outcome instead: greedily, the
member whose call moves the chance of the outcome the patron wants most given the calls before
it (:func:`outcome_order`; greedy, not the best list of its size in general). Offers that cost
(a budget spread across members by credibility) are :mod:`sim.game.buying`; competing buyers
(Groseclose & Snyder 1996) are not done yet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.core.acts import ACTS, FloatArray, IntArray
from sim.core.tally import DecisionRule, RuleName, conditional_adoption, prob_adopted

__all__ = ["ADOPTION_STEP", "adoption_gains", "outcome_order"]

#: Calls between the points at which the probability of adoption is computed along the ranking.
ADOPTION_STEP = 10


def adoption_gains(
    base: FloatArray, asked: FloatArray, *, rule: RuleName | DecisionRule, workers: int = 2
) -> tuple[FloatArray, FloatArray]:
    """Per member, the exact change in the probability of adoption if only that member's odds
    went from `base` to `asked` (everyone else at `base`), and its probability of being decisive
    between yes and no at `base`.

    Parameters
    ----------
    base, asked : ndarray, shape (n_draws, n_members, 4)
        Odds per draw (``ACTS`` order) without and with the ask.
    rule : str
        The decision rule.
    workers : int
        Threads for the DP (the result does not depend on it).

    Returns
    -------
    adoption_gain, p_decisive : ndarray, shape (n_members,)
        Means over draws of ``sum_a (asked - base)_a P(adopted | the member does a)`` (exact:
        the probability of adoption is linear in one member's odds) and of
        ``P(adopted | yes) - P(adopted | no)``.
    """
    given = conditional_adoption(base, rule=rule, workers=workers)  # (draw, member, 3)
    delta = asked - base
    moved = delta[..., :2] * given[..., :2]
    change = moved.sum(axis=-1) + (delta[..., 2] + delta[..., 3]) * given[..., 2]
    return change.mean(axis=0), (given[..., 0] - given[..., 1]).mean(axis=0)


def outcome_order(
    base: FloatArray,
    asked: FloatArray,
    by_votes: IntArray,
    *,
    wants: float,
    calls: int,
    rule: RuleName | DecisionRule,
    workers: int = 2,
) -> list[int]:
    """Members in the order a patron that wants adoption (``wants = 1``) or defeat (-1) would
    ask them: greedily, each pick the member whose ask moves the probability of that outcome
    most given the picks before it (exact, :func:`adoption_gains`), for `calls` picks; ties,
    and every member once no call moves the outcome any more, in the order `by_votes`.

    Parameters
    ----------
    base, asked : ndarray, shape (n_draws, n_members, 4)
    by_votes : ndarray of int
        The candidates (member indices), ranked by votes moved.
    wants : {1.0, -1.0}
    calls : int
    rule : str
    workers : int

    Returns
    -------
    list of int
        Every candidate once, the greedy picks first.
    """
    current = base.copy()
    picked: list[int] = []
    rest = [int(j) for j in by_votes]
    for _ in range(calls):
        gains, _ = adoption_gains(current, asked, rule=rule, workers=workers)
        scores = [wants * gains[j] for j in rest]
        best = int(np.argmax(scores))  # the first of equals: the better by votes
        if scores[best] <= 1e-12:
            break  # no call moves the outcome: the rest by votes
        j = rest.pop(best)
        picked.append(j)
        current[:, j] = asked[:, j]
    return picked + rest


def assembly_odds(base: FloatArray, with_ask: FloatArray, asked: IntArray) -> FloatArray:
    """Every member's odds per draw when the patron asks the members `asked`: their rows from
    `with_ask`, everyone else's from `base` (an ask moves only the member it reaches).
    """
    probs = base.copy()
    probs[:, asked] = with_ask[:, asked]
    return probs


def adoption_curve(
    base: FloatArray,
    with_ask: FloatArray,
    ranked: IntArray,
    moved: FloatArray,
    m: FloatArray,
    *,
    rule: RuleName | DecisionRule,
    marks: tuple[int, ...],
    iso3: tuple[str, ...],
) -> pd.DataFrame:
    """Expected counts and compliance after each call along the ranking (`moved`: what asking
    each ranked member moves, shape (n, act)); the probability of adoption every
    :data:`ADOPTION_STEP` calls, at the last and at `marks`.
    """
    steps = np.vstack([np.zeros(len(ACTS)), np.cumsum(moved, axis=0)])  # (n + 1, act)
    counts = base.mean(axis=0).sum(axis=0) + steps
    frame = pd.DataFrame(
        {
            "calls": np.arange(len(ranked) + 1),
            "added": ["", *(iso3[j] for j in ranked)],
            "compliance_gain": steps @ m,
        }
    )
    for k, act in enumerate(ACTS):
        frame[f"expected_{act}"] = counts[:, k]
    at = sorted({*range(0, len(ranked) + 1, ADOPTION_STEP), len(ranked), *marks})
    p = np.full(len(frame), np.nan)
    for k in at:
        probs = assembly_odds(base, with_ask, ranked[:k])
        p[k] = float(prob_adopted(probs, rule=rule, workers=2).mean())
    frame["p_adopted"] = p
    return frame
