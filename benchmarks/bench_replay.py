"""Time a full replay (193 members, N draws, exact tally) and its parts. Not a test.

Usage: .venv/bin/python benchmarks/bench_replay.py [DRAWS]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from sim.replay import prepare, replay
from sim.tally import Tally

ROOT = Path(__file__).resolve().parents[1]


def main(draws: int) -> None:
    for name in ("icj_referral_2022", "jerusalem_2017"):
        path = ROOT / "scenarios" / f"{name}.toml"
        replay(path, n_draws=10, seed=0)  # warm imports and caches
        t0 = time.perf_counter()
        setup = prepare(path, n_draws=draws, seed=1)
        t1 = time.perf_counter()
        result = replay(path, n_draws=draws, seed=1)
        t2 = time.perf_counter()
        tally_times = []
        for _ in range(3):
            s = time.perf_counter()
            Tally.from_probabilities(result.odds, rule="simple_majority").prob_pass()
            tally_times.append(time.perf_counter() - s)
        print(
            f"{name}: {len(setup.iso3)} members x {draws} draws: prepare {t1 - t0:.2f} s, "
            f"whole replay {t2 - t1:.2f} s (exact tally alone {np.median(tally_times):.2f} s)"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
