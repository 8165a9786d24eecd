"""The attendance layer's recent record and the layer in the episodes' replays.

The recent record reads only roll calls dated before its as-of date (a vote after it cannot move
it) and counts what a plain loop counts; the layer moves a replay's absences, keeps the votes'
shares of presence and carries the roll call's common shock into the tally; inputs that do not
fit are refused with a one-line ValueError.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim.core.acts import ABSENT, ACTS
from sim.core.attendance import apply_attendance
from sim.estimate.attendance import PRIOR_WEIGHT, attendance_features, recent_record
from sim.run.vote_attendance import EpisodeAttendance, replay_attendance

MEMBERS = ["AAA", "BBB", "CCC", "DDD", "EEE"]


def synthetic(seed: int = 0, n_roll_calls: int = 120) -> SimpleNamespace:
    """Roll calls on random days of 2020-2021 (some days with several), every member on each."""
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(
        np.sort(rng.integers(0, 700, n_roll_calls)), unit="D"
    )
    roll_calls = pd.DataFrame(
        {"date": days, "symbol": [f"A/RES/75/{k}" for k in range(n_roll_calls)]},
        index=pd.RangeIndex(n_roll_calls, name="rcid"),
    )
    rate = np.array([0.02, 0.05, 0.1, 0.3, 0.6])
    absent = rng.random((n_roll_calls, len(MEMBERS))) < rate
    votes = pd.DataFrame({
        "rcid": np.repeat(roll_calls.index, len(MEMBERS)),
        "iso3": np.tile(MEMBERS, n_roll_calls),
        "act": np.where(absent.ravel(), "absent", "yes"),
        "date": np.repeat(days, len(MEMBERS)),
    })  # fmt: skip
    return SimpleNamespace(roll_calls=roll_calls, votes=votes)


def with_votes_after(data: SimpleNamespace, day: pd.Timestamp) -> SimpleNamespace:
    """`data` plus a roll call on `day` (and one later) that every member missed."""
    extra = pd.DataFrame(
        {"date": [day, day + pd.Timedelta(days=3)], "symbol": ["A/RES/ES-11/9", "A/RES/76/9"]},
        index=pd.Index([10_000, 10_001], name="rcid"),
    )
    votes = pd.DataFrame({
        "rcid": np.repeat(extra.index, len(MEMBERS)), "iso3": MEMBERS * 2,
        "act": "absent", "date": np.repeat(extra["date"].to_numpy(), len(MEMBERS)),
    })  # fmt: skip
    return SimpleNamespace(
        roll_calls=pd.concat([data.roll_calls, extra]),
        votes=pd.concat([data.votes, votes], ignore_index=True),
    )


def loop_record(data: SimpleNamespace, iso3: str, asof: pd.Timestamp, days: int) -> float:
    """The recent record the slow way: one member, one date."""
    v = data.votes
    span = v[(v["date"] >= asof - pd.Timedelta(days=days)) & (v["date"] < asof)]
    if span.empty:
        return 0.0
    everyone = (span["act"] == "absent").to_numpy()
    prior = (everyone.sum() + 0.5) / (len(everyone) + 1.0)
    own = (span.loc[span["iso3"] == iso3, "act"] == "absent").to_numpy()
    a, n = own.sum(), len(own)
    shrunk = np.log((a + prior * PRIOR_WEIGHT) / (n - a + (1 - prior) * PRIOR_WEIGHT))
    return float(shrunk - np.log(prior / (1 - prior)))


def test_the_recent_record_counts_what_a_loop_counts_member_by_member_and_date_by_date():
    data = synthetic()
    rng = np.random.default_rng(1)
    asof = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 760, 40), unit="D")
    iso3 = rng.choice(MEMBERS, 40)
    for days in (1, 30, 120):
        fast = recent_record(data, iso3, asof.to_numpy(), days)
        slow = [loop_record(data, m, d, days) for m, d in zip(iso3, asof, strict=True)]
        np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    # A member that misses more than the Assembly lately reads above 0, one that comes below.
    late = recent_record(data, MEMBERS, pd.Timestamp("2021-12-31"), 240)
    assert late[-1] > 0 > late[0]


def test_a_roll_call_on_or_after_the_cutoff_changes_no_feature():
    data = synthetic()
    cutoff = pd.Timestamp("2021-06-01")
    cells = data.roll_calls.index[data.roll_calls["date"] < cutoff][-10:]
    rcid, iso3 = np.repeat(cells, len(MEMBERS)), np.tile(MEMBERS, len(cells))
    before = attendance_features(data, rcid, iso3, cutoff=cutoff, window=2, recent_days=60)
    after = attendance_features(
        with_votes_after(data, cutoff), rcid, iso3, cutoff=cutoff, window=2, recent_days=60
    )
    np.testing.assert_array_equal(before, after)
    # ... and one the day before does: the recent record reads up to the cutoff.
    moved = attendance_features(
        with_votes_after(data, cutoff - pd.Timedelta(days=1)), rcid, iso3, cutoff=cutoff,
        window=2, recent_days=60,
    )  # fmt: skip
    assert np.abs(moved[:, 4] - before[:, 4]).min() > 0.01
    # Per-cell as-of dates (a fit on each roll call's own day) read only before each one.
    asof = data.roll_calls.loc[rcid, "date"].to_numpy()
    own_day = recent_record(data, iso3, asof, 60)
    later = recent_record(with_votes_after(data, pd.Timestamp(asof.max())), iso3, asof, 60)
    np.testing.assert_array_equal(own_day, later)


def layer_for(n_members: int, weight: float, sd: float) -> EpisodeAttendance:
    """A layer that adds `weight` times a member's one feature to the replay's logit."""
    features = np.linspace(-1.0, 1.0, n_members)[:, None]
    fit = {"weights": [0.0, 1.0, weight], "sd": sd, "recent_days": 60}
    return EpisodeAttendance(fit=fit, iso3=tuple(f"M{k}" for k in range(n_members)),
                             features=features)  # fmt: skip


def replay_like_odds(n_draws: int = 300, n_members: int = 8) -> np.ndarray:
    rng = np.random.default_rng(2)
    odds = rng.dirichlet([6.0, 1.0, 2.0, 1.0], size=(n_draws, n_members))
    odds[:, 0] = [0.0, 0.0, 0.0, 1.0]  # a member with no vote available stays absent
    return odds


def test_the_layer_moves_a_replays_absences_keeping_the_votes_shares():
    odds = replay_like_odds()
    identity = replay_attendance(odds, layer_for(odds.shape[1], 0.0, 0.0), seed=1)
    np.testing.assert_allclose(identity, odds, rtol=0, atol=1e-12)
    layer = layer_for(odds.shape[1], 2.0, 0.8)
    moved = replay_attendance(odds, layer, seed=1)
    np.testing.assert_allclose(moved.sum(axis=2), 1.0)
    present = slice(1, None)
    ratio = moved[:, present, :ABSENT] / odds[:, present, :ABSENT]
    np.testing.assert_allclose(ratio, np.broadcast_to(ratio[..., :1], ratio.shape))  # shares kept
    np.testing.assert_array_equal(moved[:, 0], odds[:, 0])
    # A higher feature, more absence; a lower one, less (mean over the shock's draws).
    change = moved[:, present, ABSENT].mean(axis=0) - odds[:, present, ABSENT].mean(axis=0)
    assert change[-1] > 0.05
    assert change[0] < -0.01
    # The roll call's shock is common to the members of a draw: their absences move together,
    # so the expected number absent spreads across draws more than without it.
    flat = replay_attendance(odds, layer_for(odds.shape[1], 2.0, 0.0), seed=1)
    assert moved[..., ABSENT].sum(axis=1).std() > 1.5 * flat[..., ABSENT].sum(axis=1).std()
    # Same seed, same numbers; another seed, other shocks.
    np.testing.assert_array_equal(moved, replay_attendance(odds, layer, seed=1))
    assert not np.array_equal(moved, replay_attendance(odds, layer, seed=2))


def test_a_layer_that_does_not_fit_its_inputs_is_refused():
    odds = replay_like_odds()
    with pytest.raises(ValueError, match="odds of shape"):
        replay_attendance(odds[:, :5], layer_for(odds.shape[1], 1.0, 0.5), seed=1)
    probs = odds[0]
    with pytest.raises(ValueError, match="3 weights for 2 features"):
        apply_attendance(probs, np.zeros((len(probs), 2)), {"weights": [0.0, 1.0, 0.0], "sd": 0})
    with pytest.raises(ValueError, match="rows of features"):
        apply_attendance(probs, np.zeros((3, 1)), {"weights": [0.0, 1.0, 0.0], "sd": 0})
    with pytest.raises(ValueError, match="not \\(n, 4\\)"):
        apply_attendance(probs[:, :3], np.zeros((len(probs), 1)), {"weights": [0, 1, 0], "sd": 0})
    data = synthetic()
    with pytest.raises(ValueError, match="days must be at least 1"):
        recent_record(data, MEMBERS, pd.Timestamp("2021-01-01"), 0)
    with pytest.raises(ValueError, match="2 as-of dates for 5 members"):
        recent_record(data, MEMBERS, pd.to_datetime(["2021-01-01", "2021-02-01"]).to_numpy(), 30)


def test_acts_order_is_the_layers():
    # The layer refits the last column: ACTS must keep absence last for the shares to hold.
    assert ACTS[ABSENT] == "absent"


def test_an_episodes_replay_moves_with_its_layer_and_without_data_stays_as_it_was(data_dir):
    """ES-11/3 with its layer fitted on 2021 held-out rows (base rates standing in for the
    model's predictions, so no window is fitted here) against the same replay without it; the
    ICJ referral, past the data's end, gets no layer."""
    from pathlib import Path

    from sim.estimate.validate import BASE_RATES
    from sim.io.bundles import load_bundle
    from sim.io.data import load_roll_calls
    from sim.io.scenario import load_scenario
    from sim.run.episodes import score_episode

    root = Path(__file__).resolve().parents[1] / "scenarios"
    data = load_roll_calls(data_dir)
    votes = data.votes[data.votes["date"].dt.year == 2021]
    held = pd.DataFrame({"rcid": votes["rcid"].to_numpy(), "iso3": votes["iso3"].astype(str),
                         "act": votes["act"].astype(str)})  # fmt: skip
    for k, act in enumerate(ACTS):
        held[f"model_{act}"] = BASE_RATES[k] / BASE_RATES.sum()
    hrc = load_scenario(root / "hrc_suspension_2022.toml")
    deal = load_bundle(hrc.name).meta["deal"]
    plain = score_episode(hrc, data, deal, n_draws=60)
    layered = score_episode(hrc, data, deal, n_draws=60, attendance={2021: held})
    assert plain.row["attendance"] is None
    assert layered.row["attendance"]["year"] == 2021
    assert layered.row["attendance"]["recent_days"] in (30, 60, 120, 240, 365)
    moved = np.abs(layered.members["p_absent"] - plain.members["p_absent"])
    assert moved.max() > 0.01
    assert layered.row["absent_log_loss"] != plain.row["absent_log_loss"]
    icj = load_scenario(root / "icj_referral_2022.toml")
    icj_deal = load_bundle(icj.name).meta["deal"]
    icj_row = score_episode(icj, data, icj_deal, n_draws=20, attendance={}).row
    assert icj_row["attendance"] is None


def test_a_replay_past_the_datas_end_keeps_its_own_absence_and_says_so(data_dir):
    """`sim replay --attendance` on the ICJ referral (in the data's holdout): no layer, the same
    odds as without the data, and a note that says why."""
    from pathlib import Path

    from sim.io.data import load_roll_calls
    from sim.run.replay import replay

    icj = Path(__file__).resolve().parents[1] / "scenarios" / "icj_referral_2022.toml"
    plain = replay(icj, n_draws=30, seed=3)
    with_data = replay(icj, n_draws=30, seed=3, attendance=load_roll_calls(data_dir))
    np.testing.assert_array_equal(plain.odds, with_data.odds)
    assert "attendance layer: off (the vote is not in the data)" in with_data.setup.notes


def test_the_layers_fit_reaches_the_penalised_likelihoods_stationary_point():
    """fit_attendance's analytic gradient takes L-BFGS-B to the optimum: central differences of
    the penalised log-likelihood (rebuilt here from attendance_probability) vanish there to the
    differences' own error, far below the gradient where the fit starts; and the probabilities
    the data were drawn with are recovered (with each cell's shock its own, the slopes' scale
    and the shock's sd are nearly one direction, so the probabilities are what is identified)."""
    from sim.core.attendance import RIDGE, attendance_probability, fit_attendance

    rng = np.random.default_rng(7)
    n = 6000
    model_p = rng.uniform(0.01, 0.3, n)
    probs = np.column_stack([(1 - model_p) * 0.6, (1 - model_p) * 0.1, (1 - model_p) * 0.3,
                             model_p])  # fmt: skip
    features = rng.normal(size=(n, 2))
    truth = np.array([-0.5, 0.8, 0.7, -0.4])
    design = np.column_stack([np.ones(n), np.log(model_p / (1 - model_p)), features])
    absent = rng.random(n) < attendance_probability(design, truth, 0.7)
    fit = fit_attendance(probs, features, absent)

    penalty = np.array([0.0, 0.0, RIDGE, RIDGE])
    y = absent.astype(float)

    def objective(theta: np.ndarray) -> float:
        q = attendance_probability(design, theta[:-1], float(np.exp(theta[-1])))
        ll = y @ np.log(q) + (1 - y) @ np.log1p(-q)
        return float(-ll + 0.5 * penalty @ theta[:-1] ** 2)

    def slope(theta: np.ndarray, h: float = 1e-5) -> np.ndarray:
        return np.array([(objective(theta + h * e) - objective(theta - h * e)) / (2 * h)
                         for e in np.eye(len(theta))])  # fmt: skip

    at = np.array([*fit["weights"], np.log(fit["sd"])])
    start = np.array([0.0, 1.0, 0.0, 0.0, np.log(0.5)])
    assert np.abs(slope(start)).max() > 10.0
    assert np.abs(slope(at)).max() < 1e-3  # differences' error ~ |f| 1e-16 / h + h^2 f'''
    fitted = attendance_probability(design, np.array(fit["weights"]), fit["sd"])
    assert np.abs(fitted - attendance_probability(design, truth, 0.7)).mean() < 0.01
