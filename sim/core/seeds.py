"""Seeds: the default root seed and one random stream per named quantity.

Every uncertain quantity of a replay draws from its own stream, spawned from the root seed with
a key derived from the quantity's name (numpy's ``SeedSequence`` spawning, not ``seed + k``), so
a new parameter or a new event shifts no other's draws, and the same seed gives the same bytes.

Examples
--------
>>> a = named_stream(1, "support_value").standard_normal(2)
>>> b = named_stream(1, "support_value").standard_normal(2)
>>> bool((a == b).all()), bool((a != named_stream(1, "evasion").standard_normal(2)).all())
(True, True)
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["DEFAULT_SEED", "named_stream"]

#: The root seed when none is given: the date of the ICJ vote (30 Dec 2022).
DEFAULT_SEED = 20221230


def named_stream(seed: int, key: str) -> np.random.Generator:
    """A generator for one named quantity: draws of one parameter never shift another's.

    Parameters
    ----------
    seed : int
        The run's root seed.
    key : str
        The quantity's name (``"support_value"``, ``"event.netanyahu_call.tie"``).

    Returns
    -------
    numpy.random.Generator
    """
    word = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(word,)))
