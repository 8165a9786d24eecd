"""Scenario script: how firmly should Israel have committed air defence to buy Ukraine's vote?

Solves the pricing game of Netanyahu's call (30 Dec 2022; MODEL.md §4, docs/bargaining.md): for
each credibility of the offer, Ukraine's exact odds; the offers Israel ever makes, each with the
range of cost ratios (cost of a firm commitment / value of a unit of Ukraine's compliance)
on which it is Israel's best response; and the equilibrium at a few cost ratios.
Run from the repository root:  .venv/bin/python examples/price_the_call.py
"""

from __future__ import annotations

import sim

game = sim.price_offer(
    sim.load_scenario("scenarios/icj_referral_2022.toml"),
    event="netanyahu_call",
    target="UKR",
    credibilities=(0.1, 0.25, 0.5, 0.9),
    n_draws=2000,
)
print(game.switch_points.round(3).to_string(index=False))
for ratio in (4.0, 2.5, 1.0, 0.05):
    best = game.best_response(ratio)
    print(
        f"cost ratio {ratio:>4}: credibility {best['credibility']:.2f}, Ukraine yes "
        f"{best['p_yes']:.3f} abstain {best['p_abstain']:.3f} absent {best['p_absent']:.3f}; "
        f"surplus Israel {best['patron_surplus']:+.3f}, Ukraine {best['target_surplus']:+.3f}"
    )
game.write("results/icj_referral_2022/as_happened/bargain_example", cost_ratio=1.0)
