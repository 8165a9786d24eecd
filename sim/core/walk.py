"""Values that move over sessions by a Gaussian random walk: the prior, its gradient, its sds.

Ideal points and participation that change from session to session (the dynamic fit,
:class:`sim.estimate.dynamic.DynamicIdealPoints`; participation alone,
:func:`sim.estimate.participation.fit_participation_walk`) share one prior: for each member its
first session's value ``v_first ~ N(0, sd0^2)``, then ``v_s ~ N(v_s', walk_sd^2 * (s - s'))``
between its consecutive sessions ``s' < s`` (a gap of several sessions, a member that left the
Assembly for a while, lets the value move farther). Member-sessions ("slots") are sorted by
member, then session, so each member's walk is a contiguous block and its precision tridiagonal.

Examples
--------
One member over sessions 1, 2 and 4, another in session 3 only:

>>> walk = random_walk(np.array([0, 0, 0, 1]), np.array([1, 2, 4, 3]))
>>> walk.first.tolist(), walk.prev.tolist(), walk.next.tolist(), walk.gap.tolist()
([0, 3], [0, 1], [1, 2], [1.0, 2.0])
>>> value, grad = walk_penalty(np.array([0.0, 1.0, 1.0, 0.0]), walk, walk_sd=1.0, sd0=1.0)
>>> value, grad.tolist()
(0.5, [-1.0, 1.0, 0.0, 0.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from sim.core.acts import FloatArray, IntArray

__all__ = ["Walk", "random_walk", "walk_penalty", "walk_precision", "walk_se"]


@dataclass(frozen=True)
class Walk:
    """The member-sessions of a set of cells and the links of each member's walk.

    Attributes
    ----------
    slot : ndarray of int, shape (n_cells,)
        The member-session of each cell.
    slot_member, slot_session : ndarray of int, shape (n_slots,)
        Member and session of each member-session (sorted by member, then session).
    first : ndarray of int
        The member-sessions that are a member's first.
    prev, next : ndarray of int, shape (n_links,)
        The earlier and later member-session of each link (``next == prev + 1``).
    gap : ndarray, shape (n_links,)
        Sessions between them (at least 1).
    """

    slot: IntArray
    slot_member: IntArray
    slot_session: IntArray
    first: IntArray
    prev: IntArray
    next: IntArray
    gap: FloatArray

    @property
    def n_slots(self) -> int:
        """The number of member-sessions."""
        return len(self.slot_member)


def random_walk(member: IntArray, session: IntArray) -> Walk:
    """The member-sessions of cells with these members and sessions, and their walks' links.

    Parameters
    ----------
    member, session : ndarray of int, shape (n_cells,)
        Non-negative codes of each cell's member and session.

    Returns
    -------
    Walk
    """
    member = np.asarray(member, dtype=np.int64)
    session = np.asarray(session, dtype=np.int64)
    width = int(session.max()) + 1
    slots, slot = np.unique(member * width + session, return_inverse=True)
    slot_member, slot_session = slots // width, slots % width
    same = slot_member[1:] == slot_member[:-1]
    prev = np.flatnonzero(same)
    is_first = np.ones(len(slots), dtype=bool)
    is_first[1:] = ~same
    return Walk(
        slot=slot.astype(np.int64),
        slot_member=slot_member.astype(np.int64),
        slot_session=slot_session.astype(np.int64),
        first=np.flatnonzero(is_first),
        prev=prev,
        next=prev + 1,
        gap=(slot_session[prev + 1] - slot_session[prev]).astype(float),
    )


def walk_penalty(x: FloatArray, walk: Walk, walk_sd: float, sd0: float) -> tuple[float, FloatArray]:
    """The negative log prior of per-member-session values (constants dropped), and its gradient.

    Parameters
    ----------
    x : ndarray, shape (n_slots,)
    walk : Walk
    walk_sd : float
        Sd of one session's step.
    sd0 : float
        Sd of a member's first value.

    Returns
    -------
    value : float
    grad : ndarray, shape (n_slots,)
    """
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


def walk_se(walk: Walk, info: FloatArray, walk_sd: float, sd0: float) -> FloatArray:
    """Sd of each member-session value from the inverse of its member's penalised information.

    `info` (the data's information per member-session) on the diagonal plus the tridiagonal
    random-walk precision; other parameters held fixed. Blocks are padded to the longest member
    record with identity rows and inverted together.

    Parameters
    ----------
    walk : Walk
    info : ndarray, shape (n_slots,)
    walk_sd, sd0 : float
        As in :func:`walk_penalty`.

    Returns
    -------
    ndarray, shape (n_slots,)
    """
    info = np.array(info, dtype=float)
    info[walk.first] += 1.0 / sd0**2
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


def walk_precision(walk: Walk, walk_sd: float, sd0: float) -> sparse.csr_matrix:
    """The random-walk prior precision of member-session values, as a sparse matrix.

    Parameters
    ----------
    walk : Walk
    walk_sd, sd0 : float
        As in :func:`walk_penalty`.

    Returns
    -------
    scipy.sparse matrix, shape (n_slots, n_slots)
    """
    d = np.zeros(walk.n_slots)
    d[walk.first] += 1.0 / sd0**2
    precision = 1.0 / (walk_sd**2 * walk.gap)
    np.add.at(d, walk.prev, precision)
    np.add.at(d, walk.next, precision)
    off = sparse.csr_matrix(
        (-precision, (walk.prev, walk.next)), shape=(walk.n_slots, walk.n_slots)
    )
    return sparse.diags(d) + off + off.T
