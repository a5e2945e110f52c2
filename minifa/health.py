"""Divergence without NaN: a run can blow up and stay finite (a saturated tanh keeps every
number bounded), then train at chance with no error. After each epoch `warnings` looks for
the two signs of it and says what to change:

- the loss far above where it started: the epoch's mean training loss ``> LOSS_FACTOR ×``
  the test loss at the initial weights (epoch 0's row), for some member;
- saturated hidden units: in some member's hidden layer, at least ``SATURATED_SHARE`` of the
  units have ``f'(h) < FLAT`` on at least ``SATURATED_SHARE`` of up to ``SAMPLES`` test
  samples (tanh/sigmoid pinned at ±1/0, ReLU units that are dead).

A finite run with none of these signs is not reported; NaN and Inf stop training already.
"""

from __future__ import annotations

import numpy as np

from .activations import get_activation
from .network import forward

LOSS_FACTOR = 3.0
FLAT = 0.01
SATURATED_SHARE = 0.9
SAMPLES = 1000


def _host(run, value) -> np.ndarray:
    return np.asarray(run.backend.to_host(value), dtype=float)


def loss_warning(run) -> str | None:
    """The first member whose last epoch's training loss is ``LOSS_FACTOR``× its initial loss."""
    rows = run.history.get("epochs", {})
    if len(rows.get("test_loss", [])) < 2:
        return None
    start, now = _host(run, rows["test_loss"][0]), _host(run, rows["train_loss"][-1])
    far = np.flatnonzero(now > LOSS_FACTOR * np.maximum(start, np.finfo(float).tiny))
    if not far.size:
        return None
    r = int(far[0])
    return (f"member {r}'s training loss {now[r]:.4g} is {now[r] / start[r]:.0f}x its initial {start[r]:.4g}: "
            f"the run diverges without NaN; lower --lr (now {run.config.lr:g}), e.g. --lr {run.config.lr / 10:g}")


def saturation_warning(run, x) -> str | None:
    """The first hidden layer (of any member) whose units are saturated or dead on the samples ``x``."""
    act = get_activation(run.net.activation)
    cache = forward(run.xp, run.net, run.params, x[..., :SAMPLES])
    for l, (h, out) in enumerate(zip(cache.pre[:-1], cache.inputs[1:]), start=1):
        flat = _host(run, act.derivative(run.xp, h, out)) < FLAT  # (R, units, samples) or (units, samples)
        share = np.mean(np.mean(flat, axis=-1) >= SATURATED_SHARE, axis=-1)
        for r, part in enumerate(np.atleast_1d(share)):
            if part >= SATURATED_SHARE:
                return (f"member {r}: {part:.0%} of layer {l}'s hidden units are saturated or dead "
                        f"({run.net.activation}' < {FLAT} on {SATURATED_SHARE:.0%} of samples), so it learns "
                        f"little; lower --lr (now {run.config.lr:g}) or --init-scale")
    return None


def warnings(run, data) -> dict[str, str]:
    """The divergence signs after an epoch, ``{"loss" | "saturation": one line with the fix}``."""
    found = {"loss": loss_warning(run), "saturation": saturation_warning(run, data.x_test)}
    return {kind: message for kind, message in found.items() if message is not None}
