"""The training loop: Flux ``DataLoader`` minibatches, one SGD step per batch, metrics.

Minibatches follow MLUtils' ``DataLoader(shuffle=true)``: a new permutation of the training
set at the start of every epoch, consecutive blocks of it as batches, a short last batch
kept (``partial=true``). Each member draws its order from its own ``data`` stream, or all
share member 0's (``shared_order``). ``shuffle=False`` keeps data order: full-batch gradient
descent when the batch is the whole set (Song et al.).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .blas import rebalance_blas_threads
from .fastpaths import ops
from .config import Run
from .errors import ConfigError, DivergenceError
from .losses import accuracy
from .metrics import (batch_loss, evaluate, factored_alignment, gradient_alignment, signal_alignment, update_norms,
                      weight_alignment)
from .network import backpropagate, forward, gradient, output_error, sgd_step, sgd_step_deltas, updates_from_deltas
from .rules import Rule


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


def epoch_order(run: Run, n: int):
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


def step_metrics(run: Run, cache, e, updates, labels, deltas=None) -> dict[str, Any]:
    """Everything recorded for one step, at the weights *before* the update. With the
    rule's layer errors ``deltas``, the alignments come from Gram matrices (no ΔW formed)."""
    xp, dtype = run.xp, run.params.weights[0].dtype
    if deltas is not None:
        true = deltas if run.rule.exact else backpropagate(xp, run.net, cache, e, run.params.weights)
        aligned, norms = factored_alignment(xp, cache.inputs, deltas, true, dtype)
        out = {"gradient_alignment": aligned, "update_norm": norms}
    else:
        true = gradient(xp, run.net, run.params, cache, e)
        out = {
            "gradient_alignment": gradient_alignment(xp, updates, true, dtype),
            "update_norm": update_norms(xp, updates, run.params.members, dtype),
        }
    if labels is not None:
        out["accuracy"] = accuracy(xp, cache.output, labels)
    feedback = run.rule.weight_feedback(run.params)
    if feedback is not None:
        out["weight_alignment"] = weight_alignment(xp, run.params, feedback)
        out["signal_alignment"] = signal_alignment(xp, e, feedback[-1], run.params.weights[-1])
    return out


def _first_bad(backend, flags) -> int | None:
    bad = np.flatnonzero(~backend.to_host(flags))
    return int(bad[0]) if bad.size else None


def check_finite(run: Run, loss=None) -> None:
    """Stop at the first NaN or Inf with a message naming the step, member and layer.

    Every step checks the batch loss (R numbers, cheap); with ``loss=None`` every weight is
    scanned, as at each epoch's end, since a saturated tanh can hide an infinite weight
    from the loss."""
    xp, backend = run.xp, run.backend
    if loss is not None and bool(xp.all(xp.isfinite(loss))):
        return
    for l, w in enumerate(run.params.weights):
        member = _first_bad(backend, xp.all(xp.isfinite(xp.reshape(w, (w.shape[0], -1))), axis=1))
        if member is not None:
            where = f"member {member} (seed {run.config.seeds[member]}), layer {l + 1} weights are NaN/Inf"
            raise DivergenceError(f"training diverged at step {run.step}: {where}; lower the learning rate or the init scale")
    member = None if loss is None else _first_bad(backend, xp.isfinite(loss))
    if member is not None:
        raise DivergenceError(
            f"training diverged at step {run.step}: member {member} (seed {run.config.seeds[member]}) "
            "has a NaN/Inf loss; lower the learning rate or the init scale"
        )


def record(history: dict[str, dict[str, list]], table: str, backend, values: dict[str, Any]) -> None:
    """Append one row to ``history[table]`` ("steps" or "epochs"), as host values."""
    rows = history.setdefault(table, {})
    for key, value in values.items():
        rows.setdefault(key, []).append(value if isinstance(value, (int, float)) else backend.to_host(value))


def train_step(run: Run, x, targets, labels, measure: bool) -> dict[str, Any]:
    """Forward, output error, the rule's updates, ``W ← W − η (ΔW + λW)``; metrics optional."""
    xp, cfg = run.xp, run.config
    cache = forward(xp, run.net, run.params, x)
    e = output_error(xp, run.net, cache, targets)
    loss = batch_loss(xp, run.net, cache, targets)
    check_finite(run, loss)
    metrics = {"loss": loss}
    deltas, updates = rule_outputs(run, cache, e)
    if measure:
        metrics.update(step_metrics(run, cache, e, updates, labels, deltas))
    if updates is None:  # W ← W − η (δ xᵀ + λW), one fused GEMM per layer
        sgd_step_deltas(xp, run.params, cache, deltas, cfg.lr, run.decay())
    else:
        sgd_step(run.params, updates, cfg.lr, run.decay())
        run.rule.after_step(run.params, updates, cfg.lr)
    run.step += 1
    return metrics


def rule_outputs(run: Run, cache, e) -> tuple[list | None, list | None]:
    """``(deltas, updates)``: the rule's layer errors where its updates are ``δ_l x_lᵀ`` (else
    None), and its updates ``ΔW`` only where they must be formed: for a rule without layer
    errors, or one whose ``after_step`` reads them (Kolen-Pollack). ΔW is the step's largest
    temporary (weight-sized) and one more pass over memory; the fused update never forms it."""
    rule = run.rule
    deltas = rule.deltas(run.params, cache, e) if rule.factored() else None
    if deltas is None:
        return None, rule.updates(run.params, cache, e)
    if type(rule).after_step is Rule.after_step:
        return deltas, None
    return deltas, updates_from_deltas(run.xp, run.net, cache, deltas)


def evaluate_run(run: Run, data: DeviceData) -> dict[str, Any]:
    """Test loss and accuracy of every member (the paper's accuracies are on the test set)."""
    return evaluate(run.xp, run.net, run.params, data.x_test, data.y_test, data.labels_test)


def epoch_batches(run: Run, data: DeviceData):
    """This epoch's minibatches ``(x, targets, labels)``, in DataLoader order. Drawing the
    order consumes the members' data streams, so call it once per epoch; experiments that
    need step-level control (Figure 5's swap mid-epoch) iterate it themselves."""
    xp, cfg, n = run.xp, run.config, data.n_train
    order = run.backend.asarray(epoch_order(run, n))
    for start in range(0, n, cfg.batch_size):
        index = order[..., start : min(start + cfg.batch_size, n)]
        if not cfg.shuffle and cfg.batch_size >= n:
            index = None  # full-batch GD: the whole set, as stored
        labels = None if data.labels_train is None else gather(xp, data.labels_train, index)
        if index is not None and data.rows_x is not None:
            yield gather_rows(xp, data.rows_x, index), gather_rows(xp, data.rows_y, index), labels
        else:
            yield gather(xp, data.x_train, index), gather(xp, data.y_train, index), labels


def train_epoch(run: Run, data: DeviceData, on_step: Callable | None = None) -> None:
    """One epoch of SGD steps; step metrics every ``metrics_every`` steps, then the epoch row."""
    cfg, loss_sum, count = run.config, 0.0, 0
    rebalance_blas_threads()  # other minifa processes may have started or ended
    for x, targets, labels in epoch_batches(run, data):
        measure = cfg.metrics_every > 0 and run.step % cfg.metrics_every == 0
        step = run.step
        metrics = train_step(run, x, targets, labels, measure)
        loss_sum, count = loss_sum + metrics["loss"], count + 1
        if measure:
            record(run.history, "steps", run.backend, {"step": step, "epoch": run.epoch, **metrics})
        if on_step is not None:
            on_step(run, metrics)
    check_finite(run)
    run.epoch += 1
    record_epoch(run, data, loss_sum / count)


def record_epoch(run: Run, data: DeviceData, train_loss) -> None:
    """One row of the epoch table: mean training loss over the epoch's batches (NaN before
    the first epoch) and the test loss and accuracy at the epoch's end."""
    result = evaluate_run(run, data)
    if train_loss is None:
        train_loss = np.full(run.params.members, np.nan, dtype=run.config.dtype)
    values = {"epoch": run.epoch, "train_loss": train_loss, "test_loss": result["loss"], "test_accuracy": result["accuracy"]}
    record(run.history, "epochs", run.backend, values)


def train(run: Run, data: DeviceData, epochs: int | None = None, on_step: Callable | None = None,
          on_epoch: Callable | None = None) -> Run:
    """Train until ``run.epoch == epochs`` (default ``config.epochs``), so a resumed run
    continues where it stopped. The initial test metrics are recorded as epoch 0."""
    epochs = run.config.epochs if epochs is None else epochs
    if run.epoch == 0 and "epochs" not in run.history:
        record_epoch(run, data, None)
    while run.epoch < epochs:
        train_epoch(run, data, on_step)
        if on_epoch is not None:
            on_epoch(run)
    return run
