"""Calibration keyed by what it reads, never by the scenario's name (issue 18, item 2).

A copy of a shipped scenario that keeps its name but edits what the fit reads (the ``like`` roll
call, the dimension, the episodes, the date) must not run on the shipped bundle: with the data
it is calibrated afresh, without them it is refused, saying what changed. An edit to a
description, a source or a variant reuses the bundle.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import sim.run.calibrate as calibrate
from sim.io.bundles import load_bundle
from sim.io.calibration_inputs import calibration_inputs
from sim.io.data import data_sha256
from sim.io.errors import DataError
from sim.io.scenario import load_scenario
from sim.run.calibrate import inputs_of, resolve_calibration

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))

#: Edits the calibration reads, as (old text, new text, what the refusal names).
RECALIBRATING = {
    "like": ('like = "A/RES/75/98"', 'like = "A/RES/99/999"', "item.like"),
    "dimension": ('dimension = "me"    #', 'dimension = "hr"    #', "calibration.dimension"),
    "unknown_episode": (
        '"es11_1_2022", "hrc_suspension_2022"]',
        '"es11_1_2022", "hrc_suspension_2022", "atlantis_1999"]',
        "calibration.episodes",
    ),
    "date": ("date = 2022-12-30\ndimension", "date = 2099-12-31\ndimension", "resolution.date"),
}

#: Edits it does not read.
COSMETIC = {
    "event_description": (
        'description = "Zelensky asks Netanyahu for air defence."',
        'description = "Zelensky asks for air defence, in other words."',
    ),
    "event_source": ('source = "jns.org; i24news.tv, 28-29 Nov 2022"', 'source = "jns.org"'),
    "variant": (
        'patch.netanyahu_call = { offer = { credibility = "firm" } }',
        "patch.netanyahu_call = { offer = { credibility = 0.7 } }",
    ),
}


def _copy(tmp_path: Path, old: str, new: str, *, episodes: bool = True) -> Path:
    """The ICJ scenario copied to `tmp_path` (its episodes beside it) with `old` -> `new`."""
    folder = tmp_path / "mine"
    folder.mkdir()
    if episodes:
        for name in load_scenario(
            ROOT / "scenarios" / "icj_referral_2022.toml"
        ).spec.calibration.episodes:
            shutil.copy(ROOT / "scenarios" / f"{name}.toml", folder)
    text = (ROOT / "scenarios" / "icj_referral_2022.toml").read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = folder / "icj_referral_2022.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """No roll-call data anywhere (SIM_DATA_DIR unset, the tests' private cache empty)."""
    monkeypatch.delenv("SIM_DATA_DIR", raising=False)
    monkeypatch.setenv("SIM_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def refits(monkeypatch):
    """Calibrations started, recorded instead of run (a refit takes minutes)."""
    started: list[str] = []

    def record(scenario, data, **kwargs):
        started.append(scenario.name)
        raise RuntimeError("calibrating")

    monkeypatch.setattr(calibrate, "calibrate_scenario", record)
    return started


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_bundle_records_the_inputs_data_and_key_it_was_fitted_on(name, data_dir):
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    meta = load_bundle(name).meta
    inputs = inputs_of(scenario)
    assert meta["inputs"]["inputs_sha256"] == inputs.sha256
    assert meta["data_sha256"] == data_sha256(data_dir)
    assert meta["calibration_key"] == inputs.key(data_sha256(data_dir))


@pytest.mark.parametrize("edit", sorted(RECALIBRATING))
def test_an_edited_copy_keeping_the_name_is_refused_without_data_saying_what_changed(
    edit, tmp_path, no_data, sim_cli
):
    old, new, key = RECALIBRATING[edit]
    path = _copy(tmp_path, old, new)
    out = tmp_path / "out"
    run = sim_cli("replay", path, "--draws", 5, "--out", out)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    line = run.stderr.strip()
    assert "\n" not in line
    assert f"package's calibration of 'icj_referral_2022' was fitted on other inputs ({key}" in line
    assert "SIM_DATA_DIR" in line
    assert not out.exists()


@pytest.mark.parametrize("edit", sorted(RECALIBRATING))
def test_an_edited_copy_keeping_the_name_is_calibrated_afresh_with_data(
    edit, tmp_path, monkeypatch, data_dir, refits, capsys
):
    monkeypatch.setenv("SIM_DATA_DIR", str(data_dir))
    old, new, key = RECALIBRATING[edit]
    scenario = load_scenario(_copy(tmp_path, old, new))
    with pytest.raises(RuntimeError, match="calibrating"):
        resolve_calibration(scenario, None, progress=False)
    assert refits == ["icj_referral_2022"]
    assert f"fitted on other inputs ({key}" in capsys.readouterr().err


@pytest.mark.parametrize("edit", sorted(COSMETIC))
@pytest.mark.parametrize("with_data", [False, True])
def test_a_description_source_or_variant_edit_runs_on_the_shipped_bundle(
    edit, with_data, tmp_path, monkeypatch, data_dir, refits
):
    monkeypatch.setenv("SIM_CACHE_DIR", str(tmp_path / "cache"))
    if with_data:
        monkeypatch.setenv("SIM_DATA_DIR", str(data_dir))
    else:
        monkeypatch.delenv("SIM_DATA_DIR", raising=False)
    scenario = load_scenario(_copy(tmp_path, *COSMETIC[edit]))
    assert resolve_calibration(scenario, None) is None  # the package's bundle
    assert refits == []


def test_a_copy_without_its_episodes_beside_it_stands_on_the_shipped_ones(tmp_path, no_data):
    old, new = COSMETIC["variant"]
    scenario = load_scenario(_copy(tmp_path, old, new, episodes=False))
    assert resolve_calibration(scenario, None) is None
    assert inputs_of(scenario).sha256 == load_bundle(scenario.name).meta["inputs"]["inputs_sha256"]


def test_an_episodes_edit_that_its_replay_reads_changes_the_key_of_who_learns_from_it(tmp_path):
    path = _copy(tmp_path, *COSMETIC["variant"])
    before = inputs_of(load_scenario(path)).sha256
    jerusalem = path.parent / "jerusalem_2017.toml"
    text = jerusalem.read_text(encoding="utf-8")
    jerusalem.write_text(text.replace("date = 2017-12-21", "date = 2017-12-20", 1), "utf-8")
    assert inputs_of(load_scenario(path)).sha256 != before


def test_episodes_that_name_each_other_are_refused(tmp_path):
    from sim.io.errors import ScenarioError

    folder = tmp_path / "loop"
    folder.mkdir()
    for a, b in (("one", "two"), ("two", "one")):
        text = (ROOT / "scenarios" / "jerusalem_2017.toml").read_text(encoding="utf-8")
        text = text.replace('name = "jerusalem_2017"', f'name = "{a}"')
        earlier = 'episodes = ["palestine_2012", "crimea_2014", "chagos_2017"]'
        assert earlier in text
        text = text.replace(earlier, f'episodes = ["{b}"]', 1)
        (folder / f"{a}.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match="names itself"):
        calibration_inputs(load_scenario(folder / "one.toml"))


def test_without_data_a_bundle_cached_for_the_same_inputs_is_found(tmp_path, monkeypatch):
    """A user's own scenario calibrated while the data were there is still found without
    them, whatever data it was fitted on."""
    monkeypatch.delenv("SIM_DATA_DIR", raising=False)
    monkeypatch.setenv("SIM_CACHE_DIR", str(tmp_path / "cache"))
    path = _copy(tmp_path, 'name = "icj_referral_2022"', 'name = "my_icj"')
    scenario = load_scenario(path)
    shipped = load_bundle("icj_referral_2022")
    meta = calibrate.keyed(dict(shipped.meta), inputs_of(scenario), "d" * 64)
    root = calibrate.calibration_cache_dir() / "my_icj-0123456789abcdef"
    calibrate.write_bundle(shipped.members, meta, root / "my_icj")
    assert resolve_calibration(scenario, None) == root
    calibrate.write_bundle(shipped.members, meta, root.with_name("my_icj-x") / "my_icj")
    with pytest.raises(DataError, match="2 calibrations of 'my_icj' on different roll-call data"):
        resolve_calibration(scenario, None)


def test_sim_check_resolves_the_named_roll_calls_against_the_data(
    tmp_path, monkeypatch, data_dir, sim_cli
):
    monkeypatch.setenv("SIM_DATA_DIR", str(data_dir))
    unknown = _copy(tmp_path, *RECALIBRATING["like"][:2])
    later = tmp_path / "later.toml"  # Jerusalem 2017 "like" a text voted three years after it
    text = (ROOT / "scenarios" / "jerusalem_2017.toml").read_text(encoding="utf-8")
    assert text.count('like = "A/RES/72/15"') == 2
    later.write_text(text.replace('like = "A/RES/72/15"', 'like = "A/RES/75/98"', 1), "utf-8")
    shipped = ROOT / "scenarios" / "hrc_suspension_2022.toml"
    run = sim_cli("check", shipped, unknown, later)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 2, run.stderr
    assert "item.like: no roll call with symbol 'A/RES/99/999' in the data" in lines[0]
    assert "item.like: expected a roll call before the resolution (2017-12-21)" in lines[1]
    assert "2020-12-10" in lines[1]
    assert "hrc_suspension_2022.toml: ok" in run.stdout
    assert "roll calls found in" in run.stdout
