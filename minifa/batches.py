"""Minibatches on the device, in Flux ``DataLoader`` order.

Minibatches follow MLUtils' ``DataLoader(shuffle=true)``: a new permutation of the training
set at the start of every epoch, consecutive blocks of it as batches, a short last batch
kept (``partial=true``). Each member draws its order from its own ``data`` stream, or all
share member 0's (``shared_order``). ``shuffle=False`` keeps data order: full-batch gradient
descent when the batch is the whole set (``batch_size`` 0, Song et al.). ``run`` is a
``config.Run``, read for its config, streams and backend only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .data.dataset import Dataset
from .errors import ConfigError
from .fastpaths import ops


@dataclass
class DeviceData:
    """A data set on the device: features × samples, targets, integer labels (or None).

    ``from_dataset`` stores the training arrays samples-major, (N, features) contiguous, and
    ``x_train`` / ``y_train`` are their features × samples transposed views: a minibatch is
    then B contiguous rows (``rows_*``) instead of B scattered columns, several times faster
    on a CPU, and the maths still sees (features, batch)."""

    x_train: Any
    y_train: Any
    labels_train: Any
    x_test: Any
    y_test: Any
    labels_test: Any
    rows_x: Any = None  # (N, features) with x_train == rows_xᵀ, or None: gather columns
    rows_y: Any = None
    fresh: Any = None  # an online set's host sampler (``Dataset.fresh``), or None

    @classmethod
    def from_dataset(cls, backend, dataset, dtype: str, net=None) -> "DeviceData":
        """Move a host data set to the device; with ``net``, check that the sizes fit it."""
        if net is not None:
            check_fits(net, dataset)

        def labels(a):
            return None if a is None else backend.asarray(np.asarray(a, dtype=np.int64))

        xp = backend.xp
        rows_x = backend.asarray(np.asarray(dataset.x_train).T, dtype)
        rows_y = backend.asarray(np.asarray(dataset.y_train).T, dtype)
        return cls(
            xp.permute_dims(rows_x, (1, 0)), xp.permute_dims(rows_y, (1, 0)),
            labels(dataset.labels_train), backend.asarray(dataset.x_test, dtype),
            backend.asarray(dataset.y_test, dtype), labels(dataset.labels_test), rows_x, rows_y,
            dataset.fresh if isinstance(dataset, Dataset) else None,  # bench's and tests' stand-ins are fixed sets
        )

    @property
    def n_train(self) -> int:
        return self.x_train.shape[-1]


def check_fits(net, dataset) -> None:
    """One-line errors for data that does not fit the network's input or output size."""
    features, outputs = dataset.x_train.shape[0], dataset.y_train.shape[0]
    if features != net.sizes[0]:
        raise ConfigError(f"the network takes {net.sizes[0]} inputs but the data have {features} features; set the first layer size to {features}")
    if outputs != net.sizes[-1]:
        raise ConfigError(f"the network has {net.sizes[-1]} outputs but the targets have {outputs} rows; set the last layer size to {outputs}")


def epoch_order(run, n: int):
    """This epoch's sample order: (N,) shared by all members, or (R, N) one per member."""
    cfg = run.config
    if not cfg.shuffle:
        return np.arange(n)
    if cfg.shared_order:
        return run.streams[0]["data"].permutation(n)
    return np.stack([s["data"].permutation(n) for s in run.streams])


def gather(xp, array, index):
    """Samples ``array[..., index]``: an (R, B) index gives the member axis first,
    (R, features, B) for features × samples data and (R, B) for labels."""
    if index is None or index.ndim == 1:  # (a samples-major copy gathers faster: gather_rows)
        return array if index is None else ops(xp).take_last(array, index)
    lead = tuple(array.shape[:-1])
    flat = ops(xp).take_last(array, xp.reshape(index, (-1,)))
    picked = xp.reshape(flat, lead + tuple(index.shape))
    return xp.permute_dims(picked, (1, 0, 2)) if lead else picked


def gather_rows(xp, rows, index):
    """``gather`` from a samples-major (N, features) array: contiguous rows, then the
    features × batch view the maths expects, (features, B) or (R, features, B)."""
    if index.ndim == 1:
        return xp.permute_dims(xp.take(rows, index, axis=0), (1, 0))
    flat = xp.take(rows, xp.reshape(index, (-1,)), axis=0)
    picked = xp.reshape(flat, tuple(index.shape) + (rows.shape[1],))
    return xp.permute_dims(picked, (0, 2, 1))


def fresh_samples(run, data: DeviceData):
    """An online set's epoch: ``n_train`` new samples per member from its own data stream,
    (R, features, N) and (R, outputs, N) on the device."""
    drawn = [data.fresh(s["data"], data.n_train) for s in run.streams]
    x, y = (run.backend.asarray(np.stack(part), run.config.dtype) for part in zip(*drawn))
    return x, y


def epoch_batches(run, data: DeviceData):
    """This epoch's minibatches ``(x, targets, labels)``, in DataLoader order; on an online
    set (``data.fresh``), consecutive batches of fresh samples. Drawing the order (or the
    samples) consumes the members' data streams, so call it once per epoch; experiments that
    need step-level control (Figure 5's swap mid-epoch) iterate it themselves."""
    xp, cfg, n = run.xp, run.config, data.n_train
    if data.fresh is not None:
        x, y = fresh_samples(run, data)
        size = cfg.batch_of(n)
        for start in range(0, n, size):
            yield x[..., start : min(start + size, n)], y[..., start : min(start + size, n)], None
        return
    order, size = run.backend.asarray(epoch_order(run, n)), cfg.batch_of(n)
    for start in range(0, n, size):
        index = order[..., start : min(start + size, n)]
        if not cfg.shuffle and size == n:
            index = None  # full-batch GD: the whole set, as stored
        labels = None if data.labels_train is None else gather(xp, data.labels_train, index)
        if index is not None and data.rows_x is not None:
            yield gather_rows(xp, data.rows_x, index), gather_rows(xp, data.rows_y, index), labels
        else:
            yield gather(xp, data.x_train, index), gather(xp, data.y_train, index), labels
