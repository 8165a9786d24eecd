"""One BLAS thread wherever a result is computed, so that it does not depend on the machine.

A threaded BLAS (OpenBLAS, MKL) splits a matrix product or a factorisation across as many
threads as the machine has cores, and the order in which the partial sums are added changes the
last bits of the result. Through an optimiser's stopping rule such bits become visible: on a
two-year window the static ideal-point fit's start values moved with the thread count and the
strategic-absence ``gamma`` came out -5.155 on one thread and -5.151 on two, so the same
validation scored 0.38344 or 0.38381 depending on whether the process had inherited
``OMP_NUM_THREADS=1`` (a dask worker, a test run after the cluster tests) or not.

Every entry point that computes numbers a file or a test keeps (the window fit, the deal, the
validation's year, the replay, the command line) runs under :func:`one_blas_thread`. It costs
nothing measurable: the products are of vectors and small matrices, where a thread pool's
wake-ups cost more than the arithmetic (``sim.estimate.ideal_points.minimise_lbfgs``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from threadpoolctl import threadpool_limits

__all__ = ["one_blas_thread", "single_blas_thread"]


def one_blas_thread() -> Any:
    """A context in which the BLAS libraries numpy and scipy loaded run on one thread."""
    return threadpool_limits(limits=1, user_api="blas")


def single_blas_thread[**P, R](func: Callable[P, R]) -> Callable[P, R]:
    """`func` run under :func:`one_blas_thread` (a decorator)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with one_blas_thread():
            return func(*args, **kwargs)

    return wrapper
