"""The LeNet section of `make bench` (issue 27, item 5): BioTorch's MNIST LeNet, one training
step per rule, against its GEMM floor and against PyTorch's ``nn.Conv2d`` LeNet with BP.

- ``lenet_minifa_{rule}``: the ``biotorch-lenet`` experiment's network and optimiser
  (`minifa.experiments.biotorch_lenet.engine`: conv 6-16-120, 84, 10, ReLU, batch 64, SGD
  momentum 0.9, weight decay 1e-3, each rule's η and feedback), one step per call, the
  alignment metrics off (the experiment takes them every 100 steps: a step's cost is priced).
- ``lenet_floor``: the step's im2col copies (into preallocated columns) and its GEMMs back to
  back (forward ``W_l cols_l``, carried ``F_lᵀ δ_l`` for l ≥ 1, update ``δ_l cols_lᵀ``, a conv
  layer's as ``(cols_l δ_lᵀ)ᵀ`` as ``Conv2d.weight_update`` computes it), no elementwise
  work: no col2im, pooling, ReLU, loss or optimiser. FA's and BP's products; DFA's carried
  products ``R_l e`` are fewer flops (8 MFLOP, not 38), so DFA's ratio to this floor is a
  little below the one to a floor of its own.
- ``lenet_torch_bp``: ``torch.nn`` LeNet, autograd, ``optim.SGD(momentum, weight_decay)``.

Ratios (issue 27's targets: BP ≤ 1.5× PyTorch, FA ≤ 1.1× BP): ``lenet_bp_over_torch``,
``lenet_fa_over_bp``, ``lenet_{rule}_over_floor``; a step's time × ``EPOCH_STEPS`` is an epoch.
"""

from __future__ import annotations

import math

import numpy as np

import minifa as mf
from minifa.experiments import biotorch_lenet
from minifa.layers import Conv2d

import cases
import torch_peers
from harness import Case, interleave, ratios, rows

BATCH = biotorch_lenet.SETUP["batch_size"]
EPOCH_STEPS = math.ceil(60000 / BATCH)  # 938 updates, the last batch short
RULES = tuple(biotorch_lenet.RULES)  # bp fa dfa usf frsf brsf
BUDGET_S = 150.0
RATIOS = {"lenet_bp_over_torch": ("lenet_minifa_bp", "lenet_torch_bp"),
          "lenet_fa_over_bp": ("lenet_minifa_fa", "lenet_minifa_bp"),
          **{f"lenet_{rule}_over_floor": (f"lenet_minifa_{rule}", "lenet_floor") for rule in RULES}}


def engine_config(rule: str) -> mf.Config:
    """The experiment's config of ``rule`` (its ``long`` profile, seed 0), metrics off."""
    return biotorch_lenet.engine({**biotorch_lenet.PROFILES["long"], "metrics_every": 0}, rule, 0)


def layers(batch: int = BATCH) -> list[tuple[object, tuple[int, ...], int, int, int]]:
    """Per trainable layer: (layer, its input shape, out, K, M): ``W`` (out, K), ``cols`` (K, M),
    M = output pixels × batch (a dense layer's M is the batch)."""
    net = mf.Config(model="lenet").network()
    found = []
    for layer, shape, _ in net.groups:
        out, k = layer.matrix(shape)
        found.append((layer, shape, out, k, math.prod(layer.out_shape(shape)) // out * batch))
    return found


def gemm_shapes(batch: int = BATCH) -> list[tuple[int, int, int]]:
    """(m, k, n) of every product of one BP/FA step, ``C (m×n) = A (m×k) B (k×n)``: forward
    (out, K, M), carried (K, out, M) for every layer but the first, update (out, M, K)."""
    found = layers(batch)
    return ([(o, k, m) for _, _, o, k, m in found] + [(k, o, m) for _, _, o, k, m in found[1:]]
            + [(o, m, k) for _, _, o, k, m in found])


def step_flops(batch: int = BATCH) -> int:
    return sum(2 * m * k * n for m, k, n in gemm_shapes(batch))


def im2col(layer: Conv2d, shape, x, cols) -> None:
    """``cols`` (K, Ho, Wo, N) ← the unfolding of the padded input ``x`` (C, H + 2p, W + 2p, N),
    offset by offset as ``Conv2d.columns``, into preallocated memory."""
    c = shape[0]
    for i, (_, _, r, s) in enumerate(layer.offsets(shape)):
        cols[i * c:(i + 1) * c] = x[:, r, s, :]


def floor_case(batch: int = BATCH) -> Case:
    """The step's im2col copies and products (``gemm_shapes``), back to back, preallocated."""
    def make():
        rng = np.random.default_rng(1)
        draw = lambda *shape: rng.standard_normal(shape, dtype=np.float32)  # noqa: E731
        unfold, ops = [], []
        for l, (layer, shape, out, k, m) in enumerate(layers(batch)):
            cols, delta, weight = np.empty((k, m), dtype=np.float32), draw(out, m), draw(out, k)
            if isinstance(layer, Conv2d):  # unfolded each step; its update (cols δᵀ)ᵀ as the layer's
                c, h, w = shape
                p, (_, ho, wo) = layer.padding, layer.out_shape(shape)
                unfold.append((layer, shape, draw(c, h + 2 * p, w + 2 * p, batch), cols.reshape(k, ho, wo, batch)))
                ops.append((cols, delta.T, np.empty((k, out), dtype=np.float32)))
            else:
                cols[...] = draw(k, m)
                ops.append((delta, cols.T, np.empty((out, k), dtype=np.float32)))
            ops.append((weight, cols, np.empty((out, m), dtype=np.float32)))
            if l:  # every layer but the first carries its error down
                ops.append((weight.T, delta, np.empty((k, m), dtype=np.float32)))
        products = cases.gemms(ops)

        def step():
            for args in unfold:
                im2col(*args)
            products()
        return step
    return Case(make)


def minifa_case(data, backend, rule: str) -> Case:
    return Case(lambda: cases.stepper(mf, mf.build(engine_config(rule), backend), data))


def section_cases(data, ds, backend, torch: bool = True) -> dict[str, Case]:
    """name -> Case: the floor, minifa per rule and (``torch`` and installed) PyTorch's BP."""
    out = {"lenet_floor": floor_case(), **{f"lenet_minifa_{rule}": minifa_case(data, backend, rule) for rule in RULES}}
    if torch and torch_peers.available():
        bp = biotorch_lenet.SETUP
        out["lenet_torch_bp"] = Case(torch_peers.lenet_case(ds, BATCH, biotorch_lenet.LR["bp"], bp["momentum"],
                                                            bp["weight_decay"]), peer=True)
    return out


def run(timed: dict[str, Case], budget_s: float, block: int, target: float, table: dict = RATIOS, log=None) -> dict:
    """The section's interleave of ``timed``: rows per epoch (``EPOCH_STEPS``), the ratios of
    ``table`` whose cases ran, the config."""
    table = {k: v for k, v in table.items() if k in RATIOS and set(v) <= set(timed)}
    times = interleave(timed, table, budget_s, block, target, log=log) if timed else {}
    spread = ratios(times, table)
    floor_flops = step_flops()
    return {"config": {"network": "biotorch-lenet (conv 6-16-120, 84, 10, ReLU)", "batch": BATCH,
                       "optimiser": "momentum 0.9, weight decay 1e-3", "epoch_steps": EPOCH_STEPS,
                       "budget_s": budget_s, "floor_gflop_per_step": floor_flops / 1e9},
            "rows": rows(times, EPOCH_STEPS, lambda name: floor_flops),
            "ratio_spread": spread, "ratios": {k: v["median"] for k, v in spread.items()}}
