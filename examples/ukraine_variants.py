"""Scenario script: Ukraine's odds under the three variants of the 30 Dec 2022 call.

Run from the repository root:  .venv/bin/python examples/ukraine_variants.py
"""

from __future__ import annotations

import sim

scenario = sim.load_scenario("scenarios/icj_referral_2022.toml")
rows = []
for variant in scenario.variants:
    result = sim.replay(scenario, variant=variant, n_draws=2000, seed=20221230)
    ukraine = result.member("UKR")
    rows.append(
        {
            "variant": variant,
            **{act: round(float(ukraine[f"p_{act}"]), 3) for act in sim.ACTS},
            "most likely": result.most_likely("UKR"),
            "expected yes": round(result.tally.mean()["yes"], 1),
            "P(adopted)": round(result.tally.prob_pass(), 3),
        }
    )
    result.write(f"results/{scenario.name}/{variant}")

for row in rows:
    print(row)
