"""NumPy's BLAS thread count: set once at import, changeable, fair among processes.

At import ``MINIFA_BLAS_THREADS`` (a count, or ``auto``) wins; else the user's
``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` are left alone; else
the cores this process may use (``usable_cores``).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import math
import os
import platform
import tempfile
import threading
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import BackendError

# The default is deterministic: OpenBLAS's sgemm rounds differently with 1 and 2 threads,
# so a run's bits (and a bit-exact --resume) depend on the count, which must not depend
# on what else the machine is doing. OpenBLAS threads busy-wait, and two processes that
# each run one per core on the same cores run several times slower than either alone: for
# several processes, give each ``MINIFA_BLAS_THREADS = cores // processes``, or ``auto``:
# this process's share of the cores among the live minifa processes (each leaves its pid
# in a per-user registry directory), re-taken at every epoch start; bits then vary with load.

_REGISTRY = os.path.join(tempfile.gettempdir(), f"minifa-blas-{os.getuid() if hasattr(os, 'getuid') else 0}")
_STATE = {"auto": False, "threads": None}


def usable_cores() -> int:
    """CPU affinity capped by a cgroup CPU quota (OpenBLAS itself counts every online core,
    so under ``taskset`` or in a container it oversubscribes): the default thread count."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    with contextlib.suppress(OSError, ValueError):
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()[:2]
        if quota != "max":
            cores = min(cores, math.ceil(int(quota) / int(period)))
    return max(1, cores)


def _live_processes() -> int:
    """Registered minifa processes still running (stale entries are removed), at least 1."""
    live = 0
    for name in os.listdir(_REGISTRY) if os.path.isdir(_REGISTRY) else []:
        try:
            os.kill(int(name), 0)
            live += 1
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(_REGISTRY, name))
        except (ValueError, OSError):  # not a pid, or a process we may not signal
            continue
    return max(1, live)


def _register() -> None:
    path = os.path.join(_REGISTRY, str(os.getpid()))
    with contextlib.suppress(OSError):
        os.makedirs(_REGISTRY, exist_ok=True)
        open(path, "w").close()
        atexit.register(lambda: os.path.exists(path) and os.remove(path))


def fair_share() -> int:
    """This process's share of the usable cores among the live minifa processes."""
    return max(1, usable_cores() // _live_processes())


def blas_threads() -> int | None:
    """NumPy's BLAS thread count now (None if no BLAS is detected)."""
    return measured()["blas_threads"] or None


def blas_libraries(numpy_only: bool = False) -> list[dict]:
    """threadpoolctl's BLAS entries, NumPy's own (the ones inside NumPy's directory) first,
    or only those."""
    from threadpoolctl import threadpool_info

    libs = [lib for lib in threadpool_info() if lib.get("user_api") == "blas"]
    own = [lib for lib in libs if _inside_numpy(lib["filepath"])]
    return own if numpy_only else own + [lib for lib in libs if lib not in own]


@lru_cache(maxsize=None)
def _thread_counter():
    paths = [lib["filepath"] for lib in blas_libraries(numpy_only=True)]
    lib = ctypes.CDLL(paths[0]) if paths else None
    names = ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_", "openblas_get_num_threads")
    f = next(filter(None, (getattr(lib, n, None) for n in names if lib is not None)), None)
    if f is not None:
        f.argtypes, f.restype = [], ctypes.c_int
    return f


@lru_cache(maxsize=None)
def worker_pool(workers: int):
    """A pool of ``workers`` threads kept alive between calls, for host work that NumPy runs
    without the GIL (raw draws, ufuncs): `streams.normal`, `fastpaths` ``blockwise``."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(workers, thread_name_prefix="minifa-worker")


os.register_at_fork(after_in_child=worker_pool.cache_clear)  # a forked child has none of the pool's threads


def blas_thread_count() -> int:
    """NumPy's OpenBLAS thread count now, by one C call (threadpoolctl's reading of it costs
    about a millisecond); 1 where it cannot be read."""
    f = _thread_counter()
    return max(1, int(f())) if f is not None else 1


def _inside_numpy(filepath: str) -> bool:
    """Whether a loaded library lies in NumPy's site directory, by real paths: the loader
    reports ``filepath`` with symlinks resolved, ``np.__file__`` keeps the path Python was
    reached by (a symlinked venv or home), and a mismatch silently turned off the fast paths."""
    home = os.path.realpath(os.path.dirname(os.path.dirname(np.__file__)))
    return os.path.realpath(filepath).startswith(home + os.sep)


def blas_kernel() -> str:
    """NumPy's BLAS and the kernel it picked for this CPU, e.g. ``OpenBLAS 0.3.31 SkylakeX``
    (``OPENBLAS_CORETYPE`` overrides the pick); its bits differ between kernels."""
    return measured()["blas"]


def measured() -> dict:
    """NumPy's BLAS as loaded now, read from the library (threadpoolctl), not as requested:
    ``{"blas": build and kernel (`blas_kernel`), "blas_threads": its thread count}``; the two
    a run's bits depend on, which checkpoints and results units record."""
    libs = blas_libraries(numpy_only=True) or blas_libraries()
    if not libs:
        return {"blas": "no BLAS found", "blas_threads": 0}
    lib = libs[0]
    name = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS"}.get(lib.get("internal_api"), lib.get("internal_api"))
    build = " ".join(str(part) for part in (name, lib.get("version"), lib.get("architecture")) if part)
    return {"blas": build, "blas_threads": int(lib["num_threads"])}


def cpu_name() -> str:
    """The CPU, as a results unit records it beside the BLAS kernel: ``/proc/cpuinfo``'s model
    name, family and model (virtual machines often show only "Intel(R) Xeon(R) Processor")
    and the usable cores, e.g. ``Intel(R) Xeon(R) Processor (family 6 model 207), 2 cores``."""
    fields = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().split("\n\n")[0].splitlines():
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    name = fields.get("model name") or platform.processor() or platform.machine() or "unknown CPU"
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']} model {fields['model']})"
    cores = usable_cores()
    return f"{name}, {cores} core{'s' * (cores != 1)}"


def set_blas_threads(n: int | str | None = None) -> int:
    """Set every loaded BLAS to ``n`` threads: a count, ``None`` for ``usable_cores()`` or
    ``"auto"`` for the fair share (re-taken at epoch starts). Returns the count set."""
    from threadpoolctl import threadpool_limits

    count = usable_cores() if n is None else fair_share() if n == "auto" else int(n)
    if count < 1:
        raise BackendError(f"BLAS threads must be at least 1, not {count}")
    threadpool_limits(limits=count, user_api="blas")
    _STATE.update(auto=n == "auto", threads=count)
    return count


def rebalance_blas_threads() -> None:
    """In ``auto`` mode, re-take this process's share (processes start and end); not in a
    multi-threaded process (the count must not change under another thread's BLAS call),
    nor once someone else set the count (e.g. a ``threadpool_limits`` block)."""
    if not _STATE["auto"] or threading.active_count() > 1 or fair_share() == _STATE["threads"]:
        return
    if blas_threads() == _STATE["threads"]:
        set_blas_threads("auto")


def _configure_blas_threads() -> None:
    """At import: ``MINIFA_BLAS_THREADS`` (a count, or ``auto``) wins; else the user's
    ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` are left alone; else
    ``usable_cores()``."""
    wanted = os.environ.get("MINIFA_BLAS_THREADS", "").strip().lower()
    if wanted and wanted != "auto" and not (wanted.isdigit() and int(wanted) > 0):
        warnings.warn(f"MINIFA_BLAS_THREADS={wanted!r} ignored: give a positive whole number of threads or auto")
        wanted = ""
    if wanted:
        set_blas_threads(wanted if wanted == "auto" else int(wanted))
    elif not any(os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")):
        set_blas_threads(None)


_register()
_configure_blas_threads()
