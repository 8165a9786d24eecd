"""Result files are readable by colleagues: the umask decides their mode, not the temporary file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sim.io.results import atomic_write_bytes, atomic_write_text, write_run


@pytest.fixture
def umask():
    """Set the process's umask for one test and restore it after."""
    saved = os.umask(0o022)
    os.umask(saved)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(saved)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_take_the_mode_the_umask_gives(tmp_path, umask, mask, expected):
    umask(mask)
    atomic_write_text(tmp_path / "a.csv", "x\n")
    atomic_write_bytes(tmp_path / "b.png", b"\x89PNG")
    assert _mode(tmp_path / "a.csv") == expected
    assert _mode(tmp_path / "b.png") == expected


def test_a_run_folder_is_readable_by_others_under_umask_022(tmp_path, umask):
    umask(0o022)
    out = write_run(
        tmp_path / "run",
        {"members.csv": "iso3\nUKR\n"},
        {"seed": 1},
        figures={"odds.png": lambda p: atomic_write_bytes(p, b"png")},
    )
    for name in ("members.csv", "odds.png", "manifest.json"):
        assert _mode(out / name) & 0o044 == 0o044, name
    assert not list(out.glob(".*.tmp"))  # no temporary file left behind


def test_rewriting_keeps_content_and_leaves_no_temporary_file(tmp_path, umask):
    umask(0o022)
    path = tmp_path / "summary.json"
    atomic_write_text(path, "old\n")
    atomic_write_text(path, "new\n")
    assert path.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]
