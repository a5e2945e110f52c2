"""Read and write IDX files, the format MNIST is distributed in (LeCun et al.'s MNIST page).

An IDX file is a big-endian header, then the raw payload:
magic ``0x0000TTNN`` (TT = element type, 0x08 = unsigned byte; NN = number of dimensions),
NN big-endian uint32 sizes, then ``prod(sizes)`` bytes in row-major order. MNIST uses
``0x00000803`` for images (N × 28 × 28) and ``0x00000801`` for labels (N).

We read and check IDX ourselves rather than depend on a loader, so that a user's own copy
(from torchvision, MLDatasets.jl, the original mirror) is read with the exact bytes
MLDatasets.jl 0.7.9 sees (its MNIST reader reads these bytes as they are). Every problem is
a one-line `DataError`.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from minifa.atomic import atomic_path
from minifa.errors import DataError

# The fix printed with every "this file is broken" error.
REFETCH_HINT = "re-run `python cli.py data` (or `make data`)"

# Detect gzip by content, not by name: users rename files, and some mirrors ship
# gzipped files without the `.gz` suffix.
GZIP_MAGIC = b"\x1f\x8b"

UBYTE = 0x08
IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension
IMAGE_SIDE = 28  # every consumer of this package assumes 784 features

_KIND_OF_MAGIC = {IMAGES_MAGIC: "an IDX image file", LABELS_MAGIC: "an IDX label file"}


def read_idx_bytes(path: str | os.PathLike) -> bytes:
    """The uncompressed bytes of an IDX file (header included), gunzipped if needed.

    This is what the MD5s in `minifa.data.mnist.IDX_MD5` are computed over.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; {REFETCH_HINT}") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror}); check its permissions") from None
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        # EOFError: gzip stream cut short; BadGzipFile (an OSError) / zlib.error: corrupt.
        raise DataError(f"{path}: corrupt or truncated gzip data ({err}); {REFETCH_HINT}") from None


def read_idx(path: str | os.PathLike, *, expect: int | None = None) -> np.ndarray:
    """Read an MNIST IDX file into a uint8 array: images N×28×28 or labels N.

    ``expect`` (IMAGES_MAGIC or LABELS_MAGIC) additionally requires that kind of file.
    Raises `DataError` naming the file for a bad magic number, wrong dimensions, or a
    payload that is not exactly ``prod(sizes)`` bytes (truncated or with trailing bytes).
    """
    return parse_idx(read_idx_bytes(path), path, expect=expect)


def parse_idx(raw: bytes, path: str | os.PathLike, *, expect: int | None = None) -> np.ndarray:
    """`read_idx` of the uncompressed bytes ``raw`` read from ``path`` (named in errors)."""
    if len(raw) < 4:
        raise DataError(f"{path}: {len(raw)} bytes, too short for an IDX header; {REFETCH_HINT}")
    (magic,) = struct.unpack(">I", raw[:4])
    allowed = (expect,) if expect is not None else tuple(_KIND_OF_MAGIC)
    if magic not in allowed:
        wanted = " or ".join(f"0x{m:08X} ({_KIND_OF_MAGIC[m]})" for m in allowed)
        raise DataError(
            f"{path}: bad magic number 0x{magic:08X}, expected {wanted}; {REFETCH_HINT}"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(
            f"{path}: {len(raw)} bytes, too short for its {header}-byte IDX header; {REFETCH_HINT}"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    if ndim == 3 and dims[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(
            f"{path}: images are {dims[1]}×{dims[2]}, expected {IMAGE_SIDE}×{IMAGE_SIDE} "
            f"(MNIST); {REFETCH_HINT}"
        )
    expected = int(np.prod(dims))
    actual = len(raw) - header
    if actual != expected:
        what = "truncated" if actual < expected else "trailing bytes"
        shape = "×".join(map(str, dims))
        raise DataError(
            f"{path}: payload is {actual} bytes, expected {expected} for {shape} ({what}); "
            f"{REFETCH_HINT}"
        )
    # Copy so callers get an ordinary writable array, not a view of an immutable buffer.
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def encode_idx(array: np.ndarray) -> bytes:
    """The uncompressed IDX bytes of a uint8 array (header + row-major payload)."""
    if array.dtype != np.uint8:
        raise TypeError(f"IDX files here hold uint8, got {array.dtype}")
    header = struct.pack(f">I{array.ndim}I", (UBYTE << 8) | array.ndim, *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file, gzipped when the name ends with ``.gz``.

    Atomic (`minifa.atomic`): a crash leaves either the old file or the new one, never a
    half-written file that a later run would trust.
    """
    path = Path(path)
    payload = encode_idx(array)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        if path.name.endswith(".gz"):
            # Level 6, not gzip's default 9: 15x faster on MNIST for 2% more bytes.
            # mtime=0 and no stored name: identical data gives identical .gz bytes.
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, compresslevel=6, mtime=0) as gz:
                gz.write(payload)
        else:
            f.write(payload)
    return path
