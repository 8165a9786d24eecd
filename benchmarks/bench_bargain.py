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
from collections.abc import Callable
from pathlib import Path

from sim.game.bargaining import DEFAULT_GRID
from sim.run.bargain import price_offer
from sim.run.buy import buy_votes
from sim.run.target import plan_targets

ROOT = Path(__file__).resolve().parents[1]
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"
JERUSALEM = ROOT / "scenarios" / "jerusalem_2017.toml"
HRC = ROOT / "scenarios" / "hrc_suspension_2022.toml"


def timed[T](run: Callable[[], T], repeats: int) -> tuple[float, T]:
    """The median wall time of `repeats` calls of `run`, and the last call's result."""
    times, results = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        results.append(run())
        times.append(time.perf_counter() - t0)
    return statistics.median(times), results[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = args.repeats
    price_offer(ICJ, event="netanyahu_call", target="UKR", n_draws=50)  # warm-up
    for draws in (1000, 4000):
        median, _ = timed(
            lambda d=draws: price_offer(ICJ, event="netanyahu_call", target="UKR", n_draws=d), n
        )
        print(
            f"{draws} draws, {len(DEFAULT_GRID)} offers: {median:.2f} s "
            f"({1000 * median / len(DEFAULT_GRID):.0f} ms per offer; median of {n})"
        )
    for draws in (1000, 4000):
        median, plan = timed(lambda d=draws: plan_targets(ICJ, event="lapid_letters", n_draws=d), n)
        best50 = plan.curve.set_index("calls").loc[50]
        print(
            f"{draws} draws, {len(plan.iso3)} candidates: {median:.2f} s "
            f"(median of {n}); best 50: expected no {best50['expected_no']:.2f}, "
            f"compliance {best50['compliance_gain']:+.2f}"
        )
    for draws in (1000, 4000):
        median, bought = timed(
            lambda d=draws: buy_votes(JERUSALEM, event="trump_threat", n_draws=d), n
        )
        model = bought.plans["model"]
        print(
            f"{draws} draws, {len(bought.iso3)} members x {len(bought.credibility)} offers: "
            f"{median:.2f} s (median of {n}); allocation: "
            f"expected yes {model['expected_yes']:.1f}, compliance {model['compliance_gain']:+.2f}"
        )
    # Spending for the outcome: Russia's warning before ES-11/3 sent to any member at a call
    # cost (the greedy's exact tally per move dominates: about 40 moves).
    median, bought = timed(
        lambda: buy_votes(HRC, event="unfriendly_gesture", reach="all", call_cost=0.01,
                          budget=0.5, outcome=True, n_draws=1000),
        n,
    )  # fmt: skip
    o = bought.plans["outcome"]
    print(
        f"1000 draws, for the outcome: {median:.2f} s (median of {n}); {o['moves']} moves, "
        f"P({o['want']}) {o['p_want']:.3f} against {o['p_want_votes']:.3f} counting votes"
    )


if __name__ == "__main__":
    main()
