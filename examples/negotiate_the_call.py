"""Scenario script: does Israel, negotiating, offer Ukraine a firm commitment, and at what cost?

Runs the ICJ episode in ``negotiate`` mode (MODEL.md §4, docs/bargaining.md): Israel chooses its
own offers of air defence from the summons (15 Nov 2022) to the vote, Ukraine counter-asks, and
Israel answers a round later. ``mesa.batch_run`` drives the negotiating model over the cost
ratio of a firm commitment (the scenario states 1; FACTS.md gives no number): for each, what
Israel committed (its credibility to Ukraine, whose need is 1) and Ukraine's odds at the vote.
Run from the repository root:  .venv/bin/python examples/negotiate_the_call.py
"""

from __future__ import annotations

import mesa

import sim
from sim.model.assembly import AssemblyModel
from sim.model.setup import FIRM
from sim.run.replay import prepare

SCENARIO = "scenarios/icj_referral_2022.toml"
COSTS = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0]

setup = prepare(SCENARIO, n_draws=1000)
rows = mesa.batch_run(
    AssemblyModel, {"setup": setup, "mode": "negotiate", "cost": COSTS},
    rng=[setup.seed], display_progress=False, number_processes=1,
)  # fmt: skip
print("cost ratio  Israel commits  answer   Ukraine yes  abstain  absent  most likely")
for row in sorted(rows, key=lambda r: r["cost"]):
    odds = {a: row[f"UKR_{a}"] for a in sim.ACTS}
    answer = "firm" if row["ISR_spent"] >= FIRM else ("talks" if row["ISR_spent"] > 0 else "none")
    print(
        f"{row['cost']:>10g}  {row['ISR_spent']:>14.2f}  {answer:<7}  {odds['yes']:>11.3f}  "
        f"{odds['abstain']:>7.3f}  {odds['absent']:>6.3f}  {max(odds, key=odds.get)}"
    )
talks = sim.negotiate(SCENARIO, n_draws=1000)
print("\n".join(talks.path()))
talks.write("results/icj_referral_2022/as_happened/negotiate_example")
