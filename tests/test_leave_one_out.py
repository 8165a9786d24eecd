"""``sim episodes``: leave-one-episode-out scoring, and its refusals of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('symbol = "A/RES/ES-10/19"', 'symbol = "A/RES/ES-10/99"', "resolution.symbol"),
    ],
)
def test_an_episode_whose_roll_call_is_not_in_the_data_is_refused_with_exit_2(
    old, new, key, tmp_path, sim_cli, data_dir
):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    text = (ROOT / "scenarios" / "jerusalem_2017.toml").read_text()
    assert old in text
    (folder / "jerusalem_2017.toml").write_text(text.replace(old, new, 1))
    out = tmp_path / "out"
    run = sim_cli("episodes", "--scenarios", folder, "--out", out, "--data-dir", data_dir)
    assert run.returncode == 2
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert "jerusalem_2017.toml" in lines[0]
    assert key in lines[0]
    assert not out.exists()
