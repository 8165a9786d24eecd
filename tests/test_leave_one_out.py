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


def test_an_episode_dated_after_the_scenarios_vote_is_refused_naming_file_and_key(tmp_path):
    """A replay learns only from the past: Jerusalem (2017) may not learn from ES-11/3 (2022)."""
    from sim.io.errors import ScenarioError
    from sim.io.scenario import load_scenario
    from sim.run.calibrate import load_episodes

    folder = tmp_path / "scenarios"
    folder.mkdir()
    earlier = 'episodes = ["palestine_2012", "crimea_2014", "chagos_2017"]'
    text = (ROOT / "scenarios" / "jerusalem_2017.toml").read_text(encoding="utf-8")
    assert earlier in text
    path = folder / "jerusalem_2017.toml"
    path.write_text(text.replace(earlier, 'episodes = ["hrc_suspension_2022"]'), encoding="utf-8")
    later = (ROOT / "scenarios" / "hrc_suspension_2022.toml").read_text(encoding="utf-8")
    (folder / "hrc_suspension_2022.toml").write_text(later, encoding="utf-8")
    with pytest.raises(ScenarioError) as refused:
        load_episodes(load_scenario(path), data=None)
    message = str(refused.value)
    assert "\n" not in message
    assert str(path) in message
    assert "calibration.episodes" in message
    assert "hrc_suspension_2022" in message
    assert "learns only from the past" in message
