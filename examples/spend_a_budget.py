"""Scenario script: how should the US have spent its threat before the Jerusalem vote?

Trump's threat (20 Dec 2017; FACTS.md §2) reached every member at "talks" credibility. Here the
US spreads budgets of threat across members instead, member by member as firmly as it pays, by
the cheapest expected vote gain (MODEL.md §4, docs/bargaining.md), and we compare the expected
yes votes on ES-10/19 with the threat as made. Run from the repository root:
.venv/bin/python examples/spend_a_budget.py
"""

from __future__ import annotations

import sim

scenario = sim.load_scenario("scenarios/jerusalem_2017.toml")
for budget in (None, 3.0, 30.0):  # None: the threat's own expected cost as made
    bought = sim.buy_votes(scenario, event="trump_threat", budget=budget, n_draws=500)
    made, spent = bought.plans["scenario"], bought.plans["model"]
    committed = sum(1 for c in spent["offers"].values() if c > 0)
    print(
        f"budget {bought.budget:5.1f}: {committed:3d} members threatened firmly; expected yes "
        f"{spent['expected_yes']:.1f} (as made: {made['expected_yes']:.1f} for "
        f"{made['spend']:.1f}); compliance {spent['compliance_gain']:+.2f}"
    )
columns = ["iso3", "need", "credibility", "cost", "gain"]
print(bought.table().head(5)[columns].to_string(index=False))  # the firmest buys first
bought.write("results/jerusalem_2017/as_happened/buy_example")
