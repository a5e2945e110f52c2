"""What every experiment module shares: the figure (``Experiment``), work units, engine
configs, cached data, summaries.

A figure module (one per paper figure) ends with ``FIGURE = Experiment(...)``: its name,
title, a config dict per profile (``PROFILES``), ``units(config)``, ``run_unit(config, unit)
-> {name: array}`` (a pure function of its arguments, so any executor may run it anywhere),
``claims(results)`` and ``plot(results, png_path)``. Claims and plot read only the results
file, and find a unit by its params (``results.unit(scale=0.05)``, ``results.stack(name,
loss=...)``), never by its key. Discovery collects the ``FIGURE``s (``minifa.experiments``).
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Callable

import numpy as np

import minifa as mf
from minifa.data import DATA_DIR, load_data
from minifa.metrics import weight_alignment
from minifa.batches import epoch_batches
from minifa.training import evaluate_run

# Settings that say where or how to compute, not what: they stay out of the config hash.
PLACEMENT = ("device", "data_dir")


# Every figure's profiles, smallest last: the papers' scale, their lengths with fewer
# repetitions, a CPU session, CI.
PROFILES = ("paper", "long", "quick", "tiny")


@dataclass(frozen=True)
class Lazy:
    """The function ``module.name``, imported at its first call: a figure names its plot so,
    for the plot module imports matplotlib (slow, and not needed to compute) and may read the
    figure's module (importing the plot there would be a circle)."""

    module: str
    name: str = "plot"

    def __call__(self, *args):
        return getattr(importlib.import_module(self.module), self.name)(*args)


def no_claims(results) -> list:
    """A sweep's claims: it states none."""
    return []


@dataclass(frozen=True, kw_only=True, eq=False)  # eq=False: hashed by identity (its profiles are dicts)
class Experiment:
    """A figure, or a sweep (``minifa.experiments.sweep``): what the runner computes, stores,
    plots and judges. ``profiles``: a config dict per profile (a figure has every one of
    ``PROFILES``; the config is hashed into the results file)."""

    name: str
    title: str
    profiles: dict[str, dict]
    units: Callable[[dict], list[Unit]]
    run_unit: Callable[[dict, Unit], dict[str, np.ndarray]]
    claims: Callable[[Any], list] = no_claims
    plot: Callable[[Any, Any], None] | None = None
    extent: tuple[str, ...] = ()  # config keys whose growth only adds units (seeds): a file of fewer is extended
    paper: str = ""  # the paper a figure belongs to ("Chu & Bacho 2024"): the README's and report's grouping


@dataclass(frozen=True)
class Unit:
    """One chunk of ensemble members: a stable key and its JSON parameters."""

    key: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)


# When every band of a known disagreement was declared: after its data had been seen.
BANDS_DECLARED = "band after the data (issue 24, commit 0ac8542)"


@dataclass(frozen=True)
class Known:
    """A disagreement with the paper, declared in the module per claim and setting: its
    ``reason``, when it was declared relative to the data (``declared``, with the commit),
    and ``band``, the `compare` verdict ``(inside, margin)`` of the value against the band the
    disagreement is expected to stay in. A known claim outside its band fails ``--check``."""

    reason: str
    declared: str
    band: tuple[bool, str] = (False, "no band declared")

    def banded(self, verdict: tuple[bool, str]) -> "Known":
        """This declaration with its band judged: ``verdict`` from `compare`."""
        return replace(self, band=(bool(verdict[0]), verdict[1]))


@dataclass(frozen=True)
class Claim:
    """A statement of the paper, the paper's number (or saved mean ± sd, or an explicit
    effect size), ours (mean ± sd over n seeds), whether ours passes the ``margin`` (the rule
    with its numbers, `compare`), and ``known``: the declared disagreement, if any (`Known`);
    ``reproduce --check`` passes a "no" only inside its declared band, like pytest's ``xfail``."""

    figure: str
    statement: str
    paper: str
    measured: str
    holds: bool
    margin: str = ""
    known: Known | None = None

    @classmethod
    def checked(cls, figure: str, statement: str, paper: str, measured: str, verdict: tuple[bool, str],
                known: Known | None = None) -> "Claim":
        """A claim from a `compare` verdict ``(holds, margin)``."""
        return cls(figure, statement, paper, measured, verdict[0], verdict[1], known)

    @property
    def as_declared(self) -> bool:
        """A "no" that is a declared disagreement inside its band."""
        return not self.holds and self.known is not None and self.known.band[0]

    @property
    def unexpected(self) -> bool:
        """A "no" that ``--check`` fails on: undeclared, or outside its declared band."""
        return not self.holds and not self.as_declared

    @property
    def verdict(self) -> str:
        """``yes``, ``**no**``, ``no, as declared: …`` or ``**no, outside its declared band**: …``
        (the claims table's last column), with the declaration's timing."""
        if self.holds:
            return "yes"
        if self.known is None:
            return "**no**"
        k = self.known
        if k.band[0]:
            return f"no, as declared: {k.reason} (declared: {k.declared}); band {k.band[1]}"
        return f"**no, outside its declared band**: {k.band[1]} (declared: {k.declared}; reason: {k.reason})"


def banded(known: Known | None, band) -> Known | None:
    """``known`` with its band judged (``band()``, a `compare` verdict, computed only when a
    disagreement is declared); None if none is."""
    return None if known is None else known.banded(band())


def config_hash(config: dict) -> str:
    """Hash of what determines the numbers (placement settings excluded)."""
    essential = {k: v for k, v in config.items() if k not in PLACEMENT}
    return hashlib.sha256(json.dumps(essential, sort_keys=True).encode()).hexdigest()[:16]


def engine_config(config: dict, **overrides) -> mf.Config:
    """An engine ``Config`` from an experiment config's common keys, plus overrides."""
    common = {k: config[k] for k in ("layers", "activation", "loss", "dtype", "lr", "batch_size",
                                     "dataset", "dataset_options") if k in config}
    return mf.Config(**{**common, **overrides})


@lru_cache(maxsize=4)
def _device_data(device: str, dataset: str, options: str, dtype: str, data_dir: str):
    backend = mf.get_backend(device)
    # the engine Config's first seed, 0, draws the data: every unit of a figure sees the same
    host = load_data(engine_config({"dataset": dataset, "dataset_options": json.loads(options)}), data_dir)
    return backend, mf.DeviceData.from_dataset(backend, host, dtype)


def device_data(config: dict):
    """(backend, DeviceData) for the config's data set, loaded once per process."""
    return _device_data(config.get("device", "auto"), config["dataset"],
                        json.dumps(config.get("dataset_options", {}), sort_keys=True),
                        config["dtype"], config.get("data_dir", DATA_DIR))


def device_backend(config: dict):
    """The config's backend, for experiments that make their own data (no data set to load)."""
    return mf.get_backend(config.get("device", "auto"))


def fresh_run(config: dict, **overrides):
    """A new run (``mf.build`` of ``engine_config``) on the config's device, plus its data:
    ``(run, data)``."""
    backend, data = device_data(config)
    cfg = engine_config(config, **overrides)
    return mf.build(cfg, backend), data


def take_steps(run, data, n: int, measure: bool = False) -> list[dict[str, np.ndarray]]:
    """The first ``n`` SGD updates of a fresh run in its data order (within one epoch);
    returns each step's metrics on the host when ``measure``."""
    rows = []
    for step, (x, targets, labels) in zip(range(n), epoch_batches(run, data)):
        metrics = mf.train_step(run, x, targets, labels, measure)
        if measure:
            rows.append(to_host(run, metrics))
    return rows


def test_accuracy(run, data) -> np.ndarray:
    return run.backend.to_host(evaluate_run(run, data)["accuracy"])


def train_with_weight_alignment(run, data) -> np.ndarray:
    """Train ``run`` (``mf.train``) and return cos(W_l, B_l) before training and at the end of
    every epoch: (epochs + 1, members, layers). Weight alignment is a state, so the paper's
    per-epoch value is the one at the epoch's end, not a mean over the epoch."""
    def now(run):
        return run.backend.to_host(weight_alignment(run.xp, run.params, run.rule.weight_feedback(run.params)))

    rows = [now(run)]
    mf.train(run, data, on_epoch=lambda run: rows.append(now(run)))
    return np.stack(rows)


def per_epoch_mean(run, key: str) -> np.ndarray:
    """Average a per-update metric over each epoch's measured updates (every
    ``metrics_every``-th step): shape (epochs, ...)."""
    steps = run.history["steps"]
    epochs, values = np.asarray(steps["epoch"]), np.stack(steps[key])
    return np.stack([np.nanmean(values[epochs == e], axis=0) for e in np.unique(epochs)])


def layer_name(l: int, depth: int) -> str:
    """The papers' name of layer ``l`` (0-based) of ``depth``: "hidden 1", …, "output"."""
    return "output" if l == depth - 1 else f"hidden {l + 1}"


def table(run, name: str, key: str) -> np.ndarray:
    """Column ``key`` of history table ``name`` ("epochs" or "steps"), rows stacked."""
    return np.stack(run.history[name][key])


def to_host(run, arrays: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.asarray(run.backend.to_host(v) if not isinstance(v, np.ndarray) else v) for k, v in arrays.items()}

