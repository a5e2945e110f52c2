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

from minifa.data.dataset import Dataset, held_out, one_hot, with_label_noise
from minifa.data.idx import read_idx, write_idx
from minifa.data.mnist import DATA_DIR, fetch_mnist, load_mnist, pooled
from minifa.data.synthetic import gaussian_teacher, synthetic_classes, teacher_network
from minifa.errors import ConfigError, DataError, choose

DATASETS = ("mnist", "gaussian", "synthetic", "teacher")
LOADERS = {"gaussian": gaussian_teacher, "synthetic": synthetic_classes, "teacher": teacher_network}

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
    "teacher_network",
    "write_idx",
]


def load_dataset(name: str, *, data_dir: str | os.PathLike = DATA_DIR,
                 seed: int | np.random.Generator = 0, standardise: bool = False,
                 label_noise: float = 0.0, **options) -> Dataset:
    """Load data set ``name`` (one of `DATASETS`).

    - ``"mnist"``: `load_mnist` from ``data_dir`` (``seed`` unused: the data are fixed).
    - ``"gaussian"``: `gaussian_teacher` with ``rng=seed``; ``options`` are its n, d,
      activation, width.
    - ``"synthetic"``: `synthetic_classes` with ``rng=seed``; ``options`` are its n_train,
      n_test, d, classes.
    - ``"teacher"``: `teacher_network` with ``rng=seed`` (online: fresh training samples
      every epoch); ``options`` are its layers, activation, weight_range, n_train, n_test.
    ``standardise`` (Song et al.'s MNIST normalisation), ``pool`` (k × k block means:
    pool=2 gives 14 × 14, `pooled`) and ``validation`` n > 0 (the last n training samples
    as the test set, `held_out`: for choosing settings without the test set) apply to
    MNIST only. ``label_noise`` p > 0 relabels a
    classification set (`with_label_noise`, from its own stream of ``seed``).
    """
    choose("data set", name, DATASETS, DataError)
    data = _clean(name, data_dir, seed, standardise, **options)
    if not label_noise:
        return data
    # An int seed's noise stream is offset so that it never repeats the loader's draws.
    rng = np.random.default_rng([int(seed), 1]) if isinstance(seed, (int, np.integer)) else seed
    return with_label_noise(data, label_noise, rng)


def _clean(name, data_dir, seed, standardise, pool: int = 1, validation: int = 0, **options) -> Dataset:
    if name == "mnist":
        if options:
            raise ConfigError(f"mnist takes no options but standardise, pool, validation and label_noise, got {', '.join(sorted(options))}")
        data = load_mnist(data_dir, standardise=standardise)
        if pool != 1:
            data = Dataset(pooled(data.x_train, pool), data.y_train, data.labels_train,
                           pooled(data.x_test, pool), data.y_test, data.labels_test, data.name)
        return held_out(data, validation) if validation else data
    for key, value, default in (("pool", pool, 1), ("validation", validation, 0)):
        if value != default:
            raise ConfigError(f"{key} applies to mnist only, not {name}; drop it")
    # Refuse rather than ignore: a silently unstandardised run would be a wrong experiment.
    if standardise:
        raise ConfigError(f"standardise applies to mnist only, not {name}; drop it")
    loader = LOADERS[name]
    return loader(rng=seed, **checked_options(loader, name, options))


def checked_options(loader, name: str, options: dict) -> dict:
    """``options`` if ``loader`` takes each of them with a value of its default's type (an
    int where the default is an int, ...), else a one-line ``ConfigError`` naming the fix."""
    params = {p.name: p.default for p in inspect.signature(loader).parameters.values() if p.name != "rng"}
    for key, value in options.items():
        if key not in params:
            raise ConfigError(f"data set {name!r} has no option {key!r}; its options: {', '.join(params)}")
        kind = int if key == "width" else type(params[key])  # width's default None means "d"
        kind = list if kind is tuple else kind  # a tuple default is a JSON list
        if type(value) is not kind and not (kind is float and type(value) is int):
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
