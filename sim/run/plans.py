"""The assemblies a patron's game compares, as one explicit type (``Purchase.plans``,
``Targeting.plans``).

Each plan is the assembly under one allocation of the patron's asks and offers: who is asked,
what is spent, the compliance it buys, and the exact tally's expected counts, intervals and
P(adopted) (:meth:`sim.core.tally.Tally.plan_fields`). Which plans a run has depends on what
it was asked: every run has ``nobody`` (no ask), ``scenario`` (the ask as the scenario writes it)
and ``model`` (the patron's choice); a budget spent for the outcome adds ``outcome``; a rival
adds ``rival`` (the assembly after both buyers), and a rival the patron anticipates adds
``naive`` and ``leader``. :class:`Plans` holds them as attributes (None where the run has none)
and reads like the mapping it is written as (``plans["model"]``, ``dict(plans)`` in
``summary.json``, in the order above).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["Plan", "Plans"]

#: One assembly: ``members``, ``spend``, ``compliance_gain``, ``offers`` and the tally's
#: ``expected_<act>``, ``<act>_interval`` and ``p_adopted``, plus what its kind of plan adds
#: (a rival's spend and offers, the outcome the patron wants).
Plan = dict[str, Any]


@dataclass(frozen=True)
class Plans(Mapping[str, Plan]):
    """The plans of one run, by name; absent plans are None and not listed.

    Attributes
    ----------
    nobody, scenario, model : dict
        No ask; the ask as written; the patron's own allocation.
    outcome : dict or None
        The budget spent for the outcome instead of the votes.
    rival : dict or None
        After the rival's response to the patron's allocation.
    naive, leader : dict or None
        The contest: the patron ignoring, then anticipating, the rival's money.
    """

    nobody: Plan
    scenario: Plan
    model: Plan
    outcome: Plan | None = None
    rival: Plan | None = None
    naive: Plan | None = None
    leader: Plan | None = None

    def __getitem__(self, name: str) -> Plan:
        """The plan called `name`; KeyError if the run has none."""
        plan = getattr(self, name, None) if name in self._names() else None
        if plan is None:
            raise KeyError(name)
        return plan

    def __iter__(self) -> Iterator[str]:
        """The names of the plans the run has, in the order of the attributes."""
        return (name for name in self._names() if getattr(self, name) is not None)

    def __len__(self) -> int:
        """How many plans the run has."""
        return sum(1 for _ in self)

    @staticmethod
    def _names() -> tuple[str, ...]:
        return tuple(f.name for f in fields(Plans))
