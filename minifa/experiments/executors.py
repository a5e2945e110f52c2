"""Executors run work units and hand back their results; only the driver writes files.

Every executor has ``map(function, config, units)`` yielding ``(unit, arrays, seconds)``
as units finish, in any order (an executor may add a fourth item, the device name the unit
ran on, when that is not the driver's), and ``close()``.

- ``LocalExecutor`` runs units one after another in this process (the default).
- ``DaskExecutor`` (``minifa.experiments.dask_executor``, the optional ``cluster`` extra)
  runs them on a Dask distributed cluster: ``--scheduler local:N`` starts N worker
  processes on this machine, ``--scheduler tcp://HOST:PORT`` joins a running scheduler.

``make_executor(scheduler)`` turns the ``--scheduler`` text into one of them; Dask is
imported only when a scheduler is named.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator

from ..errors import MinifaError

CLUSTER_EXTRA = "pip install 'minifa[cluster]'"
SCHEDULER_FORMS = "local, local:N, tcp://HOST:PORT or a scheduler file (*.json)"


class ClusterError(MinifaError):
    """A cluster that cannot be used: Dask missing, a bad or unreachable scheduler address,
    a unit that keeps killing its workers."""


def timed(function: Callable, config: dict, unit):
    start = time.perf_counter()
    arrays = function(config, unit)
    return unit, arrays, time.perf_counter() - start


class LocalExecutor:
    """Units one after another in this process, with the BLAS's own thread count or
    ``blas_threads`` (the same count as a cluster's gives the same bits on the same CPU)."""

    name = "local"
    blas_threads: int | None = None  # also for subclasses that skip __init__

    def __init__(self, blas_threads: int | None = None):
        self.blas_threads = blas_threads

    def describe(self) -> str:
        threads = f", {self.blas_threads} BLAS thread(s)" if self.blas_threads else ""
        return f"local: units run one after another in this process{threads}"

    def map(self, function: Callable, config: dict, units: Iterable) -> Iterator:
        for unit in units:
            if self.blas_threads is None:
                yield timed(function, config, unit)
                continue
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=self.blas_threads, user_api="blas"):
                result = timed(function, config, unit)
            yield result

    def close(self) -> None:
        pass


def make_executor(scheduler: str | None = None, blas_threads: int | None = None, connect_timeout: float = 5.0):
    """The executor for ``--scheduler``: absent or ``local`` → ``LocalExecutor``;
    ``local:N`` → a Dask ``LocalCluster`` of N single-threaded worker processes on
    127.0.0.1; ``tcp://HOST:PORT`` (any Dask protocol) or ``PATH.json`` (a scheduler file)
    → a client of that running scheduler. ``blas_threads``: the BLAS threads each unit runs
    with (Dask default 1; local default: the BLAS's own choice, all cores);
    ``connect_timeout`` bounds the wait for a scheduler (seconds)."""
    if blas_threads is not None and blas_threads < 1:
        raise ClusterError(f"BLAS threads per unit must be at least 1, not {blas_threads}")
    if scheduler is None or scheduler.strip() in ("", "local"):
        return LocalExecutor(blas_threads)
    scheduler = scheduler.strip()
    if not (scheduler.startswith("local:") or "://" in scheduler or scheduler.endswith(".json")):
        raise ClusterError(f"--scheduler {scheduler!r}: use {SCHEDULER_FORMS}")
    from .dask_executor import DaskExecutor  # imports Dask itself, or names the extra to install

    return DaskExecutor(scheduler, blas_threads=blas_threads or 1, connect_timeout=connect_timeout)
