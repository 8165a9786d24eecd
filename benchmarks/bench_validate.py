"""Time ``sim validate``: the eight test years 2015-2022 (lead 1 or 2), one or more workers.

Each test year costs one window fit (ideal points, strategic absence, text persistence, group
shocks) and the predictions of its roll calls; the tremble of the first year needs one more fit
(the year before). The fits are independent, so ``workers`` processes run them side by side.
Run::

    SIM_DATA_DIR=/work/shared/data SIM_CACHE_DIR=/tmp/empty .venv/bin/python \
        benchmarks/bench_validate.py [--workers 2] [--lead 1] [--first 2015] [--last 2022]

Prints the wall time, the CPU seconds of this process and its workers (user + system: on a
shared machine the CPU is the figure to compare) and the overall log-loss (which must not
depend on ``--workers``). With ``--profile YEAR`` it instead runs that one year's job (window
fit and predictions, as a worker does) under cProfile and prints the CPU seconds of each stage.
Point ``SIM_CACHE_DIR`` at an empty folder to time the fits (a cached window is read back).
Timings are of one run on this machine; compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import time

from machine import machine_line

from sim.estimate.validate import validate
from sim.io.data import load_roll_calls

#: The stages of a year's job a profile reports: (label, function name as cProfile lists it).
STAGES = (
    ("window fit", "fit_window"),
    ("  ideal points", "static_fit"),
    ("  strategic presence + participation walk", "_strategic_presence"),
    ("  text persistence (profile fit + member hold)", "_text_persistence"),
    ("    profile fit", "fit_text_persistence"),
    ("    member hold", "_member_hold"),
    ("  group shock", "_group_shock"),
    ("new texts' odds", "new_text_odds"),
    ("member_odds (repeated and new)", "member_odds"),
)


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def profile_year(data: object, year: int, lead: int) -> None:
    from sim.estimate import validate as module

    module._share_data(data)
    options = {"window": 10, "dimension": "all", "dynamic": False, "lead": lead,
               "member_hold": True}  # fmt: skip
    profiler = cProfile.Profile(time.process_time)
    profiler.runcall(module._year_job, year, options)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = max(v[3] for v in stats.values())
    print(f"year job {year} (lead {lead}): {total:.1f} s CPU")
    for label, name in STAGES:
        cum = sum(v[3] for (_, _, fn), v in stats.items() if fn == name)
        print(f"  {label:48s} {cum:6.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lead", type=int, default=1)
    parser.add_argument("--first", type=int, default=2015)
    parser.add_argument("--last", type=int, default=2022)
    parser.add_argument("--profile", type=int, default=None, help="profile this year's job")
    args = parser.parse_args()
    print(machine_line())
    data = load_roll_calls(os.environ.get("SIM_DATA_DIR"))
    if args.profile is not None:
        profile_year(data, args.profile, args.lead)
        return
    t0, c0 = time.perf_counter(), _cpu()
    result = validate(
        data, years=range(args.first, args.last + 1), lead=args.lead, workers=args.workers
    )
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    scores = result.scores.set_index(["year", "method"])["log_loss"]
    print(f"validate {args.first}-{args.last}, lead {args.lead}, {args.workers} workers: "
          f"{wall:.0f} s wall, {cpu:.0f} s CPU; model log-loss "
          f"{scores[('all', 'model')]:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
