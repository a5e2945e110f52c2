"""The compiled optimiser steps (`minifa.kernels`) give the array-API expressions' bits: the
same arrays stepped by the kernel, by NumPy's blocks and by the standard whole-array path,
at one and two threads, float32 and float64, with zeros, subnormals and overflowing squares
among the gradients; and a whole training run is the same with the kernels and without."""

from __future__ import annotations

import numpy as np
import pytest

import minifa as mf
from minifa import fastpaths, kernels, optimisers
from minifa.blas import set_blas_threads
from minifa.network import Params, Update

from .test_optimisers import ETA, make_run

COMPILED = [("momentum", {}), ("momentum", {"rho": 0.5}), ("rmsprop", {}), ("rmsprop", {"centred": True, "rho": 0.8}), ("adam", {}),
            ("adam", {"beta1": 0.5, "epsilon": 1e-3}), ("nesterov", {}), ("nesterov", {"rho": 0.5})]


@pytest.fixture
def calls(monkeypatch):
    """The kernels fetched (one per compiled step), by name."""
    seen, real = [], kernels.kernel

    def spy(name):
        seen.append(name)
        return real(name)

    monkeypatch.setattr(kernels, "kernel", spy)
    return seen


def gradients(rng, shape, dtype, steps=3):
    """Normal gradients with zeros, subnormals and values whose square overflows float32."""
    out = []
    for _ in range(steps):
        g = rng.standard_normal(shape).astype(dtype)
        flat = g.reshape(-1)
        flat[::97], flat[1::101] = 0, np.finfo(dtype).smallest_subnormal * 3
        flat[2::211] = 3e19 if dtype == "float32" else 3e150
        out.append(g)
    return out


def stepped(name, options, weights, grads, path, monkeypatch):
    """The weights and slots after ``grads``, the step taken by ``path``: "kernel", "blocks"
    (NumPy without kernels) or "whole" (the standard path on whole arrays)."""
    with monkeypatch.context() as m:
        if path != "kernel":
            m.setattr(kernels, "kernel", lambda name: None)
        if path == "whole":
            m.setattr(fastpaths.NumpyOps, "blockwise", fastpaths.ArrayOps.blockwise)
        cpu = mf.get_backend("cpu")
        opt = optimisers.make_optimiser(name, ETA, options)
        params = Params([weights.copy()], [weights[..., :1].copy()])
        state = optimisers.setup(np, opt, params)
        with np.errstate(over="ignore"):  # the squares meant to overflow
            for g in grads:
                optimisers.update(cpu.xp, opt, state, params, [Update(g, g[..., :1].copy())])
        return params, state.slots


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, options", COMPILED)
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # on the pool threads too
def test_each_kernel_gives_the_array_api_bits(cpu, name, options, dtype, threads, calls, monkeypatch):
    set_blas_threads(threads)  # two: the blocks split over the pool (the conftest fixture restores the count)
    rng = np.random.default_rng(7)
    shape = (1, 3 * fastpaths.ELEMENTS // 200 + 7, 201)  # several blocks, a ragged last one
    weights, grads = rng.standard_normal(shape).astype(dtype), gradients(rng, shape, dtype)
    ours = stepped(name, options, weights, grads, "kernel", monkeypatch)
    assert len(calls) == 2 * len(grads)  # the weight's and the bias's step, every time
    for path in ("blocks", "whole"):
        params, slots = stepped(name, options, weights, grads, path, monkeypatch)
        for got, want in zip(ours[0].weights + ours[0].biases, params.weights + params.biases):
            np.testing.assert_array_equal(got, want, strict=True)
        for key, slot in slots.items():
            np.testing.assert_array_equal(ours[1][key], slot, strict=True)
    assert not np.array_equal(ours[0].weights[0], weights) and np.isfinite(ours[0].weights[0]).any()


@pytest.mark.parametrize("optimizer, options", [("rmsprop", {"rho": 0.99, "epsilon": 1e-8 / 640}), ("adam", {}),
                                                ("nesterov", {}), ("momentum", {})])
def test_a_training_run_is_the_same_with_the_kernels_and_without(cpu, optimizer, options, calls, monkeypatch):
    """An ensemble of two with biases and L2 weight decay, one epoch: every parameter and
    slot bit for bit."""
    runs = []
    for compiled in (True, False):
        with monkeypatch.context() as m:
            if not compiled:
                m.setattr(kernels, "kernel", lambda name: None)
            run, data = make_run(cpu, "fa", optimizer, options, weight_decay=0.01, dtype="float32")
            mf.train(run, data, 1)
            runs.append(run)
    assert calls  # the first run stepped by the kernels
    for got, want in zip(runs[0].params.weights + runs[0].params.biases, runs[1].params.weights + runs[1].params.biases):
        np.testing.assert_array_equal(got, want, strict=True)
    for key, slot in runs[1].optimiser_state.slots.items():
        np.testing.assert_array_equal(runs[0].optimiser_state.slots[key], slot, strict=True)


def test_kernels_decline_what_they_cannot_take(cpu, calls):
    """Members with their own ρ (a block would mix them), AdamW (its decay term), and
    strided or mixed-dtype arrays go the array-API way, untouched by a kernel."""
    opt = optimisers.make_optimiser("rmsprop", ETA, {"rho": [0.9, 0.5]}, members=2)
    params = Params([np.ones((2, 3, 4))], None)
    state = optimisers.setup(np, opt, params)
    optimisers.update(np, opt, state, params, [Update(np.full((2, 3, 4), 0.5), None)])
    assert calls == [] and optimisers.make_optimiser("adamw", ETA).compiled(1) is None
    ops, x = fastpaths.ops(np), np.ones((4, 6))
    strided = [x[:, ::2], np.ones((4, 3)), np.zeros((4, 3)), np.zeros((4, 3))]
    mixed = [np.ones(5), np.ones(5, dtype=np.float32), np.zeros(5), np.zeros(5)]
    for arrays in (strided, mixed):
        assert not ops.compiled("rmsprop", (0.9, 0.1, ETA, 1e-8), arrays)
    assert (x == 1).all() and not fastpaths.ArrayOps(np).compiled("rmsprop", (0.9, 0.1, ETA, 1e-8), mixed)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sign_times_is_numpys_sign_times_the_magnitudes(cpu, dtype, threads, calls):
    """±0 (NumPy's sign gives +0), NaN of either sign, subnormals, infinities, over several blocks."""
    set_blas_threads(threads)
    rng = np.random.default_rng(9)
    w = rng.standard_normal(3 * fastpaths.ELEMENTS + 11).astype(dtype)
    w[:8] = [0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, np.finfo(dtype).smallest_subnormal, -1e-30]
    m = np.abs(rng.standard_normal(w.size)).astype(dtype)
    m[8:10] = [0.0, np.inf]
    with np.errstate(invalid="ignore"):
        got, want = fastpaths.ops(np).sign_times(w, m), np.sign(w) * m
    assert calls == ["sign_times"]
    np.testing.assert_array_equal(got.view(f"u{w.itemsize}"), want.view(f"u{w.itemsize}"), strict=True)  # the bits, NaNs too


@pytest.mark.parametrize("rule", ["frsf", "brsf"])
def test_sign_concordant_runs_are_the_same_with_the_kernel_and_without(cpu, rule, calls, monkeypatch):
    runs = []
    for compiled in (True, False):
        with monkeypatch.context() as m:
            if not compiled:
                m.setattr(kernels, "kernel", lambda name: None)
            run, data = make_run(cpu, rule, dtype="float32")
            mf.train(run, data, 1)
            runs.append(run)
    assert "sign_times" in calls
    for got, want in zip(runs[0].params.weights + runs[0].params.biases, runs[1].params.weights + runs[1].params.biases):
        np.testing.assert_array_equal(got, want, strict=True)
