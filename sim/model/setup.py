"""A prepared episode as arrays: what :class:`sim.model.assembly.AssemblyModel` runs on.

:class:`AskSpec` is one ask or threat (who is targeted, how the principal reads each act, what
it is worth in each draw); :class:`Setup` holds every member's calibrated log-odds, presence,
persistence and the asks of the timeline, per parameter draw, with the deal parameters that turn
them into pressure: the value of support, the evasion elasticity and the readings of absence by
kind of ask (MODEL.md §3, §6).
:func:`sim.run.prepare.build_setup` makes a Setup from a scenario and its calibration bundle; the
games (:mod:`sim.run.bargain`, :mod:`sim.run.target`, :mod:`sim.run.buy`) vary its asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from sim.core.acts import ABSENT, BoolArray, FloatArray, IntArray
from sim.core.choice import ASK_KINDS, ask_kind, pressure, principal_weight, reading
from sim.io.bundles import Bundle
from sim.io.scenario import Prior, Scenario
from sim.model.members import MemberSpec

#: Credibility from which an offer counts as firm: the target no longer counter-asks for it.
FIRM = 0.5


@dataclass(frozen=True)
class AskSpec:
    """An ask or threat as arrays: who is targeted, how it reads acts, what it is worth.

    Attributes
    ----------
    weight : ndarray, shape (n_draws, n_targets)
        ``w_ik = credibility * need * support_value + tie`` (logit units).
    m : ndarray, shape (4,)
        The principal's reading of each act (:func:`sim.core.choice.reading`).
    offer : ndarray, shape (n_draws, n_targets)
        ``credibility * need``: what multiplies the value of support in `weight` (0 without an
        offer).
    tie : ndarray, shape (n_draws, n_targets)
        The standing value of the relationship (logit units).
    need : ndarray, shape (n_targets,)
        Each target's need for the offered kind of support (0 without an offer).
    credibility : Prior or None
        The offer's credibility prior (None without an offer).
    acts : tuple of str
        The acts asked for (what `m` is built from).
    absence_reading : float or None
        A reading of absence the scenario gives the ask (``absence_reading``, from a cited
        event); None: the deal's reading of its kind (:func:`sim.core.choice.ask_kind`).
    m_draws : ndarray, shape (n_draws, 4), or None
        The reading per draw, when the deal's reading of absence is drawn (`m` is its mean).
    """

    event_id: str
    date: str
    principal: str
    targets: IntArray
    target_iso3: tuple[str, ...]
    m: FloatArray
    weight: FloatArray
    offer_kind: str | None
    firm: bool
    order: int
    offer: FloatArray
    tie: FloatArray
    need: FloatArray
    credibility: Prior | None
    acts: tuple[str, ...] = ()
    absence_reading: float | None = None
    m_draws: FloatArray | None = None

    @property
    def kind(self) -> str:
        """The kind of ask, whose reading of absence it takes (:data:`ASK_KINDS`)."""
        return ask_kind(self.acts)

    def read_with(self, readings: FloatArray) -> AskSpec:
        """The same ask reading absence as the deal's draws `readings` (shape (n_draws, 2), one
        column per kind in :data:`ASK_KINDS`) say, unless the scenario fixed its reading.
        """
        if self.absence_reading is not None or not self.acts:
            return self
        theta = np.asarray(readings, dtype=float)[:, ASK_KINDS.index(self.kind)]
        m_draws = np.tile(reading(self.acts), (len(theta), 1))
        m_draws[:, ABSENT] = theta
        return replace(self, m=m_draws.mean(axis=0), m_draws=m_draws)

    def valued_at(self, support_value: FloatArray) -> AskSpec:
        """The same ask with the value of support set to `support_value` (shape (n_draws,))."""
        weight = principal_weight(self.offer, np.asarray(support_value, float)[:, None], self.tie)
        return replace(self, weight=weight)

    def at_credibility(self, credibility: float, support_value: FloatArray) -> AskSpec:
        """The same ask with its offer made at `credibility` in every draw (a patron's choice,
        :mod:`sim.game.bargaining`, :mod:`sim.game.buying`), weighed at `support_value` (shape
        (n_draws,)); firm from :data:`FIRM` on.
        """
        offer = np.full_like(self.offer, credibility) * self.need[None, :]
        weight = principal_weight(offer, np.asarray(support_value, float)[:, None], self.tie)
        return replace(self, offer=offer, weight=weight, firm=credibility >= FIRM)

    def restricted(
        self, columns: IntArray, credibility: FloatArray, support_value: FloatArray
    ) -> AskSpec:
        """The ask to the targets at `columns` only (positions in `targets`), the offer made to
        each at its own `credibility` in every draw (a patron's allocation, :mod:`sim.game.buying`);
        firm if every offer is.
        """
        columns = np.asarray(columns, dtype=np.int64)
        credibility = np.asarray(credibility, dtype=float)
        need, tie = self.need[columns], self.tie[:, columns]
        offer = np.broadcast_to(credibility * need, (self.offer.shape[0], len(columns))).copy()
        weight = principal_weight(offer, np.asarray(support_value, float)[:, None], tie)
        return replace(
            self, targets=self.targets[columns],
            target_iso3=tuple(self.target_iso3[k] for k in columns), weight=weight, offer=offer,
            tie=tie, need=need, firm=bool(len(columns)) and bool(np.all(credibility >= FIRM)),
        )  # fmt: skip

    def at_mean_credibility(self) -> AskSpec:
        """The same ask with its offer's credibility at its prior mean in every draw."""
        if self.credibility is None:
            return self
        offer = np.broadcast_to(self.credibility.mean() * self.need, self.offer.shape).copy()
        return replace(self, offer=offer)


@dataclass(frozen=True)
class Setup:
    """A prepared episode: everything :class:`sim.model.assembly.AssemblyModel` needs, as arrays."""

    scenario: Scenario
    variant: str
    seed: int
    n_draws: int
    members: tuple[MemberSpec, ...]
    iso3: tuple[str, ...]
    focal: tuple[str, ...]
    log_votes: FloatArray  # (draw, member, 3): log P(vote | present, earlier vote)
    presence_base: FloatArray  # (draw, member): rho + delta
    gamma: FloatArray  # (draw,): strategic-absence slope
    available: BoolArray  # (member, act)
    previous: IntArray  # (member,), or (draw, member) for a new text by title
    persistence: FloatArray  # (draw, 3): reversal, leave, return
    asks: tuple[AskSpec, ...]
    rounds: tuple[str, ...]
    item: dict[str, float]
    bundle: Bundle
    notes: tuple[str, ...] = field(default=())
    #: Per event with ``addressees``: the members its sources do not name that the patron's
    #: best response picked, best first (:func:`sim.run.prepare.complete_addressees`).
    picked: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: (draw,): how strongly attendance answers the asks' change to the value of voting
    #: (:mod:`sim.model.assembly`); None is 1 in every draw, the plain logit.
    evasion: FloatArray | None = None
    #: (draw,): the value of support drawn for this run, and where its prior came from.
    support_value: FloatArray | None = None
    deal_source: str = "literature prior"
    #: (eps, base act shares): the calibrated tremble mixed into every member's odds
    #: (:mod:`sim.core.tremble`); None for none (bundles made before it).
    tremble: tuple[float, FloatArray] | None = None
    #: (draw, 2): the readings of absence of each kind of ask (:data:`ASK_KINDS`); None: 0.
    readings: FloatArray | None = None
    #: (draw, member): each member's own extra cost of a reversal on top of the pooled one
    #: (how strongly it holds its record, :func:`sim.core.persistence.fit_member_hold`), drawn
    #: from its posterior; None: the pooled cost for every member.
    hold: FloatArray | None = None

    def with_deal(
        self,
        *,
        support_value: FloatArray | None = None,
        evasion: FloatArray | None = None,
        readings: FloatArray | None = None,
    ) -> Setup:
        """The same episode with deal parameters replaced: what an episode's calibration varies.

        Arrays of shape (n_draws,), the readings (n_draws, 2).
        """
        asks, value = self.asks, self.support_value
        if support_value is not None:
            asks = tuple(ask.valued_at(support_value) for ask in asks)
            value = np.asarray(support_value, float)
        if readings is not None:
            asks = tuple(ask.read_with(readings) for ask in asks)
        return replace(
            self,
            asks=asks,
            support_value=value,
            evasion=self.evasion if evasion is None else evasion,
            readings=self.readings if readings is None else np.asarray(readings, float),
        )

    def latest_ask(self, principal: str, iso3: str) -> AskSpec | None:
        """The ask of `principal` that holds for member `iso3` at the vote: its latest (by date,
        then timeline order) to that member, which supersedes the earlier ones; None if none.
        """
        return max(
            (a for a in self.asks if a.principal == principal and iso3 in a.target_iso3),
            key=lambda a: (a.date, a.order),
            default=None,
        )

    def pressure_terms(
        self, active: list[AskSpec], *, cols: IntArray | None = None
    ) -> list[tuple[AskSpec, IntArray | None, IntArray | None]]:
        """Which ask weighs on which of the members `cols` (default all), for :meth:`pressure`.

        A principal's latest ask to a member supersedes its earlier ones (the current state of
        that deal). Each term is ``(ask, positions, keep)``: the ask's targets ``keep`` land on
        rows ``positions`` of the members `cols`; both are None when the ask's targets are
        exactly `cols` in order (the common case of an ask to every member).
        """
        n_members = self.presence_base.shape[1]
        cols = np.arange(n_members) if cols is None else np.asarray(cols)
        where = np.full(n_members, -1)
        where[cols] = np.arange(len(cols))
        latest: dict[tuple[str, int], AskSpec] = {}
        for ask in sorted(active, key=lambda a: (a.date, a.order)):
            for t in ask.targets:
                latest[(ask.principal, int(t))] = ask
        terms: list[tuple[AskSpec, IntArray | None, IntArray | None]] = []
        for ask in active:
            keep = np.array(
                [latest[(ask.principal, int(t))] is ask and where[t] >= 0 for t in ask.targets],
                dtype=bool,
            )
            if not keep.any():
                continue
            if keep.all() and np.array_equal(ask.targets, cols):
                terms.append((ask, None, None))
            else:
                terms.append((ask, where[ask.targets[keep]], np.flatnonzero(keep)))
        return terms

    def pressure(
        self,
        terms: list[tuple[AskSpec, IntArray | None, IntArray | None]],
        *,
        n_members: int,
        draws: slice = slice(None),
    ) -> FloatArray:
        """``sum_k w_ik m_k(c)`` for the draws `draws`, shape (draw, n_members, act), from
        :meth:`pressure_terms` (whose `cols` has length `n_members`), by
        :func:`sim.core.choice.pressure`.
        """
        n_draws = len(range(*draws.indices(self.n_draws)))
        return pressure(
            [(ask.weight[draws] if keep is None else ask.weight[draws][:, keep],
              ask.m if ask.m_draws is None else ask.m_draws[draws][:, None, :], positions)
             for ask, positions, keep in terms],
            n_draws=n_draws, n_members=n_members,
        )  # fmt: skip
