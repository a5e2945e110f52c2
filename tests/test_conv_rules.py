"""Every rule on a conv chain, float64, NumPy and array-api-strict: FA with B = W is BP,
sign-concordant feedback is BP through sign(W), brSF is FA through
sign(W) ⊙ |R| redrawn every step, DFA's projection lands on each conv output,
Kolen-Pollack's B takes W's update."""

from __future__ import annotations

import numpy as np
import pytest

import minifa as mf
from minifa.activations import get_activation
from minifa.layers.chain import TRAINABLE
from minifa.rules import make_rule, propose
from minifa.streams import Streams

from .test_conv import tiny_chain, tiny_images, tiny_params

CHAIN_RULES = ["bp", "fa", "dfa", "sign-symmetry", "frsf", "brsf", "kolen-pollack"]


def setup(backend, name, options=None):
    net = tiny_chain("tanh")
    params = tiny_params(backend, net)
    rule = make_rule(name, backend, net, [Streams(s) for s in (3, 4)], "float64", options)
    x, y, _ = tiny_images()
    return net, params, rule, backend.asarray(x), backend.asarray(y)


def deltas_of(backend, rule, params, x, y):
    return [backend.to_host(s.delta) for s in propose(rule, params, x, y).steps]


@pytest.mark.parametrize("name", CHAIN_RULES)
def test_every_rule_gives_one_delta_per_layer_of_its_output_shape(backend, name):
    net, params, rule, x, y = setup(backend, name)
    proposal = propose(rule, params, x, y)
    for l, (step, update) in enumerate(zip(proposal.steps, proposal.updates(backend.xp, net))):
        assert step.delta.shape == proposal.signal.cache.pre[l].shape
        assert update.weight.shape == params.weights[l].shape
        assert np.all(np.isfinite(backend.to_host(update.weight))) and np.any(backend.to_host(update.weight) != 0)


def test_fa_with_feedback_equal_to_the_weights_is_bp(backend):
    net, params, fa, x, y = setup(backend, "fa")
    fa.feedback = list(params.weights)
    bp = make_rule("bp", backend, net, [Streams(3), Streams(4)], "float64")
    for ours, theirs in zip(deltas_of(backend, fa, params, x, y), deltas_of(backend, bp, params, x, y)):
        np.testing.assert_array_equal(ours, theirs)


def test_fa_with_random_feedback_is_not_bp(backend):
    net, params, fa, x, y = setup(backend, "fa")
    bp = make_rule("bp", backend, net, [Streams(3), Streams(4)], "float64")
    ours, theirs = deltas_of(backend, fa, params, x, y), deltas_of(backend, bp, params, x, y)
    np.testing.assert_array_equal(ours[-1], theirs[-1])  # the output error is the rule-free e
    assert all(np.max(np.abs(a - b)) > 1e-3 for a, b in zip(ours[:-1], theirs[:-1]))


def test_frsf_with_unit_magnitudes_is_sign_symmetry(backend):
    net, params, frsf, x, y = setup(backend, "frsf", {"magnitudes": "pm1"})
    _, _, usf, _, _ = setup(backend, "sign-symmetry")
    for ours, theirs in zip(deltas_of(backend, frsf, params, x, y), deltas_of(backend, usf, params, x, y)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)


def test_sign_symmetry_is_bp_through_the_weights_signs(backend):
    net, params, usf, x, y = setup(backend, "sign-symmetry")
    signs = mf.Params([backend.xp.sign(w) for w in params.weights], params.biases)
    bp = make_rule("fa", backend, net, [Streams(3), Streams(4)], "float64")
    bp.feedback = signs.weights
    for ours, theirs in zip(deltas_of(backend, usf, params, x, y), deltas_of(backend, bp, params, x, y)):
        np.testing.assert_array_equal(ours, theirs)


def test_brsf_is_fa_through_sign_w_times_magnitudes_redrawn_after_every_step(backend):
    """``B_l = sign(W_l) ⊙ |R_l^(t)|`` on conv kernels: FA with that B, bit for bit, at two
    consecutive batches, with fresh magnitudes in [0, scale] after the step."""
    scale = 0.3
    net, params, brsf, x, y = setup(backend, "brsf", {"magnitudes": "uniform", "magnitude_scale": scale})
    fa = make_rule("fa", backend, net, [Streams(3), Streams(4)], "float64")
    for _ in range(2):
        fa.feedback = [backend.xp.sign(w) * m for w, m in zip(params.weights, brsf.magnitudes)]
        for ours, theirs in zip(deltas_of(backend, brsf, params, x, y), deltas_of(backend, fa, params, x, y)):
            np.testing.assert_array_equal(ours, theirs)
        before = [backend.to_host(m) for m in brsf.magnitudes]
        brsf.after_step(None, 0.1)
        after = [backend.to_host(m) for m in brsf.magnitudes]
        assert all(a.shape == b.shape and not np.array_equal(a, b) for a, b in zip(after, before))
        assert all(0 <= a.min() and a.max() <= scale for a in after)


def test_dfa_projects_the_output_error_onto_each_conv_output(backend):
    """δ_l[o, (y, x, n)] = (R_l e)[(o, y, x), n] · f'(h_l), written with explicit indices."""
    net, params, dfa, x, y = setup(backend, "dfa")
    proposal = propose(dfa, params, x, y)
    e = backend.to_host(proposal.signal.e)
    act, n = get_activation("tanh"), x.shape[-1]
    for l, r in enumerate(dfa.feedback):
        h = backend.to_host(proposal.signal.cache.pre[l])  # (R, O, M)
        projected = backend.to_host(r) @ e  # (R, n_l, N)
        out = net.in_shapes[[i for i, layer in enumerate(net.layers) if isinstance(layer, TRAINABLE)][l] + 1]
        want = np.zeros_like(h)
        for member, o, pixel, sample in np.ndindex(h.shape[0], out[0], int(np.prod(out[1:])), n):
            column = pixel * n + sample
            want[member, o, column] = projected[member, o * int(np.prod(out[1:])) + pixel, sample] * (1 - np.tanh(h[member, o, column]) ** 2)
        np.testing.assert_allclose(backend.to_host(proposal.steps[l].delta), want, rtol=1e-12, atol=1e-15)


def test_kolen_pollack_feedback_takes_the_weights_update(backend):
    net, params, kp, x, y = setup(backend, "kolen-pollack")
    before = [backend.to_host(b) for b in kp.feedback]
    proposal = propose(kp, params, x, y)
    updates = [backend.to_host(u.weight) for u in proposal.updates(backend.xp, net)]
    kp.after_step(proposal, 0.1)
    for b0, b1, u in zip(before, kp.feedback, updates):
        np.testing.assert_allclose(backend.to_host(b1), b0 - 0.1 * u, rtol=1e-12, atol=1e-14)
