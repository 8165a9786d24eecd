"""Progress of long fits: a live line on a terminal, nothing elsewhere.

The penalised-likelihood fits (:mod:`sim.estimate.ideal_points`, :mod:`sim.estimate.dynamic`) run
scipy's L-BFGS-B
for hundreds of iterations (minutes for the whole 1946-2022 record). :func:`fit_progress`
gives them a scipy ``callback`` that draws a rich progress bar with the iteration count, the
objective (penalised negative log-likelihood per cell) and the elapsed time. The bar's total is
the iteration limit, so it shows the worst case, and the bar is transient: it disappears when the
fit ends, leaving the caller's own output. Off a terminal (CI logs, pipes, notebooks writing to
files) or with ``enabled=False`` nothing is drawn and the callback only counts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["fit_progress"]


@contextmanager
def fit_progress(
    label: str, enabled: bool, *, total: int | None = None
) -> Iterator[Callable[[Any], None]]:
    """A scipy ``minimize`` callback that advances a progress bar while the context is open.

    Parameters
    ----------
    label : str
        What is being fitted (shown before the bar).
    enabled : bool
        Draw only if true and standard error is a terminal.
    total : int, optional
        Iteration limit (the bar's length); unknown if None (a pulsing bar).

    Yields
    ------
    callable
        ``callback(intermediate_result)`` for :func:`scipy.optimize.minimize`.

    Examples
    --------
    >>> with fit_progress("demo", enabled=False) as callback:
    ...     callback(None)
    """
    if not enabled or not sys.stderr.isatty():
        yield lambda intermediate_result: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("iterations  objective {task.fields[objective]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total, objective="-")

        def callback(intermediate_result: Any) -> None:
            fun = getattr(intermediate_result, "fun", None)
            bar.update(task, advance=1, objective="-" if fun is None else f"{fun:.6f}")

        yield callback
