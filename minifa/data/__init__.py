"""Data sources for minifa: MNIST (as IDX; the README's "Where the data comes from") and
the synthetic sets.

Every loader returns a `Dataset` in Flux's layout, samples as columns (Flux's ``Dense``
takes ``features × batch``): ``x`` is ``features × N``, ``y`` is ``outputs × N``.
"""

from __future__ import annotations

import inspect
import json
import os
from functools import lru_cache

import numpy as np

from minifa.data.dataset import Dataset, one_hot
from minifa.data.idx import read_idx, write_idx
from minifa.data.mnist import DATA_DIR, fetch_mnist, load_mnist
from minifa.data.synthetic import gaussian_teacher, synthetic_classes
from minifa.errors import ConfigError, DataError, choose

DATASETS = ("mnist", "gaussian", "synthetic")

__all__ = [
    "DATA_DIR",
    "DATASETS",
    "Dataset",
    "fetch_mnist",
    "gaussian_teacher",
    "load_data",
    "load_dataset",
    "load_mnist",
    "one_hot",
    "read_idx",
    "synthetic_classes",
    "write_idx",
]


def load_dataset(name: str, *, data_dir: str | os.PathLike = DATA_DIR,
                 seed: int | np.random.Generator = 0, standardise: bool = False,
                 **options) -> Dataset:
    """Load data set ``name`` (one of `DATASETS`).

    - ``"mnist"``: `load_mnist` from ``data_dir`` (``seed`` unused: the data are fixed).
    - ``"gaussian"``: `gaussian_teacher` with ``rng=seed``; ``options`` are its n, d,
      activation, width.
    - ``"synthetic"``: `synthetic_classes` with ``rng=seed``; ``options`` are its n_train,
      n_test, d, classes.
    ``standardise`` (Song et al.'s MNIST normalisation) applies to MNIST only.
    """
    choose("data set", name, DATASETS, DataError)
    if name == "mnist":
        if options:
            raise ConfigError(f"mnist takes no options, got {', '.join(sorted(options))}")
        return load_mnist(data_dir, standardise=standardise)
    # Refuse rather than ignore: a silently unstandardised run would be a wrong experiment.
    if standardise:
        raise ConfigError(f"standardise applies to mnist only, not {name}; drop it")
    loader = gaussian_teacher if name == "gaussian" else synthetic_classes
    return loader(rng=seed, **checked_options(loader, name, options))


def checked_options(loader, name: str, options: dict) -> dict:
    """``options`` if ``loader`` takes each of them with a value of its default's type (an
    int where the default is an int, ...), else a one-line ``ConfigError`` naming the fix."""
    params = {p.name: p.default for p in inspect.signature(loader).parameters.values() if p.name != "rng"}
    for key, value in options.items():
        if key not in params:
            raise ConfigError(f"data set {name!r} has no option {key!r}; its options: {', '.join(params)}")
        kind = int if key == "width" else type(params[key])  # width's default None means "d"
        if type(value) is not kind:
            raise ConfigError(f"data set option {key}={value!r} must be of type {kind.__name__}, e.g. {key}={params[key] or 100}")
    return options


def load_data(config, data_dir: str | os.PathLike = DATA_DIR) -> Dataset:
    """The data set a run's ``Config`` names (``dataset``, ``dataset_options``), drawn where it
    is random from its first member's seed: what ``train``, a sweep point and a figure's unit
    train on. Loaded once per process and shared, so never changed in place."""
    return _load(config.dataset, json.dumps(config.dataset_options, sort_keys=True), config.seeds[0], str(data_dir))


@lru_cache(maxsize=2)
def _load(name: str, options: str, seed: int, data_dir: str) -> Dataset:
    return load_dataset(name, data_dir=data_dir, seed=seed, **json.loads(options))
