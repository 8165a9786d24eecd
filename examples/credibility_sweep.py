"""Scenario script: how credible must Israel's offer be before Ukraine abstains?

Sweeps the credibility of the offer in Netanyahu's call (30 Dec 2022) from nothing to a firm
commitment, with the same draws at every point, and prints Ukraine's odds at each.
Run from the repository root:  .venv/bin/python examples/credibility_sweep.py
"""

from __future__ import annotations

from pathlib import Path

from sim.run.sweep import Sweep, run_sweep

plan = Sweep(
    scenario=Path("scenarios/icj_referral_2022.toml"),
    grid=(("events.netanyahu_call.offer.credibility", (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)),),
    draws=2000,
)
points, members = run_sweep(plan, "results/icj_referral_2022/credibility_sweep")
ukraine = members[members["iso3"] == "UKR"].set_index("events.netanyahu_call.offer.credibility")
print(ukraine[["p_yes", "p_no", "p_abstain", "p_absent", "most_likely"]].round(3).to_string())
