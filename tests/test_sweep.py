"""Parameter sweeps: the grid, validation before any work, resumption, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.io.errors import ScenarioError
from sim.io.scenario import load_scenario
from sim.run import sweep as sweep_module
from sim.run.sweep import Sweep, grid_from_assignments, override, parse_assignment, run_sweep

ROOT = Path(__file__).resolve().parents[1]
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"
CREDIBILITY = "events.netanyahu_call.offer.credibility"


def icj_sweep(*assignments: str, draws: int = 60) -> Sweep:
    return Sweep(scenario=ICJ, grid=grid_from_assignments(assignments), draws=draws, seed=5)


def test_values_are_read_as_toml_and_bare_words_as_text():
    assert parse_assignment("model.support_value=1, 2.5") == ("model.support_value", [1, 2.5])
    key, values = parse_assignment(f"{CREDIBILITY}=firm,0.5,{{dist = 'beta', a = 2, b = 6}}")
    assert key == CREDIBILITY
    assert values == ["firm", 0.5, {"dist": "beta", "a": 2, "b": 6}]


@pytest.mark.parametrize("text", ["model.support_value", "=1,2", "model.support_value=", "k=1,,2"])
def test_malformed_assignments_are_refused(text):
    with pytest.raises(ScenarioError, match="sweep"):
        parse_assignment(text)


def test_override_finds_events_by_id_and_creates_tables():
    raw = {"events": [{"id": "a", "offer": {"credibility": "talks"}}], "model": {}}
    override(raw, "events.a.offer.credibility", 0.5)
    override(raw, "members.UKR.security_needs.air_defence", 0.2)
    assert raw["events"][0]["offer"]["credibility"] == 0.5
    assert raw["members"] == {"UKR": {"security_needs": {"air_defence": 0.2}}}
    with pytest.raises(ScenarioError, match="no event with id 'b'"):
        override(raw, "events.b.offer.credibility", 0.5)


def test_the_grid_is_full_factorial_with_the_last_key_fastest():
    plan = icj_sweep("model.support_value=1,2", f"{CREDIBILITY}=0,talks,firm")
    assert len(plan.points) == 6
    assert plan.points[1] == {"model.support_value": 1, CREDIBILITY: "talks"}
    assert plan.points[3] == {"model.support_value": 2, CREDIBILITY: 0}


def test_a_bad_value_names_the_point_and_key_and_nothing_is_written(tmp_path):
    plan = icj_sweep(f"{CREDIBILITY}=0.5,1.5")
    with pytest.raises(ScenarioError) as info:
        run_sweep(plan, tmp_path / "out")
    message = str(info.value)
    assert "sweep point 1" in message
    assert "credibility" in message
    assert "[0.0, 1.0]" in message
    assert not (tmp_path / "out").exists()


def test_a_sweep_of_credibility_lowers_ukraines_yes_monotonically(tmp_path):
    points, members = run_sweep(icj_sweep(f"{CREDIBILITY}=0,0.3,0.6,0.9"), tmp_path)
    ukr = members[members["iso3"] == "UKR"]
    odds = ukr[["p_yes", "p_no", "p_abstain", "p_absent"]].to_numpy()
    np.testing.assert_allclose(odds.sum(axis=1), 1.0, atol=1e-9)
    assert np.all(np.diff(ukr["p_yes"].to_numpy()) < 0)  # common draws: no noise between points
    assert list(points[CREDIBILITY]) == [0, 0.3, 0.6, 0.9]
    assert points["p_adopted"].between(0.0, 1.0).all()
    for name in ("points.csv", "members.csv", "manifest.json", "points/0003.json"):
        assert (tmp_path / name).exists()


def test_an_interrupted_sweep_resumes_without_redoing_finished_points(tmp_path, monkeypatch):
    plan = icj_sweep(f"{CREDIBILITY}=0,0.5,firm")
    run_sweep(plan, tmp_path)
    first = {name: (tmp_path / name).read_bytes() for name in ("points.csv", "members.csv")}
    (tmp_path / "points" / "0001.json").unlink()  # as if stopped before point 1 finished
    (tmp_path / "points.csv").unlink()
    ran = []
    real = sweep_module._replay_point
    monkeypatch.setattr(sweep_module, "_replay_point", lambda i, *a: ran.append(i) or real(i, *a))
    run_sweep(plan, tmp_path)
    assert ran == [1]
    for name, data in first.items():
        assert (tmp_path / name).read_bytes() == data


def test_worker_processes_change_no_byte(tmp_path):
    plan = icj_sweep(f"{CREDIBILITY}=0,0.5,firm", draws=40)
    run_sweep(plan, tmp_path / "one", workers=1)
    run_sweep(plan, tmp_path / "two", workers=2)
    for name in ("points.csv", "members.csv", "points/0002.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_another_sweep_in_the_same_folder_is_refused_unless_restarted(tmp_path):
    run_sweep(icj_sweep(f"{CREDIBILITY}=0,firm"), tmp_path)
    other = icj_sweep("model.support_value=1,3")
    with pytest.raises(ScenarioError, match="another sweep"):
        run_sweep(other, tmp_path)
    points, _ = run_sweep(other, tmp_path, restart=True)
    assert list(points["model.support_value"]) == [1, 3]


def test_the_command_line_sweeps_and_refuses_bad_input(tmp_path):
    runner = CliRunner()
    args = ["sweep", str(ICJ), "--set", f"{CREDIBILITY}=0,firm", "--draws", "40"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "ok")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ok" / "sweep_UKR.png").exists()
    bad = runner.invoke(app, [*args[:3], f"{CREDIBILITY}=2", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2
    assert "sweep point 0" in bad.output
    assert not (tmp_path / "bad").exists()


def test_a_recalibration_between_runs_is_not_mixed_into_a_resumed_sweep(tmp_path):
    import shutil

    from sim.io.bundles import bundle_dir

    bundles = tmp_path / "bundles"
    shutil.copytree(bundle_dir(), bundles)
    plan = Sweep(
        scenario=ICJ, grid=grid_from_assignments([f"{CREDIBILITY}=0,firm"]), draws=40,
        calibration=bundles,
    )  # fmt: skip
    run_sweep(plan, tmp_path / "out")
    meta = bundles / "icj_referral_2022" / "calibration.json"
    meta.write_text(meta.read_text() + "\n")  # as if `sim calibrate` had rewritten it
    with pytest.raises(ScenarioError, match="calibration bundle"):
        run_sweep(plan, tmp_path / "out")


def test_a_users_own_scenario_is_calibrated_once_not_per_point(tmp_path, monkeypatch):
    # Each point's file differs, so each would have its own calibration key (and fit) if the
    # points resolved their calibration themselves; the sweep resolves it once, from the file.
    from sim.run import calibrate

    own = tmp_path / "my_referral.toml"
    own.write_text(ICJ.read_text().replace('name = "icj_referral_2022"', 'name = "my_referral"'))
    committed = calibrate.load_bundle("icj_referral_2022")
    fits = []

    def fit(scenario, data, *, progress=False, calibration=None):
        fits.append(scenario.sha256)
        return committed.members, committed.meta

    monkeypatch.setattr(calibrate, "calibrate_scenario", fit)
    monkeypatch.setattr(calibrate, "resolve_data_dir", lambda *a, **k: tmp_path)
    monkeypatch.setattr(calibrate, "load_roll_calls", lambda *a, **k: None)
    plan = Sweep(scenario=own, grid=grid_from_assignments([f"{CREDIBILITY}=0,0.5,firm"]), draws=20)
    points, _ = run_sweep(plan, tmp_path / "out")
    assert len(points) == 3
    assert len(fits) == 1
    assert fits[0] == load_scenario(own).sha256  # the file as given, not a point's
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert "my_referral-" in manifest["calibration"]["folder"]
