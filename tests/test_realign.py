"""Realignment (sim.core.realign, sim.estimate.realign): a break of a few votes moves a member's
forecast on the group of texts; a record without a break leaves it where it was."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from sim.core.acts import NO
from sim.core.choice import ordered_log_probs
from sim.core.realign import choose_walk, fit_walk
from sim.estimate.realign import fit_realignment, issue_group

N_STEPS = 6
VOTES_PER_SESSION = 8


def _record(rng: np.random.Generator, n_chains: int) -> dict[str, np.ndarray]:
    """Votes drawn from the ordered logit at each chain's fitted position (no offset)."""
    n = n_chains * N_STEPS * VOTES_PER_SESSION
    chain = np.repeat(np.arange(n_chains), N_STEPS * VOTES_PER_SESSION)
    step = np.tile(np.repeat(np.arange(N_STEPS), VOTES_PER_SESSION), n_chains)
    beta = rng.uniform(1.0, 4.0, n)
    eta = rng.normal(1.5, 1.5, n)
    gap = rng.uniform(0.5, 2.0, n)
    p = np.exp(ordered_log_probs(eta, gap))  # yes, no, abstain
    act = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return {"eta": eta, "beta": beta, "gap": gap, "act": act, "chain": chain, "step": step}


def _p_no(u: float, eta: float = 2.0, beta: float = 2.5, gap: float = 1.0) -> float:
    """A next text's probability of no at offset `u`."""
    return float(np.exp(ordered_log_probs(np.array([eta + beta * u]), gap))[0, NO])


def _fit(rec: dict[str, np.ndarray], n_chains: int, start_sd: float, step_sd: float) -> np.ndarray:
    u, _ = fit_walk(
        rec["eta"], rec["beta"], rec["gap"], rec["act"], rec["chain"], rec["step"],
        n_chains=n_chains, n_steps=N_STEPS, start_sd=start_sd, step_sd=step_sd,
    )  # fmt: skip
    return u


@pytest.mark.parametrize("step_sd", [0.1, 0.2, 0.4])
def test_two_votes_of_a_new_pattern_move_the_forecast(step_sd: float) -> None:
    rng = np.random.default_rng(3)
    n_chains = 60
    rec = _record(rng, n_chains)
    before = _fit(rec, n_chains, 0.25, step_sd)[:, -1]
    # Every chain's last session: two votes turn to no on texts where its position gave yes.
    broken = {k: v.copy() for k, v in rec.items()}
    last = np.flatnonzero(rec["step"] == N_STEPS - 1)
    turned = last.reshape(n_chains, VOTES_PER_SESSION)[:, :2].reshape(-1)
    broken["act"][turned] = NO
    broken["eta"][turned] = 2.0  # a yes of 0.8 or more, by the record
    after = _fit(broken, n_chains, 0.25, step_sd)[:, -1]
    gain = np.array([_p_no(b) for b in after]) / np.array([_p_no(b) for b in before])
    # the forecast of no on the next text of the group rises for every chain, by a fifth or
    # more (a half at the freest walk): two votes of the new pattern are enough
    assert np.all(after < before)
    assert np.median(gain) > 1.0 + step_sd + 0.1


def test_a_freer_walk_follows_a_break_further() -> None:
    rng = np.random.default_rng(3)
    rec = _record(rng, 60)
    last = np.flatnonzero(rec["step"] == N_STEPS - 1).reshape(60, VOTES_PER_SESSION)[:, :2]
    rec["act"][last.reshape(-1)] = NO
    rec["eta"][last.reshape(-1)] = 2.0
    moved = [float(np.median(_fit(rec, 60, 0.25, q)[:, -1])) for q in (0.0, 0.1, 0.2, 0.4)]
    assert moved == sorted(moved, reverse=True)


def test_no_break_leaves_the_forecast_nearly_unchanged() -> None:
    rng = np.random.default_rng(4)
    n_chains = 200
    rec = _record(rng, n_chains)
    u, sd = fit_walk(
        rec["eta"], rec["beta"], rec["gap"], rec["act"], rec["chain"], rec["step"],
        n_chains=n_chains, n_steps=N_STEPS, start_sd=0.25, step_sd=0.2,
    )  # fmt: skip
    change = np.array([_p_no(x) for x in u[:, -1]]) - _p_no(0.0)
    # votes drawn at the fitted positions: the offsets average zero (within three standard
    # errors of their mean), the forecasts the spatial fit's (within a point of probability),
    # and each chain's offset is within its posterior noise
    assert abs(float(np.mean(u[:, -1]))) < 3.0 * float(np.mean(sd[:, -1])) / np.sqrt(n_chains)
    assert abs(float(np.mean(change))) < 0.01
    assert float(np.mean(np.abs(u[:, -1]) < 2.0 * sd[:, -1])) > 0.9


def test_the_window_chooses_a_walk_only_where_the_record_breaks() -> None:
    rng = np.random.default_rng(5)
    n_chains = 300  # chains 0..149 in group 0 (breaks), 150..299 in group 1 (none)
    rec = _record(rng, n_chains)
    group = (np.arange(n_chains) >= n_chains // 2).astype(np.int64)
    # group 0: half its members move by 0.8 over the last two sessions, in either direction
    shift = np.where(rng.random(n_chains) < 0.5, 0.0, rng.choice([-0.8, 0.8], n_chains))
    shift[group == 1] = 0.0
    late = rec["step"] >= N_STEPS - 2
    eta = rec["eta"] + rec["beta"] * shift[rec["chain"]] * late
    p = np.exp(ordered_log_probs(eta, rec["gap"]))
    rec["act"] = np.where(
        late, (rng.random(len(eta))[:, None] > np.cumsum(p, axis=1)).sum(axis=1), rec["act"]
    )
    start_sd, step_sd, scores = choose_walk(
        rec["eta"], rec["beta"], rec["gap"], rec["act"], rec["chain"], rec["step"], group,
        n_chains=n_chains, n_steps=N_STEPS, n_groups=2,
    )  # fmt: skip
    assert step_sd[0] > 0
    assert step_sd[1] == 0  # no break and no standing offset: the spatial fit's positions
    assert start_sd[1] == 0
    assert scores[(0.0, 0.0)].shape == (2,)


def test_pinned_walk_is_the_spatial_fit() -> None:
    rec = _record(np.random.default_rng(6), 5)
    u, sd = fit_walk(
        rec["eta"], rec["beta"], rec["gap"], rec["act"], rec["chain"], rec["step"],
        n_chains=5, n_steps=N_STEPS, start_sd=0.0, step_sd=0.0,
    )  # fmt: skip
    assert np.all(u == 0)
    assert np.all(sd == 0)
    with pytest.raises(ValueError, match="absences"):
        fit_walk(rec["eta"][:1], rec["beta"][:1], rec["gap"][:1], np.array([3]),
                 np.zeros(1, np.int64), np.zeros(1, np.int64), n_chains=1, n_steps=1,
                 start_sd=0.1, step_sd=0.1)  # fmt: skip


def test_fit_realignment_on_a_window_moves_the_member_that_broke() -> None:
    """A window of 6 sessions, two issue groups: member B turns from yes to no on the 'hr'
    texts in the last two sessions; its 'hr' position moves, its 'me' one and A's do not."""
    rng = np.random.default_rng(7)
    members = pd.DataFrame(
        {"ideal_point": rng.normal(0.0, 1.0, 40)},
        index=pd.Index([f"M{k:02d}" for k in range(38)] + ["A", "B"], name="iso3"),
    )
    members.loc[["A", "B"], "ideal_point"] = 1.5
    rows, rcs = [], []
    rcid = 0
    for session in range(70, 76):
        for code in ("me", "hr"):
            for _ in range(10):
                beta, t1 = rng.uniform(1.5, 3.0), rng.normal(-1.0, 0.5)
                rcs.append({"rcid": rcid, "session": session, "me": code == "me",
                            "hr": code == "hr", "discrimination": beta, "cut_abstain": t1,
                            "cut_yes": t1 + 1.0})  # fmt: skip
                eta = beta * members["ideal_point"].to_numpy() - t1
                p = np.exp(ordered_log_probs(eta, 1.0))
                act = (rng.random(len(eta))[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
                if code == "hr" and session >= 74:
                    act[members.index.get_loc("B")] = NO
                names = np.array(["yes", "no", "abstain"])[act]
                rows += [{"rcid": rcid, "iso3": i, "act": a}
                         for i, a in zip(members.index, names, strict=True)]  # fmt: skip
                rcid += 1
    rc = pd.DataFrame(rcs).set_index("rcid")
    for code in ("nu", "di", "co", "ec"):
        rc[code] = False
    items = rc[["discrimination", "cut_abstain", "cut_yes"]]
    fit = SimpleNamespace(
        est=SimpleNamespace(items_=items, members_=members),
        window=SimpleNamespace(roll_calls=rc, votes=pd.DataFrame(rows)),
    )
    moved = fit_realignment(fit)
    assert moved.step_sd["hr"] > 0
    assert moved.offset.loc["B", "hr"] < -0.3
    others = moved.offset.drop(index="B")["hr"].abs()
    assert others.max() < abs(moved.offset.loc["B", "hr"]) / 2
    assert abs(moved.offset.loc["B", "me"]) < 0.2
    assert issue_group(rc).tolist()[:20] == ["me"] * 10 + ["hr"] * 10
    x = moved.ideal_points(members["ideal_point"], "hr")
    assert x["B"] < members.loc["B", "ideal_point"] - 0.3
    p_no = [expit(-(2.0 * v + 1.0)) for v in (members.loc["B", "ideal_point"], x["B"])]
    assert p_no[1] > 2 * p_no[0]  # its forecast of no on the next 'hr' text at least doubles


@pytest.mark.slow
def test_realigned_validation_of_2021_moves_the_forecasts_and_scores_better(data_dir):
    """2021 from a two-year window (2019-2020), before the attendance layer and the tremble:
    the realignment moves forecasts (by up to 5 points of probability or more), on texts of
    groups whose window chose a walk only, the odds still sum to one, and the year's log-loss
    is lower (0.3653 against 0.3675 here)."""
    from sim.core.acts import ACTS
    from sim.estimate.realign import text_group
    from sim.estimate.validate import score, year_predictions
    from sim.estimate.window import fit_window
    from sim.io.data import load_roll_calls

    data = load_roll_calls(data_dir)
    plain = year_predictions(data, 2021, window=2, dimension="all")
    moved = year_predictions(data, 2021, window=2, dimension="all", realign=True)
    cut = pd.Timestamp("2021-01-01")
    fit = fit_window(data, start=cut - pd.DateOffset(years=2), end=cut, dimension="all",
                     on=pd.Timestamp("2021-12-01"))  # fmt: skip
    walk = fit_realignment(fit)
    columns = [f"model_{a}" for a in ACTS]
    group = data.roll_calls.loc[plain["rcid"]].apply(text_group, axis=1).to_numpy()
    pinned = np.array([walk.start_sd[g] == 0 and walk.step_sd[g] == 0 for g in group])
    np.testing.assert_array_equal(moved.loc[pinned, columns], plain.loc[pinned, columns])
    np.testing.assert_allclose(moved[columns].sum(axis=1), 1.0, atol=1e-9)
    change = np.abs(moved[columns].to_numpy() - plain[columns].to_numpy()).max()
    assert change > 0.05
    acts = pd.Categorical(plain["act"], categories=list(ACTS)).codes
    losses = [score(f[columns].to_numpy(), acts)["log_loss"] for f in (moved, plain)]
    assert losses[0] < losses[1]
