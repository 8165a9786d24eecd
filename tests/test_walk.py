"""The random-walk prior shared by dynamic ideal points and participation (sim.core.walk)."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from sim.core.walk import random_walk, walk_penalty, walk_precision, walk_se
from sim.estimate.participation import fit_participation_walk

RNG = np.random.default_rng(7)
MEMBER = np.repeat(np.arange(4), 30)
SESSION = np.tile(np.repeat([0, 1, 2, 5, 6], 6), 4)


def test_the_penalty_gradient_is_the_derivative_of_the_penalty() -> None:
    walk = random_walk(MEMBER, SESSION)
    x = RNG.normal(size=walk.n_slots)
    value, grad = walk_penalty(x, walk, walk_sd=0.3, sd0=2.0)
    step = 1e-6
    numeric = [(walk_penalty(x + step * e, walk, 0.3, 2.0)[0] - walk_penalty(x - step * e, walk,
                0.3, 2.0)[0]) / (2 * step) for e in np.eye(walk.n_slots)]  # fmt: skip
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6)
    # the value is half the quadratic form of the precision matrix
    assert np.isclose(value, 0.5 * x @ (walk_precision(walk, 0.3, 2.0) @ x))


def test_the_batched_sds_are_the_dense_inverse() -> None:
    walk = random_walk(MEMBER, SESSION)
    info = RNG.uniform(0.5, 3.0, walk.n_slots)
    dense = np.diag(info) + walk_precision(walk, 0.4, 5.0).toarray()
    expected = np.sqrt(np.diag(np.linalg.inv(dense)))
    np.testing.assert_allclose(walk_se(walk, info, 0.4, 5.0), expected, rtol=1e-10)


def test_participation_follows_the_record_and_stands_still_under_a_tight_walk() -> None:
    walk = random_walk(MEMBER, SESSION)
    truth = np.repeat([-1.0, 0.0, 1.5, 3.0], 5)  # members differ
    truth += np.tile([0.0, 0.4, 0.8, 1.2, 1.6], 4)  # every member drifts upward
    present = RNG.uniform(size=len(MEMBER)) < expit(truth[walk.slot])
    loose = fit_participation_walk(MEMBER, SESSION, np.zeros(len(MEMBER)), present, walk_sd=1.0)
    tight = fit_participation_walk(MEMBER, SESSION, np.zeros(len(MEMBER)), present, walk_sd=1e-4)
    assert loose["converged"]
    assert np.corrcoef(loose["slots"]["rho"], truth)[0, 1] > 0.7
    per_member = tight["slots"].groupby("member")["rho"].agg(np.ptp)
    assert per_member.max() < 1e-3  # no room to move between sessions
    assert (loose["slots"]["rho_se"] > tight["slots"]["rho_se"]).all()
