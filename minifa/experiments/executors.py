"""``make_executor(scheduler)``: the ``--scheduler`` text turned into an executor.

- ``LocalExecutor`` (``minifa.experiments.local``) runs units one after another in this
  process (the default).
- ``DaskExecutor`` (``minifa.experiments.dask_executor``, the optional ``cluster`` extra)
  runs them on a Dask distributed cluster: ``--scheduler local:N`` starts N worker
  processes on this machine, ``--scheduler tcp://HOST:PORT`` joins a running scheduler.

This module sits above both (neither imports it); Dask is imported only when a scheduler
is named.
"""

from __future__ import annotations

from ..errors import ClusterError
from .dask_executor import SCHEDULER_FORMS, DaskExecutor
from .local import LocalExecutor


def make_executor(scheduler: str | None = None, blas_threads: int | None = None, connect_timeout: float = 5.0):
    """The executor for ``--scheduler``: absent or ``local`` → ``LocalExecutor``;
    ``local:N`` → a Dask ``LocalCluster`` of N single-threaded worker processes on
    127.0.0.1; ``tcp://HOST:PORT`` (any Dask protocol) or ``PATH.json`` (a scheduler file)
    → a client of that running scheduler. ``blas_threads``: the BLAS threads each unit runs
    with (Dask default 1; local default: this process's count when the sweep starts);
    ``connect_timeout`` bounds the wait for a scheduler (seconds)."""
    if blas_threads is not None and blas_threads < 1:
        raise ClusterError(f"BLAS threads per unit must be at least 1, not {blas_threads}")
    if scheduler is None or scheduler.strip() in ("", "local"):
        return LocalExecutor(blas_threads)
    scheduler = scheduler.strip()
    if not (scheduler.startswith("local:") or "://" in scheduler or scheduler.endswith(".json")):
        raise ClusterError(f"--scheduler {scheduler!r}: use {SCHEDULER_FORMS}")
    return DaskExecutor(scheduler, blas_threads=blas_threads or 1, connect_timeout=connect_timeout)


__all__ = ["ClusterError", "DaskExecutor", "LocalExecutor", "make_executor"]
