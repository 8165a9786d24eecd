"""Targeting (MODEL.md §4): whom a patron should ask. The ranking's numbers must be the replay's
own (an ask moves only the member it reaches), the best list must beat any other of its size,
and bad requests are refused before anything is written."""

from __future__ import annotations

import filecmp
import tomllib
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from sim.core.acts import ACTS
from sim.core.tally import prob_adopted
from sim.game.targeting import adoption_gains, outcome_order
from sim.io.errors import ScenarioError
from sim.io.scenario import load_scenario, validate_scenario
from sim.run.prepare import PATRON_DRAWS, complete_addressees
from sim.run.replay import replay
from sim.run.sweep import override
from sim.run.target import plan_targets

ROOT = Path(__file__).resolve().parents[1]
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"
DRAWS = 120
SEED = 5


def _without_addressees(path=ICJ):
    raw = tomllib.loads(path.read_text())
    for e in raw["events"]:
        e.pop("addressees", None)
    return raw


@cache
def letters():
    return plan_targets(ICJ, event="lapid_letters", calls=6, n_draws=DRAWS, seed=SEED)


def test_the_scenarios_list_gives_the_replay_itself():
    """Asked as written, the plan's assembly is the plain replay's, draw for draw."""
    plan = letters().plans["scenario"]
    plain = replay(ICJ, n_draws=DRAWS, seed=SEED)
    for act, value in plain.tally.mean().items():
        assert plan[f"expected_{act}"] == pytest.approx(value, abs=1e-9)
    assert plan["p_adopted"] == pytest.approx(plain.tally.prob_pass(), abs=1e-12)
    assert len(plan["members"]) == 51  # the 13 the press names, 38 picked by Israel


def test_the_best_list_is_what_a_replay_of_that_list_gives():
    """The plan's best list, written into the scenario as the event's targets and replayed,
    gives the same expected tally: an ask moves only the member it reaches."""
    t = letters()
    best = t.plans["model"]["members"]
    assert len(best) == 6
    # exactly the plan's list, nobody picked on top
    raw = override(_without_addressees(), "events.lapid_letters.targets", best)
    widened = validate_scenario(raw, sha256="x", path=ICJ, where="test")
    result = replay(widened, n_draws=DRAWS, seed=SEED)
    for act, value in result.tally.mean().items():
        assert t.plans["model"][f"expected_{act}"] == pytest.approx(value, abs=1e-9)


def test_the_ranking_is_greedy_and_beats_the_scenarios_list():
    t = letters()
    assert np.all(np.diff(t.gain) <= 1e-12)  # best first
    steps = np.diff(t.curve["compliance_gain"].to_numpy())
    assert np.all(np.diff(steps) <= 1e-12)  # each call adds no more than the one before
    named = int(t.in_scenario.sum())
    assert t.curve["compliance_gain"].iloc[named] >= t.plans["scenario"]["compliance_gain"] - 1e-12
    assert "ISR" not in t.iso3  # nobody lobbies itself
    assert "VEN" not in t.iso3  # no vote (Art. 19): nothing to move
    for odds in (t.base, t.asked):
        assert np.allclose(odds.sum(axis=1), 1.0, atol=1e-9)
    counts = t.curve[[f"expected_{a}" for a in ACTS]].sum(axis=1)
    assert np.allclose(counts, 193.0)


def test_an_ask_for_no_moves_members_toward_no():
    """Lapid's letters ask for no: every gain is non-negative and the top members' no or
    abstention rise while their yes falls."""
    t = letters()
    assert t.gain.min() >= -1e-9
    top = slice(0, 10)
    moved_down = (t.asked[top, 0] <= t.base[top, 0] + 1e-12).all()
    assert moved_down
    assert (t.asked[top, 1] >= t.base[top, 1] - 1e-12).all()


def test_bad_requests_are_refused():
    with pytest.raises(ScenarioError, match="'netanyahu_sworn_in' is a note"):
        plan_targets(ICJ, event="netanyahu_sworn_in", n_draws=5)
    with pytest.raises(ScenarioError, match="'nope' is not an event"):
        plan_targets(ICJ, event="nope", n_draws=5)
    with pytest.raises(ScenarioError, match="calls: expected 0 to"):
        plan_targets(ICJ, event="lapid_letters", calls=500, n_draws=5)


def test_the_cli_writes_the_same_bytes_twice_and_refuses_a_bad_event(tmp_path, sim_cli):
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        run = sim_cli("target", ICJ, "--event", "lapid_letters", "--calls", 3, "--draws", 40,
                      "--show", 3, "--no-plots", "--out", out)  # fmt: skip
        assert run.returncode == 0, run.stderr
    assert "the best 3" in run.stdout
    names = sorted(p.name for p in outs[0].iterdir())
    assert names == ["curve.csv", "manifest.json", "summary.json", "targets.csv"]
    same, _, _ = filecmp.cmpfiles(*outs, names, shallow=False)
    assert same == names
    bad = tmp_path / "bad"
    run = sim_cli("target", ICJ, "--event", "zelensky_counter_ask", "--out", bad)
    assert run.returncode == 2
    assert "expected an ask or a threat" in run.stderr
    assert not bad.exists()


@pytest.mark.parametrize("rule", ["simple_majority", "two_thirds"])
def test_adoption_gains_are_the_change_from_asking_one_member_alone(rule):
    """In a close assembly, each member's adoption gain is the probability of adoption with its
    row replaced by the asked odds, minus the baseline's: exact, from one DP."""
    rng = np.random.default_rng(3)
    base = rng.dirichlet([3.0, 3.0, 1.0, 1.0], size=(40, 9))
    asked = rng.dirichlet([1.0, 4.0, 2.0, 1.0], size=(40, 9))
    gains, decisive = adoption_gains(base, asked, rule=rule)
    before = prob_adopted(base, rule=rule)
    assert np.abs(gains).max() > 0.01  # a close vote: calls matter
    for j in range(9):
        one = base.copy()
        one[:, j] = asked[:, j]
        assert gains[j] == pytest.approx((prob_adopted(one, rule=rule) - before).mean(), abs=1e-12)
        yes, no = base.copy(), base.copy()
        yes[:, j], no[:, j] = [1.0, 0, 0, 0], [0, 1.0, 0, 0]
        swing = prob_adopted(yes, rule=rule) - prob_adopted(no, rule=rule)
        assert decisive[j] == pytest.approx(swing.mean(), abs=1e-12)


def test_a_patron_after_the_outcome_picks_greedily_for_it():
    """In a close assembly a patron that wants defeat picks, call after call, the member whose
    ask lowers the probability of adoption most given the calls before (checked against exact
    recomputation); the rest follow in the order by votes."""
    rng = np.random.default_rng(4)
    base = rng.dirichlet([3.0, 2.5, 1.0, 1.0], size=(40, 9))
    asked = rng.dirichlet([1.0, 4.0, 2.0, 1.0], size=(40, 9))
    by_votes = np.arange(9)[::-1]
    order = outcome_order(base, asked, by_votes, wants=-1.0, calls=3, rule="simple_majority")
    assert sorted(order) == list(range(9))
    current = base.copy()
    for j in order[:3]:
        before = prob_adopted(current, rule="simple_majority").mean()
        drops = {}
        for k in set(range(9)) - set(order[: order.index(j)]):
            trial = current.copy()
            trial[:, k] = asked[:, k]
            drops[k] = before - prob_adopted(trial, rule="simple_majority").mean()
        assert drops[j] == pytest.approx(max(drops.values()), abs=1e-12)
        assert drops[j] > 0
        current[:, j] = asked[:, j]
    rest = [k for k in by_votes if k not in order[:3]]
    assert order[3:] == rest


def test_when_no_call_moves_the_outcome_the_outcome_list_is_the_votes_list():
    """The ICJ referral passes in every draw whoever is asked: the outcome objective falls back
    to the ranking by votes."""
    t = plan_targets(ICJ, event="lapid_letters", calls=6, objective="outcome", n_draws=DRAWS,
                     seed=SEED)  # fmt: skip
    assert t.iso3 == letters().iso3
    assert t.objective == "outcome"
    with pytest.raises(ScenarioError, match="objective: expected votes or outcome"):
        plan_targets(ICJ, event="lapid_letters", objective="pivot", n_draws=5)


# -- addressees the sources do not name (complete_addressees) ---------------------------------


def test_unnamed_addressees_are_the_head_of_the_patrons_ranking():
    """Lapid wrote to more than 50 leaders, 13 of them named: the other 38 are the members the
    ranking of the named-only scenario puts first among those not named, at the patron's
    draws."""
    scenario = load_scenario(ICJ)
    completed, picked = complete_addressees(scenario, "as_happened", seed=SEED)
    chosen = picked["lapid_letters"]
    assert len(chosen) == 38
    named_only = validate_scenario(_without_addressees(), sha256="x", path=ICJ, where="test")
    ranking = plan_targets(named_only, event="lapid_letters", n_draws=PATRON_DRAWS, seed=SEED)
    not_named = [c for c, s in zip(ranking.iso3, ranking.in_scenario, strict=True) if not s]
    assert list(chosen) == not_named[:38]
    letters_event = {e.id: e for e in completed.events("as_happened")}["lapid_letters"]
    assert letters_event.addressees is None
    assert len(set(letters_event.targets)) == 51
    # the gains of the picked members are the largest of the members not named
    gain = dict(zip(ranking.iso3, ranking.gain, strict=True))
    assert min(gain[c] for c in chosen) >= max(gain[c] for c in not_named[38:]) - 1e-12


def test_a_replay_with_addressees_is_the_replay_of_the_completed_list():
    _, picked = complete_addressees(load_scenario(ICJ), "as_happened", seed=SEED)
    raw = _without_addressees()
    letters_raw = next(e for e in raw["events"] if e["id"] == "lapid_letters")
    raw = override(raw, "events.lapid_letters.targets",
                   [*letters_raw["targets"], *picked["lapid_letters"]])  # fmt: skip
    explicit = validate_scenario(raw, sha256="x", path=ICJ, where="test")
    a = replay(ICJ, n_draws=DRAWS, seed=SEED)
    b = replay(explicit, n_draws=DRAWS, seed=SEED)
    assert np.array_equal(a.odds, b.odds)
    assert any("lapid_letters" in n and "Israel's best response" in n for n in a.setup.notes)
    assert a.summary()["picked_addressees"] == {"lapid_letters": list(picked["lapid_letters"])}
    # the patron's choice rests on its own draws: the same list whatever the replay's draws
    c = replay(ICJ, n_draws=DRAWS // 2, seed=SEED)
    assert [n for n in c.setup.notes if "lapid" in n] == [n for n in a.setup.notes if "lapid" in n]


def test_more_addressees_than_members_is_an_error_naming_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(ICJ.read_text().replace("addressees = 51", "addressees = 400"))
    with pytest.raises(
        ScenarioError, match=r"events\[4\] \(lapid_letters\)\.addressees: expected 13"
    ):
        replay(bad, n_draws=5)


def test_addressees_all_named_change_nothing(tmp_path):
    exact = tmp_path / "icj_referral_2022.toml"
    exact.write_text(ICJ.read_text().replace("addressees = 51", "addressees = 13"))
    a = replay(exact, n_draws=20, seed=SEED)
    named_only = validate_scenario(_without_addressees(), sha256="x", path=ICJ, where="test")
    b = replay(named_only, n_draws=20, seed=SEED)
    assert np.array_equal(a.odds, b.odds)
    assert a.summary()["picked_addressees"] == {"lapid_letters": []}
    assert not any("lapid_letters" in n for n in a.setup.notes)
