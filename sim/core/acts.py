"""The four acts a member can take on a recorded vote, in the one order used everywhere.

Every array with an act axis (last axis, length 4) follows ``ACTS``; :func:`last_max` and
:func:`last_sum` reduce that short axis fast. Absence is an act, not a
vote: it has no policy content and principals read it as neither compliance nor defection
(MODEL.md §3).

Examples
--------
>>> ACTS.index("absent")
3
>>> VOTES
('yes', 'no', 'abstain')
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import numpy.typing as npt

Act = Literal["yes", "no", "abstain", "absent"]
ACTS: Final[tuple[Act, Act, Act, Act]] = ("yes", "no", "abstain", "absent")
YES, NO, ABSTAIN, ABSENT = 0, 1, 2, 3
VOTES: Final[tuple[Act, Act, Act]] = ("yes", "no", "abstain")
#: An act that is a vote cast (absence is not).
Vote = Literal["yes", "no", "abstain"]

#: Voeten's issue codes of roll calls (``issues.csv.gz:short_name``): Middle East, nuclear,
#: disarmament, human rights, colonialism, economic development. The one place they are spelled out.
ISSUE_CODES: Final[tuple[str, ...]] = ("me", "nu", "di", "hr", "co", "ec")
#: An issue dimension of a fit: every roll call (``"all"``) or those of one issue code.
DIMENSIONS: Final[tuple[str, ...]] = ("all", *ISSUE_CODES)
Dimension = Literal["all", "me", "nu", "di", "hr", "co", "ec"]

#: Position of each act on the latent policy order yes > abstain > no (absent has none).
LATENT_ORDER: Final[dict[str, int]] = {"no": 0, "abstain": 1, "yes": 2}

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


def last_max(x: FloatArray) -> FloatArray:
    """``x.max(axis=-1)`` for a short last axis (the acts), as elementwise maxima.

    numpy reduces a length-3 or 4 last axis about eight times slower than it compares whole
    slices; the result is the same.

    Examples
    --------
    >>> last_max(np.array([[1.0, 3.0, 2.0], [0.0, -1.0, -2.0]]))
    array([3., 0.])
    """
    out = np.maximum(x[..., 0], x[..., 1])
    for k in range(2, x.shape[-1]):
        out = np.maximum(out, x[..., k])
    return out


def last_sum(x: FloatArray) -> FloatArray:
    """``x.sum(axis=-1)`` for a short last axis, as elementwise sums in the same order
    (numpy adds fewer than eight terms left to right), so the result is identical, faster.

    Examples
    --------
    >>> last_sum(np.array([[0.1, 0.2, 0.3, 0.4]])) == np.array([[0.1, 0.2, 0.3, 0.4]]).sum(-1)
    array([ True])
    """
    out = x[..., 0] + x[..., 1]
    for k in range(2, x.shape[-1]):
        out += x[..., k]
    return out
