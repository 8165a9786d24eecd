"""Time the dynamic ideal-point fit on the last decade and on the whole record.

Fits ``DynamicIdealPoints(dimension="all")`` to the real roll calls dated (a) 2012-07-01 to
2022-07-31 and (b) 1946 to 2022-07-31 (the end of the data), prints wall and CPU time,
iterations (static start and dynamic fit) and the first and last session of a few trajectories,
and draws the trajectories of the longest fit to ``results/ideal_points.png``. Run::

    SIM_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_dynamic.py [--walk-sd 0.1]

Targets on the 2-core benchmark machine: decade < 60 s; whole record < 2 min (issue 18). With
L-BFGS-B alone the whole record took 510 s of CPU (461 static and 2,202 dynamic iterations), the
decade 28 s (435 + 671); the block-Newton sweeps (``sim.core.block_newton``) then the same
L-BFGS-B finish: 83 s and 3 s. ``iterations`` are the sweeps plus L-BFGS-B's iterations (the
static start: sweeps). ``--static`` also times the static joint fit on each window (with its
persistence fit). A dynamic scenario's first and second replay side by side:
``bench_first_replay.py --dynamic``. Timings are of one run; compare CPU seconds and ratios,
not absolute wall times.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from machine import machine_line

from sim.estimate.dynamic import DynamicIdealPoints
from sim.estimate.ideal_points import IdealPoints
from sim.io.data import load_roll_calls

WINDOWS = {"decade": ("2012-07-01", "2022-07-31"), "whole": (None, "2022-07-31")}
SHOW = ("USA", "RUS", "CHN", "UKR")
PLOT = Path(__file__).resolve().parents[1] / "results" / "ideal_points.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", nargs="+", default=list(WINDOWS), choices=list(WINDOWS))
    parser.add_argument("--walk-sd", type=float, default=0.1)
    parser.add_argument("--plot", type=Path, default=PLOT)
    parser.add_argument(
        "--static", action="store_true", help="also time the static joint fit on each window"
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    data = load_roll_calls(os.environ.get("SIM_DATA_DIR"))
    print(f"load: {time.perf_counter() - t0:.1f} s; {data!r}")
    print(machine_line())
    est = None
    for name in args.windows:
        window = data.between(*WINDOWS[name])
        if args.static:
            t0, c0 = time.perf_counter(), time.process_time()
            static = IdealPoints().fit(window)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            print(f"\n== static {name}: fit {seconds:.1f} s ({cpu:.1f} s CPU, persistence "
                  f"included); iterations {static.n_iter_}; converged {static.converged_}; "
                  f"loglik {static.loglik_:.3f}")  # fmt: skip
        t0, c0 = time.perf_counter(), time.process_time()
        est = DynamicIdealPoints(walk_sd=args.walk_sd).fit(window)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        ip = est.ideal_points_
        print(f"\n== {name} {WINDOWS[name]}: {len(est.members_)} members, {len(ip)} "
              f"member-sessions, {len(est.items_)} roll calls, {est.n_cells_} cells")  # fmt: skip
        print(f"fit {seconds:.1f} s ({cpu:.1f} s CPU); iterations: static start "
              f"{est.static_n_iter_}, dynamic "
              f"{est.n_iter_}; converged {est.converged_}; loglik {est.loglik_:.1f} "
              f"({est.loglik_ / est.n_cells_:.4f} per cell); "
              f"step sd {est.step_sd_:.3f}")  # fmt: skip
        for iso3 in SHOW:
            if iso3 not in est.members_.index:
                continue
            traj = ip.xs(iso3, level="iso3")
            first, last = traj.iloc[0], traj.iloc[-1]
            print(f"  {iso3}: session {traj.index[0]} {first.ideal_point:+.2f} "
                  f"(se {first.ideal_point_se:.2f}) -> session {traj.index[-1]} "
                  f"{last.ideal_point:+.2f} (se {last.ideal_point_se:.2f}); range "
                  f"[{traj.ideal_point.min():+.2f}, {traj.ideal_point.max():+.2f}]")  # fmt: skip
    if est is not None:
        print(f"\nplot: {est.plot_trajectories(path=args.plot)}")


if __name__ == "__main__":
    main()
