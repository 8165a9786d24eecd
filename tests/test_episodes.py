"""Deal parameters calibrated on earlier episodes, and the evasion elasticity they carry.

The elasticity's claims are exact (the logit is its value 1; it moves only members under
pressure, in the direction of its sign). The calibration recovers known values from acts
simulated by the model itself, and refuses episodes that are not earlier than the vote.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from sim.core.acts import ABSENT, ACTS
from sim.estimate.deal import Episode, episode_loglik, fit_deal, log_credibility_moments
from sim.io.errors import ScenarioError
from sim.io.scenario import Prior, load_scenario
from sim.model.assembly import AssemblyModel
from sim.run.calibrate import load_episodes
from sim.run.replay import prepare

ROOT = Path(__file__).resolve().parents[1]
JERUSALEM = ROOT / "scenarios" / "jerusalem_2017.toml"
HRC = ROOT / "scenarios" / "hrc_suspension_2022.toml"
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"


@cache
def setup(draws: int = 200):
    return prepare(JERUSALEM, n_draws=draws, seed=5)


def odds(s) -> np.ndarray:
    model = AssemblyModel(s, rng=np.random.default_rng(0))
    model.run()
    return model.odds


def with_evasion(s, value: float):
    return s.with_deal(evasion=np.full(s.n_draws, value))


def test_an_evasion_of_one_is_the_plain_logit():
    s = setup()
    plain = replace(s, evasion=None)  # the Jerusalem replay draws its learnt evasion otherwise
    np.testing.assert_allclose(odds(with_evasion(s, 1.0)), odds(plain), rtol=0, atol=1e-14)


def test_evasion_moves_attendance_of_members_under_pressure_only():
    s = setup()
    base, high, low = (
        odds(with_evasion(s, 1.0)),
        odds(with_evasion(s, 3.0)),
        odds(with_evasion(s, 0.3)),
    )
    # Members the threat leaves worse off whatever they vote (earlier yes voters with a stake
    # in US aid) stay away more when attendance answers pressure more, and less when less.
    stake = np.zeros(len(s.iso3), dtype=bool)
    for ask in s.asks:
        stake[ask.targets[(ask.offer > 0).any(axis=0)]] = True
    torn = stake & (s.previous == ACTS.index("yes"))
    assert torn.sum() > 20
    assert np.all(high[:, torn, ABSENT].mean(0) > base[:, torn, ABSENT].mean(0))
    assert np.all(low[:, torn, ABSENT].mean(0) < base[:, torn, ABSENT].mean(0))
    # Members no ask reaches (the principal itself) keep their odds exactly.
    usa = s.iso3.index("USA")
    np.testing.assert_array_equal(high[:, usa], base[:, usa])
    np.testing.assert_allclose(high.sum(axis=-1), 1.0, rtol=1e-12)


def test_a_larger_value_of_support_moves_earlier_yes_voters_toward_the_ask():
    s = setup()
    yes = s.previous == ACTS.index("yes")
    small = odds(s.with_deal(support_value=np.full(s.n_draws, 1.0)))[:, yes].mean((0, 1))
    large = odds(s.with_deal(support_value=np.full(s.n_draws, 20.0)))[:, yes].mean((0, 1))
    assert large[ACTS.index("yes")] < small[ACTS.index("yes")]
    assert large[ACTS.index("abstain")] > small[ACTS.index("abstain")]


def test_log_credibility_moments_match_a_large_sample():
    for prior in (
        Prior("beta", (("a", 2.0), ("b", 6.0))),
        Prior("beta", (("a", 18.0), ("b", 2.0))),
    ):
        draws = np.log(prior.sample(400_000, rng=np.random.default_rng(1)))
        mean, var = log_credibility_moments(prior)
        assert mean == pytest.approx(draws.mean(), abs=0.01)
        assert var == pytest.approx(draws.var(), rel=0.02)


def simulated_episode(support_value: float, evasion: float, seed: int) -> Episode:
    """Acts drawn from the model at known values, credibility at its mean (as the fit scores)."""
    s = setup(400)
    s = replace(s, asks=tuple(a.at_mean_credibility() for a in s.asks))
    truth = s.with_deal(
        support_value=np.full(s.n_draws, support_value), evasion=np.full(s.n_draws, evasion)
    )
    p = odds(truth)[0]  # one draw of everything else: one realised episode
    rng = np.random.default_rng(seed)
    acts = np.array([rng.choice(4, p=row / row.sum()) for row in p])
    return Episode("simulated", s, acts)


@pytest.mark.slow
def test_the_value_of_support_is_recovered_from_a_simulated_episode():
    episode = simulated_episode(12.0, 1.0, seed=3)
    fit = fit_deal([episode], support_prior=Prior("lognormal", (("median", 3.0), ("sigma", 2.0))))
    fitted = np.log(fit["support_value"]["at_mean_credibility"])
    # The likelihood's own spread (the posterior's, without the credibility term) is the scale.
    spread = np.sqrt(max(fit["support_value"]["sigma"] ** 2 - 0.512, 0.01))
    assert abs(fitted - np.log(12.0)) < 3 * spread + 0.1
    assert fit["loglik"] > fit["loglik_prior"]


def test_an_episode_after_the_vote_is_refused(tmp_path):
    text = re.sub(
        r"\nepisodes = \[[^\]]*\]", '\nepisodes = ["later"]', JERUSALEM.read_text(encoding="utf-8")
    )
    (tmp_path / "early.toml").write_text(text, encoding="utf-8")
    (tmp_path / "later.toml").write_text(ICJ.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"calibration\.episodes: 'later' votes on 2022-12-30"):
        load_episodes(load_scenario(tmp_path / "early.toml"), data=None)


def test_a_missing_episode_file_is_named(tmp_path):
    text = re.sub(
        r"\nepisodes = \[[^\]]*\]", '\nepisodes = ["nowhere_2001"]', ICJ.read_text(encoding="utf-8")
    )
    (tmp_path / "icj.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"calibration\.episodes: 'nowhere_2001'"):
        load_episodes(load_scenario(tmp_path / "icj.toml"), data=None)


def test_the_shipped_calibration_learns_from_both_episodes_and_the_replay_draws_from_it(tmp_path):
    from sim.io.bundles import load_bundle

    deal = load_bundle("icj_referral_2022").meta["deal"]
    assert deal["episodes"] == [
        "palestine_2012", "crimea_2014", "chagos_2017", "jerusalem_2017", "es11_1_2022",
        "hrc_suspension_2022",
    ]  # fmt: skip
    assert deal["n_members"] > 6 * 180  # all but the principals that vote as they ask
    assert deal["loglik"] > deal["loglik_prior"]  # the episodes moved the priors
    s = prepare(ICJ, n_draws=4000, seed=1)
    assert s.evasion is not None
    assert np.median(s.evasion) == pytest.approx(deal["evasion"]["median"], rel=0.05)
    # The readings of absence are drawn from the same posterior.
    for k, name in enumerate(("reading_not_support", "reading_positive")):
        assert np.median(s.readings[:, k]) == pytest.approx(deal[name]["median"], rel=0.1)
    ukraine_call = next(a for a in s.asks if a.event_id == "netanyahu_call")
    support = ukraine_call.weight - ukraine_call.tie
    value = support / np.where(ukraine_call.offer > 0, ukraine_call.offer, np.nan)
    assert np.nanmedian(value) == pytest.approx(deal["support_value"]["median"], rel=0.05)
    # A scenario's own prior wins over the calibration.
    override = ICJ.read_text(encoding="utf-8") + (
        '\n[model]\nsupport_value = { dist = "fixed", value = 2.0 }\n'
        'evasion = { dist = "fixed", value = 1.0 }\n'
    )
    path = tmp_path / "icj_referral_2022.toml"
    path.write_text(override, encoding="utf-8")
    o = prepare(path, n_draws=50, seed=1, calibration=load_bundle("icj_referral_2022"))
    assert np.all(o.evasion == 1.0)


def test_the_episode_likelihood_is_finite_and_prefers_the_recorded_direction():
    episode = simulated_episode(12.0, 1.0, seed=4)
    near = episode_loglik(episode, support_value=12.0, evasion=1.0)
    far = episode_loglik(episode, support_value=0.5, evasion=1.0)
    assert np.isfinite(near)
    assert near > far


def test_an_episode_without_a_bundle_says_how_to_make_one(tmp_path, monkeypatch):
    from sim.io.errors import DataError

    monkeypatch.setenv("SIM_DATA_DIR", str(tmp_path / "no_data"))  # nothing to calibrate it on

    episode = JERUSALEM.read_text(encoding="utf-8").replace(
        'name = "jerusalem_2017"', 'name = "other_2017"'
    )
    (tmp_path / "other_2017.toml").write_text(episode, encoding="utf-8")
    text = re.sub(
        r"\nepisodes = \[[^\]]*\]", '\nepisodes = ["other_2017"]', ICJ.read_text(encoding="utf-8")
    )
    (tmp_path / "icj.toml").write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=r"'other_2017' has no calibration bundle yet; run `sim"):
        load_episodes(load_scenario(tmp_path / "icj.toml"), data=None, calibration=tmp_path)


def test_every_shipped_deal_says_attendance_answers_pressure_less_than_the_logit(data_dir):
    """Every deal `sim calibrate` learnt from the episodes before a vote puts the evasion
    elasticity below the plain logit's 1 (members move between the votes more than out of the
    hall) and moves the priors; with the two episodes that carry offers (ES-10/19, ES-11/3) the
    value of support is pinned down more tightly than its prior."""
    from sim.estimate.deal import SUPPORT_VALUE
    from sim.io.bundles import load_bundle
    from sim.io.data import load_roll_calls
    from sim.run.calibrate import load_episode

    data = load_roll_calls(data_dir)
    # The principals' own votes (the US's no, Russia's) answer no pressure: not scored.
    for path, principal in ((JERUSALEM, "USA"), (HRC, "RUS")):
        episode = load_episode(load_scenario(path), data)
        assert episode.acts[episode.setup.iso3.index(principal)] == -1
        assert (episode.acts >= 0).sum() == len(episode.acts) - 1
    for name in ("jerusalem_2017", "es11_1_2022", "hrc_suspension_2022", "icj_referral_2022"):
        fit = load_bundle(name).meta["deal"]
        assert fit["converged"], name
        assert fit["evasion"]["median"] < 1.0, name
        assert fit["loglik"] > fit["loglik_prior"], name
    both = load_bundle("icj_referral_2022").meta["deal"]
    assert both["support_value"]["sigma"] < SUPPORT_VALUE.get("sigma")
