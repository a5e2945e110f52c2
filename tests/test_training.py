"""Metrics, the DataLoader semantics of the loop, divergence reports and the eq. 10–11 diagnostic."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minifa as mf
from minifa import training
from minifa.diagnostics import stability
from minifa.errors import DivergenceError
from minifa.metrics import cosine, evaluate
from minifa.streams import Streams

from .conftest import host, tiny_batch, tiny_dataset

SIZES = (12, 10, 8, 4)


def build(backend, **kw):
    kw.setdefault("seeds", [0, 1])
    return mf.build(mf.Config(layers=SIZES, dtype="float64", **kw), backend)


def test_cosine_of_flattened_arrays(backend):
    a = np.array([[[1.0, 0.0], [0.0, 0.0]], [[1.0, 2.0], [3.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]]])
    b = np.array([[[0.0, 1.0], [0.0, 0.0]], [[-2.0, -4.0], [-6.0, -8.0]], [[1.0, 0.0], [0.0, 0.0]]])
    got = backend.to_host(cosine(backend.xp, backend.asarray(a), backend.asarray(b)))
    assert got[0] == 0.0 and got[1] == pytest.approx(-1.0, abs=1e-15) and math.isnan(got[2])


def test_step_metrics_are_the_papers_measurements(backend):
    """Weight alignment cos(W_l, B_l); gradient alignment cos(ΔFA_l, ΔBP_l) at the same
    weights and batch (1 at the output layer); update norms ‖ΔW_l‖."""
    run = build(backend, rule="fa", metrics_every=1, init_scale=0.5)
    x, y, labels = tiny_batch(SIZES, batch=9)
    W, B = host(backend, run.params.weights), host(backend, run.rule.feedback)
    bp = build(backend, rule="bp", init_scale=0.5)  # same seeds: same weights
    fa_updates = host(backend, [u.weight for u in mf.batch_updates(run, backend.asarray(x), backend.asarray(y))])
    bp_updates = host(backend, [u.weight for u in mf.batch_updates(bp, backend.asarray(x), backend.asarray(y))])
    metrics = mf.train_step(run, backend.asarray(x), backend.asarray(y), backend.asarray(labels), measure=True)
    cos = lambda a, b: (a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum())
    for r in range(2):
        for l in range(3):
            assert backend.to_host(metrics["weight_alignment"])[r, l] == pytest.approx(cos(W[l][r], B[l][r]), abs=1e-12)
            assert backend.to_host(metrics["gradient_alignment"])[r, l] == pytest.approx(cos(fa_updates[l][r], bp_updates[l][r]), abs=1e-12)
            assert backend.to_host(metrics["update_norm"])[r, l] == pytest.approx(np.linalg.norm(fa_updates[l][r]), rel=1e-12)
    assert np.allclose(backend.to_host(metrics["gradient_alignment"])[:, -1], 1.0)


def test_evaluate_in_chunks_equals_one_pass(backend):
    run, ds = build(backend, rule="bp", init_scale=0.5), tiny_dataset()
    args = [backend.asarray(a) for a in (ds.x_test, ds.y_test, ds.labels_test)]
    whole = evaluate(backend.xp, run.net, run.params, *args, chunk=100)
    parts = evaluate(backend.xp, run.net, run.params, *args, chunk=7)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(backend.to_host(parts[key]), backend.to_host(whole[key]), rtol=1e-12)
    W, b = host(backend, run.params.weights), host(backend, run.params.biases)
    for r in range(2):  # an independent forward pass, tanh hidden layers
        a = ds.x_test
        for l in range(3):
            a = W[l][r] @ a + b[l][r]
            a = np.tanh(a) if l < 2 else a
        assert backend.to_host(whole["accuracy"])[r] == pytest.approx(np.mean(a.argmax(axis=0) == ds.labels_test), abs=1e-12)


def test_minibatches_follow_flux_dataloader(cpu, monkeypatch):
    """A fresh permutation from the member's data stream every epoch, consecutive blocks of
    it, a short last batch kept (MLUtils DataLoader, shuffle=true, partial=true)."""
    seen = []
    real_step = training.train_step
    monkeypatch.setattr(training, "train_step", lambda run, x, *a: seen.append(cpu.to_host(x)) or real_step(run, x, *a))
    ds = tiny_dataset()
    run = mf.build(mf.Config(layers=SIZES, seeds=[6], batch_size=32), cpu)
    mf.train(run, mf.DeviceData.from_dataset(cpu, ds, "float32"), 2)
    assert [b.shape[-1] for b in seen] == ([32] * 9 + [12]) * 2
    data = Streams(6)["data"]
    for epoch in range(2):
        order = data.permutation(300)
        got = np.concatenate([b[0] for b in seen[10 * epoch : 10 * (epoch + 1)]], axis=-1)
        np.testing.assert_array_equal(got, ds.x_train[:, order].astype(np.float32))
    assert run.step == 20 and run.epoch == 2


def test_divergence_names_step_member_and_layer(backend):
    """A NaN loss stops the step at once; an Inf weight hidden by a saturated tanh is found
    by the end-of-epoch scan. Both name the step, member and layer."""
    run = build(backend, rule="fa")
    x, y, labels = [backend.asarray(a) for a in tiny_batch(SIZES)]
    mf.train_step(run, x, y, labels, measure=False)
    broken = backend.to_host(run.params.weights[1])
    broken[1, 0, 0] = np.nan
    run.params.weights[1] = backend.asarray(broken)
    with pytest.raises(DivergenceError, match=r"^training diverged at step 1: member 1 \(seed 1\), layer 2 weights are NaN/Inf"):
        mf.train_step(run, x, y, labels, measure=False)
    run = build(backend, rule="fa")
    broken = backend.to_host(run.params.weights[0])
    broken[0, 0, 0] = np.inf
    run.params.weights[0] = backend.asarray(broken)
    with np.errstate(invalid="ignore"), pytest.raises(DivergenceError, match=r"at step 3: member 0 \(seed 0\), layer 1 weights"):
        mf.train(run, mf.DeviceData.from_dataset(backend, tiny_dataset(), "float64"), 1)


def test_stability_diagnostic_matches_first_order_theory(backend):
    """Eq. 10–11: a small FA step changes the loss by −η ⟨∇_l, Δ_l⟩; the loss falls exactly
    in the layers with positive gradient alignment."""
    run = build(backend, rule="fa", init_scale=0.5, seeds=[0, 1, 2, 3])
    x, y, _ = tiny_batch(SIZES, batch=20)
    out = stability(run, backend.asarray(x), backend.asarray(y), lr=1e-5)
    for l in range(3):
        np.testing.assert_allclose(out["measured"][l], out["predicted"][l], rtol=1e-3, atol=1e-12)
        falls, aligned = out["measured"][l] < 0, out["alignment"][l] > 0
        assert np.array_equal(falls, aligned)
    np.testing.assert_allclose(out["measured_total"], out["predicted_total"], rtol=1e-3)
    before = host(backend, run.params.weights)
    assert all(np.array_equal(a, b) for a, b in zip(before, host(backend, run.params.weights)))
    small, step = stability(run, backend.asarray(x), backend.asarray(y), 1e-5, None)  # one pass, two sizes
    alone = stability(run, backend.asarray(x), backend.asarray(y))
    for key in ("predicted", "measured"):
        assert all(np.array_equal(p, q) for p, q in zip(small[key], out[key]))
        assert all(np.array_equal(p, q) for p, q in zip(step[key], alone[key]))
