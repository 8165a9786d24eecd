"""Members of the Assembly as Mesa agents: identity, ties and the decisions only they take.

Agents are thin (STYLE.md): the numbers (ideal points, odds) live in arrays that
:class:`sim.model.assembly.AssemblyModel` computes for all members at once; a :class:`Member` holds
who
it is and takes the one decision that is really its own in a negotiation round: whether to answer
an ask with a counter-ask for the support it needs (as Zelensky asked Netanyahu for air defence).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from sim.model.assembly import AssemblyModel

__all__ = ["COUNTER_ASK_NEED", "Member", "MemberSpec"]

#: A member counter-asks only for support it needs at least this much (on the [0, 1] need scale
#: of scenario files: the top half, i.e. a need it would name to a head of government).
COUNTER_ASK_NEED = 0.5


@dataclass(frozen=True)
class MemberSpec:
    """Identity of a member on the scenario's date.

    Attributes
    ----------
    iso3, name, un_group : str
    blocs : tuple of str
        Blocs it belongs to on that date (``sim.io.registry``).
    no_vote : bool
        Lost its vote under Charter Art. 19 (absent with probability 1).
    needs : dict kind -> need in [0, 1]
        Its security needs by kind of support.
    """

    iso3: str
    name: str
    un_group: str
    blocs: tuple[str, ...] = ()
    no_vote: bool = False
    needs: dict[str, float] = field(default_factory=dict)


class Member(mesa.Agent):
    """A UN member state (MODEL.md §2).

    Parameters
    ----------
    model : AssemblyModel
    spec : MemberSpec
    index : int
        Its row in the model's arrays (members sorted by ISO3).
    """

    def __init__(self, model: AssemblyModel, spec: MemberSpec, index: int) -> None:
        super().__init__(model)
        self.spec = spec
        self.index = index
        self.counter_asks: list[tuple[str, str]] = []

    @property
    def iso3(self) -> str:
        """ISO 3166 alpha-3 code, the key everywhere."""
        return self.spec.iso3

    def respond_to_asks(self) -> None:
        """Answer this round's asks: counter-ask for needed support not firmly offered.

        A member asked to move its vote by a principal that offers (or could offer) a kind of
        support it needs at least ``COUNTER_ASK_NEED`` asks for that support, unless the offer is
        already firm. The counter-ask is recorded (``model.counter_asks``); pricing it is the
        bargaining game's job (MODEL.md §4, :func:`sim.run.bargain.price_offer`).
        """
        for ask in self.model.asks_received(self.iso3):
            kind = ask.offer_kind
            if kind is None or ask.firm:
                continue
            if self.spec.needs.get(kind, 0.0) >= COUNTER_ASK_NEED:
                entry = (ask.principal, kind)
                if entry not in self.counter_asks:
                    self.counter_asks.append(entry)
                    self.model.record_counter_ask(self.iso3, ask.principal, kind, ask.event_id)
