"""Patrons as Mesa agents: principals that choose whom to ask and what to offer, round by round.

In ``negotiate`` mode (:class:`sim.model.assembly.AssemblyModel`) the principals a scenario's
``[negotiation]`` section names are :class:`Patron` agents. A patron *P* has

* an **objective**: the votes it counts (``votes``: its reading ``m_P`` of each member's act,
  MODEL.md §3, summed over members) or the outcome (``outcome``: the exact probability that
  the resolution fails, or passes if *P* asks for yes);
* a **budget of support by kind**, in firm commitments of a member's whole need (the unit of
  :mod:`sim.game.buying`): an offer of credibility ``c`` to a member of need ``n`` spends
  ``c * n``;
* **costs**: per kind, the cost ratio ``r`` of :mod:`sim.game.bargaining` (what a firm commitment
  of a member's whole need costs *P*, in units of a member's full compliance), its own plus a
  third party's (a firm arms commitment to Ukraine costs Israel its deconfliction with Russia);
* a **strategy**: each round, given every member's current quantal response (the exact odds of
  the choice core at every parameter draw), it raises its offers where that pays, by its best
  response: for each member it may ask, the odds at every credibility of the grid
  (:data:`sim.game.bargaining.DEFAULT_GRID`) that the protocol allows, the gain in its
  objective and the cost ``r * c * n``; the offers worth making are the upper concave hull of
  each member's points, and the budget buys the steepest steps first
  (:func:`sim.game.buying.allocate`, the bargaining solution of one member when only one is
  asked).

The protocol, round by round (:meth:`sim.model.assembly.AssemblyModel.step`):

1. The cited asks of the round arrive (the floor: they happen whatever the patrons choose).
2. The patrons move in turn, in the order of the file (Groseclose & Snyder's sequential buyers:
   each sees the offers the others have made). An offer a member did not ask for is talk: at
   most :data:`OPENING` (the mean credibility of ``talks``). A member that has counter-asked
   *P* for a kind of support it needs (:meth:`sim.model.members.Member.respond_to_asks`) may
   be offered up to a firm commitment, and *P* answers its counter-ask in the next round:
   **accept** (credibility raised to :data:`sim.model.setup.FIRM` or more, its cost paid),
   **talks** (raised, but not to a firm commitment) or **refuse** (not raised).
3. Members answer the asks that reached them: a counter-ask for needed support not firmly
   offered.
4. Everyone's odds follow.

Offers only rise: a commitment made is not taken back, and what it spent stays spent. A
negotiated offer to a member raises the credibility of *P*'s latest ask to it (its reading and
tie are kept) to ``max(cited, c)`` in each draw, so a cited ask arriving later cannot lower it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.core.acts import ACTS, FloatArray, IntArray
from sim.core.choice import principal_weight, reading
from sim.core.seeds import named_stream
from sim.core.tally import conditional_adoption
from sim.game.bargaining import DEFAULT_GRID
from sim.game.buying import allocate
from sim.io.errors import ScenarioError
from sim.io.scenario import CREDIBILITY_LEVELS, select
from sim.model.setup import FIRM, AskSpec

if TYPE_CHECKING:
    from sim.model.assembly import AssemblyModel
    from sim.model.setup import Setup

__all__ = [
    "NEGOTIATED",
    "OPENING",
    "Patron",
    "PatronSpec",
    "SupportSpec",
    "negotiation_dates",
    "patron_specs",
]

#: The highest credibility of an offer the member did not ask for: "talks", as the scenario
#: files' level means it (:data:`sim.io.scenario.CREDIBILITY_LEVELS`).
OPENING = CREDIBILITY_LEVELS["talks"].mean()

#: Prefix of the event ids of the asks patrons make in a negotiation.
NEGOTIATED = "negotiation."

#: A gain below this (in the patron's objective per member) is no gain: no ask is sent for it.
GAIN_TOL = 1e-9

#: The gain of an option the protocol does not allow (finite, for the hull).
_NEVER = -1e9

#: Conditional adoption's act classes in ``ACTS`` order: yes, no, neither (abstain, absent).
_CLASS = np.array([0, 1, 2, 2])


@dataclass(frozen=True)
class SupportSpec:
    """One kind of support a patron can commit: budget, cost ratio and who imposes it.

    Attributes
    ----------
    kind : str
    budget : float
        Firm commitments of a member's whole need.
    cost, third_party_cost : float
        Cost ratios (units of a member's full compliance per firm commitment of its whole
        need): the patron's own, and through `third_party`'s reaction.
    third_party : str or None
    source : str
    need : ndarray, shape (n_members,)
        Each member's need for the kind (0 to 1).
    """

    kind: str
    budget: float
    cost: float
    third_party_cost: float
    third_party: str | None
    source: str
    need: FloatArray

    @property
    def cost_ratio(self) -> float:
        """``r``: the whole cost of a firm commitment of a member's whole need."""
        return self.cost + self.third_party_cost


@dataclass(frozen=True)
class PatronSpec:
    """A negotiating patron as arrays (built by :func:`patron_specs`).

    Attributes
    ----------
    principal : str
        Its key among the scenario's principals.
    objective : {"votes", "outcome"}
    m : ndarray, shape (4,)
        Its reading of each act (:func:`sim.core.choice.reading` of its acts).
    acts : tuple of str
        The acts it asks for (its own, else those of its latest cited ask).
    reach : ndarray of int
        The members it may ask (indices, sorted), never itself.
    tie : ndarray, shape (n_draws,)
        The relationship an ask to a member its cited asks do not reach carries (logit units).
    support : tuple of SupportSpec
        In the order it considers them.
    """

    principal: str
    objective: str
    m: FloatArray
    acts: tuple[str, ...]
    reach: IntArray
    tie: FloatArray
    support: tuple[SupportSpec, ...]


def patron_specs(
    setup: Setup, *, budget: float | None = None, cost: float | None = None
) -> tuple[PatronSpec, ...]:
    """The patrons of the scenario's ``[negotiation]`` section, in the order they move.

    Parameters
    ----------
    setup : Setup
        The prepared episode (its variant's cited asks give each patron's default reach and
        acts).
    budget : float, optional
        Replace every budget of every patron (firm commitments of a member's whole need): what
        ``mesa.batch_run`` sweeps.
    cost : float, optional
        Replace every cost ratio (own cost, third-party cost 0).

    Raises
    ------
    ScenarioError
        If the scenario has no ``[negotiation]`` section, or a patron has neither cited asks
        nor ``acts``.
    """
    spec = setup.scenario.spec
    where = f"{setup.scenario.path or spec.name}"
    if spec.negotiation is None:
        raise ScenarioError(
            f"{where}: negotiation: expected a [negotiation] section naming the patrons that "
            f"negotiate (docs/scenarios.md)"
        )
    blocs = {m.iso3: m.blocs for m in setup.members}
    groups = {m.iso3: m.un_group for m in setup.members}
    index = {iso3: i for i, iso3 in enumerate(setup.iso3)}
    committee = spec.committee
    known = {} if committee is None else {
        iso3: act for act in ACTS for iso3 in getattr(committee.known_acts, act)
    }  # fmt: skip
    out = []
    for key, patron in spec.negotiation.patrons.items():
        cited = [a for a in setup.asks if a.principal == key]
        if patron.acts:
            m, acts = reading(patron.acts), tuple(patron.acts)
        elif cited:
            latest = max(cited, key=lambda a: (a.date, a.order))
            m, acts = latest.m, latest.acts
        else:
            raise ScenarioError(
                f"{where}: negotiation.patrons.{key}.acts: the patron has no cited ask in "
                f"variant {setup.variant!r}; expected the acts it asks for"
            )
        if patron.reach:
            chosen = {c for s in patron.reach
                      for c in select(s, members=blocs, groups=groups, known=known)}  # fmt: skip
        else:
            chosen = {c for a in cited for c in a.target_iso3}
        own = spec.principals[key].iso3
        reach = np.array(sorted(index[c] for c in chosen if c != own), dtype=np.int64)
        tie = patron.tie.sample(setup.n_draws, rng=named_stream(setup.seed, f"negotiation.{key}"))
        support = tuple(
            SupportSpec(
                kind=s.kind,
                budget=float(s.budget if budget is None else budget),
                cost=float(s.cost if cost is None else cost),
                third_party_cost=float(s.third_party_cost if cost is None else 0.0),
                third_party=s.third_party,
                source=s.source,
                need=np.array([m_.needs.get(s.kind, 0.0) for m_ in setup.members]),
            )
            for s in patron.support
        )
        out.append(PatronSpec(key, patron.objective, m, acts, reach, tie, support))
    return tuple(out)


#: How an ask reads the acts beyond its mean ``m``: per draw (or None), the acts asked for, and
#: a reading of absence fixed by the scenario (or None).
_Reading = tuple[FloatArray | None, tuple[str, ...], float | None]
#: A member an offer reaches: its index, the credibility offered, the ask's reading, its tie and
#: the offer per draw.
_Offered = tuple[int, float, FloatArray, FloatArray, FloatArray]


@dataclass
class _Holding:
    """What a patron has offered one member: the kind and the credibility."""

    kind: str
    credibility: float


@dataclass
class _Ledger:
    """A patron's offers and spending (mutable state of the agent)."""

    holdings: dict[int, _Holding] = field(default_factory=dict)
    spent: dict[str, float] = field(default_factory=dict)
    answered: set[tuple[int, str]] = field(default_factory=set)


class Patron(mesa.Agent):
    """A principal that negotiates (module docstring).

    Parameters
    ----------
    model : AssemblyModel
        In ``negotiate`` mode.
    spec : PatronSpec
    """

    def __init__(self, model: AssemblyModel, spec: PatronSpec) -> None:
        super().__init__(model)
        self.spec = spec
        self.ledger = _Ledger(spent={s.kind: 0.0 for s in spec.support})

    @property
    def principal(self) -> str:
        """Its key among the scenario's principals."""
        return self.spec.principal

    def spent(self, kind: str | None = None) -> float:
        """What it has committed of `kind` (default: of every kind), in firm commitments."""
        if kind is None:
            return float(sum(self.ledger.spent.values()))
        return self.ledger.spent[kind]

    def credibility(self, member: int) -> float:
        """The credibility of its negotiated offer to member `member` (0: none)."""
        held = self.ledger.holdings.get(member)
        return held.credibility if held else 0.0

    # -- a move --------------------------------------------------------------------------
    def negotiate(self) -> None:
        """One move: keep its offers above cited asks that arrived since, then raise its offers
        where its best response says so, kind by kind, within the budget.
        """
        self._renew()
        for support in self.spec.support:
            self._offer(support)

    def _renew(self) -> None:
        """Re-issue the offers a later cited ask superseded (no cost: already paid)."""
        stale: dict[str, list[int]] = {}
        for j, held in sorted(self.ledger.holdings.items()):
            ask, _ = self.model.latest_ask_to(self.principal, j)
            if ask is not None and not ask.event_id.startswith(NEGOTIATED):
                stale.setdefault(held.kind, []).append(j)
        for kind, members in stale.items():
            support = next(s for s in self.spec.support if s.kind == kind)
            cred = np.array([self.ledger.holdings[j].credibility for j in members])
            self.model.ask_arrives_all(self.offers(support, np.array(members), cred, tag="renew"))

    def _offer(self, support: SupportSpec) -> None:
        """Raise offers of one kind by the best response to the members' current odds."""
        model = self.model
        kind, need = support.kind, support.need
        # Counter-asks to this patron for this kind, all made in earlier rounds (members answer
        # after the patrons move), not yet answered, from members it may ask.
        reachable = set(self.spec.reach.tolist())
        pending = {
            model.setup.iso3.index(c["member"])
            for c in model.counter_asks
            if c["asks"] == self.principal and c["for"] == kind
        }
        pending = {j for j in pending if (j, kind) not in self.ledger.answered and j in reachable}
        current = np.array([self.credibility(j) for j in self.spec.reach])
        other_kind = np.array(
            [j in self.ledger.holdings and self.ledger.holdings[j].kind != kind
             for j in self.spec.reach]
        )  # fmt: skip
        asked = np.array(
            [model.latest_ask_to(self.principal, j)[0] is not None for j in self.spec.reach],
            dtype=bool,
        )
        cap = np.array([1.0 if j in pending else OPENING for j in self.spec.reach])
        tie_only = bool(np.any(self.spec.tie != 0.0))
        grid = np.asarray(DEFAULT_GRID)
        n, width = len(self.spec.reach), len(grid)
        gains = np.full((n, width), _NEVER)
        costs = np.zeros((n, width))
        base = model.odds
        objective = self._objective(base)
        options = 0  # how many (member, credibility) pairs the protocol allows
        for g, c in enumerate(grid):
            allowed = ~other_kind & (c <= cap + 1e-12)
            allowed &= np.where(need[self.spec.reach] > 0, c > current + 1e-12, False)
            if c == 0.0 and tie_only:
                allowed |= ~asked & ~other_kind
            rows = np.flatnonzero(allowed)
            if not len(rows):
                continue
            cols = self.spec.reach[rows]
            odds = model.odds_with(self.offers(support, cols, np.full(len(cols), c)), cols)
            gains[rows, g] = objective(odds, cols)
            costs[rows, g] = (c - current[rows]) * need[cols]
            options += len(rows)
        if not options and not pending:
            return
        left = max(support.budget - self.ledger.spent[kind], 0.0)
        names = [model.setup.iso3[j] for j in self.spec.reach]
        chosen = allocate(costs, gains - support.cost_ratio * costs, left, names=names).choice
        raised = [
            (k, int(chosen[k]))
            for k in range(n)
            if chosen[k] >= 0 and gains[k, chosen[k]] > GAIN_TOL
        ]
        involved = {int(self.spec.reach[k]) for k, _ in raised} | pending
        before = {j: base[:, j].mean(axis=0).copy() for j in involved}
        cols = np.array([self.spec.reach[k] for k, _ in raised], dtype=np.int64)
        new = np.array([grid[g] for _, g in raised])
        if len(cols):
            model.ask_arrives_all(self.offers(support, cols, new, tag=f"r{model.steps}"))
            model.refresh_odds()
        after = model.odds
        for (k, g), j in zip(raised, cols.tolist(), strict=True):
            c, spend = float(grid[g]), float(costs[k, g])
            self.ledger.holdings[j] = _Holding(kind, c)
            self.ledger.spent[kind] += spend
            move = "offer"
            if j in pending:
                move = "accept" if c >= FIRM else "talks"
            self._trade(j, support, move, c, spend, before[j], after[:, j].mean(axis=0))
        for j in sorted(pending):
            self.ledger.answered.add((j, kind))
            if j not in set(cols.tolist()):
                c = self.credibility(j)
                self._trade(j, support, "refuse", c, 0.0, before[j], after[:, j].mean(axis=0))

    def _objective(self, base: FloatArray) -> Callable[[FloatArray, IntArray], FloatArray]:
        """The gain in the patron's objective when members `cols` go from their current odds
        to `odds` (shape (n_draws, len(cols), 4)): mean over draws, per member.
        """
        if self.spec.objective == "votes":
            m = self.spec.m

            def votes(odds: FloatArray, cols: IntArray) -> FloatArray:
                return ((odds - base[:, cols]).mean(axis=0)) @ m

            return votes
        rule = self.model.setup.scenario.spec.resolution.rule
        given = conditional_adoption(base, rule=rule, workers=2)[..., _CLASS]  # (d, n, 4)
        sign = 1.0 if self.spec.m[ACTS.index("yes")] > 0 else -1.0

        def outcome(odds: FloatArray, cols: IntArray) -> FloatArray:
            delta = odds - base[:, cols]
            return sign * np.einsum("dnc,dnc->n", delta, given[:, cols]) / len(base)

        return outcome

    def offers(
        self, support: SupportSpec, cols: IntArray, credibility: FloatArray, *, tag: str = "what_if"
    ) -> list[AskSpec]:
        """The patron's asks to members `cols` with `support` offered at `credibility` (one per
        member): each keeps the reading and tie of its latest ask to the member, or takes the
        patron's own, and offers ``max(cited, c)`` of the support in every draw.
        """
        model = self.model
        s = model.setup
        # Members grouped by how their ask reads the acts, absence per draw included (MODEL.md
        # §3): the latest ask's reading, or the patron's own read by its kind of ask with the
        # deal's readings. Each group: (m_draws, acts, absence_reading) and its members.
        groups: dict[bytes, tuple[_Reading, list[_Offered]]] = {}
        for j, c in zip(np.asarray(cols).tolist(), np.asarray(credibility).tolist(), strict=True):
            ask, q = model.latest_ask_to(self.principal, j)
            need = support.need[j]
            if ask is None:
                m, tie, floor = self.spec.m, self.spec.tie, np.zeros(s.n_draws)
                read: _Reading = (None, self.spec.acts, None)
            else:
                m, tie = ask.m, ask.tie[:, q]
                floor = ask.offer[:, q] if ask.offer_kind == support.kind else np.zeros(s.n_draws)
                read = (ask.m_draws, ask.acts, ask.absence_reading)
            offer = np.maximum(floor, c * need)
            key = m.tobytes() + (b"" if read[0] is None else read[0].tobytes())
            groups.setdefault(key, (read, []))[1].append((j, c, m, tie, offer))
        out = []
        for (m_draws, acts, absence_reading), members in groups.values():
            idx = np.array([x[0] for x in members], dtype=np.int64)
            creds = np.array([x[1] for x in members])
            tie = np.column_stack([x[3] for x in members])
            offer = np.column_stack([x[4] for x in members])
            weight = principal_weight(offer, np.asarray(s.support_value)[:, None], tie)
            out.append(
                AskSpec(
                    event_id=f"{NEGOTIATED}{self.principal}.{tag}",
                    date=model.current_date,
                    principal=self.principal,
                    targets=idx,
                    target_iso3=tuple(s.iso3[j] for j in idx),
                    m=members[0][2],
                    weight=weight,
                    offer_kind=support.kind,
                    firm=bool(np.all(creds >= FIRM)),
                    order=model.next_order(),
                    offer=offer,
                    tie=tie,
                    need=support.need[idx],
                    credibility=None,
                    acts=acts,
                    absence_reading=absence_reading,
                    m_draws=m_draws,
                )
            )
            if m_draws is None and s.readings is not None:  # read_with keeps a fixed reading
                out[-1] = out[-1].read_with(s.readings)
        return out

    def _trade(
        self,
        j: int,
        support: SupportSpec,
        move: str,
        credibility: float,
        spend: float,
        before: FloatArray,
        after: FloatArray,
    ) -> None:
        ask, _ = self.model.latest_ask_to(self.principal, j)
        asked = ask.acts if ask is not None else self.spec.acts
        acts = [a for a in ACTS if a in asked]
        self.model.record_trade(
            {
                "round": self.model.steps,
                "date": self.model.current_date,
                "patron": self.principal,
                "member": self.model.setup.iso3[j],
                "move": move,
                "ask": "|".join(acts),
                "offer": support.kind,
                "credibility": credibility,
                "spend": spend,
                "cost": support.cost_ratio * spend,
                **{f"p_{a}_before": float(before[k]) for k, a in enumerate(ACTS)},
                **{f"p_{a}_after": float(after[k]) for k, a in enumerate(ACTS)},
            }
        )


def negotiation_dates(first: str, vote: str, rounds: int) -> tuple[str, ...]:
    """`rounds` dates evenly spread from `first` to `vote` (ISO dates), the last the vote's.

    Examples
    --------
    >>> negotiation_dates("2022-11-15", "2022-12-30", 4)
    ('2022-11-15', '2022-11-30', '2022-12-15', '2022-12-30')
    """
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(vote)
    if rounds == 1:
        return (vote,)
    span = (end - start).days
    return tuple(
        (start + dt.timedelta(days=round(k * span / (rounds - 1)))).isoformat()
        for k in range(rounds)
    )
