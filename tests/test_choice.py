"""The vote-choice core (MODEL.md §3): exact logit probabilities and how principals read acts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.core.acts import ABSENT, ACTS
from sim.core.choice import (
    act_probabilities,
    ordered_log_probs,
    persistence_cost,
    pressure,
    reading,
)

finite = st.floats(-30, 30, allow_nan=False)


def utilities(n_members: int = 5) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, (n_members, len(ACTS)), elements=finite)


@given(u=utilities())
def test_probabilities_sum_to_one_and_are_non_negative(u):
    p = act_probabilities(u)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-12)


@given(u=utilities(), reward=st.floats(0, 20))
def test_a_larger_reward_never_makes_an_asked_act_less_likely(u, reward):
    m = reading(["no", "abstain"])  # what Israel asked of Ukraine
    asked = m == 1
    before = act_probabilities(u)
    after = act_probabilities(u + reward * m)
    assert np.all(after[:, asked].sum(axis=1) >= before[:, asked].sum(axis=1) - 1e-12)


@given(u=utilities())
def test_a_member_without_a_vote_is_absent_with_probability_one(u):
    available = np.zeros_like(u, dtype=bool)
    available[:, ABSENT] = True
    p = act_probabilities(u, available=available)
    np.testing.assert_array_equal(p[:, ABSENT], 1.0)


def test_softmax_of_log_probabilities_returns_them():
    p = np.array([[0.7, 0.1, 0.15, 0.05]])
    np.testing.assert_allclose(act_probabilities(np.log(p)), p, rtol=1e-12)


def test_absence_is_read_as_neither_compliance_nor_defection_by_any_ask():
    for asked in (["yes"], ["no"], ["abstain"], ["no", "abstain"], ["yes", "abstain"]):
        m = reading(asked)
        assert m[ABSENT] == 0
        assert all(m[ACTS.index(a)] == 1 for a in asked)
        assert m.min() == -1


def test_reading_rejects_absence_or_nothing_as_an_ask():
    with pytest.raises(ValueError, match="an ask names acts"):
        reading(["absent"])
    with pytest.raises(ValueError, match="an ask names acts"):
        reading([])


def test_pressure_pushes_toward_the_ask_and_away_from_its_opposite():
    w = np.full((1, 1), 2.0)
    p = pressure([(w, reading(["no", "abstain"]), None)], n_draws=1, n_members=1)[0, 0]
    assert p[ACTS.index("yes")] == -2
    assert p[ACTS.index("abstain")] == 2
    assert p[ABSENT] == 0


def test_pressure_adds_the_asks_in_force_and_spares_the_members_not_asked():
    no = reading(["no"])
    yes = reading(["yes"])
    both = [
        (np.array([[1.0, 3.0]]), no, np.array([0, 2])),
        (np.array([[0.5, 0.5, 0.5]]), yes, None),
    ]
    p = pressure(both, n_draws=1, n_members=3)[0]
    assert p[1].tolist() == (0.5 * yes).tolist()  # only the ask to everyone reaches member 1
    assert np.allclose(p[2], 3.0 * no + 0.5 * yes)


def test_a_visible_reversal_costs_and_keeping_the_record_does_not():
    cost = persistence_cost(np.array([0, 3, -1]), reversal=1.5, leave=0.3, ret=0.2)[0]
    np.testing.assert_array_equal(cost[0], [0, 1.5, 1.5, 0.3])  # voted yes before
    np.testing.assert_array_equal(cost[1], [0.2, 0.2, 0.2, 0.0])  # was absent before
    np.testing.assert_array_equal(cost[2], [0, 0, 0, 0])  # no earlier act known


@given(
    st.floats(-40, 40),
    st.floats(0, 30),
)
def test_the_ordered_logit_is_exact_in_log_space(a, gap):
    """One formula for every fit and replay: it matches sigmoid differences, sums to one, and
    the fit's per-cell log-likelihood (with its gradients) agrees with it."""
    from scipy.special import expit

    from sim.core.likelihood import log_prob_and_partials

    lp = ordered_log_probs(np.array([a]), gap)[0]
    assert np.exp(lp).sum() == pytest.approx(1.0, abs=1e-12)
    b = a - gap
    direct = [expit(b), expit(-a), expit(a) - expit(b)]
    for got, want in zip(np.exp(lp), direct, strict=True):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-14)  # the difference cancels
    cells = log_prob_and_partials(np.full(3, a), np.full(3, gap), np.zeros(3), np.arange(3))[0]
    np.testing.assert_allclose(cells - np.log(0.5), lp, rtol=1e-12, atol=1e-12)
