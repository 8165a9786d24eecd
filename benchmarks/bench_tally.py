"""Time the exact tally for a full assembly against a naive Monte Carlo sampler.

193 members x 10,000 parameter draws of Dirichlet(1, 1, 1, 1) act probabilities. The exact side is
``Tally.from_probabilities`` (four count marginals and the per-draw adoption probability) plus
``prob_pass``; the sampler draws one tally per parameter draw (10,000 tallies, the same number of
samples) and histograms the counts. Prints medians over a few repeats and the sampler's error
against the exact answer; also the probability of adoption given each member's vote
(``conditional_adoption``, two DPs over the margin for every member).

Run: ``.venv/bin/python benchmarks/bench_tally.py [--repeats 5] [--draws 10000] [--members 193]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from machine import machine_line

from sim.core.acts import ACTS, NO, YES
from sim.core.tally import Tally, conditional_adoption, decision_rule


def monte_carlo(
    probs: np.ndarray, *, rule: str, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """One sampled tally per draw: (count histograms, shape (4, n + 1); share adopted)."""
    n_draws, n_members, n_acts = probs.shape
    cumulative = probs.cumsum(axis=2)
    u = rng.random((n_draws, n_members, 1))
    acts = (u > cumulative[:, :, :-1]).sum(axis=2)  # inverse-cdf sampling of each member's act
    counts = np.stack([(acts == a).sum(axis=1) for a in range(n_acts)], axis=1)
    histograms = np.stack(
        [np.bincount(counts[:, a], minlength=n_members + 1) / n_draws for a in range(n_acts)]
    )
    adopted = decision_rule(rule).adopts(yes=counts[:, YES], no=counts[:, NO])
    return histograms, float(np.mean(adopted))


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall-clock and process CPU seconds (CPU time sums threads) over `repeats` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=193)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=(args.draws, args.members))
    print(machine_line())
    print(f"{args.members} members x {args.draws} draws, median of {args.repeats} repeats")

    for rule in ("simple_majority", "two_thirds"):
        tally = Tally.from_probabilities(probs, rule=rule)
        for workers in (1, 2):
            wall, cpu = median_time(
                lambda rule=rule, workers=workers: Tally.from_probabilities(
                    probs, rule=rule, workers=workers
                ).prob_pass(),
                args.repeats,
            )
            print(f"exact  {rule:16s} workers={workers}: {wall:6.3f} s wall, {cpu:6.3f} s CPU")
        wall, cpu = median_time(
            lambda rule=rule: conditional_adoption(probs, rule=rule, workers=2), args.repeats
        )
        print(f"given one member's vote (workers=2): {wall:6.3f} s wall, {cpu:6.3f} s CPU")

        sample_rng = np.random.default_rng(1)
        wall, cpu = median_time(
            lambda rule=rule, sample_rng=sample_rng: monte_carlo(probs, rule=rule, rng=sample_rng),
            args.repeats,
        )
        histograms, share = monte_carlo(probs, rule=rule, rng=np.random.default_rng(2))
        exact_pass = tally.prob_pass()
        standard_error = np.sqrt(exact_pass * (1 - exact_pass) / args.draws)
        distance = 0.5 * np.abs(histograms - tally.marginals).sum(axis=1)
        print(f"sample {rule:16s}          : {wall:6.3f} s wall, {cpu:6.3f} s CPU")
        print(
            f"    P(pass) exact {exact_pass:.6f}, sampled {share:.6f} "
            f"(error {share - exact_pass:+.6f}, sampling s.e. {standard_error:.6f}); "
            "total-variation distance of sampled marginals: "
            + ", ".join(f"{act} {d:.3f}" for act, d in zip(ACTS, distance, strict=True))
        )


if __name__ == "__main__":
    main()
