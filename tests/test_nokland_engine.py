"""The engine pieces Nøkland 2016 needs, float64 against independent references: FA's start
from its own initial weights (``copied``, ``moved``), FA ≡ DFA on one hidden layer, and the
training accuracy every step returns."""

from __future__ import annotations

import numpy as np
import pytest

import minifa as mf
from minifa import checkpoint
from minifa.errors import ConfigError
from minifa.losses import sigmoid

from .conftest import tiny_batch

SIZES = (6, 5, 4, 3)


def config(**kw):
    return mf.Config(**{"layers": SIZES, "dtype": "float64", "seeds": [0, 1], "activation": "tanh", "init": "torch",
                        "init_scale": 1.0, "rule": "fa", "loss": "logitbinarycrossentropy", **kw})


def host(backend, arrays):
    return [backend.to_host(a) for a in arrays]


@pytest.mark.parametrize("mode", ["copied", "moved"])
def test_fa_feedback_is_a_copy_of_the_initial_weights_and_moved_zeroes_them(backend, mode):
    plain, run = mf.build(config(), backend), mf.build(config(weights_from_feedback=mode), backend)
    w0, b0 = host(backend, plain.params.weights), host(backend, plain.params.biases)
    w, b, fb = host(backend, run.params.weights), host(backend, run.params.biases), host(backend, run.rule.feedback)
    np.testing.assert_array_equal(w[0], w0[0])  # the first layer is left as drawn
    np.testing.assert_array_equal(b[0], b0[0])
    np.testing.assert_array_equal(fb[0], host(backend, plain.rule.feedback)[0])
    for l in (1, 2):
        np.testing.assert_array_equal(fb[l], w0[l])
        np.testing.assert_array_equal(w[l], 0 * w0[l] if mode == "moved" else w0[l])
        np.testing.assert_array_equal(b[l], 0 * b0[l] if mode == "moved" else b0[l])


def test_a_moved_start_resumes_from_a_checkpoint_with_its_copied_feedback(cpu, tmp_path):
    run = mf.build(config(weights_from_feedback="moved"), cpu)
    x, y, labels = (cpu.asarray(a, "float64") for a in tiny_batch(SIZES))
    mf.train_step(run, x, y, None, False)
    back = checkpoint.load(checkpoint.save(run, tmp_path / "moved.h5"), cpu)
    for mine, theirs in zip(run.rule.feedback + run.params.weights, back.rule.feedback + back.params.weights):
        np.testing.assert_array_equal(cpu.to_host(theirs), cpu.to_host(mine))


def test_copying_weights_needs_feedback_of_the_weights_shape(cpu):
    with pytest.raises(ConfigError, match="fixed B_l of W_l's shape"):
        mf.build(config(rule="dfa", weights_from_feedback="moved"), cpu)


def test_fa_from_a_moved_start_sends_the_error_through_the_copied_weights(cpu):
    """One SGD step by hand: e = (σ(z) − y)/(C·B) at z = 0 (W_3 = 0), δ_2 = (B_3ᵀ e) ⊙ 1 (h_2 = 0),
    δ_1 = (B_2ᵀ δ_2) ⊙ (1 − x_1²); so W_1 moves though W_2 = W_3 = 0 (BP's δ_1 would be 0)."""
    lr = 0.5
    run = mf.build(config(seeds=[3], weights_from_feedback="moved", lr=lr), cpu)
    W1, b1 = cpu.to_host(run.params.weights[0])[0], cpu.to_host(run.params.biases[0])[0]
    B2, B3 = (cpu.to_host(f)[0] for f in run.rule.feedback[1:])
    x, y, _ = tiny_batch(SIZES)
    x1 = np.tanh(W1 @ x + b1)
    e = (0.5 - y) / y.size
    d2 = B3.T @ e
    d1 = (B2.T @ d2) * (1 - x1 ** 2)
    mf.train_step(run, cpu.asarray(x, "float64"), cpu.asarray(y, "float64"), None, False)
    after = [cpu.to_host(w)[0] for w in run.params.weights]
    np.testing.assert_allclose(after[0], W1 - lr * d1 @ x.T, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(after[1], -lr * d2 @ x1.T, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(after[2], np.zeros_like(after[2]))  # x_2 = tanh(0) = 0
    assert np.abs(d1).max() > 1e-3


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_fa_and_dfa_are_one_rule_on_one_hidden_layer(backend, optimizer):
    """With one hidden layer DFA's R_1 (n_h × n_out) stands where FA's B_2ᵀ does: given
    R_1 = B_2ᵀ and the same start, both take the same steps, to the last bit."""
    kw = {"layers": (6, 5, 3), "optimizer": optimizer, "lr": 0.1}
    fa, dfa = mf.build(config(**kw), backend), mf.build(config(rule="dfa", **kw), backend)
    dfa.rule.feedback = [backend.xp.asarray(backend.xp.permute_dims(fa.rule.feedback[1], (0, 2, 1)), copy=True)]
    x, y, labels = (backend.asarray(a, "float64") for a in tiny_batch((6, 5, 3)))
    for _ in range(3):
        mf.train_step(fa, x, y, None, False)
        mf.train_step(dfa, x, y, None, False)
    for a, b in zip(fa.params.weights + fa.params.biases, dfa.params.weights + dfa.params.biases):
        np.testing.assert_array_equal(backend.to_host(a), backend.to_host(b))
    moved = [np.abs(backend.to_host(w - w0)).max() for w, w0 in zip(fa.params.weights, mf.build(config(**kw), backend).params.weights)]
    assert min(moved) > 1e-4  # both layers trained: the test can fail


def test_every_step_returns_its_batch_accuracy_before_the_update(cpu):
    run = mf.build(config(), cpu)
    xh, yh, labels = tiny_batch(SIZES, batch=9)
    W = [cpu.to_host(w) for w in run.params.weights]
    b = [cpu.to_host(v) for v in run.params.biases]
    a = xh
    for l in range(3):
        z = W[l] @ a + b[l]
        a = np.tanh(z) if l < 2 else z
    expected = (np.argmax(a, axis=1) == labels).mean(axis=-1)
    metrics = mf.train_step(run, cpu.asarray(xh, "float64"), cpu.asarray(yh, "float64"), cpu.asarray(labels, "int64"), False)
    np.testing.assert_array_equal(cpu.to_host(metrics["accuracy"]), expected)
    assert expected.max() < 1  # not every sample right: the check can fail


@pytest.mark.parametrize("optimizer, options", [("rmsprop", {"rho": [0.5, 0.99], "epsilon": [1e-8, 1e-3]}),
                                                ("adam", {"beta1": [0.5, 0.9], "beta2": 0.99}),
                                                ("momentum", {"rho": [0.0, 0.9]})])
def test_per_member_optimiser_options_give_each_member_its_own_run(backend, optimizer, options):
    """An ensemble sweeping ρ / β: member r steps exactly as a run of member r alone (float64)."""
    kw = {"optimizer": optimizer, "lr": 0.05, "seeds": [4, 5]}
    both = mf.build(config(optimizer_options=options, **kw), backend)
    alone = [mf.build(config(optimizer_options={k: v[r] if isinstance(v, list) else v for k, v in options.items()},
                             **{**kw, "seeds": [kw["seeds"][r]]}), backend) for r in range(2)]
    x, y, _ = (backend.asarray(a, "float64") for a in tiny_batch(SIZES))
    for _ in range(3):
        for run in (both, *alone):
            mf.train_step(run, x, y, None, False)
    for r, run in enumerate(alone):
        for a, b in zip(both.params.weights + both.params.biases, run.params.weights + run.params.biases):
            np.testing.assert_array_equal(backend.to_host(a)[r], backend.to_host(b)[0])
    shared = mf.build(config(optimizer_options={k: v[1] if isinstance(v, list) else v for k, v in options.items()},
                             **kw), backend)
    for _ in range(3):
        mf.train_step(shared, x, y, None, False)
    assert not np.array_equal(backend.to_host(shared.params.weights[0])[0], backend.to_host(both.params.weights[0])[0])


def test_keep_members_keeps_per_member_optimiser_options(cpu):
    from minifa.ensemble import keep_members

    run = mf.build(config(optimizer="adam", optimizer_options={"beta1": [0.5, 0.9]}), cpu)
    kept = keep_members(run, [1])
    assert kept.config.optimizer_options == {"beta1": [0.9]} and kept.optimiser.settings["beta1"] == 0.9


def test_a_wrong_count_of_per_member_optimiser_options_is_a_one_line_error():
    with pytest.raises(ConfigError, match=r"option rho needs one value or one per member \(2\)"):
        config(optimizer="rmsprop", optimizer_options={"rho": [0.9, 0.9, 0.9]})
