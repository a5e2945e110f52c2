"""The training loop: one optimiser step per minibatch (``minifa.batches``), epochs, the history.

A step is forward pass → output error → the rule (``rules.propose``), then the update the
rule provides: factored steps ``δ xᵀ (+ c·u)`` through the fused GEMM (plain SGD), or the
formed updates through the optimiser (``run.optimiser``, `minifa.optimisers`).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .batches import DeviceData, epoch_batches
from .blas import rebalance_blas_threads
from .config import Run
from .dropout import masks
from .errors import DivergenceError
from .losses import accuracy
from .metrics import (batch_loss, evaluate, factored_alignment, gradient_alignment, signal_alignment, update_norms,
                      weight_alignment)
from .network import backpropagate, gradient
from .optimisers import update
from .rules import Proposal, propose


def step_metrics(run: Run, proposal: Proposal) -> dict[str, Any]:
    """Everything recorded for one step, at the weights *before* the update. With factored
    steps the alignments come from Gram matrices (no ΔW formed)."""
    xp, dtype, signal = run.xp, run.params.weights[0].dtype, proposal.signal
    cache, e = signal.cache, signal.e
    if proposal.steps is not None:
        true = [s.delta for s in proposal.steps] if run.rule.exact else backpropagate(xp, run.net, cache, e, run.params.weights)
        aligned, norms = factored_alignment(xp, cache.inputs, proposal.steps, true, dtype)
        out = {"gradient_alignment": aligned, "update_norm": norms}
    else:
        true = gradient(xp, run.net, run.params, cache, e)
        out = {
            "gradient_alignment": gradient_alignment(xp, proposal.direct, true, dtype),
            "update_norm": update_norms(xp, proposal.direct, run.params.members, dtype),
        }
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
    """The rule's proposal (on the thinned network under dropout), then the optimiser's step
    (sgd: ``W ← W − η (ΔW + λW)``) and the rule's ``after_step``. Returns the batch loss and
    (with labels) accuracy before the step; the other metrics when ``measure``."""
    xp, cfg = run.xp, run.config
    drop = masks(run.backend, run.streams, run.dropouts, cfg.layers, x.shape[-1], cfg.dtype)
    proposal = propose(run.rule, run.params, x, targets, masks=drop)
    loss = batch_loss(xp, run.net, proposal.signal.cache, targets)
    check_finite(run, loss)
    metrics = {"loss": loss}
    if labels is not None:  # the batch's accuracy before the update (Nøkland's training error): one argmax
        metrics["accuracy"] = accuracy(xp, proposal.signal.cache.output, labels)
    if measure:
        metrics.update(step_metrics(run, proposal))
    if proposal.steps is not None and run.optimiser.fuses:  # one GEMM per layer into W (sgd) or v (momentum)
        run.optimiser.update_factored(xp, run.optimiser_state, run.params, proposal.signal.cache, proposal.steps,
                                      run.weight_decay())
    else:  # the optimiser's step on the formed updates
        update(xp, run.optimiser, run.optimiser_state, run.params, proposal.updates(xp, run.net), run.weight_decay())
    run.rule.after_step(proposal, cfg.lr)
    run.step += 1
    return metrics


def evaluate_run(run: Run, data: DeviceData) -> dict[str, Any]:
    """Test loss and accuracy of every member (the paper's accuracies are on the test set)."""
    return evaluate(run.xp, run.net, run.params, data.x_test, data.y_test, data.labels_test)


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
