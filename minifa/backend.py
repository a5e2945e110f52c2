"""Array backends: the one place that chooses the array namespace `xp`.

The maths of minifa is written once against the Python array API standard and receives
`xp` from here. This is the only module that imports CuPy; everything device-specific
(host <-> device transfer, synchronisation) goes through a `Backend`.

- ``cpu``: NumPy through ``array_api_compat.numpy`` (NumPy 2 is array-API native).
- ``gpu``: CuPy through ``array_api_compat.cupy``; optional (``pip install 'minifa[gpu]'``).
- ``strict``: ``array_api_strict``, which refuses anything outside the standard and any
  silent conversion to NumPy, exactly as CuPy would; the test suite runs the engine on it.
- ``auto``: ``gpu`` when CuPy sees a device, else ``cpu``.

NumPy's fast paths are in ``fastpaths.py`` (``ops(xp)``), its BLAS thread count in ``blas.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .errors import BackendError, choose
from .streams import normal as host_normal

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

    def normal(self, streams, purpose: str, shape: tuple[int, ...], dtype: str) -> Any:
        """(R, *shape) standard normal draws on the device, member r's from ``streams[r]``'s
        ``purpose`` stream. On the host (cpu, strict) NumPy draws them (``streams.normal``);
        on a GPU each member's come from a cuRAND Philox4x32-10 stream seeded by one 63-bit
        draw of that member's host stream, so nothing crosses the bus: equal in distribution
        to the host draws and as reproducible, not bit-equal to them."""
        if self.name == "gpu":
            import cupy

            philox = cupy.cuda.curand.CURAND_RNG_PSEUDO_PHILOX4_32_10
            seeds = [int(s[purpose].integers(0, 2**63)) for s in streams]
            return cupy.stack([cupy.random.RandomState(seed, method=philox).standard_normal(shape, dtype=dtype)
                               for seed in seeds])
        return self.asarray(host_normal([s[purpose] for s in streams], shape, dtype))

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
    choose("device", name, NAMES, BackendError)
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
