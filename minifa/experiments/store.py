"""Experiment results in HDF5, written one finished work unit at a time, atomically.

``results/<figure>.h5``::

    /            attrs: experiment, profile, config (JSON), config_hash, minifa_version, created
    /units/<key> one group per finished unit: its arrays; attrs params (JSON), seconds, device

Each write copies the file to a temporary name, adds the unit, fsyncs and renames, so a
``kill -9`` at any moment leaves the previous complete file and a rerun continues from the
units it holds (`minifa.atomic`). A file written for a different config (another hash) is moved
aside to ``<figure>.<old hash>.h5`` (``.1.h5``, ``.2.h5``, ... if taken), never overwritten, and the
experiment starts afresh.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from ..atomic import atomic_path, stale_temps
from ..errors import ResultsError
from .framework import Unit, config_hash


def _read_header(path: Path) -> dict:
    try:
        with h5py.File(path, "r") as f:
            return {k: f.attrs[k] for k in ("experiment", "profile", "config", "config_hash")}
    except (OSError, KeyError) as err:
        raise ResultsError(f"{path}: not a readable minifa results file ({err}); move it away and rerun") from None


@dataclass
class ResultStore:
    path: Path
    experiment: str
    profile: str
    config: dict

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.hash = config_hash(self.config)
        self.moved_aside: Path | None = None  # where a file for another config went, for the caller to report
        # temps of killed writers (this store is the file's single writer); pid-named ones are from older minifa
        for stale in stale_temps(self.path) + list(self.path.parent.glob(f"{self.path.name}.*.tmp")):
            stale.unlink(missing_ok=True)
        old = _read_header(self.path)["config_hash"] if self.path.exists() else self.hash
        if old != self.hash:
            aside = self.path.with_name(f"{self.path.stem}.{old}{self.path.suffix}")
            for n in itertools.count(1):  # config A -> B -> A -> B: keep both of A's files
                if not aside.exists():
                    break
                aside = self.path.with_name(f"{self.path.stem}.{old}.{n}{self.path.suffix}")
            os.replace(self.path, aside)
            self.moved_aside = aside

    def done(self) -> set[str]:
        """Keys of the units already in the file."""
        if not self.path.exists():
            return set()
        with h5py.File(self.path, "r") as f:
            return set(f["units"].keys()) if "units" in f else set()

    def write_unit(self, unit: Unit, arrays: dict[str, np.ndarray], seconds: float, device: str) -> None:
        """Add one finished unit: copy, append, fsync, rename (the single writer)."""
        with atomic_path(self.path) as temp:
            exists = self.path.exists()
            if exists:
                shutil.copyfile(self.path, temp)
            with h5py.File(temp, "a" if exists else "w") as f:
                if not exists:
                    self._write_header(f)
                group = f.require_group("units").create_group(unit.key)
                for name, value in arrays.items():
                    group.create_dataset(name, data=np.asarray(value))
                group.attrs.update(params=json.dumps(unit.params), seconds=seconds, device=device)

    def _write_header(self, f: h5py.File) -> None:
        f.attrs.update(experiment=self.experiment, profile=self.profile, config=json.dumps(self.config, sort_keys=True),
                       config_hash=self.hash, minifa_version=__version__,
                       created=datetime.now(timezone.utc).isoformat(timespec="seconds"))


@dataclass
class Results:
    """A read-only view of a results file: what plots and claims are computed from."""

    path: Path
    experiment: str
    profile: str
    config: dict
    units: dict[str, dict[str, np.ndarray]]
    params: dict[str, dict]
    seconds: float

    @classmethod
    def load(cls, path) -> "Results":
        path = Path(path)
        header = _read_header(path)
        units, params, seconds = {}, {}, 0.0
        with h5py.File(path, "r") as f:
            for key, group in f.get("units", {}).items():
                units[key] = {name: group[name][()] for name in group}
                params[key] = json.loads(group.attrs["params"])
                seconds += float(group.attrs["seconds"])
        return cls(path, str(header["experiment"]), str(header["profile"]), json.loads(header["config"]),
                   units, params, seconds)

    def stack(self, name: str, where=lambda params: True) -> np.ndarray:
        """Array ``name`` of every unit whose params satisfy ``where``, stacked (key order)."""
        keys = sorted(k for k in self.units if where(self.params[k]))
        return np.stack([self.units[k][name] for k in keys])

    def select(self, **match) -> list[str]:
        return sorted(k for k, p in self.params.items() if all(p.get(a) == b for a, b in match.items()))
