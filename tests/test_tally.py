"""The tally is the exact Poisson-multinomial mixture of MODEL.md §5; the rules are the Charter's.

Oracles: brute-force enumeration of all 4**n outcomes (n <= 6), a full joint DP over (yes, no)
written independently here (n = 40), and scipy's binomial distribution (identical members).
Exact algorithms are held to rtol=1e-12: every DP adds non-negative terms only, so rounding
error is relative and of order n * 2**-52.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

from sim.core.acts import ABSENT, ABSTAIN, ACTS, NO, YES
from sim.core.tally import (
    SIMPLE_MAJORITY,
    TWO_THIRDS,
    DecisionRule,
    Tally,
    conditional_adoption,
    count_pmf,
    decision_rule,
    prob_adopted,
)

EXACT = 1e-12
RULE_NAMES = ("simple_majority", "two_thirds")


# --------------------------------------------------------------------------- oracles and builders


def random_probabilities(
    rng: np.random.Generator, n_draws: int, n_members: int, *, sparse: bool = False
) -> np.ndarray:
    """Dirichlet act probabilities; `sparse` zeroes some acts and makes some members certain."""
    probs = rng.dirichlet(np.full(4, 0.7), size=(n_draws, n_members))
    if sparse:
        probs[rng.random(probs.shape) < 0.3] = 0.0
        certain = rng.random((n_draws, n_members)) < 0.2
        probs[certain] = np.eye(4)[rng.integers(0, 4, certain.sum())]
        empty = probs.sum(axis=2) == 0
        probs[empty] = np.eye(4)[ABSENT]
        probs /= probs.sum(axis=2, keepdims=True)
    return probs


class Enumeration:
    """All 4**n outcomes of an n-member assembly, weighted per draw: the slow oracle."""

    def __init__(self, probs: np.ndarray) -> None:
        n = probs.shape[1]
        outcomes = np.array(list(itertools.product(range(4), repeat=n)), dtype=int).reshape(-1, n)
        self.n = n
        self.weights = probs[:, np.arange(n), outcomes].prod(axis=2)  # (draw, outcome)
        self.counts = (outcomes[:, :, None] == np.arange(4)).sum(axis=1)  # (outcome, act)

    def marginal(self, act: int) -> np.ndarray:
        return np.array(
            [
                np.bincount(self.counts[:, act], weights=w, minlength=self.n + 1)
                for w in self.weights
            ]
        ).mean(axis=0)

    def pmf(self, **counts: int) -> float:
        hit = np.ones(len(self.counts), dtype=bool)
        for act, count in counts.items():
            hit &= self.counts[:, ACTS.index(act)] == count
        return float(self.weights[:, hit].sum(axis=1).mean())

    def prob_adopted(self, rule: DecisionRule) -> np.ndarray:
        adopted = rule.adopts(yes=self.counts[:, YES], no=self.counts[:, NO])
        return self.weights[:, adopted].sum(axis=1)


def joint_yes_no(probs: np.ndarray) -> np.ndarray:
    """Full joint pmf of (yes, no) per draw by a plain 2-D DP: shape (draw, n+1, n+1)."""
    n_draws, n, _ = probs.shape
    table = np.zeros((n_draws, n + 1, n + 1))
    table[:, 0, 0] = 1.0
    for j in range(n):
        p = probs[:, j, :, None, None]
        new = table * (p[:, ABSTAIN] + p[:, ABSENT])
        new[:, 1:, :] += table[:, :-1, :] * p[:, YES]
        new[:, :, 1:] += table[:, :, :-1] * p[:, NO]
        table = new
    return table


def deterministic(*acts: str, n_draws: int = 1) -> np.ndarray:
    """Probabilities of an assembly whose members take the given acts for certain."""
    rows = np.eye(4)[[ACTS.index(a) for a in acts]]
    return np.broadcast_to(rows, (n_draws, len(acts), 4)).copy()


@st.composite
def act_probabilities(draw: st.DrawFn, *, max_members: int = 12) -> np.ndarray:
    """(n_draws, n_members, 4) probabilities, with exact zeros and ones among them."""
    n_draws = draw(st.integers(1, 3))
    n_members = draw(st.integers(1, max_members))
    weight = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(1e-6, 1.0, allow_subnormal=False))
    raw = draw(hnp.arrays(np.float64, (n_draws, n_members, 4), elements=weight))
    raw[raw.sum(axis=2) == 0, ABSENT] = 1.0
    return raw / raw.sum(axis=2, keepdims=True)


# --------------------------------------------------------------------------- against enumeration


@pytest.mark.parametrize("n_members", [1, 2, 3, 5, 6])
@pytest.mark.parametrize("sparse", [False, True])
def test_marginals_and_adoption_equal_brute_force_enumeration(n_members, sparse):
    rng = np.random.default_rng([n_members, sparse])
    probs = random_probabilities(rng, 4, n_members, sparse=sparse)
    oracle = Enumeration(probs)
    for name in RULE_NAMES:
        tally = Tally.from_probabilities(probs, rule=name)
        for act in ACTS:
            np.testing.assert_allclose(
                tally.marginal(act), oracle.marginal(ACTS.index(act)), rtol=EXACT, atol=0
            )
        expected = oracle.prob_adopted(decision_rule(name))
        np.testing.assert_allclose(tally.prob_pass_draws, expected, rtol=EXACT, atol=0)
        np.testing.assert_allclose(prob_adopted(probs, rule=name), expected, rtol=EXACT, atol=0)
        assert tally.prob_pass() == pytest.approx(expected.mean(), rel=EXACT)


@pytest.mark.parametrize("n_members", [2, 4, 6])
def test_joint_pmf_equals_brute_force_enumeration_for_every_query(n_members):
    rng = np.random.default_rng(n_members)
    probs = random_probabilities(rng, 3, n_members, sparse=n_members == 4)
    oracle = Enumeration(probs)
    tally = Tally.from_probabilities(probs, rule="simple_majority")
    for k in range(1, 5):
        for acts in itertools.combinations(ACTS, k):
            for values in itertools.product(range(n_members + 2), repeat=k):
                counts = dict(zip(acts, values, strict=True))
                expected = oracle.pmf(**counts)
                got = tally.pmf(**counts)
                assert got == pytest.approx(expected, rel=EXACT, abs=0), counts


def test_count_pmf_equals_enumeration_and_broadcasts_over_leading_axes():
    rng = np.random.default_rng(7)
    probs = random_probabilities(rng, 6, 5)
    oracle = Enumeration(probs)
    per_draw = [np.bincount(oracle.counts[:, NO], weights=w, minlength=6) for w in oracle.weights]
    got = count_pmf(probs[:, :, NO].reshape(2, 3, 5))
    assert got.shape == (2, 3, 6)
    np.testing.assert_allclose(got.reshape(6, 6), per_draw, rtol=EXACT, atol=0)
    with_complement = count_pmf(probs[:, :, NO], complement=1.0 - probs[:, :, NO])
    np.testing.assert_allclose(with_complement, per_draw, rtol=EXACT, atol=0)


# --------------------------------------------------------------------------- larger oracles


def test_adoption_and_joint_pmf_equal_a_full_joint_dp_for_forty_members():
    rng = np.random.default_rng(40)
    probs = random_probabilities(rng, 5, 40, sparse=True)
    table = joint_yes_no(probs)
    yes, no = np.meshgrid(np.arange(41), np.arange(41), indexing="ij")
    for name in RULE_NAMES:
        adopts = decision_rule(name).adopts(yes=yes, no=no)
        expected = (table * adopts).sum(axis=(1, 2))
        np.testing.assert_allclose(prob_adopted(probs, rule=name), expected, rtol=EXACT, atol=0)
    tally = Tally.from_probabilities(probs, rule="two_thirds")
    np.testing.assert_allclose(tally.marginal("yes"), table.sum(axis=2).mean(axis=0), rtol=EXACT)
    for y, n in [(0, 0), (12, 9), (20, 5), (3, 30)]:
        assert tally.pmf(yes=y, no=n) == pytest.approx(table[:, y, n].mean(), rel=EXACT, abs=0)


def test_identical_members_give_scipys_binomial_counts_and_intervals():
    probs = np.tile([0.3, 0.2, 0.1, 0.4], (2, 193, 1))
    tally = Tally.from_probabilities(probs, rule="simple_majority")
    for act, p in zip(ACTS, probs[0, 0], strict=True):
        binom = stats.binom(193, p)
        expected = binom.pmf(np.arange(194))
        big = expected > 1e-250  # scipy's own relative accuracy is ~1e-13, not in deep tails
        np.testing.assert_allclose(tally.marginal(act)[big], expected[big], rtol=1e-10)
        for level in (0.5, 0.9, 0.99):
            assert tally.interval(act, level=level) == tuple(int(x) for x in binom.interval(level))


def test_a_fair_coin_assembly_of_193_adopts_by_simple_majority_with_probability_one_half():
    probs = np.tile([0.5, 0.5, 0.0, 0.0], (3, 193, 1))
    assert prob_adopted(probs, rule="simple_majority") == pytest.approx([0.5] * 3, rel=EXACT)
    # Two thirds of 193 voting: yes >= 129.
    expected = stats.binom(193, 0.5).sf(128)
    np.testing.assert_allclose(prob_adopted(probs, rule="two_thirds"), expected, rtol=1e-10)


# --------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(probs=act_probabilities())
def test_each_marginal_sums_to_one_and_its_mean_is_the_sum_of_member_probabilities(probs):
    tally = Tally.from_probabilities(probs, rule="two_thirds")
    expected_means = probs.sum(axis=1).mean(axis=0)
    counts = np.arange(tally.n_members + 1)
    for act, expected in zip(ACTS, expected_means, strict=True):
        pmf = tally.marginal(act)
        assert np.all(pmf >= 0)
        assert pmf.sum() == pytest.approx(1.0, rel=EXACT)
        assert (counts * pmf).sum() == pytest.approx(expected, rel=EXACT, abs=1e-300)
        assert tally.mean()[act] == pytest.approx(expected, rel=EXACT, abs=1e-300)
        lo, hi = tally.interval(act)
        assert 0 <= lo <= hi <= tally.n_members


@settings(max_examples=40, deadline=None)
@given(probs=act_probabilities(max_members=5))
def test_adoption_equals_enumeration_for_any_probabilities(probs):
    oracle = Enumeration(probs)
    for name in RULE_NAMES:
        expected = oracle.prob_adopted(decision_rule(name))
        np.testing.assert_allclose(prob_adopted(probs, rule=name), expected, rtol=EXACT, atol=0)


@pytest.mark.parametrize("n_members", [1, 2, 3, 5])
@pytest.mark.parametrize("sparse", [False, True])
def test_adoption_given_one_members_vote_equals_enumeration(n_members, sparse):
    """P(adopted | member j votes yes / no / neither) against enumerating the assembly with
    j's act fixed."""
    rng = np.random.default_rng([n_members, sparse, 7])
    probs = random_probabilities(rng, 3, n_members, sparse=sparse)
    for name in RULE_NAMES:
        given = conditional_adoption(probs, rule=name)
        assert given.shape == (3, n_members, 3)
        for j in range(n_members):
            for k, act in enumerate((YES, NO, ABSTAIN)):
                fixed = probs.copy()
                fixed[:, j] = 0.0
                fixed[:, j, act] = 1.0
                expected = Enumeration(fixed).prob_adopted(decision_rule(name))
                np.testing.assert_allclose(given[:, j, k], expected, rtol=EXACT, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(probs=act_probabilities())
def test_adoption_is_linear_in_each_members_odds(probs):
    """sum_a p_j(a) P(adopted | j does a) is P(adopted), for every member j."""
    for name in RULE_NAMES:
        given = conditional_adoption(probs, rule=name, workers=2)
        neither = probs[..., ABSTAIN] + probs[..., ABSENT]
        mixed = probs[..., YES] * given[..., 0] + probs[..., NO] * given[..., 1]
        mixed += neither * given[..., 2]
        expected = np.broadcast_to(prob_adopted(probs, rule=name)[:, None], mixed.shape)
        np.testing.assert_allclose(mixed, expected, rtol=1e-12, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(probs=act_probabilities())
def test_two_thirds_never_adopts_what_a_simple_majority_rejects(probs):
    simple = prob_adopted(probs, rule="simple_majority")
    two_thirds = prob_adopted(probs, rule="two_thirds")
    assert np.all(two_thirds <= simple * (1 + EXACT) + 1e-300)


def test_threads_change_no_number():
    probs = random_probabilities(np.random.default_rng(3), 700, 30, sparse=True)
    one = Tally.from_probabilities(probs, rule="two_thirds", workers=1)
    two = Tally.from_probabilities(probs, rule="two_thirds", workers=2)
    np.testing.assert_array_equal(one.marginals, two.marginals)
    np.testing.assert_array_equal(one.prob_pass_draws, two.prob_pass_draws)
    np.testing.assert_array_equal(
        count_pmf(probs[:, :, YES], workers=2), count_pmf(probs[:, :, YES], workers=1)
    )


# --------------------------------------------------------------------------- edge cases


def test_a_member_certain_to_be_absent_never_counts():
    probs = random_probabilities(np.random.default_rng(11), 4, 6)
    with_absentee = np.concatenate([deterministic("absent", n_draws=4), probs], axis=1)
    for name in RULE_NAMES:
        without = Tally.from_probabilities(probs, rule=name)
        tally = Tally.from_probabilities(with_absentee, rule=name)
        np.testing.assert_allclose(
            tally.prob_pass_draws, without.prob_pass_draws, rtol=EXACT, atol=0
        )
        for act in ("yes", "no", "abstain"):
            np.testing.assert_allclose(
                tally.marginal(act), [*without.marginal(act), 0.0], rtol=EXACT, atol=0
            )
        np.testing.assert_allclose(
            tally.marginal("absent"), [0.0, *without.marginal("absent")], rtol=EXACT, atol=0
        )


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_an_assembly_entirely_absent_adopts_nothing(rule):
    tally = Tally.from_probabilities(deterministic(*["absent"] * 193), rule=rule)
    assert tally.prob_pass() == 0.0
    assert tally.marginal("absent")[-1] == 1.0


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_an_assembly_that_only_abstains_adopts_nothing(rule):
    assert prob_adopted(deterministic("abstain", "absent", "abstain"), rule=rule) == [0.0]


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_a_tie_fails(rule):
    probs = deterministic("yes", "no", "abstain", "yes", "no", "absent")
    assert prob_adopted(probs, rule=rule) == [0.0]


@pytest.mark.parametrize(
    ("acts", "simple", "two_thirds"),
    [
        (("yes", "yes", "no"), 1.0, 1.0),  # 2 of 3 voting: exactly two thirds passes
        (("yes", "yes", "yes", "no", "no"), 1.0, 0.0),  # 3 of 5 voting: a majority, not 2/3
        (("yes", "absent", "abstain"), 1.0, 1.0),  # one yes and nobody against
        (("no", "absent"), 0.0, 0.0),
    ],
)
def test_the_rules_at_their_boundaries(acts, simple, two_thirds):
    probs = deterministic(*acts, "abstain", "absent")
    assert Tally.from_probabilities(probs, rule="simple_majority").prob_pass() == simple
    assert Tally.from_probabilities(probs, rule="two_thirds").prob_pass() == two_thirds
    assert SIMPLE_MAJORITY.adopts(yes=acts.count("yes"), no=acts.count("no")) == bool(simple)
    assert TWO_THIRDS.adopts(yes=acts.count("yes"), no=acts.count("no")) == bool(two_thirds)


def test_to_frame_has_one_row_per_count_and_one_column_per_act():
    probs = random_probabilities(np.random.default_rng(5), 3, 4)
    tally = Tally.from_probabilities(probs, rule="simple_majority")
    frame = pd.DataFrame(tally.columns())
    assert list(frame.columns) == ["count", "p_yes", "p_no", "p_abstain", "p_absent"]
    assert frame["count"].tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(frame["p_abstain"], tally.marginal("abstain"))


def test_the_tally_is_frozen():
    tally = Tally.from_probabilities(np.full((1, 2, 4), 0.25), rule="two_thirds")
    with pytest.raises(AttributeError):
        tally.rule = SIMPLE_MAJORITY  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        tally.marginals[0, 0] = 1.0
    tally.marginal("yes")[0] = 1.0  # a copy
    assert tally.marginal("yes")[0] == 0.5625


def test_impossible_joint_counts_have_probability_zero():
    tally = Tally.from_probabilities(np.full((1, 3, 4), 0.25), rule="two_thirds")
    assert tally.pmf(yes=2, no=2) == 0.0
    assert tally.pmf(yes=1, no=1, abstain=0, absent=0) == 0.0
    assert tally.pmf(yes=4) == 0.0


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("probs", "message"),
    [
        (np.full((3, 4), 0.25), r"expected shape \(n_draws, n_members, 4\).*got shape \(3, 4\)"),
        (np.full((2, 3, 3), 1 / 3), r"got shape \(2, 3, 3\)"),
        (np.zeros((0, 3, 4)), r"at least one draw"),
        (np.array([[[0.5, 0.5, 0.0, 1e-8]]]), r"sum to 1 within 1e-09.*draw 0, member 0"),
        (np.array([[[0.6, 0.5, -0.1, 0.0]]]), r"non-negative.*draw 0, member 0, act 'abstain'"),
        (np.array([[[np.nan, 0.5, 0.5, 0.0]]]), r"finite"),
    ],
)
def test_bad_probabilities_are_refused_with_where_and_what(probs, message):
    with pytest.raises(ValueError, match=message):
        Tally.from_probabilities(probs, rule="simple_majority")
    with pytest.raises(ValueError, match=message):
        prob_adopted(probs, rule="two_thirds")


def test_probabilities_within_tolerance_are_accepted():
    probs = np.array([[[0.5, 0.5, 0.0, 1e-10]]])
    assert Tally.from_probabilities(probs, rule="simple_majority").marginal("yes").sum() == 1.0


def test_bad_queries_are_refused():
    tally = Tally.from_probabilities(np.full((1, 2, 4), 0.25), rule="two_thirds")
    with pytest.raises(ValueError, match=r"rule: expected one of \('simple_majority'"):
        Tally.from_probabilities(np.full((1, 2, 4), 0.25), rule="unanimity")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="act: expected one of"):
        tally.marginal("present")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative integer"):
        tally.pmf(yes=-1)
    with pytest.raises(ValueError, match="at least one act"):
        tally.pmf()
    with pytest.raises(ValueError, match="level"):
        tally.interval("yes", level=1.0)
    with pytest.raises(ValueError, match=r"p: probabilities must be at most 1"):
        count_pmf(np.array([0.5, 1.5]))
    with pytest.raises(ValueError, match="p \\+ complement must be 1"):
        count_pmf(np.array([0.5]), complement=np.array([0.4]))
    with pytest.raises(ValueError, match="workers"):
        prob_adopted(np.full((1, 2, 4), 0.25), rule="two_thirds", workers=0)


def test_a_certain_adoption_has_probability_at_most_one():
    # The ICJ replay's pieces added up to 1 + 8 ulps before they were clipped.
    rng = np.random.default_rng(7)
    probs = rng.dirichlet([40.0, 0.5, 2.0, 2.0], size=(50, 193))
    tally = Tally.from_probabilities(probs, rule="simple_majority")
    assert np.all(tally.prob_pass_draws <= 1.0)
    assert tally.prob_pass() == pytest.approx(1.0, abs=1e-12)
