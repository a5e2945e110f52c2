"""The in-process executor, and what every executor shares: timing a unit and naming
where it ran (device, BLAS kernel, BLAS threads), which a results file records per unit.

Every executor has ``map(function, config, units)`` yielding ``(unit, arrays, record)`` as
units finish, in any order, and ``close()``; ``record`` is what the results file keeps of
the run (``timed``). The determinism contract: the
same config, seeds, BLAS thread count and CPU kind (BLAS kernel) give the same bits, so
each unit runs under an explicit thread count and its placement names it.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator

from threadpoolctl import threadpool_limits

from ..backend import get_backend
from ..blas import blas_kernel, blas_threads, cpu_name, measured


def placement(config: dict) -> str:
    """Where a unit ran, as its results record it: ``cpu; OpenBLAS 0.3.31 SkylakeX; 1 BLAS thread``."""
    threads = blas_threads()
    return f"{get_backend(config.get('device', 'auto')).name}; {blas_kernel()}; {threads} BLAS thread{'s' * (threads != 1)}"


def timed(function: Callable, config: dict, unit, threads: int):
    """``(unit, arrays, record)``: one unit under ``threads`` BLAS threads. ``record``: wall
    ``seconds``; ``cpu_seconds``, this process's CPU time (all its threads, no other
    process's: on a busy machine seconds ≫ cpu_seconds / threads; a Dask worker running
    several units at once in threads counts them all); ``device`` (``placement``), ``cpu``
    (``cpu_name``), and ``blas``, ``blas_threads``: the BLAS build and thread count read from
    the loaded library at the unit's end (`minifa.blas.measured`), not the ones asked for."""
    with threadpool_limits(limits=threads, user_api="blas"):
        start, cpu_start = time.perf_counter(), time.process_time()
        arrays = function(config, unit)
        record = {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu_start,
                  "device": placement(config), "cpu": cpu_name(), **measured()}
        return unit, arrays, record


class LocalExecutor:
    """Units one after another in this process, each under ``blas_threads`` BLAS threads
    (default: this process's count when ``map`` starts, pinned for the whole sweep)."""

    name = "local"
    blas_threads: int | None = None  # also for subclasses that skip __init__

    def __init__(self, blas_threads: int | None = None):
        self.blas_threads = blas_threads

    def describe(self) -> str:
        threads = f", {self.blas_threads} BLAS thread(s)" if self.blas_threads else ""
        return f"local: units run one after another in this process{threads}"

    def map(self, function: Callable, config: dict, units: Iterable) -> Iterator:
        threads = self.blas_threads or blas_threads() or 1
        for unit in units:
            yield timed(function, config, unit, threads)

    def close(self) -> None:
        pass
