"""Shared fixtures: the real roll-call data in ../shared/data (relative to the repository root)
and the command line as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
