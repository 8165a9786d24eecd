"""sim: vote trading for security support in the UN General Assembly.

The Python API for scenario scripts::

    import sim
    scenario = sim.load_scenario("scenarios/icj_referral_2022.toml")
    result = sim.replay(scenario, variant="no_call", n_draws=2000, seed=1)
    result.members            # DataFrame: iso3, name, p_yes, p_no, p_abstain, p_absent, ...
    result.tally.prob_pass()  # exact probability of adoption
    result.write("results/icj_referral_2022/no_call")

Sweeps over values of the scenario file's keys: :mod:`sim.run.sweep` (``sim sweep`` on the command
line). Pricing an offer, the bargaining game (``sim bargain``)::

    game = sim.price_offer(scenario, event="netanyahu_call", target="UKR")
    game.switch_points        # the offers the patron ever makes, by range of cost ratio
    game.best_response(1.0)   # the equilibrium at one cost ratio

Whom a patron should ask (``sim target``)::

    plan = sim.plan_targets(scenario, event="lapid_letters", calls=50)
    plan.table()              # every member with a vote, ranked by the votes the ask moves
    plan.plans["model"]       # the assembly when the best 50 are asked

Spending a budget of support across members (``sim buy``)::

    bought = sim.buy_votes("scenarios/jerusalem_2017.toml", event="trump_threat", budget=5.0)
    bought.table()            # the offer made to each member, its cost and gain
    bought.frontier           # compliance bought along the cheapest expected vote gain

Patrons that negotiate inside the Mesa model (``sim negotiate``)::

    talks = sim.negotiate(scenario, rounds=10)
    talks.trades              # who asked whom, offers, counter-asks and answers, odds
    talks.tally.prob_pass()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: The public names and the module each is defined in: loaded on first use (PEP 562), so that
#: ``import sim.core.tally`` loads no Mesa, pandas, xarray or matplotlib.
_PUBLIC = {
    "ACTS": "sim.core.acts",
    "Bargain": "sim.run.bargain",
    "Negotiation": "sim.run.negotiate",
    "Purchase": "sim.run.buy",
    "ReplayResult": "sim.run.replay",
    "Scenario": "sim.io.scenario",
    "Targeting": "sim.run.target",
    "buy_votes": "sim.run.buy",
    "load_scenario": "sim.io.scenario",
    "negotiate": "sim.run.negotiate",
    "plan_targets": "sim.run.target",
    "price_offer": "sim.run.bargain",
    "replay": "sim.run.replay",
}
__all__ = [
    "ACTS",
    "Bargain",
    "Negotiation",
    "Purchase",
    "ReplayResult",
    "Scenario",
    "Targeting",
    "__version__",
    "buy_votes",
    "load_scenario",
    "negotiate",
    "plan_targets",
    "price_offer",
    "replay",
]

if TYPE_CHECKING:
    from sim.core.acts import ACTS
    from sim.io.scenario import Scenario, load_scenario
    from sim.run.bargain import Bargain, price_offer
    from sim.run.buy import Purchase, buy_votes
    from sim.run.negotiate import Negotiation, negotiate
    from sim.run.replay import ReplayResult, replay
    from sim.run.target import Targeting, plan_targets


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names, for tab completion."""
    return sorted([*globals(), *_PUBLIC])
