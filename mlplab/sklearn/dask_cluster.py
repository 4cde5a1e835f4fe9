"""The Dask cluster a sweep runs on: an embedded LocalCluster, or an existing scheduler.

Embedded (no address): a :class:`dask.distributed.LocalCluster` listening on 127.0.0.1 only,
one single-threaded worker process per core, each with one BLAS thread (the variables below
are set in the worker's environment before NumPy starts there): ``workers × BLAS threads``
equals the cores, so no worker's matrix products fight another's. It is shut down when the
sweep ends, also on error or Ctrl-C.

Existing (``tcp://HOST:PORT``, a cluster started with ``dask scheduler`` and ``dask worker``):
the sweep connects a client, waits (bounded) for a worker, and leaves the cluster running.
Start such workers with one thread each, or with ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``
set so that threads × BLAS threads ≤ the machine's cores (``dask worker`` sets the BLAS
variables to 1 by default).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from concurrent.futures import CancelledError
from dataclasses import dataclass

from ..errors import ConfigError
from ..extras import require

# one BLAS thread per single-threaded worker process: cores = workers, no oversubscription
LOST_DATA_RETRIES = 3  # searches run again after a dead worker took their data
BLAS_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class ClusterInfo:
    """The cluster a sweep runs on.

    Attributes
    ----------
    address : str
        The scheduler's address, ``tcp://127.0.0.1:PORT`` for an embedded cluster.
    dashboard : str or None
        The dashboard's URL when the scheduler serves one (it needs the ``bokeh`` package
        where the scheduler runs: ``pip install 'bokeh>=3.1'``).
    workers, threads : int
        Workers connected, and their threads in all (the fits that run at once).
    embedded : bool
        True when the sweep started the cluster (and stops it).
    """

    address: str
    dashboard: str | None
    workers: int
    threads: int
    embedded: bool


def machine_cores() -> int:
    """The cores this process may run on (the affinity mask, not the host's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _dashboard(client) -> str | None:
    """The dashboard's URL if it serves one: a scheduler without the ``bokeh`` package still
    listens on its port, but its page only says that bokeh is needed."""
    import urllib.request

    if "dashboard" not in client.scheduler_info().get("services", {}):
        return None
    try:
        with urllib.request.urlopen(client.dashboard_link, timeout=2) as response:
            page = response.read(4096)
    except OSError:  # refused, 404, timed out
        return None
    return None if b"needs bokeh" in page else client.dashboard_link


def _info(client, embedded: bool) -> ClusterInfo:
    info = client.scheduler_info()
    workers = info.get("workers", {})
    return ClusterInfo(info["address"], _dashboard(client), len(workers),
                       sum(w.get("nthreads", 1) for w in workers.values()), embedded)


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, n_workers: int | None = None,
                timeout: float = 60.0):
    """A Dask client on a cluster, and the cluster's :class:`ClusterInfo`.

    Parameters
    ----------
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a running scheduler; None starts an embedded LocalCluster.
    n_workers : int, optional
        Workers of the embedded cluster (default: one per core). Not with ``scheduler``.
    timeout : float
        Seconds to wait for the scheduler and a first worker.
    """
    distributed = require("dask.distributed", "dask")
    if scheduler is not None and n_workers is not None:
        raise ConfigError("n_jobs sizes the embedded cluster; with a scheduler address the "
                          "cluster's own workers run the sweep: leave n_jobs out")
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            n = n_workers or machine_cores()
            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address="127.0.0.1:0", env=dict(BLAS_ENV),
                silence_logs=logging.ERROR))
            address = cluster.scheduler_address
        else:
            if not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
                raise ConfigError(f"scheduler address {scheduler!r} must look like "
                                  "tcp://HOST:PORT (as 'dask scheduler' prints it)")
            address = scheduler
        try:
            client = stack.enter_context(distributed.Client(
                address, timeout=timeout, set_as_default=False))
            client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"no Dask cluster answered at {address} within {timeout:g} s "
                              f"({type(exc).__name__}); start 'dask scheduler' and 'dask "
                              "worker', or leave the address out for an embedded cluster") from None
        yield client, _info(client, embedded=scheduler is None)


def fit_on_dask(search, X, y, client, timeout: float):
    """``search.fit(X, y)`` on the cluster of ``client``, X and y sent there once.

    The scheduler reruns the fits of a worker that dies. But the data a fit needs may have
    lived on that worker only (joblib scatters each call's fold indices to one worker): the
    fits needing it are cancelled. Then the search runs again with its data scattered anew
    to the workers alive; the same seeds give the same results.
    """
    from joblib import parallel_config

    for attempt in range(LOST_DATA_RETRIES):
        try:
            with parallel_config(backend="dask", client=client,
                                 wait_for_workers_timeout=timeout) as config:
                _scatter_once(config["backend"], client, X, y, timeout)
                return search.fit(X, y)
        except CancelledError:
            if attempt == LOST_DATA_RETRIES - 1:
                raise
            time.sleep(1.0)  # the scheduler notices the dead worker first


def _scatter_once(backend, client, X, y, timeout: float) -> None:
    """Send X and y to the cluster once, and have joblib's Dask backend refer every fit's task
    to them. joblib's own ``scatter=`` broadcasts them (``Client.scatter(broadcast=True)``),
    whose replication between workers hung for good in our tests on a loaded 2-core machine
    (a known Dask issue: dask/distributed#4907). Here they go to one worker, within
    ``timeout``; each other worker fetches them from there when its first fit needs them, by
    Dask's ordinary dependency transfer. Sets the two attributes joblib's backend keeps its
    scattered data in (joblib 1.3–1.6), checked."""
    if not (hasattr(backend, "data_futures") and hasattr(backend, "_scatter")):
        raise ConfigError("this joblib's Dask backend keeps no data_futures (mlplab's sweep was "
                          "tested with joblib 1.3 to 1.6): pip install 'joblib<1.7'")
    holder = next(iter(client.scheduler_info()["workers"]))  # both on one worker
    futures = client.scatter([X, y], workers=[holder], hash=False, timeout=timeout)
    backend._scatter = [X, y]  # keeps the objects alive, so their ids stay theirs
    backend.data_futures = {id(X): futures[0], id(y): futures[1]}
