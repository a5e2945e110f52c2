"""BP gradients against central finite differences, float64, for every activation and loss."""

from __future__ import annotations

import numpy as np
import pytest

import minifa as mf
from minifa import activations
from minifa.metrics import batch_loss

from .conftest import tiny_batch

TOLERANCE = 1e-6  # relative error ‖analytic − numeric‖ / ‖numeric‖ per layer
STEP = 1e-6  # central-difference step


def loss_of(backend, net, params, x, y):
    xp = backend.xp
    return backend.to_host(batch_loss(xp, net, mf.forward(xp, net, params, x), y))


def finite_difference(backend, net, params, x, y, array):
    """Central differences of every member's loss w.r.t. every entry of ``array`` (in place)."""
    flat_host = backend.to_host(array).copy()
    numeric = np.zeros_like(flat_host)
    for index in np.ndindex(flat_host.shape[1:]):
        for sign in (+1, -1):
            probe = flat_host.copy()
            probe[(slice(None), *index)] += sign * STEP
            array[...] = backend.asarray(probe)
            numeric[(slice(None), *index)] += sign * loss_of(backend, net, params, x, y) / (2 * STEP)
    array[...] = backend.asarray(flat_host)
    return numeric


def relative_errors(backend, net, params, x, y):
    xp = backend.xp
    cache = mf.forward(xp, net, params, x)
    grads = mf.gradient(xp, net, params, cache, mf.output_error(xp, net, cache, y))
    errors = []
    arrays = list(zip(params.weights, [g.weight for g in grads]))
    if params.biases is not None:
        arrays += list(zip(params.biases, [g.bias for g in grads]))
    for array, analytic in arrays:
        numeric = finite_difference(backend, net, params, x, y, array)
        errors.append(np.linalg.norm(backend.to_host(analytic) - numeric) / np.linalg.norm(numeric))
    return errors


def setup(backend, activation, loss, bias=True, output_scale=1.0, sizes=(6, 5, 4, 3)):
    cfg = mf.Config(layers=sizes, activation=activation, loss=loss, bias=bias, output_scale=output_scale,
                    dtype="float64", init="normal", init_scale=0.7, rule="bp", seeds=[3, 4])
    run = mf.build(cfg, backend)
    # Non-zero biases so their gradients are tested at a generic point.
    if run.params.biases is not None:
        rng = np.random.default_rng(9)
        run.params.biases = [backend.asarray(0.3 * rng.standard_normal(backend.to_host(b).shape)) for b in run.params.biases]
    regression = loss in ("mse", "half-sse")
    x, y, _ = tiny_batch(sizes, regression=regression)
    return run, backend.asarray(x), backend.asarray(y)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "identity"])
@pytest.mark.parametrize("loss", ["softmax-crossentropy", "logitcrossentropy", "mse", "half-sse", "binarycrossentropy",
                                  "logitbinarycrossentropy"])
def test_bp_matches_central_differences(backend, activation, loss):
    run, x, y = setup(backend, activation, loss)
    errors = relative_errors(backend, run.net, run.params, x, y)
    assert max(errors) <= TOLERANCE, errors


@pytest.mark.parametrize("loss", ["mse", "logitcrossentropy"])
def test_bp_matches_differences_for_song_network(backend, loss):
    """Song et al.'s f(x) = β ψ(Wx)/√p: no biases, output scaled by 1/√p."""
    sizes = (5, 9, 1) if loss == "mse" else (5, 9, 3)
    run, x, y = setup(backend, "relu", loss, bias=False, output_scale=9 ** -0.5, sizes=sizes)
    assert max(relative_errors(backend, run.net, run.params, x, y)) <= TOLERANCE


def test_broken_gradient_is_rejected(cpu, monkeypatch):
    """The same check must fail for a wrong derivative (tanh' taken as 1 − h² instead of 1 − x²)."""
    broken = activations.Activation("tanh", activations.ACTIVATIONS["tanh"].value, lambda xp, h, x: 1.0 - h * h)
    monkeypatch.setitem(activations.ACTIVATIONS, "tanh", broken)
    run, x, y = setup(cpu, "tanh", "logitcrossentropy")
    assert max(relative_errors(cpu, run.net, run.params, x, y)) > 1e-2
