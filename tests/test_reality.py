"""MODEL.md §7: checks against reality, each with its FACTS.md row and the reason for its tolerance.

The numbers come from the committed calibration (fitted on real roll calls before each vote) and
the scenarios' cited events; nothing here is tuned per country. Checks the model does not yet
pass are marked ``xfail(strict=True)``: they run, and turn into failures the day they pass, so
the gap stays visible rather than hidden.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit

from sim.core.acts import ACTS
from sim.io.bundles import load_bundle
from sim.run.replay import replay

ROOT = Path(__file__).resolve().parents[1]
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"
JERUSALEM = ROOT / "scenarios" / "jerusalem_2017.toml"
HRC = ROOT / "scenarios" / "hrc_suspension_2022.toml"
DRAWS = 400


@cache
def run(path: Path, variant: str):
    return replay(path, variant=variant, n_draws=DRAWS, seed=20221230)


def earlier_yes_voters(variant: str):
    members = run(JERUSALEM, variant).members
    return members[members["previous_act"] == "yes"]


# §7.1 / FACTS.md §4: yes -> yes .945, abstain .015, absent .040 (same country, same title,
# consecutive sessions 2011-2019, n = 28,953). The model fitted on those sessions predicts every
# such pair from the text's earlier vote (its item, the member's act on it, the gap between the
# two); its mean prediction for earlier yes voters must match. Tolerance: the shares of 28,953
# pairs have standard errors below 0.002, but the model is fitted by issue-free static ideal
# points over nine years, so a few points of misfit on yes and absent, and one on abstain, are
# allowed.
@pytest.mark.slow
def test_without_pressure_earlier_yes_voters_mostly_vote_yes_again(data_dir):
    import pandas as pd

    from sim.core.predict import member_odds
    from sim.estimate.ideal_points import persistence_pairs
    from sim.estimate.window import fit_window
    from sim.io.data import load_roll_calls

    data = load_roll_calls(data_dir)
    start, end = pd.Timestamp("2011-09-01"), pd.Timestamp("2020-01-01")
    fit = fit_window(data, start=start, end=end, dimension="all")
    est, window = fit.est, fit.window
    votes = window.votes[window.votes["rcid"].isin(est.items_.index)]
    pairs = persistence_pairs(votes, window.roll_calls.loc[est.items_.index], key="text")
    pairs = pairs[pairs["act_prev"] == 0]  # earlier yes voters
    predicted = []
    for (prev, _), group in pairs.groupby(["rcid_prev", "rcid_next"]):
        members = est.members_.loc[group["iso3"]]
        item = est.items_.loc[prev, ["discrimination", "cut_abstain", "cut_yes", "presence"]]
        odds = member_odds(
            members["ideal_point"].to_numpy(), members["participation"].to_numpy(),
            group["act_prev"].to_numpy(), item=item.to_dict(), persistence=fit.persistence,
            gamma=fit.absence["gamma"], tau=fit.group_shock["tau"],
            participation_sd=members["participation_se"].to_numpy(),
            gap=group["gap"].to_numpy(),
        )  # fmt: skip
        predicted.append(pd.DataFrame(odds, columns=["yes", "no", "abstain", "absent"]))
    shares = pd.concat(predicted).mean()
    assert len(pairs) > 20_000
    assert shares["yes"] == pytest.approx(0.945, abs=0.03)
    assert shares["abstain"] == pytest.approx(0.015, abs=0.01)
    assert shares["absent"] == pytest.approx(0.040, abs=0.03)


# §7.2 / FACTS.md §4: about 10% of members miss a typical recorded vote (mean 9.9%, most sessions
# 7-13%); a handful of small missions miss most votes; Ukraine misses about 1%.
def test_absence_base_rates_follow_the_calibrated_participation():
    bundle = load_bundle("icj_referral_2022")
    presence = bundle.item["presence"]  # the last vote on the agenda item, a typical roll call
    p_absent = 1 - expit(bundle.members["participation"] + presence)
    assert 0.07 <= p_absent.mean() <= 0.13
    assert 1 <= int((p_absent > 0.5).sum()) <= 15
    assert p_absent["UKR"] < 0.03


# §7.3 / FACTS.md §2: of 72/15's yes voters, on ES-10/19 about 13% abstained and 9% were absent.
def test_the_jerusalem_threat_moves_earlier_yes_voters_to_abstain_and_absent():
    threat = earlier_yes_voters("as_happened")
    calm = earlier_yes_voters("no_threat")
    assert threat["p_abstain"].mean() > calm["p_abstain"].mean()
    assert threat["p_absent"].mean() > calm["p_absent"].mean()
    assert threat["p_yes"].mean() < calm["p_yes"].mean()


def test_the_jerusalem_threat_moves_about_as_many_as_recorded():
    shares = earlier_yes_voters("as_happened")[["p_abstain", "p_absent"]].mean()
    # Tolerance: the texts differ (FACTS.md §2), so half the recorded shift is taken as enough.
    assert shares["p_abstain"] >= 0.13 / 2
    assert shares["p_absent"] >= 0.09 / 2


# §7.4 / FACTS.md §1: Ukraine voted yes in committee; then three variants of the call.
def most_likely(variant: str) -> str:
    return run(ICJ, variant).most_likely("UKR")


def test_with_no_call_yes_stays_ukraines_most_likely_act():
    assert most_likely("no_call") == "yes"


def test_under_a_firm_commitment_abstain_or_no_overtakes_absence():
    ukr = run(ICJ, "firm_commitment").member("UKR")
    assert max(ukr["p_abstain"], ukr["p_no"]) > ukr["p_absent"]
    assert most_likely("firm_commitment") in ("abstain", "no")


@pytest.mark.xfail(
    strict=True,
    reason="learnt from the six other episodes (leave one out), support is worth about 10 "
    "logits, attendance answers pressure a tenth as much as the logit (evasion 0.07) and an "
    "ask not to support reads absence as a quarter compliance, so the call without commitment "
    "buys an abstention (0.80) and Ukraine's absence stays near its calm 3% (docs/episodes.md)",
)
def test_absence_is_ukraines_likeliest_act_under_an_ask_without_commitment():
    assert most_likely("as_happened") == "absent"


def test_the_call_as_it_happened_lowers_ukraines_yes_odds():
    assert (
        run(ICJ, "as_happened").member("UKR")["p_yes"] < run(ICJ, "no_call").member("UKR")["p_yes"]
    )


def test_the_plenary_is_replayed_without_reading_the_recorded_outcome(tmp_path):
    """Deleting [outcome] from the file changes nothing the model computes."""
    text = ICJ.read_text()
    stripped = tmp_path / "icj_referral_2022.toml"
    stripped.write_text(text[: text.index("\n[outcome]")])
    a = replay(ICJ, n_draws=20, seed=1)
    b = replay(stripped, n_draws=20, seed=1)
    np.testing.assert_array_equal(a.odds, b.odds)


# FACTS.md §2: before ES-11/3 (7 Apr 2022) Russia warned that a yes or even an abstention would be
# an "unfriendly gesture". Its treaty allies that had abstained on ES-11/2 two weeks earlier
# (Kazakhstan, Kyrgyzstan, Tajikistan) voted no [COMPUTED from the roll calls]. The replay's deal
# parameters are learnt from the 2017 US threat only (its [calibration] episodes), so this is a
# test of what one episode teaches about another, five years and a patron apart.
def test_russias_warning_turns_its_abstaining_treaty_allies_to_no(data_dir):
    from sim.io.data import load_roll_calls
    from sim.io.scenario import load_scenario
    from sim.run.calibrate import recorded_acts

    allies = ["KAZ", "KGZ", "TJK"]
    data = load_roll_calls(data_dir)
    es11_3 = recorded_acts(data, load_scenario(HRC), allies)
    assert [ACTS[a] for a in es11_3] == ["no", "no", "no"]  # what happened, for the record
    warned, calm = run(HRC, "as_happened"), run(HRC, "no_warning")
    for iso3 in allies:
        assert calm.most_likely(iso3) == "abstain"
        assert warned.most_likely(iso3) == "no"


# §7.5 / FACTS.md §1-2: cross-pressured absence is general. The members recorded absent who voted
# in that session (Armenia on ES-11/3; Ukraine, Georgia and Moldova on ES-10/19; Ukraine on 67/19)
# must get far more absence in the replay than without its pressure (the variant without the cited
# asks: the member's calm rate), and each episode's per-member
# log-loss must beat persistence from each member's last public act on the item. Each replay runs
# on its embedded deal, learnt from the episodes before it only: for ES-11/3 that is exactly its
# leave-one-out deal (ES-11/3 is the last episode in the data); for 67/19, the first, the priors.
PALESTINE = ROOT / "scenarios" / "palestine_2012.toml"
CROSS_PRESSURED = {
    HRC: ("no_warning", ["ARM"]),
    JERUSALEM: ("no_threat", ["UKR", "GEO", "MDA"]),
    PALESTINE: ("no_threat", ["UKR"]),
}
#: "Far more": at least twice the calm rate.
FAR_MORE = 2.0


_NOT_YET = pytest.mark.xfail(
    strict=True,
    reason="the episodes read absence as little compliance (reading_not_support about 0.25) "
    "and attendance answers pressure a tenth as much as the logit (evasion about 0.08): the "
    "cited asks move these members to abstain, not out of the hall (Ukraine on 67/19 comes "
    "closest, 1.99 times its calm rate). See docs/episodes.md",
)


#: A ratio of two small probabilities needs more draws than the other checks: at 400 draws
#: Ukraine's ratio on 67/19 reads 2.07, at 4,000 draws 1.99 (seed 20221230) and 1.92 (seed 7).
RATIO_DRAWS = 4000


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=_NOT_YET) for p in CROSS_PRESSURED],
    ids=lambda p: p.stem,
)
def test_cross_pressured_members_stay_away_far_more_than_their_calm_rate(path):
    calm_variant, members = CROSS_PRESSURED[path]
    pressed = replay(path, variant="as_happened", n_draws=RATIO_DRAWS, seed=20221230)
    calm = replay(path, variant=calm_variant, n_draws=RATIO_DRAWS, seed=20221230)
    for iso3 in members:
        assert pressed.member(iso3)["p_absent"] >= FAR_MORE * calm.member(iso3)["p_absent"], iso3


@pytest.mark.parametrize("path", list(CROSS_PRESSURED), ids=lambda p: p.stem)
def test_each_episode_beats_persistence_from_each_members_last_public_act(path, data_dir):
    from sim.io.data import load_roll_calls
    from sim.io.scenario import load_scenario
    from sim.run.episodes import score_episode

    scenario = load_scenario(path)
    deal = load_bundle(scenario.name).meta.get("deal")
    if deal is None:
        pytest.skip(f"{scenario.name} learns from no earlier episode")
    row = score_episode(scenario, load_roll_calls(data_dir), deal, n_draws=DRAWS).row
    assert row["log_loss"] < row["baselines"]["persistence"]
