"""Vote buying with a budget (MODEL.md §4): the allocation is optimal where the theory says it
is, spends no more than the budget, agrees with the pricing game member by member, and bad
requests fail clearly."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.game.buying import _respond, allocate, buy_outcome, solve_contest
from sim.io.errors import ScenarioError
from sim.run.bargain import price_offer
from sim.run.buy import _wanted, buy_votes

ROOT = Path(__file__).resolve().parents[1]
JERUSALEM = ROOT / "scenarios" / "jerusalem_2017.toml"
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"
DRAWS = 200


def _brute_force(costs: np.ndarray, gains: np.ndarray, budget: float) -> float:
    """The best total gain of one option (or none) per member within the budget."""
    n, k = costs.shape
    best = 0.0
    for pick in itertools.product(range(-1, k), repeat=n):
        cost = sum(costs[j, o] for j, o in enumerate(pick) if o >= 0)
        if cost <= budget + 1e-12:
            best = max(best, sum(gains[j, o] for j, o in enumerate(pick) if o >= 0))
    return best


instances = st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**32 - 1))


@settings(max_examples=60, deadline=None)
@given(instances)
def test_the_allocation_is_optimal_at_every_point_of_its_path(instance):
    """At a budget the path reaches exactly, greedy equals the relaxation's optimum, which
    bounds every whole allocation: brute force cannot do better."""
    n, k, seed = instance
    rng = np.random.default_rng(seed)
    costs = rng.uniform(0.0, 1.0, (n, k)).round(3)
    gains = rng.normal(0.3, 0.5, (n, k)).round(3)
    path = allocate(costs, gains, np.inf).path
    for budget in [0.0, *path["cost"]]:
        a = allocate(costs, gains, float(budget))
        assert a.cost <= budget + 1e-9
        assert _brute_force(costs, gains, float(budget)) <= a.gain + 1e-9
        chosen = [(j, o) for j, o in enumerate(a.choice) if o >= 0]
        assert a.cost == pytest.approx(sum(costs[j, o] for j, o in chosen), abs=1e-12)
        assert a.gain == pytest.approx(sum(gains[j, o] for j, o in chosen), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(instances, st.floats(0.0, 3.0), st.floats(0.0, 3.0))
def test_more_budget_never_buys_less_and_never_overspends(instance, b1, b2):
    n, k, seed = instance
    rng = np.random.default_rng(seed)
    costs, gains = rng.uniform(0.0, 1.0, (n, k)), rng.normal(0.3, 0.5, (n, k))
    low, high = sorted((b1, b2))
    a, b = allocate(costs, gains, low), allocate(costs, gains, high)
    assert a.cost <= low + 1e-9
    assert b.cost <= high + 1e-9
    path = allocate(costs, gains, np.inf).path
    at_path = path["cost"].to_numpy()[path["cost"].to_numpy() <= low + 1e-12]
    if len(at_path):  # the relaxation is concave: a larger budget reaches at least as far
        assert b.gain >= allocate(costs, gains, float(at_path[-1])).gain - 1e-9


def test_an_offer_that_only_loses_is_never_made():
    a = allocate(np.array([[0.0, 1.0], [0.5, 0.5]]), np.array([[-0.1, -0.2], [0.3, -1.0]]), 9.0)
    assert a.choice.tolist() == [-1, 0]
    with pytest.raises(ValueError, match="non-negative"):
        allocate(np.array([[-1.0]]), np.array([[1.0]]), 1.0)


@pytest.fixture(scope="module")
def jerusalem():
    return buy_votes(JERUSALEM, event="trump_threat", budget=3.0, n_draws=DRAWS, seed=3)


def test_the_budget_is_spent_on_the_steepest_offers_and_the_plan_adds_up(jerusalem):
    p = jerusalem
    model = p.plans["model"]
    assert model["spend"] <= 3.0 + 1e-9
    table = p.table()
    asked = table[table["asked"]]
    # every addressee is asked (reach event: the threat reached all); the plan's compliance is
    # the sum of the members' gains, and its spend the sum of their costs
    assert len(asked) == len(p.iso3) == len(model["members"])
    assert model["compliance_gain"] == pytest.approx(asked["gain"].sum(), abs=1e-9)
    assert model["spend"] == pytest.approx(asked["cost"].sum(), abs=1e-9)
    # the scenario's own threat at its own spend buys less than the allocation at 3.0
    assert p.plans["scenario"]["spend"] > 3.0
    assert model["compliance_gain"] > p.plans["scenario"]["compliance_gain"]
    # odds as bought are probabilities
    bought = table[[f"p_{a}_bought" for a in ("yes", "no", "abstain", "absent")]].to_numpy()
    np.testing.assert_allclose(bought.sum(axis=1), 1.0, atol=1e-9)
    # a threat costs only on defiance: committing to a member sure to comply is free
    assert (table["cost"] >= 0).all()


def test_each_members_curve_is_the_pricing_games(jerusalem):
    """The budget's per-member response is the same replay as `sim bargain` for that member."""
    game = price_offer(JERUSALEM, event="trump_threat", target="ETH", n_draws=DRAWS, seed=3)
    j = jerusalem.iso3.index("ETH")
    np.testing.assert_allclose(jerusalem.credibility, game.credibility)
    np.testing.assert_allclose(
        jerusalem.gain[j] - jerusalem.gain[j, 0], game.compliance - game.compliance[0], atol=1e-12
    )
    np.testing.assert_allclose(jerusalem.cost[j], game.cost, atol=1e-12)


def test_more_budget_buys_more_compliance_and_zero_buys_no_commitment():
    low = buy_votes(JERUSALEM, event="trump_threat", budget=0.0, n_draws=DRAWS, seed=3)
    high = buy_votes(JERUSALEM, event="trump_threat", budget=10.0, n_draws=DRAWS, seed=3)
    assert low.plans["model"]["spend"] == 0.0
    assert set(low.plans["model"]["offers"].values()) == {0.0}
    assert high.plans["model"]["compliance_gain"] > low.plans["model"]["compliance_gain"]
    assert high.plans["model"]["expected_yes"] < low.plans["model"]["expected_yes"]


def test_reach_all_asks_only_where_a_call_pays(tmp_path):
    """With calls that cost, a small budget asks few members, each its best value."""
    p = buy_votes(ICJ, event="netanyahu_call", reach="all", call_cost=0.1, budget=0.5,
                  n_draws=DRAWS, seed=3)  # fmt: skip
    offers = p.plans["model"]["offers"]
    assert 0 < len(offers) <= 5
    assert p.plans["model"]["spend"] <= 0.5 + 1e-9
    assert p.plans["scenario"]["members"] == ["UKR"]


def test_the_same_seed_gives_the_same_bytes(tmp_path):
    a = buy_votes(ICJ, event="netanyahu_call", n_draws=DRAWS, seed=5)
    b = buy_votes(ICJ, event="netanyahu_call", n_draws=DRAWS, seed=5)
    a.write(tmp_path / "a", plots=False)
    b.write(tmp_path / "b", plots=False)
    for name in ("purchase.csv", "frontier.csv", "summary.json", "manifest.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


RIVAL_PRINCIPAL = """[principals.TUR]
name = "Turkey (a hypothetical rival, for the tests)"
iso3 = "TUR"

[[needs]]
kind = "oic_solidarity"
who = "bloc:OIC"
need = 1.0
source = "test fixture: a hypothetical need"

[principals.USA]"""

RIVAL_EVENT = """[[events]]
id = "rival_call"
date = 2017-12-20
kind = "ask"
principal = "TUR"
targets = ["all"]
acts = ["yes"]
offer = { kind = "oic_solidarity", size = "solidarity", credibility = "talks" }
description = "A hypothetical rival asks for yes."
source = "test fixture: hypothetical"

[variants.as_happened]"""


@pytest.fixture(scope="module")
def with_rival(tmp_path_factory):
    """The Jerusalem scenario with a hypothetical second buyer asking for yes."""
    text = JERUSALEM.read_text().replace("[principals.USA]", RIVAL_PRINCIPAL, 1)
    path = tmp_path_factory.mktemp("rival") / "rival.toml"
    path.write_text(text.replace("[variants.as_happened]", RIVAL_EVENT, 1))
    return path


def test_a_rival_answers_the_allocation_and_takes_compliance_back(with_rival):
    kwargs = {"event": "trump_threat", "rival": "rival_call", "budget": 5.0, "n_draws": DRAWS}
    idle = buy_votes(with_rival, rival_budget=0.0, seed=3, **kwargs)
    busy = buy_votes(with_rival, rival_budget=5.0, seed=3, **kwargs)
    before, after = busy.plans["model"], busy.plans["rival"]
    assert after["rival_spend"] <= 5.0 + 1e-9
    assert idle.plans["rival"]["rival_spend"] == 0.0
    # the patron's allocation is the same; the rival's money takes compliance back from it
    assert before == idle.plans["model"]
    assert after["compliance_gain"] < idle.plans["rival"]["compliance_gain"]
    assert after["expected_yes"] > idle.plans["rival"]["expected_yes"]
    assert after["rival_compliance_gain"] > idle.plans["rival"]["rival_compliance_gain"]
    # the rival's commitments go where the patron bought: the votes it moved are cheapest back
    committed = {k for k, c in after["rival_offers"].items() if c > 0}
    bought = {k for k, c in before["offers"].items() if c > 0}
    assert committed
    assert len(committed & bought) >= len(committed) / 2
    table = busy.table()
    after_odds = table[[f"p_{a}_after_rival" for a in ("yes", "no", "abstain", "absent")]]
    np.testing.assert_allclose(after_odds.sum(axis=1), 1.0, atol=1e-9)


def test_an_anticipating_patron_buys_what_the_rival_cannot_undo():
    """Groseclose & Snyder in miniature: member 0 is the patron's cheapest buy but the rival
    undoes it for 0.1; member 1 costs the same, gains a little less and is out of the rival's
    reach. Ignoring the rival the patron buys member 0 and loses it; anticipating, member 1."""
    width = 3  # options: not asked, asked with nothing, asked with the offer
    ra, rb = np.zeros((width, width, 2)), np.zeros((width, width, 2))
    ca, cb = np.zeros((width, width, 2)), np.zeros((width, width, 2))
    ra[2, :, 0], ra[2, 2, 0], rb[2, 2, 0] = 1.0, 0.0, 1.0
    ca[2, :, 0], cb[:, 2, 0] = 1.0, 0.1
    ra[2, :, 1], ra[2, 2, 1], rb[2, 2, 1] = 0.9, 0.8, 0.1
    ca[2, :, 1], cb[:, 2, 1] = 1.0, 10.0
    options = np.array([[0, 2], [0, 2]])
    c = solve_contest(ra, rb, ca, cb, options, options, budget_a=1.0, budget_b=1.0,
                      names=["M0", "M1"], grid=np.array([0.0, 1.0]))  # fmt: skip
    assert c.naive[0].tolist() == [2, 0]  # the patron buys member 0
    assert c.naive[1].tolist() == [2, 0]  # and the rival undoes it
    assert c.value(*c.naive)[0] == 0.0
    assert c.leader[0].tolist() == [0, 2]
    assert c.value(*c.leader)[0] == pytest.approx(0.9)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_anticipation_never_does_worse_and_the_rival_keeps_to_its_budget(n, seed):
    rng = np.random.default_rng(seed)
    shape = (4, 4, n)
    ra, rb = rng.normal(0, 1, shape), rng.normal(0, 1, shape)
    ca, cb = rng.uniform(0, 1, shape), rng.uniform(0, 1, shape)
    ca[0], cb[:, 0] = 0.0, 0.0  # not asking costs nothing
    options = np.tile([0, 3], (n, 1))
    names = [f"M{k}" for k in range(n)]
    c = solve_contest(ra, rb, ca, cb, options, options, budget_a=1.0, budget_b=0.7, names=names,
                      grid=np.array([0.0, 0.5, 1.0]))  # fmt: skip
    assert c.value(*c.leader)[0] >= c.value(*c.naive)[0] - 1e-12
    for a, b in (c.naive, c.leader):
        j = np.arange(n)
        assert cb[a, b, j].sum() <= 0.7 + 1e-9
        # the rival's answer is its exact best response to the patron's options
        assert b.tolist() == _respond(rb[a, :, j], cb[a, :, j], options, 0.7, names).tolist()


def test_the_patron_can_anticipate_the_rival_in_a_replay(with_rival, tmp_path):
    p = buy_votes(with_rival, event="trump_threat", rival="rival_call", budget=5.0,
                  rival_budget=5.0, anticipate=True, n_draws=100, seed=3)  # fmt: skip
    naive, leader = p.plans["naive"], p.plans["leader"]
    assert leader["compliance_gain"] >= naive["compliance_gain"] - 1e-12
    assert leader["rival_spend"] <= 5.0 + 1e-9
    table = p.table()
    assert {"leader_credibility", "leader_rival_credibility"} <= set(table.columns)
    offered = table.dropna(subset=["leader_credibility"])
    assert set(offered["leader_credibility"]) <= {0.0, 0.25, 0.5, 0.75, 1.0}
    p.write(tmp_path / "out", plots=False)
    assert (tmp_path / "out" / "summary.json").read_text().count('"leader"') == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"event": "lapid_letters"}, "offers nothing"),
        ({"event": "nope"}, "'nope' is not an event"),
        ({"event": "netanyahu_call", "reach": "some"}, "reach: expected event or all"),
        ({"event": "netanyahu_call", "call_cost": 0.1}, "give a call cost with reach all"),
        ({"event": "netanyahu_call", "budget": -1.0}, "budget: expected a number >= 0"),
        ({"event": "netanyahu_call", "credibilities": [1.5]}, r"must lie in \[0, 1\]"),
        ({"event": "netanyahu_call", "rival": "netanyahu_call"}, "another principal's event"),
        ({"event": "netanyahu_call", "rival": "lapid_letters"}, "ISR's own event"),
        ({"event": "netanyahu_call", "rival_budget": 1.0}, "name the rival's event"),
        ({"event": "netanyahu_call", "anticipate": True}, "anticipate: name the rival's event"),
        ({"event": "netanyahu_call", "rival": "nope"}, "rival: expected another principal's"),
        (
            {"event": "netanyahu_call", "rival": "lapid_letters", "outcome": True},
            "not with a rival",
        ),
    ],
)
def test_bad_requests_are_refused_naming_what_was_expected(kwargs, message):
    with pytest.raises(ScenarioError, match=message):
        buy_votes(ICJ, n_draws=5, **kwargs)


def test_the_cli_buys_and_refuses_with_exit_code_2_writing_nothing(tmp_path, sim_cli):
    out = tmp_path / "buy"
    run = sim_cli("buy", ICJ, "--event", "netanyahu_call", "--draws", 50, "--out", out,
                  "--no-plots")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "allocation" in run.stdout
    assert {p.name for p in out.iterdir()} >= {"purchase.csv", "frontier.csv", "summary.json"}
    outcome = tmp_path / "outcome"
    run = sim_cli("buy", ICJ, "--event", "netanyahu_call", "--outcome", "--draws", 50,
                  "--out", outcome, "--no-plots")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "for outcome" in run.stdout
    assert "Spending for the outcome (rejected)" in " ".join(run.stdout.split())
    assert "outcome_credibility" in (outcome / "purchase.csv").read_text().splitlines()[0]
    bad = tmp_path / "bad"
    run = sim_cli("buy", ICJ, "--event", "lapid_letters", "--out", bad)
    assert run.returncode == 2
    assert "offers nothing" in run.stderr
    assert not bad.exists()


# -- buyers who want the outcome ----------------------------------------------------------
def _p_adopted_by_enumeration(probs: np.ndarray) -> float:
    """P(yes > no) by enumerating every combination of acts (one draw, members independent)."""
    total = 0.0
    for acts in itertools.product(range(4), repeat=probs.shape[0]):
        acts = np.array(acts)
        if (acts == 0).sum() > (acts == 1).sum():
            total += float(np.prod(probs[np.arange(len(acts)), acts]))
    return total


@pytest.mark.parametrize("seed", range(12))
def test_spending_for_the_outcome_buys_the_move_that_changes_it_most(seed):
    """With a budget for one offer, the outcome buyer's choice is the best single move by
    enumeration of every tally, and never worse than the vote-counting buyer's."""
    rng = np.random.default_rng(seed)
    n, n_cand, want = 6, 3, ["adopted", "rejected"][seed % 2]
    probs = rng.dirichlet(np.full(4, 0.5), size=n)[None]  # one draw
    candidates = rng.choice(n, size=n_cand, replace=False)
    tables = rng.dirichlet(np.full(4, 0.5), size=(2, n_cand))[:, None]  # (option, draw, n, act)
    costs = np.ones((n_cand, 2))

    def p_want(p: np.ndarray) -> float:
        adopted = _p_adopted_by_enumeration(p[0])
        return adopted if want == "adopted" else 1.0 - adopted

    best = p_want(probs)
    for j, k in itertools.product(range(n_cand), range(2)):
        moved = probs.copy()
        moved[:, candidates[j]] = tables[k][:, j]
        best = max(best, p_want(moved))
    allocation, after = buy_outcome(tables, probs, candidates, costs, 1.0, rule="simple_majority",
                                    want=want)  # fmt: skip
    assert p_want(after) == pytest.approx(best, abs=1e-12)
    assert allocation.cost <= 1.0
    assert (allocation.choice >= 0).sum() <= 1
    if len(allocation.path):  # the path's last point is the probability reached
        assert allocation.path["gain"].iloc[-1] == pytest.approx(best, abs=1e-12)
    m = np.array([1.0, -1.0, 0.0, 0.0]) * (1 if want == "adopted" else -1)  # yes or no asked
    gains = np.stack([(tables[k][0] - probs[0, candidates]) @ m for k in range(2)], axis=1)
    votes = allocate(costs, gains, 1.0).choice
    counted = probs.copy()
    for j in np.flatnonzero(votes >= 0):
        counted[:, candidates[j]] = tables[votes[j]][:, j]
    assert p_want(after) >= p_want(counted) - 1e-12


def test_a_hopeless_outcome_buys_nothing():
    yes = np.tile([1.0, 0.0, 0.0, 0.0], (1, 5, 1))  # five certain yes votes
    tables = np.array([[[[0.0, 0.5, 0.5, 0.0]]]])  # the one candidate can be moved to no
    allocation, after = buy_outcome(tables, yes, np.array([0]), np.array([[1.0]]), 10.0,
                                    rule="simple_majority", want="rejected")  # fmt: skip
    assert allocation.cost == 0.0
    assert len(allocation.path) == 0
    np.testing.assert_array_equal(after, yes)


def test_an_ask_that_reads_yes_and_no_alike_favours_no_outcome():
    from sim.core.choice import reading

    assert _wanted(reading(["no", "abstain"]), "f", "e") == "rejected"
    assert _wanted(reading(["yes"]), "f", "e") == "adopted"
    with pytest.raises(ScenarioError, match="favours neither"):
        _wanted(reading(["abstain"]), "f", "e")


def test_russia_spending_for_the_outcome_does_at_least_as_well_as_counting_votes():
    hrc = ROOT / "scenarios" / "hrc_suspension_2022.toml"
    bought = buy_votes(hrc, event="unfriendly_gesture", outcome=True, n_draws=200, seed=1)
    o = bought.plans["outcome"]
    assert o["want"] == "rejected"  # the warning asks for no
    assert o["p_want"] == pytest.approx(1.0 - o["p_adopted"])
    assert o["p_want"] >= o["p_want_votes"] - 1e-12
    assert o["spend"] <= bought.budget + 1e-9
    assert "outcome_credibility" in bought.table().columns
