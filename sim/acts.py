"""The four acts a member can take on a recorded vote, in the one order used everywhere.

Every array with an act axis (last axis, length 4) follows ``ACTS``. Absence is an act, not a
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

#: Position of each act on the latent policy order yes > abstain > no (absent has none).
LATENT_ORDER: Final[dict[str, int]] = {"no": 0, "abstain": 1, "yes": 2}

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
