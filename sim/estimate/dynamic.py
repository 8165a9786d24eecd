"""Dynamic ideal points: one ideal point per member and session, moving by a random walk.

The dynamic version of :mod:`sim.estimate.ideal_points` (MODEL.md §6; Bailey, Strezhnev & Voeten
2017 fit
a dynamic ordinal spatial model of all UNGA roll calls, FACTS.md §3). For member *i* in session
*s* with ideal point ``x_is`` and participation ``rho_is``, and roll call *j* of session ``s(j)``
on text ``t(j)``::

    P(present_ij)            = sigmoid(rho_{i,s(j)} + delta_j - gamma * H_ij)
    P(vote >= abstain | pr.) = sigmoid(beta_t * x_{i,s(j)} - tau1_t)
    P(yes | present)         = sigmoid(beta_t * x_{i,s(j)} - tau2_t)

``H_ij`` is the ambivalence of the member's vote on the roll call (:mod:`sim.core.absence`; 0 for a
member-session without any vote), so absence is strategic and ``gamma`` is estimated jointly with
everything else. **Bridging**: roll calls on the same text in different sessions share one
spatial item (``beta, tau1, tau2``; :func:`bridged_items`), as in Bailey, Strezhnev & Voeten;
without it a shift of the whole Assembly is indistinguishable from new items placed elsewhere.
Each roll call keeps its own attendance effect ``delta_j``. Priors are the static ones
(``sim.core.likelihood.PRIOR_SD``), but the ideal points and the participations follow
Gaussian random
walks over the sessions in which the member has cells::

    x_{i,first} ~ N(0, 1),      x_{i,s}   ~ N(x_{i,s'},   walk_sd^2 * (s - s'))
    rho_{i,first} ~ N(0, 5^2),  rho_{i,s} ~ N(rho_{i,s'}, participation_walk_sd^2 * (s - s'))

where ``s'`` is the member's previous session with cells (a gap of several sessions, e.g. a
member that left the Assembly for a while, lets the values move farther). ``walk_sd`` is in the
units of the prior (logit scale divided by the discriminations; the first-session prior pins
that scale near the population sd). The default ``walk_sd = 0.1`` lets a member drift by about
``0.1 * sqrt(10) = 0.32`` prior sd in a decade, the order of the real post-Cold-War movements;
``walk_sd="estimate"`` picks it from a grid by held-out log-likelihood. The participation walk's
default (0.2 logits per session) is the value a held-out choice picked on both shipped
scenarios' windows.

Estimation is penalised maximum likelihood (the posterior mode) with the analytic gradient: the
vote and presence terms reuse :func:`sim.core.likelihood.strategic_log_prob_and_partials`, the
random-walk penalties' gradients are tridiagonal differences computed with index arrays. The
start is the static joint fit (:func:`sim.core.likelihood.start_values`, then block-Newton sweeps
on :func:`sim.core.likelihood.negative_log_posterior`'s model to ``max(tol, 1e-6)``), each
member's values copied to its sessions and each bridged text's item averaged over its roll calls.
Block-Newton sweeps (:mod:`sim.core.block_newton`) then do most of the work: given the items each
member's trajectory is one banded (tridiagonal) Newton system, solved for all members at once;
given the members each text's ``(beta, tau1, s)`` is a 3 x 3 one and each roll call's ``delta``
a scalar one; ``gamma`` a scalar step with the ``delta`` following it; and each sweep ends at
the prior's minimum along the directions that change no probability (the ideal points' scale
and shift, each session's participations against its attendance effects). They stop when a
sweep lowers the per-cell objective by less than ``tol``, and scipy's L-BFGS-B finishes from
there with its own stopping rule (``ftol = gtol = tol``). ``n_iter_`` counts the sweeps
(``n_sweeps_``) and L-BFGS-B's iterations, ``static_n_iter_`` the static start's sweeps.
L-BFGS-B alone took 468 + 417 iterations on a five-year window and stopped 4e-7 per cell above
the optimum these sweeps reach.

Normalisation and orientation as in the static fit (:func:`sim.core.likelihood.orient`):
the
member-session ideal points are rescaled to mean 0 and sd 1 (``ddof=0``) over all member-sessions
(discriminations and cutpoints adjusted so that every probability is unchanged), and the sign is
chosen so that the United States' **mean** ideal point over its sessions is negative. The walk's
sd in these reported units is ``step_sd_ = walk_sd / scale``.

Standard errors are approximate: ``ideal_point_se`` and ``participation_se`` are the square roots
of the diagonal of the inverse of each member's block of the penalised information (its sessions'
information plus the tridiagonal random-walk precision), other parameters held fixed; ``gamma``'s
profiles out the participations and attendance effects
(:func:`sim.core.absence.gamma_standard_error`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit

from sim.core.acts import ABSENT, FloatArray, IntArray
from sim.core.block_newton import BlockProblem, block_newton
from sim.core.likelihood import (
    PRIOR_SD,
    Cells,
    ambivalence_and_partials,
    gamma_se,
    item_standard_errors,
    latent_hessian,
    orient,
    start_values,
    strategic_log_prob_and_partials,
    unpack,
)
from sim.core.threads import one_blas_thread, single_blas_thread
from sim.core.walk import Walk, random_walk, walk_penalty, walk_precision, walk_se
from sim.estimate.ideal_points import (
    ISSUES,
    items_table,
    make_cells,
    minimise_lbfgs,
    normalise_text,
    select_roll_calls,
    static_block_newton,
)
from sim.io.errors import DataError
from sim.io.plots import plt, save_figure

__all__ = [
    "DEFAULT_PARTICIPATION_WALK_SD",
    "DEFAULT_WALK_SD",
    "TRAJECTORY_MEMBERS",
    "WALK_SD_GRID",
    "DynamicIdealPoints",
    "bridged_items",
]

#: Default sd of the per-session step of an ideal point (prior units; see the module docstring).
DEFAULT_WALK_SD: Final[float] = 0.1

#: Default sd (logit units per session) of the participation random walk: the value the
#: held-out choice of ``sim.estimate.window._choose_participation_walk`` picked on both shipped
#: scenarios' windows (2007-2017 and 2012-2022, Middle East roll calls).
DEFAULT_PARTICIPATION_WALK_SD: Final[float] = 0.2

#: Candidate ``walk_sd`` values of ``walk_sd="estimate"``.
WALK_SD_GRID: Final[tuple[float, ...]] = (0.03, 0.1, 0.3)

#: Members drawn by :meth:`DynamicIdealPoints.plot_trajectories` by default.
TRAJECTORY_MEMBERS: Final[tuple[str, ...]] = (
    "USA",
    "RUS",
    "CHN",
    "ISR",
    "UKR",
    "BRA",
    "IND",
    "DEU",
)


@dataclass(frozen=True)
class _Walk(Walk):
    """The random walk (:class:`sim.core.walk.Walk`) of the member-sessions of `cells`."""

    cells: Cells  # member = member index, as in the static fit


def _walk(cells: Cells, cell_session: IntArray) -> _Walk:
    """Index arrays of the member-sessions of `cells` (``cell_session``: session of each cell)."""
    walk = random_walk(cells.member, cell_session)
    return _Walk(**{f.name: getattr(walk, f.name) for f in fields(Walk)}, cells=cells)


@dataclass(frozen=True)
class _Layout:
    """Sizes of the packed parameter vector of the dynamic fit (:func:`_unpack_dynamic`)."""

    k: int  # member-sessions: one ideal point and one participation each
    p: int  # spatial items (repeated texts bridged: one item for all their roll calls)
    j: int  # roll calls: one presence effect each


def _unpack_dynamic(theta: FloatArray, lay: _Layout) -> tuple[Any, ...]:
    """Split: ``x (k), rho (k), beta (p), tau1 (p), s (p), delta (j), gamma``."""
    k, p = lay.k, lay.p
    x, rho = theta[:k], theta[k : 2 * k]
    beta, t1, s = (theta[2 * k + m * p : 2 * k + (m + 1) * p] for m in range(3))
    delta = theta[2 * k + 3 * p : 2 * k + 3 * p + lay.j]
    return x, rho, beta, t1, s, delta, float(theta[-1])


def _negative_log_posterior_dynamic(
    theta: FloatArray,
    walk: _Walk,
    spatial: IntArray,
    lay: _Layout,
    walk_sd: float,
    participation_sd: float,
) -> tuple[float, FloatArray]:
    """Penalised negative log-likelihood per cell of the dynamic model and its gradient.

    `spatial` maps each roll call to its spatial item (bridged texts share one).
    """
    cells = walk.cells
    k, p, j = lay.k, lay.p, lay.j
    x, rho, beta, t1, s, delta, gamma = _unpack_dynamic(theta, lay)
    ci, ji = walk.slot, cells.item
    pi = spatial[ji]
    gap_item = np.exp(s)
    t2 = t1 + gap_item
    bj, xi = beta[pi], x[ci]
    logp, g_a, g_b, g_u, g_gamma = strategic_log_prob_and_partials(
        bj * xi - t1[pi], gap_item[pi], rho[ci] + delta[ji], cells.act, gamma, cells.strategic
    )
    g_eta = g_a + g_b
    walk_value, walk_grad = walk_penalty(x, walk, walk_sd, PRIOR_SD["ideal_point"])
    rho_value, rho_grad = walk_penalty(rho, walk, participation_sd, PRIOR_SD["participation"])
    sd = PRIOR_SD
    penalty = (
        walk_value
        + rho_value
        + 0.5
        * (
            np.sum(beta**2) / sd["discrimination"] ** 2
            + (np.sum(t1**2) + np.sum(t2**2)) / sd["cutpoint"] ** 2
            + np.sum(s**2) / sd["log_gap"] ** 2
            + np.sum(delta**2) / sd["presence"] ** 2
            + gamma**2 / sd["strategic"] ** 2
        )
    )
    grad = np.concatenate(
        [
            np.bincount(ci, g_eta * bj, k) - walk_grad,
            np.bincount(ci, g_u, k) - rho_grad,
            np.bincount(pi, g_eta * xi, p) - beta / sd["discrimination"] ** 2,
            -np.bincount(pi, g_eta, p) - (t1 + t2) / sd["cutpoint"] ** 2,
            -np.bincount(pi, g_b, p) * gap_item
            - t2 * gap_item / sd["cutpoint"] ** 2
            - s / sd["log_gap"] ** 2,
            np.bincount(ji, g_u, j) - delta / sd["presence"] ** 2,
            [g_gamma.sum() - gamma / sd["strategic"] ** 2],
        ]
    )
    scale = 1.0 / max(len(ci), 1)
    return (penalty - logp.sum()) * scale, -grad * scale


def bridged_items(rc: pd.DataFrame, session: IntArray) -> IntArray:
    """Spatial item of each roll call: roll calls on the same text share one across sessions.

    The text is the roll call's ``text`` column (:func:`sim.io.data.resolution_text`; ``title``
    where a frame lacks it), normalised. A text is bridged only if it is voted at most once per
    session (a title voted twice in one session names different resolutions); an empty text,
    and every roll call of a text voted twice in a session, keeps its own item.

    Examples
    --------
    >>> rc = pd.DataFrame({"text": ["a", "b", "a", "c", "c", ""]})
    >>> bridged_items(rc, np.array([1, 1, 2, 2, 2, 2])).tolist()
    [0, 1, 0, 2, 3, 4]
    """
    key = "text" if "text" in rc.columns else ("title" if "title" in rc.columns else None)
    n = len(rc)
    if key is None:
        return np.arange(n, dtype=np.int64)
    text = normalise_text(rc[key].reset_index(drop=True))
    frame = pd.DataFrame({"text": text.to_numpy(), "session": np.asarray(session)})
    repeated_in_session = frame.duplicated(["text", "session"], keep=False)
    own = (frame["text"] == "") | frame["text"].isin(frame.loc[repeated_in_session, "text"])
    label = np.where(own, "\x00" + pd.Series(np.arange(n)).astype(str), frame["text"])
    return pd.factorize(label)[0].astype(np.int64)


class DynamicIdealPoints:
    """Ideal points and participation that move over sessions (random walks), strategic absence
    estimated jointly, repeated texts bridged.

    The model, priors, start, normalisation (member-sessions mean 0, sd 1) and orientation (the
    USA's mean ideal point negative) are in the module docstring.

    Parameters
    ----------
    dimension : str, optional
        ``"all"`` (every non-partial roll call) or an issue code in
        ``sim.estimate.ideal_points.ISSUES``.
    walk_sd : float or "estimate", optional
        Sd of an ideal point's step per session, prior units (default 0.1: a drift of about
        0.3 sd per decade). ``"estimate"``: the value of ``walk_sd_grid`` with the largest
        log-likelihood on a random 10% of cells held out from the fit (``fit`` then needs `rng`).
    max_iter : int, optional
        Limit of the block-Newton sweeps and of L-BFGS-B's iterations, each (the static start
        gets the same limit).
    tol : float, optional
        The sweeps stop when one lowers the per-cell objective by less than `tol`; L-BFGS-B's
        ``ftol`` and ``gtol`` (the static start uses ``max(tol, 1e-6)``: it is only a start).
    walk_sd_grid : sequence of float, optional
        Candidates of ``walk_sd="estimate"``.
    participation_walk_sd : float, optional
        Sd of a participation's step per session, logit units (default 0.2).
    bridge : bool, optional
        Roll calls on the same text share their spatial item across sessions (default).
    progress : bool, optional
        Show a live progress line (iterations, objective) on a terminal while fitting.

    Attributes
    ----------
    ideal_points_ : DataFrame indexed by (iso3, session)
        ``ideal_point``, ``ideal_point_se``, ``participation``, ``participation_se``
        (approximate, other parameters fixed), ``n_cells``, ``n_votes``.
    members_ : DataFrame indexed by iso3
        As ``IdealPoints.members_``: ``ideal_point``, ``ideal_point_se``, ``participation`` and
        ``participation_se`` of the member's last session, ``n_cells``, ``n_votes`` (whole
        fit), plus ``last_session``.
    items_ : DataFrame indexed by rcid
        As ``IdealPoints.items_``, plus ``session`` and ``text_item`` (the spatial item: equal
        for bridged roll calls, whose item parameters are then equal).
    gamma_, gamma_se_ : float
        Strategic-absence slope and its sd.
    n_bridged_ : int
        Roll calls that share their spatial item with an earlier one.
    walk_sd_ : float
        The walk sd used (the chosen one under ``"estimate"``); ``step_sd_`` is it in the
        reported (normalised) units.
    walk_sd_scores_ : dict or None
        Held-out mean log-likelihood per cell of each candidate (``"estimate"`` only).
    loglik_, n_cells_, n_iter_, n_sweeps_, converged_, static_n_iter_
        ``n_iter_``: block-Newton sweeps (``n_sweeps_``) plus L-BFGS-B's iterations;
        ``static_n_iter_``: the static start's sweeps.

    Examples
    --------
    >>> DynamicIdealPoints(walk_sd=0.2).walk_sd
    0.2
    """

    def __init__(
        self,
        *,
        dimension: str = "all",
        walk_sd: float | str = DEFAULT_WALK_SD,
        max_iter: int = 5000,
        tol: float = 1e-9,
        walk_sd_grid: Sequence[float] = WALK_SD_GRID,
        participation_walk_sd: float = DEFAULT_PARTICIPATION_WALK_SD,
        bridge: bool = True,
        progress: bool = False,
    ) -> None:
        if dimension != "all" and dimension not in ISSUES:
            raise ValueError(f"dimension: expected 'all' or one of {ISSUES}; got {dimension!r}")
        if isinstance(walk_sd, str):
            if walk_sd != "estimate":
                raise ValueError(
                    f"walk_sd: expected a positive float or 'estimate'; got {walk_sd!r}"
                )
        elif not walk_sd > 0:
            raise ValueError(f"walk_sd: expected a positive float or 'estimate'; got {walk_sd!r}")
        if max_iter < 1 or not tol > 0:
            raise ValueError("max_iter must be >= 1 and tol > 0")
        if not walk_sd_grid or min(walk_sd_grid) <= 0:
            raise ValueError("walk_sd_grid: expected positive values")
        self.dimension = dimension
        self.walk_sd = walk_sd
        self.max_iter = max_iter
        self.tol = tol
        self.walk_sd_grid = tuple(float(v) for v in walk_sd_grid)
        if not participation_walk_sd > 0:
            raise ValueError(
                f"participation_walk_sd: expected a positive float; got {participation_walk_sd!r}"
            )
        self.participation_walk_sd = float(participation_walk_sd)
        self.bridge = bridge
        self.progress = progress

    # -- fitting ------------------------------------------------------------------------------

    def _minimise(
        self, walk: _Walk, spatial: IntArray, walk_sd: float
    ) -> tuple[optimize.OptimizeResult, _Layout, int]:
        """Static start, then the dynamic fit. Returns the dynamic result, the parameter layout
        and the static iterations.
        """
        cells = walk.cells
        n, j = cells.n_members, cells.n_items
        p = int(spatial.max()) + 1 if len(spatial) else 0
        lay = _Layout(k=walk.n_slots, p=p, j=j)
        static, static_sweeps = static_block_newton(
            cells, np.append(start_values(cells), 0.0), strategic=True,
            tol=max(self.tol, 1e-6), max_sweeps=self.max_iter,
        )  # fmt: skip
        x, rho, beta, t1, s, delta = unpack(static, n, j)
        count = np.bincount(spatial, minlength=p)

        def by_text(v: FloatArray) -> FloatArray:
            return np.bincount(spatial, v, p) / count

        theta0 = np.concatenate(
            [
                x[walk.slot_member],
                rho[walk.slot_member],
                by_text(beta),
                by_text(t1),
                by_text(s),
                delta,
                [static[-1]],
            ]
        )
        rc_session = np.zeros(j, dtype=np.int64)
        rc_session[cells.item] = walk.slot_session[walk.slot]
        prob = BlockProblem(
            walk=walk,
            text=spatial[cells.item],
            roll_call=cells.item,
            act=cells.act,
            mask=cells.strategic,
            text_of_roll_call=spatial,
            n_texts=p,
            walk_sd=walk_sd,
            participation_sd=self.participation_walk_sd,
            strategic=True,
            roll_call_session=rc_session,
        )
        with one_blas_thread():
            theta0, sweeps, _ = block_newton(prob, theta0, rtol=self.tol, max_sweeps=self.max_iter)
        res = minimise_lbfgs(
            _negative_log_posterior_dynamic, theta0,
            (walk, spatial, lay, walk_sd, self.participation_walk_sd),
            label=f"dynamic ideal points ({self.dimension})", progress=self.progress,
            max_iter=self.max_iter, tol=self.tol,
        )  # fmt: skip
        res.sweeps = sweeps
        return res, lay, static_sweeps

    def _choose_walk_sd(
        self, walk: _Walk, spatial: IntArray, session: IntArray, rng: np.random.Generator
    ) -> None:
        """Held-out mean log-likelihood of each candidate walk sd on a random 10% of cells."""
        c = walk.cells
        held = rng.random(len(c.act)) < 0.1
        mask = np.ones(len(c.act)) if c.strategic is None else c.strategic
        train = _walk(
            Cells(
                c.member[~held], c.item[~held], c.act[~held], c.n_members, c.n_items,
                mask[~held],
            ),
            session[~held],
        )  # fmt: skip
        # Held-out cells whose member-session has no training cell cannot be scored.
        train_key = train.slot_member * (int(session.max()) + 1) + train.slot_session
        held_key = c.member[held] * (int(session.max()) + 1) + session[held]
        slot = np.searchsorted(train_key, held_key)
        slot = np.minimum(slot, len(train_key) - 1)
        ok = train_key[slot] == held_key
        scores: dict[float, float] = {}
        for value in self.walk_sd_grid:
            res, lay, _ = self._minimise(train, spatial, value)
            x, rho, beta, t1, s, delta, gamma = _unpack_dynamic(res.x, lay)
            ji = c.item[held][ok]
            pi, si = spatial[ji], slot[ok]
            logp, *_ = strategic_log_prob_and_partials(
                beta[pi] * x[si] - t1[pi], np.exp(s)[pi], rho[si] + delta[ji],
                c.act[held][ok], gamma, mask[held][ok],
            )  # fmt: skip
            scores[value] = float(logp.mean())
        self.walk_sd_scores_ = scores
        self.walk_sd_ = max(scores, key=lambda v: (scores[v], -v))

    @single_blas_thread
    def fit(self, data: Any, *, rng: np.random.Generator | None = None) -> DynamicIdealPoints:
        """Fit to roll calls.

        Parameters
        ----------
        data : RollCallData
            ``.votes`` (tidy cells ``rcid``, ``iso3``, ``act`` in ``ACTS``, absences included)
            and ``.roll_calls`` (indexed by ``rcid``, with ``session``, ``partial`` and the
            issue columns; ``symbol``, ``title``, ``date`` are copied to ``items_``; ``text``
            or ``title`` bridges repeated texts).
        rng : numpy.random.Generator, optional
            Draws the held-out cells of ``walk_sd="estimate"`` (required then, unused otherwise).

        Returns
        -------
        self

        Raises
        ------
        DataError
            If an act is outside ``ACTS``, cells are duplicated, roll calls lack ``session``,
            or nothing is left to fit.
        ValueError
            If ``walk_sd="estimate"`` and no `rng` is given.
        """
        votes, rc = select_roll_calls(data, self.dimension)
        if "session" not in rc.columns:
            raise DataError("roll_calls: missing column 'session' (the dynamic model's time)")
        members = pd.Index(np.unique(votes["iso3"].to_numpy().astype(str)), name="iso3")
        items = pd.Index(rc.index.to_numpy(), name="rcid")
        item_session = rc["session"].to_numpy(dtype=np.int64)
        cells = make_cells(votes, members, items, item_session)
        session = item_session[cells.item]
        walk = _walk(cells, session)
        spatial = (
            bridged_items(rc, item_session) if self.bridge else np.arange(len(rc), dtype=np.int64)
        )
        k, n, j = walk.n_slots, cells.n_members, cells.n_items

        self.walk_sd_scores_: dict[float, float] | None = None
        if self.walk_sd == "estimate":
            if rng is None:
                raise ValueError("walk_sd='estimate' draws held-out cells: pass rng=")
            self._choose_walk_sd(walk, spatial, session, rng)
        else:
            self.walk_sd_ = float(self.walk_sd)
        walk_sd = self.walk_sd_

        res, lay, static_iter = self._minimise(walk, spatial, walk_sd)
        if not res.success:
            warnings.warn(
                f"DynamicIdealPoints.fit did not converge: {res.message}",
                RuntimeWarning,
                stacklevel=2,
            )
        x, rho, beta, t1, s, delta, gamma = _unpack_dynamic(res.x, lay)
        t2 = t1 + np.exp(s)
        ji = cells.item
        pi = spatial[ji]
        a = beta[pi] * x[walk.slot] - t1[pi]
        h_aa, h_ab, h_bb = latent_hessian(a, (t2 - t1)[pi], cells.act)
        info_x = np.bincount(walk.slot, -(h_aa + 2 * h_ab + h_bb) * beta[pi] ** 2, k)
        x_se_raw = walk_se(walk, info_x, walk_sd, PRIOR_SD["ideal_point"])
        scale = float(np.std(x)) or 1.0
        x, beta, t1, t2 = orient(x, beta, t1, t2, None)
        usa = members.get_indexer(["USA"])[0]
        if usa >= 0:
            if np.mean(x[walk.slot_member == usa]) > 0:
                x, beta = -x, -beta
        else:
            warnings.warn(
                "USA is not among the members: the dimension's orientation is arbitrary",
                RuntimeWarning,
                stacklevel=2,
            )
        x_se = x_se_raw / scale
        self.step_sd_ = walk_sd / scale

        # Per roll call (bridged texts repeat their spatial item's values).
        beta_rc, t1_rc, t2_rc = beta[spatial], t1[spatial], t2[spatial]
        present = cells.act != ABSENT
        a = beta_rc[ji] * x[walk.slot] - t1_rc[ji]
        h = ambivalence_and_partials(a, (t2_rc - t1_rc)[ji])[0] * cells.strategic
        z = rho[walk.slot] + delta[ji] - gamma * h
        w = expit(z) * expit(-z)
        pws = self.participation_walk_sd
        rho_se = walk_se(walk, np.bincount(walk.slot, w, k), pws, PRIOR_SD["participation"])
        self.gamma_ = gamma
        self.gamma_se_ = gamma_se(
            cells, x[walk.slot], rho, beta_rc, t1_rc, t2_rc, delta, gamma, walk.slot,
            walk_precision(walk, pws, PRIOR_SD["participation"]),
        )  # fmt: skip
        slot_cells = np.bincount(walk.slot, minlength=k)
        slot_votes = np.bincount(walk.slot, present, k).astype(np.int64)
        self.ideal_points_ = pd.DataFrame(
            {
                "ideal_point": x,
                "ideal_point_se": x_se,
                "participation": rho,
                "participation_se": rho_se,
                "n_cells": slot_cells,
                "n_votes": slot_votes,
            },
            index=pd.MultiIndex.from_arrays(
                [members[walk.slot_member], walk.slot_session], names=["iso3", "session"]
            ),
        )
        last = np.append(walk.first[1:], k) - 1
        self.members_ = pd.DataFrame(
            {
                "ideal_point": x[last],
                "ideal_point_se": x_se[last],
                "participation": rho[last],
                "participation_se": rho_se[last],
                "n_cells": np.bincount(cells.member, minlength=n),
                "n_votes": np.bincount(cells.member, present, n).astype(np.int64),
                "last_session": walk.slot_session[last],
            },
            index=members,
        )
        spatial_cells = Cells(member=walk.slot, item=pi, act=cells.act, n_members=k, n_items=lay.p)
        spatial_se = item_standard_errors(spatial_cells, x, rho, beta, t1, t2, np.zeros(lay.p))
        item_se = {key: v[spatial] for key, v in spatial_se.items()}
        item_se["presence_se"] = np.sqrt(
            1.0 / (np.bincount(ji, w, j) + 1.0 / PRIOR_SD["presence"] ** 2)
        )
        self.items_ = items_table(rc, cells, items, beta_rc, t1_rc, t2_rc, delta, item_se)
        self.items_.insert(3, "session", item_session)
        self.items_["text_item"] = spatial
        self.n_bridged_ = int(len(spatial) - lay.p)
        logp, *_ = strategic_log_prob_and_partials(
            a, (t2_rc - t1_rc)[ji], rho[walk.slot] + delta[ji], cells.act, gamma, cells.strategic
        )
        self.loglik_ = float(logp.sum())
        self.n_cells_ = len(cells.act)
        self.n_sweeps_ = int(res.sweeps)
        self.n_iter_ = self.n_sweeps_ + int(res.nit)
        self.static_n_iter_ = static_iter
        self.converged_ = bool(res.success)
        return self

    # -- using the fit ------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "members_"):
            raise RuntimeError("DynamicIdealPoints is not fitted: call fit(data) first")

    def project(self, on_session: int) -> pd.DataFrame:
        """Each member's ideal point carried forward to a later session by the random walk.

        The mean stays at the member's last fitted ideal point; the sd grows in quadrature,
        ``sqrt(se_last^2 + step_sd_^2 * (on_session - last_session))`` (reported units).

        Parameters
        ----------
        on_session : int
            UNGA session number, not before the last fitted session.

        Returns
        -------
        DataFrame indexed by iso3
            ``ideal_point``, ``ideal_point_se``, ``last_session``, ``gap`` (sessions).

        Raises
        ------
        ValueError
            If `on_session` is before the last fitted session.
        """
        self._check_fitted()
        m = self.members_
        latest = int(m["last_session"].max())
        if on_session < latest:
            raise ValueError(f"on_session {on_session} is before the last fitted session {latest}")
        gap = on_session - m["last_session"].to_numpy()
        se = np.sqrt(m["ideal_point_se"].to_numpy() ** 2 + self.step_sd_**2 * gap)
        return pd.DataFrame(
            {
                "ideal_point": m["ideal_point"].to_numpy(),
                "ideal_point_se": se,
                "last_session": m["last_session"].to_numpy(),
                "gap": gap,
            },
            index=m.index,
        )

    def plot_trajectories(
        self,
        members: Sequence[str] = TRAJECTORY_MEMBERS,
        *,
        path: str | Path,
    ) -> Path:
        """Draw the members' ideal points by session with 95% bands (±1.96 se) to a PNG.

        Parameters
        ----------
        members : sequence of str
            ISO3 codes; those not fitted are skipped with a warning.
        path : path
            PNG file to write (no timestamp in it: the same fit gives the same bytes).

        Returns
        -------
        Path
        """
        self._check_fitted()
        known = [m for m in members if m in self.members_.index]
        if len(known) < len(members):
            missing = sorted(set(members) - set(known))
            warnings.warn(f"plot_trajectories: not fitted {missing}", RuntimeWarning, stacklevel=2)
        fig, ax = plt.subplots(figsize=(9, 5))
        for iso3 in known:
            frame = self.ideal_points_.xs(iso3, level="iso3")
            s = frame.index.to_numpy()
            x = frame["ideal_point"].to_numpy()
            se = frame["ideal_point_se"].to_numpy()
            (line,) = ax.plot(s, x, label=iso3, lw=1.5)
            ax.fill_between(s, x - 1.96 * se, x + 1.96 * se, color=line.get_color(), alpha=0.15)
        ax.axhline(0.0, color="grey", lw=0.5)
        ax.set_xlabel("UNGA session")
        ax.set_ylabel("ideal point (sd units; negative = US side)")
        ax.set_title(
            f"Dynamic ideal points, dimension {self.dimension!r}, walk sd {self.walk_sd_:g}"
        )
        ax.legend(ncol=4, fontsize="small")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_figure(fig, path)
        return path
