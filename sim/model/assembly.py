"""The Assembly as a Mesa model: a dated timeline of asks, one negotiation round per step.

:class:`AssemblyModel` (a ``mesa.Model``) builds one :class:`sim.model.members.Member` per UN
member,
schedules each event of the scenario's timeline with Mesa's event scheduling (``schedule_event``,
between rounds), and at every step (a negotiation round on an event date; the last round is the
vote) lets members answer the asks they received, then computes every member's odds at once with
the choice core (:mod:`sim.core.choice`) for all parameter draws. A ``DataCollector`` records each
round's odds of the focal members and the expected tally.

Attendance and pressure: with ``L`` the log-odds of voting at all (``log sum_votes exp U -
U(absent)``), the asks move it from its calm value ``L0`` to ``L0 + evasion * (L - L0)``. An
``evasion`` of 1 (the default) is the multinomial logit of MODEL.md §3; the replay draws it from
the calibration on earlier episodes (:mod:`sim.estimate.deal`) when the scenario names some. Members
no ask reaches keep their calm odds exactly. Every member's odds are finally mixed with the
calibrated tremble (:mod:`sim.core.tremble`): the small share of acts the choice model does not
explain.

Two modes, one model. ``as_stated`` (the default) replays the scenario's cited timeline: one round
per event date. ``negotiate`` runs ``rounds`` rounds evenly spread from the first cited ask to the
vote, the cited asks arriving at the first round on or after their dates (a floor), and in each
round the patrons of the scenario's ``[negotiation]`` section (:class:`sim.model.patrons.Patron`)
move in turn, choosing whom to ask and what to offer by their best response to the members'
current odds, before the members answer (:mod:`sim.model.patrons` has the protocol). The
negotiating model runs under ``mesa.batch_run`` over budgets too::

    mesa.batch_run(AssemblyModel, {"setup": setup, "mode": "negotiate", "budget": [0, 0.5, 1]},
                   rng=[1], display_progress=False)

Mesa reserves the keyword ``scenario`` for its own ``Scenario`` class, so the prepared episode is
passed as ``setup`` (a :class:`sim.model.setup.Setup`, built by :func:`sim.run.replay.prepare`). The
model
also runs under ``mesa.batch_run``::

    mesa.batch_run(AssemblyModel, {"setup": setup}, rng=[1, 2], display_progress=False)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from sim.core.absence import log_act_baseline
from sim.core.acts import ABSENT, ACTS, FloatArray, IntArray, last_max, last_sum
from sim.core.choice import act_probabilities, persistence_cost, utilities
from sim.core.tremble import apply_tremble
from sim.model.members import Member
from sim.model.patrons import Patron, negotiation_dates, patron_specs

if TYPE_CHECKING:
    from sim.model.setup import AskSpec, Setup

__all__ = ["AssemblyModel", "ReceivedAsk", "Replays"]

#: Draws per chunk (about 1 MB per array for 193 members) and threads for the odds.
CHUNK = 128
WORKERS = 2


@dataclass(frozen=True)
class ReceivedAsk:
    """What a member sees of an ask: who asks, what is offered, whether it is firm."""

    event_id: str
    principal: str
    offer_kind: str | None
    firm: bool


class AssemblyModel(mesa.Model):
    """Negotiation rounds before a recorded vote.

    Parameters
    ----------
    setup : sim.model.setup.Setup
        The prepared episode: members, baseline utilities per draw, asks and rounds.
    rng : numpy Generator or seed, optional
        Drives Mesa's activation order only (everything else is exact or drawn in ``prepare``).
    mode : {"as_stated", "negotiate"}
        Replay the cited timeline, or let the ``[negotiation]`` patrons negotiate (module
        docstring).
    rounds : int, optional
        Rounds of a negotiation (default: the ``[negotiation]`` section's).
    budget, cost : float, optional
        In a negotiation, replace every patron's budget of every kind (firm commitments of a
        member's whole need), or every cost ratio (:func:`sim.model.patrons.patron_specs`).
    calm_from : AssemblyModel, optional
        A model of the same episode that differs at most in its asks and deal (``asks``,
        ``support_value``, ``evasion``: what :func:`dataclasses.replace` and
        :meth:`sim.model.setup.Setup.with_deal` change): its calm odds are reused instead of
        recomputed, which is most of a model's cost when few members are asked (the pricing
        game and the deal calibration build one model per offer or per likelihood evaluation).

    Attributes
    ----------
    odds : ndarray, shape (n_draws, n_members, 4)
        Act probabilities after the latest round.
    counter_asks : list of dict
        Counter-asks members made, with the round's date.
    trades : list of dict
        In a negotiation, one row per exchange (:meth:`sim.model.patrons.Patron.negotiate`).
    patrons : list of Patron
        In a negotiation, the patrons in the order they move (empty otherwise).
    datacollector : mesa.DataCollector
        Model reporters per round: ``date``, ``expected_<act>``, ``<ISO3>_<act>`` for focal members.
    """

    def __init__(
        self,
        setup: Setup,
        *,
        rng: Any = None,
        calm_from: AssemblyModel | None = None,
        mode: str = "as_stated",
        rounds: int | None = None,
        budget: float | None = None,
        cost: float | None = None,
    ) -> None:
        super().__init__(rng=rng)
        if mode not in ("as_stated", "negotiate"):
            raise ValueError(f"mode: expected 'as_stated' or 'negotiate'; got {mode!r}")
        self.setup = setup
        self.mode = mode
        self.round_dates = setup.rounds
        self.counter_asks: list[dict[str, str]] = []
        self.trades: list[dict[str, Any]] = []
        self.patrons: list[Patron] = []
        self._active: list[AskSpec] = []
        self._new: dict[str, list[ReceivedAsk]] = {}
        self._arrivals: list[_Arrival] = []
        self._latest: dict[tuple[str, int], tuple[AskSpec, int]] = {}
        self._orders = 0
        for index, spec in enumerate(setup.members):
            Member(self, spec, index)
        if mode == "negotiate":
            negotiation = setup.scenario.spec.negotiation
            n_rounds = rounds if rounds is not None else (negotiation.rounds if negotiation else 1)
            if n_rounds < 1:
                raise ValueError(f"rounds: expected at least 1; got {n_rounds}")
            self.round_dates = negotiation_dates(setup.rounds[0], setup.rounds[-1], n_rounds)
            self.patrons = [Patron(self, p) for p in patron_specs(setup, budget=budget, cost=cost)]
            self._orders = 1 + max((a.order for a in setup.asks), default=0)
        if calm_from is not None:
            _check_same_calm(calm_from.setup, setup)
            self._calm_presence, self._calm = calm_from._calm_presence, calm_from._calm
        else:
            # Calm presence log-odds per draw and member, kept for the evasion step of later
            # rounds.
            self._calm_presence = np.empty(setup.presence_base.shape)
            self._calm = self._odds_of(np.arange(len(setup.iso3)), [])  # no pressure yet
            self._calm.setflags(write=False)
            self._calm_presence.setflags(write=False)
        self._working: FloatArray | None = None  # the odds under pressure, updated in place
        self._computed_for = 0  # how many asks were active when `_working` was computed
        self.odds = self._calm
        self._expected = self._expected_counts()
        for ask in setup.asks:
            if mode == "negotiate":  # the first round on or after the ask's date
                round_index = 1 + next(
                    k for k, day in enumerate(self.round_dates) if day >= ask.date
                )
            else:
                round_index = self.round_dates.index(ask.date) + 1
            self.schedule_event(self._make_arrival(ask), at=round_index - 0.5)
        reporters: dict[str, Any] = {"date": "current_date"}
        for act in ACTS:
            reporters[f"expected_{act}"] = partial(_expected, k=ACTS.index(act))
        for iso3 in setup.focal:
            i = setup.iso3.index(iso3)
            for k, act in enumerate(ACTS):
                reporters[f"{iso3}_{act}"] = partial(_member_odds, i=i, k=k)
        for patron in self.patrons:
            reporters[f"{patron.principal}_spent"] = partial(_spent, p=patron)
        self.datacollector = mesa.DataCollector(model_reporters=reporters)
        self.current_date = ""

    # -- timeline -------------------------------------------------------------------------
    def _make_arrival(self, ask: AskSpec) -> _Arrival:
        arrival = _Arrival(self, ask)
        self._arrivals.append(arrival)  # strong references: Mesa's event list holds weak ones
        return arrival

    def ask_arrives(self, ask: AskSpec) -> None:
        """An ask reaches its targets (called by Mesa's event list between rounds)."""
        self._active.append(ask)
        received = ReceivedAsk(ask.event_id, ask.principal, ask.offer_kind, ask.firm)
        for iso3 in ask.target_iso3:
            self._new.setdefault(iso3, []).append(received)
        if self.mode == "negotiate":
            for q, j in enumerate(ask.targets.tolist()):
                held = self._latest.get((ask.principal, j))
                if held is None or (ask.date, ask.order) >= (held[0].date, held[0].order):
                    self._latest[(ask.principal, j)] = (ask, q)

    def ask_arrives_all(self, asks: Iterable[AskSpec]) -> None:
        """Asks a patron makes during a round reach their targets (:mod:`sim.model.patrons`)."""
        for ask in asks:
            self.ask_arrives(ask)

    def latest_ask_to(self, principal: str, member: int) -> tuple[AskSpec | None, int]:
        """In a negotiation, `principal`'s ask in force for member `member` (row index) and the
        member's column in it; ``(None, -1)`` if none has reached it.
        """
        return self._latest.get((principal, member), (None, -1))

    def next_order(self) -> int:
        """A timeline position after every ask so far (a patron's ask supersedes them)."""
        self._orders += 1
        return self._orders

    def odds_with(self, asks: Sequence[AskSpec], cols: IntArray) -> FloatArray:
        """Members `cols`' odds per draw, shape (n_draws, len(cols), 4), if `asks` were added
        to the asks in force (a patron's what-if; nothing changes).
        """
        return self._odds_of(np.asarray(cols), [*self._active, *asks])

    def refresh_odds(self) -> None:
        """Recompute the odds of the members new asks reached (between moves of a round)."""
        self.odds = self._odds()

    def record_trade(self, row: dict[str, Any]) -> None:
        """Note an exchange of a negotiation (called by the patrons)."""
        self.trades.append(row)

    def asks_received(self, iso3: str) -> list[ReceivedAsk]:
        """Asks that reached `iso3` since the previous round."""
        return self._new.get(iso3, [])

    def record_counter_ask(self, iso3: str, principal: str, kind: str, event_id: str) -> None:
        """Note a member's counter-ask to the ask `event_id` (called by
        :meth:`Member.respond_to_asks`); :func:`sim.run.bargain.price_offer` prices it.
        """
        self.counter_asks.append(
            {
                "date": self.current_date,
                "member": iso3,
                "asks": principal,
                "for": kind,
                "event": event_id,
            }
        )
        if self.mode == "negotiate":  # an exchange of the negotiation too
            j = self.setup.iso3.index(iso3)
            ask, q = self.latest_ask_to(principal, j)
            now = self.odds[:, j].mean(axis=0)
            credibility = 0.0
            if ask is not None and ask.offer_kind == kind and ask.need[q] > 0:
                credibility = float(ask.offer[:, q].mean() / ask.need[q])
            self.record_trade(
                {
                    "round": self.steps, "date": self.current_date, "patron": principal,
                    "member": iso3, "move": "counter_ask",
                    "ask": "|".join(a for a, v in zip(ACTS, ask.m, strict=True) if v == 1.0)
                    if ask is not None else "",
                    "offer": kind, "credibility": credibility, "spend": 0.0, "cost": 0.0,
                    **{f"p_{a}_before": float(now[k]) for k, a in enumerate(ACTS)},
                    **{f"p_{a}_after": float(now[k]) for k, a in enumerate(ACTS)},
                }
            )  # fmt: skip

    # -- a round --------------------------------------------------------------------------
    def step(self) -> None:
        """One negotiation round: members answer new asks, then everyone's odds update."""
        self.current_date = self.round_dates[self.steps - 1]
        if self.mode == "negotiate":
            self.refresh_odds()  # the cited asks of the round have arrived
            for patron in self.patrons:  # in turn: each sees the others' offers
                patron.negotiate()
                self.refresh_odds()
            self.agents_by_type[Member].shuffle_do("respond_to_asks")
        else:
            self.agents.shuffle_do("respond_to_asks")
        self._new = {}
        self.odds = self._odds()
        self._expected = self._expected_counts()
        self.datacollector.collect(self)
        if self.steps >= len(self.round_dates):
            self.running = False

    def run(self) -> None:
        """Run every round up to and including the vote."""
        self.run_until(len(self.round_dates))

    def _odds(self) -> FloatArray:
        """Everyone's odds now: members no active ask targets keep their calm odds, those a
        newly arrived ask reaches are recomputed (pressure, ambivalence, persistence costs),
        the rest keep the odds of the round that last changed their asks.

        The odds under pressure live in one array updated in place round after round (a fresh
        copy of the calm odds per round would cost more than the round itself); `odds` of an
        earlier round is therefore not kept, only what the ``DataCollector`` took from it. Asks
        only accumulate (:meth:`ask_arrives`), so the members under pressure only grow and every
        other member's row still holds its calm odds.
        """
        if not self._active:
            return self._calm
        if self._working is not None and len(self._active) == self._computed_for:
            return self._working  # no ask arrived since the last round: nothing moved
        # A member's odds depend only on the asks that reach it: recompute the members the
        # asks that arrived since the last computation reach, under every active ask.
        arrived = self._active[self._computed_for :]
        self._computed_for = len(self._active)
        if self._working is None:
            self._working = self._calm.copy()
        cols = np.unique(np.concatenate([ask.targets for ask in arrived]))
        return self._odds_of(cols, self._active, out=self._working)

    def _expected_counts(self) -> FloatArray:
        """Expected count of each act (mean over draws), for the reporters: one pass.

        Averaged over draws first (contiguous rows: about ten times faster than summing over
        members first, a strided reduction, on 10,000 draws).
        """
        return self.odds.mean(axis=0).sum(axis=0)

    def _odds_of(
        self, cols: IntArray, active: list[AskSpec], *, out: FloatArray | None = None
    ) -> FloatArray:
        """Odds of members `cols` under the `active` asks, for all draws.

        Written into ``out[:, cols]`` when `out` (shape (n_draws, n_members, 4)) is given, else
        returned with shape (n_draws, len(cols), 4). Computed in cache-sized chunks of draws on
        ``WORKERS`` threads (numpy releases the GIL); each chunk is independent, so the result
        does not depend on the number of threads. Without asks the chunks also store the calm
        presence log-odds that later rounds' evasion step starts from.
        """
        s = self.setup
        terms = s.pressure_terms(active, cols=cols)
        every = len(cols) == s.presence_base.shape[1]
        if out is None:
            out = np.empty((s.n_draws, len(cols), len(ACTS)))
            every = True
        available = s.available[None, cols, :] if not s.available[cols].all() else None
        evasion = s.evasion if active else None
        tremble = s.tremble
        if tremble is not None:
            floor = apply_tremble(
                np.zeros((len(cols), len(ACTS))), eps=tremble[0], base=tremble[1],
                available=s.available[cols],
            )  # fmt: skip

        def chunk(start: int) -> None:
            d = slice(start, start + CHUNK)
            log_votes, presence = s.log_votes[d][:, cols], s.presence_base[d][:, cols]
            if active:
                p = s.pressure(terms, n_members=len(cols), draws=d)
                log_baseline = log_act_baseline(
                    log_votes, presence, s.gamma[d, None], pressure_votes=p[..., :3]
                )
            else:
                p, log_baseline = None, log_act_baseline(log_votes, presence, s.gamma[d, None])
            # a_i(c), per chunk: the full (draw, member, act) array would cost more to build
            previous = s.previous[cols] if s.previous.ndim == 1 else s.previous[d][:, cols]
            cost = persistence_cost(
                previous,
                reversal=s.persistence[d, 0],
                leave=s.persistence[d, 1],
                ret=s.persistence[d, 2],
            )
            if s.hold is not None:  # each member's own hold on its record
                cost = cost + s.hold[d][:, cols, None] * persistence_cost(
                    previous, reversal=1.0, leave=0.0, ret=0.0
                )
            u = utilities(log_baseline, pressure_term=p, cost=cost)
            if not active:
                self._calm_presence[d][:, cols] = _presence_log_odds(u)
            elif evasion is not None:
                calm = self._calm_presence[d][:, cols]
                u[..., ABSENT] -= (evasion[d, None] - 1.0) * (_presence_log_odds(u) - calm)
            odds = act_probabilities(u, available=available)
            if tremble is not None:  # apply_tremble, with the members' shares computed once
                odds *= 1.0 - tremble[0]
                odds += floor
            if every:
                out[d] = odds
            else:
                out[d, cols] = odds

        starts = range(0, s.n_draws, CHUNK)
        if WORKERS > 1 and s.n_draws > CHUNK:
            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                list(pool.map(chunk, starts))
        else:
            for start in starts:
                chunk(start)
        return out


class Replays:
    """One prepared episode replayed under different asks at the same draws (the pricing game's
    offers, the targeting's with and without an ask, a budget's credibilities): the first
    replay's calm odds serve all the later ones, since they depend on everything but the asks.

    Parameters
    ----------
    setup : Setup
        The episode; each replay replaces its asks.
    seed : int
        The seed of every replay's Mesa model.
    """

    def __init__(self, setup: Setup, seed: int) -> None:
        self.setup, self.seed = setup, seed
        self._first: AssemblyModel | None = None

    def odds(self, asks: Iterable[AskSpec]) -> FloatArray:
        """Every member's odds per draw, shape (n_draws, n_members, 4), under `asks` instead of
        the setup's (the array is the model's own: read it, copy it to keep it changing).
        """
        model = AssemblyModel(
            replace(self.setup, asks=tuple(asks)), rng=np.random.default_rng(self.seed),
            calm_from=self._first,
        )  # fmt: skip
        if self._first is None:
            self._first = model
        model.run()
        return model.odds


#: The fields of a Setup that the calm odds depend on (everything but the asks and the deal).
_CALM_FIELDS = (
    "iso3", "log_votes", "presence_base", "gamma", "available", "previous", "persistence",
    "tremble", "hold",
)  # fmt: skip


def _check_same_calm(source: Setup, setup: Setup) -> None:
    """Refuse to share calm odds between setups that differ in anything they depend on."""
    differ = [f for f in _CALM_FIELDS if getattr(source, f) is not getattr(setup, f)]
    if differ:
        raise ValueError(
            f"calm_from: its setup differs in {', '.join(differ)}; calm odds can be shared only "
            f"between setups that differ in their asks and deal (dataclasses.replace, with_deal)"
        )


def _presence_log_odds(u: FloatArray) -> FloatArray:
    """``log sum_votes exp(U) - U(absent)``: the log-odds of voting at all.

    Max-shifted by hand rather than with ``scipy.special.logsumexp``, whose per-call overhead
    dominated on these small chunks; a member with no vote available gets -inf.
    """
    votes = u[..., :ABSENT]
    top = last_max(votes)
    finite = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        total = np.log(last_sum(np.exp(votes - finite[..., None])))
    return total + finite - u[..., ABSENT]


class _Arrival:
    """A bound callable for Mesa's event list (it keeps only weak references)."""

    def __init__(self, model: AssemblyModel, ask: AskSpec) -> None:
        self.model, self.ask = model, ask

    def __call__(self) -> None:
        self.model.ask_arrives(self.ask)


def _expected(model: AssemblyModel, *, k: int) -> float:
    """Expected count of act `k` after the round (mean over draws)."""
    return float(model._expected[k])


def _spent(model: AssemblyModel, *, p: Patron) -> float:
    """What patron `p` has committed so far (firm commitments of members' whole needs)."""
    return p.spent()


def _member_odds(model: AssemblyModel, *, i: int, k: int) -> float:
    """Member `i`'s mean probability of act `k` after the round."""
    return float(model.odds[:, i, k].mean())
