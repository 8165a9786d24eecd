"""Time forecasts by title (``sim forecast --title``): the fit, then each title.

A forecaster fits the ten years before the date once (ideal points, strategic absence, text
persistence, group shocks) and measures its tremble once; each title after that costs the
title mixture (every first vote's odds, the sharpness chosen on the window) and one replay.
Run::

    SIM_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_forecast.py [--draws N]

Timings are of one run on this machine; compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time

from machine import machine_line

from sim.estimate.window import title_item
from sim.io.data import load_roll_calls
from sim.run.forecast import Forecaster

DATE = dt.date(2022, 10, 12)
TITLES = (  # new texts of the 77th session, and one repeated text
    "Territorial integrity of Ukraine: defending the principles of the Charter of the United "
    "Nations",
    "Furtherance of remedy and reparation for aggression against Ukraine",
    "Situation of human rights in the temporarily occupied territories of Ukraine",
    "Nuclear disarmament verification",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args()
    print(machine_line())
    t0 = time.perf_counter()
    data = load_roll_calls(os.environ.get("SIM_DATA_DIR"))
    print(f"load: {time.perf_counter() - t0:.1f} s")
    forecaster = Forecaster(data)
    t0 = time.perf_counter()
    fit = forecaster.fit("all", DATE)
    print(f"fit, ten years of all roll calls: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    forecaster.tremble("all", DATE)
    print(f"tremble (a second fit, one year earlier): {time.perf_counter() - t0:.1f} s")
    for title in TITLES:
        t0 = time.perf_counter()
        mixture = title_item(fit, data, title)
        t_mix = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = forecaster.forecast_title(title, DATE, n_draws=args.draws)
        t_all = time.perf_counter() - t0
        kind = "new" if "by_title" in result.summary()["item"] else "repeated"
        tally = result.summary()["tally"]
        counts = "-".join(f"{tally[a]['expected']:.0f}" for a in ("yes", "no", "abstain", "absent"))
        print(f"{title[:50]:50s} {kind:8s} mixture {t_mix:.2f} s ({len(mixture['weight'])} "
              f"texts), forecast {t_all:.2f} s, {args.draws} draws: {counts}")  # fmt: skip


if __name__ == "__main__":
    main()
