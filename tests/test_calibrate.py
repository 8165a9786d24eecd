"""Calibration: recovery of known parameters from roll calls simulated by the model itself.

The simulated assembly has 150 members and 300 roll calls in two sessions; 100 texts recur
from session 1 to session 2, and their session-2 acts follow the persistence model of MODEL.md §3
with known costs. Tolerances: correlations use the bounds of the brief (ideal points > 0.95,
participation > 0.9: with 300 roll calls and ~10% absence the estimation error is small against
the spread of the true values); the persistence costs must lie within 3 standard errors of truth.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core import choice
from sim.core.acts import ABSENT, ACTS, NO, YES
from sim.core.likelihood import act_probabilities_from_item, log_policy_utility
from sim.core.persistence import PERSISTENCE_COSTS, fit_persistence
from sim.estimate.ideal_points import (
    ITEM_PARAMS,
    IdealPoints,
    fit_item_to_tally,
    load_calibration,
    save_calibration,
    transition_matrix,
)
from sim.io.errors import DataError

TRUE_COSTS = {"reversal": 2.0, "leave": 1.0, "return": 0.5}


@dataclasses.dataclass(frozen=True)
class SimulatedRollCalls:
    """The two frames of ``sim.io.data.RollCallData`` (all the estimator reads), plus the truth."""

    votes: pd.DataFrame
    roll_calls: pd.DataFrame
    members: pd.DataFrame  # true ideal_point, participation by iso3
    items: pd.DataFrame  # true item parameters by rcid


def draw_acts(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One act per row of `probabilities` (shape (n, 4)) by inverse-CDF sampling."""
    cdf = np.cumsum(probabilities, axis=1)
    u = rng.random(len(probabilities))[:, None]
    return np.minimum((u > cdf).sum(axis=1), len(ACTS) - 1)


def random_items(n: int, rng: np.random.Generator) -> pd.DataFrame:
    discrimination = rng.choice([-1.0, 1.0], n) * rng.uniform(0.8, 2.5, n)
    cut_abstain = rng.normal(-1.5, 1.0, n)
    cut_yes = cut_abstain + np.exp(rng.normal(0.3, 0.4, n))
    presence = rng.normal(0.0, 0.5, n)
    return pd.DataFrame(
        {
            "discrimination": discrimination,
            "cut_abstain": cut_abstain,
            "cut_yes": cut_yes,
            "presence": presence,
        }
    )


def simulate(
    rng: np.random.Generator,
    *,
    n_members: int = 150,
    n_per_session: int = 150,
    n_repeated: int = 100,
    costs: dict[str, float] = TRUE_COSTS,
    gamma: float = 0.0,
) -> SimulatedRollCalls:
    """Two sessions of roll calls from the spatial model; repeated texts follow persistence.

    `gamma` is the strategic-absence slope of presence (0: absence does not depend on how torn
    the member is)."""
    iso3 = np.array(sorted(["USA", *(f"M{k:03d}" for k in range(n_members - 1))]))
    members = pd.DataFrame(
        {
            "ideal_point": rng.normal(0.0, 1.0, n_members),
            "participation": rng.normal(2.5, 1.0, n_members),
        },
        index=pd.Index(iso3, name="iso3"),
    )
    x, rho = members["ideal_point"].to_numpy(), members["participation"].to_numpy()
    first = random_items(n_per_session, rng)
    second = random_items(n_per_session, rng)
    second.iloc[:n_repeated] = first.iloc[:n_repeated].to_numpy()  # same text, same item
    items = pd.concat([first, second], ignore_index=True)
    items.index = pd.Index(np.arange(1, len(items) + 1), name="rcid")
    session = np.repeat([1, 2], n_per_session)
    titles = [
        f"text {k}" if k < n_repeated else f"once {s}-{k}"
        for s in (1, 2)
        for k in range(n_per_session)
    ]

    acts = np.empty((n_members, len(items)), dtype=np.int64)
    for col, rcid in enumerate(items.index):
        p = act_probabilities_from_item(x, rho, **items.loc[rcid, list(ITEM_PARAMS)], gamma=gamma)
        if session[col] == 2 and col - n_per_session < n_repeated:
            previous = acts[:, col - n_per_session]
            cost = choice.persistence_cost(
                previous, reversal=costs["reversal"], leave=costs["leave"], ret=costs["return"]
            )[0]
            p = choice.act_probabilities(np.log(p) - cost)
        acts[:, col] = draw_acts(p, rng)

    votes = pd.DataFrame(
        {
            "rcid": np.tile(items.index.to_numpy(), n_members),
            "iso3": np.repeat(iso3, len(items)),
            "act": pd.Categorical.from_codes(acts.ravel(), categories=list(ACTS)),
            "session": np.tile(session, n_members),
        }
    )
    dates = pd.Timestamp("2001-10-01") + pd.to_timedelta(np.arange(len(items)), unit="D")
    dates = dates + pd.to_timedelta(np.where(session == 2, 365, 0), unit="D")
    votes["date"] = dates[votes["rcid"].to_numpy() - 1]
    roll_calls = pd.DataFrame(
        {
            "session": session,
            "date": dates,
            "symbol": [f"A/RES/{55 + s}/{k}" for s, k in zip(session, items.index, strict=True)],
            "title": titles,
            "descr": titles,
            "partial": False,
            **{code: rng.random(len(items)) < 0.3 for code in ("me", "nu", "di", "hr", "co", "ec")},
        },
        index=items.index,
    )
    return SimulatedRollCalls(votes, roll_calls, members, items)


@pytest.fixture(scope="module")
def simulated() -> SimulatedRollCalls:
    return simulate(np.random.default_rng(20221230))


@pytest.fixture(scope="module")
def fitted(simulated: SimulatedRollCalls) -> IdealPoints:
    return IdealPoints().fit(simulated)


# ---------------------------------------------------------------------------------------------
# Recovery


def test_fitted_ideal_points_recover_the_true_ones(fitted, simulated):
    truth = simulated.members["ideal_point"]
    r = np.corrcoef(fitted.members_["ideal_point"], truth.loc[fitted.members_.index])[0, 1]
    assert abs(r) > 0.95
    assert fitted.converged_


def test_fitted_participation_recovers_the_true_propensities(fitted, simulated):
    truth = simulated.members["participation"].loc[fitted.members_.index]
    assert np.corrcoef(fitted.members_["participation"], truth)[0, 1] > 0.9


def test_ideal_points_are_normalised_and_the_usa_is_negative(fitted):
    x = fitted.members_["ideal_point"]
    np.testing.assert_allclose([x.mean(), x.std(ddof=0)], [0.0, 1.0], atol=1e-12)
    assert x["USA"] < 0


def test_discriminations_recover_the_first_session_items(fitted, simulated):
    # Session-1 items are drawn from the spatial model (session 2 mixes in persistence).
    first = simulated.items.index[:150]
    truth = simulated.items.loc[first, "discrimination"]
    sign = np.sign(
        np.corrcoef(fitted.members_["ideal_point"], simulated.members["ideal_point"])[0, 1]
    )
    est = sign * fitted.items_.loc[first, "discrimination"]
    assert np.corrcoef(est, truth)[0, 1] > 0.9


@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_the_strategic_absence_slope_is_recovered_jointly_with_the_vote(gamma):
    data = simulate(np.random.default_rng(77), n_repeated=0, gamma=gamma)
    est = IdealPoints(dimension="all").fit(data)
    assert est.gamma_se_ > 0
    assert abs(est.gamma_ - gamma) < 3 * est.gamma_se_
    # The joint estimate is a fixed point of the presence-only fit given the vote parameters.
    from sim.core.absence import fit_strategic_presence
    from sim.core.likelihood import ambivalence_and_partials

    v = data.votes
    member = est.members_.index.get_indexer(v["iso3"])
    item = est.items_.index.get_indexer(v["rcid"])
    m, it = est.members_.iloc[member], est.items_.iloc[item]
    a = it["discrimination"].to_numpy() * m["ideal_point"].to_numpy() - it["cut_abstain"]
    h = ambivalence_and_partials(a.to_numpy(), (it["cut_yes"] - it["cut_abstain"]).to_numpy())[0]
    refit = fit_strategic_presence(
        member, item, (v["act"] != "absent").to_numpy(float), h,
        n_members=len(est.members_), n_items=len(est.items_),
    )  # fmt: skip
    assert refit["gamma"] == pytest.approx(est.gamma_, abs=0.02)


def test_absences_of_torn_members_inform_their_ideal_points():
    """With strategic absence, the joint fit uses absences as evidence and recovers ideal points
    at least as well as the fit that treats absence as uninformative."""
    data = simulate(np.random.default_rng(78), n_repeated=0, gamma=3.0)
    truth = data.members["ideal_point"]
    joint = IdealPoints().fit(data).members_["ideal_point"]
    plain = IdealPoints(strategic=False).fit(data).members_["ideal_point"]
    r_joint = np.corrcoef(joint.loc[truth.index], truth)[0, 1]
    r_plain = np.corrcoef(plain.loc[truth.index], truth)[0, 1]
    assert r_joint > 0.95
    assert r_joint >= r_plain - 1e-3


def test_standard_errors_are_positive_and_shrink_with_more_votes(fitted):
    m = fitted.members_
    assert np.all(np.isfinite(m["ideal_point_se"]))
    assert np.all(m["ideal_point_se"] > 0)
    assert np.all(np.isfinite(fitted.items_["discrimination_se"]))
    # Members casting more votes have better-measured ideal points (rank correlation negative).
    # (Not so for participation: a member almost always present carries little information
    # on how present it is, p(1 - p) -> 0.)
    assert m["n_votes"].corr(m["ideal_point_se"], method="spearman") < 0


def test_persistence_costs_are_recovered_within_three_standard_errors(fitted):
    p = fitted.persistence_
    assert p["n_texts"] == 100
    for name in PERSISTENCE_COSTS:
        assert abs(p[name] - TRUE_COSTS[name]) < 3 * p[f"{name}_se"], (name, p)


def test_persistence_mle_on_the_true_baseline_is_within_three_standard_errors():
    rng = np.random.default_rng(7)
    n = 20_000
    x, rho = rng.normal(size=n), rng.normal(2.0, 1.0, n)
    items = random_items(n, rng)
    log_base = log_policy_utility(x, rho, **{k: items[k].to_numpy() for k in ITEM_PARAMS})
    previous = draw_acts(np.exp(log_base), rng)
    cost = choice.persistence_cost(previous, reversal=2.0, leave=1.0, ret=0.5)[0]
    chosen = draw_acts(choice.act_probabilities(log_base - cost), rng)
    fit = fit_persistence(log_base, previous, chosen)
    for name in PERSISTENCE_COSTS:
        assert abs(fit[name] - TRUE_COSTS[name]) < 3 * fit[f"{name}_se"], (name, fit)
    assert fit["n_pairs"] == n
    assert fit["converged"]


def test_transition_matrix_rows_are_shares_of_previous_acts(fitted):
    t = fitted.transitions_
    np.testing.assert_allclose(t[list(ACTS)].sum(axis=1), 1.0, rtol=1e-12)
    assert t["n"].sum() == fitted.persistence_["n_pairs"]
    # With a reversal cost of 2 the diagonal dominates the yes row.
    assert t.loc["yes", "yes"] > 0.5


# ---------------------------------------------------------------------------------------------
# The pure maths


@st.composite
def items_and_members(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    finite = st.floats(-6, 6, allow_nan=False)
    n = draw(st.integers(1, 6))
    x = np.array(draw(st.lists(finite, min_size=n, max_size=n)))
    rho = np.array(draw(st.lists(finite, min_size=n, max_size=n)))
    cut_abstain = draw(finite)
    item = {
        "discrimination": draw(finite),
        "cut_abstain": cut_abstain,
        "cut_yes": cut_abstain + draw(st.floats(0, 8)),
        "presence": draw(finite),
    }
    return x, rho, item


@given(case=items_and_members())
def test_act_probabilities_sum_to_one(case):
    x, rho, item = case
    p = act_probabilities_from_item(x, rho, **item)
    assert p.shape == (len(x), 4)
    assert np.all(p >= 0)
    assert np.all(p <= 1)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)


@given(case=items_and_members(), shift=st.floats(0.01, 3))
def test_yes_becomes_likelier_and_no_less_likely_as_the_ideal_point_rises(case, shift):
    x, rho, item = case
    item["discrimination"] = abs(item["discrimination"]) + 0.1
    before = act_probabilities_from_item(x, rho, **item)
    after = act_probabilities_from_item(x + shift, rho, **item)
    assert np.all(after[:, YES] >= before[:, YES] - 1e-12)
    assert np.all(after[:, NO] <= before[:, NO] + 1e-12)
    np.testing.assert_allclose(after[:, ABSENT], before[:, ABSENT], rtol=1e-12)


@given(case=items_and_members())
@settings(max_examples=50)
def test_softmax_of_the_log_policy_utility_returns_the_probabilities(case):
    x, rho, item = case
    log_p = log_policy_utility(x, rho, **item)
    p = act_probabilities_from_item(x, rho, **item)
    np.testing.assert_allclose(choice.act_probabilities(log_p), p, rtol=1e-9, atol=1e-300)


def test_probabilities_broadcast_over_draws_and_members():
    x = np.linspace(-2, 2, 5)[None, :] + np.zeros((3, 1))  # (draws, members)
    beta = np.array([[0.5], [1.0], [2.0]])  # one item per draw
    p = act_probabilities_from_item(
        x, 1.0, discrimination=beta, cut_abstain=-0.5, cut_yes=0.5, presence=0.0
    )
    assert p.shape == (3, 5, 4)
    one = act_probabilities_from_item(
        x[1], 1.0, discrimination=1.0, cut_abstain=-0.5, cut_yes=0.5, presence=0.0
    )
    np.testing.assert_array_equal(p[1], one)


def test_cutpoints_out_of_order_are_rejected():
    with pytest.raises(ValueError, match="cut_yes"):
        act_probabilities_from_item(
            0.0, 0.0, discrimination=1.0, cut_abstain=1.0, cut_yes=0.0, presence=0.0
        )


def test_transition_matrix_counts_by_hand():
    t = transition_matrix(np.array([YES, YES, YES, ABSENT]), np.array([YES, YES, ABSENT, YES]))
    assert t.loc["yes", "yes"] == pytest.approx(2 / 3)
    assert t.loc["absent", "yes"] == 1.0
    assert t.loc["yes", "n"] == 3
    assert t.loc["no", "n"] == 0


def test_each_vote_pairs_with_its_texts_previous_vote_at_whatever_gap():
    from sim.estimate.ideal_points import persistence_pairs

    roll_calls = pd.DataFrame(
        {
            "session": [60, 61, 63, 63],
            "date": pd.to_datetime(["2005-12-01", "2006-12-01", "2008-12-01", "2008-12-02"]),
            "title": ["Text A", "text  a", "TEXT A", "Other"],
            "partial": False,
        },
        index=pd.Index([10, 11, 12, 13], name="rcid"),
    )
    votes = pd.DataFrame(
        {
            "rcid": [10, 11, 12, 13] * 2,
            "iso3": ["AAA"] * 4 + ["BBB"] * 4,
            "act": ["yes", "abstain", "no", "yes", "yes", "yes", "absent", "no"],
        }
    )
    consecutive = persistence_pairs(votes, roll_calls)
    assert set(zip(consecutive["rcid_prev"], consecutive["rcid_next"], strict=True)) == {(10, 11)}
    anywhere = persistence_pairs(votes, roll_calls, consecutive=False)
    assert set(zip(anywhere["rcid_prev"], anywhere["rcid_next"], strict=True)) == {
        (10, 11),
        (11, 12),
    }
    aaa = anywhere[anywhere["iso3"] == "AAA"].set_index("rcid_next")
    assert aaa.loc[12, "act_prev"] == ACTS.index("abstain")
    assert aaa.loc[12, "act_next"] == ACTS.index("no")
    assert aaa.loc[12, "gap"] == pytest.approx(731 / 365.25)


# ---------------------------------------------------------------------------------------------
# A new item from a tally


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("n_known", [0, 8])
def test_an_item_fitted_to_a_tally_reproduces_the_tally_within_one_member(seed, n_known):
    rng = np.random.default_rng(seed)
    members = pd.DataFrame(
        {"ideal_point": rng.normal(size=193), "participation": rng.normal(2.5, 1.0, 193)},
        index=pd.Index([f"M{k:03d}" for k in range(193)], name="iso3"),
    )
    true = random_items(1, rng).iloc[0].to_dict()
    p = act_probabilities_from_item(
        members["ideal_point"].to_numpy(), members["participation"].to_numpy(), **true
    )
    acts = draw_acts(p, rng)
    tally = {act: int((acts == k).sum()) for k, act in enumerate(ACTS)}
    # The prior: the last vote on the agenda item, which differs from this one.
    prior = {k: v + rng.normal(0, 0.5) for k, v in true.items()}
    prior["cut_yes"] = max(prior["cut_yes"], prior["cut_abstain"] + 0.1)
    known = {members.index[i]: ACTS[acts[i]] for i in rng.choice(193, n_known, replace=False)}
    fit = fit_item_to_tally(members, tally, prior_item=prior, known_acts=known)
    assert fit["converged"]
    # The brief asks for 1 member; the fit matches the moments exactly (root-finding tolerance).
    for act in ACTS:
        assert abs(fit["expected_tally"][act] - tally[act]) < 1e-6, (act, fit, tally)
    assert fit["cut_yes"] >= fit["cut_abstain"]
    # The named acts are the named members' own: expected_tally counts them as they are.
    p_fit = act_probabilities_from_item(
        members["ideal_point"].to_numpy(),
        members["participation"].to_numpy(),
        **{k: fit[k] for k in ITEM_PARAMS},
    )
    np.testing.assert_allclose(list(fit["model_tally"].values()), p_fit.sum(axis=0), rtol=1e-12)


def test_named_acts_overrule_a_prior_of_the_wrong_orientation():
    rng = np.random.default_rng(11)
    members = pd.DataFrame(
        {"ideal_point": rng.normal(size=193), "participation": rng.normal(2.5, 1.0, 193)},
        index=pd.Index([f"M{k:03d}" for k in range(193)], name="iso3"),
    )
    true = {"discrimination": 2.0, "cut_abstain": -1.0, "cut_yes": 0.0, "presence": 0.0}
    p = act_probabilities_from_item(
        members["ideal_point"].to_numpy(), members["participation"].to_numpy(), **true
    )
    acts = draw_acts(p, rng)
    tally = {act: int((acts == k).sum()) for k, act in enumerate(ACTS)}
    flipped = {**true, "discrimination": -2.0}
    without = fit_item_to_tally(members, tally, prior_item=flipped)
    assert without["discrimination"] < 0  # nothing named: the prior's orientation stands
    known = {members.index[i]: ACTS[acts[i]] for i in rng.choice(193, 40, replace=False)}
    named = fit_item_to_tally(members, tally, prior_item=flipped, known_acts=known)
    assert named["discrimination"] > 0


def test_a_tally_that_does_not_add_up_to_the_members_is_rejected():
    members = pd.DataFrame(
        {"ideal_point": [0.0, 1.0], "participation": [1.0, 1.0]},
        index=pd.Index(["AAA", "BBB"], name="iso3"),
    )
    prior = dict.fromkeys(ITEM_PARAMS, 0.0)
    with pytest.raises(ValueError, match="sums to 3"):
        fit_item_to_tally(members, {"yes": 3}, prior_item=prior)
    with pytest.raises(ValueError, match="not in members_frame"):
        fit_item_to_tally(members, {"yes": 2}, prior_item=prior, known_acts={"UKR": "yes"})


# ---------------------------------------------------------------------------------------------
# Estimator contract: determinism, bad data, prediction, files


@pytest.fixture(scope="module")
def small() -> SimulatedRollCalls:
    return simulate(np.random.default_rng(5), n_members=40, n_per_session=40, n_repeated=20)


def test_two_fits_give_identical_arrays(small):
    a, b = IdealPoints().fit(small), IdealPoints().fit(small)
    pd.testing.assert_frame_equal(a.members_, b.members_, check_exact=True)
    pd.testing.assert_frame_equal(a.items_, b.items_, check_exact=True)
    assert a.loglik_ == b.loglik_
    assert a.persistence_ == b.persistence_


def test_an_act_outside_acts_is_a_data_error(small):
    votes = small.votes.copy()
    votes["act"] = votes["act"].astype(object)
    votes.loc[3, "act"] = "maybe"
    with pytest.raises(DataError, match="maybe"):
        IdealPoints().fit(dataclasses.replace(small, votes=votes))


@dataclasses.dataclass(frozen=True)
class _WithMembership:
    votes: pd.DataFrame
    roll_calls: pd.DataFrame
    membership: pd.DataFrame


@pytest.mark.parametrize("estimator", ["static", "dynamic"])
def test_a_member_missing_from_the_membership_table_is_a_data_error(small, estimator):
    from sim.estimate.dynamic import DynamicIdealPoints

    membership = small.votes[["iso3", "session"]].drop_duplicates().reset_index(drop=True)
    fit = IdealPoints().fit if estimator == "static" else DynamicIdealPoints().fit
    fit(_WithMembership(small.votes, small.roll_calls, membership))  # complete: fits
    gap = membership[~((membership["iso3"] == "M007") & (membership["session"] == 2))]
    with pytest.raises(DataError, match=r"membership table.*\('M007', 2\)"):
        fit(_WithMembership(small.votes, small.roll_calls, gap))


def test_a_missing_act_is_a_data_error(small):
    votes = small.votes.copy()
    votes["act"] = votes["act"].astype(object)
    votes.loc[0, "act"] = None
    with pytest.raises(DataError, match="outside"):
        IdealPoints().fit(dataclasses.replace(small, votes=votes))


def test_an_unknown_dimension_is_rejected_early():
    with pytest.raises(ValueError, match="dimension"):
        IdealPoints(dimension="security")


def test_an_issue_dimension_fits_only_the_tagged_roll_calls(small):
    est = IdealPoints(dimension="me").fit(small)
    tagged = small.roll_calls.index[small.roll_calls["me"]]
    assert est.items_.index.equals(pd.Index(tagged, name="rcid"))


def test_predict_proba_gives_a_fitted_items_probabilities(fitted):
    item = fitted.items_.iloc[0]
    members = fitted.members_.index[:7]
    p = fitted.predict_proba(members, item)
    m = fitted.members_.loc[members]
    expected = act_probabilities_from_item(
        m["ideal_point"].to_numpy(),
        m["participation"].to_numpy(),
        **{k: item[k] for k in ITEM_PARAMS},
        gamma=fitted.gamma_,
    )
    np.testing.assert_array_equal(p, expected)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    with pytest.raises(KeyError):
        fitted.predict_proba(["XXX"], item)


def test_score_on_the_training_data_is_the_mean_log_likelihood(fitted, simulated):
    assert fitted.score(simulated) == pytest.approx(fitted.loglik_ / fitted.n_cells_, rel=1e-12)
    # Better than guessing each roll call's act shares would be is not claimed; better than
    # uniform over four acts is.
    assert fitted.score(simulated) > np.log(0.25)


def test_saved_calibration_reads_back_bit_for_bit_and_writes_the_same_bytes(small, tmp_path):
    est = IdealPoints().fit(small)
    first = save_calibration(est, tmp_path / "a", name="sim", data_sha256="0" * 64)
    second = save_calibration(est, tmp_path / "b", name="sim", data_sha256="0" * 64)
    for p, q in zip(first, second, strict=True):
        assert Path(p).read_bytes() == Path(q).read_bytes()
    back = load_calibration(tmp_path / "a", "sim")
    pd.testing.assert_frame_equal(back.members_, est.members_, check_exact=True)
    cols = [c for c in est.items_.columns if c != "date"]
    pd.testing.assert_frame_equal(
        back.items_[cols], est.items_[cols], check_exact=True, check_dtype=False
    )
    assert (back.items_["date"] == est.items_["date"]).all()
    assert back.persistence_ == est.persistence_
    assert back.metadata_["data_sha256"] == "0" * 64
    item = est.items_.iloc[3]
    np.testing.assert_array_equal(
        back.predict_proba(est.members_.index, item), est.predict_proba(est.members_.index, item)
    )


def test_loading_a_missing_calibration_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="missing"):
        load_calibration(tmp_path, "nothing")


# ---------------------------------------------------------------------------------------------
# The real record (slow)


@pytest.mark.slow
def test_middle_east_dimension_on_the_real_record_2012_2022(data_dir):
    from sim.io.data import load_roll_calls

    data = load_roll_calls(data_dir).between("2012-12-30", "2022-12-30")
    est = IdealPoints(dimension="me").fit(data)
    x = est.members_["ideal_point"]
    assert est.converged_
    # The US and Israel at one end, the Palestinians' main supporters at the other.
    assert x["USA"] < 0
    assert x["ISR"] < -1.5
    assert x["SYR"] > 0
    assert x["IRN"] > 0
    # Persistence is real (FACTS.md §4: yes -> yes 0.945): every cost positive.
    for name in PERSISTENCE_COSTS:
        assert est.persistence_[name] > 3 * est.persistence_[f"{name}_se"]
    assert est.transitions_.loc["yes", "yes"] > 0.9


def test_the_strategic_gradient_is_the_derivative_of_the_objective():
    from scipy import optimize

    from sim.core.likelihood import Cells, negative_log_posterior, start_values

    rng = np.random.default_rng(0)
    n, j = 12, 9
    member, item = np.repeat(np.arange(n), j), np.tile(np.arange(j), n)
    act = rng.integers(0, 4, n * j)
    mask = (rng.random(n * j) < 0.8).astype(float)
    cells = Cells(member, item, act, n, j, mask)
    theta = np.r_[start_values(cells) + 0.3 * rng.normal(size=2 * n + 4 * j), 0.7]
    error = optimize.check_grad(
        lambda t: negative_log_posterior(t, cells, True)[0],
        lambda t: negative_log_posterior(t, cells, True)[1],
        theta,
    )
    assert error < 1e-6
