"""Each optimiser's training step over plain SGD's on the paper's network (784-700-1000-10,
FA, batch 100, one member): the ``{name}_step_over_sgd`` ratios of `make bench` (issue 26's
targets: ≤ 1.1 for momentum, ≤ 1.2 for Adam and RMSProp). Only sgd applies factored steps as
one fused GEMM; the others form ΔW and keep their state, which is what the ratio prices.
Cases are `harness.Case`s as in ``cases.py``; `workloads.py` lists them.
"""

from __future__ import annotations

from dataclasses import replace

import minifa as mf
from minifa import DeviceData
from minifa.optimisers import OPTIMISERS

import cases
from harness import Case

# Flux's default η of each (sgd at the bench's rate): the cost is measured in a sane regime, not diverging
LR = {"sgd": cases.LR, "momentum": 0.01, "nesterov": 0.001, "rmsprop": 0.001, "adam": 0.001, "adamw": 0.001}


def optimiser_case(data: DeviceData, backend, name: str) -> Case:
    """Training steps with optimiser ``name`` (one network)."""
    return Case(lambda: cases.stepper(mf, mf.build(replace(cases.config(), optimizer=name, lr=LR[name]), backend), data))


def cases_for(data: DeviceData, backend) -> dict:
    return {f"minifa_optimizer_{name}": optimiser_case(data, backend, name) for name in OPTIMISERS}


def ratio_table() -> dict:
    return {f"{name}_step_over_sgd": (f"minifa_optimizer_{name}", "minifa_optimizer_sgd") for name in OPTIMISERS if name != "sgd"}
