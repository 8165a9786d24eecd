"""Shared fixtures: the real roll-call data in ../shared/data (relative to the repository root)
and the command line as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# No test asserts a timing: hypothesis's per-example deadline is one, and a busy or slower machine
# (CI's 2 cores shared with a browser, a cluster's workers) breaks it without a bug.
settings.register_profile("sim", deadline=None)
settings.load_profile("sim")


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The tests' own ``SIM_CACHE_DIR`` (inherited by the CLI's subprocesses): nothing they
    fetch or calibrate on first use lands in the user's cache, and none of it is read from
    there. Shared by the whole session, so a window fitted by one test (or one CLI run) is read
    back by every later one that fits it (:mod:`sim.estimate.window_cache`). Under
    pytest-xdist (``./dev test`` runs one worker per core) the workers share one cache beside
    their temporary folders: a fit is the same bits whichever worker made it (one BLAS thread,
    :mod:`sim.core.threads`) and every file is written atomically, so two workers fitting the
    same window at once only duplicate work."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        path = tmp_path_factory.getbasetemp().parent / "sim-cache"
        path.mkdir(exist_ok=True)
    else:
        path = tmp_path_factory.mktemp("sim-cache")
    old = os.environ.get("SIM_CACHE_DIR")
    os.environ["SIM_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("SIM_CACHE_DIR", None)
    else:
        os.environ["SIM_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The project's data folder, holding ``unvotes/`` and ``unvotes_2020_2022/``."""
    path = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (path / "unvotes").is_dir():
        pytest.skip(f"real data not found at {path}")
    return path


@pytest.fixture(scope="session")
def sim_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``python -m sim.cli ARGS`` from the repository root, as a user would."""

    def run(*args: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sim.cli", *map(str, args)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )

    return run
