"""The stability criterion of Chu & Bacho (section 2.2, eq. 10–11) as a measurement.

To first order, a step ``W ← W − η Δ`` of any rule changes the loss by
``ΔL ≈ −η Σ_l ⟨∇_l, Δ_l⟩``, with ``∇_l`` the true (BP) gradient: the loss falls only where
the gradient alignment ``cos(Δ_l, ∇_l)`` is positive. ``stability`` reports, at the current
weights and on one batch, each layer's alignment, the predicted change of stepping that layer
alone, and the measured change (loss after the step on a copy, minus loss before), plus the
same for the whole step. Nothing in ``run`` changes except that a random rule (perturbed
BP) draws its direction from its stream.
"""

from __future__ import annotations

from typing import Any

from .config import Run
from .metrics import batch_loss, cosine, inner
from .network import Params, Update, forward, gradient, sgd_step
from .rules import propose


def _predicted(xp, update: Update | None, true: Update, lr: float):
    """``−η ⟨∇_l, Δ_l⟩`` over weights and bias; shape (R,)."""
    if update is None:
        return xp.zeros(true.weight.shape[:1], dtype=true.weight.dtype)
    total = inner(xp, update.weight, true.weight)
    if update.bias is not None:
        total = total + inner(xp, update.bias, true.bias)
    return -lr * total


def _loss_after(run: Run, updates: list[Update | None], x, targets, lr: float):
    xp = run.xp
    copy = Params(
        [xp.asarray(w, copy=True) for w in run.params.weights],
        None if run.params.biases is None else [xp.asarray(b, copy=True) for b in run.params.biases],
    )
    sgd_step(copy, updates, lr)
    return batch_loss(xp, run.net, forward(xp, run.net, copy, x), targets)


def stability(run: Run, x, targets, lr: float | None = None, *more_lrs: float) -> dict[str, Any]:
    """Per-layer ``alignment``, ``predicted`` and ``measured`` loss change (shape R × L), and
    the whole step's ``predicted_total`` and ``measured_total`` (shape R). The step size
    defaults to the run's learning rate; a small one makes the first-order terms exact.
    With ``more_lrs``, a list of such results, one per step size, from one forward pass,
    gradient and rule update (a random rule draws its direction once)."""
    xp = run.xp
    proposal = propose(run.rule, run.params, x, targets)
    cache, e = proposal.signal.cache, proposal.signal.e
    before = batch_loss(xp, run.net, cache, targets)
    true = gradient(xp, run.net, run.params, cache, e)
    updates = proposal.updates(xp, run.net)
    alignment = [cosine(xp, u.weight, t.weight) if u is not None else None for u, t in zip(updates, true)]
    results = [_probe(run, x, targets, updates, true, alignment, before, run.config.lr if step is None else step)
               for step in (lr, *more_lrs)]
    return results if more_lrs else results[0]


def _probe(run: Run, x, targets, updates, true, alignment, before, lr: float) -> dict[str, Any]:
    """``stability`` at one step size."""
    xp = run.xp
    alone = [[u if k == l else None for k, u in enumerate(updates)] for l in range(len(updates))]
    out = {
        "alignment": alignment,
        "predicted": [_predicted(xp, u, t, lr) for u, t in zip(updates, true)],
        "measured": [_loss_after(run, only, x, targets, lr) - before for only in alone],
    }
    result = {k: [run.backend.to_host(v) if v is not None else None for v in vs] for k, vs in out.items()}
    result["predicted_total"] = run.backend.to_host(sum(out["predicted"]))
    result["measured_total"] = run.backend.to_host(_loss_after(run, updates, x, targets, lr) - before)
    return result
