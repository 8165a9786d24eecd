"""Time ``sim episodes``: seven leave-one-episode-out fits and replays on the shipped scenarios.

Each of the six episodes in the data is held out in turn (its deal learnt on the other five);
A/RES/77/247, in the holdout, is replayed on the deal learnt from all six. Prints the wall time of
loading the episodes, of each fit and replay, the total, and the scores table. Run::

    SIM_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_episodes.py [--draws 2000]

Timings are of one run on this machine (2 cores shared); compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from machine import machine_line

from sim.io.data import load_roll_calls
from sim.run.episodes import leave_one_out, scenario_episodes, scores_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--scenarios", type=Path, default=Path("scenarios"))
    parser.add_argument(
        "--attendance",
        action="store_true",
        help="with the attendance layer (sim episodes --attendance)",
    )
    args = parser.parse_args()
    print(machine_line())
    t0 = time.perf_counter()
    data = load_roll_calls(os.environ.get("SIM_DATA_DIR"))
    scenarios = scenario_episodes(args.scenarios)
    print(f"load data and {len(scenarios)} scenarios: {time.perf_counter() - t0:.1f} s")
    marks = [time.perf_counter()]

    def progress(line: str) -> None:
        now = time.perf_counter()
        print(f"[{now - marks[-1]:7.1f} s] {line}")
        marks.append(now)

    start = time.perf_counter()
    scores = leave_one_out(
        scenarios, data, n_draws=args.draws, progress=progress, attendance=args.attendance
    )
    total = time.perf_counter() - start
    print(f"\nsim episodes ({len(scores)} leave-one-out fits and replays, {args.draws} draws): "
          f"{total:.0f} s")  # fmt: skip
    print(scores_table(scores).to_string(index=False, float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()
