"""Optimisers: Optimisers.jl's formulas as plain loops, every rule × optimiser, exact resume."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import minifa as mf
from minifa import checkpoint, optimisers
from minifa.errors import ConfigError
from minifa.network import Params, Update, sgd_step_factored
from minifa.rules import RULES
from minifa.options import examples

from .conftest import tiny_dataset
from .test_checkpoint import assert_same_run

ETA, STEPS = 0.05, 4


def reference(name: str, settings: dict, x: float, grads: list[float], decay: float = 0.0) -> float:
    """One scalar parameter through ``grads`` (L2 ``decay`` added first), Optimisers.jl's
    ``apply!`` written out with Python floats."""
    s = settings
    v = q = l = m = 0.0
    for t, g in enumerate(grads, start=1):
        g = g + decay * x
        if name == "sgd":
            dx = ETA * g
        elif name == "momentum":
            v = s["rho"] * v + ETA * g
            dx = v
        elif name == "nesterov":
            dx = -s["rho"] ** 2 * v + (1 + s["rho"]) * ETA * g
            v = s["rho"] * v - ETA * g
        elif name == "rmsprop":
            q = s["rho"] * q + (1 - s["rho"]) * g * g
            if s["centred"]:
                l = s["rho"] * l + (1 - s["rho"]) * g
            dx = ETA * g / (math.sqrt(q - l * l) + s["epsilon"])
        else:  # adam, adamw
            m = s["beta1"] * m + (1 - s["beta1"]) * g
            v = s["beta2"] * v + (1 - s["beta2"]) * g * g
            u = m / (1 - s["beta1"] ** t) / (math.sqrt(v / (1 - s["beta2"] ** t)) + s["epsilon"])
            if name == "adam":
                dx = ETA * u
            elif s["couple"]:
                dx = ETA * (u + s["decay"] * x)
            else:
                dx = ETA * u + s["decay"] * x
        x = x - dx
    return x


CASES = [("sgd", {}), ("momentum", {}), ("momentum", {"rho": 0.5}), ("nesterov", {}), ("rmsprop", {}),
         ("rmsprop", {"centred": True, "rho": 0.8}), ("adam", {}), ("adam", {"beta1": 0.5, "epsilon": 1e-3}),
         ("adamw", {"decay": 0.1}), ("adamw", {"decay": 0.1, "couple": False})]


@pytest.mark.parametrize("decay", [0.0, 0.3])
@pytest.mark.parametrize("name, options", CASES)
def test_each_optimiser_is_optimisers_jl_formula_as_loops(backend, name, options, decay):
    rng = np.random.default_rng(3)
    shapes = [(2, 3, 4), (2, 2, 3)]  # (R, out, in): two members, two layers
    weights = [rng.standard_normal(s) for s in shapes]
    biases = [rng.standard_normal((s[0], s[1], 1)) for s in shapes]
    grads = [[(rng.standard_normal(s), rng.standard_normal((s[0], s[1], 1))) for s in shapes] for _ in range(STEPS)]
    opt = optimisers.make_optimiser(name, ETA, options)
    params = Params([backend.asarray(w.copy()) for w in weights], [backend.asarray(b.copy()) for b in biases])  # stepped in place
    state = optimisers.setup(backend.xp, opt, params)
    for step in grads:
        updates = [Update(backend.asarray(g), backend.asarray(gb)) for g, gb in step]
        optimisers.update(backend.xp, opt, state, params, updates, None if decay == 0 else [decay, decay])
    assert state.t == (0 if name == "sgd" else STEPS)
    for l in range(2):
        for array, got, which, lam in ((weights[l], params.weights[l], 0, decay), (biases[l], params.biases[l], 1, 0.0)):
            want = np.empty_like(array)
            for i in np.ndindex(array.shape):
                want[i] = reference(name, opt.settings, array[i], [g[l][which][i] for g in grads], lam)
            np.testing.assert_allclose(backend.to_host(got), want, rtol=1e-13, atol=1e-15)


def test_flux_defaults_and_declared_options():
    defaults = {name: {k: spec.default for k, spec in cls.options.items()} for name, cls in optimisers.OPTIMISERS.items()}
    assert defaults == {"sgd": {}, "momentum": {"rho": 0.9}, "nesterov": {"rho": 0.9},
                        "rmsprop": {"rho": 0.9, "epsilon": 1e-8, "centred": False},
                        "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
                        "adamw": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "decay": 0.0, "couple": True}}


def make_run(backend, rule="fa", optimizer="sgd", options=None, **kw):
    cfg = mf.Config(layers=(12, 8, 6, 4), rule=rule, rule_options=examples(RULES[rule].options), seeds=[0, 1],
                    batch_size=50, optimizer=optimizer, optimizer_options=options or {}, lr=0.01, **kw)
    run = mf.build(cfg, backend)
    return run, mf.DeviceData.from_dataset(backend, tiny_dataset(), cfg.dtype)


@pytest.mark.parametrize("optimizer", list(optimisers.OPTIMISERS))
@pytest.mark.parametrize("rule", list(RULES))
def test_every_optimiser_trains_every_rule_ensemble(backend, rule, optimizer):
    run, data = make_run(backend, rule, optimizer)
    before = [backend.to_host(w) for w in run.params.weights]
    mf.train(run, data, 1)
    assert run.step == 6 and run.optimiser_state.t == (0 if optimizer == "sgd" else 6)  # sgd has no state
    assert np.all(np.isfinite(run.history["epochs"]["train_loss"][-1]))
    moved = [not np.array_equal(w, backend.to_host(v)) for w, v in zip(before, run.params.weights)]
    assert moved[-1] and (rule == "last-layer" or all(moved))
    for name, slot in run.optimiser_state.slots.items():
        param = run.params.weights if name[0] == "W" else run.params.biases
        assert slot.shape == param[int(name[1:name.index("/")]) - 1].shape  # member axis first, like the parameter


@pytest.mark.parametrize("optimizer, options", [("sgd", {}), ("momentum", {}), ("nesterov", {}), ("rmsprop", {"centred": True}),
                                                ("adam", {}), ("adamw", {"decay": 0.01})])
def test_resume_is_exact_for_every_optimiser(tmp_path, optimizer, options):
    cpu = mf.get_backend("cpu")
    straight, data = make_run(cpu, "kolen-pollack", optimizer, options, weight_decay=0.01, metrics_every=2)
    mf.train(straight, data, 3)
    first, _ = make_run(cpu, "kolen-pollack", optimizer, options, weight_decay=0.01, metrics_every=2)
    mf.train(first, data, 1)
    resumed = checkpoint.load(checkpoint.save(first, tmp_path / "run.h5"))
    assert resumed.optimiser_state.t == first.optimiser_state.t == (0 if optimizer == "sgd" else 6)
    for name, slot in first.optimiser_state.slots.items():
        np.testing.assert_array_equal(resumed.optimiser_state.slots[name], slot, strict=True)
    mf.train(resumed, data, 3)
    assert_same_run(resumed, straight)
    for name, slot in straight.optimiser_state.slots.items():
        np.testing.assert_array_equal(resumed.optimiser_state.slots[name], slot, strict=True)
    assert optimizer == "sgd" or not np.array_equal(first.optimiser_state.slots["W1/" + first.optimiser.slots[0]],
                                                    straight.optimiser_state.slots["W1/" + first.optimiser.slots[0]])


def test_resume_without_the_optimiser_state_differs(tmp_path):
    """Control: dropping Adam's moments on load changes the continued run."""
    cpu = mf.get_backend("cpu")
    straight, data = make_run(cpu, "fa", "adam")
    mf.train(straight, data, 2)
    first, _ = make_run(cpu, "fa", "adam")
    mf.train(first, data, 1)
    resumed = checkpoint.load(checkpoint.save(first, tmp_path / "run.h5"))
    resumed.optimiser_state = optimisers.setup(cpu.xp, resumed.optimiser, resumed.params)
    mf.train(resumed, data, 2)
    assert not np.array_equal(resumed.params.weights[0], straight.params.weights[0])


def test_a_damaged_optimiser_state_is_refused(tmp_path):
    import h5py

    run, _ = make_run(mf.get_backend("cpu"), "fa", "adam")
    path = checkpoint.save(run, tmp_path / "run.h5")
    with h5py.File(path, "r+") as f:
        f["optimizer/W1/m"][0, 0, 0] = 1.0
    with pytest.raises(mf.MinifaError, match="optimizer/W1/m"):
        checkpoint.load(path)


def test_new_fields_at_their_defaults_leave_the_stored_config_as_it_was():
    """Checkpoints and sweep files hash and store ``Config.to_json``: a config that does not
    use the optimiser or dropout fields keeps the exact JSON it had before they existed."""
    cfg = mf.Config()
    assert {"optimizer", "optimizer_options", "dropout"}.isdisjoint(json.loads(cfg.to_json()))
    assert mf.Config.from_json(cfg.to_json()) == cfg
    set_ = mf.Config(optimizer="rmsprop", optimizer_options={"rho": 0.99}, layers=(4, 3, 2), dropout=0.5)
    assert json.loads(set_.to_json())["optimizer_options"] == {"rho": 0.99}
    assert mf.Config.from_json(set_.to_json()) == set_


@pytest.mark.parametrize("kw, message", [({"optimizer": "adagrad"}, "unknown optimizer 'adagrad'; choose one of sgd, "),
                                         ({"optimizer": "adam", "optimizer_options": {"rho": 0.9}}, "has no option 'rho'"),
                                         ({"optimizer": "rmsprop", "optimizer_options": {"rho": 1.5}}, r"outside \[0, 1\]")])
def test_bad_optimisers_are_one_line_errors(kw, message):
    with pytest.raises(ConfigError, match=message):
        mf.Config(**kw)


def test_keep_members_keeps_the_optimiser_state(cpu):
    from minifa.ensemble import keep_members

    run, data = make_run(cpu, "fa", "adam")
    mf.train(run, data, 1)
    kept = keep_members(run, [1])
    assert kept.optimiser_state.t == run.optimiser_state.t
    for name, slot in run.optimiser_state.slots.items():
        np.testing.assert_array_equal(kept.optimiser_state.slots[name], slot[1:2], strict=True)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, options", CASES)
def test_blockwise_steps_on_threads_equal_whole_arrays_bit_for_bit(cpu, name, options, dtype, monkeypatch):
    """NumPy steps an optimiser block by block on threads (`fastpaths.blockwise`); the
    standard path steps whole arrays. Arrays over several blocks, a ragged last one."""
    from minifa import fastpaths
    from minifa.blas import set_blas_threads

    set_blas_threads(2)  # two threads at least: the pool runs (the conftest fixture restores the count)
    monkeypatch.setattr(fastpaths.kernels, "kernel", lambda name: None)  # the blocks, not the compiled pass (test_kernels)
    rng = np.random.default_rng(5)
    shape = (2, 3 * fastpaths.ELEMENTS // 200 + 7, 201)
    weights, grads = rng.standard_normal(shape).astype(dtype), [rng.standard_normal(shape).astype(dtype) for _ in range(3)]
    results = []
    for blockwise in (fastpaths.NumpyOps.blockwise, fastpaths.ArrayOps.blockwise):
        monkeypatch.setattr(fastpaths.NumpyOps, "blockwise", blockwise)
        opt = optimisers.make_optimiser(name, ETA, options)
        params = Params([cpu.asarray(weights.copy())], None)
        state = optimisers.setup(cpu.xp, opt, params)
        for g in grads:
            optimisers.update(cpu.xp, opt, state, params, [Update(cpu.asarray(g), None)])
        results.append((params.weights[0], state.slots))
    (blocked, slots), (whole, whole_slots) = results
    np.testing.assert_array_equal(blocked, whole, strict=True)
    for key, slot in slots.items():
        np.testing.assert_array_equal(slot, whole_slots[key], strict=True)
    assert name == "sgd" or not np.array_equal(blocked, weights)


@pytest.mark.parametrize("rule", ["fa", "perturbed"])
def test_sgd_is_the_fused_step_of_before_bit_for_bit(cpu, rule):
    """``optimizer="sgd"`` steps through ``network.sgd_step_factored`` exactly as the loop did
    before optimisers existed (one fused GEMM, plus the axpy of perturbed BP's direction)."""
    run, data = make_run(cpu, rule, "sgd", weight_decay=[0.0, 0.01, 0.02])
    ref, _ = make_run(cpu, rule, "sgd", weight_decay=[0.0, 0.01, 0.02])
    x, y = cpu.asarray(tiny_dataset().x_train[:, :50]), cpu.asarray(tiny_dataset().y_train[:, :50])
    for _ in range(3):
        proposal = mf.propose(ref.rule, ref.params, x, y)
        sgd_step_factored(cpu.xp, ref.params, proposal.signal.cache, proposal.steps, ref.config.lr, ref.weight_decay())
        mf.train_step(run, x, y, None, False)
    for u, v in zip(run.params.weights + run.params.biases, ref.params.weights + ref.params.biases):
        np.testing.assert_array_equal(u, v, strict=True)


@pytest.mark.parametrize("options", [{}, {"rho": [0.5, 0.9]}])
@pytest.mark.parametrize("rule", ["fa", "perturbed"])
def test_momentum_on_factored_steps_is_the_formed_step(backend, rule, options):
    """Momentum applies factored steps as one GEMM into v, ΔW never formed
    (``update_factored``): in float64 the same as ``update`` on the formed ΔW (to rounding),
    with L2 decay, perturbed BP's extra term and per-member ρ."""
    decays = [0.0, 0.01, 0.02]
    run, data = make_run(backend, rule, "momentum", options, weight_decay=decays, dtype="float64")
    ref, _ = make_run(backend, rule, "momentum", options, weight_decay=decays, dtype="float64")
    x, y = backend.asarray(tiny_dataset().x_train[:, :50]), backend.asarray(tiny_dataset().y_train[:, :50])
    for _ in range(4):
        proposal = mf.propose(ref.rule, ref.params, x, y)
        optimisers.update(backend.xp, ref.optimiser, ref.optimiser_state, ref.params,
                          proposal.updates(backend.xp, ref.net), ref.weight_decay())
        mf.train_step(run, x, y, None, False)
    assert run.optimiser.fuses and run.optimiser_state.t == ref.optimiser_state.t == 4
    pairs = list(zip(run.params.weights + run.params.biases, ref.params.weights + ref.params.biases))
    pairs += [(run.optimiser_state.slots[k], v) for k, v in ref.optimiser_state.slots.items()]
    for got, want in pairs:
        np.testing.assert_allclose(backend.to_host(got), backend.to_host(want), rtol=1e-12, atol=1e-14)
    assert not np.allclose(backend.to_host(run.params.weights[0]), backend.to_host(make_run(backend, rule)[0].params.weights[0]))
