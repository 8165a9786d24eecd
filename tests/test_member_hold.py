"""Each member's own hold on its record (issue 20, item 2): a member effect on the reversal cost,
shrunk to the pool (:func:`sim.core.persistence.fit_member_hold`), used by validation's member
odds and drawn per member in the replay.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sim.core.acts import ABSENT, ABSTAIN, YES
from sim.core.choice import act_probabilities, persistence_cost, utilities
from sim.core.persistence import fit_member_hold, member_holds
from sim.core.predict import member_odds
from sim.model.assembly import AssemblyModel

COSTS = {"reversal": 1.0, "leave": 0.5, "return": 0.5}


def _simulate(hold, n_pairs, seed):
    """Pairs whose earlier act is yes or abstain, the next drawn from the conditional logit with
    the pooled costs plus each member's `hold` on the reversal cost: (log_baseline, previous,
    chosen, member).
    """
    rng = np.random.default_rng(seed)
    member = np.repeat(np.arange(len(hold)), n_pairs)
    n = len(member)
    previous = np.where(rng.random(n) < 0.7, YES, ABSTAIN)
    logits = rng.normal(0.0, 1.0, (n, 4)) + np.array([1.5, -1.0, 0.0, -1.5])
    log_baseline = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    cost = persistence_cost(previous, reversal=COSTS["reversal"], leave=COSTS["leave"],
                            ret=COSTS["return"])[0]  # fmt: skip
    cost = cost + hold[member][:, None] * persistence_cost(previous, reversal=1.0, leave=0.0,
                                                           ret=0.0)[0]  # fmt: skip
    p = act_probabilities(utilities(log_baseline, cost=cost))
    chosen = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return log_baseline, previous, np.minimum(chosen, ABSENT), member


def test_the_spread_of_holds_and_each_members_hold_are_recovered():
    rng = np.random.default_rng(3)
    true = rng.normal(0.5, 1.0, 150)
    fit = fit_member_hold(*_simulate(true, 120, seed=4), costs=COSTS)
    assert abs(fit["hold_sd"] - 1.0) < 3 * fit["hold_sd_se"] + 0.05
    assert abs(fit["hold_mean"] - 0.5) < 3 * fit["hold_mean_se"] + 0.05
    assert np.corrcoef(fit["mean"], true)[0, 1] > 0.7
    # the posterior sds are honest: about 95% of the true holds within two of them
    inside = np.abs(fit["mean"] - true) < 2 * fit["sd"]
    assert 0.88 < inside.mean() <= 1.0
    assert fit["loglik_hold"] > fit["loglik_pooled"] + 10


def test_no_spread_in_the_data_gives_a_small_one():
    fit = fit_member_hold(*_simulate(np.zeros(100), 100, seed=5), costs=COSTS)
    assert fit["hold_sd"] < 0.3
    assert np.abs(fit["mean"] - fit["hold_mean"]).max() < 0.3


def _with_three_members(seed):
    """A pool of 80 members with holds drawn around 0, then three more: 150 pairs never reversed
    (steady), 150 pairs reversed a third of the time (fickle), and 4 pairs never reversed (new).
    """
    rng = np.random.default_rng(seed)
    lb, prev, chosen, member = _simulate(rng.normal(0.0, 0.7, 80), 100, seed=seed)
    extra = {"steady": (150, 0.0), "fickle": (150, 1 / 3), "new": (4, 0.0)}
    parts = [(lb, prev, chosen, member)]
    for k, (n, reversals) in enumerate(extra.values()):
        flip = np.arange(n) < round(reversals * n)
        parts.append((
            np.log(np.full((n, 4), [0.7, 0.1, 0.1, 0.1])),
            np.full(n, YES),
            np.where(flip, ABSTAIN, YES),
            np.full(n, 80 + k),
        ))  # fmt: skip
    return [np.concatenate(a) for a in zip(*parts, strict=True)]


def test_a_steady_member_holds_more_than_the_pool_a_fickle_one_less_and_few_pairs_shrink():
    fit = fit_member_hold(*_with_three_members(6), costs=COSTS)
    steady, fickle, new = fit["mean"][80:]
    mu = fit["hold_mean"]
    assert steady > mu + 0.5
    assert fickle < mu - 0.5
    # the same record (never a reversal) on 4 pairs stays near the pool, less sure
    assert mu < new < steady
    assert new - mu < (steady - mu) / 3
    assert fit["sd"][82] > fit["sd"][80]
    # their keep-probabilities on a text: the steady member's above the pool's, the fickle's below
    item = dict(discrimination=1.0, cut_abstain=-1.5, cut_yes=-0.5, presence=2.0)
    pers = dict(sigma=1.0, scale=0.5, **COSTS)
    x, rho, prev = np.zeros(3), np.full(3, 2.0), np.full(3, YES)
    pooled = member_odds(x, rho, prev, item=item, persistence=pers, gamma=0.5, tau=0.3)
    own = member_odds(x, rho, prev, item=item, persistence=pers, gamma=0.5, tau=0.3,
                      hold=fit["mean"][80:], hold_sd=fit["sd"][80:])  # fmt: skip
    assert own[0, YES] > pooled[0, YES] + 0.02
    assert own[1, YES] < pooled[1, YES] - 0.02
    np.testing.assert_allclose(own.sum(axis=1), 1.0)


def test_the_members_uncertainty_is_integrated_not_dropped():
    item = dict(discrimination=1.0, cut_abstain=-1.5, cut_yes=-0.5, presence=2.0)
    pers = dict(sigma=1.0, scale=0.5, **COSTS)
    args = (np.zeros(1), np.full(1, 2.0), np.full(1, YES))
    kw = dict(item=item, persistence=pers, gamma=0.5, tau=0.3, hold=np.array([1.0]))
    sure = member_odds(*args, **kw)
    unsure = member_odds(*args, **kw, hold_sd=np.array([1.5]))
    # a reversal's odds are convex in the hold: averaging over it raises them
    assert unsure[0, ABSTAIN] > sure[0, ABSTAIN]
    # a member without an earlier vote is untouched by any hold
    none = (np.zeros(1), np.full(1, 2.0), np.full(1, -1))
    np.testing.assert_allclose(
        member_odds(*none, **{**kw, "hold": np.array([3.0])}),
        member_odds(*none, item=item, persistence=pers, gamma=0.5, tau=0.3),
    )


def test_members_the_window_did_not_see_take_the_pool_and_no_fit_means_no_hold():
    pers = {"hold_mean": 0.3, "hold_sd": 0.8, "hold.UKR": 2.0, "hold_se.UKR": 0.5}
    mean, sd = member_holds(pers, ["UKR", "TUV"])
    np.testing.assert_array_equal(mean, [2.0, 0.3])
    np.testing.assert_array_equal(sd, [0.5, 0.8])
    mean, sd = member_holds({"reversal": 1.0}, ["UKR"])
    np.testing.assert_array_equal(mean, [0.0])
    np.testing.assert_array_equal(sd, [0.0])


@pytest.fixture(scope="module")
def jerusalem():
    """The Jerusalem replay on its bundle with members' holds added (the shipped bundles leave
    them out for now): a spread like the windows' (sd about 0.6), each with a posterior sd."""
    from sim.io.bundles import load_bundle
    from sim.run.replay import prepare

    bundle = load_bundle("jerusalem_2017")
    assert "hold_sd" not in bundle.persistence
    rng = np.random.default_rng(11)
    holds = {"hold_mean": 0.1, "hold_mean_se": 0.05, "hold_sd": 0.6, "hold_sd_se": 0.04}
    for iso3 in bundle.members.index:
        holds[f"hold.{iso3}"] = float(rng.normal(0.1, 0.6))
        holds[f"hold_se.{iso3}"] = 0.25
    meta = {**bundle.meta, "persistence": {**bundle.meta["persistence"], **holds}}
    return prepare("scenarios/jerusalem_2017.toml", n_draws=300, seed=2,
                   calibration=replace(bundle, meta=meta))  # fmt: skip


def _calm_odds(setup):
    model = AssemblyModel(replace(setup, asks=()), rng=np.random.default_rng(0))
    model.run()
    return model.odds


def test_the_replay_draws_each_members_hold_and_its_odds_move_without_them(jerusalem):
    assert jerusalem.hold is not None
    assert jerusalem.hold.shape == (jerusalem.n_draws, len(jerusalem.iso3))
    mean, sd = member_holds(jerusalem.bundle.persistence, jerusalem.iso3)
    # drawn from each member's posterior
    np.testing.assert_allclose(jerusalem.hold.mean(axis=0), mean, atol=4 * sd.max() / 17 + 1e-9)
    assert np.all(np.abs(jerusalem.hold.std(axis=0) - sd) < 0.25 * sd)
    with_hold = _calm_odds(jerusalem)
    without = _calm_odds(replace(jerusalem, hold=None))
    voted = np.flatnonzero((np.asarray(jerusalem.previous) >= 0)
                           & (np.asarray(jerusalem.previous) != ABSENT))  # fmt: skip
    assert len(voted) > 100
    keep = with_hold[:, voted].mean(axis=0)[np.arange(len(voted)), jerusalem.previous[voted]]
    keep0 = without[:, voted].mean(axis=0)[np.arange(len(voted)), jerusalem.previous[voted]]
    order = np.argsort(mean[voted])
    # the members that hold their record most keep it likelier than under the pooled cost,
    # those that hold it least less likely
    assert np.mean(keep[order[-20:]] - keep0[order[-20:]]) > 0.0
    assert np.mean(keep[order[:20]] - keep0[order[:20]]) < 0.0
