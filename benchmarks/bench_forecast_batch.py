"""Time a forecast batch of titles (``sim forecast --batch``): one fit, then N titles.

The titles are those of the whole-text roll calls of 2021 (new and repeated texts as they
come), forecast on 9 December 2021 from the ten years before; a batch fits the window once, and
the window's first-vote odds and title weights once (:func:`sim.estimate.titles.new_texts`),
so each title after the first costs its mixture and one replay. Run::

    SIM_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_forecast_batch.py \
        [--titles 100] [--draws 1000]

Timings are of one run on this machine; compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
from machine import machine_line

from sim.io.data import load_roll_calls
from sim.run.forecast import Forecaster, forecast_batch, read_batch

DATE = "2021-12-09"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=100)
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args()
    print(machine_line())
    data = load_roll_calls(os.environ.get("SIM_DATA_DIR"))
    rc = data.roll_calls
    year = rc[(rc["date"] >= pd.Timestamp("2021-01-01")) & ~rc["partial"].astype(bool)]
    titles = list(dict.fromkeys(t for t in year["title"].astype(str) if t.strip()))
    titles = titles[: args.titles]
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "batch.csv"
        with batch.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["name", "title", "date"])
            writer.writerows([f"t{i:03d}", t, DATE] for i, t in enumerate(titles))
        forecaster = Forecaster(data)
        t0 = time.perf_counter()
        forecast_batch(forecaster, read_batch(batch), Path(tmp) / "out", n_draws=args.draws)
        wall = time.perf_counter() - t0
    print(f"batch of {len(titles)} titles, {args.draws} draws: {wall:.0f} s "
          f"({wall / max(len(titles), 1):.1f} s a title, the fit included)")  # fmt: skip


if __name__ == "__main__":
    main()
