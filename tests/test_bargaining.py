"""The bargaining game (MODEL.md §4): the target's exact response at every offer, the patron's
best response for every cost ratio, both sides' surpluses, and bad requests refused."""

from __future__ import annotations

import filecmp
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.core.acts import ACTS
from sim.game.bargaining import logit_surplus, upper_hull
from sim.io.errors import ScenarioError
from sim.run.bargain import price_offer
from sim.run.replay import replay

ROOT = Path(__file__).resolve().parents[1]
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"
JERUSALEM = ROOT / "scenarios" / "jerusalem_2017.toml"
DRAWS = 200
GRID = (0.25, 0.5, 0.9)


@cache
def ukraine():
    return price_offer(ICJ, event="netanyahu_call", target="UKR", credibilities=GRID,
                       n_draws=DRAWS, seed=11)  # fmt: skip


@given(
    st.lists(st.tuples(st.floats(0, 10), st.floats(-5, 5)), min_size=1, max_size=12),
    st.floats(0, 50),
)
def test_the_hull_holds_every_best_response(points, r):
    """Whatever the cost ratio, a maximiser of y - r x picks a point on the upper hull."""
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    hull = upper_hull(x, y)
    payoff = y - r * x
    assert payoff[hull].max() >= payoff.max() - 1e-9
    assert list(x[hull]) == sorted(x[hull])  # cheapest first, gains rising
    assert all(np.diff(y[hull]) > 0)


@given(
    st.lists(st.floats(-8, 8), min_size=4, max_size=4),
    st.lists(st.floats(-8, 8), min_size=3, max_size=3),
)
def test_the_logit_surplus_is_the_change_in_expected_maximum_utility(before, votes_after):
    """With absence's utility fixed, -d log P(absent) is the change in log sum exp U."""
    u0 = np.array(before)
    u1 = np.array([*votes_after, before[3]])
    p0, p1 = np.exp(u0) / np.exp(u0).sum(), np.exp(u1) / np.exp(u1).sum()
    exact = np.log(np.exp(u1).sum()) - np.log(np.exp(u0).sum())
    assert float(logit_surplus(p0[3], p1[3])) == pytest.approx(exact, abs=1e-9)


def test_the_target_answers_every_offer_with_odds_that_sum_to_one_and_rise_with_it():
    b = ukraine()
    assert list(b.credibility) == [0.0, *GRID]  # no commitment is always a choice
    np.testing.assert_allclose(b.odds.sum(axis=1), 1.0, atol=1e-12)
    asked = b.odds[:, ACTS.index("no")] + b.odds[:, ACTS.index("abstain")]
    assert np.all(np.diff(asked) > 0)  # a firmer offer buys more of what was asked
    assert np.all(np.diff(b.compliance) > 0)
    assert b.target_surplus[0] == 0.0
    assert np.all(np.diff(b.target_surplus) > 0)


def test_the_response_at_an_offer_is_the_replay_with_that_credibility(tmp_path):
    """Pricing changes nothing but the credibility: the same draws as a replay of the file with
    the call's credibility fixed at that value."""
    text = ICJ.read_text(encoding="utf-8")
    fixed = text.replace('credibility = "talks" }', "credibility = 0.5 }", 1)
    assert fixed != text
    path = tmp_path / "icj_referral_2022.toml"
    path.write_text(fixed, encoding="utf-8")
    row = replay(path, n_draws=DRAWS, seed=11).member("UKR")
    expected = np.array([row[f"p_{a}"] for a in ACTS])
    np.testing.assert_allclose(ukraine().odds[2], expected, rtol=1e-10)


def test_the_patron_commits_more_the_cheaper_commitment_is():
    b = ukraine()
    free, dear = b.best_response(0.0), b.best_response(1e6)
    assert free["credibility"] == b.credibility[np.argmax(b.compliance)]
    assert dear["credibility"] == 0.0
    assert dear["patron_surplus"] == 0.0
    chosen = [b.best_response(r)["credibility"] for r in (10.0, 3.0, 1.0, 0.3, 0.0)]
    assert chosen == sorted(chosen)
    points = b.switch_points
    assert points["cost_ratio_high"].iloc[0] == np.inf
    assert points["cost_ratio_low"].iloc[-1] == 0
    # At each switch the patron is indifferent between the two offers.
    for low, high in zip(points.iloc[:-1].itertuples(), points.iloc[1:].itertuples(), strict=True):
        r = low.cost_ratio_low
        assert high.cost_ratio_high == pytest.approx(r)
        a = low.compliance - r * low.credibility * b.need
        c = high.compliance - r * high.credibility * b.need
        assert a == pytest.approx(c, abs=1e-12)


def test_a_solved_game_writes_the_same_bytes_twice(tmp_path):
    names = ["offers.csv", "switch_points.csv", "summary.json", "manifest.json", "bargain.png"]
    for sub in ("a", "b"):
        ukraine().write(tmp_path / sub, cost_ratio=1.0)
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", names,
                                               shallow=False)  # fmt: skip
    assert match == names, (mismatch, errors)


# Variants appended to the ICJ file for the refusals that need another timeline.
EXTRA_VARIANTS = """
[variants.earlier_offer]
description = "The November summons also offers air defence."
patch.ambassador_summoned = { offer = { kind = "air_defence", size = "x", credibility = "talks" } }

[variants.wider_call]
description = "The call also reaches the UK."
patch.netanyahu_call = { targets = ["UKR", "GBR"] }
"""


@pytest.mark.parametrize(
    ("variant", "event", "target", "message"),
    [
        (None, "no_such_event", "UKR", "expected an ask or threat"),
        (None, "lapid_letters", "GBR", "offers nothing"),
        (None, "netanyahu_call", "GBR", "does not reach 'GBR'"),
        ("earlier_offer", "ambassador_summoned", "UKR", "superseded for UKR by 'netanyahu_call'"),
        ("wider_call", "netanyahu_call", "GBR", "GBR has no need for 'air_defence'"),
    ],
)
def test_an_offer_that_cannot_be_priced_is_refused_with_the_reason(
    tmp_path, variant, event, target, message
):
    path = tmp_path / "icj_referral_2022.toml"
    path.write_text(ICJ.read_text(encoding="utf-8") + EXTRA_VARIANTS, encoding="utf-8")
    with pytest.raises(ScenarioError, match=message):
        price_offer(path, event=event, target=target, variant=variant, credibilities=(0.5,),
                    n_draws=5)  # fmt: skip


def test_a_threat_costs_the_patron_only_when_it_is_defied():
    """Trump's aid threat to Ethiopia (an LDC, need 1): the patron's expected cost is the
    credibility times the need times the odds of the act it threatened (yes), not c * need."""
    b = price_offer(JERUSALEM, event="trump_threat", target="ETH", credibilities=GRID,
                    n_draws=DRAWS, seed=11)  # fmt: skip
    assert b.event_kind == "threat"
    assert b.need == 1.0
    np.testing.assert_allclose(b.odds.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.diff(b.compliance) > 0)  # a more credible threat deters more
    defied = b.odds[:, ACTS.index("yes")]
    np.testing.assert_allclose(b.cost, b.credibility * b.need * defied, rtol=1e-12)
    assert np.all(b.cost < b.credibility * b.need + 1e-12)  # cheaper than a promise
    assert b.best_response(1e6)["credibility"] == 0.0
    assert b.best_response(0.0)["credibility"] == b.credibility[np.argmax(b.compliance)]
    assert b.table()["cost"].tolist() == b.cost.tolist()


def test_the_cli_prices_the_call_and_refuses_a_bad_grid(tmp_path, sim_cli):
    def sim(*args: object):
        return sim_cli("bargain", *args)

    out = tmp_path / "ok"
    run = sim(ICJ, "--event", "netanyahu_call", "--target", "UKR", "--grid", "0.5",
              "--draws", 50, "--cost-ratio", 1, "--no-plots", "--out", out)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "At cost ratio 1: ISR offers credibility" in run.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json", "offers.csv", "summary.json", "switch_points.csv"
    ]  # fmt: skip
    bad = tmp_path / "bad"
    run = sim(ICJ, "--event", "netanyahu_call", "--target", "UKR", "--grid", "0.5,2",
              "--out", bad)  # fmt: skip
    assert run.returncode == 2
    assert "credibilities must lie in [0, 1]" in run.stderr
    assert not bad.exists()
