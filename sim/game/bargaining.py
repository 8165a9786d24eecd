"""The bargaining game (MODEL.md §4), first version: a patron prices a target's counter-ask.

A patron *P* has asked a target *S* for some acts, with an offer of support of kind *k* (an
``ask`` event of the scenario), and *S* has asked for that support in return (a counter-ask,
:meth:`sim.model.members.Member.respond_to_asks`). *P* chooses how firmly to commit it: a
credibility
``c`` on a grid (0 is nothing; the scenario levels are ``talks`` about 0.25 and ``firm`` about
0.9). The game is solved by backward induction over the grid:

1. **The target's quantal response.** For every ``c`` the replay gives *S*'s exact odds of
   yes / no / abstain / absent, with every other uncertain parameter at the same draws (common
   random numbers, so the curve has no sampling noise between grid points).
2. **The patron's best response.** *P* values *S*'s act by its own reading of it (``m_P``: +1
   for an asked act, -1 for the act farthest from the ask, its kind of ask's reading of absence
   (the mean over draws); MODEL.md §3), so its
   expected payoff is::

       V * G(c) - K * c * need,     G(c) = E[m_P(act) | c]

   with ``V`` what a unit of *S*'s compliance is worth to *P* and ``K`` the cost to *P* of
   committing *S*'s whole need for certain. The cost is the commitment's, as in MODEL.md §4's
   example (a firm arms commitment to Ukraine costs Israel its deconfliction with Russia): it
   grows with the credibility ``c`` and is paid whatever *S* then does. (A cost paid only on
   delivery, when *S* complies, would weigh each offer by its odds of compliance too; the hull
   below works for either, with that cost on the first axis.) Only the ratio ``r = K / V``
   matters, and neither number is in FACTS.md, so the game is solved for every ``r``: the offers
   *P* ever chooses are the vertices of the upper concave hull of the points
   ``(c * need, G(c))``, each optimal on an interval of ``r`` (:attr:`Bargain.switch_points`),
   and :meth:`Bargain.best_response` gives the equilibrium for one ``r``.
3. **Surpluses.** *P*'s, per unit of ``V``: ``G(c) - G(0) - r * c * need`` (for a threat,
   ``r`` times its expected cost below). *S*'s, in logits
   (the units of the value of support): the change in its expected maximum utility, the logit
   consumer surplus (Small & Rosen 1981), ``E[log sum_a exp U(a)]``. Every principal reads
   absence as 0 and no cost of absence depends on an offer, so ``U(absent)`` is the same at
   every ``c`` and the change is ``log q_0(absent) - log q_c(absent)`` per draw, with ``q`` the
   choice model's odds before the tremble (:func:`logit_surplus`). With the evasion elasticity
   ``e`` the choice is a nested logit (the votes in a nest with coefficient ``e``, absence's
   utility fixed), and strategic absence is a common shift of the votes' utilities, so the
   identity still holds. The surplus can be negative: MODEL.md §3 reads the asked acts +1 and
   their opposite -1, so a conditional offer is also a stake the target loses if it keeps the
   vote the patron asked it to leave; a small offer to a target that would rather keep it costs
   more than it brings.

**Threats.** A ``threat`` event puts support at risk instead of promising it: the target's
response is computed the same way (MODEL.md §3 reads the threat's credibility times the
support's value as a stake), but the patron pays only when it carries the threat out, on
defiance. With credibility read as the probability of carrying it out, the expected cost is
``K * c * need * D(c)``, ``D(c) = E[max(-m_P(act), 0) | c]`` the expected defiance (1 for the
act farthest from the ask, in between for partial defiance, 0 for compliance and absence). The
hull is taken on that cost axis: a threat credible enough to deter costs less than a weaker one
that is defied, and the hull drops whatever is dominated.

Whom to ask is :mod:`sim.game.targeting`; a budget spread across targets, :mod:`sim.game.buying`.
Not
yet: several patrons competing for the same votes (Groseclose & Snyder 1996) and kinds of support
other than the one the event offers.
"""

from __future__ import annotations

import numpy as np

from sim.core.acts import FloatArray

__all__ = ["DEFAULT_GRID", "logit_surplus", "upper_hull"]

#: Credibilities the patron chooses among by default: 0 to 1 in steps of 0.05.
DEFAULT_GRID: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(21))


def logit_surplus(absent_before: FloatArray, absent_after: FloatArray) -> FloatArray:
    """Change in a logit chooser's expected maximum utility when only the other acts' utilities
    change: ``log P_before(absent) - log P_after(absent)`` (logit units).

    ``E[max_a U(a) + e_a] = log sum_a exp U(a)`` (plus Euler's constant) and
    ``P(absent) = exp U(absent) / sum_a exp U(a)``: with ``U(absent)`` fixed, the log-sum moves
    by minus the change in ``log P(absent)``.

    Examples
    --------
    >>> u0, u1 = np.array([0.0, -1.0, -1.0, -2.0]), np.array([-1.0, 1.0, 1.0, -2.0])
    >>> p0, p1 = np.exp(u0) / np.exp(u0).sum(), np.exp(u1) / np.exp(u1).sum()
    >>> bool(np.isclose(logit_surplus(p0[3], p1[3]), np.log(np.exp(u1).sum() / np.exp(u0).sum())))
    True
    """
    with np.errstate(divide="ignore"):
        return np.log(absent_before) - np.log(absent_after)


def upper_hull(x: FloatArray, y: FloatArray) -> list[int]:
    """Indices of the points on the upper concave hull of ``(x, y)`` from the smallest ``x`` to
    the largest ``y``: the choices a maximiser of ``y - r * x`` makes for some ``r >= 0``.

    Ties in ``x`` keep the larger ``y``; ties in ``y`` keep the smaller ``x``.

    Examples
    --------
    >>> upper_hull(np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.0, 0.1, 1.0, 0.9]))
    [0, 2]
    """
    order = sorted(range(len(x)), key=lambda i: (x[i], -y[i]))
    hull: list[int] = []
    for i in order:
        if hull and x[hull[-1]] == x[i]:
            continue  # same cost, lower gain
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # drop b if it lies on or under the chord from a to i
            if (y[b] - y[a]) * (x[i] - x[a]) <= (y[i] - y[a]) * (x[b] - x[a]):
                hull.pop()
            else:
                break
        hull.append(i)
    best = max(hull, key=lambda i: (y[i], -x[i]))
    return hull[: hull.index(best) + 1]
