"""Scenario files: every shipped file loads; bad files fail with one clear line, writing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.io.errors import ScenarioError
from sim.io.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_shipped_scenario_loads_and_every_event_cites_a_source(path):
    scenario = load_scenario(path)
    for variant in scenario.variants:
        for event in scenario.events(variant):
            assert len(event.source) >= 3


def test_the_icj_scenario_has_the_three_variants_the_issue_names():
    s = load_scenario(ICJ)
    assert set(s.variants) == {"as_happened", "no_call", "firm_commitment"}
    assert s.spec.default_variant == "as_happened"
    call = {e.id: e for e in s.events("firm_commitment")}["netanyahu_call"]
    assert call.offer.credibility.mean() > 0.8
    assert "netanyahu_call" not in {e.id for e in s.events("no_call")}


def mutate(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BAD = {
    "unknown key": (
        ('rule = "simple_majority"', 'rule = "simple_majority"\nrulez = 1'),
        "resolution.rulez",
        "unknown key",
    ),
    "wrong type": (("years = 10", 'years = "ten"'), "calibration.years", "integer"),
    "unknown member": (('focal = ["UKR"', 'focal = ["XXX"'), "focal[0]", "ISO3"),
    "credibility word": (
        ('credibility = "talks"', 'credibility = "maybe"'),
        "offer.credibility",
        "firm",
    ),
    "credibility out of range": (
        ('credibility = "talks"', "credibility = 1.5"),
        "offer.credibility",
        "[0.0, 1.0]",
    ),
    "need out of range": (
        ("air_defence = 1.0, early", "air_defence = 1.5, early"),
        "members.UKR.security_needs.air_defence",
        "1",
    ),
    "event without source": (
        ('source = "kurier.at', 'sourcex = "kurier.at'),
        "events[0] (gantz_early_warning).source",
        "missing",
    ),
    "event after the vote": (
        ("date = 2022-11-28", "date = 2023-01-05"),
        "events[4] (lapid_letters).date",
        "known before the vote",
    ),
    "variant of nothing": (
        ('drop = ["netanyahu_call"', 'drop = ["netanyahu_cal"'),
        "variants.no_call",
        "does not exist",
    ),
    "episode not a file name": (
        ('episodes = ["palestine_2012"', 'episodes = ["Palestine 2012"'),
        "calibration.episodes[0]",
        "pattern",
    ),
    "addressees on a note": (
        (
            'targets = ["UKR"]\ndescription = "Gantz',
            'targets = ["UKR"]\naddressees = 2\ndescription = "Gantz',
        ),
        "events[0] (gantz_early_warning)",
        "addressees is for an ask or a threat",
    ),
    "fewer addressees than named": (
        ("addressees = 51", "addressees = 5"),
        "events[4] (lapid_letters)",
        "at least 13",
    ),
    "no addressees": (
        ("addressees = 51", "addressees = 0"),
        "events[4] (lapid_letters).addressees",
        "greater than or equal to 1",
    ),
    "yes for true": (
        ('like = "A/RES/75/98"', 'like = "A/RES/75/98"\nnew_text = "yes"'),
        "item.new_text",
        "boolean",
    ),
    "like and by_title": (
        ('like = "A/RES/75/98"', 'like = "A/RES/75/98"\nby_title = true'),
        "item",
        "not both",
    ),
    "neither like nor by_title": (('like = "A/RES/75/98"', ""), "item", "by_title = true"),
    "absence reading above 1": (
        ('acts = ["no", "abstain"]\ntie', 'acts = ["no", "abstain"]\nabsence_reading = 1.2\ntie'),
        "events[3] (ambassador_summoned).absence_reading",
        "less than or equal to 1",
    ),
    "absence reading below 0": (
        ('acts = ["no", "abstain"]\ntie', 'acts = ["no", "abstain"]\nabsence_reading = -0.1\ntie'),
        "events[3] (ambassador_summoned).absence_reading",
        "greater than or equal to 0",
    ),
    "by_title with new_text": (
        ('like = "A/RES/75/98"', "by_title = true\nnew_text = true"),
        "item",
        "drop new_text",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_file_names_the_file_the_key_and_what_was_expected(case, tmp_path):
    (old, new), key, expected = BAD[case]
    bad = tmp_path / "bad.toml"
    bad.write_text(mutate(ICJ.read_text(), old, new))
    with pytest.raises(ScenarioError) as info:
        load_scenario(bad)
    message = str(info.value)
    assert str(bad) in message
    assert key in message
    assert expected in message


def test_an_unknown_variant_is_an_error_naming_the_choices():
    with pytest.raises(ScenarioError, match="as_happened, firm_commitment, no_call"):
        load_scenario(ICJ).events("nope")


def test_the_cli_rejects_a_bad_file_with_exit_code_2_and_writes_nothing(tmp_path, sim_cli):
    bad = tmp_path / "bad.toml"
    bad.write_text(mutate(ICJ.read_text(), 'credibility = "talks"', 'credibility = "maybe"'))
    out = tmp_path / "out"
    run = sim_cli("replay", bad, "--out", out, "--draws", 5)
    assert run.returncode == 2
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "offer.credibility" in lines[0]
    assert str(bad) in lines[0]
    assert not out.exists()


def test_the_cli_rejects_an_unknown_variant_with_exit_code_2_and_writes_nothing(tmp_path, sim_cli):
    out = tmp_path / "out"
    run = sim_cli("replay", ICJ, "--variant", "nope", "--out", out)
    assert run.returncode == 2
    assert "variant" in run.stderr
    assert not out.exists()


def test_the_cli_prints_an_error_with_brackets_as_written(tmp_path, sim_cli):
    """Rich reads [a-z] as markup; the error must reach the user whole."""
    bad = tmp_path / "bad.toml"
    bad.write_text(mutate(ICJ.read_text(), '["palestine_2012"', '["Palestine 2012"'))
    run = sim_cli("check", bad)
    assert run.returncode == 2
    assert "'^[a-z][a-z0-9_]*$'" in run.stderr


def test_a_scenario_without_calibration_says_how_to_make_it_and_writes_nothing(tmp_path, sim_cli):
    """A user's own scenario: the error names its file and the calibrate-then-replay commands."""
    own = tmp_path / "own.toml"
    own.write_text(mutate(ICJ.read_text(), 'name = "icj_referral_2022"', 'name = "my_own_vote"'))
    out, bundles = tmp_path / "out", tmp_path / "bundles"
    run = sim_cli("replay", own, "--out", out, "--draws", 5, "--calibration", bundles)
    assert run.returncode == 2
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "'my_own_vote'" in lines[0]
    assert f"sim calibrate {own} --out {bundles}" in lines[0]
    assert f"--calibration {bundles}" in lines[0]
    assert not out.exists()


def test_a_new_text_by_title_cannot_condition_on_a_previous_roll_call(tmp_path):
    jerusalem = ROOT / "scenarios" / "jerusalem_2017.toml"
    bad = tmp_path / "bad.toml"
    text = mutate(jerusalem.read_text(), 'like = "A/RES/72/15"\nnew_text = true', "by_title = true")
    bad.write_text(text)
    with pytest.raises(ScenarioError, match=r"previous: .*give item.like instead"):
        load_scenario(bad)
