"""Checkpoints: one HDF5 file holds a whole ``Run``, so training resumes bit-exactly and
Julia (HDF5.jl) can read the weights directly.

Layout (h5py shapes; HDF5.jl reverses every dimension, so Julia sees them reversed)::

    /                  attrs: format="minifa-checkpoint", format_version=2, minifa_version,
                              package_versions (JSON), config (JSON), rule, step, epoch,
                              backend, created (ISO 8601, UTC), blas, blas_threads (the
                              loaded BLAS as measured at saving, `minifa.blas.measured`;
                              files from before 12/2026 lack these two)
    /model/W{l}        (R, in, out)  Julia (out, in, R): W[:, :, r] is member r's Dense.weight
    /model/b{l}        (R, out)      Julia (out, R):     b[:, r] is member r's Dense.bias
    /rule/<name>       rule.state() arrays, matrices transposed like W (Julia (rows, cols, R))
    /optimizer/<param>/<slot>  the optimiser's state (W1/m, b1/m, ...) transposed like W,
                              attrs: t (steps taken); files from before 12/2026 (plain SGD,
                              which has no state) lack the group
    /rng/<member>      attrs: one JSON bit-generator state per stream (init, feedback, ...)
    /history/<table>/<key>  run.history[table][key] stacked: (T,), (T, R) or (T, R, L)
    /                  attrs: sha256 (JSON {object: SHA-256}), written last: `minifa.integrity`

Integrity: ``sha256`` covers every dataset (dtype, shape, bytes) and every attribute of every
object (config, rng states, step, epoch, history, rule state...); `load` and `peek` recompute
it and refuse a file whose content differs in any object, naming it. Before that, the seal
after the HDF5 data (`minifa.integrity.seal`) is checked without parsing the file
(`minifa.integrity.open_checked` does both). A new file is loaded
back before it replaces the old one, so an unloadable checkpoint never replaces a loadable one.

l is 1-based like Flux's layers; every model and rule dataset has a ``julia_shape`` attribute.
In Julia: ``W = h5read(f, "model/W1")[:, :, r]``, ``b = h5read(f, "model/b1")[:, r]``.
"""

from __future__ import annotations

import json
import platform
from contextlib import suppress
from datetime import datetime, timezone
from pathlib import Path

import array_api_compat
import h5py
import numpy as np

from . import __version__, blas, integrity
from .atomic import atomic_path
from .backend import get_backend
from .config import Config, Run, build
from .errors import CheckpointError, MinifaError, reason
from .integrity import CHECKPOINT as FORMAT, INTACT
from .legacy import upgraded

FORMAT_VERSION = 2  # 2: the sha256 manifest (format 1 files have none)
# Stream purposes added since: older files lack them, and those runs never drew from them.
LATER_STREAMS = ("dropout",)


def _transpose(array: np.ndarray) -> np.ndarray:
    """Engine (R, rows, cols) <-> h5py (R, cols, rows), which HDF5.jl reads as (rows, cols, R):
    Julia indexes members by the last axis and each matrix keeps Flux's (out, in). Self-inverse."""
    return np.ascontiguousarray(np.swapaxes(array, 1, 2) if array.ndim == 3 else array)


def save(run: Run, path) -> Path:
    """Write ``run`` to ``path`` atomically (`minifa.atomic`): a crash leaves either the old file or
    the new one."""
    path = Path(path)
    try:
        with atomic_path(path) as temp:
            with h5py.File(temp, "w", track_order=True) as f:
                for write in (_write_header, _write_arrays, _write_rng, _write_history):
                    write(f, run)
                integrity.stamp(f)
            integrity.seal(temp)
            _check_loads(temp, path)
    except OSError as err:
        raise CheckpointError(f"cannot write checkpoint {path} ({reason(err)}); "
                              "check that its directory exists and is writable") from err
    return path


def _check_loads(temp: Path, path: Path) -> None:
    """Load the new file back (on the CPU) before it may replace ``path``."""
    try:
        load(temp, get_backend("cpu"))
    except MinifaError as err:
        raise CheckpointError(f"the new checkpoint for {path} does not load back, so {path} was left as it was: "
                              f"{str(err).replace(str(temp), 'it')}") from err


def package_versions() -> dict[str, str]:
    return {"numpy": np.__version__, "h5py": h5py.__version__, "python": platform.python_version(),
            "array-api-compat": array_api_compat.__version__}


def _write_header(f: h5py.File, run: Run) -> None:
    f.attrs.update({
        "format": FORMAT, "format_version": np.int64(FORMAT_VERSION), "minifa_version": __version__,
        "package_versions": json.dumps(package_versions(), sort_keys=True), "config": run.config.to_json(),
        "rule": run.config.rule, "step": np.int64(run.step), "epoch": np.int64(run.epoch),
        "backend": run.backend.name, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **blas.measured(),
    })


def _put(group: h5py.Group, name: str, stored: np.ndarray, meaning: str) -> None:
    # Fletcher-32 turns silent bit rot into a read error; every libhdf5 (HDF5.jl's too) has it built in
    dataset = group.create_dataset(name, data=stored, fletcher32=True)
    dataset.attrs["julia_shape"] = f"{tuple(reversed(stored.shape))} = {meaning}"


def _host(run: Run, array) -> np.ndarray:
    return run.backend.to_host(array).astype(run.config.dtype, copy=False)


def _write_arrays(f: h5py.File, run: Run) -> None:
    model, rule = f.create_group("model", track_order=True), f.create_group("rule", track_order=True)
    for l, w in enumerate(run.params.weights, start=1):
        _put(model, f"W{l}", _transpose(_host(run, w)), "(out, in, R); [:, :, r] is member r's Dense.weight")
    for l, b in enumerate(run.params.biases or [], start=1):
        _put(model, f"b{l}", _host(run, b)[:, :, 0], "(out, R); [:, r] is member r's Dense.bias")
    for name, array in run.rule.state().items():
        _put(rule, name, _transpose(_host(run, array)), "(rows, cols, R); [:, :, r] is member r's matrix")
    optimizer = f.create_group("optimizer", track_order=True)
    optimizer.attrs["t"] = np.int64(run.optimiser_state.t)
    for name, array in run.optimiser_state.slots.items():
        _put(optimizer, name, _transpose(_host(run, array)), "(rows, cols, R); [:, :, r] is member r's state")


def _write_rng(f: h5py.File, run: Run) -> None:
    # PCG64 states hold 128-bit integers: JSON keeps them exact, HDF5 integer types would not
    group = f.create_group("rng", track_order=True)
    for r, streams in enumerate(run.streams):
        member = group.create_group(str(r))
        for purpose, state in streams.state().items():
            member.attrs[purpose] = json.dumps(state, default=int)


def _write_history(f: h5py.File, run: Run) -> None:
    root = f.create_group("history", track_order=True)
    for table, columns in run.history.items():
        group = root.create_group(table, track_order=True)  # an empty table still exists
        for key, rows in columns.items():
            dataset = group.create_dataset(key, data=np.asarray(rows), fletcher32=True)
            # step/epoch counters are Python ints in memory: give them back as such on load
            dataset.attrs["python_scalars"] = all(isinstance(v, (int, float)) for v in rows)


def _items(group: h5py.Group) -> list:
    return [(name, group[name]) for name in group]  # h5py's items() turns a damaged member into None


def _open(path: Path):
    """The open, format- and digest-checked file (`minifa.integrity.open_checked`)."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found; check the path (save a run first)")
    return integrity.open_checked(path, "checkpoint", CheckpointError, check_format=lambda f: _check_format(f, path))


def _check_format(f: h5py.File, path: Path) -> None:
    if str(f.attrs.get("format")) != FORMAT:
        raise CheckpointError(f"{path} is an HDF5 file but not a minifa checkpoint (no format={FORMAT!r} "
                              "attribute); pass a file written by minifa")
    version = int(_need(f.attrs, "format_version", path))
    if version != FORMAT_VERSION:
        age, fix = ("newer", "upgrade minifa") if version > FORMAT_VERSION else (
            "older", f"rerun the training, or load it with minifa {f.attrs.get('minifa_version', '?')}, which wrote it")
        raise CheckpointError(f"checkpoint {path} has format version {version}, {age} than this minifa reads "
                              f"({FORMAT_VERSION}){' and no integrity digests' if version < 2 else ''}; {fix}")


def _need(container, name: str, path: Path):
    """``container[name]`` (a group, or a node's ``.attrs``), or a CheckpointError naming what is missing."""
    if name not in container:
        raise CheckpointError(f"checkpoint {path} lacks {name!r}; the file is incomplete, {INTACT}")
    return container[name]


def _array(f: h5py.File, name: str, like, path: Path, decode=_transpose) -> np.ndarray:
    """The stored array in engine orientation, checked against the shape of ``like``, the array
    the config builds (on any device: only its shape is read)."""
    host, shape = decode(_need(f, name, path)[()]), tuple(like.shape)
    if host.shape != shape:
        raise CheckpointError(f"checkpoint {path}: {name!r} is {host.shape}, its config needs {shape}; {INTACT}")
    return host


def _rule_array(f: h5py.File, name: str, like, path: Path, rule: str) -> np.ndarray:
    """A rule-state array. The digests passed, so a missing one is not damage: the file's
    rule kept other state, i.e. it is from a minifa whose rule draws differently (brsf
    before issue 28's fast magnitude draws) and cannot continue bit for bit here."""
    if f"rule/{name}" not in f:
        raise CheckpointError(f"checkpoint {path} lacks 'rule/{name}': its {rule} state is from another minifa version, "
                              "which this one cannot continue bit for bit; resume it with that version or restart the run")
    return _array(f, f"rule/{name}", like, path)


def _header(f: h5py.File, path: Path) -> dict:
    header = {key: str(_need(f.attrs, key, path)) for key in ("minifa_version", "rule", "backend", "created")}
    header.update({key: int(_need(f.attrs, key, path)) for key in ("format_version", "step", "epoch")})
    header["package_versions"] = json.loads(_need(f.attrs, "package_versions", path))
    header["blas"] = str(f.attrs["blas"]) if "blas" in f.attrs else None  # older files lack both
    header["blas_threads"] = int(f.attrs["blas_threads"]) if "blas_threads" in f.attrs else None
    return header


def _config(f: h5py.File, path: Path) -> Config:
    try:
        return Config.from_json(_need(f.attrs, "config", path))
    except MinifaError as err:  # a bare ConfigError would not name the file
        raise CheckpointError(f"checkpoint {path} has an unusable config: {err}") from err


def _default_backend(name: str):
    """The backend the run was saved on when this machine has it, else the CPU."""
    with suppress(MinifaError):
        return get_backend(name)
    return get_backend("cpu")


def load(path, backend=None) -> Run:
    """Rebuild the saved run: config, weights, rule state, random streams, counters, history.
    ``backend`` (a ``Backend``) wins over the one named in the file."""
    path = Path(path)
    with _open(path) as f:
        header, config = _header(f, path), _config(f, path)
        run = build(config, backend or _default_backend(header["backend"]))
        _read_params(f, run, path)
        # the freshly built rule names the state it needs; the file must supply each array
        state = run.rule.state().items()
        run.rule.load_state({name: _rule_array(f, name, a, path, config.rule) for name, a in state})
        _read_optimiser(f, run, path)
        for r, streams in enumerate(run.streams):
            member = _need(f, f"rng/{r}", path)
            stored = [p for p in streams.state() if p not in LATER_STREAMS or p in member.attrs]
            streams.set_state({p: json.loads(_need(member.attrs, p, path)) for p in stored})
        tables = _items(_need(f, "history", path))
        run.history = {table: {key: _rows(d) for key, d in _items(group)} for table, group in tables}
        run.step, run.epoch = header["step"], header["epoch"]
    return run


def _read_params(f: h5py.File, run: Run, path: Path) -> None:
    def read(name: str, like, decode=_transpose):
        return run.backend.asarray(_array(f, name, like, path, decode), run.config.dtype)

    run.params.weights = [read(f"model/W{l}", w) for l, w in enumerate(run.params.weights, 1)]
    if run.params.biases is not None:
        column = lambda stored: np.expand_dims(stored, -1)  # noqa: E731  (R, out) -> engine (R, out, 1)
        run.params.biases = [read(f"model/b{l}", b, column) for l, b in enumerate(run.params.biases, 1)]


def _read_optimiser(f: h5py.File, run: Run, path: Path) -> None:
    """The optimiser's step count and every slot the freshly built state names."""
    state = run.optimiser_state
    if not state.slots and "optimizer" not in f:  # plain SGD, saved before 12/2026: no state to read
        return
    group = _need(f, "optimizer", path)
    state.t = int(_need(group.attrs, "t", path))
    state.slots = {name: run.backend.asarray(_array(f, f"optimizer/{name}", a, path), run.config.dtype)
                   for name, a in state.slots.items()}


def _rows(dataset: h5py.Dataset, start: int = 0) -> list:
    """A history column from row ``start`` as train() keeps it: Python numbers, or host arrays."""
    data = dataset[start:]
    return data.tolist() if dataset.attrs.get("python_scalars", False) else [np.array(row) for row in data]


def peek(path) -> dict:
    """Header, config dict and the last row of each history table, without building a run."""
    path = Path(path)
    with _open(path) as f:
        tables = _items(_need(f, "history", path))
        last = {t: {k: _rows(d, len(d) - 1)[0] if len(d) else None for k, d in _items(g)} for t, g in tables}
        return {**_header(f, path), "config": upgraded(json.loads(_need(f.attrs, "config", path))), "last": last}


def blas_note(path) -> str | None:
    """One line when checkpoint ``path`` was saved under another BLAS build or thread count
    than this process has now: a resumed run's bits then differ from an uninterrupted one's.
    None when they agree, or for a checkpoint from before the record."""
    saved, now = peek(path), blas.measured()
    if saved["blas"] is None or (saved["blas"], saved["blas_threads"]) == (now["blas"], now["blas_threads"]):
        return None
    return (f"{path} was saved under {_blas_phrase(saved)}, this process has {_blas_phrase(now)}: the resumed "
            f"run's bits will differ from an uninterrupted run's (MINIFA_BLAS_THREADS={saved['blas_threads']} "
            "sets the count; the kernel follows the CPU or OPENBLAS_CORETYPE)")


def _blas_phrase(record: dict) -> str:
    threads = record["blas_threads"]
    return f"{record['blas']} with {threads} thread{'s' * (threads != 1)}"
