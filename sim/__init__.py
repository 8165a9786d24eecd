"""sim: vote trading for security support in the UN General Assembly.

The Python API for scenario scripts::

    import sim
    scenario = sim.load_scenario("scenarios/icj_referral_2022.toml")
    result = sim.replay(scenario, variant="no_call", n_draws=2000, seed=1)
    result.members            # DataFrame: iso3, name, p_yes, p_no, p_abstain, p_absent, ...
    result.tally.prob_pass()  # exact probability of adoption
    result.write("results/icj_referral_2022/no_call")

Sweeps over values of the scenario file's keys: :mod:`sim.sweep` (``sim sweep`` on the command
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
"""

from sim.acts import ACTS
from sim.bargaining import Bargain, price_offer
from sim.buying import Purchase, buy_votes
from sim.replay import ReplayResult, replay
from sim.scenario import Scenario, load_scenario
from sim.targeting import Targeting, plan_targets

__all__ = [
    "ACTS",
    "Bargain",
    "Purchase",
    "ReplayResult",
    "Scenario",
    "Targeting",
    "__version__",
    "buy_votes",
    "load_scenario",
    "plan_targets",
    "price_offer",
    "replay",
]
__version__ = "0.1.0"
