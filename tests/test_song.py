"""Song, Xu & Lafferty's setting: the two-layer 1/√p network, per-member weight decay, the
code's MNIST alignment measure, and FA with b = β (refreshed) being BP."""

from __future__ import annotations

import numpy as np

import minifa as mf
from minifa.metrics import signal_alignment

from .conftest import host, tiny_batch

P = 30


def song(backend, rule="fa", l2=0.0, seeds=(2,), classes=1, loss="mse"):
    cfg = mf.Config(layers=(8, P, classes), activation="relu", loss=loss, bias=False, output_scale=P ** -0.5,
                    dtype="float64", init_scale=1.0, rule=rule, rule_options={"feedback": "normal"} if rule == "fa" else {},
                    lr=0.05, l2=[0.0, l2], batch_size=20, shuffle=False, seeds=list(seeds))
    return mf.build(cfg, backend)


def test_fa_with_b_refreshed_to_beta_is_bp(backend):
    """b = β at every step (the feedback copied from the current output weights) makes FA's
    updates BP's, step after step (1e-12)."""
    fa, bp = song(backend, "fa", l2=0.1), song(backend, "bp", l2=0.1)
    x, y, _ = tiny_batch((8, P, 1), batch=20, regression=True)
    x, y = backend.asarray(x), backend.asarray(y)
    for _ in range(5):
        fa.rule.feedback = [backend.xp.asarray(w, copy=True) for w in fa.params.weights]
        mf.train_step(fa, x, y, None, False)
        mf.train_step(bp, x, y, None, False)
    for a, b in zip(host(backend, fa.params.weights), host(backend, bp.params.weights)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_per_member_decay_equals_separate_runs(backend):
    """λ per member (Song's MNIST runs share one network across λ = 0, 0.1, 0.3)."""
    lams = [0.0, 0.1, 0.3]
    together = song(backend, l2=lams, seeds=[2, 2, 2])
    x, y, _ = tiny_batch((8, P, 1), batch=20, regression=True)
    for _ in range(4):
        mf.train_step(together, backend.asarray(x), backend.asarray(y), None, False)
    for r, lam in enumerate(lams):
        alone = song(backend, l2=lam)
        for _ in range(4):
            mf.train_step(alone, backend.asarray(x), backend.asarray(y), None, False)
        for a, b in zip(host(backend, together.params.weights), host(backend, alone.params.weights)):
            np.testing.assert_allclose(a[r], b[0], rtol=0, atol=1e-12)


def test_signal_alignment_is_the_codes_batch_mean_of_cosines(backend):
    rng = np.random.default_rng(0)
    e, B, W = rng.standard_normal((2, 10, 7)), rng.standard_normal((2, 10, 30)), rng.standard_normal((2, 10, 30))
    got = backend.to_host(signal_alignment(backend.xp, *(backend.asarray(a) for a in (e, B, W))))
    for r in range(2):
        cosines = [(B[r].T @ e[r, :, i]) @ (W[r].T @ e[r, :, i])
                   / (np.linalg.norm(B[r].T @ e[r, :, i]) * np.linalg.norm(W[r].T @ e[r, :, i])) for i in range(7)]
        assert abs(got[r] - np.mean(cosines)) <= 1e-12


def test_signal_alignment_is_recorded_with_the_step_metrics(cpu):
    run = song(cpu, classes=10, loss="logitcrossentropy")
    x, y, labels = tiny_batch((8, P, 10), batch=20)
    metrics = mf.train_step(run, cpu.asarray(x), cpu.asarray(y), cpu.asarray(labels), True)
    assert metrics["signal_alignment"].shape == (1,) and -1 <= float(metrics["signal_alignment"][0]) <= 1
