"""Full-batch gradient descent on fixed inputs, the first layer carried as its pre-activation.

When every step sees the same inputs X (d × n) and the first layer has no bias and no weight
decay, ``W_0 ← W_0 − η δ_0 Xᵀ`` moves ``H_0 = W_0 X`` by ``−η δ_0 G`` with ``G = XᵀX``
(n × n). So a step needs one (p × n)(n × n) product for layer 0 instead of ``W_0 X`` and
``δ_0 Xᵀ`` (each p·d·n), and ``W_0`` only when read: ``W_0(t) = W_0(0) − η A Xᵀ`` with
``A = Σ_s δ_0(s)``. The other layers step as in ``train_step``. Song et al.'s Figure 2 (n = 50
points, d = 150) steps about 2× faster so (BENCHMARKS.md). Same maths as ``train_step`` up to rounding
(``tests/test_fullbatch.py`` checks the two in float64).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .config import Run
from .ensemble import keep_members
from .errors import ConfigError
from .fastpaths import ops
from .metrics import batch_loss
from .network import sgd_step_factored
from .rules import propose
from .training import check_finite


@dataclass
class Carried:
    """A run on fixed inputs ``x`` (R, d, n) with layer 0 carried: ``pre`` = H_0 = W_0 x,
    ``gram`` = xᵀx, ``summed`` = A = Σ δ_0; ``run.params.weights[0]`` holds W_0 at the start
    until ``settle``."""

    run: Run
    x: Any
    gram: Any
    pre: Any
    summed: Any


def carry(run: Run, x) -> Carried:
    """Start carrying layer 0 of ``run`` on the per-member inputs ``x`` (R, d, n); a run this
    cannot serve is a ConfigError (a bias, decay on layer 0, or a rule that forms whole updates)."""
    decayed = bool(np.any(run.config.decays[0]))
    if run.config.bias or run.rule.provides != "deltas" or decayed:
        raise ConfigError("fullbatch.carry needs layer 0 without bias or weight decay and a rule that provides deltas")
    if run.config.optimizer != "sgd" or np.any(run.config.dropouts):  # H_0 moves by −η δ G only so
        raise ConfigError(f"fullbatch.carry needs optimizer sgd and no dropout, not {run.config.optimizer!r} with "
                          f"dropout {run.config.dropout}; train these with train_step")
    if x.ndim != 3:
        raise ConfigError(f"fullbatch.carry needs per-member inputs (members, features, samples), not shape {tuple(x.shape)}")
    xp, w = run.xp, run.params.weights[0]
    gram = xp.matrix_transpose(x) @ x
    gram = (gram + xp.matrix_transpose(gram)) / 2  # exactly symmetric: the step uses G for Gᵀ
    return Carried(run, x, gram, w @ x, xp.zeros((*w.shape[:2], x.shape[-1]), dtype=w.dtype))


def step(c: Carried, targets) -> Any:
    """One full-batch step (``train_step`` without metrics); returns each member's loss."""
    run, xp = c.run, c.run.xp
    proposal = propose(run.rule, run.params, c.x, targets, first=c.pre)
    loss = batch_loss(xp, run.net, proposal.signal.cache, targets)
    check_finite(run, loss)
    first = proposal.steps[0]
    if first is not None and (first.extra is not None or first.bias is not None):
        raise ConfigError(f"fullbatch: rule {run.rule.name!r} adds to layer 0's δ xᵀ, which H_0 cannot carry")
    sgd_step_factored(xp, run.params, proposal.signal.cache, [None, *proposal.steps[1:]], run.config.lr,
                      run.weight_decay())
    run.rule.after_step(proposal, run.config.lr)
    if first is not None:  # last: the cache may hold H_0 itself (identity f), read above
        c.pre = ops(xp).gemm_update(c.pre, first.delta, c.gram, run.config.lr)  # H −= η δ G (G = Gᵀ)
        c.summed += first.delta
    run.step += 1
    return loss


def settle(c: Carried) -> Run:
    """``run`` with ``W_0 = W_0(0) − η A Xᵀ`` written back; carrying then starts afresh."""
    run = c.run
    run.params.weights[0] = ops(run.xp).gemm_update(run.params.weights[0], c.summed, c.x, run.config.lr)
    c.summed = run.xp.zeros_like(c.summed)
    return run


def keep(c: Carried, members: Sequence[int]) -> Carried:
    """Members ``members`` of ``c``, each continuing exactly (``ensemble.keep_members``)."""
    index = c.run.backend.asarray(np.asarray(members, dtype=np.int64))
    take = lambda a: c.run.xp.take(a, index, axis=0)
    return Carried(keep_members(c.run, members), take(c.x), take(c.gram), take(c.pre), take(c.summed))
