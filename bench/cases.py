"""What `bench/run.py` times: the GEMM floor and minifa's training loop.

Every case is a ``harness.Case``: ``make() -> step``, where ``make`` does the untimed set-up
(building the ensemble, drawing weights) and ``step()`` runs one training step, continuing
the same run (epoch after epoch), so that the harness can interleave cases step by step.
"""

from __future__ import annotations

import itertools
import tracemalloc
from types import SimpleNamespace

import numpy as np

import minifa as mf
from minifa import DeviceData

from harness import Case

SIZES = (784, 700, 1000, 10)
BATCH = 100
LR = 0.05


def dataset(kind: str, data_dir: str = "data/mnist"):
    """MNIST when asked for (or present, with ``auto``); else synthetic data of MNIST's shape:
    60000 × 784 float32 in [0, 1) with random labels (the cost of a step does not depend
    on the values, except through subnormals: see the init-scale cases)."""
    if kind in ("auto", "mnist"):
        try:
            from minifa.data import load_mnist

            return load_mnist(data_dir), "mnist"
        except Exception as err:  # noqa: BLE001 - any failure means: use synthetic data
            if kind == "mnist":
                raise SystemExit(f"bench: MNIST requested but unusable ({err}); run `make data` or pass --data synthetic")
    rng = np.random.default_rng(0)
    n, n_test = 60000, 10000
    x = rng.random((n + n_test, SIZES[0]), dtype=np.float32).T  # features × samples, samples contiguous
    labels = rng.integers(0, SIZES[-1], n + n_test)
    y = np.eye(SIZES[-1], dtype=np.float32)[:, labels]
    ds = SimpleNamespace(x_train=x[:, :n], y_train=y[:, :n], labels_train=labels[:n],
                         x_test=x[:, n:], y_test=y[:, n:], labels_test=labels[n:])
    return ds, "synthetic"


def subset(ds, samples: int, test: int = 1000):
    """The first ``samples`` training samples and ``test`` test samples (small runs: tests, memory)."""
    return SimpleNamespace(x_train=ds.x_train[:, :samples], y_train=ds.y_train[:, :samples],
                           labels_train=ds.labels_train[:samples], x_test=ds.x_test[:, :test],
                           y_test=ds.y_test[:, :test], labels_test=ds.labels_test[:test])


# ---------------------------------------------------------------- the GEMM floor


def gemm_shapes(rule: str) -> list[tuple[int, int, int]]:
    """(m, k, n) of every matrix product of one training step, ``C (m×n) = A (m×k) B (k×n)``:
    forward ``W_l x_l``, the errors carried down (FA/BP ``F_lᵀ δ_l`` for l ≥ 1; DFA ``R_l e``
    for every hidden layer) and the updates ``δ_l x_lᵀ``; Kolen-Pollack's ``B_l`` gets the
    same update products again (the floor of its extra work)."""
    outs, ins = SIZES[1:], SIZES[:-1]
    forward = [(o, i, BATCH) for o, i in zip(outs, ins)]
    update = [(o, BATCH, i) for o, i in zip(outs, ins)]
    if rule == "dfa":
        carried = [(o, SIZES[-1], BATCH) for o in outs[:-1]]
    else:
        carried = [(i, o, BATCH) for o, i in zip(outs[1:], ins[1:])]
    shapes = forward + carried + update
    return shapes + update if rule == "kolen-pollack" else shapes


def step_flops(rule: str) -> int:
    return sum(2 * m * k * n for m, k, n in gemm_shapes(rule))


def floor_case(rule: str) -> Case:
    """Exactly the step's products, back to back, into preallocated outputs: nothing else."""
    def make():
        rng = np.random.default_rng(1)
        ops = []
        for m, k, n in gemm_shapes(rule):
            a = rng.standard_normal((m, k), dtype=np.float32)
            b = rng.standard_normal((k, n), dtype=np.float32)
            ops.append((a, b, np.empty((m, n), dtype=np.float32)))
        return gemms(ops)
    return Case(make)


def gemms(ops):
    """``step()``: ``c = a @ b`` for each ``(a, b, c)`` of ``ops``, into ``c``."""
    def step():
        for a, b, c in ops:
            np.matmul(a, b, out=c)
    return step


# ---------------------------------------------------------------- minifa


def config(rule: str = "fa", members: int = 1, init_scale: float = 0.05, metrics_every: int = 0,
           rule_options: dict | None = None, engine=mf):
    return engine.Config(layers=SIZES, rule=rule, init_scale=init_scale, lr=LR, batch_size=BATCH,
                         seeds=list(range(members)), metrics_every=metrics_every, rule_options=rule_options or {})


def stepper(engine, run, data: DeviceData):
    """``step()``: ``engine.train_step`` on the next batch of ``data``, epoch after epoch, with
    step metrics every ``metrics_every`` steps as ``train_epoch`` takes them (gather, forward,
    loss, the per-step NaN check, the rule, the update). The epoch-end evaluation is left out
    (on 1000 test samples it was <1 % of an epoch)."""
    every = run.config.metrics_every
    batches = itertools.chain.from_iterable(engine.training.epoch_batches(run, data) for _ in itertools.count())

    def step():
        x, targets, labels = next(batches)
        engine.train_step(run, x, targets, labels, every > 0 and run.step % every == 0)
    return step


def minifa_case(data: DeviceData, backend, engine=mf, **kw) -> Case:
    """Steps of ``engine`` (minifa, or an older minifa imported beside it) on ``data``."""
    members = kw.get("members", 1)
    return Case(lambda: stepper(engine, engine.build(config(engine=engine, **kw), backend), data), members)


def peak_memory(backend, data: DeviceData, members: int, rule: str = "fa", measure: bool = False) -> dict:
    """Peak bytes NumPy allocates during one training step (tracemalloc sees NumPy's
    allocations), beside the parameters' bytes; per network and for the ensemble."""
    run = mf.build(config(rule=rule, members=members), backend)
    batch = next(iter(mf.epoch_batches(run, data)))
    mf.train_step(run, *batch, measure)  # warm: first-call allocations are not the loop's
    tracemalloc.start()
    tracemalloc.reset_peak()
    mf.train_step(run, *batch, measure)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    params = sum(w.nbytes for w in run.params.weights) + sum(b.nbytes for b in run.params.biases)
    params += sum(f.nbytes for f in run.rule.feedback)
    return {"members": members, "measure": measure, "step_peak_bytes": int(peak),
            "step_peak_bytes_per_network": int(peak / members), "params_and_feedback_bytes_per_network": int(params / members)}
