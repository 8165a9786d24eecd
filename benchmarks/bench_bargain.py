"""Time the bargaining game: pricing an offer (``sim bargain``), targeting (``sim target``) and
spending a budget (``sim buy``).

Not a test. Prices the Netanyahu call to Ukraine on the default grid (21 credibilities) at
several numbers of draws, ``--repeats`` times each after a warm-up; prints the median and the
time per offer. Each offer re-runs the replay's negotiation rounds for the members asked (not
the tally; the calm odds of the first offer's model serve every offer), so the cost is about
offers x rounds. Then ranks every member for Lapid's letters (two sets of rounds, three
exact tallies and the probability of adoption at about twenty points of the ranking). Last,
spreads the scenario's budget of Trump's threat across every member (21 credibilities for 192
members, the allocation, three exact tallies), and Russia's warning spent for the outcome.

Usage: .venv/bin/python benchmarks/bench_bargain.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from sim.bargaining import DEFAULT_GRID, price_offer
from sim.buying import buy_votes
from sim.targeting import plan_targets

ROOT = Path(__file__).resolve().parents[1]
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"
JERUSALEM = ROOT / "scenarios" / "jerusalem_2017.toml"
HRC = ROOT / "scenarios" / "hrc_suspension_2022.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    price_offer(ICJ, event="netanyahu_call", target="UKR", n_draws=50)  # warm-up
    for draws in (1000, 4000):
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            price_offer(ICJ, event="netanyahu_call", target="UKR", n_draws=draws)
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        print(
            f"{draws} draws, {len(DEFAULT_GRID)} offers: {median:.2f} s "
            f"({1000 * median / len(DEFAULT_GRID):.0f} ms per offer; median of {args.repeats})"
        )
    for draws in (1000, 4000):
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            plan = plan_targets(ICJ, event="lapid_letters", n_draws=draws)
            times.append(time.perf_counter() - t0)
        best50 = plan.curve.set_index("calls").loc[50]
        print(
            f"{draws} draws, {len(plan.iso3)} candidates: {statistics.median(times):.2f} s "
            f"(median of {args.repeats}); best 50: expected no {best50['expected_no']:.2f}, "
            f"compliance {best50['compliance_gain']:+.2f}"
        )
    for draws in (1000, 4000):
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            bought = buy_votes(JERUSALEM, event="trump_threat", n_draws=draws)
            times.append(time.perf_counter() - t0)
        model = bought.plans["model"]
        print(
            f"{draws} draws, {len(bought.iso3)} members x {len(bought.credibility)} offers: "
            f"{statistics.median(times):.2f} s (median of {args.repeats}); allocation: "
            f"expected yes {model['expected_yes']:.1f}, compliance {model['compliance_gain']:+.2f}"
        )
    # Spending for the outcome: Russia's warning before ES-11/3 sent to any member at a call
    # cost (the greedy's exact tally per move dominates: about 40 moves).
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        bought = buy_votes(HRC, event="unfriendly_gesture", reach="all", call_cost=0.01,
                           budget=0.5, outcome=True, n_draws=1000)  # fmt: skip
        times.append(time.perf_counter() - t0)
    o = bought.plans["outcome"]
    print(
        f"1000 draws, for the outcome: {statistics.median(times):.2f} s (median of "
        f"{args.repeats}); {o['moves']} moves, P({o['want']}) {o['p_want']:.3f} against "
        f"{o['p_want_votes']:.3f} counting votes"
    )


if __name__ == "__main__":
    main()
