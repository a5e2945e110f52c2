"""The `Dataset` container shared by every data source, and Flux's one-hot encoding.

Layout follows Julia/Flux: samples are **columns** (Flux's ``Dense`` takes ``features × batch``),
so inputs are ``features × N`` and targets ``outputs × N``; a batch is ``x[:, idx]``, as
MLUtils' ``DataLoader`` slices the last axis.
It lives in its own module so that `mnist` and `synthetic` can import it without a cycle
through the package ``__init__``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from minifa.errors import DataError


@dataclass(frozen=True, eq=False)  # eq=False: `==` on arrays is elementwise, not a bool
class Dataset:
    """Train and test splits, samples as columns.

    - ``x_*``: ``features × N`` float inputs.
    - ``y_*``: classification: one-hot ``classes × N`` float32 (Flux ``onehotbatch`` order);
      regression: float targets ``outputs × N``.
    - ``labels_*``: int64 class indices (length N), or None for regression.
    - ``fresh``: an online set's sampler ``(generator, n) -> (x, y)``: every epoch then
      trains on ``n_train`` new samples drawn from each member's data stream
      (``batches.epoch_batches``), ``x_train`` only giving the shapes; None: a fixed set.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    labels_train: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    labels_test: np.ndarray | None
    name: str
    fresh: Callable | None = None

    def __post_init__(self) -> None:
        # A mismatch here is a bug in a loader; catch it before it becomes a silent broadcast.
        for split in ("train", "test"):
            x, y, labels = (getattr(self, f"{f}_{split}") for f in ("x", "y", "labels"))
            n = x.shape[1] if x.ndim == 2 else None
            if n is None or y.ndim != 2 or y.shape[1] != n:
                raise ValueError(f"{self.name} {split}: x {x.shape} and y {y.shape} are not ? × N")
            if labels is not None and labels.shape != (n,):
                raise ValueError(f"{self.name} {split}: labels {labels.shape}, expected ({n},)")


def one_hot(labels: np.ndarray, classes: int = 10, dtype=np.float32) -> np.ndarray:
    """``classes × N`` one-hot matrix: column j is the indicator of ``labels[j]``.

    Equals ``Flux.onehotbatch(labels, 0:classes-1)`` as floats (OneHotArrays.jl, one column per label).
    Labels outside ``0..classes-1`` raise `DataError` (NumPy would wrap negatives silently).
    """
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise DataError(
            f"labels range {labels.min()}..{labels.max()}, outside 0..{classes - 1}; "
            f"check the label file or the number of classes"
        )
    return np.eye(classes, dtype=dtype)[:, labels]


def held_out(data: Dataset, n: int) -> Dataset:
    """``data`` with its last ``n`` training samples as the test set and the rest as the
    training set: a validation split, so that a search over settings never sees the test set."""
    total = data.x_train.shape[1]
    if type(n) is not int or not 0 < n < total:
        raise DataError(f"validation {n!r} must be a whole number of training samples in 1..{total - 1}, e.g. 10000")
    labels = data.labels_train
    return Dataset(data.x_train[:, :-n], data.y_train[:, :-n], None if labels is None else labels[:-n],
                   data.x_train[:, -n:], data.y_train[:, -n:], None if labels is None else labels[-n:],
                   f"{data.name}-validation")


def with_label_noise(data: Dataset, fraction: float, rng: np.random.Generator) -> Dataset:
    """``data`` with each train and test label replaced, with probability ``fraction``, by a
    uniform draw over the classes (possibly itself: Refinetti et al.'s ``shuffle_labels``),
    y re-encoded one-hot. Train is drawn before test, from ``rng``."""
    if not 0.0 <= fraction <= 1.0 or data.labels_train is None:
        raise DataError(f"label_noise {fraction!r} needs a classification set and a value in [0, 1], e.g. 0.2")
    classes = data.y_train.shape[0]

    def relabel(labels):
        swap = rng.random(labels.shape) < fraction
        return np.where(swap, rng.integers(0, classes, labels.shape), labels)

    train, test = relabel(data.labels_train), relabel(data.labels_test)
    return Dataset(data.x_train, one_hot(train, classes, data.y_train.dtype), train,
                   data.x_test, one_hot(test, classes, data.y_test.dtype), test, data.name)
