"""Time the ideal-point calibration on the ten years before the 30 Dec 2022 plenary vote.

Fits ``IdealPoints`` with dimension ``"all"`` and ``"me"`` (the Palestinian conflict) to the real
roll calls dated 2012-12-30 to 2022-12-30 (the data end on 2022-07-28: the holdout starts on
1 Sep 2022), and prints wall time, L-BFGS-B iterations, the log-likelihood, the persistence
costs with standard errors and the empirical transition matrix of the persistence pairs, next
to FACTS.md §4 (2011-2019). Run::

    SIM_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_calibrate.py [--key descr]

Timings are of one run on this machine; compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import time

import pandas as pd
from machine import machine_line

from sim.core.acts import ACTS
from sim.core.persistence import PERSISTENCE_COSTS
from sim.estimate.ideal_points import IdealPoints
from sim.io.data import load_roll_calls

START, END = "2012-12-30", "2022-12-30"

#: FACTS.md §4: same country, same resolution title, consecutive sessions 2011-2019.
FACTS_TRANSITIONS = pd.DataFrame(
    [[0.945, 0.001, 0.015, 0.040], [0.006, 0.922, 0.054, 0.017],
     [0.050, 0.027, 0.890, 0.033], [0.460, 0.011, 0.060, 0.469]],
    index=pd.Index(ACTS, name="previous"), columns=list(ACTS),
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dimensions", nargs="+", default=["all", "me"])
    parser.add_argument("--key", default="text", help="roll-call column naming the text")
    args = parser.parse_args()

    t0 = time.perf_counter()
    data = load_roll_calls(os.environ.get("SIM_DATA_DIR")).between(START, END)
    print(f"load + select: {time.perf_counter() - t0:.1f} s; {data!r}")
    print(machine_line())
    for dimension in args.dimensions:
        t0 = time.perf_counter()
        est = IdealPoints(dimension=dimension, persistence_key=args.key).fit(data)
        seconds = time.perf_counter() - t0
        print(f"\n== dimension {dimension!r}: {len(est.members_)} members x "
              f"{len(est.items_)} roll calls, {est.n_cells_} cells")  # fmt: skip
        print(f"fit {seconds:.1f} s, {est.n_iter_} iterations, converged {est.converged_}, "
              f"loglik {est.loglik_:.1f} ({est.loglik_ / est.n_cells_:.4f} per cell)")  # fmt: skip
        p = est.persistence_
        print(f"persistence ({p['n_texts']} text pairs, {p['n_pairs']} member pairs, "
              f"key {args.key!r}):")  # fmt: skip
        for name in PERSISTENCE_COSTS:
            print(f"  {name:9s} {p[name]:7.3f} (se {p[f'{name}_se']:.3f})")
        x = est.members_["ideal_point"]
        print("ideal points: " + ", ".join(
            f"{iso} {x[iso]:+.2f}" for iso in ("USA", "ISR", "UKR", "RUS", "DEU", "CHN", "IRN")
            if iso in x.index))  # fmt: skip
        print("transitions (previous -> next), this window:")
        print(est.transitions_.round(3).to_string())
        diff = est.transitions_[list(ACTS)] - FACTS_TRANSITIONS
        print("minus FACTS.md §4 (2011-2019):")
        print(diff.round(3).to_string())


if __name__ == "__main__":
    main()
