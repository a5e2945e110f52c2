"""Array backends: the one place that chooses the array namespace `xp`.

The maths of minifa is written once against the Python array API standard and receives
`xp` from here. This is the only module that imports CuPy; everything device-specific
(host <-> device transfer, synchronisation) goes through a `Backend`.

- ``cpu``: NumPy through ``array_api_compat.numpy`` (NumPy 2 is array-API native).
- ``gpu``: CuPy through ``array_api_compat.cupy``; optional (``pip install 'minifa[gpu]'``).
- ``strict``: ``array_api_strict``, which refuses anything outside the standard and any
  silent conversion to NumPy, exactly as CuPy would; the test suite runs the engine on it.
- ``auto``: ``gpu`` when CuPy sees a device, else ``cpu``.

Fast paths live here too, behind ``ops(xp)``: the maths asks for an operation (the fused
weight update ``W ← W − η (δ xᵀ + λ W)``, flushing subnormals) and gets the NumPy version
(one BLAS ``gemm`` call with ``beta``, in-place ``copyto``) or the standard-API fallback,
which every other namespace uses. BLAS threads are set at import: ``MINIFA_BLAS_THREADS``,
else the cores this process may use (see "BLAS threads" below).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import math
import os
import tempfile
import threading
import warnings
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any

import numpy as np

from .errors import BackendError

NAMES = ("auto", "cpu", "gpu", "strict")


@dataclass(frozen=True)
class Backend:
    """An array namespace plus the few operations the standard leaves to the library."""

    name: str
    xp: ModuleType

    def dtype(self, name: str) -> Any:
        """The namespace's dtype object for ``"float32"`` or ``"float64"``."""
        if name not in ("float32", "float64"):
            raise BackendError(f"unsupported dtype {name!r}; use float32 or float64")
        return getattr(self.xp, name)

    def asarray(self, host: np.ndarray, dtype: str | None = None) -> Any:
        """Move a host NumPy array to the device (a copy), optionally casting first."""
        host = np.asarray(host)
        if dtype is not None:
            host = host.astype(dtype, copy=False)
        return self.xp.asarray(np.ascontiguousarray(host))

    def to_host(self, array: Any) -> np.ndarray:
        """Copy a device array to a new NumPy array: the single device -> host helper.

        Always a copy, never a view, so later in-place updates of the device array cannot
        change what was read (on the CPU the "device" array is host memory)."""
        if self.name == "gpu":
            return array.get()
        return np.array(np.from_dlpack(array) if self.name == "strict" else array, copy=True)

    def sync(self) -> None:
        """Wait for queued device work (for honest timings); a no-op on the CPU."""
        if self.name == "gpu":
            import cupy

            cupy.cuda.Device().synchronize()


def _cupy_namespace() -> ModuleType:
    try:
        import cupy
    except ImportError:
        raise BackendError(
            "GPU requested but CuPy is not installed: pip install 'minifa[gpu]', or use --device cpu"
        ) from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # CuPy raises its own CUDA error types
        raise BackendError(f"GPU requested but CUDA is unusable ({err}); use --device cpu") from None
    if count < 1:
        raise BackendError("GPU requested but no CUDA device is visible; use --device cpu")
    import array_api_compat.cupy

    return array_api_compat.cupy


def gpu_available() -> bool:
    """Whether ``get_backend("gpu")`` would succeed."""
    try:
        _cupy_namespace()
    except BackendError:
        return False
    return True


def gpu_description() -> str:
    """The name and memory of CUDA device 0, for ``minifa info``."""
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(0)
    return f"{props['name'].decode()} ({props['totalGlobalMem'] / 2**30:.0f} GiB)"


def get_backend(name: str = "auto") -> Backend:
    """Choose the array namespace once, at the edge: ``auto | cpu | gpu | strict``."""
    if name == "auto":
        name = "gpu" if gpu_available() else "cpu"
    if name == "cpu":
        import array_api_compat.numpy

        return Backend("cpu", array_api_compat.numpy)
    if name == "gpu":
        return Backend("gpu", _cupy_namespace())
    if name == "strict":
        try:
            import array_api_strict
        except ImportError:
            raise BackendError("backend 'strict' needs array-api-strict: pip install 'minifa[test]'") from None
        return Backend("strict", array_api_strict)
    raise BackendError(f"unknown device {name!r}; choose one of {', '.join(NAMES)}")


# ---------------------------------------------------------------- fast paths behind ops(xp)


class ArrayOps:
    """The standard-API versions: correct on every namespace (CuPy, array-api-strict)."""

    def __init__(self, xp) -> None:
        self.xp = xp

    def gemm_update(self, w, delta, x, lr: float, decay=0.0):
        """``w − lr (δ xᵀ + decay w)`` for ``w`` (R, out, in), ``δ`` (R, out, B) and ``x``
        (in, B) or (R, in, B), in place where the namespace allows; returns the result.
        ``decay`` is a float or an (R, 1, 1) array of per-member decays (``sgd_step``)."""
        product = delta @ self.xp.matrix_transpose(x)
        if not isinstance(decay, float) or decay:
            w -= lr * (product + decay * w)
        else:
            w -= lr * product
        return w

    def take_last(self, a, index):  # samples of a features × samples array
        return self.xp.take(a, index, axis=-1)

    def flush_subnormals(self, a):
        """``a`` with its subnormal values set to 0 (``network.layer_error`` says why)."""
        xp = self.xp
        return xp.where(xp.abs(a) < xp.finfo(a.dtype).smallest_normal, xp.zeros_like(a), a)


class NumpyOps(ArrayOps):
    """NumPy: the update is one BLAS ``gemm`` with ``alpha = −lr``, ``beta = 1 − lr·decay``
    straight into ``w`` (no ΔW, no ``lr·ΔW`` temporary, no second pass over ``w``); flushing
    is in place. What BLAS cannot take as it is (a strided ``w``, other dtypes) falls back."""

    def gemm_update(self, w, delta, x, lr: float, decay=0.0):
        routine = (_numpy_gemm() or {}).get(w.dtype.char)
        arrays = (w, delta, x)
        if routine is None or not (w.flags.c_contiguous and w.flags.writeable and w.size and delta.shape[-1]
                                   and all(type(a) is np.ndarray and a.dtype == w.dtype for a in arrays)):
            return super().gemm_update(w, delta, x, lr, decay)
        betas = 1.0 - lr * np.broadcast_to(np.asarray(decay, dtype=float).reshape(-1), w.shape[:1])
        if x.ndim == 2 and delta.flags.c_contiguous and np.all(betas == betas[0]):
            rows = w.shape[0] * w.shape[1]  # shared input, one decay: all members in one call
            _gemm(routine, delta.reshape(rows, -1), x.T, w.reshape(rows, -1), -float(lr), float(betas[0]))
        else:
            for r in range(w.shape[0]):
                _gemm(routine, delta[r], (x if x.ndim == 2 else x[r]).T, w[r], -float(lr), float(betas[r]))
        return w

    def take_last(self, a, index):
        # np.take first copies a non-C-contiguous array whole (0.3 s for the 784 × 60000
        # transposed view DeviceData keeps), so a transposed array gives up its rows instead.
        if a.ndim == 2 and a.flags.f_contiguous and not a.flags.c_contiguous:
            return np.take(a.T, index, axis=0).T
        return np.take(a, index, axis=-1)

    def flush_subnormals(self, a):
        # Mask only true subnormals: zeros are common (saturated tanh' = 0) and a mostly-true
        # mask makes copyto ~10x slower (a branch per element).
        mask = np.abs(a) < np.finfo(a.dtype).smallest_normal
        mask &= a != 0
        if mask.any():
            np.copyto(a, 0, where=mask)
        return a


def _operand(a: np.ndarray) -> tuple[int, int, np.ndarray]:
    """(CblasNoTrans 111 | CblasTrans 112, leading dimension, array) of a 2-D array."""
    size, (m, n), (s0, s1) = a.itemsize, a.shape, a.strides
    if (s1 == size or n == 1) and s0 % size == 0 and s0 >= max(1, n) * size:
        return 111, s0 // size, a
    if (s0 == size or m == 1) and s1 % size == 0 and s1 >= max(1, m) * size:
        return 112, s1 // size, a
    return 111, max(1, n), np.ascontiguousarray(a)


def _gemm(routine, a, b, c, alpha: float, beta: float) -> None:
    """``c ← alpha a b + beta c``, row-major (CblasRowMajor = 101), ``c`` C-contiguous."""
    (ta, lda, a), (tb, ldb, b) = _operand(a), _operand(b)
    m, n, k = c.shape[0], c.shape[1], a.shape[1]
    routine(101, ta, tb, m, n, k, alpha, a.ctypes.data, lda, b.ctypes.data, ldb, beta, c.ctypes.data, n)


@lru_cache(maxsize=None)
def _numpy_gemm() -> dict[str, Any] | None:
    """ctypes ``cblas_{s,d}gemm`` of NumPy's own OpenBLAS (the library threadpoolctl finds
    inside NumPy's directory); ILP64 symbols only (``…64_``: the integer width is certain),
    checked once against ``np.matmul``. None (so the fallback) otherwise, or with
    ``MINIFA_NO_BLAS_FASTPATH`` set."""
    home = os.path.dirname(os.path.dirname(np.__file__))
    paths = [lib["filepath"] for lib in _blas_libraries() if os.path.dirname(lib["filepath"]).startswith(home)]
    if os.environ.get("MINIFA_NO_BLAS_FASTPATH") or not paths:
        return None
    lib, routines, i, p = ctypes.CDLL(paths[0]), {}, ctypes.c_int64, ctypes.c_void_p
    for char, letter, real in (("f", "s", ctypes.c_float), ("d", "d", ctypes.c_double)):
        f = getattr(lib, f"scipy_cblas_{letter}gemm64_", None) or getattr(lib, f"cblas_{letter}gemm64_", None)
        if f is not None:
            f.argtypes, f.restype = [ctypes.c_int] * 3 + [i] * 3 + [real, p, i, p, i, real, p, i], None
            routines[char] = f
    rng = np.random.default_rng(0)
    for char, f in routines.items():
        a, b, c = (rng.standard_normal(shape).astype(char) for shape in ((5, 3), (4, 3), (5, 4)))
        want = 0.5 * c - 0.25 * (a @ b.T)
        _gemm(f, a, b.T, c, -0.25, 0.5)
        if not np.allclose(c, want, rtol=1e-5, atol=1e-5):
            return None
    return routines or None


@lru_cache(maxsize=None)
def ops(xp) -> ArrayOps:
    """The fast paths for namespace ``xp``: NumPy's, or the standard fallback."""
    import array_api_compat

    return NumpyOps(xp) if array_api_compat.is_numpy_namespace(xp) else ArrayOps(xp)


# ---------------------------------------------------------------- BLAS threads
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
    libs = _blas_libraries()
    return libs[0]["num_threads"] if libs else None


def _blas_libraries() -> list[dict]:
    """threadpoolctl's BLAS entries, NumPy's own (inside NumPy's directory) first."""
    from threadpoolctl import threadpool_info

    home = os.path.dirname(os.path.dirname(np.__file__))
    libs = [lib for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return sorted(libs, key=lambda lib: not os.path.dirname(lib["filepath"]).startswith(home))


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
