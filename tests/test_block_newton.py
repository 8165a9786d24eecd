"""Block-Newton sweeps of the ideal-point posterior (sim.core.block_newton) on simulated votes."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.block_newton import BlockProblem, _cells, block_newton, gauge_step, objective
from sim.core.likelihood import Cells, negative_log_posterior, start_values
from sim.core.walk import random_walk


def _problem(rng: np.random.Generator) -> tuple[BlockProblem, np.ndarray]:
    """40 members over 3 sessions of 15 roll calls, a few bridged texts, random acts from the
    model at random parameters (a rough fit is enough to exercise the blocks)."""
    n, s, per = 40, 3, 15
    j = s * per
    member = np.repeat(np.arange(n), j)
    item = np.tile(np.arange(j), n)
    session = item // per
    text_of_rc = np.arange(j)
    text_of_rc[per : per + 3] = text_of_rc[:3]  # session 2 repeats three texts of session 1
    _, text_of_rc = np.unique(text_of_rc, return_inverse=True)
    act = rng.integers(0, 4, len(member))
    walk = random_walk(member, session)
    cells = Cells(member, item, act, n, j, np.ones(len(member)))
    theta = np.append(start_values(cells), 0.5)
    x, rho = theta[:n], theta[n : 2 * n]
    rest = theta[2 * n :]
    p = int(text_of_rc.max()) + 1
    beta, t1, sg, delta = (rest[m * j : (m + 1) * j] for m in range(4))
    by_text = [np.bincount(text_of_rc, v, p) / np.bincount(text_of_rc) for v in (beta, t1, sg)]
    theta = np.concatenate(
        [x[walk.slot_member], rho[walk.slot_member], *by_text, delta, theta[-1:]]
    )
    prob = BlockProblem(
        walk=walk, text=text_of_rc[item], roll_call=item, act=act, mask=cells.strategic,
        text_of_roll_call=text_of_rc, n_texts=p, walk_sd=0.2, participation_sd=0.3,
        strategic=True, roll_call_session=np.arange(j) // per,
    )  # fmt: skip
    return prob, theta


def test_the_gauge_step_keeps_every_probability_and_lowers_the_prior() -> None:
    prob, theta = _problem(np.random.default_rng(1))
    theta = theta + np.random.default_rng(2).normal(0.0, 0.3, len(theta))
    moved = gauge_step(prob, theta)
    assert not np.allclose(moved, theta)
    np.testing.assert_allclose(_cells(prob, moved).logp, _cells(prob, theta).logp, atol=1e-10)
    assert objective(prob, moved) < objective(prob, theta)


def test_sweeps_never_raise_the_objective_and_reach_a_stationary_point() -> None:
    prob, theta = _problem(np.random.default_rng(3))
    fitted, sweeps, history = block_newton(prob, theta, rtol=1e-10, max_sweeps=2000)
    assert sweeps < 2000
    assert np.all(np.diff(history) <= 1e-15)
    # No direction lowers the objective at the end point (central differences of the whole
    # objective; the slope of a random unit direction, against the rounding of a sum of cells).
    rng = np.random.default_rng(4)
    for _ in range(5):
        d = rng.normal(0.0, 1.0, len(fitted))
        d /= np.linalg.norm(d)
        slope = (objective(prob, fitted + 1e-6 * d) - objective(prob, fitted - 1e-6 * d)) / 2e-6
        assert abs(slope) < 1e-3 * len(prob.act) ** 0.5


def test_the_static_sweeps_land_where_lbfgs_does() -> None:
    """One slot per member and one text per roll call: the static objective, whose analytic
    gradient must vanish at the sweeps' end point."""
    from sim.estimate.ideal_points import static_block_newton

    rng = np.random.default_rng(5)
    n, j = 30, 25
    member, item = np.repeat(np.arange(n), j), np.tile(np.arange(j), n)
    cells = Cells(member, item, rng.integers(0, 4, n * j), n, j, np.ones(n * j))
    theta, sweeps = static_block_newton(
        cells, np.append(start_values(cells), 0.0), strategic=True, tol=1e-13, max_sweeps=2000
    )
    assert sweeps < 2000
    _, grad = negative_log_posterior(theta, cells, True)
    assert np.max(np.abs(grad)) < 1e-5


@pytest.mark.parametrize("strategic", [True, False])
def test_the_block_objective_is_the_static_one(strategic: bool) -> None:
    from sim.core.block_newton import static_walk

    rng = np.random.default_rng(6)
    n, j = 12, 9
    member, item = np.repeat(np.arange(n), j), np.tile(np.arange(j), n)
    cells = Cells(member, item, rng.integers(0, 4, n * j), n, j, np.ones(n * j))
    theta = rng.normal(0.0, 0.5, 2 * n + 4 * j + int(strategic))
    prob = BlockProblem(
        walk=static_walk(member, n), text=item, roll_call=item, act=cells.act,
        mask=cells.strategic, text_of_roll_call=np.arange(j), n_texts=j, walk_sd=1.0,
        participation_sd=1.0, strategic=strategic, roll_call_session=np.zeros(j, dtype=int),
    )  # fmt: skip
    f, _ = negative_log_posterior(theta, cells, strategic)
    assert objective(prob, theta) / len(item) == pytest.approx(f, rel=1e-12)


def test_the_one_pass_cells_are_the_likelihoods_formulas() -> None:
    from sim.core.likelihood import latent_hessian, strategic_log_prob_and_partials

    prob, theta = _problem(np.random.default_rng(7))
    theta = theta + np.random.default_rng(8).normal(0.0, 1.0, len(theta))
    k, p = prob.walk.n_slots, prob.n_texts
    theta[2 * k + 2 * p : 2 * k + 3 * p] -= 3.0  # some small gaps too
    c = _cells(prob, theta)
    x, rho, beta, t1, s, delta, gamma = prob.split(theta)
    a = beta[prob.text] * x[prob.walk.slot] - t1[prob.text]
    gap = np.exp(s)[prob.text]
    expected = strategic_log_prob_and_partials(
        a, gap, rho[prob.walk.slot] + delta[prob.roll_call], prob.act, float(gamma[0]), prob.mask
    )
    for got, want in zip((c.logp, c.g_a, c.g_b, c.g_u), expected[:4], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    for got, want in zip((c.h_aa, c.h_ab, c.h_bb), latent_hessian(a, gap, prob.act), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
