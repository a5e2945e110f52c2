"""Experiment results in HDF5, written one finished work unit at a time, atomically.

``results/<figure>.h5``::

    /            attrs: experiment, profile, config (JSON), config_hash, minifa_version, created,
                        sha256 (the header's digests: these attributes and that /units exists)
    /units/<key> one group per finished unit: its arrays; attrs params (JSON), the run's record
                        (seconds, device, cpu_seconds, cpu, blas, blas_threads: `local.timed`;
                        older files lack the last two or four), sha256 (the unit's digests: each
                        array and each attribute)
(after the HDF5 data) the seal: SHA-256 of the file's bytes, checked before parsing

Integrity (`minifa.integrity`): reading a file checks the header's digests and every unit's;
a damaged or missing array or attribute, or a file from an older minifa (no digests), is a
one-line ``ResultsError`` naming the file, the unit and the object, never a silent change of a
claim. The store holds the file's writer lock (`minifa.lock`) from opening to `close`, so a
second ``reproduce`` on the same file stops at once instead of racing the first.

Each write copies the file to a temporary name, adds the unit, fsyncs and renames, so a
``kill -9`` at any moment leaves the previous complete file and a rerun continues from the
units it holds (`minifa.atomic`). A file written for a different config (another hash) is moved
aside to ``<figure>.<old hash>.h5`` (``.1.h5``, ``.2.h5``, ... if taken), never overwritten, and the
experiment starts afresh, unless the new config only *extends* it: equal but in the store's
``extent`` keys (more seeds, say: keys whose growth only adds units), each only grown, with every stored unit
among the new ``units``, key and params alike. Such a file is resumed: its header takes the
new config (``extended_from``: the old hash) and only the new units run.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import weakref
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

from .. import __version__, integrity
from ..atomic import atomic_path
from ..errors import ResultsError
from ..integrity import UNITS
from ..lock import exclusive
from .framework import PLACEMENT, Unit, config_hash

RECORD = {"seconds", "cpu_seconds", "device", "cpu", "blas", "blas_threads"}  # what a unit keeps of its run


def _reading(path: Path):
    """The open results file, seal and digests checked (`minifa.integrity.open_checked`)."""
    if path.is_dir():
        raise ResultsError(f"{path} is a directory, not a results file; move it away and rerun")
    return integrity.open_checked(path, "results file", ResultsError, units=True)


def _read_header(path: Path) -> dict:
    with _reading(path) as f:
        return {k: f.attrs[k] for k in ("experiment", "profile", "config", "config_hash")}


def stored_profiles(results_dir: Path, names) -> dict[str, str]:
    """``{figure: profile}`` of the results files of figures ``names`` in ``results_dir``."""
    paths = {name: Path(results_dir) / f"{name}.h5" for name in names}
    return {name: str(_read_header(p)["profile"]) for name, p in paths.items() if p.is_file()}


def grows(old, new) -> bool:
    """Whether an extent value only grew: a list of counts (one per width, say: ``more_reps``)
    as long as the old one none smaller, any other list every old element, a dict every old
    item (a row or variant changed under its old name is not growth); other values may change,
    the stored units' params deciding."""
    if isinstance(old, list) and isinstance(new, list):
        if len(old) == len(new) and all(type(x) is int for x in old + new):
            return all(a <= b for a, b in zip(old, new))
        return all(x in new for x in old)
    if isinstance(old, dict) and isinstance(new, dict):
        return all(k in new and new[k] == v for k, v in old.items())
    return True


def extends(old: dict, new: dict, extent, stored: dict[str, dict], units) -> bool:
    """Whether config ``new`` only extends ``old``: equal but in the ``extent`` keys (and the
    placement ones), each of those only grown (`grows`), and every stored unit (``{key:
    params}``) one of ``new``'s ``units``."""
    def fixed(config):
        return {k: v for k, v in config.items() if k not in set(extent) | set(PLACEMENT)}
    wanted = {u.key: u.params for u in units}
    new = json.loads(json.dumps(new))  # the stored config's types: tuples as lists
    return bool(extent) and fixed(old) == fixed(new) and all(grows(old.get(k), new.get(k)) for k in extent) and all(
        key in wanted and json.loads(json.dumps(wanted[key])) == params for key, params in stored.items())


def _stored(path: Path) -> tuple[dict, dict[str, dict]]:
    """``(config, {unit key: params})`` of the results file ``path``."""
    with _reading(path) as f:
        return json.loads(f.attrs["config"]), {k: json.loads(g.attrs["params"]) for k, g in f[UNITS].items()}


@dataclass
class ResultStore:
    """The writer of one results file. ``extent`` (keys of the config whose growth only adds
    units, with ``units``, the new config's) lets a file of a smaller extent resume."""

    path: Path
    experiment: str
    profile: str
    config: dict
    extent: tuple[str, ...] = ()
    units: tuple[Unit, ...] = ()

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.hash = config_hash(self.config)
        self.moved_aside: Path | None = None  # where a file for another config went, for the caller to report
        self.extended_from: str | None = None  # the old hash of a file resumed with more extent
        self._lock = ExitStack()
        # the single writer: the lock's holder, which also removes the temps of killed writers
        self._lock.enter_context(exclusive(self.path))
        weakref.finalize(self, self._lock.close)  # a store dropped without close() lets go too
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the file's writer lock (also on ``with``'s exit)."""
        self._lock.close()

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _open(self) -> None:
        for old_temp in self.path.parent.glob(f"{self.path.name}.*.tmp"):  # pid-named temps of older minifa
            old_temp.unlink(missing_ok=True)
        old = _read_header(self.path)["config_hash"] if self.path.exists() else self.hash
        if old == self.hash:
            return
        config, stored = _stored(self.path)
        if extends(config, self.config, self.extent, stored, self.units):
            self._adopt(old)
        else:
            self._move_aside(old)

    def _move_aside(self, old: str) -> None:
        """Keep the file of config ``old`` as ``<figure>.<old>.h5`` (``.1.h5``, … if taken)."""
        aside = self.path.with_name(f"{self.path.stem}.{old}{self.path.suffix}")
        for n in itertools.count(1):  # config A -> B -> A -> B: keep both of A's files
            if not aside.exists():
                break
            aside = self.path.with_name(f"{self.path.stem}.{old}.{n}{self.path.suffix}")
        os.replace(self.path, aside)
        self.moved_aside = aside

    def _adopt(self, old: str) -> None:
        """Give the file of a smaller extent the new config (atomically), keeping its units."""
        with atomic_path(self.path) as temp:
            shutil.copyfile(self.path, temp)
            with h5py.File(temp, "a") as f:
                f.attrs.update(config=json.dumps(self.config, sort_keys=True), config_hash=self.hash, extended_from=old)
                integrity.stamp(f, skip=UNITS)
            integrity.seal(temp)
            _read_header(temp)
        self.extended_from = old

    def done(self) -> set[str]:
        """Keys of the units already in the file."""
        if not self.path.exists():
            return set()
        with _reading(self.path) as f:
            return set(f[UNITS].keys())

    def write_unit(self, unit: Unit, arrays: dict[str, np.ndarray], record: dict) -> None:
        """Add one finished unit: copy, append, fsync, rename (the single writer). ``record``:
        its run's ``seconds`` and ``device``, and optionally ``cpu_seconds``, ``cpu``, ``blas``
        and ``blas_threads``."""
        missing = {"seconds", "device"} - record.keys()
        if missing or not record.keys() <= RECORD:
            raise ValueError(f"a unit's record needs seconds and device, and only {sorted(RECORD)}: {sorted(record)}")
        with atomic_path(self.path) as temp:
            exists = self.path.exists()
            if exists:
                shutil.copyfile(self.path, temp)
            with h5py.File(temp, "a" if exists else "w") as f:
                if not exists:
                    self._write_header(f)
                group = f[UNITS].create_group(unit.key)
                for name, value in arrays.items():
                    group.create_dataset(name, data=np.asarray(value))
                group.attrs.update(params=json.dumps(unit.params), **record)
                integrity.stamp(group)
            integrity.seal(temp)
            _read_header(temp)  # the new file reads back, digests and all, before it replaces the old

    def _write_header(self, f: h5py.File) -> None:
        f.attrs.update(experiment=self.experiment, profile=self.profile, config=json.dumps(self.config, sort_keys=True),
                       config_hash=self.hash, minifa_version=__version__,
                       created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        f.create_group(UNITS)
        integrity.stamp(f, skip=UNITS)


@dataclass
class Results:
    """A read-only view of a results file: what plots and claims are computed from."""

    path: Path
    experiment: str
    profile: str
    config: dict
    units: dict[str, dict[str, np.ndarray]]
    params: dict[str, dict]
    records: dict[str, dict]  # per unit, what it kept of its run (RECORD; older files lack cpu*, blas*)

    @property
    def seconds(self) -> float:
        """The units' wall seconds, summed."""
        return sum(float(r["seconds"]) for r in self.records.values())

    @classmethod
    def load(cls, path) -> "Results":
        path = Path(path)
        units, params, records = {}, {}, {}
        with _reading(path) as f:
            header = {k: f.attrs[k] for k in ("experiment", "profile", "config")}
            for key in f[UNITS]:
                group = f[UNITS][key]
                units[key] = {name: group[name][()] for name in group}
                params[key] = json.loads(group.attrs["params"])
                records[key] = {k: group.attrs[k] for k in RECORD & set(group.attrs)}
        return cls(path, str(header["experiment"]), str(header["profile"]), json.loads(header["config"]),
                   units, params, records)

    def stack(self, name: str, **match) -> np.ndarray:
        """Array ``name`` of every unit whose params include ``match``, stacked (key order)."""
        return np.stack([self.units[k][name] for k in self.select(**match)])

    def select(self, **match) -> list[str]:
        """The keys of the units whose params include ``match`` (``select(rule="fa")``), sorted."""
        return sorted(k for k, p in self.params.items() if all(p.get(a) == b for a, b in match.items()))

    def unit(self, **match) -> dict[str, np.ndarray]:
        """The arrays of the one unit whose params include ``match`` (``unit(method="fa",
        scale=0.05)``): a unit is found by what it computed, never by re-typing its key."""
        keys = self.select(**match)
        if len(keys) != 1:
            wanted = ", ".join(f"{k}={v!r}" for k, v in match.items())
            if keys:  # the caller's match is too loose: a bug in the figure's module
                raise ResultsError(f"{self.path} has {len(keys)} units with {wanted} ({', '.join(keys)}); match more params")
            raise ResultsError(f"{self.path} has no unit with {wanted}; rerun reproduce {self.experiment} to complete it")
        return self.units[keys[0]]
