"""Numerical second derivatives, for standard errors where no analytic Hessian is written.

Examples
--------
>>> hessian(lambda t: t[0] ** 2 + 3 * t[0] * t[1], np.array([1.0, 2.0]), step=1e-3).round(6)
array([[2., 3.],
       [3., 0.]])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.core.acts import FloatArray

__all__ = ["hessian"]


def hessian(f: Callable[[FloatArray], float], theta: FloatArray, *, step: float) -> FloatArray:
    """Central finite-difference Hessian of `f` at `theta` (``4 k (k + 1) / 2`` evaluations).

    Parameters
    ----------
    f : callable
        A smooth scalar function of a 1-d array.
    theta : ndarray, shape (k,)
    step : float
        Step in each coordinate; the error is of order ``step**2``.

    Returns
    -------
    ndarray, shape (k, k)
        Symmetric.
    """
    theta = np.asarray(theta, dtype=float)
    k = len(theta)
    out = np.empty((k, k))
    unit = np.eye(k) * step
    for i in range(k):
        for j in range(i, k):
            ei, ej = unit[i], unit[j]
            out[i, j] = out[j, i] = (
                f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)
            ) / (4 * step * step)
    return out
