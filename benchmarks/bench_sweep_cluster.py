"""Time a sweep of 64 points on a local dask cluster of 1 and of 2 worker processes.

Not a test. Sweeps the credibility of the Netanyahu call over 64 values (``--draws`` draws per
point) three ways: a local dask cluster of one worker, one of two workers (both as ``--scheduler
local`` starts them, :func:`sim.run.executors.local_cluster`, and started before the clock
starts so that only the points are timed), and
the process pool with two processes. Prints each wall time and the speed-up of two dask
workers over one, and checks that all three folders hold the same bytes. On a shared machine
the speed-up depends on what else runs; it is reported, not asserted.

Usage: .venv/bin/python benchmarks/bench_sweep_cluster.py [--draws 1000] [--points 64]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from distributed import Client

from sim.run.executors import local_cluster
from sim.run.sweep import Sweep, grid_from_assignments, run_sweep

ROOT = Path(__file__).resolve().parents[1]
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"
FILES = ("points.csv", "members.csv", "sweep.nc")


def main() -> None:
    """Run the three sweeps and print their times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--points", type=int, default=64)
    args = parser.parse_args()
    values = ",".join(f"{i / (args.points - 1):.6f}" for i in range(args.points))
    plan = Sweep(
        scenario=ICJ,
        grid=grid_from_assignments([f"events.netanyahu_call.offer.credibility={values}"]),
        draws=args.draws,
    )
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            with local_cluster(workers) as cluster, Client(cluster) as client:
                client.run(lambda: __import__("sim.run.sweep"))  # imports before the clock
                t0 = time.perf_counter()
                run_sweep(plan, Path(tmp) / f"dask{workers}", executor=client.get_executor())
                times[f"dask, {workers} worker(s)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_sweep(plan, Path(tmp) / "pool2", workers=2)
        times["process pool, 2 processes"] = time.perf_counter() - t0
        for name in FILES:
            data = {(Path(tmp) / d / name).read_bytes() for d in ("dask1", "dask2", "pool2")}
            print(f"{name}: {'same bytes' if len(data) == 1 else 'DIFFERENT BYTES'}")
    for label, seconds in times.items():
        print(f"{label:28s} {seconds:7.1f} s  ({args.points} points, {args.draws} draws)")
    one, two = times["dask, 1 worker(s)"], times["dask, 2 worker(s)"]
    print(f"speed-up of 2 dask workers over 1: {one / two:.2f}x")


if __name__ == "__main__":
    main()
