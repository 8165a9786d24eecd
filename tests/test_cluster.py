"""Sweeps on a dask.distributed cluster: a real local cluster of two worker processes on
loopback gives the process pool's bytes, and a sweep killed mid-way resumes to the same bytes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.run.executors import local_cluster
from sim.run.sweep import Sweep, grid_from_assignments, run_sweep

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"
CREDIBILITY = "events.netanyahu_call.offer.credibility"
VALUES = "0,0.15,0.3,0.45,0.6,0.75"
DRAWS = 100
FILES = ("points.csv", "members.csv", "sweep.nc", "points/0000.json", "points/0005.json")


@pytest.fixture(scope="module")
def cluster():
    """A scheduler and two worker processes (one thread each) on 127.0.0.1."""
    with local_cluster(2) as local:
        yield local


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The sweep run in this process, one point after another."""
    out = tmp_path_factory.mktemp("serial")
    run_sweep(plan(), out)
    return out


def plan() -> Sweep:
    return Sweep(scenario=ICJ, grid=grid_from_assignments([f"{CREDIBILITY}={VALUES}"]), draws=DRAWS)


def same_bytes(a: Path, b: Path) -> None:
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_two_dask_workers_write_the_same_bytes_as_one_process(cluster, reference, tmp_path):
    with distributed.Client(cluster.scheduler_address) as client:
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2
        pids = client.run(os.getpid)
        assert len(set(pids.values())) == 2  # two processes, none of them this one
        assert os.getpid() not in pids.values()
        # without the nanny's malloc trim threshold (a replay 1.5-2x slower with it)
        trims = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        assert set(trims.values()) == {None}
    run_sweep(plan(), tmp_path, scheduler=cluster.scheduler_address)
    same_bytes(reference, tmp_path)


def test_a_sweep_killed_mid_way_resumes_to_the_same_bytes(cluster, reference, tmp_path):
    out = tmp_path / "out"
    args = [
        sys.executable, "-m", "sim.cli", "sweep", str(ICJ), "--set", f"{CREDIBILITY}={VALUES}",
        "--draws", str(DRAWS), "--scheduler", cluster.scheduler_address, "--out", str(out),
    ]  # fmt: skip
    child = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            if len(list((out / "points").glob("*.json"))) >= 2:
                break
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    done = sorted(p.name for p in (out / "points").glob("*.json"))
    assert 2 <= len(done) < 6, "the kill came too late to test a resume"
    assert not (out / "points.csv").exists()  # killed before the tables
    run_sweep(plan(), out, scheduler=cluster.scheduler_address)
    same_bytes(reference, out)
