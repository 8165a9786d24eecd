"""Block-Newton sweeps for the ideal-point posterior mode: members, then items, then the gauge.

The penalised likelihood of :mod:`sim.core.likelihood` (and its dynamic version,
:mod:`sim.estimate.dynamic`) separates in blocks. Given the items (discrimination and cutpoints
per text, attendance effect per roll call) and the strategic slope ``gamma``, each member's
trajectory of ideal points and participations is an independent problem whose curvature is its
sessions' information plus the tridiagonal random-walk precision (:mod:`sim.core.walk`): one
banded solve for every member at once. Given the members, each text's ``(beta, tau1, s)`` is an
independent 3 x 3 problem and each roll call's ``delta`` a scalar one. A sweep takes one damped
Newton step in ``gamma`` (with the roll calls' ``delta`` following it: alone, the two zig-zag),
then in every member, then in every text and roll call; each member's
(each text's) step is halved until its own part of the objective falls, so the objective never
rises. The curvatures are the vote part's observed information plus the Gauss-Newton part of the
strategic presence term, positive definite by construction (a text's block is lifted to positive
definite where the observed term of its log gap is not).

Alternating blocks is slow along directions that move both blocks at once and change only the
prior. Some leave every probability unchanged (the model's gauge): the affine map
``x -> c x + c r``, ``beta -> beta / c``, ``tau -> tau + beta r``, and in each session the shift
``rho -> rho + m_t``, ``delta -> delta - m_t``. Each sweep ends by moving to the prior's minimum
along them (:func:`gauge_step`): one scalar minimisation and one small linear system.

The sweeps bring the fit close to its optimum; the caller finishes with the same L-BFGS-B and
stopping rule as before (:func:`sim.estimate.ideal_points.minimise_lbfgs`), so the optimum
reported is the one that rule defines, reached in far fewer iterations.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
from scipy import optimize
from scipy.linalg import solveh_banded

from sim.core.acts import ABSENT, ABSTAIN, NO, YES, FloatArray, IntArray
from sim.core.likelihood import PRIOR_SD
from sim.core.walk import Walk

__all__ = ["BlockProblem", "block_newton", "gauge_step", "static_walk"]

#: Step halvings tried per member or text before its step is dropped for this sweep.
MAX_HALVINGS = 12

#: Largest first step of any parameter (logit units, or prior sds of an ideal point).
MAX_STEP = 2.0


@dataclass(frozen=True)
class BlockProblem:
    """The cells of a fit and the structure of its parameters.

    The packed parameter vector is ``x (k), rho (k), beta (p), tau1 (p), s (p), delta (j)``,
    then ``gamma`` if `strategic`: the layout of :func:`sim.core.likelihood.unpack` (static
    fit, ``k = n_members`` and ``p = j``) and of the dynamic fit.

    Attributes
    ----------
    walk : Walk
        Member-sessions ("slots") of the cells and their random walks; a static fit has one slot
        per member and no links (:func:`static_walk`).
    text : ndarray of int, shape (n_cells,)
        The spatial item of each cell (a text; bridged roll calls share one).
    roll_call : ndarray of int, shape (n_cells,)
        The roll call of each cell (its ``delta``).
    act : ndarray of int, shape (n_cells,)
    mask : ndarray, shape (n_cells,), or None
        1 where absence can be strategic (:class:`sim.core.likelihood.Cells` ``strategic``).
    text_of_roll_call : ndarray of int, shape (j,)
    n_texts : int
    walk_sd, participation_sd : float
        Sds of one session's step of the ideal point and of the participation.
    strategic : bool
        ``gamma`` is a parameter (last in the vector); else it is 0.
    """

    walk: Walk
    text: IntArray
    roll_call: IntArray
    act: IntArray
    mask: FloatArray | None
    text_of_roll_call: IntArray
    n_texts: int
    walk_sd: float
    participation_sd: float
    strategic: bool
    roll_call_session: IntArray  # (j,) the session of each roll call (zeros in a static fit)

    @property
    def n_roll_calls(self) -> int:
        """The number of roll calls (attendance effects)."""
        return len(self.text_of_roll_call)

    @cached_property
    def masks(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """1.0 where the act is yes, no, abstain, and where the member is present."""
        act = self.act
        return (
            (act == YES).astype(float),
            (act == NO).astype(float),
            (act == ABSTAIN).astype(float),
            (act != ABSENT).astype(float),
        )

    def split(self, theta: FloatArray) -> tuple[FloatArray, ...]:
        """Views ``x, rho, beta, tau1, s, delta`` and ``gamma`` (a 0-d view, or zeros)."""
        k, p, j = self.walk.n_slots, self.n_texts, self.n_roll_calls
        x, rho = theta[:k], theta[k : 2 * k]
        beta, t1, s = (theta[2 * k + m * p : 2 * k + (m + 1) * p] for m in range(3))
        delta = theta[2 * k + 3 * p : 2 * k + 3 * p + j]
        gamma = theta[-1:] if self.strategic else np.zeros(1)
        return x, rho, beta, t1, s, delta, gamma


def static_walk(member: IntArray, n_members: int) -> Walk:
    """The trivial walk of a static fit: one slot per member, no links."""
    return Walk(
        slot=np.asarray(member, dtype=np.int64),
        slot_member=np.arange(n_members, dtype=np.int64),
        slot_session=np.zeros(n_members, dtype=np.int64),
        first=np.arange(n_members, dtype=np.int64),
        prev=np.zeros(0, dtype=np.int64),
        next=np.zeros(0, dtype=np.int64),
        gap=np.zeros(0),
    )


@dataclass
class _Cells:
    """Per-cell quantities at one parameter vector.

    They depend on ``a``, ``gap``, ``u`` and ``gamma`` only, so the gauge moves leave them valid.
    """

    a: FloatArray
    gap: FloatArray
    logp: FloatArray
    g_a: FloatArray  # d log p / d a, strategic part included
    g_b: FloatArray
    g_u: FloatArray
    h: FloatArray  # ambivalence (0 where not strategic)
    dh_da: FloatArray
    dh_db: FloatArray
    w: FloatArray  # presence logit's variance sigma(z) sigma(-z)
    h_aa: FloatArray  # second derivatives of the vote part (sim.core.likelihood.latent_hessian)
    h_ab: FloatArray
    h_bb: FloatArray


def _sigmoids(y: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``log sigmoid(y)``, ``sigmoid(y)`` and ``sigmoid(-y)`` from one exponential."""
    e = np.exp(-np.abs(y))
    inv = 1.0 / (1.0 + e)
    pos = y >= 0
    small = e * inv
    return np.minimum(y, 0.0) - np.log1p(e), np.where(pos, inv, small), np.where(pos, small, inv)


def _cells(prob: BlockProblem, theta: FloatArray) -> _Cells:
    """The log-probability of every cell and its partials, in one pass.

    The formulas of :func:`sim.core.likelihood.strategic_log_prob_and_partials` and
    :func:`sim.core.likelihood.latent_hessian` (the same values to rounding, checked in the
    tests), sharing their exponentials; the gap's functions are computed once per text.
    """
    x, rho, beta, t1, s, delta, gamma = prob.split(theta)
    slot, text = prob.walk.slot, prob.text
    gap_text = np.exp(s)
    with np.errstate(divide="ignore", over="ignore"):  # gap -> 0: log P(abstain) -> -inf
        lg = np.log(-np.expm1(-gap_text))[text]
        inv = (1.0 / np.expm1(gap_text))[text]
        l2 = (-0.25 / np.sinh(0.5 * gap_text) ** 2)[text]
    a = beta[text] * x[slot] - t1[text]
    gap = gap_text[text]
    b = a - gap
    la, sig_a, sig_ma = _sigmoids(a)
    lb, sig_b, sig_mb = _sigmoids(b)
    is_yes, is_no, is_abs, present = prob.masks
    lq_yes, lq_no = lb, la - a
    lq_abs = la + (lb - b) + lg
    logp = np.where(is_abs > 0, lq_abs, is_yes * lq_yes + is_no * lq_no)
    g_a = is_abs * (sig_ma + inv) - is_no * sig_a
    g_b = is_yes * sig_mb - is_abs * (sig_b + inv)
    s_a, s_b = sig_a * sig_ma, sig_b * sig_mb
    l2 = np.where(is_abs > 0, l2, 0.0)
    h_aa = -(is_no + is_abs) * s_a + l2
    h_bb = -(is_yes + is_abs) * s_b + l2
    h_ab = -l2
    u = rho[slot] + delta[prob.roll_call]
    g = float(gamma[0])
    if prob.strategic:
        fl = [np.maximum(v, -745.0) for v in (lq_yes, lq_no, lq_abs)]
        h = np.clip(-sum(np.exp(v) * v for v in fl) / _LOG3, 0.0, 1.0)
        dh_da = s_a * (fl[1] - fl[2]) / _LOG3
        dh_db = s_b * (fl[2] - fl[0]) / _LOG3
        if prob.mask is not None:
            h, dh_da, dh_db = h * prob.mask, dh_da * prob.mask, dh_db * prob.mask
        z = u - g * h
    else:
        h = dh_da = dh_db = np.zeros_like(a)
        z = u
    lz, sig_z, sig_mz = _sigmoids(z)
    logp = logp + np.where(present > 0, lz, lz - z)
    g_z = present - sig_z
    if prob.strategic:
        g_a = g_a - g * g_z * dh_da
        g_b = g_b - g * g_z * dh_db
    return _Cells(a, gap, logp, g_a, g_b, g_z, h, dh_da, dh_db, sig_z * sig_mz, h_aa, h_ab, h_bb)


def _walk_terms(v: FloatArray, walk: Walk, step_sd: float, sd0: float) -> FloatArray:
    """The walk's negative log prior of `v` per member."""
    n = len(walk.first)
    out = np.zeros(n)
    out += 0.5 * v[walk.first] ** 2 / sd0**2
    step = v[walk.next] - v[walk.prev]
    member_of_link = np.searchsorted(walk.first, walk.prev, side="right") - 1
    out += np.bincount(member_of_link, 0.5 * step**2 / (step_sd**2 * walk.gap), n)
    return out


def _member_objective(prob: BlockProblem, theta: FloatArray, c: _Cells) -> FloatArray:
    """Each member's part of the negative log posterior (its cells and its walks)."""
    x, rho = prob.split(theta)[:2]
    walk = prob.walk
    n = len(walk.first)
    cell_member = walk.slot_member[walk.slot]
    return (
        -np.bincount(cell_member, c.logp, n)
        + _walk_terms(x, walk, prob.walk_sd, PRIOR_SD["ideal_point"])
        + _walk_terms(rho, walk, prob.participation_sd, PRIOR_SD["participation"])
    )


def _text_prior(beta: FloatArray, t1: FloatArray, s: FloatArray) -> FloatArray:
    sd = PRIOR_SD
    t2 = t1 + np.exp(s)
    return 0.5 * (
        beta**2 / sd["discrimination"] ** 2
        + (t1**2 + t2**2) / sd["cutpoint"] ** 2
        + s**2 / sd["log_gap"] ** 2
    )


def _text_objective(prob: BlockProblem, theta: FloatArray, c: _Cells) -> FloatArray:
    """Each text's part of the negative log posterior (its roll calls' cells and priors)."""
    _, _, beta, t1, s, delta, _ = prob.split(theta)
    p = prob.n_texts
    return (
        -np.bincount(prob.text, c.logp, p)
        + _text_prior(beta, t1, s)
        + np.bincount(prob.text_of_roll_call, 0.5 * delta**2 / PRIOR_SD["presence"] ** 2, p)
    )


def objective(prob: BlockProblem, theta: FloatArray, c: _Cells | None = None) -> float:
    """The whole negative log posterior (not divided by the cells)."""
    c = _cells(prob, theta) if c is None else c
    gamma = float(prob.split(theta)[-1][0])
    x, rho, beta, t1, s, delta, _ = prob.split(theta)
    walk = prob.walk
    return float(
        -c.logp.sum()
        + _walk_terms(x, walk, prob.walk_sd, PRIOR_SD["ideal_point"]).sum()
        + _walk_terms(rho, walk, prob.participation_sd, PRIOR_SD["participation"]).sum()
        + _text_prior(beta, t1, s).sum()
        + 0.5 * float(np.sum(delta**2)) / PRIOR_SD["presence"] ** 2
        + 0.5 * gamma**2 / PRIOR_SD["strategic"] ** 2
    )


def _tridiagonal_solve(
    diag: FloatArray, walk: Walk, step_sd: float, sd0: float, rhs: FloatArray
) -> FloatArray:
    """Solve ``(diag(diag) + walk precision) d = rhs`` for every member at once.

    One banded system: members' blocks are not linked to each other.
    """
    k = walk.n_slots
    precision = 1.0 / (step_sd**2 * walk.gap)
    d = diag.copy()
    d[walk.first] += 1.0 / sd0**2
    d[walk.prev] += precision
    d[walk.next] += precision
    ab = np.zeros((2, k))
    ab[1] = d
    ab[0, walk.next] = -precision  # superdiagonal entry (prev, prev + 1) sits at column next
    return np.asarray(solveh_banded(ab, rhs, check_finite=False))


def _accept(
    prob: BlockProblem,
    theta: FloatArray,
    step: FloatArray,
    unit_of_param: IntArray,
    unit_objective: object,
    f_old: FloatArray,
) -> tuple[FloatArray, _Cells]:
    """Take `step`, halving it for each unit (member or text) whose own objective would rise.

    `unit_of_param` maps each entry of `step` to its unit; `unit_objective(theta, cells)` gives
    every unit's objective. Returns the new vector and its cells.
    """
    # A unit's step at most MAX_STEP in every parameter (a trust region for the first try).
    size = np.zeros(len(f_old))
    np.maximum.at(size, unit_of_param, np.abs(step))
    alpha = np.minimum(1.0, MAX_STEP / np.maximum(size, 1e-300))
    fun = unit_objective  # a callable (theta, cells) -> per-unit objective
    for _ in range(MAX_HALVINGS + 1):
        trial = theta + step * alpha[unit_of_param]
        c = _cells(prob, trial)
        f_new = fun(trial, c)  # type: ignore[operator]
        bad = ~(f_new <= f_old)
        if not np.any(bad):
            return trial, c
        alpha[bad] *= 0.5
        if np.all(alpha[bad] < 0.5**MAX_HALVINGS):
            alpha[bad & (alpha < 0.5**MAX_HALVINGS)] = 0.0
    alpha[~(f_new <= f_old)] = 0.0
    trial = theta + step * alpha[unit_of_param]
    return trial, _cells(prob, trial)


def _gamma_step(prob: BlockProblem, theta: FloatArray, c: _Cells) -> tuple[FloatArray, _Cells]:
    """A Newton step along ``gamma`` with each roll call's ``delta`` following it.

    Raising ``gamma`` lowers presence where votes are torn; the roll calls' attendance effects
    answer by rising (their conditional response ``sum w h / (sum w + prior)``). A step in
    ``gamma`` alone would be undone by them a little at every sweep; along the joint direction it
    is taken at once. Gauss-Newton curvature along the direction; halved until the whole
    objective falls.
    """
    _, _, _, _, _, delta, gamma_v = prob.split(theta)
    k, p, j = prob.walk.n_slots, prob.n_texts, prob.n_roll_calls
    gamma = float(gamma_v[0])
    sd = PRIOR_SD
    rc = prob.roll_call
    prec_g, prec_d = 1.0 / sd["strategic"] ** 2, 1.0 / sd["presence"] ** 2
    follow = np.bincount(rc, c.w * c.h, j) / (np.bincount(rc, c.w, j) + prec_d)
    dz = follow[rc] - c.h  # change of each cell's presence logit per unit of the step
    grad = float(np.sum(c.g_u * dz)) - gamma * prec_g - float(np.sum(delta * follow)) * prec_d
    info = float(np.sum(c.w * dz**2)) + prec_g + float(np.sum(follow**2)) * prec_d
    direction = np.zeros_like(theta)
    direction[-1] = 1.0
    direction[2 * k + 3 * p : 2 * k + 3 * p + j] = follow
    f_old = objective(prob, theta, c)
    step = grad / info
    for _ in range(MAX_HALVINGS):
        trial = theta + step * direction
        ct = _cells(prob, trial)
        if objective(prob, trial, ct) <= f_old:
            return trial, ct
        step *= 0.5
    return theta, c


def _member_step(prob: BlockProblem, theta: FloatArray, c: _Cells) -> tuple[FloatArray, _Cells]:
    x, rho, beta, _, _, _, gamma = prob.split(theta)
    walk = prob.walk
    k = walk.n_slots
    bt = beta[prob.text]
    g = float(gamma[0])
    h_aa, h_ab, h_bb = c.h_aa, c.h_ab, c.h_bb
    dh = c.dh_da + c.dh_db
    info_x = np.bincount(walk.slot, bt**2 * (-(h_aa + 2 * h_ab + h_bb) + c.w * (g * dh) ** 2), k)
    info_rho = np.bincount(walk.slot, c.w, k)
    sd_x, sd_rho = PRIOR_SD["ideal_point"], PRIOR_SD["participation"]
    grad_x = np.bincount(walk.slot, (c.g_a + c.g_b) * bt, k) - _walk_grad(
        x, walk, prob.walk_sd, sd_x
    )
    grad_rho = np.bincount(walk.slot, c.g_u, k) - _walk_grad(
        rho, walk, prob.participation_sd, sd_rho
    )
    step = np.zeros_like(theta)
    step[:k] = _tridiagonal_solve(info_x, walk, prob.walk_sd, sd_x, grad_x)
    step[k : 2 * k] = _tridiagonal_solve(info_rho, walk, prob.participation_sd, sd_rho, grad_rho)
    unit = np.zeros(len(theta), dtype=np.int64)  # other parameters do not move
    unit[:k] = unit[k : 2 * k] = walk.slot_member
    f_old = _member_objective(prob, theta, c)
    return _accept(prob, theta, step, unit, lambda t, cc: _member_objective(prob, t, cc), f_old)


def _walk_grad(v: FloatArray, walk: Walk, step_sd: float, sd0: float) -> FloatArray:
    grad = np.zeros_like(v)
    grad[walk.first] = v[walk.first] / sd0**2
    w = (v[walk.next] - v[walk.prev]) / (step_sd**2 * walk.gap)
    grad[walk.next] += w
    grad[walk.prev] -= w
    return grad


def _text_step(prob: BlockProblem, theta: FloatArray, c: _Cells) -> tuple[FloatArray, _Cells]:
    x, _, beta, t1, s, delta, gamma = prob.split(theta)
    k, p, j = prob.walk.n_slots, prob.n_texts, prob.n_roll_calls
    text = prob.text
    xi = x[prob.walk.slot]
    g = float(gamma[0])
    e = np.exp(s)
    t2 = t1 + e
    sd = PRIOR_SD
    g_eta = c.g_a + c.g_b
    grad = np.stack(
        [
            np.bincount(text, g_eta * xi, p) - beta / sd["discrimination"] ** 2,
            -np.bincount(text, g_eta, p) - (t1 + t2) / sd["cutpoint"] ** 2,
            -np.bincount(text, c.g_b, p) * e
            - t2 * e / sd["cutpoint"] ** 2
            - s / sd["log_gap"] ** 2,
        ],
        axis=1,
    )
    h_aa, h_ab, h_bb = c.h_aa, c.h_ab, c.h_bb
    # Per cell, the information in (beta, tau1, s) with da = (x, -1, 0), db = (x, -1, -gap):
    # the vote part -H in (a, b) plus the Gauss-Newton part w (gamma q)(gamma q)' of the
    # strategic presence, q = dh_da da + dh_db db = (d x, -d, -e) with d = dh_da + dh_db and
    # e = dh_db gap. Entries: S (x^2, -x, 1) for (beta, tau1); U (-x, 1) against s; V for s.
    d = c.dh_da + c.dh_db
    e_cell = c.dh_db * c.gap
    wg = c.w * g**2
    big_s = -(h_aa + 2 * h_ab + h_bb) + wg * d * d
    big_u = -(h_ab + h_bb) * c.gap + wg * d * e_cell
    big_v = -h_bb * c.gap**2 + wg * e_cell * e_cell
    info = np.empty((p, 3, 3))
    sx = big_s * xi
    info[:, 0, 0] = np.bincount(text, sx * xi, p)
    info[:, 0, 1] = info[:, 1, 0] = -np.bincount(text, sx, p)
    info[:, 1, 1] = np.bincount(text, big_s, p)
    info[:, 0, 2] = info[:, 2, 0] = -np.bincount(text, big_u * xi, p)
    info[:, 1, 2] = info[:, 2, 1] = np.bincount(text, big_u, p)
    info[:, 2, 2] = np.bincount(text, big_v, p)
    # The observed term of the log gap, -(g_b d2b/ds2) with d2b/ds2 = -gap, where it adds
    # curvature (it has expectation 0; where negative it would make the block indefinite).
    info[:, 2, 2] += np.maximum(np.bincount(text, c.g_b * c.gap, p), 0.0)
    info[:, 0, 0] += 1 / sd["discrimination"] ** 2
    info[:, 1, 1] += 2 / sd["cutpoint"] ** 2
    info[:, 1, 2] += e / sd["cutpoint"] ** 2
    info[:, 2, 1] += e / sd["cutpoint"] ** 2
    info[:, 2, 2] += (e**2 + t2 * e) / sd["cutpoint"] ** 2 + 1 / sd["log_gap"] ** 2
    d_item = np.linalg.solve(info, grad[:, :, None])[:, :, 0]
    rc_info = np.bincount(prob.roll_call, c.w, j) + 1 / sd["presence"] ** 2
    rc_grad = np.bincount(prob.roll_call, c.g_u, j) - delta / sd["presence"] ** 2
    step = np.zeros_like(theta)
    for m in range(3):
        step[2 * k + m * p : 2 * k + (m + 1) * p] = d_item[:, m]
    step[2 * k + 3 * p : 2 * k + 3 * p + j] = rc_grad / rc_info
    unit = np.zeros(len(theta), dtype=np.int64)
    unit[2 * k : 2 * k + 3 * p] = np.tile(np.arange(p), 3)
    unit[2 * k + 3 * p : 2 * k + 3 * p + j] = prob.text_of_roll_call
    f_old = _text_objective(prob, theta, c)
    return _accept(prob, theta, step, unit, lambda t, cc: _text_objective(prob, t, cc), f_old)


def _presence_shift(prob: BlockProblem, rho: FloatArray, delta: FloatArray) -> None:
    """Shift every participation of session ``t`` by ``m_t`` and its roll calls' attendance
    effects by ``-m_t`` (in place), to the priors' minimum over ``m``: no cell's presence logit
    ``rho + delta`` changes. The priors are quadratic in ``m``: one small linear system (a
    session per row) from the first values', the walk's links' and the effects' terms.
    """
    walk = prob.walk
    sessions, code = np.unique(
        np.concatenate([walk.slot_session, prob.roll_call_session]), return_inverse=True
    )
    n_s, k = len(sessions), walk.n_slots
    slot_s, rc_s = code[:k], code[k:]
    w_rho, w_delta = 1 / PRIOR_SD["participation"] ** 2, 1 / PRIOR_SD["presence"] ** 2
    lhs = np.zeros((n_s, n_s))
    rhs = np.zeros(n_s)
    f = slot_s[walk.first]
    np.add.at(lhs, (f, f), w_rho)
    np.add.at(rhs, f, -w_rho * rho[walk.first])
    np.add.at(lhs, (rc_s, rc_s), w_delta)
    np.add.at(rhs, rc_s, w_delta * delta)
    w = 1.0 / (prob.participation_sd**2 * walk.gap)
    a, b = slot_s[walk.next], slot_s[walk.prev]
    step = rho[walk.next] - rho[walk.prev]
    np.add.at(lhs, (a, a), w)
    np.add.at(lhs, (b, b), w)
    np.add.at(lhs, (a, b), -w)
    np.add.at(lhs, (b, a), -w)
    np.add.at(rhs, a, -w * step)
    np.add.at(rhs, b, w * step)
    m = np.linalg.solve(lhs, rhs)
    rho += m[slot_s]
    delta -= m[rc_s]


def gauge_step(prob: BlockProblem, theta: FloatArray) -> FloatArray:
    """Move to the prior's minimum along the directions that leave every probability alone.

    ``x -> c (x + r)``, ``beta -> beta / c``, ``tau1 -> tau1 + beta r`` (and so ``tau2``) keep
    ``a = beta x - tau1`` and the gap; ``rho -> rho + m_t``, ``delta -> delta - m_t`` in each
    session ``t`` keep ``u = rho + delta`` (:func:`_presence_shift`). Only the priors change.
    For a given ``r`` the best ``c`` is in closed form (``c^4 = B / A(r)``), leaving the convex
    ``2 sqrt(A(r) B) + T(r)`` to minimise over ``r``.
    """
    theta = theta.copy()
    x, rho, beta, t1, s, delta, _ = prob.split(theta)
    walk = prob.walk
    sd = PRIOR_SD
    e = np.exp(s)
    _presence_shift(prob, rho, delta)
    # Ideal-point scale and shift.
    xf = x[walk.first]
    steps = x[walk.next] - x[walk.prev]
    walk_sq = 0.5 * float(np.sum(steps**2 / (prob.walk_sd**2 * walk.gap)))
    a2, a1, a0 = 0.5 * len(xf) / sd["ideal_point"] ** 2, float(xf.sum()), 0.0
    a0 = 0.5 * float(np.sum(xf**2)) / sd["ideal_point"] ** 2 + walk_sq
    a1 = float(xf.sum()) / sd["ideal_point"] ** 2
    bsum = 0.5 * float(np.sum(beta**2)) / sd["discrimination"] ** 2
    if bsum <= 0 or a0 <= 0:
        return theta
    t2 = t1 + e
    cp = sd["cutpoint"] ** 2
    q2 = float(np.sum(beta**2)) / cp
    q1 = float(np.sum(beta * (t1 + t2))) / cp

    def prior(r: float) -> float:
        return 2.0 * np.sqrt(max(a0 + a1 * r + a2 * r * r, 1e-300) * bsum) + q1 * r + q2 * r * r

    r = float(optimize.minimize_scalar(prior, bracket=(-1.0, 1.0)).x)
    if not prior(r) < prior(0.0):
        r = 0.0
    c = (bsum / (a0 + a1 * r + a2 * r * r)) ** 0.25
    x[:] = c * (x + r)
    t1 += beta * r
    beta /= c
    return theta


def _sweep(prob: BlockProblem, theta: FloatArray, c: _Cells) -> tuple[FloatArray, _Cells]:
    """One sweep: gamma, members, texts and roll calls, gauge."""
    if prob.strategic:
        theta, c = _gamma_step(prob, theta, c)
    theta, c = _member_step(prob, theta, c)
    theta, c = _text_step(prob, theta, c)
    return gauge_step(prob, theta), c


def block_newton(
    prob: BlockProblem, theta: FloatArray, *, rtol: float, max_sweeps: int
) -> tuple[FloatArray, int, list[float]]:
    """Sweeps of block-Newton steps (gamma, members, texts and roll calls, gauge) from `theta`.

    Stops when a sweep lowers the objective per cell by less than `rtol` relative (the form of
    L-BFGS-B's ``ftol`` test on the same objective), or after `max_sweeps`.

    Returns
    -------
    theta : ndarray
    n_sweeps : int
    history : list of float
        The objective per cell after each sweep (the start first).
    """
    theta = np.array(theta, dtype=float)
    n_cells = max(len(prob.act), 1)
    c = _cells(prob, theta)
    f = objective(prob, theta, c)
    history = [f / n_cells]
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        theta, c = _sweep(prob, theta, c)
        f_new = objective(prob, theta, c)
        history.append(f_new / n_cells)
        done = (f - f_new) <= rtol * max(abs(f), abs(f_new), n_cells)
        f = f_new
        if done:
            break
    return theta, sweeps, history


_LOG3: Final[float] = float(np.log(3.0))
