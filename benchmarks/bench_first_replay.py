"""Time a user's own scenario's first replay (calibrated on first use) against later ones.

Three scenarios of one's own, in a fresh cache: ``new_a`` (the ICJ referral under another name:
ten years of Middle East roll calls before 30 Dec 2022, its two episodes on their shipped
bundles), ``new_b`` (the same window and dimension, another ``like`` roll call: a new
calibration that shares ``new_a``'s fitted windows, sim.estimate.window_cache) and ``new_a``
again (its bundle cached). Prints the wall and CPU time of each ``sim replay`` side by side.
``--dynamic`` runs the three with ``dynamic = true`` (dynamic fits are not kept between
scenarios: ``new_b`` fits its window again). Run::

    SIM_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_first_replay.py [--draws N]

Target (issue 18): the first replay under 30 s on 2 cores. Timings are of one run on a shared
machine: compare CPU seconds, and the rows with each other.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import machine_line

ROOT = Path(__file__).resolve().parents[1]


def _scenario(folder: Path, name: str, like: str, *, dynamic: bool = False) -> Path:
    text = (ROOT / "scenarios" / "icj_referral_2022.toml").read_text(encoding="utf-8")
    text = text.replace('name = "icj_referral_2022"', f'name = "{name}"')
    text = text.replace('like = "A/RES/75/98"', f'like = "{like}"')
    if dynamic:
        text = text.replace('dimension = "me"    #', 'dynamic = true\ndimension = "me"    #', 1)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(path: Path, out: Path, draws: int, env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sim.cli", "replay", str(path), "--draws", str(draws),
         "--out", str(out)],
        cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    """Run the three replays and print their times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--dynamic", action="store_true", help="scenarios with dynamic = true")
    args = parser.parse_args()
    if not os.environ.get("SIM_DATA_DIR"):
        sys.exit("set SIM_DATA_DIR to the data folder")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in ("jerusalem_2017", "hrc_suspension_2022"):
            shutil.copy(ROOT / "scenarios" / f"{name}.toml", folder)
        env = {**os.environ, "SIM_CACHE_DIR": str(folder / "cache")}
        a = _scenario(folder, "new_a", "A/RES/75/98", dynamic=args.dynamic)
        b = _scenario(folder, "new_b", "A/RES/75/97", dynamic=args.dynamic)
        rows = [
            ("new_a, first replay (calibrates)", a),
            ("new_b, same window, other like", b),
            ("new_a, second replay (cached)", a),
        ]
        print(machine_line())
        print(f"--draws {args.draws}{' (dynamic)' if args.dynamic else ''}")
        print(f"{'replay':<36} {'wall s':>8} {'cpu s':>8}")
        for i, (label, path) in enumerate(rows):
            wall, cpu = _run(path, folder / f"out{i}", args.draws, env)
            print(f"{label:<36} {wall:8.1f} {cpu:8.1f}", flush=True)


if __name__ == "__main__":
    main()
