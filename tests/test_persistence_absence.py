"""Persistence (text shock) and strategic absence: exactness of the fast paths, recovery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from sim.core.absence import ambivalence, fit_strategic_presence, log_act_baseline
from sim.core.persistence import (
    GRID,
    conditional_vote_log_probs,
    conditional_vote_log_probs_on_draws,
    vote_log_probs,
)
from sim.model import assembly
from sim.run.replay import replay

ITEM = {"discrimination": 4.0, "cut_abstain": -3.0, "cut_yes": -0.5, "presence": 2.0}


def test_the_grid_interpolation_matches_direct_quadrature():
    rng = np.random.default_rng(0)
    x = rng.normal(-0.5, 0.1, size=(300, 6))
    previous = np.array([0, 1, 2, 3, -1, 0])
    fast = conditional_vote_log_probs_on_draws(x, previous, item=ITEM, sigma=1.5)
    exact = conditional_vote_log_probs(x, previous, item=ITEM, sigma=1.5)
    np.testing.assert_allclose(fast, exact, rtol=0, atol=1e-8)


def shock_prior_predictive(x: float, sigma: float) -> np.ndarray:
    """P(vote) averaged over the text shock, with the logistic remainder of sim.persistence."""
    z, w = np.polynomial.hermite_e.hermegauss(80)
    scale = np.sqrt(1 - 3 * sigma**2 / np.pi**2)
    beta = ITEM["discrimination"]
    item = {
        "discrimination": beta / scale,
        "cut_abstain": ITEM["cut_abstain"] / scale,
        "cut_yes": ITEM["cut_yes"] / scale,
    }
    p = np.exp(vote_log_probs(x + sigma * z / beta, item=item))
    return (w[:, None] * p).sum(0) / w.sum()


@pytest.mark.parametrize("x", [-1.0, -0.5, 0.0, 0.5])
def test_averaged_over_the_text_shock_the_calibrated_odds_come_back(x):
    # a logistic-normal convolution is close to, not exactly, a logistic (a few points at most)
    base = np.exp(vote_log_probs(np.array([x]), item=ITEM))[0]
    np.testing.assert_allclose(shock_prior_predictive(x, 1.5), base, atol=0.05)


def test_an_earlier_vote_pulls_the_next_toward_itself_and_absence_reveals_nothing():
    x = np.full(4, -0.5)
    sigma = 1.5
    prior = shock_prior_predictive(x[0], sigma)
    cond = np.exp(conditional_vote_log_probs(x, np.array([0, 1, 2, 3]), item=ITEM, sigma=sigma))
    for k in range(3):  # yes, no, abstain before: that act gains over the shock's prior
        assert cond[k, k] > prior[k]
    base = np.exp(vote_log_probs(x, item=ITEM))
    np.testing.assert_allclose(cond[3], base[3], rtol=1e-12)
    np.testing.assert_allclose(cond.sum(axis=1), 1.0, rtol=1e-12)


def test_a_member_torn_between_votes_is_likelier_to_stay_away():
    torn = log_act_baseline(np.log(np.full((1, 3), 1 / 3)), np.array([2.0]), 1.0)
    sure = log_act_baseline(np.log(np.array([[1 - 2e-9, 1e-9, 1e-9]])), np.array([2.0]), 1.0)
    assert np.exp(torn[0, 3]) > np.exp(sure[0, 3])
    np.testing.assert_allclose(np.exp(torn).sum(), 1.0, rtol=1e-12)
    assert float(ambivalence(np.zeros(3))) == pytest.approx(1.0)


def test_the_strategic_absence_slope_is_recovered_from_simulated_roll_calls():
    rng = np.random.default_rng(1)
    n_members, n_items, gamma = 120, 150, 1.5
    rho = rng.normal(2.5, 0.8, n_members)
    delta = rng.normal(0.0, 0.5, n_items)
    member, item = np.meshgrid(np.arange(n_members), np.arange(n_items), indexing="ij")
    member, item = member.ravel(), item.ravel()
    h = rng.uniform(0, 1, member.size)
    present = rng.uniform(size=member.size) < expit(rho[member] + delta[item] - gamma * h)
    fit = fit_strategic_presence(
        member, item, present.astype(float), h, n_members=n_members, n_items=n_items
    )
    assert abs(fit["gamma"] - gamma) < 3 * fit["gamma_se"]
    assert np.corrcoef(fit["rho"], rho)[0, 1] > 0.9


def test_the_odds_do_not_depend_on_the_number_of_threads(monkeypatch):
    two = replay("scenarios/jerusalem_2017.toml", n_draws=300, seed=2).odds
    monkeypatch.setattr(assembly, "WORKERS", 1)
    one = replay("scenarios/jerusalem_2017.toml", n_draws=300, seed=2).odds
    np.testing.assert_array_equal(one, two)


def test_the_vote_part_is_the_calibrated_model_given_presence():
    from sim.core.likelihood import log_policy_utility

    x = np.linspace(-3, 3, 41)
    full = log_policy_utility(x, 1.5, **ITEM)
    votes = vote_log_probs(x, item=ITEM)
    np.testing.assert_allclose(votes, full[:, :3] - np.log1p(-np.exp(full[:, 3:])), rtol=1e-12)


def test_the_attendance_carry_over_is_recovered_from_repeated_texts():
    from sim.core.absence import carry_presence
    from sim.estimate.participation import fit_presence_carryover

    rng = np.random.default_rng(4)
    n_texts, n_sessions = 200, 4
    delta = np.empty((n_texts, n_sessions))
    delta[:, 0] = rng.normal(1.0, 1.0, n_texts)
    for s in range(1, n_sessions):
        delta[:, s] = 0.4 + 0.7 * delta[:, s - 1] + rng.normal(0.0, 0.5, n_texts)
    text = pd.Series(np.repeat([f"t{k}" for k in range(n_texts)], n_sessions))
    session = pd.Series(np.tile(np.arange(70, 70 + n_sessions), n_texts))
    fit = fit_presence_carryover(pd.Series(delta.ravel()), text, session)
    assert fit["n_pairs"] == n_texts * (n_sessions - 1)
    assert fit["slope"] == pytest.approx(0.7, abs=0.05)
    assert fit["sd"] == pytest.approx(0.5, abs=0.05)
    # The next vote's effect regresses toward the mean and is less certain than the last one's.
    mean, sd = carry_presence(3.0, 0.1, fit)
    assert mean < 3.0
    assert sd > 0.1
    # Texts voted once, or no text at all: no pairs, no carry-over.
    lonely = fit_presence_carryover(
        pd.Series(delta[:, 0]), text[::n_sessions], session[::n_sessions]
    )
    assert lonely["slope"] == 0.0


# -- the shock moves over time --------------------------------------------------------------
def test_a_correlation_of_one_is_the_shock_shared_by_both_votes():
    x = np.linspace(-1, 0.5, 5)
    previous = np.array([0, 1, 2, 3, -1])
    same = conditional_vote_log_probs(x, previous, item=ITEM, sigma=2.0, scale=0.5)
    ones = conditional_vote_log_probs(
        x, previous, item=ITEM, sigma=2.0, scale=0.5, correlation=np.ones(5)
    )
    np.testing.assert_array_equal(same, ones)


def test_persistence_weakens_as_the_gap_grows_and_vanishes_without_correlation():
    from sim.core.persistence import shock_correlation

    x = np.full(3, -0.5)
    previous = np.array([0, 1, 2])  # yes, no, abstain before
    stay = []
    for gap in (0.1, 1.0, 2.0, 4.0):
        r = shock_correlation(np.full(3, gap), tau=1.8, power=2.0)
        p = np.exp(conditional_vote_log_probs(x, previous, item=ITEM, sigma=2.0, scale=0.3,
                                              correlation=r))  # fmt: skip
        stay.append(p[[0, 1, 2], [0, 1, 2]])  # the same act again
    assert np.all(np.diff(np.array(stay), axis=0) < 0)
    unrelated = np.exp(conditional_vote_log_probs(
        x, previous, item=ITEM, sigma=2.0, scale=0.3, correlation=np.zeros(3)
    ))  # fmt: skip
    np.testing.assert_allclose(unrelated[0], unrelated[1], rtol=1e-10)
    np.testing.assert_allclose(unrelated[0], unrelated[2], rtol=1e-10)


def test_the_grid_interpolation_matches_direct_quadrature_with_a_moving_shock():
    rng = np.random.default_rng(3)
    x = rng.normal(-0.5, 0.1, size=(200, 5))
    previous = np.array([0, 1, 2, 0, -1])
    r = np.array([0.99, 0.7, 0.2, 0.0, 1.0])
    fast = conditional_vote_log_probs_on_draws(
        x, previous, item=ITEM, sigma=2.0, scale=0.4, correlation=r
    )
    exact = conditional_vote_log_probs(x, previous, item=ITEM, sigma=2.0, scale=0.4, correlation=r)
    # Cubics on 257 points of a function steepened by the small logistic scale.
    np.testing.assert_allclose(fast, exact, rtol=0, atol=1e-7)


def test_the_grid_interpolation_holds_over_draws_as_spread_as_a_new_texts():
    # A new text's item shift (sd 0.8) spreads a member's draws over 5-6 units, as in the
    # Jerusalem replay; the error grows as the cube of the spacing.
    rng = np.random.default_rng(5)
    x = rng.normal(-0.5, 0.8, size=(3000, 5))
    previous = np.array([0, 1, 2, 0, -1])
    r = np.array([0.99, 0.7, 0.2, 0.0, 1.0])
    kw = dict(item=ITEM, sigma=2.0, scale=0.4, correlation=r)
    exact = conditional_vote_log_probs(x, previous, **kw)
    fast = conditional_vote_log_probs_on_draws(x, previous, **kw)
    np.testing.assert_allclose(fast, exact, rtol=0, atol=2e-4)
    finer = conditional_vote_log_probs_on_draws(x, previous, grid=2 * GRID - 1, **kw)
    assert np.abs(finer - exact).max() < np.abs(fast - exact).max() / 4


def test_a_negative_gap_is_rejected():
    from sim.core.persistence import shock_correlation

    with pytest.raises(ValueError, match="non-negative"):
        shock_correlation(-0.1, tau=1.0)


def simulate_pairs(rng, n, *, sigma, scale, tau, power):
    """Pairs of votes on the same text from the persistence model of sim.persistence."""
    from sim.core.persistence import shock_correlation

    x = rng.normal(0.0, 1.0, n)
    beta = rng.uniform(1.0, 3.0, n)
    t1 = rng.normal(-1.5, 1.0, n)
    t2 = t1 + rng.uniform(0.2, 2.0, n)
    gap = rng.choice([0.15, 1.0, 1.0, 2.0, 3.0], n)
    r = shock_correlation(gap, tau=tau, power=power)
    e0 = rng.normal(0.0, sigma, n)
    fresh = np.sqrt(scale**2 + 3 * sigma**2 * (1 - r**2) / np.pi**2)
    first = beta * x + e0 + scale * rng.logistic(size=n)
    second = beta * x + r * e0 + fresh * rng.logistic(size=n)

    def act(latent):
        return np.where(latent > t2, 0, np.where(latent > t1, 2, 1))  # yes, abstain, no

    item = {"discrimination": beta, "cut_abstain": t1, "cut_yes": t2, "presence": np.full(n, 9.0)}
    return x, np.full(n, 9.0), act(first), act(second), item, gap


@pytest.mark.slow
def test_the_shock_and_its_decay_are_recovered_from_simulated_pairs():
    from sim.core.persistence import fit_text_persistence

    rng = np.random.default_rng(11)
    truth = {"sigma": 2.0, "scale": 0.5, "tau": 1.5, "power": 1.0}
    x, rho, prev, nxt, item, gap = simulate_pairs(rng, 12_000, **truth)
    fit = fit_text_persistence(x, rho, prev, nxt, item=item, gap=gap)
    for name in ("sigma", "tau", "power"):
        assert abs(fit[name] - truth[name]) < 3 * fit[f"{name}_se"], (name, fit[name])
    assert fit["loglik"] > fit["loglik_no_decay"] + 10  # the decay is found, not imposed


def test_weights_in_the_persistence_fit_count_pairs_like_copies():
    from sim.core.persistence import fit_persistence

    rng = np.random.default_rng(8)
    base = np.log(rng.dirichlet(np.ones(4), size=600))
    prev = rng.integers(0, 4, 600)
    nxt = np.where(rng.random(600) < 0.7, prev, rng.integers(0, 4, 600))
    twice = fit_persistence(np.vstack([base, base]), np.tile(prev, 2), np.tile(nxt, 2))
    weighted = fit_persistence(base, prev, nxt, weight=np.full(600, 2.0))
    for name in ("reversal", "leave", "return", "reversal_se"):
        assert weighted[name] == pytest.approx(twice[name], rel=1e-6)


def test_a_thinned_fit_keeps_the_long_gaps_and_weights_the_rest():
    from sim.core.persistence import _sample

    gap = np.r_[np.full(9_000, 1.0), np.full(600, 2.0), np.full(400, 3.0)]
    keep, weight = _sample(gap, len(gap), 3_000)
    assert len(keep) == 3_000
    assert np.all(np.isin(np.arange(9_000, 10_000), keep))  # every long gap
    short = gap[keep] < 1.5
    # Each kept short pair stands for 9,000 / 2,000 of them, each long one for itself.
    assert weight[short][0] / weight[~short][0] == pytest.approx(4.5)
    assert weight.mean() == pytest.approx(1.0)


@pytest.mark.parametrize("correlation", ["one", "per_pair"])
def test_the_persistence_fits_shock_term_is_conditional_vote_log_probs(correlation):
    """The fit's precomputed quadrature (sim.core.persistence._Shock) is the replay's formula."""
    from sim.core.persistence import _Shock

    rng = np.random.default_rng(4)
    n = 500
    x = rng.normal(size=n)
    item = {
        "discrimination": rng.normal(0, 3, n),
        "cut_abstain": rng.normal(-1, 1, n),
        "presence": np.zeros(n),
    }
    item["cut_yes"] = item["cut_abstain"] + rng.exponential(1.0, n)
    item["discrimination"][:3] = 0.0  # the guard against a zero discrimination, too
    previous = rng.integers(-1, 4, n)
    r = 1.0 if correlation == "one" else rng.uniform(0, 1, n)
    for sigma, scale in ((1.5, 0.3), (0.4, 1.1), (0.0, 1.0)):
        fast = _Shock(x, previous, item)(sigma, scale, r)
        exact = conditional_vote_log_probs(
            x, previous, item=item, sigma=sigma, scale=scale, correlation=r
        )
        np.testing.assert_allclose(fast, exact, rtol=0, atol=1e-12)


def test_the_newton_cost_fit_finds_the_maximum_of_a_general_optimiser():
    """fit_persistence's Newton iterations reach the maximum scipy's trust-exact finds on the
    same penalised likelihood, written here independently (einsum over the (n, 4, 3) features).
    """
    from scipy import optimize
    from scipy.special import logsumexp

    from sim.core.persistence import PERSISTENCE_PRIOR_SD, _persistence_features, fit_persistence

    rng = np.random.default_rng(2)
    n = 3000
    base = np.log(rng.dirichlet(np.ones(4), size=n))
    prev = rng.integers(0, 4, n)
    stay = rng.random(n) < np.where(prev == 3, 0.4, 0.8)
    nxt = np.where(stay, prev, rng.integers(0, 4, n))
    w = rng.uniform(0.5, 2.0, n)
    feats = _persistence_features(prev)
    rows = np.arange(n)
    precision = 1 / PERSISTENCE_PRIOR_SD**2

    def objective(lam):
        u = base - feats @ lam
        norm = logsumexp(u, axis=1)
        p = np.exp(u - norm[:, None])
        grad = w @ (feats[rows, nxt] - np.einsum("nc,nck->nk", p, feats))
        value = -(w @ (u[rows, nxt] - norm)) + 0.5 * precision * lam @ lam
        return value / w.sum(), (grad + precision * lam) / w.sum()

    reference = optimize.minimize(
        objective, np.zeros(3), jac=True, method="BFGS", options={"gtol": 1e-11}
    )
    fit = fit_persistence(base, prev, nxt, weight=w)
    assert fit["converged"]
    got = np.array([fit[k] for k in ("reversal", "leave", "return")])
    np.testing.assert_allclose(got, reference.x, atol=1e-7)
    assert np.all(got > 0.3)  # the simulated members do pay for departing


def test_the_earlier_votes_likelihood_alone_is_that_column_of_all_three():
    """conditional_vote_log_probs forms only the earlier act's likelihood at the nodes; with
    draws on leading axes and per-member items it is bit for bit the column of all three."""
    from sim.core.choice import ordered_log_probs, own_act_log_probs

    rng = np.random.default_rng(8)
    a = rng.normal(0, 3, size=(4, 50, 7))
    gap = np.concatenate([rng.exponential(1.0, 49), [0.0]])[:, None]  # one item without abstain
    act = rng.integers(0, 3, 50)
    full = ordered_log_probs(a, gap)
    with np.errstate(divide="ignore"):
        own = own_act_log_probs(a, gap, act)
    expected = np.take_along_axis(full, np.broadcast_to(act[:, None, None], (4, 50, 7, 1)), -1)
    assert np.array_equal(own, expected[..., 0])


def _persistence_pairs(n: int, seed: int):
    from sim.core.persistence import _Costs, _Shock

    rng = np.random.default_rng(seed)
    x, rho = rng.normal(0, 1, n), rng.normal(2, 1, n)
    item = {"discrimination": rng.normal(1.5, 0.5, n), "cut_abstain": rng.normal(-1, 1, n),
            "presence": rng.normal(0, 0.5, n)}  # fmt: skip
    item["cut_yes"] = item["cut_abstain"] + rng.exponential(1.0, n)
    probs = np.exp(vote_log_probs(x, item=item))
    prev = np.array([rng.choice(4, p=np.r_[0.9 * p, 0.1]) for p in probs])
    nxt = np.where(rng.random(n) < 0.8, prev, rng.integers(0, 4, n))
    gap = rng.exponential(1.5, n)
    gap[: n // 10] = 0.0  # same-day pairs: correlation 1 whatever tau and the power
    weight = rng.uniform(0.5, 2.0, n)
    args = (_Shock(x, prev, item), rho + item["presence"], 0.8, _Costs(prev, nxt, weight))
    return args, gap


@pytest.mark.parametrize(
    "theta", [(1.2, 0.5, None, None), (1.2, 0.5, 1.7, 1.3), (0.7, 0.9, 0.6, 0.6)]
)
def test_the_persistence_profiles_gradient_is_its_finite_difference(theta):
    """The analytic gradient the persistence fit's optimiser uses (sim.core.persistence.
    _profile_slope: the shock's quadrature, strategic presence, the costs maximised out with
    their prior's pull) against central differences of the profile log-likelihood itself."""
    from sim.core.persistence import _correlation_slopes, _profile, _profile_slope

    args, gap = _persistence_pairs(2000, 6)
    moving = theta[2] is not None
    point = np.log(theta[:3]) if moving else np.log(theta[:2])
    if moving:
        point = np.append(point, theta[3])

    def profile(p: np.ndarray, slope: bool):
        sigma, scale = np.exp(p[:2])
        if not moving:
            return _profile_slope(sigma, scale, *args) if slope else _profile(sigma, scale, *args)
        r, slopes = _correlation_slopes(gap, float(np.exp(p[2])), float(p[3]))
        if slope:
            return _profile_slope(sigma, scale, *args, correlation=r, correlation_slopes=slopes)
        return _profile(sigma, scale, *args, correlation=r)

    value, grad = profile(point, True)
    assert value == pytest.approx(profile(point, False)[0], rel=1e-12)
    h = 1e-4
    fd = np.array([(profile(point + h * e, False)[0] - profile(point - h * e, False)[0]) / (2 * h)
                   for e in np.eye(len(point))])  # fmt: skip
    # Central differences err by about h^2 |f'''| / 6 (third derivatives of order |f|) plus
    # rounding eps |f| / h; the inner Newton fit converges far below either.
    tol = abs(value) * (h**2 + np.finfo(float).eps / h) * 10
    np.testing.assert_allclose(grad, fd, rtol=0, atol=tol)


def test_the_participation_walk_reaches_the_optimum_of_a_general_optimiser():
    """fit_participation_walk's Newton steps on the tridiagonal Hessian find the penalised
    optimum: a general optimiser started there does not improve it beyond rounding, and the
    gradient there is zero."""
    from scipy import optimize

    from sim.core.choice import log_expit
    from sim.core.walk import random_walk, walk_penalty
    from sim.estimate.participation import WALK_GTOL, fit_participation_walk

    rng = np.random.default_rng(9)
    member, session = rng.integers(0, 30, 6000), rng.integers(0, 6, 6000)
    keep = ~((member % 7 == 0) & (session == 2))  # gaps in some members' records
    member, session = member[keep], session[keep]
    offset = rng.normal(0, 1, len(member))
    truth = rng.normal(2, 1.5, 30)[member] + 0.4 * session * rng.normal(0, 1, 30)[member]
    present = (rng.random(len(member)) < expit(truth + offset)).astype(float)
    walk = random_walk(member, session)

    def objective(rho):
        z = rho[walk.slot] + offset
        value, grad = walk_penalty(rho, walk, 0.3, 5.0)
        ll = np.sum(present * log_expit(z) + (1 - present) * log_expit(-z))
        return value - ll, grad - np.bincount(walk.slot, present - expit(z), walk.n_slots)

    fit = fit_participation_walk(member, session, offset, present, walk_sd=0.3)
    rho = fit["slots"]["rho"].to_numpy()
    assert fit["converged"]
    value, grad = objective(rho)
    assert np.max(np.abs(grad)) < WALK_GTOL
    res = optimize.minimize(objective, rho, jac=True, method="L-BFGS-B",
                            options={"ftol": 1e-15, "gtol": 1e-12})  # fmt: skip
    assert res.fun >= value - 1e-9 * abs(value)


@pytest.mark.parametrize("correlation", ["one", "per_member"])
def test_mixing_the_next_votes_odds_as_probabilities_gives_the_log_space_numbers(correlation):
    """member_odds mixes the text-shock posterior's odds as probabilities (in_probabilities):
    products of logistic functions, no cancellation, so the log-space sums' numbers to rounding,
    draws on leading axes, per-member items and an item without abstentions included."""
    rng = np.random.default_rng(12)
    m = 60
    x = rng.normal(0, 2.5, size=(3, m))
    item = {"discrimination": rng.normal(1, 2, m), "cut_abstain": rng.normal(-1, 2, m)}
    item["cut_yes"] = item["cut_abstain"] + rng.exponential(1.0, m)
    item["cut_yes"][0] = item["cut_abstain"][0]  # no abstention possible on the first
    previous = rng.integers(-1, 4, m)
    r = 1.0 if correlation == "one" else rng.uniform(0, 1, m)
    common = {"item": item, "sigma": 1.4, "scale": 0.3, "correlation": r}
    with np.errstate(divide="ignore"):
        logs = conditional_vote_log_probs(x, previous, **common)
        probs = conditional_vote_log_probs(x, previous, in_probabilities=True, **common)
    assert np.array_equal(np.isfinite(logs), np.isfinite(probs))
    finite = np.isfinite(logs)
    np.testing.assert_allclose(probs[finite], logs[finite], rtol=1e-13, atol=1e-13)
