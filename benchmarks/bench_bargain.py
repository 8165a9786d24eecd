"""Time the pricing game (``sim bargain``): the target's exact response at every offer. Not a test.

Prices the Netanyahu call to Ukraine on the default grid (21 credibilities) at several numbers
of draws, ``--repeats`` times each after a warm-up; prints the median and the time per offer.
Each offer re-runs the replay's negotiation rounds (not the tally), so the cost is about
offers x rounds.

Usage: .venv/bin/python benchmarks/bench_bargain.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from sim.bargaining import DEFAULT_GRID, price_offer

ROOT = Path(__file__).resolve().parents[1]
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"


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


if __name__ == "__main__":
    main()
