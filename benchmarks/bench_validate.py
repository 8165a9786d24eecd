"""Time ``sim validate``: the eight test years 2015-2022 (lead 1 or 2), one or more workers.

Each test year costs one window fit (ideal points, strategic absence, text persistence, group
shocks) and the predictions of its roll calls; the tremble of the first year needs one more fit
(the year before). The fits are independent, so ``workers`` processes run them side by side.
Run::

    SIM_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_validate.py \
        [--workers 2] [--lead 1] [--first 2015] [--last 2022]

Prints the wall time and the overall log-loss (which must not depend on ``--workers``).
Timings are of one run on this machine; compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import time

from machine import machine_line

from sim.estimate.validate import validate
from sim.io.data import load_roll_calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lead", type=int, default=1)
    parser.add_argument("--first", type=int, default=2015)
    parser.add_argument("--last", type=int, default=2022)
    args = parser.parse_args()
    print(machine_line())
    data = load_roll_calls(os.environ.get("SIM_DATA_DIR"))
    t0 = time.perf_counter()
    result = validate(
        data, years=range(args.first, args.last + 1), lead=args.lead, workers=args.workers
    )
    wall = time.perf_counter() - t0
    scores = result.scores.set_index(["year", "method"])["log_loss"]
    print(f"validate {args.first}-{args.last}, lead {args.lead}, {args.workers} workers: "
          f"{wall:.0f} s; model log-loss {scores[('all', 'model')]:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
