"""The fast training step (ΔW never formed, fused update, Gram alignments, samples-major
batches, subnormal flush) gives the plain step's results up to rounding. No timings."""

from __future__ import annotations

import numpy as np
import pytest

import minifa as mf
from minifa import fastpaths, metrics, optimisers
from minifa.network import sgd_step, updates_from_steps

from .conftest import host, tiny_dataset

SIZES = (12, 10, 8, 4)
TOL = {"float32": 2e-6, "float64": 1e-12}


def formed_step(xp, params, cache, steps, lr, weight_decay=None):
    """The plain step: every ΔW formed (``updates_from_steps``), then ``sgd_step``."""
    sgd_step(params, updates_from_steps(xp, cache, steps, params.biases is not None), lr, weight_decay)


def _train(backend, plain: bool, monkeypatch, dtype="float64", epochs=2, **kw):
    """A short run; ``plain`` forms every ΔW (``formed_step``), measures alignments from the
    formed updates, gathers columns and uses the standard-API ops, i.e. the engine before the
    fast paths."""
    kw.setdefault("rule", "fa")
    with monkeypatch.context() as m:
        if plain:
            m.setattr(optimisers, "sgd_step_factored", formed_step)  # what sgd's update_factored calls
            m.setattr(metrics, "_gram_pays", lambda *a: False)
            for name in ("gemm_update", "gemm_into", "flush_subnormals"):
                m.setattr(fastpaths.NumpyOps, name, getattr(fastpaths.ArrayOps, name))
        cfg = mf.Config(layers=SIZES, dtype=dtype, batch_size=32, lr=0.1, metrics_every=1, seeds=[3, 5], **kw)
        run = mf.build(cfg, backend)
        data = mf.DeviceData.from_dataset(backend, tiny_dataset(), dtype)
        if plain:
            data.rows_x = data.rows_y = None
        return mf.train(run, data, epochs)


def _assert_same(a, b, backend, tol):
    for wa, wb in zip(host(backend, a.params.weights + a.params.biases), host(backend, b.params.weights + b.params.biases)):
        np.testing.assert_allclose(wa, wb, rtol=0, atol=tol)
    assert a.history["steps"].keys() == b.history["steps"].keys()
    for key, rows in a.history["steps"].items():
        np.testing.assert_allclose(np.stack(rows), np.stack(b.history["steps"][key]), rtol=tol * 10, atol=tol * 10,
                                   err_msg=key)


@pytest.mark.parametrize("rule", list(mf.RULES))
def test_fast_step_equals_plain_step(backend, monkeypatch, rule):
    fast = _train(backend, False, monkeypatch, rule=rule)
    plain = _train(backend, True, monkeypatch, rule=rule)
    _assert_same(fast, plain, backend, TOL["float64"])


@pytest.mark.parametrize("l2", [0.01, [0.0, 0.0, [0.1, 0.3]]])
def test_fused_decay_equals_plain_decay(cpu, monkeypatch, l2):
    """Weight decay folds into the gemm's beta, one for all members or one per member."""
    fast = _train(cpu, False, monkeypatch, dtype="float32", weight_decay=l2)
    plain = _train(cpu, True, monkeypatch, dtype="float32", weight_decay=l2)
    _assert_same(fast, plain, cpu, TOL["float32"])


def test_flush_changes_nothing_above_float32_rounding(cpu, monkeypatch):
    """Init scale 1 saturates tanh and underflows softmax, so subnormal errors do occur;
    flushing them moves no weight by more than float32 rounding."""
    run = mf.build(mf.Config(layers=(12, 40, 40, 4), init_scale=3.0, seeds=[1], batch_size=16), cpu)
    data = mf.DeviceData.from_dataset(cpu, tiny_dataset(), "float32")
    x, y, labels = next(iter(mf.epoch_batches(run, data)))
    cache = mf.forward(cpu.xp, run.net, run.params, x)
    with monkeypatch.context() as m:
        m.setattr(fastpaths.NumpyOps, "flush_subnormals", lambda self, a: a)
        raw = run.rule.deltas(mf.rules.Signal(run.params, cache, mf.output_error(cpu.xp, run.net, cache, y), y))
    tiny = np.finfo(np.float32).smallest_normal
    assert any(np.any((d != 0) & (np.abs(d) < tiny)) for d in raw), "the set-up should produce subnormal errors"

    def trained(flush: bool):
        with monkeypatch.context() as m:
            if not flush:
                m.setattr(fastpaths.NumpyOps, "flush_subnormals", lambda self, a: a)
            r = mf.build(mf.Config(layers=(12, 40, 40, 4), init_scale=3.0, seeds=[1], batch_size=16), cpu)
            return mf.train(r, data, 2)

    for a, b in zip(host(cpu, trained(True).params.weights), host(cpu, trained(False).params.weights)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
