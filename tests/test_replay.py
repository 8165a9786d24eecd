"""Replays: rows sum to one, the tally agrees with the members, runs are byte-reproducible."""

from __future__ import annotations

import filecmp
from pathlib import Path

import mesa
import numpy as np
import pytest

from sim.core.acts import ACTS
from sim.io.bundles import bundle_dir
from sim.io.errors import DataError
from sim.model.assembly import AssemblyModel
from sim.run.replay import prepare, replay

ROOT = Path(__file__).resolve().parents[1]
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"
P = [f"p_{a}" for a in ACTS]


@pytest.fixture(scope="module")
def as_happened():
    return replay(ICJ, n_draws=300, seed=7)


def test_every_member_of_the_assembly_gets_odds_that_sum_to_one(as_happened):
    members = as_happened.members
    assert len(members) == 193
    assert members["iso3"].is_unique
    assert list(members.columns[:6]) == ["iso3", "name", *P]
    np.testing.assert_allclose(members[P].sum(axis=1), 1.0, rtol=0, atol=1e-9)


def test_a_member_that_lost_its_vote_is_absent_with_probability_one(as_happened):
    venezuela = as_happened.member("VEN")
    assert venezuela["p_absent"] == 1.0


def test_a_principal_votes_among_the_acts_it_asks_of_others(as_happened):
    # Israel asks for no or abstain (the summons, the call) and no (Lapid's letters): it neither
    # votes yes nor stays away, and its own record decides between the two.
    israel = as_happened.member("ISR")
    assert israel["p_yes"] == 0.0
    assert israel["p_absent"] == 0.0
    assert israel["p_no"] > israel["p_abstain"] > 0.0
    assert any("ISR asks others for no or abstain" in n for n in as_happened.summary()["notes"])


def test_without_its_warning_russia_is_not_bound_to_a_no_on_its_own_suspension():
    hrc = ROOT / "scenarios" / "hrc_suspension_2022.toml"
    warned = replay(hrc, n_draws=100, seed=2).member("RUS")
    assert warned["p_no"] == 1.0  # the warning asked every member for no
    calm = replay(hrc, variant="no_warning", n_draws=100, seed=2).member("RUS")
    assert 0.0 < calm["p_no"] < 1.0  # the rule follows the cited ask, not the country


def test_the_replay_is_scored_against_the_recorded_outcome_it_never_read(as_happened):
    score = as_happened.score()
    ukraine = as_happened.member("UKR")
    assert score["acts"] == {"UKR": {"act": "absent", "p": ukraine["p_absent"]}}
    assert score["acts_log_loss"] == pytest.approx(-np.log(ukraine["p_absent"]))
    for act, recorded in zip(ACTS, (87, 26, 53, 27), strict=True):
        entry = score["tally"][act]
        assert entry["recorded"] == recorded
        lo, hi = as_happened.tally.interval(act)
        assert entry["inside"] == (lo <= recorded <= hi)
        assert entry["p_recorded"] == pytest.approx(as_happened.tally.marginal(act)[recorded])
    assert score["adopted"] is True  # 87 yes against 26 no
    assert score["adoption_brier"] == pytest.approx((1.0 - as_happened.tally.prob_pass()) ** 2)
    assert as_happened.summary()["recorded_outcome_for_comparison"]["score"] == score


def test_the_cli_replays_prints_the_odds_and_the_score_and_writes_the_files(tmp_path, sim_cli):
    out = tmp_path / "run"
    run = sim_cli("replay", ICJ, "--draws", 50, "--out", out, "--no-plots")
    assert run.returncode == 0, run.stderr
    text = " ".join(run.stdout.split())
    assert "UKR Ukraine" in text
    assert "P(adopted)" in text
    assert "against the record (not an input)" in text
    assert "UKR absent p=" in text
    names = {p.name for p in out.iterdir()}
    assert names == {"members.csv", "tally.csv", "rounds.csv", "summary.json", "manifest.json"}
    header = (out / "members.csv").read_text().splitlines()[0]
    assert header.startswith("iso3,name,p_yes,p_no,p_abstain,p_absent")


def test_a_scenario_without_a_recorded_outcome_has_no_score(tmp_path):
    text = ICJ.read_text(encoding="utf-8")
    start = text.index("\n[outcome]\n")  # the table, the file's last (not the comments)
    assert "\n[" not in text[start + 1 :]
    path = tmp_path / "icj_referral_2022.toml"
    path.write_text(text[:start] + "\n", encoding="utf-8")
    result = replay(path, n_draws=20, seed=1)
    assert result.score() is None
    assert "recorded_outcome_for_comparison" not in result.summary()


def test_the_expected_tally_is_the_sum_of_member_probabilities(as_happened):
    means = as_happened.tally.mean()
    sums = as_happened.odds.sum(axis=1).mean(axis=0)
    for k, act in enumerate(ACTS):
        assert means[act] == pytest.approx(sums[k], rel=1e-12)
        pmf = as_happened.tally.marginal(act)
        assert float(np.arange(len(pmf)) @ pmf) == pytest.approx(sums[k], rel=1e-9)


def test_the_same_seed_gives_byte_identical_files(tmp_path):
    a = replay(ICJ, n_draws=50, seed=3).write(tmp_path / "a")
    b = replay(ICJ, n_draws=50, seed=3).write(tmp_path / "b")
    names = [
        "members.csv",
        "tally.csv",
        "rounds.csv",
        "summary.json",
        "manifest.json",
        "odds.png",
        "tally.png",
    ]
    match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert match == names, (mismatch, errors)


def test_a_result_that_cannot_be_rendered_writes_no_file(as_happened, tmp_path, monkeypatch):
    """Everything is rendered before the first file is written: a failure leaves nothing."""

    def broken_summary(self):
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(type(as_happened), "summary", broken_summary)
    with pytest.raises(RuntimeError, match="rendering failed"):
        as_happened.write(tmp_path / "out", plots=False)
    assert not (tmp_path / "out").exists()


def test_the_manifest_lists_the_files_the_run_wrote(as_happened, tmp_path):
    import json

    out = as_happened.write(tmp_path / "out", plots=False)
    listed = json.loads((out / "manifest.json").read_text())["files"]
    assert sorted(listed) == sorted(p.name for p in out.iterdir() if p.name != "manifest.json")


def test_another_seed_gives_other_draws():
    a = replay(ICJ, n_draws=20, seed=3).odds
    b = replay(ICJ, n_draws=20, seed=4).odds
    assert not np.array_equal(a, b)


def test_a_firmer_offer_makes_the_asked_acts_more_likely_for_ukraine():
    odds = {
        v: replay(ICJ, variant=v, n_draws=200, seed=5).member("UKR")
        for v in ("no_call", "as_happened", "firm_commitment")
    }
    asked = {v: o["p_no"] + o["p_abstain"] for v, o in odds.items()}
    assert asked["no_call"] < asked["as_happened"] < asked["firm_commitment"]


def test_the_negotiation_rounds_follow_the_timeline(as_happened):
    rounds = as_happened.rounds
    assert list(rounds["date"]) == sorted(rounds["date"])
    assert rounds["date"].iloc[-1] == "2022-12-30"
    # Ukraine's yes odds fall once Israel's asks arrive
    assert rounds["UKR_yes"].iloc[-1] < rounds["UKR_yes"].iloc[0] or len(rounds) == 1


def test_ukraine_counter_asks_for_air_defence_when_asked_without_a_firm_offer(as_happened):
    assert {
        "member": "UKR",
        "asks": "ISR",
        "for": "air_defence",
        "date": "2022-12-30",
        "event": "netanyahu_call",
    } in as_happened.counter_asks


def test_mesa_batch_run_drives_the_model():
    setup = prepare(ICJ, n_draws=10, seed=1)
    rows = mesa.batch_run(
        AssemblyModel, {"setup": setup}, rng=[1], display_progress=False, number_processes=1
    )
    assert rows
    assert rows[-1]["date"] == "2022-12-30"
    assert 0 < rows[-1]["expected_yes"] < 193


def test_common_group_shocks_make_the_tally_more_dispersed_than_independent_votes(as_happened):
    """MODEL.md §5: shocks shared within a draw correlate votes, so the yes count varies more
    than it would if members voted independently with their mean odds."""
    pmf = as_happened.tally.marginal("yes")
    counts = np.arange(len(pmf))
    variance = float(pmf @ counts**2 - (pmf @ counts) ** 2)
    p = as_happened.members["p_yes"].to_numpy()
    assert variance > 1.5 * float((p * (1 - p)).sum())


# -- how the resolution relates to earlier roll calls ---------------------------------------
def _variant_of_jerusalem(tmp_path, *, new_text: bool, same_text: bool):
    text = (ROOT / "scenarios" / "jerusalem_2017.toml").read_text(encoding="utf-8")
    text = text.replace("new_text = true", f"new_text = {str(new_text).lower()}")
    text = text.replace("same_text = false", f"same_text = {str(same_text).lower()}")
    path = tmp_path / f"j_{new_text}_{same_text}.toml"
    path.write_text(text, encoding="utf-8")
    return replay(
        path, variant="no_threat", n_draws=300, seed=4, calibration=_bundle("jerusalem_2017")
    )


def _bundle(name):
    from sim.io.bundles import load_bundle

    return load_bundle(name)


def test_a_new_text_is_placed_less_surely_than_a_revision_of_its_like(tmp_path):
    revised = _variant_of_jerusalem(tmp_path, new_text=False, same_text=False)
    new = _variant_of_jerusalem(tmp_path, new_text=True, same_text=False)
    # Across draws the new text's item moves, so everyone's odds spread more.
    assert new.odds[:, :, 0].std(axis=0).mean() > revised.odds[:, :, 0].std(axis=0).mean()


def test_a_previous_act_on_another_text_carries_less_than_one_on_the_same_text(tmp_path):
    same = _variant_of_jerusalem(tmp_path, new_text=False, same_text=True).members
    other = _variant_of_jerusalem(tmp_path, new_text=False, same_text=False).members
    yes = same["previous_act"] == "yes"
    assert other.loc[yes, "p_yes"].mean() < same.loc[yes, "p_yes"].mean()


def test_a_new_text_needs_a_calibration_that_knows_the_spread_of_new_texts(tmp_path):
    import copy

    from sim.io.bundles import bundle_from_frames
    from sim.io.errors import DataError

    bundle = _bundle("jerusalem_2017")
    meta = copy.deepcopy(bundle.meta)
    del meta["item"]["new_text_location_sd"]
    old = bundle_from_frames(bundle.members, meta)
    with pytest.raises(DataError, match=r"item\.new_text"):
        replay(ROOT / "scenarios" / "jerusalem_2017.toml", n_draws=10, calibration=old)


def test_calm_odds_are_shared_only_between_setups_that_differ_in_asks():
    """A model built on another's calm odds gives the odds it would compute itself; a setup
    that differs in anything the calm odds depend on is refused."""
    from dataclasses import replace

    setup = prepare(ICJ, n_draws=150, seed=3)
    calm = AssemblyModel(replace(setup, asks=()), rng=np.random.default_rng(0))
    shared = AssemblyModel(setup, rng=np.random.default_rng(0), calm_from=calm)
    fresh = AssemblyModel(setup, rng=np.random.default_rng(0))
    for model in (shared, fresh):
        model.run()
    np.testing.assert_array_equal(shared.odds, fresh.odds)
    other = replace(setup, previous=np.full_like(setup.previous, -1))
    with pytest.raises(ValueError, match="differs in previous"):
        AssemblyModel(other, calm_from=calm)


def test_a_new_text_by_title_needs_a_calibration_that_holds_its_mixture(tmp_path, monkeypatch):
    """ICJ's committed calibration was made for item.like: replaying the file with the item
    by title (and no committee tally to fit it to) says to recalibrate, naming the file."""
    text = ICJ.read_text()
    text = text.replace('like = "A/RES/75/98"', "by_title = true", 1)
    start, end = text.index("[committee]"), text.index("[members.UKR]")
    bad = tmp_path / "icj_referral_2022.toml"
    bad.write_text(text[:start] + text[end:])
    # Its inputs differ from the shipped bundle's, so it is not even tried without the data...
    monkeypatch.delenv("SIM_DATA_DIR", raising=False)
    removed = r"other inputs \(\[committee\] removed; item.by_title: False -> True"
    with pytest.raises(DataError, match=removed):
        replay(bad, n_draws=5)
    # ...and given that bundle explicitly, the missing mixture is named.
    with pytest.raises(DataError, match=r"item.by_title: .*run `sim calibrate .*icj_referral"):
        replay(bad, n_draws=5, calibration=bundle_dir())
