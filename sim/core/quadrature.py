"""Gauss-Hermite nodes for expectations over a standard normal (the one place they are made).

Examples
--------
>>> z, w = normal_nodes(5)
>>> round(float(w.sum()), 12), round(float(w @ z**2), 12)     # E[1] = 1, E[z^2] = 1
(1.0, 1.0)
"""

from __future__ import annotations

from functools import cache

import numpy as np

from sim.core.acts import FloatArray

__all__ = ["normal_nodes"]


@cache
def _nodes(n: int) -> tuple[FloatArray, FloatArray]:
    z, w = np.polynomial.hermite_e.hermegauss(n)  # weight exp(-z^2 / 2)
    z.flags.writeable = False
    w = w / w.sum()
    w.flags.writeable = False
    return z, w


def normal_nodes(n: int) -> tuple[FloatArray, FloatArray]:
    """Nodes `z` and weights `w` (summing to 1) with ``E[f(Z)] ~ sum(w * f(z))``, Z ~ N(0, 1)."""
    return _nodes(int(n))
