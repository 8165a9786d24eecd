"""Scenario script: whom should Lapid have written to?

On 28 Nov 2022 Israel's prime minister wrote to more than 50 leaders asking them to vote against
the ICJ referral (FACTS.md §1). The scenario names the 13 the press named and leaves the other 38
to Israel's best response (`addressees = 51`). Here the same letter may go to any member with a
vote: every member's exact odds with and without it, ranked by the votes it moves (MODEL.md §4,
docs/bargaining.md), and the assembly under the scenario's 51, the model's best 13 and best 51.
Run from the repository root:  .venv/bin/python examples/whom_to_ask.py
"""

from __future__ import annotations

import sim

scenario = sim.load_scenario("scenarios/icj_referral_2022.toml")
plan = sim.plan_targets(scenario, event="lapid_letters", calls=13, n_draws=500)
table = plan.table()
print(table[["rank", "iso3", "gain", "in_scenario", "p_yes", "p_yes_asked"]].head(15).round(3))
curve = plan.curve.set_index("calls")
listed = plan.plans["scenario"]
print(f"the scenario's {len(listed['members'])}: expected no {listed['expected_no']:.2f}, "
      f"compliance {listed['compliance_gain']:+.2f}")  # fmt: skip
for calls in (13, 51):
    row = curve.loc[calls]
    print(
        f"the best {calls}: expected no {row['expected_no']:.2f}, "
        f"compliance {row['compliance_gain']:+.2f}, P(adopted) {row['p_adopted']:.3f}"
    )
plan.write("results/icj_referral_2022/as_happened/target_example")
