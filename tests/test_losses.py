"""Losses against Flux's closed forms (flux-semantics.md, section 2) and Song et al.'s units."""

from __future__ import annotations

import numpy as np
import pytest

import minifa as mf
from minifa.losses import accuracy, get_loss

from .conftest import host, tiny_batch


def closed_form_softmax(z):
    s = np.exp(z - z.max(axis=-2, keepdims=True))
    return s / s.sum(axis=-2, keepdims=True)


def test_softmax_crossentropy_error_is_the_eps_damped_closed_form(backend):
    """Flux ``crossentropy(softmax(z), y)``: e = (p − y) · p_c/(p_c + ϵ) / B for one-hot y."""
    rng = np.random.default_rng(0)
    z, (_, y, labels) = 3.0 * rng.standard_normal((2, 4, 6)), tiny_batch((1, 4), batch=6)
    for dtype, eps in (("float64", np.finfo(np.float64).eps), ("float32", np.finfo(np.float32).eps)):
        e = backend.to_host(get_loss("softmax-crossentropy").error(backend.xp, backend.asarray(z, dtype), backend.asarray(y, dtype)))
        p = closed_form_softmax(z)
        pc = p[:, labels, np.arange(6)][:, None, :]
        np.testing.assert_allclose(e, (p - y) * pc / (pc + eps) / 6, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-9)


def test_logitcrossentropy_error_is_p_minus_y_over_b(backend):
    rng = np.random.default_rng(1)
    z, (_, y, _) = rng.standard_normal((2, 4, 6)), tiny_batch((1, 4), batch=6)
    e = backend.to_host(get_loss("logitcrossentropy").error(backend.xp, backend.asarray(z), backend.asarray(y)))
    np.testing.assert_allclose(e, (closed_form_softmax(z) - y) / 6, rtol=0, atol=1e-15)


def test_underflowing_true_class_silences_softmax_crossentropy_only(cpu):
    """Appendix A.2: at large weights p_c underflows and Flux's ϵ kills the error; the logit
    form keeps it O(1)."""
    z = np.zeros((1, 3, 1), dtype=np.float32)
    z[0, 0, 0] = 200.0  # the network is sure of class 0; the label is class 2
    y = np.eye(3, dtype=np.float32)[:, [2]]
    soft = cpu.to_host(get_loss("softmax-crossentropy").error(cpu.xp, cpu.asarray(z), cpu.asarray(y)))
    logit = cpu.to_host(get_loss("logitcrossentropy").error(cpu.xp, cpu.asarray(z), cpu.asarray(y)))
    assert np.abs(soft).max() == 0.0
    np.testing.assert_allclose(logit[0, :, 0], [1.0, 0.0, -1.0], atol=1e-6)


def test_loss_values_follow_flux_definitions(cpu):
    rng = np.random.default_rng(2)
    z, (_, y, labels) = rng.standard_normal((1, 4, 5)), tiny_batch((1, 4), batch=5)
    logp = z - z.max(axis=-2, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(axis=-2, keepdims=True))
    values = {name: cpu.to_host(get_loss(name).value(cpu.xp, cpu.asarray(z), cpu.asarray(y)))[0]
              for name in ("logitcrossentropy", "softmax-crossentropy", "mse", "half-sse")}
    assert values["logitcrossentropy"] == pytest.approx(-(y * logp).sum(axis=-2).mean(), rel=1e-12)
    eps = np.finfo(np.float64).eps
    assert values["softmax-crossentropy"] == pytest.approx(-(y * np.log(np.exp(logp) + eps)).sum(axis=-2).mean(), rel=1e-12)
    assert values["mse"] == pytest.approx(((z - y) ** 2).mean(), rel=1e-12)  # over all C·B entries
    assert values["half-sse"] == pytest.approx(0.5 * ((z - y) ** 2).sum(), rel=1e-12)
    acc = cpu.to_host(accuracy(cpu.xp, cpu.asarray(z), cpu.asarray(labels)))[0]
    assert acc == pytest.approx(np.mean(z[0].argmax(axis=0) == labels))


def song_run(backend, loss, lr, l2):
    cfg = mf.Config(layers=(8, 30, 1), activation="relu", loss=loss, bias=False, output_scale=30 ** -0.5,
                    dtype="float64", init_scale=1.0, rule="fa", rule_options={"feedback": "normal"},
                    lr=lr, weight_decay=[0.0, l2], batch_size=20, shuffle=False, seeds=[2])
    return mf.build(cfg, backend)


def test_half_sse_equals_mean_squared_error_at_converted_rates(backend):
    """Code (η, λ) on (1/n)Σe² = paper (2η/n, nλ/2) on ½Σe² (song-xu-lafferty-methods.md, §1)."""
    n, lr, l2 = 20, 1e-2, 0.2
    rng = np.random.default_rng(3)
    x, y = backend.asarray(rng.standard_normal((8, n))), backend.asarray(rng.standard_normal((1, n)))
    code, paper = song_run(backend, "mse", lr, l2), song_run(backend, "half-sse", 2 * lr / n, n * l2 / 2)
    for _ in range(5):
        mf.train_step(code, x, y, None, measure=False)
        mf.train_step(paper, x, y, None, measure=False)
    for a, b in zip(host(backend, code.params.weights), host(backend, paper.params.weights)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_weight_decay_touches_only_the_chosen_layer(backend):
    """One step with λ on the output layer: the hidden layer moves exactly as without decay,
    the output layer by an extra −ηλW."""
    lr, l2 = 0.05, 0.3
    x, y, _ = tiny_batch((8, 30, 1), batch=20, regression=True)
    runs = [song_run(backend, "mse", lr, decay) for decay in (0.0, l2)]
    w0 = host(backend, runs[0].params.weights)
    for run in runs:
        mf.train_step(run, backend.asarray(x), backend.asarray(y), None, measure=False)
    plain, decayed = host(backend, runs[0].params.weights), host(backend, runs[1].params.weights)
    assert np.array_equal(plain[0], decayed[0])
    np.testing.assert_allclose(decayed[1], plain[1] - lr * l2 * w0[1], rtol=0, atol=1e-14)


def test_binary_crossentropy_follows_flux_with_its_eps(backend):
    """Flux ``binarycrossentropy(σ(z), y)`` (ϵ = eps(T), mean over all C·B entries) and
    ``logitbinarycrossentropy(z, y)``, as loops over the entries; errors by the chain rule."""
    rng = np.random.default_rng(4)
    z, (_, y, _) = 4.0 * rng.standard_normal((2, 3, 5)), tiny_batch((1, 3), batch=5)
    z[0, 0, 0], z[1, 2, 4] = 40.0, -800.0  # saturated: p = 1 exactly, and e^{800} would overflow
    for dtype in ("float64", "float32"):
        eps, tol = float(np.finfo(dtype).eps), 1e-12 if dtype == "float64" else 1e-5
        zz, yy = backend.asarray(z, dtype), backend.asarray(y, dtype)
        bce, logit = get_loss("binarycrossentropy"), get_loss("logitbinarycrossentropy")
        for r in range(2):
            terms, logit_terms, errors = [], [], np.empty((3, 5))
            for c, b in np.ndindex(3, 5):
                zi, yi = z[r, c, b], y[c, b]
                p = 0.5 * (1 + np.tanh(zi / 2))  # σ another way
                terms.append(-(yi * np.log(p + eps) if yi else 0.0) - ((1 - yi) * np.log(1 - p + eps) if 1 - yi else 0.0))
                logit_terms.append((1 - yi) * zi + np.logaddexp(0.0, -zi))
                errors[c, b] = p * (1 - p) * ((1 - yi) / (1 - p + eps) - yi / (p + eps)) / 15
            assert backend.to_host(bce.value(backend.xp, zz, yy))[r] == pytest.approx(np.mean(terms), rel=tol)
            assert backend.to_host(logit.value(backend.xp, zz, yy))[r] == pytest.approx(np.mean(logit_terms), rel=tol)
            np.testing.assert_allclose(backend.to_host(bce.error(backend.xp, zz, yy))[r], errors, rtol=tol * 100, atol=tol * 1e-3)
        assert np.all(np.isfinite(backend.to_host(bce.error(backend.xp, zz, yy))))
