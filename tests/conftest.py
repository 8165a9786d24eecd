"""Shared fixtures: the real roll-call data in ../shared/data (relative to the repository root)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The project's data folder, holding ``unvotes/`` and ``unvotes_2020_2022/``."""
    path = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (path / "unvotes").is_dir():
        pytest.skip(f"real data not found at {path}")
    return path
