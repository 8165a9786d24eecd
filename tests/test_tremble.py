"""The tremble: mixing, its out-of-sample estimate, and its place in replays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.core.acts import ABSENT
from sim.core.tremble import apply_tremble, fit_tremble
from sim.io.bundles import load_bundle
from sim.run.replay import replay

ROOT = Path(__file__).resolve().parents[1]
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"
BASE = np.array([0.75, 0.05, 0.12, 0.08])


def predictions(rng, n):
    """Sharp four-act predictions whose act shares are BASE (the tremble's shares are the
    observed ones)."""
    return rng.dirichlet(0.5 * BASE, size=n)


def draw_acts(rng, probs):
    cumulative = probs.cumsum(axis=1)
    return (rng.random((len(probs), 1)) > cumulative[:, :-1]).sum(axis=1)


def test_the_mixture_sums_to_one_and_gives_nothing_to_an_impossible_act():
    probs = np.array([[0.0, 0.0, 0.0, 1.0], [0.9, 0.0, 0.1, 0.0]])
    available = np.array([[False, False, False, True], [True, True, True, True]])
    mixed = apply_tremble(probs, eps=0.1, base=BASE, available=available)
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0)
    np.testing.assert_array_equal(mixed[0], [0.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(mixed[1], 0.9 * probs[1] + 0.1 * BASE)


def test_the_tremble_share_is_recovered_from_contaminated_predictions():
    rng = np.random.default_rng(1)
    probs = predictions(rng, 40_000)
    acts = draw_acts(rng, apply_tremble(probs, eps=0.03, base=BASE))
    fit = fit_tremble(probs, acts)
    assert abs(fit["eps"] - 0.03) < 3 * fit["eps_se"]
    assert fit["loglik_gain"] > 10


def test_calibrated_predictions_get_almost_no_tremble():
    rng = np.random.default_rng(2)
    probs = predictions(rng, 40_000)
    fit = fit_tremble(probs, draw_acts(rng, probs))
    assert fit["eps"] < 3 * fit["eps_se"] + 1e-6


def test_the_replay_mixes_in_the_bundles_tremble_and_keeps_arrears_members_absent():
    tremble = load_bundle("icj_referral_2022").meta["tremble"]
    assert 0 < tremble["eps"] < 0.2
    result = replay(ICJ, n_draws=30, seed=3)
    assert result.setup.tremble is not None
    floor = tremble["eps"] * np.asarray(tremble["base"])
    voting = result.setup.available.all(axis=1)
    assert np.all(result.odds[:, voting, :] >= floor * (1 - 1e-9))
    venezuela = result.setup.iso3.index("VEN")
    np.testing.assert_array_equal(result.odds[:, venezuela, ABSENT], 1.0)
