"""Where a sweep's points run: this process, a process pool, or a dask.distributed cluster.

A sweep maps its points over any ``concurrent.futures``-style executor. :func:`open_executor`
opens the one the command line asks for and checks that it works before a sweep writes anything:

- one worker and no scheduler: none (the points run here, one after the other);
- ``workers > 1``: a :class:`~concurrent.futures.ProcessPoolExecutor` (no extra dependency);
- ``scheduler="local"``: a local dask cluster of `workers` worker processes on loopback, one
  thread each, started for the sweep and closed after it;
- ``scheduler="tcp://host:port"``: an existing dask cluster (``dask-scheduler`` and
  ``dask-worker``), reached within :data:`CONNECT_TIMEOUT` seconds or refused.

The dask paths need the ``cluster`` extra (``pip install 'sim[cluster]'``). Workers of a remote
cluster need ``sim`` installed and the calibration bundles the sweep reads (the committed ones,
or a ``--calibration`` folder they can read); they return each point's record and the client
writes the files, so they need no access to the sweep's folder. Start them without a nanny
(``dask worker ADDRESS --no-nanny --nthreads 1``) or without the nanny's
``MALLOC_TRIM_THRESHOLD_`` (:data:`WORKER_ENVIRON`): with it a replay runs 1.5-2 times slower.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from sim.io.errors import ScenarioError

__all__ = ["CONNECT_TIMEOUT", "WORKER_ENVIRON", "local_cluster", "open_executor"]

#: Seconds to wait for a dask scheduler to answer before refusing the sweep.
CONNECT_TIMEOUT = 10

#: The environment dask's nannies give worker processes, for a local cluster: one BLAS thread,
#: as dask's default, but without its ``MALLOC_TRIM_THRESHOLD_=65536``, which fixes glibc's
#: mmap threshold at 128 KiB so that every large numpy temporary is mapped and unmapped again:
#: a replay ran 1.5-2 times slower in such a worker than in a plain process.
WORKER_ENVIRON = {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1}


def local_cluster(workers: int) -> Any:
    """Start a dask ``LocalCluster`` of `workers` processes on 127.0.0.1 for sweeps.

    One thread per worker, no dashboard, and :data:`WORKER_ENVIRON` for the workers.

    Parameters
    ----------
    workers : int
        Worker processes.

    Returns
    -------
    distributed.LocalCluster
        The running cluster (close it, or use it as a context manager).
    """
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.nanny.pre-spawn-environ": dict(WORKER_ENVIRON)}):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )


@contextmanager
def open_executor(
    workers: int, scheduler: str | None = None, *, given: Executor | None = None
) -> Iterator[Executor | None]:
    """The executor a sweep's points run on, open for the duration of the context.

    Parameters
    ----------
    workers : int
        Points at once (processes of the pool, or of a local dask cluster).
    scheduler : str, optional
        ``"local"``, or the address of a running dask scheduler.
    given : Executor, optional
        Used as it is (and left open): the caller's own executor.

    Yields
    ------
    Executor or None
        None when the points run in this process.

    Raises
    ------
    ScenarioError
        If dask is not installed or the scheduler does not answer (before anything runs).

    Examples
    --------
    >>> with open_executor(1) as pool:
    ...     pool is None
    True
    """
    if workers < 1:
        raise ScenarioError(f"sweep: workers must be at least 1; got {workers}")
    if given is not None:
        yield given
        return
    if scheduler is None:
        if workers == 1:
            yield None
            return
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield pool
        return
    try:
        from distributed import Client
    except ImportError:
        raise ScenarioError(
            "sweep: --scheduler needs dask.distributed: pip install 'sim[cluster]'"
        ) from None
    if scheduler == "local":
        cluster = local_cluster(workers)
        try:
            with Client(cluster) as client:
                yield client.get_executor(pure=False)
        finally:
            cluster.close()
        return
    _probe(scheduler)
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ScenarioError(
            f"sweep: --scheduler {scheduler}: no dask scheduler answers there ({reason})"
        ) from None
    with client:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except TimeoutError:
            raise ScenarioError(
                f"sweep: --scheduler {scheduler}: the scheduler has no workers "
                f"(none joined within {CONNECT_TIMEOUT} s)"
            ) from None
        yield client.get_executor(pure=False)


def _probe(address: str) -> None:
    """Refuse at once a ``tcp://`` address nothing listens on.

    Checked before a client is made, whose event-loop thread would outlive the failure.
    """
    scheme, sep, rest = address.partition("://")
    if sep and scheme != "tcp":
        return  # tls://, ucx://...: the client says
    host, _, port = (rest if sep else address).rpartition(":")
    try:
        port_number = int(port)
    except ValueError:
        raise ScenarioError(
            f"sweep: --scheduler {address}: expected 'local' or an address tcp://HOST:PORT"
        ) from None
    try:
        with socket.create_connection(
            (host.strip("[]") or "127.0.0.1", port_number), CONNECT_TIMEOUT
        ):
            pass
    except OSError as exc:
        raise ScenarioError(
            f"sweep: --scheduler {address}: no dask scheduler answers there ({exc.strerror or exc})"
        ) from None
