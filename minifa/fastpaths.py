"""NumPy fast paths behind ``ops(xp)``: the maths asks for an operation and gets NumPy's
version or the standard-API one, which every other namespace (CuPy, array-api-strict) uses;
and ``descend``, the plain SGD step with weight decay, which both versions share.

- ``gemm_into``: ``C ← α δ xᵀ + β C`` with one β per member; on NumPy one BLAS ``gemm``
  straight into ``C``. ``gemm_update``, the fused weight update ``W ← W − η (δ xᵀ + λ W)``,
  is it with ``α = −η``, ``β = 1 − ηλ``; momentum's velocity ``v ← ρ v + η δ xᵀ`` likewise.
- ``add_scaled``: ``W ← W + α u`` with one α per member; on NumPy one BLAS ``axpy`` per
  member (no ``α u`` temporary: one pass over ``W`` and ``u``).
- ``take_last``: the samples of a features × samples array (rows of a transposed one).
- ``flush_subnormals``: values below the smallest normal set to 0 (in place on NumPy).
- ``blockwise``: an in-place elementwise step (an optimiser's) on arrays of one shape; on
  NumPy over cache-sized blocks, several blocks at once on threads.
- ``sign_times``: ``sign(w) ⊙ m`` (sign-concordant feedback); on NumPy one compiled pass.
- ``compiled``: the same step as one compiled pass (`minifa.kernels`), on NumPy only, split
  over the threads; elsewhere (or without numba) it declines and ``blockwise`` runs.

``tests/test_perf_fastpaths.py`` proves each equal to the standard version.
"""

from __future__ import annotations

import ctypes
import os
from functools import lru_cache
from typing import Any

import numpy as np

from . import kernels
from .blas import blas_libraries, blas_thread_count, worker_pool

ELEMENTS = 1 << 15  # elements per ``blockwise`` block: a few arrays of it stay in a core's cache


def descend(w, update, lr: float, weight_decay=0.0):
    """``w ← w − lr (update + λ w)`` in place where the namespace allows; returns ``w``.
    ``weight_decay`` λ is a float or an (R, 1, 1) array of per-member decays; 0 adds no term."""
    if not isinstance(weight_decay, float) or weight_decay:
        w -= lr * (update + weight_decay * w)
    else:
        w -= lr * update
    return w


class ArrayOps:
    """The standard-API versions: correct on every namespace (CuPy, array-api-strict)."""

    def __init__(self, xp) -> None:
        self.xp = xp

    def gemm_update(self, w, delta, x, lr: float, weight_decay=0.0):
        """``w − lr (δ xᵀ + λ w)`` for ``w`` (R, out, in), ``δ`` (R, out, B) and ``x``
        (in, B) or (R, in, B), in place where the namespace allows; returns the result.
        ``weight_decay`` λ is a float or an (R, 1, 1) array of per-member decays (``sgd_step``)."""
        return descend(w, delta @ self.xp.matrix_transpose(x), lr, weight_decay)

    def gemm_into(self, c, delta, x, alpha: float, beta):
        """``alpha δ xᵀ + beta c`` for ``c`` (R, out, in), ``δ`` and ``x`` as ``gemm_update``'s,
        ``beta`` a float or (R, 1, 1), in place where the namespace allows; returns the result."""
        c *= beta
        c += alpha * (delta @ self.xp.matrix_transpose(x))
        return c

    def add_scaled(self, w, u, alpha):
        """``w + alpha u`` for ``w``, ``u`` (R, out, in) and ``alpha`` a float or (R, 1, 1),
        in place where the namespace allows; returns the result."""
        w += alpha * u
        return w

    def take_last(self, a, index):  # samples of a features × samples array
        return self.xp.take(a, index, axis=-1)

    def blockwise(self, step, arrays) -> None:
        """``step(*arrays)``: an elementwise step that updates its arguments in place."""
        step(*arrays)

    def sign_times(self, w, m):
        """``sign(w) ⊙ m`` for arrays of one shape."""
        return self.xp.sign(w) * m

    def compiled(self, name: str, scalars, arrays) -> bool:
        """Run kernel ``name`` (`minifa.kernels`) on ``arrays`` and ``scalars``, if this
        namespace has it; whether it did (if not, nothing was touched)."""
        return False

    def flush_subnormals(self, a):
        """``a`` with its subnormal values set to 0 (``network.layer_error`` says why)."""
        xp = self.xp
        return xp.where(xp.abs(a) < xp.finfo(a.dtype).smallest_normal, xp.zeros_like(a), a)


class NumpyOps(ArrayOps):
    """NumPy: the update is one BLAS ``gemm`` with ``alpha = −lr``, ``beta = 1 − lr·λ``
    straight into ``w`` (no ΔW, no ``lr·ΔW`` temporary, no second pass over ``w``); flushing
    is in place. What BLAS cannot take as it is (a strided ``w``, other dtypes) falls back."""

    def gemm_update(self, w, delta, x, lr: float, weight_decay=0.0):
        betas = 1.0 - lr * np.asarray(weight_decay, dtype=float)
        if not self._gemm_into(w, delta, x, -float(lr), betas):
            return super().gemm_update(w, delta, x, lr, weight_decay)
        return w

    def gemm_into(self, c, delta, x, alpha: float, beta):
        if not self._gemm_into(c, delta, x, float(alpha), np.asarray(beta, dtype=float)):
            return super().gemm_into(c, delta, x, alpha, beta)
        return c

    @staticmethod
    def _gemm_into(c, delta, x, alpha: float, beta: np.ndarray) -> bool:
        """``c ← alpha δ xᵀ + beta c`` by BLAS, if it can take the arrays as they are (a
        strided ``c`` or other dtypes cannot); whether it did."""
        routine = (_numpy_blas("gemm") or {}).get(c.dtype.char)
        if routine is None or not (c.flags.c_contiguous and c.flags.writeable and c.size and delta.shape[-1]
                                   and all(type(a) is np.ndarray and a.dtype == c.dtype for a in (c, delta, x))):
            return False
        betas = np.broadcast_to(beta.reshape(-1), c.shape[:1])
        if x.ndim == 2 and delta.flags.c_contiguous and np.all(betas == betas[0]):
            rows = c.shape[0] * c.shape[1]  # shared input, one beta: all members in one call
            _gemm(routine, delta.reshape(rows, -1), x.T, c.reshape(rows, -1), alpha, float(betas[0]))
        else:
            for r in range(c.shape[0]):
                _gemm(routine, delta[r], (x if x.ndim == 2 else x[r]).T, c[r], alpha, float(betas[r]))
        return True

    def add_scaled(self, w, u, alpha):
        routine = (_numpy_blas("axpy") or {}).get(w.dtype.char)
        if routine is None or not (w.flags.c_contiguous and w.flags.writeable and u.flags.c_contiguous
                                   and type(u) is np.ndarray and u.dtype == w.dtype and u.shape == w.shape):
            return super().add_scaled(w, u, alpha)
        alphas = np.broadcast_to(np.asarray(alpha, dtype=float).reshape(-1), w.shape[:1])
        for r in range(w.shape[0]):
            routine(w[r].size, float(alphas[r]), u[r].ctypes.data, 1, w[r].ctypes.data, 1)
        return w

    def take_last(self, a, index):
        # np.take first copies a non-C-contiguous array whole (0.3 s for the 784 × 60000
        # transposed view DeviceData keeps), so a transposed array gives up its rows instead.
        if a.ndim == 2 and a.flags.f_contiguous and not a.flags.c_contiguous:
            return np.take(a.T, index, axis=0).T
        return np.take(a, index, axis=-1)

    def blockwise(self, step, arrays) -> None:
        # One pass over whole arrays streams each through memory a dozen times (Adam); per
        # block they stay in cache, and ufuncs release the GIL, so blocks run on the BLAS
        # threads' cores. Elementwise IEEE arithmetic: the same bits as whole arrays.
        shape = arrays[0].shape
        if not all(type(a) is np.ndarray and a.flags.c_contiguous and a.flags.writeable and a.shape == shape
                   for a in arrays):
            return super().blockwise(step, arrays)
        flat = [a.reshape(-1) for a in arrays]
        starts = range(0, flat[0].size, ELEMENTS)

        def run(first: int, last: int) -> None:
            for start in starts[first:last]:
                step(*(a[start:start + ELEMENTS] for a in flat))

        _on_threads(len(starts), run)

    def sign_times(self, w, m):
        out = np.empty_like(w)
        return out if self.compiled("sign_times", (1.0, 0.0), [out, w, m]) else super().sign_times(w, m)

    def compiled(self, name: str, scalars, arrays) -> bool:
        # One pass instead of a dozen ufunc calls; the per-element arithmetic is the same, so
        # the bits do not depend on the path or the split.
        shape, dtype, loop = arrays[0].shape, arrays[0].dtype, kernels.kernel(name)
        if loop is None or dtype not in (np.float32, np.float64) or not all(
                type(a) is np.ndarray and a.flags.c_contiguous and a.flags.writeable and a.shape == shape
                and a.dtype == dtype for a in arrays):
            return False
        flat, cast = [a.reshape(-1) for a in arrays], tuple(dtype.type(s) for s in scalars)
        blocks = -(-flat[0].size // ELEMENTS)
        _on_threads(blocks, lambda first, last: loop(*(a[first * ELEMENTS:last * ELEMENTS] for a in flat), *cast))
        return True

    def flush_subnormals(self, a):
        # Mask only true subnormals: zeros are common (saturated tanh' = 0) and a mostly-true
        # mask makes copyto ~10x slower (a branch per element).
        mask = np.abs(a) < np.finfo(a.dtype).smallest_normal
        mask &= a != 0
        if mask.any():
            np.copyto(a, 0, where=mask)
        return a


def _on_threads(blocks: int, run) -> None:
    """``run(first, last)`` over ``blocks`` blocks, split in contiguous ranges over the BLAS
    threads' count (this thread takes the first)."""
    workers = max(1, min(blas_thread_count(), blocks))
    edges = [blocks * k // workers for k in range(workers + 1)]
    futures = [worker_pool(workers - 1).submit(run, a, b) for a, b in zip(edges[1:-1], edges[2:])]
    run(edges[0], edges[1])
    for future in futures:
        future.result()


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


_SIGNATURES = {  # routine -> ctypes argument types, with ``real`` the float type and ``i`` int64
    "gemm": lambda real, i, p: [ctypes.c_int] * 3 + [i] * 3 + [real, p, i, p, i, real, p, i],
    "axpy": lambda real, i, p: [i, real, p, i, p, i],
}


def _checked(name: str, char: str, f) -> bool:
    """One small call of ``f`` against NumPy (wrong integer widths or symbols show here)."""
    rng = np.random.default_rng(0)
    if name == "gemm":
        a, b, c = (rng.standard_normal(shape).astype(char) for shape in ((5, 3), (4, 3), (5, 4)))
        want = 0.5 * c - 0.25 * (a @ b.T)
        _gemm(f, a, b.T, c, -0.25, 0.5)
    else:
        u, c = (rng.standard_normal(7).astype(char) for _ in range(2))
        want = c - 0.25 * u
        f(7, -0.25, u.ctypes.data, 1, c.ctypes.data, 1)
    return bool(np.allclose(c, want, rtol=1e-5, atol=1e-5))


@lru_cache(maxsize=None)
def _numpy_blas(name: str) -> dict[str, Any] | None:
    """ctypes ``cblas_{s,d}<name>`` of NumPy's own OpenBLAS (the library threadpoolctl finds
    inside NumPy's directory); ILP64 symbols only (``…64_``: the integer width is certain),
    checked once against NumPy. None (so the fallback) otherwise, or with
    ``MINIFA_NO_BLAS_FASTPATH`` set."""
    paths = [lib["filepath"] for lib in blas_libraries(numpy_only=True)]
    if os.environ.get("MINIFA_NO_BLAS_FASTPATH") or not paths:
        return None
    lib, routines = ctypes.CDLL(paths[0]), {}
    for char, letter, real in (("f", "s", ctypes.c_float), ("d", "d", ctypes.c_double)):
        f = getattr(lib, f"scipy_cblas_{letter}{name}64_", None) or getattr(lib, f"cblas_{letter}{name}64_", None)
        if f is not None:
            f.argtypes, f.restype = _SIGNATURES[name](real, ctypes.c_int64, ctypes.c_void_p), None
            routines[char] = f
    if not all(_checked(name, char, f) for char, f in routines.items()):
        return None
    return routines or None


@lru_cache(maxsize=None)
def ops(xp) -> ArrayOps:
    """The fast paths for namespace ``xp``: NumPy's, or the standard fallback."""
    import array_api_compat

    return NumpyOps(xp) if array_api_compat.is_numpy_namespace(xp) else ArrayOps(xp)
