"""Conv chains (`minifa.layers`) in float64: im2col against plain loops, BP against central
differences, pooling's routing, on NumPy and under array-api-strict."""

from __future__ import annotations

import numpy as np
import pytest

import minifa as mf
from minifa.errors import ConfigError
from minifa.layers import Chain, Conv2d, Dense, Flatten, Pool
from minifa.network import init_params
from minifa.streams import Streams

from .test_gradients import TOLERANCE, finite_difference

SHAPE = (2, 7, 6)  # channels, rows, columns of a tiny image


def tiny_chain(activation="tanh", pool="max", bias=True):
    """Every layer kind: a strided padded conv, pooling, a second conv, flatten, two dense."""
    layers = (Conv2d(3, 3, stride=2, padding=1), Pool(pool, 2), Conv2d(4, 2, padding=1), Flatten(), Dense(5), Dense(3))
    return Chain(SHAPE, layers, activation, bias=bias)


def tiny_params(backend, net, seeds=(3, 4), scale=0.7):
    streams = [Streams(s) for s in seeds]
    params = init_params(backend, net, streams, "normal", np.full(len(seeds), scale), "float64")
    rng = np.random.default_rng(9)  # non-zero biases: their gradients at a generic point
    if params.biases is not None:
        params.biases = [backend.asarray(0.3 * rng.standard_normal(backend.to_host(b).shape)) for b in params.biases]
    return params


def tiny_images(n=5, seed=1, classes=3):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    return rng.standard_normal((int(np.prod(SHAPE)), n)), np.eye(classes)[:, labels], labels


def loop_conv(kernel, bias, x, stride, padding):
    """The definition, one output entry at a time: ``h[o,y,x,n] = Σ K[o,a,b,c] x̃[c,sy+a,sx+b,n] + b_o``
    for one member's kernel (out, k, k, C) and an image batch (C, H, W, N)."""
    c, h, w, n = x.shape
    o, k = kernel.shape[0], kernel.shape[1]
    padded = np.zeros((c, h + 2 * padding, w + 2 * padding, n))
    padded[:, padding:padding + h, padding:padding + w] = x
    ho, wo = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    out = np.zeros((o, ho, wo, n))
    for oc in range(o):
        for y in range(ho):
            for xx in range(wo):
                for s in range(n):
                    patch = padded[:, y * stride:y * stride + k, xx * stride:xx * stride + k, s]  # (C, k, k)
                    out[oc, y, xx, s] = np.sum(kernel[oc] * np.transpose(patch, (1, 2, 0))) + bias[oc]
    return out


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (1, 2)])
def test_im2col_conv_is_the_plain_loop_conv(backend, stride, padding):
    xp, rng = backend.xp, np.random.default_rng(0)
    layer, shape = Conv2d(4, 3, stride, padding), (2, 6, 5)
    x = rng.standard_normal(shape + (3,))
    w = rng.standard_normal((2,) + layer.matrix(shape))  # two members
    b = rng.standard_normal((2, 4, 1))
    h = backend.to_host(backend.asarray(w) @ layer.columns(xp, backend.asarray(x), shape) + backend.asarray(b))
    out = layer.out_shape(shape)
    for r in range(2):
        kernel = w[r].reshape(4, 3, 3, 2)  # (out, a, b, c): the matrix's K order
        want = loop_conv(kernel, b[r, :, 0], x, stride, padding)
        np.testing.assert_allclose(h[r].reshape(out + (3,)), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1)])
def test_col2im_is_the_adjoint_of_im2col(backend, stride, padding):
    """⟨cols(x), g⟩ = ⟨x, col2im(g)⟩ for random x and g: the backward pass is im2col's transpose."""
    xp, rng = backend.xp, np.random.default_rng(1)
    layer, shape = Conv2d(3, 3, stride, padding), (2, 6, 5)
    x = rng.standard_normal((2,) + shape + (4,))
    cols = backend.to_host(layer.columns(xp, backend.asarray(x), shape))
    g = rng.standard_normal(cols.shape)
    back = backend.to_host(layer.input_grad(xp, backend.asarray(g), shape))
    assert back.shape == x.shape
    assert np.sum(cols * g) == pytest.approx(np.sum(x * back), rel=1e-12)


def test_the_conv_update_is_delta_cols_transposed_bit_for_bit():
    """``(cols δᵀ)ᵀ`` is ``δ colsᵀ`` exactly on LeNet's conv shapes (float32, one and two
    members): the faster orientation changes no bit of training (BLAS's dot products over M)."""
    rng = np.random.default_rng(2)
    for out, k, m in [(6, 25, 28 * 28 * 8), (16, 150, 10 * 10 * 8)]:
        for lead in ((), (2,)):
            delta = rng.standard_normal(lead + (out, m), dtype=np.float32)
            cols = rng.standard_normal(lead + (k, m), dtype=np.float32)
            dw = Conv2d(out, 5).weight_update(np, delta, cols)
            assert np.array_equal(dw, delta @ np.swapaxes(cols, -1, -2))


@pytest.mark.parametrize("pool", ["max", "avg"])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_bp_through_conv_pool_flatten_matches_central_differences(backend, pool, activation):
    net = tiny_chain(activation, pool)
    params = tiny_params(backend, net)
    x, y, _ = (backend.asarray(a) if a is not None else None for a in tiny_images())
    xp = backend.xp
    cache = mf.forward(xp, net, params, x)
    grads = mf.gradient(xp, net, params, cache, mf.output_error(xp, net, cache, y))
    pairs = list(zip(params.weights, [g.weight for g in grads])) + list(zip(params.biases, [g.bias for g in grads]))
    for array, analytic in pairs:
        numeric = finite_difference(backend, net, params, x, y, array)
        error = np.linalg.norm(backend.to_host(analytic) - numeric) / np.linalg.norm(numeric)
        assert error <= TOLERANCE, error


def test_max_pool_sends_each_window_gradient_to_its_first_maximum(backend):
    """Ties (ReLU's zeros) must not double the gradient: one entry per window receives it."""
    xp, pool, shape = backend.xp, Pool("max", 2), (1, 2, 4)
    x = np.array([[[0.0, 0.0, 1.0, 3.0], [0.0, 0.0, 3.0, 2.0]]])[..., None]  # (1, 2, 4, N=1)
    y, keep = pool.forward(xp, backend.asarray(x), shape)
    assert backend.to_host(y).ravel().tolist() == [0.0, 3.0]
    grad = backend.to_host(pool.backward(xp, keep, backend.asarray(np.array([[[[5.0], [7.0]]]])), shape))
    assert grad[..., 0].tolist() == [[[5.0, 0.0, 0.0, 7.0], [0.0, 0.0, 0.0, 0.0]]]


def test_a_chain_that_does_not_fit_is_one_line():
    with pytest.raises(ConfigError, match="does not fit"):
        Chain((1, 4, 4), (Conv2d(2, 5), Flatten(), Dense(3)))
