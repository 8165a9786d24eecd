"""Dynamic ideal points: one ideal point per member and session, moving by a random walk.

The dynamic version of :mod:`sim.calibrate` (MODEL.md §6; Bailey, Strezhnev & Voeten 2017 fit
a dynamic ordinal spatial model of all UNGA roll calls, FACTS.md §3). The static model is kept
item for item: for member *i* in session *s* with ideal point ``x_is`` and participation
``rho_i``, and roll call *j* of session ``s(j)``::

    P(present_ij)            = sigmoid(rho_i + delta_j)
    P(vote >= abstain | pr.) = sigmoid(beta_j * x_{i,s(j)} - tau1_j)
    P(yes | present)         = sigmoid(beta_j * x_{i,s(j)} - tau2_j)

with the static priors on the item parameters and participation (``sim.calibrate.PRIOR_SD``),
but the ideal points follow a Gaussian random walk over the sessions in which the member has
cells (roll calls it could vote on in the fitted dimension)::

    x_{i,first} ~ N(0, 1),   x_{i,s} ~ N(x_{i,s'}, walk_sd^2 * (s - s'))

where ``s'`` is the member's previous session with cells (a gap of several sessions, e.g. a
member that left the Assembly for a while, lets the point move farther). ``walk_sd`` is in the
units of the prior (logit scale divided by the discriminations; the first-session prior pins
that scale near the population sd). The default ``walk_sd = 0.1`` lets a member drift by about
``0.1 * sqrt(10) = 0.32`` prior sd in a decade, the order of the real post-Cold-War movements;
``walk_sd="estimate"`` picks it from a grid by held-out log-likelihood.

Estimation is penalised maximum likelihood (the posterior mode) by scipy's L-BFGS-B with the
analytic gradient: the vote and presence terms reuse :func:`sim.calibrate._log_prob_and_partials`,
the random-walk penalty's gradient is a tridiagonal difference computed with index arrays. The
start is the static fit (:func:`sim.calibrate._start_values` then the static objective
:func:`sim.calibrate._negative_log_posterior`), each member's ideal point copied to its sessions.

Normalisation and orientation as in the static fit (:func:`sim.calibrate._normalise`): the
member-session ideal points are rescaled to mean 0 and sd 1 (``ddof=0``) over all member-sessions
(discriminations and cutpoints adjusted so that every probability is unchanged), and the sign is
chosen so that the United States' **mean** ideal point over its sessions is negative. The walk's
sd in these reported units is ``step_sd_ = walk_sd / scale``.

Standard errors (``ideal_point_se``) are approximate: the square roots of the diagonal of the
inverse of each member's block of the penalised information (its sessions' vote information plus
the tridiagonal random-walk precision), with the item parameters and participation held fixed.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit

from sim.acts import ABSENT, FloatArray, IntArray
from sim.calibrate import (
    ISSUES,
    PRIOR_SD,
    _Cells,
    _cells,
    _item_standard_errors,
    _latent_hessian,
    _log_prob_and_partials,
    _negative_log_posterior,
    _normalise,
    _select,
    _start_values,
    _unpack,
    items_table,
)
from sim.errors import DataError

__all__ = ["DEFAULT_WALK_SD", "TRAJECTORY_MEMBERS", "WALK_SD_GRID", "DynamicIdealPoints"]

#: Default sd of the per-session step of an ideal point (prior units; see the module docstring).
DEFAULT_WALK_SD: Final[float] = 0.1

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
class _Walk:
    """Member-session cells and the random walk linking each member's sessions.

    Member-sessions are sorted by member, then session, so each member's block is contiguous.
    """

    cells: _Cells  # member = member index, as in the static fit
    slot: IntArray  # (n_cells,) member-session index of each cell
    slot_member: IntArray  # (n_slots,) member of each member-session
    slot_session: IntArray  # (n_slots,) session number of each member-session
    first: IntArray  # member-sessions that are a member's first
    prev: IntArray  # (n_links,) earlier member-session of each link
    next: IntArray  # (n_links,) later member-session of each link
    gap: FloatArray  # (n_links,) sessions between them (>= 1)

    @property
    def n_slots(self) -> int:
        return len(self.slot_member)


def _walk(cells: _Cells, cell_session: IntArray) -> _Walk:
    """Index arrays of the member-sessions of `cells` (``cell_session``: session of each cell)."""
    key = cells.member.astype(np.int64) * (int(cell_session.max()) + 1) + cell_session
    slots, slot = np.unique(key, return_inverse=True)  # sorted by member, then session
    width = int(cell_session.max()) + 1
    slot_member, slot_session = slots // width, slots % width
    same = slot_member[1:] == slot_member[:-1]
    prev = np.flatnonzero(same)
    is_first = np.ones(len(slots), dtype=bool)
    is_first[1:] = ~same
    return _Walk(
        cells=cells,
        slot=slot.astype(np.int64),
        slot_member=slot_member.astype(np.int64),
        slot_session=slot_session.astype(np.int64),
        first=np.flatnonzero(is_first),
        prev=prev,
        next=prev + 1,
        gap=(slot_session[prev + 1] - slot_session[prev]).astype(float),
    )


def _unpack_dynamic(theta: FloatArray, k: int, n: int, j: int) -> tuple[FloatArray, ...]:
    """Split: ``x (k member-sessions), rho (n), beta (j), tau1 (j), s (j), delta (j)``."""
    x, rho = theta[:k], theta[k : k + n]
    beta, t1, s, delta = (theta[k + n + m * j : k + n + (m + 1) * j] for m in range(4))
    return x, rho, beta, t1, s, delta


def _walk_penalty(x: FloatArray, walk: _Walk, walk_sd: float) -> tuple[float, FloatArray]:
    """Negative log random-walk prior of the ideal points (constants dropped) and its gradient."""
    sd0 = PRIOR_SD["ideal_point"]
    x_first = x[walk.first]
    step = x[walk.next] - x[walk.prev]
    w = step / (walk_sd**2 * walk.gap)
    value = 0.5 * (np.sum(x_first**2) / sd0**2 + np.sum(step * w))
    grad = np.zeros_like(x)
    grad[walk.first] = x_first / sd0**2
    # Each member-session is at most once a link's "next" and once its "prev": no collisions.
    grad[walk.next] += w
    grad[walk.prev] -= w
    return float(value), grad


def _negative_log_posterior_dynamic(
    theta: FloatArray, walk: _Walk, walk_sd: float
) -> tuple[float, FloatArray]:
    """Penalised negative log-likelihood per cell of the dynamic model and its gradient."""
    cells = walk.cells
    k, n, j = walk.n_slots, cells.n_members, cells.n_items
    x, rho, beta, t1, s, delta = _unpack_dynamic(theta, k, n, j)
    ci, mi, ji = walk.slot, cells.member, cells.item
    gap_item = np.exp(s)
    t2 = t1 + gap_item
    bj, xi = beta[ji], x[ci]
    logp, g_a, g_b, g_u = _log_prob_and_partials(
        bj * xi - t1[ji], gap_item[ji], rho[mi] + delta[ji], cells.act
    )
    g_eta = g_a + g_b
    walk_value, walk_grad = _walk_penalty(x, walk, walk_sd)
    sd = PRIOR_SD
    penalty = walk_value + 0.5 * (
        np.sum(beta**2) / sd["discrimination"] ** 2
        + (np.sum(t1**2) + np.sum(t2**2)) / sd["cutpoint"] ** 2
        + np.sum(s**2) / sd["log_gap"] ** 2
        + np.sum(rho**2) / sd["participation"] ** 2
        + np.sum(delta**2) / sd["presence"] ** 2
    )
    grad = np.concatenate(
        [
            np.bincount(ci, g_eta * bj, k) - walk_grad,
            np.bincount(mi, g_u, n) - rho / sd["participation"] ** 2,
            np.bincount(ji, g_eta * xi, j) - beta / sd["discrimination"] ** 2,
            -np.bincount(ji, g_eta, j) - (t1 + t2) / sd["cutpoint"] ** 2,
            -np.bincount(ji, g_b, j) * gap_item
            - t2 * gap_item / sd["cutpoint"] ** 2
            - s / sd["log_gap"] ** 2,
            np.bincount(ji, g_u, j) - delta / sd["presence"] ** 2,
        ]
    )
    scale = 1.0 / max(len(ci), 1)
    return (penalty - logp.sum()) * scale, -grad * scale


def _slot_cells(walk: _Walk) -> _Cells:
    """The cells with the member axis replaced by the member-session axis."""
    c = walk.cells
    return _Cells(
        member=walk.slot, item=c.item, act=c.act, n_members=walk.n_slots, n_items=c.n_items
    )


def _ideal_point_se(
    walk: _Walk, x: FloatArray, beta: FloatArray, t1: FloatArray, t2: FloatArray, walk_sd: float
) -> FloatArray:
    """Sd of each ``x_is`` from the inverse of its member's penalised information block.

    The block is tridiagonal: the vote information of each session on the diagonal plus the
    random-walk precision. Items held fixed. Blocks are padded to the longest member record
    with identity rows and inverted together.
    """
    c = walk.cells
    ji = c.item
    a = beta[ji] * x[walk.slot] - t1[ji]
    h_aa, h_ab, h_bb = _latent_hessian(a, (t2 - t1)[ji], c.act)
    info = np.bincount(walk.slot, -(h_aa + 2 * h_ab + h_bb) * beta[ji] ** 2, walk.n_slots)
    info[walk.first] += 1.0 / PRIOR_SD["ideal_point"] ** 2
    precision = 1.0 / (walk_sd**2 * walk.gap)
    info[walk.prev] += precision
    info[walk.next] += precision
    # Position of each member-session within its member's block.
    start = np.repeat(walk.first, np.diff(np.append(walk.first, walk.n_slots)))
    pos = np.arange(walk.n_slots) - start
    block = np.searchsorted(walk.first, np.arange(walk.n_slots), side="right") - 1
    size = int(pos.max()) + 1
    h = np.tile(np.eye(size), (len(walk.first), 1, 1))
    h[block, pos, pos] = info
    pb, pp = block[walk.prev], pos[walk.prev]
    h[pb, pp, pp + 1] = h[pb, pp + 1, pp] = -precision
    with np.errstate(invalid="ignore"):
        cov_diag = np.diagonal(np.linalg.inv(h), axis1=1, axis2=2)
    return np.sqrt(cov_diag[block, pos])


class DynamicIdealPoints:
    """Ideal points that move smoothly over sessions (random walk), with static items.

    The model, priors, start, normalisation (member-sessions mean 0, sd 1) and orientation (the
    USA's mean ideal point negative) are in the module docstring.

    Parameters
    ----------
    dimension : str, optional
        ``"all"`` (every non-partial roll call) or an issue code in ``sim.calibrate.ISSUES``.
    walk_sd : float or "estimate", optional
        Sd of an ideal point's step per session, prior units (default 0.1: a drift of about
        0.3 sd per decade). ``"estimate"``: the value of ``walk_sd_grid`` with the largest
        log-likelihood on a random 10% of cells held out from the fit (``fit`` then needs `rng`).
    max_iter : int, optional
        L-BFGS-B iteration limit of the dynamic fit (the static start gets the same limit).
    tol : float, optional
        L-BFGS-B ``ftol`` and ``gtol`` on the per-cell objective (the static start uses
        ``max(tol, 1e-8)``: it is only a start).
    walk_sd_grid : sequence of float, optional
        Candidates of ``walk_sd="estimate"``.

    Attributes
    ----------
    ideal_points_ : DataFrame indexed by (iso3, session)
        ``ideal_point``, ``ideal_point_se`` (approximate, items fixed), ``n_cells``, ``n_votes``.
    members_ : DataFrame indexed by iso3
        As ``IdealPoints.members_``: ``ideal_point`` and ``ideal_point_se`` of the member's last
        session, ``participation``, ``participation_se``, ``n_cells``, ``n_votes`` (whole fit),
        plus ``last_session``.
    items_ : DataFrame indexed by rcid
        As ``IdealPoints.items_``, plus ``session``.
    walk_sd_ : float
        The walk sd used (the chosen one under ``"estimate"``); ``step_sd_`` is it in the
        reported (normalised) units.
    walk_sd_scores_ : dict or None
        Held-out mean log-likelihood per cell of each candidate (``"estimate"`` only).
    loglik_, n_cells_, n_iter_, converged_, static_n_iter_

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

    # -- fitting ------------------------------------------------------------------------------

    def _minimise(self, walk: _Walk, walk_sd: float) -> tuple[optimize.OptimizeResult, int]:
        """Static start, then the dynamic fit. Returns the dynamic result and static iterations."""
        cells = walk.cells
        options = {"maxiter": self.max_iter, "maxcor": 20}
        static_tol = max(self.tol, 1e-8)
        static = optimize.minimize(
            _negative_log_posterior,
            _start_values(cells),
            args=(cells,),
            jac=True,
            method="L-BFGS-B",
            options={**options, "ftol": static_tol, "gtol": static_tol},
        )
        x, *rest = _unpack(static.x, cells.n_members, cells.n_items)
        theta0 = np.concatenate([x[walk.slot_member], *rest])
        res = optimize.minimize(
            _negative_log_posterior_dynamic,
            theta0,
            args=(walk, walk_sd),
            jac=True,
            method="L-BFGS-B",
            options={**options, "ftol": self.tol, "gtol": self.tol},
        )
        return res, int(static.nit)

    def _choose_walk_sd(self, walk: _Walk, session: IntArray, rng: np.random.Generator) -> None:
        """Held-out mean log-likelihood of each candidate walk sd on a random 10% of cells."""
        c = walk.cells
        held = rng.random(len(c.act)) < 0.1
        train = _walk(
            _Cells(c.member[~held], c.item[~held], c.act[~held], c.n_members, c.n_items),
            session[~held],
        )
        # Held-out cells whose member-session has no training cell cannot be scored.
        train_key = train.slot_member * (int(session.max()) + 1) + train.slot_session
        held_key = c.member[held] * (int(session.max()) + 1) + session[held]
        slot = np.searchsorted(train_key, held_key)
        slot = np.minimum(slot, len(train_key) - 1)
        ok = train_key[slot] == held_key
        scores: dict[float, float] = {}
        for value in self.walk_sd_grid:
            res, _ = self._minimise(train, value)
            x, rho, beta, t1, s, delta = _unpack_dynamic(
                res.x, train.n_slots, c.n_members, c.n_items
            )
            ji, mi = c.item[held][ok], c.member[held][ok]
            logp, *_ = _log_prob_and_partials(
                beta[ji] * x[slot[ok]] - t1[ji], np.exp(s)[ji], rho[mi] + delta[ji], c.act[held][ok]
            )
            scores[value] = float(logp.mean())
        self.walk_sd_scores_ = scores
        self.walk_sd_ = max(scores, key=lambda v: (scores[v], -v))

    def fit(self, data: Any, *, rng: np.random.Generator | None = None) -> DynamicIdealPoints:
        """Fit to roll calls.

        Parameters
        ----------
        data : RollCallData
            ``.votes`` (tidy cells ``rcid``, ``iso3``, ``act`` in ``ACTS``, absences included)
            and ``.roll_calls`` (indexed by ``rcid``, with ``session``, ``partial`` and the
            issue columns; ``symbol``, ``title``, ``date`` are copied to ``items_``).
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
        votes, rc = _select(data, self.dimension)
        if "session" not in rc.columns:
            raise DataError("roll_calls: missing column 'session' (the dynamic model's time)")
        members = pd.Index(np.unique(votes["iso3"].to_numpy().astype(str)), name="iso3")
        items = pd.Index(rc.index.to_numpy(), name="rcid")
        cells = _cells(votes, members, items)
        item_session = rc["session"].to_numpy(dtype=np.int64)
        session = item_session[cells.item]
        walk = _walk(cells, session)
        k, n, j = walk.n_slots, cells.n_members, cells.n_items

        self.walk_sd_scores_: dict[float, float] | None = None
        if self.walk_sd == "estimate":
            if rng is None:
                raise ValueError("walk_sd='estimate' draws held-out cells: pass rng=")
            self._choose_walk_sd(walk, session, rng)
        else:
            self.walk_sd_ = float(self.walk_sd)
        walk_sd = self.walk_sd_

        res, static_iter = self._minimise(walk, walk_sd)
        if not res.success:
            warnings.warn(
                f"DynamicIdealPoints.fit did not converge: {res.message}",
                RuntimeWarning,
                stacklevel=2,
            )
        x, rho, beta, t1, s, delta = _unpack_dynamic(res.x, k, n, j)
        t2 = t1 + np.exp(s)
        x_se_raw = _ideal_point_se(walk, x, beta, t1, t2, walk_sd)
        scale = float(np.std(x)) or 1.0
        x, beta, t1, t2 = _normalise(x, beta, t1, t2, None)
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

        present = cells.act != ABSENT
        u = rho[cells.member] + delta[cells.item]
        info_rho = np.bincount(cells.member, expit(u) * expit(-u), n)
        rho_se = np.sqrt(1.0 / (info_rho + 1.0 / PRIOR_SD["participation"] ** 2))
        slot_cells = np.bincount(walk.slot, minlength=k)
        slot_votes = np.bincount(walk.slot, present, k).astype(np.int64)
        self.ideal_points_ = pd.DataFrame(
            {
                "ideal_point": x,
                "ideal_point_se": x_se,
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
                "participation": rho,
                "participation_se": rho_se,
                "n_cells": np.bincount(cells.member, minlength=n),
                "n_votes": np.bincount(cells.member, present, n).astype(np.int64),
                "last_session": walk.slot_session[last],
            },
            index=members,
        )
        item_se = _item_standard_errors(
            _slot_cells(walk), x, rho[walk.slot_member], beta, t1, t2, delta
        )
        self.items_ = items_table(rc, cells, items, beta, t1, t2, delta, item_se)
        self.items_.insert(3, "session", item_session)
        ji = cells.item
        logp, *_ = _log_prob_and_partials(
            beta[ji] * x[walk.slot] - t1[ji], (t2 - t1)[ji], u, cells.act
        )
        self.loglik_ = float(logp.sum())
        self.n_cells_ = len(cells.act)
        self.n_iter_ = int(res.nit)
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
        from sim.plots import _save, plt

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
        _save(fig, path)
        return path
