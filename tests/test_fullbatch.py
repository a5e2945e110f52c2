"""Full-batch steps with layer 0 carried as H_0 = W_0 X (`minifa.fullbatch`) are the engine's
``train_step`` on the same inputs: checked in float64 on losses and every weight, for FA and
BP, two and three layers, per-member decay on the layers above, after members leave, on
NumPy and under array-api-strict."""

from __future__ import annotations

import numpy as np
import pytest

import minifa as mf
from minifa import fullbatch
from minifa.errors import ConfigError
from minifa.network import backpropagate, forward, output_error


TOL, RTOL = 1e-11, 1e-12  # float64, 200 steps: rounding only


def make(backend, layers=(12, 40, 1), activation="relu", rule="fa", decay=(0.0, [0.0, 0.3, 1.0]), bias=False,
         members=3, lr=0.05):
    decay = list(decay) + [0.0] * (len(layers) - 1 - len(decay))
    cfg = mf.Config(layers=layers, activation=activation, loss="mse", bias=bias, output_scale=layers[1] ** -0.5,
                    dtype="float64", init="normal", init_scale=1.0, rule=rule,
                    rule_options={"feedback": "normal"} if rule == "fa" else {}, lr=lr, weight_decay=decay,
                    batch_size=9, shuffle=False, seeds=list(range(members)))
    rng = np.random.default_rng(4)
    x = backend.asarray(rng.standard_normal((members, layers[0], 9)), "float64")
    y = backend.asarray(rng.standard_normal((members, layers[-1], 9)), "float64")
    return mf.build(cfg, backend), x, y


def assert_same(a, b):
    for wa, wb in zip(a.params.weights, b.params.weights):
        np.testing.assert_allclose(a.backend.to_host(wa), b.backend.to_host(wb), rtol=RTOL, atol=TOL)


@pytest.mark.parametrize("activation", ["relu", "tanh", "identity"])
@pytest.mark.parametrize("rule, layers", [("fa", (12, 40, 1)), ("bp", (12, 40, 1)), ("fa", (12, 30, 20, 3))])
def test_carried_steps_are_train_steps(backend, activation, rule, layers):
    lr = 0.05 if len(layers) == 3 else 0.005  # the deeper net diverges at 0.05
    ref, x, y = make(backend, layers, activation, rule, lr=lr)
    run, _, _ = make(backend, layers, activation, rule, lr=lr)
    carried = fullbatch.carry(run, x)
    for _ in range(200):
        expected = mf.train_step(ref, x, y, None, False)["loss"]
        np.testing.assert_allclose(backend.to_host(fullbatch.step(carried, y)), backend.to_host(expected), rtol=RTOL, atol=TOL)
    assert run.step == ref.step == 200
    np.testing.assert_allclose(backend.to_host(carried.pre), backend.to_host(ref.params.weights[0] @ x), rtol=RTOL, atol=TOL)
    assert_same(fullbatch.settle(carried), ref)


def test_kept_members_carry_on_as_in_the_whole_ensemble(backend):
    ref, x, y = make(backend)
    run, _, _ = make(backend)
    carried = fullbatch.carry(run, x)
    for _ in range(50):
        mf.train_step(ref, x, y, None, False)
        fullbatch.step(carried, y)
    keep = [2, 0]
    index = backend.asarray(np.asarray(keep))
    kept = fullbatch.keep(carried, keep)
    y_kept = backend.xp.take(y, index, axis=0)
    for _ in range(50):
        fullbatch.step(kept, y_kept)
        mf.train_step(ref, x, y, None, False)
    run = fullbatch.settle(kept)
    for w, full in zip(run.params.weights, ref.params.weights):
        np.testing.assert_allclose(backend.to_host(w), backend.to_host(full)[keep], rtol=RTOL, atol=TOL)


@pytest.mark.parametrize("change", [{"bias": True}, {"decay": (0.1, 0.2)}])
def test_a_run_it_cannot_carry_is_refused(cpu, change):
    run, x, _ = make(cpu, **change)
    with pytest.raises(ConfigError, match="layer 0 without bias or weight decay"):
        fullbatch.carry(run, x)


def test_shared_inputs_are_refused(cpu):
    run, x, _ = make(cpu)
    with pytest.raises(ConfigError, match="per-member inputs"):
        fullbatch.carry(run, x[0])


def test_a_rule_that_adds_to_layer_0s_update_is_refused_before_a_weight_moves(cpu):
    run, x, y = make(cpu, rule="perturbed", decay=(0.0, 0.0))
    before = [w.copy() for w in run.params.weights]
    carried = fullbatch.carry(run, x)
    with pytest.raises(ConfigError, match="cannot carry"):
        fullbatch.step(carried, y)
    assert run.step == 0 and all(np.array_equal(a, b) for a, b in zip(before, run.params.weights))


def test_a_one_output_error_is_carried_down_as_the_exact_outer_product(cpu):
    """backpropagate's broadcast product for a single output equals Bᵀ δ as a matmul, bit for bit."""
    run, x, y = make(cpu, rule="fa")
    cache = forward(cpu.xp, run.net, run.params, x)
    e = output_error(cpu.xp, run.net, cache, y)
    delta = backpropagate(cpu.xp, run.net, cache, e, run.rule.feedback)[0]
    b = run.rule.feedback[1]
    expected = (np.swapaxes(b, -1, -2) @ e) * (cache.pre[0] > 0)
    assert np.array_equal(delta, expected)
