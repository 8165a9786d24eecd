"""Dynamic ideal points: recovery of drifting ideal points from roll calls simulated by the model.

The simulated assembly has 100 members over 8 sessions of 40 roll calls; each member's ideal
point starts at N(0, 1) and moves by N(0, 0.3^2) steps per session. Tolerances are the brief's
bounds: with 40 roll calls per session a session's ideal point has an se of about 0.25, small
against the spread of the true values (sd about 1.2), hence correlation > 0.95; the change from
the first to the last session has a true sd of about 0.8 against an error of about 0.35,
hence > 0.7.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from sim.core.acts import ACTS
from sim.core.likelihood import (
    act_probabilities_from_item,
    latent_hessian,
    negative_log_posterior,
    start_values,
    unpack,
)
from sim.core.walk import walk_se
from sim.estimate.dynamic import (
    DynamicIdealPoints,
    _Layout,
    _negative_log_posterior_dynamic,
    _walk,
    bridged_items,
)
from sim.estimate.ideal_points import ITEM_PARAMS, make_cells, minimise_lbfgs, select_roll_calls
from sim.io.errors import DataError

TRUE_WALK_SD = 0.3


@dataclasses.dataclass(frozen=True)
class SimulatedSessions:
    """The two frames the estimator reads, plus the true member-session ideal points."""

    votes: pd.DataFrame
    roll_calls: pd.DataFrame
    truth: pd.Series  # ideal point by (iso3, session)


def simulate(
    rng: np.random.Generator,
    *,
    n_members: int = 100,
    n_sessions: int = 8,
    n_per_session: int = 40,
    walk_sd: float = TRUE_WALK_SD,
    drift: float = 0.0,
    n_repeated: int = 0,
) -> SimulatedSessions:
    """Roll calls from the dynamic model: every member present in every session.

    `drift` moves every member by the same amount per session (a shift of the whole assembly);
    the first `n_repeated` roll calls of every session repeat the first session's texts with
    the same item parameters and title, the rest are new texts."""
    iso3 = np.array(sorted(["USA", *(f"M{k:03d}" for k in range(n_members - 1))]))
    steps = rng.normal(0.0, walk_sd, (n_members, n_sessions)) + drift
    steps[:, 0] = rng.normal(0.0, 1.0, n_members)
    x = np.cumsum(steps, axis=1)  # (member, session)
    rho = rng.normal(2.5, 1.0, n_members)
    n_items = n_sessions * n_per_session
    cut_abstain = rng.normal(-1.0, 1.0, n_items)
    items = pd.DataFrame(
        {
            "discrimination": rng.choice([-1.0, 1.0], n_items) * rng.uniform(0.8, 2.5, n_items),
            "cut_abstain": cut_abstain,
            "cut_yes": cut_abstain + np.exp(rng.normal(0.3, 0.4, n_items)),
            "presence": rng.normal(0.0, 0.5, n_items),
        },
        index=pd.Index(np.arange(1, n_items + 1), name="rcid"),
    )
    session = np.repeat(np.arange(1, n_sessions + 1), n_per_session)
    position = np.arange(n_items) % n_per_session
    repeated = position < n_repeated
    items.loc[repeated] = items.iloc[position[repeated]].to_numpy()
    titles = np.where(repeated, [f"text {k}" for k in position], [f"once {k}" for k in items.index])
    p = act_probabilities_from_item(
        x[:, session - 1],
        rho[:, None],
        **{k: items[k].to_numpy() for k in ITEM_PARAMS},
    )  # (member, item, act)
    cdf = np.cumsum(p, axis=-1)
    acts = np.minimum((rng.random(cdf.shape[:2])[..., None] > cdf).sum(axis=-1), len(ACTS) - 1)
    dates = pd.Timestamp("2001-10-01") + pd.to_timedelta(
        (session - 1) * 365 + np.arange(n_items) % n_per_session, unit="D"
    )
    votes = pd.DataFrame(
        {
            "rcid": np.tile(items.index.to_numpy(), n_members),
            "iso3": np.repeat(iso3, n_items),
            "act": pd.Categorical.from_codes(acts.ravel(), categories=list(ACTS)),
            "session": np.tile(session, n_members),
            "date": np.tile(dates, n_members),
        }
    )
    roll_calls = pd.DataFrame(
        {
            "session": session,
            "date": dates,
            "symbol": [f"A/RES/{s}/{k}" for s, k in zip(session, items.index, strict=True)],
            "title": titles,
            "partial": False,
            **{code: np.ones(n_items, dtype=bool) for code in ("me", "nu", "di", "hr", "co", "ec")},
        },
        index=items.index,
    )
    truth = pd.Series(
        x.ravel(),
        index=pd.MultiIndex.from_product(
            [iso3, np.arange(1, n_sessions + 1)], names=["iso3", "session"]
        ),
    )
    return SimulatedSessions(votes, roll_calls, truth)


@pytest.fixture(scope="module")
def simulated() -> SimulatedSessions:
    return simulate(np.random.default_rng(20240607))


@pytest.fixture(scope="module")
def fitted(simulated: SimulatedSessions) -> DynamicIdealPoints:
    return DynamicIdealPoints(walk_sd=TRUE_WALK_SD).fit(simulated)


def test_session_ideal_points_recover_the_truth(
    simulated: SimulatedSessions, fitted: DynamicIdealPoints
) -> None:
    est = fitted.ideal_points_["ideal_point"]
    truth = simulated.truth.loc[est.index]
    assert fitted.converged_
    assert abs(np.corrcoef(est, truth)[0, 1]) > 0.95


def test_the_fit_tracks_each_members_drift(
    simulated: SimulatedSessions, fitted: DynamicIdealPoints
) -> None:
    est = fitted.ideal_points_["ideal_point"].unstack("session")
    truth = simulated.truth.unstack("session").loc[est.index]
    sign = np.sign(np.corrcoef(est.to_numpy().ravel(), truth.to_numpy().ravel())[0, 1])
    est_change = sign * (est.iloc[:, -1] - est.iloc[:, 0])
    true_change = truth.iloc[:, -1] - truth.iloc[:, 0]
    assert np.corrcoef(est_change, true_change)[0, 1] > 0.7
    # Correlation is blind to scale: the changes must also have the true size relative to the
    # spread of the first session (the posterior mode shrinks them by about the share of their
    # variance the data explain, ~0.8 here; a walk sd 100 times too small gives ~0.001).
    est_ratio = est_change.std() / est.iloc[:, 0].std()
    true_ratio = true_change.std() / truth.iloc[:, 0].std()
    assert 0.5 < est_ratio / true_ratio < 1.5


def test_the_usa_is_on_the_negative_side_and_member_sessions_are_standardised(
    fitted: DynamicIdealPoints,
) -> None:
    x = fitted.ideal_points_["ideal_point"]
    assert x.xs("USA", level="iso3").mean() < 0
    np.testing.assert_allclose([x.mean(), x.std(ddof=0)], [0.0, 1.0], atol=1e-12)


def test_standard_errors_are_about_the_size_of_the_estimation_error(
    simulated: SimulatedSessions, fitted: DynamicIdealPoints
) -> None:
    # Regress the truth on the estimate to put it in the fitted units, then compare the rms
    # error with the rms se: the se is approximate (items fixed), so within a factor of 2.
    est = fitted.ideal_points_["ideal_point"]
    truth = simulated.truth.loc[est.index].to_numpy()
    slope, intercept = np.polyfit(truth, est.to_numpy(), 1)
    error = est.to_numpy() - (slope * truth + intercept)
    rms_se = np.sqrt(np.mean(fitted.ideal_points_["ideal_point_se"] ** 2))
    assert 0.5 < np.sqrt(np.mean(error**2)) / rms_se < 2.0


def test_members_frame_can_replace_the_static_one(fitted: DynamicIdealPoints) -> None:
    columns = {"ideal_point", "ideal_point_se", "participation", "participation_se", "n_cells"}
    assert columns | {"n_votes"} <= set(fitted.members_.columns)
    last = fitted.ideal_points_.xs(8, level="session")
    np.testing.assert_array_equal(
        fitted.members_["ideal_point"], last["ideal_point"].loc[fitted.members_.index]
    )
    assert set(ITEM_PARAMS) <= set(fitted.items_.columns)
    assert np.all(fitted.items_["cut_yes"] >= fitted.items_["cut_abstain"])


def test_projection_keeps_the_point_and_grows_the_se_by_the_walk(
    fitted: DynamicIdealPoints,
) -> None:
    proj = fitted.project(on_session=12)
    m = fitted.members_
    np.testing.assert_array_equal(proj["ideal_point"], m["ideal_point"])
    expected = np.sqrt(m["ideal_point_se"] ** 2 + 4 * fitted.step_sd_**2)
    np.testing.assert_allclose(proj["ideal_point_se"], expected, rtol=1e-12)
    with pytest.raises(ValueError, match="before the last fitted session"):
        fitted.project(on_session=7)


def test_the_gradient_is_the_derivative_of_the_objective() -> None:
    small = simulate(np.random.default_rng(5), n_members=6, n_sessions=3, n_per_session=4)
    votes, rc = select_roll_calls(small, "all")
    members = pd.Index(np.unique(votes["iso3"]), name="iso3")
    cells = make_cells(votes, members, pd.Index(rc.index, name="rcid"))
    # Leave member 0 out of session 2 so that one link spans a gap of two sessions.
    session = rc["session"].to_numpy()[cells.item]
    keep = ~((cells.member == 0) & (session == 2))
    # Some cells without the strategic term (member-sessions without a vote).
    mask = (np.arange(len(cells.act)) % 5 != 0).astype(float)
    cells = dataclasses.replace(
        cells,
        member=cells.member[keep],
        item=cells.item[keep],
        act=cells.act[keep],
        strategic=mask[keep],
    )
    walk = _walk(cells, session[keep])
    assert 2.0 in walk.gap
    # Three texts bridged across sessions (items 0, 4, 8 share one, 1 and 5 another).
    spatial = np.array([0, 1, 2, 3, 0, 1, 4, 5, 0, 6, 7, 8])
    lay = _Layout(k=walk.n_slots, p=9, j=12)
    theta = np.random.default_rng(1).normal(0.0, 0.5, 2 * lay.k + 3 * lay.p + lay.j + 1)
    theta[-1] = 1.3  # the strategic-absence slope
    args = (walk, spatial, lay, 0.2, 0.3)
    error = optimize.check_grad(
        lambda t: _negative_log_posterior_dynamic(t, *args)[0],
        lambda t: _negative_log_posterior_dynamic(t, *args)[1],
        theta,
    )
    assert error < 1e-6


def test_repeated_texts_bridge_sessions_so_a_shift_of_the_whole_assembly_is_seen() -> None:
    """Without repeated texts a common move of every member is indistinguishable from new items
    placed elsewhere: only bridging texts across sessions (Bailey, Strezhnev & Voeten 2017)
    identifies it."""
    data = simulate(
        np.random.default_rng(11), n_members=60, n_sessions=6, n_per_session=30,
        walk_sd=0.1, drift=0.3, n_repeated=15,
    )  # fmt: skip

    def shift(points: pd.Series) -> float:
        by_session = points.groupby(level="session").mean()
        return float((by_session.iloc[-1] - by_session.iloc[0]) / points.std(ddof=0))

    true_shift = shift(data.truth)
    # The walk's sd is that of the true steps (0.3 common + 0.1 own), so the prior does not
    # shrink the shift much.
    bridged = DynamicIdealPoints(walk_sd=0.3).fit(data)
    unbridged = DynamicIdealPoints(walk_sd=0.3, bridge=False).fit(data)
    assert bridged.n_bridged_ == 15 * 5
    assert unbridged.n_bridged_ == 0
    assert (bridged.items_.groupby("text_item").size() > 1).sum() == 15
    assert abs(shift(bridged.ideal_points_["ideal_point"]) - true_shift) < 0.25 * true_shift
    assert abs(shift(unbridged.ideal_points_["ideal_point"])) < 0.5 * true_shift


def test_two_fits_are_identical(simulated: SimulatedSessions, fitted: DynamicIdealPoints) -> None:
    again = DynamicIdealPoints(walk_sd=TRUE_WALK_SD).fit(simulated)
    pd.testing.assert_frame_equal(again.ideal_points_, fitted.ideal_points_, check_exact=True)
    pd.testing.assert_frame_equal(again.items_, fitted.items_, check_exact=True)


def test_relabelling_members_permutes_the_estimates(
    simulated: SimulatedSessions, fitted: DynamicIdealPoints
) -> None:
    # A random permutation of the labels, keeping "USA" (it fixes the orientation).
    labels = fitted.members_.index.to_numpy()
    others = labels[labels != "USA"]
    rng = np.random.default_rng(3)
    mapping = dict(zip(others, rng.permutation(others), strict=True)) | {"USA": "USA"}
    votes = simulated.votes.assign(iso3=simulated.votes["iso3"].map(mapping))
    relabelled = DynamicIdealPoints(walk_sd=TRUE_WALK_SD).fit(
        dataclasses.replace(simulated, votes=votes)
    )
    before = fitted.ideal_points_.rename(index=mapping, level="iso3").sort_index()
    after = relabelled.ideal_points_.sort_index()
    # The sum order of the cells changes, so the optimiser's path differs by rounding only; the
    # joint strategic-presence objective is flat enough that it stops within 1e-3 (se ~0.25).
    np.testing.assert_allclose(after["ideal_point"], before["ideal_point"], atol=1e-3)
    np.testing.assert_allclose(after["ideal_point_se"], before["ideal_point_se"], rtol=1e-3)


def test_an_unknown_act_is_a_data_error(simulated: SimulatedSessions) -> None:
    acts = simulated.votes["act"].astype(str).to_numpy().copy()
    acts[7] = "present"
    votes = simulated.votes.assign(act=acts)
    with pytest.raises(DataError, match="present"):
        DynamicIdealPoints().fit(dataclasses.replace(simulated, votes=votes))


def test_estimate_needs_an_rng(simulated: SimulatedSessions) -> None:
    with pytest.raises(ValueError, match="rng"):
        DynamicIdealPoints(walk_sd="estimate").fit(simulated)


def test_the_block_newton_fit_lands_on_the_optimum_lbfgs_alone_finds(
    simulated: SimulatedSessions,
) -> None:
    """The block-Newton sweeps (:mod:`sim.core.block_newton`) are a faster road to the same
    optimum: L-BFGS-B alone from the L-BFGS-B static start, the fit before them, must land on the
    same point to the tolerance of its stopping rule.

    L-BFGS-B stops when an iteration lowers the per-cell objective by less than ``tol``; at a
    linear rate no slower than 0.99 per iteration the objective is then within ``C * tol`` of its
    minimum (C = 100), and the sweeps stop on the same test. Near the minimum the total objective
    is quadratic, so each fit sits within ``sqrt(2 n_cells C tol)`` posterior sds of the optimum
    in any direction, and the two within twice that of each other.
    """
    est = DynamicIdealPoints(walk_sd=TRUE_WALK_SD)
    votes, rc = select_roll_calls(simulated, "all")
    members = pd.Index(np.unique(votes["iso3"]), name="iso3")
    item_session = rc["session"].to_numpy(dtype=np.int64)
    cells = make_cells(votes, members, pd.Index(rc.index, name="rcid"), item_session)
    walk = _walk(cells, item_session[cells.item])
    spatial = bridged_items(rc, item_session)
    new, lay, _ = est._minimise(walk, spatial, TRUE_WALK_SD)
    assert new.success

    # The fit before the sweeps: L-BFGS-B for the static start and for the dynamic fit.
    n, j, p = cells.n_members, cells.n_items, lay.p
    static = minimise_lbfgs(
        negative_log_posterior, np.append(start_values(cells), 0.0), (cells, True),
        label="", progress=False, max_iter=est.max_iter, tol=1e-8,
    )  # fmt: skip
    x, rho, beta, t1, s, delta = unpack(static.x, n, j)
    count = np.bincount(spatial, minlength=p)
    by_text = [np.bincount(spatial, v, p) / count for v in (beta, t1, s)]
    start = np.concatenate(
        [x[walk.slot_member], rho[walk.slot_member], *by_text, delta, static.x[-1:]]
    )
    args = (walk, spatial, lay, TRUE_WALK_SD, est.participation_walk_sd)
    old = minimise_lbfgs(
        _negative_log_posterior_dynamic, start, args,
        label="", progress=False, max_iter=est.max_iter, tol=est.tol,
    )  # fmt: skip
    assert old.success

    c = 100.0
    assert new.fun <= old.fun + c * est.tol
    band = 2 * np.sqrt(2 * len(cells.act) * c * est.tol)
    # Posterior sds of the ideal points, in the units of the fit (items held fixed).
    k = walk.n_slots
    x_new = new.x[:k]
    beta_new = new.x[2 * k : 2 * k + p][spatial[cells.item]]
    a = beta_new * x_new[walk.slot] - new.x[2 * k + p : 2 * k + 2 * p][spatial[cells.item]]
    gap = np.exp(new.x[2 * k + 2 * p : 2 * k + 3 * p])[spatial[cells.item]]
    h_aa, h_ab, h_bb = latent_hessian(a, gap, cells.act)
    info = np.bincount(walk.slot, -(h_aa + 2 * h_ab + h_bb) * beta_new**2, k)
    sd = walk_se(walk, info, TRUE_WALK_SD, 1.0)
    assert np.max(np.abs(x_new - old.x[:k]) / sd) < band
    # Every other parameter within the same band of its prior-scale sd or better: a loose bound
    # that still catches a different optimum (items move by O(1) there).
    assert np.max(np.abs(new.x - old.x)) < band * 5.0
