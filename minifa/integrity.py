"""SHA-256 digests of what an HDF5 file *reads as*: every dataset and every attribute.

HDF5's Fletcher-32 filter covers dataset chunks only, not the chunk index (B-trees), the
object headers or the attributes: a flipped byte there can zero a block of a matrix or
change a number in a JSON attribute, and the file still opens. So each writer stamps a
manifest, ``{object: SHA-256}``, into an attribute of the object it owns (the root of a
checkpoint, a unit's group in a results file), and each reader recomputes it from what h5py
reads and refuses any difference. The entries:

- ``path`` for a dataset: SHA-256 over its dtype, shape and bytes;
- ``path@name`` for an attribute: SHA-256 over the value's dtype, shape and bytes;
- ``path/`` for a group: that it exists (an empty history table is content too).

A manifest equal in keys and digests proves that what the reader gets is what the writer
wrote: a missing, extra or changed object is named. The manifest's own attribute is left out
of itself; damage to it shows as a mismatch or an unreadable manifest, never as a pass.

The seal: libhdf5 itself can hang on some damaged metadata (seen once in ~4000 byte flips:
a flipped global-heap field, read forever). So after closing the file, the writer appends a
trailer that libhdf5 ignores (it reads only up to its end-of-allocation address, and any
writer that reopens the file truncates it there): the SHA-256 of every byte before it and of
each dataset's stored byte ranges, then its length and `SEAL_MAGIC`. A reader checks the seal
with plain reads *before* libhdf5 parses anything; a mismatch names the dataset whose stored
bytes changed, or else the HDF5 metadata. A file without a seal (written before it, or edited
through h5py) is still checked object by object.

Every reader opens a sealed file through `open_checked`: seal, then libhdf5, then the
manifests, and any failure on the way (or inside the reader's ``with`` block, where h5py
trips over a damaged part) is one line naming the file, the problem and the fix.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np

from .errors import MinifaError, reason

# The names that tell minifa's sealed files apart, here on the ground floor so that every
# reader (plots, ``inspect``) knows them without importing the writer.
CHECKPOINT = "minifa-checkpoint"  # a checkpoint's root ``format`` attribute (`minifa.checkpoint`)
UNITS = "units"  # a results file's group of finished units (`minifa.experiments.store`)
SWEEP = "sweep"  # a sweep's results file's ``profile`` attribute (`minifa.experiments.sweep`)

MANIFEST = "sha256"  # the attribute holding the JSON manifest
SEAL_MAGIC = b"minifa-seal-v1\n\x00"  # the file's last 16 bytes, after the trailer's length
_LENGTH = struct.Struct("<Q")
_BLOCK = 1 << 23
WALK = "(object walk)"  # the entry a damaged object tree adds
INTACT = "restore an intact copy, or move it away and write it again"  # the fix for any damage


def digest(value) -> str:
    """SHA-256 of ``(dtype, shape, bytes)`` of ``np.asarray(value)``; str as UTF-8."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    if isinstance(value, str):
        return hashlib.sha256(b"str:" + value.encode("utf-8", "surrogateescape")).hexdigest()
    array = np.ascontiguousarray(np.asarray(value))
    if array.dtype.kind == "O":  # variable-length strings in an array: hash them one by one
        return digest(json.dumps([str(v) for v in array.ravel()]) + str(array.shape))
    head = f"{array.dtype.str}{array.shape}:".encode()
    return hashlib.sha256(head + array.tobytes()).hexdigest()


def manifest(group: h5py.Group, skip: str | None = None) -> dict[str, str]:
    """``{object: digest}`` of ``group``, its attributes (the manifest's own excepted) and
    everything below it, as h5py reads them now; child group ``skip`` counts as present only
    (its content has manifests of its own: a results file's units)."""
    out: dict[str, str] = {}

    def attributes(prefix: str, node) -> None:
        for name in node.attrs:
            if not (node is group and name == MANIFEST):
                out[f"{prefix}@{name}"] = digest(node.attrs[name])

    def visit(name: str, node) -> None:
        if isinstance(node, h5py.Dataset):
            out[name] = digest(node[()]) if _chunks_readable(node) else "a chunk shorter than its checksum"
        else:
            out[f"{name}/"] = "group"
        attributes(name, node)

    attributes("", group)
    names = _names(group, skip=skip)
    visited: list[str] = []
    group.visit(visited.append)  # HDF5's own object walk reads headers the link walk may not
    if skip is not None:
        visited = [n for n in visited if not n.startswith(f"{skip}/")]
    if sorted(visited) != sorted(names):
        out[WALK] = f"{len(visited)} objects, {len(names)} links"  # never in a stamped manifest
    for name in names:
        visit(name, group[name])
    return out


def _chunks_readable(dataset: h5py.Dataset) -> bool:
    """Whether libhdf5 may read ``dataset``: with Fletcher-32, a chunk whose stored size (in
    the chunk index, which no checksum covers) is below the checksum's 4 bytes crashes
    libhdf5 on read instead of failing it, so such a dataset is not read but fails its digest."""
    if dataset.chunks is None or not dataset.fletcher32:
        return True
    sizes: list[int] = []
    dataset.id.chunk_iter(lambda chunk: sizes.append(chunk.size))
    return min(sizes, default=4) >= 4


def _names(group: h5py.Group, prefix: str = "", skip: str | None = None) -> list[str]:
    """Every object below ``group``, depth first, by iterating links (the names a reader
    opens); `manifest` compares them with HDF5's object walk."""
    names = []
    for name in group:
        path = f"{prefix}{name}"
        names.append(path)
        node = group[name]
        if isinstance(node, h5py.Group) and path != skip:
            names.extend(_names(node, f"{path}/"))
    return names


def stamp(group: h5py.Group, skip: str | None = None) -> None:
    """Write ``group``'s manifest into its ``sha256`` attribute (last, after all content)."""
    group.attrs[MANIFEST] = json.dumps(manifest(group, skip), sort_keys=True)


def first_mismatch(group: h5py.Group, skip: str | None = None) -> str | None:
    """None if ``group`` reads as it was stamped, else a phrase naming the first object that
    differs (``"'model/W1' fails its SHA-256"``, ``"'history/x' is missing"``)."""
    try:
        stored = json.loads(group.attrs[MANIFEST])
    except (KeyError, ValueError, TypeError):
        return f"its digest manifest ({MANIFEST!r} attribute) is missing or unreadable"
    if not isinstance(stored, dict):
        return f"its digest manifest ({MANIFEST!r} attribute) is unreadable"
    found = manifest(group, skip)
    if WALK in found:
        return f"its object tree is damaged (HDF5's object walk finds {found[WALK]})"
    for name in sorted(set(stored) | set(found)):
        label = _label(name)
        if name not in found:
            return f"{label} is missing"
        if name not in stored:
            return f"{label} is not in its digest manifest"
        if stored[name] != found[name]:
            return f"{label} fails its SHA-256 check"
    return None


def _label(name: str) -> str:
    """``model/W1`` -> 'model/W1'; ``rng/0@init`` -> attribute 'init' of 'rng/0'; ``@config`` ->
    attribute 'config'."""
    node, at, attr = name.partition("@")
    node = node.rstrip("/")
    if not at:
        return repr(node)
    return f"attribute {attr!r}" + (f" of {node!r}" if node else "")


def _stored_ranges(f: h5py.File) -> dict[str, list[tuple[int, int]]]:
    """``{dataset: [(byte offset, size), ...]}`` of every dataset's stored bytes (its chunks, or
    its contiguous block; none for data kept inside the object header)."""
    out = {}

    def visit(name, node):
        if not isinstance(node, h5py.Dataset):
            return
        if node.chunks is not None:
            chunks = [node.id.get_chunk_info(i) for i in range(node.id.get_num_chunks())]
            out[name] = [(c.byte_offset, c.size) for c in chunks]
        elif node.id.get_offset() is not None:
            out[name] = [(node.id.get_offset(), node.id.get_storage_size())]

    f.visititems(visit)
    return out


def _sha256(handle, start: int, size: int) -> str:
    h = hashlib.sha256()
    handle.seek(start)
    while size > 0:
        block = handle.read(min(size, _BLOCK))
        if not block:
            break
        h.update(block)
        size -= len(block)
    return h.hexdigest()


def seal(path) -> None:
    """Append the seal to the closed HDF5 file ``path`` (see the module's docstring)."""
    path = Path(path)
    with h5py.File(path, "r") as f:
        ranges = _stored_ranges(f)
    end = path.stat().st_size
    with open(path, "r+b") as handle:
        data = {name: [[o, n, _sha256(handle, o, n)] for o, n in spans] for name, spans in ranges.items()}
        trailer = json.dumps({"size": end, "sha256": _sha256(handle, 0, end), "data": data}, sort_keys=True).encode()
        handle.seek(end)
        handle.write(trailer + _LENGTH.pack(len(trailer)) + SEAL_MAGIC)


def seal_problem(path) -> str | None:
    """None if ``path`` has no seal or its seal holds; else what differs, naming the dataset
    whose stored bytes changed, or the HDF5 metadata. Reads bytes only, never parses HDF5."""
    path = Path(path)
    tail = len(SEAL_MAGIC) + _LENGTH.size
    with open(path, "rb") as handle:
        total = handle.seek(0, os.SEEK_END)
        if total < tail:
            return None
        handle.seek(total - tail)
        raw = handle.read(tail)
        if raw[_LENGTH.size:] != SEAL_MAGIC:
            return None
        length = _LENGTH.unpack(raw[:_LENGTH.size])[0]
        try:
            handle.seek(total - tail - length)
            trailer = json.loads(handle.read(length))
            end, whole, data = int(trailer["size"]), trailer["sha256"], dict(trailer["data"])
            if end != total - tail - length:
                return f"its seal says {end} bytes of HDF5 data, the file has {total - tail - length}"
            if _sha256(handle, 0, end) == whole:
                return None
            for name, spans in sorted(data.items()):
                if any(_sha256(handle, int(o), int(n)) != digest for o, n, digest in spans):
                    return f"the stored bytes of {name!r} fail their SHA-256 check"
        except (OSError, ValueError, KeyError, TypeError, OverflowError):
            return "its seal (the SHA-256 trailer) is unreadable"
        return "its HDF5 metadata (object headers, chunk index, heaps or attributes) fails the file's SHA-256 check"


@contextmanager
def open_checked(path, what: str, error: type[MinifaError], units: bool = False, verify: bool = True,
                 check_format=None):
    """``h5py.File(path, "r")``, checked: the seal before libhdf5 parses a byte, then
    ``check_format(f)`` (the caller's: a foreign file is not a damaged one), then the root's
    manifest and, with ``units`` (a results file), each unit's; ``verify=False`` checks the
    seal only (to read the format attributes that choose a reader). Any failure, also one
    inside the ``with`` block, is one line ``error("<what> <path> ...; <fix>")``."""
    label = f"{what} {path}".strip()
    try:
        problem = seal_problem(path)
    except OSError as err:
        raise error(f"cannot read {label} ({reason(err)}); check its permissions") from None
    if problem is not None:
        raise error(f"{label} is damaged: {problem}; {INTACT}")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise error(f"{label} is not a readable HDF5 file ({reason(err)}): truncated, corrupt or not "
                    f"written by minifa; {INTACT}") from None
    try:
        with f:
            if check_format is not None:
                check_format(f)
            if verify:
                _verify(f, label, error, units)
            yield f
    except MinifaError:  # ours, or the caller's (a ConfigError from build()): already one clear line
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as err:  # unreadable parts of a damaged file
        raise error(f"{label} is damaged ({reason(err)}); {INTACT}") from None


def _verify(f: h5py.File, label: str, error: type[MinifaError], units: bool) -> None:
    """The file's manifests: the root's (a results file's units count as present only) and,
    with ``units``, each unit's."""
    if MANIFEST not in f.attrs:
        raise error(f"{label} has no integrity digests: an older minifa wrote it, or it is damaged; "
                    f"read it with the minifa that wrote it, or {INTACT}")
    groups = [("its header's " if units else "", f, UNITS if units else None)]
    groups += [(f"in unit {key!r}, ", f[UNITS][key], None) for key in (f[UNITS] if units else ())]
    for where, group, skip in groups:
        problem = first_mismatch(group, skip=skip)
        if problem is not None:
            raise error(f"{label} is damaged: {where}{problem}; {INTACT}")
