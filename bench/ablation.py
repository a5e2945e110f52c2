"""What each optimisation is worth: FA epochs with one fast path switched off at a time.

    python bench/ablation.py [--budget 300] [--block 10] [--threads N]

Variants (each against ``all on`` in the same round, interleaved step by step like `run.py`):
  column gather    batches gathered as columns of the features × samples array
  ΔW formed        every ΔW formed (``updates_from_steps``), then ``W -= lr * ΔW``, not one gemm
  masked flush     the first flush: ``copyto(where=|δ| < tiny)`` (slow when δ is mostly 0)
  no flush         subnormal errors kept
  direct align     gradient alignment from formed ΔW_l (every step), not Gram matrices
  scale 1 ...      the same at init scale 1 (saturated tanh, subnormal errors)
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

import cases  # noqa: E402
import minifa as mf  # noqa: E402
from harness import EPOCH_STEPS, Case, interleave, print_ratios, ratios  # noqa: E402
from minifa import blas  # noqa: E402
from minifa import fastpaths as fp  # noqa: E402
from minifa import metrics  # noqa: E402
from minifa import training  # noqa: E402
from minifa.network import sgd_step, updates_from_steps  # noqa: E402
from minifa import DeviceData  # noqa: E402


def masked_flush(self, a):
    np.copyto(a, 0, where=np.abs(a) < np.finfo(a.dtype).smallest_normal)
    return a


SWITCHES = {  # name -> list of (object, attribute, replacement)
    "all on": [],
    "column gather": [],  # handled on the data
    "ΔW formed": [(training, "sgd_step_factored", lambda xp, params, cache, steps, lr, weight_decay=None: sgd_step(
        params, updates_from_steps(xp, cache, steps, params.biases is not None), lr, weight_decay)),
        (fp.NumpyOps, "gemm_update", fp.ArrayOps.gemm_update)],
    "masked flush": [(fp.NumpyOps, "flush_subnormals", masked_flush)],
    "no flush": [(fp.NumpyOps, "flush_subnormals", lambda self, a: a)],
    "direct align": [(metrics, "_gram_pays", lambda *a: False)],
}


@contextlib.contextmanager
def switched(changes):
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in changes]
    for obj, name, value in changes:
        setattr(obj, name, value)
    try:
        yield
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)


def case(data, backend, switch: str, **kw) -> Case:
    def make():
        columns = data
        if switch == "column gather":  # the old layout: features × samples, C-contiguous
            columns = DeviceData(np.ascontiguousarray(data.x_train), np.ascontiguousarray(data.y_train),
                                 data.labels_train, data.x_test, data.y_test, data.labels_test)
        inner = cases.stepper(mf, mf.build(cases.config(**kw), backend), columns)

        def step():
            with switched(SWITCHES[switch]):
                inner()
        return step
    return Case(make)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--budget", type=float, default=300.0)
    p.add_argument("--block", type=int, default=10)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    blas.set_blas_threads(args.threads)
    backend = mf.get_backend("cpu")
    ds, name = cases.dataset("auto")
    data = DeviceData.from_dataset(backend, ds, "float32")
    factories = {"floor": cases.floor_case("fa")}
    for switch in ("all on", "column gather", "ΔW formed", "no flush"):
        factories[f"fa: {switch}"] = case(data, backend, switch)
    for switch in ("all on", "masked flush", "no flush"):
        factories[f"fa scale 1: {switch}"] = case(data, backend, switch, init_scale=1.0)
    for switch in ("all on", "direct align"):
        factories[f"fa align every step: {switch}"] = case(data, backend, switch, metrics_every=1)
    table = {**{f"{k} / floor": (k, "floor") for k in factories if k != "floor"},
             **{f"{k} / all on": (k, f"{k.split(':')[0]}: all on") for k in factories if ":" in k and not k.endswith("all on")}}
    times = interleave(factories, table, args.budget, args.block)
    print(f"\nablation: {blas.blas_threads()} BLAS threads, data {name}; floor "
          f"{sorted(times['floor'])[len(times['floor']) // 2] * EPOCH_STEPS:.2f} s/epoch")
    print_ratios(ratios(times, table))


if __name__ == "__main__":
    main()
