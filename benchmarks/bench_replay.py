"""Time a full replay (193 members, N draws, exact tally) and its parts. Not a test.

Each scenario is replayed ``--repeats`` times after a small warm-up (imports, caches); the
median is printed, split into ``prepare`` (calibrated draws, the text-shock predictive), the
Mesa rounds (``AssemblyModel``: calm odds, then each round under the asks) and the exact tally
(``Tally.from_probabilities`` with the replay's two workers). The machine is shared and noisy:
read medians, not single runs.

Usage: .venv/bin/python benchmarks/bench_replay.py [--draws 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from machine import machine_line

from sim.core.tally import Tally
from sim.model.assembly import AssemblyModel
from sim.run.replay import TALLY_WORKERS, prepare, replay

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("icj_referral_2022", "jerusalem_2017")


def time_parts(path: Path, draws: int) -> dict[str, float]:
    """One replay, timed by stage (the stages of :func:`sim.run.replay.replay`)."""
    t0 = time.perf_counter()
    setup = prepare(path, n_draws=draws, seed=1)
    t1 = time.perf_counter()
    model = AssemblyModel(setup, rng=np.random.default_rng(1))
    model.run()
    t2 = time.perf_counter()
    rule = setup.scenario.spec.resolution.rule
    Tally.from_probabilities(model.odds, rule=rule, workers=TALLY_WORKERS, copy=False)
    t3 = time.perf_counter()
    return {"prepare": t1 - t0, "rounds": t2 - t1, "tally": t3 - t2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(machine_line())
    print(f"{args.draws} draws, median of {args.repeats}")
    for name in SCENARIOS:
        path = ROOT / "scenarios" / f"{name}.toml"
        replay(path, n_draws=10, seed=0)  # warm imports and caches
        whole = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            replay(path, n_draws=args.draws, seed=1)
            whole.append(time.perf_counter() - t)
        parts = [time_parts(path, args.draws) for _ in range(args.repeats)]
        split = ", ".join(f"{k} {statistics.median(p[k] for p in parts):.2f} s" for k in parts[0])
        print(
            f"{name}: whole replay {statistics.median(whole):.2f} s (min {min(whole):.2f}); {split}"
        )


if __name__ == "__main__":
    main()
