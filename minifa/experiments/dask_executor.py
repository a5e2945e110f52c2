"""Work units on a Dask distributed cluster (the optional ``cluster`` extra).

The driver submits one task per unit, ``run_on_worker(run_unit, config, unit)``; a worker
returns the unit's arrays and the driver, the single writer, stores them as they complete
(``distributed.as_completed``), so the runner's progress bar and resumption work unchanged.

- Faults: a worker that dies in the middle of a unit loses only that attempt; the scheduler
  runs the task again on another worker (up to ``distributed.scheduler.allowed-failures``
  times, then ``ClusterError``). Each unit key is yielded at most once, so a duplicate
  completion can never become a duplicate member. A killed driver loses nothing written:
  the scheduler drops the tasks of a client that went away and a rerun skips finished units.
- Environments: on connecting, every worker must import the driver's minifa version
  (``check_workers``; each task checks again, for workers that join later), and a
  scheduler that cannot unpickle our tasks is named; all are one-line ``ClusterError``s.
- Threads: every task runs with ``blas_threads`` BLAS threads (threadpoolctl, default 1);
  ``local:N`` also starts its workers with OMP/OPENBLAS/MKL/MINIFA_BLAS_THREADS set to it,
  one single-threaded worker process per requested core.
- Same numbers: a unit is a pure function of (config, unit) and of the BLAS it runs on:
  OpenBLAS's GEMM results depend on its thread count in the last bits. With equal BLAS
  thread counts on the same CPU kind, a sweep on N workers equals the in-process one bit
  for bit (``reproduce --blas-threads 1`` without a scheduler is the exact local twin).
"""

from __future__ import annotations

import json
import logging
import socket
import uuid
from concurrent.futures import CancelledError
from typing import Callable, Iterable, Iterator

from .. import __version__
from ..errors import ClusterError, reason
from .local import timed

CLUSTER_EXTRA = "pip install 'minifa[cluster]'"
SCHEDULER_FORMS = "local, local:N, tcp://HOST:PORT or a scheduler file (*.json)"

# Dask is imported inside functions only: ``minifa.experiments`` imports every module of its
# package to find the experiments, and must work without the optional ``cluster`` extra.


def import_distributed():
    """``(dask, distributed)``, or a ``ClusterError`` naming the extra to install."""
    try:
        import dask
        import distributed
    except ImportError as err:
        raise ClusterError(f"--scheduler needs Dask distributed ({err.name or err} is missing): "
                           f"{CLUSTER_EXTRA}") from None
    return dask, distributed

BLAS_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "MINIFA_BLAS_THREADS")


def run_on_worker(function: Callable, config: dict, unit, blas_threads: int, version: str):
    """The Dask task: one unit under a BLAS thread limit; ``(unit, arrays, record)``.
    Refuses to run under another minifa version than the driver's (other code, other numbers)."""
    if __version__ != version:
        raise ClusterError(f"a Dask worker runs minifa {__version__} but the driver {version}: "
                           "install the same minifa on every worker")
    return timed(function, config, unit, blas_threads)


def start_local_cluster(workers: int, blas_threads: int):
    """``workers`` single-threaded worker processes on 127.0.0.1, no dashboard; only errors
    are logged (a worker restarted after a crash, or stopped on Ctrl-C, is routine here)."""
    dask, distributed = import_distributed()
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}),
               **{name: str(blas_threads) for name in BLAS_VARIABLES}}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)


def scheduler_address(scheduler: str) -> str:
    """``scheduler`` itself, or the address in the scheduler file ``scheduler`` (*.json, as
    written by ``dask scheduler --scheduler-file``)."""
    if not scheduler.endswith(".json"):
        return scheduler
    try:
        with open(scheduler) as handle:
            return str(json.load(handle)["address"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        why = err.strerror if isinstance(err, OSError) else f"no scheduler address in it ({err})"
        raise ClusterError(f"cannot read the Dask scheduler file {scheduler}: {why}") from None


def refused(address: str, timeout: float) -> bool:
    """Whether a ``tcp://HOST:PORT`` address refuses a TCP connection (no process listens
    there): known at once, where ``distributed.Client`` would retry for the whole timeout."""
    scheme, sep, rest = address.rpartition("://")
    host, _, port = rest.rpartition(":")
    if (sep and scheme != "tcp") or not port.isdigit():
        return False
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout).close()
    except ConnectionRefusedError:
        return True
    except OSError:  # unreachable, unresolvable or slow: distributed's own error says which
        return False
    return False


def connect(scheduler: str, timeout: float):
    """A ``distributed.Client`` of the scheduler at ``scheduler`` (an address or a scheduler file)."""
    _, distributed = import_distributed()
    address = scheduler_address(scheduler)
    try:
        if refused(address, timeout):
            raise OSError(f"connection refused (nothing listens on {address})")
        return distributed.Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as err:
        why = reason(err)
        if isinstance(err, TimeoutError) or why.startswith("Timed out"):
            why = f"no answer within {timeout:g} s"
        where = address if address == scheduler else f"{address} (from {scheduler})"
        raise ClusterError(f"cannot reach the Dask scheduler at {where}: {why}; is `dask scheduler` "
                           f"running there? (--scheduler takes {SCHEDULER_FORMS})") from None


# Evaluated on every worker by ``check_workers``: builtins only, so that a worker without
# minifa can still unpickle the call and answer (a task of ours would hang it instead).
WORKER_VERSION = "__import__('minifa').__version__"


def check_workers(client, version: str = __version__) -> None:
    """A ``ClusterError`` unless every worker now connected imports minifa ``version``."""
    answers = client.run(eval, WORKER_VERSION, on_error="return")
    for worker, answer in sorted(answers.items()):
        if answer != version:
            found = f"minifa {answer}" if isinstance(answer, str) else f"no minifa ({type(answer).__name__}: {answer})"
            raise ClusterError(f"Dask worker {worker} has {found}, the driver minifa {version}: "
                               f"install the same minifa on every worker")


class DaskExecutor:
    """Runs units on ``local:N`` (a new ``LocalCluster``) or an existing scheduler."""

    name = "dask"

    def __init__(self, scheduler: str, blas_threads: int = 1, connect_timeout: float = 5.0):
        self.scheduler, self.blas_threads, self.cluster = scheduler, blas_threads, None
        _, distributed = import_distributed()
        if scheduler.startswith("local:"):
            count = scheduler.partition(":")[2]
            if not count.isdigit() or int(count) < 1:
                raise ClusterError(f"--scheduler {scheduler!r}: local:N needs a worker count N ≥ 1")
            try:
                self.cluster = start_local_cluster(int(count), blas_threads)
                self.client = distributed.Client(self.cluster, timeout=connect_timeout)
            except (OSError, TimeoutError) as err:
                self.close()
                raise ClusterError(f"could not start a local Dask cluster of {count} workers: "
                                   f"{reason(err)}") from None
        else:
            self.client = connect(scheduler, connect_timeout)
            try:
                check_workers(self.client)  # workers that join later are checked by each task
            except ClusterError:
                self.close()
                raise

    def describe(self) -> str:
        """One line: where units run and how many workers are there now."""
        workers = self.client.nthreads()  # {worker address: threads}
        threads = sum(workers.values())
        where = f"local cluster at {self.client.scheduler.address}" if self.cluster else self.scheduler
        waiting = "; units wait until workers join" if not workers else ""
        return (f"dask: {where}, {len(workers)} workers / {threads} threads, "
                f"{self.blas_threads} BLAS thread(s) per task{waiting}")

    def map(self, function: Callable, config: dict, units: Iterable) -> Iterator:
        _, distributed = import_distributed()
        units = list(units)
        if not units:
            return
        token, prefix = uuid.uuid4().hex[:8], getattr(function, "__module__", "unit").rsplit(".", 1)[-1]
        futures = {self.client.submit(run_on_worker, function, config, unit, self.blas_threads, __version__,
                                      key=f"{prefix}-{unit.key}-{token}"): unit for unit in units}
        pending, seen = set(futures), set()
        try:
            for future in distributed.as_completed(list(futures)):
                pending.discard(future)
                try:
                    result = future.result()
                except distributed.KilledWorker:
                    raise ClusterError(f"unit {futures[future].key} killed the workers that ran it (out of "
                                       f"memory? see the worker logs); rerun to resume from what was written") from None
                except CancelledError:  # the scheduler went away (or someone cancelled our tasks)
                    raise ClusterError(f"lost the Dask scheduler at {self.scheduler} with {len(pending) + 1} of "
                                       f"{len(units)} units unfinished; rerun to resume from what was written") from None
                except ImportError as err:  # the task could not even be unpickled there
                    raise ClusterError(f"a Dask worker cannot import {err.name or err}: install minifa (the "
                                       f"driver's version, {__version__}) on every worker") from None
                except RuntimeError as err:
                    if "deserializ" not in str(err):
                        raise
                    raise ClusterError(f"the Dask scheduler at {self.scheduler} cannot unpickle minifa's tasks: "
                                       f"install minifa {__version__} in its environment too") from None
                future.release()
                if result[0].key in seen:  # never write a unit twice, whatever the cluster reports
                    continue
                seen.add(result[0].key)
                yield result
        finally:
            if pending:  # interrupted or failed: do not leave our tasks on a shared cluster
                self.client.cancel(list(pending))

    def close(self) -> None:
        client, cluster = getattr(self, "client", None), self.cluster
        self.client = self.cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
