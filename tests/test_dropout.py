"""Inverted dropout: masks from each member's stream, BP through the mask equals finite
differences of the thinned network, every rule's δ masked, off in evaluation, exact resume."""

from __future__ import annotations

import numpy as np
import pytest

import minifa as mf
from minifa import checkpoint, dropout
from minifa.metrics import batch_loss
from minifa.streams import Streams

from .conftest import tiny_batch, tiny_dataset
from .test_checkpoint import assert_same_run, resumed_beside_straight

SIZES = (6, 5, 4, 3)
RATES = np.array([0.5, 0.25])


def thinned(backend, activation="tanh", rule="bp", **kw):
    cfg = mf.Config(layers=SIZES, activation=activation, dtype="float64", init_scale=0.7, rule=rule, seeds=[3, 4],
                    dropout=RATES.tolist(), **kw)
    run = mf.build(cfg, backend)
    x, y, _ = tiny_batch(SIZES)
    masks = dropout.masks(backend, run.streams, cfg.dropouts, SIZES, x.shape[-1], cfg.dtype)
    return run, backend.asarray(x), backend.asarray(y), masks


def test_masks_are_inverted_bernoulli_from_each_members_stream(backend):
    run, x, _, masks = thinned(backend)
    for r, seed in enumerate(run.config.seeds):
        rng = Streams(seed)["dropout"]
        for l, (p, n) in enumerate(zip(RATES, SIZES[1:-1])):
            want = np.where(rng.random((n, 7)) > p, 1 / (1 - p), 0.0)
            np.testing.assert_array_equal(backend.to_host(masks[l])[r], want)
    assert dropout.masks(backend, run.streams, np.zeros(2), SIZES, 7, "float64") is None


def test_forward_thins_hidden_outputs_as_loops(backend):
    run, x, _, masks = thinned(backend)
    cache = mf.forward(backend.xp, run.net, run.params, x, masks=masks)
    W, b = [backend.to_host(w) for w in run.params.weights], [backend.to_host(v) for v in run.params.biases]
    m, xs = [backend.to_host(k) for k in masks], backend.to_host(x)
    for r in range(2):
        a = xs
        for l in range(3):
            h = W[l][r] @ a + b[l][r]
            a = np.tanh(h) * m[l][r] if l < 2 else h
        np.testing.assert_allclose(backend.to_host(cache.output)[r], a, rtol=1e-13, atol=1e-15)


def loss_of(backend, run, x, y, masks):
    xp = backend.xp
    return backend.to_host(batch_loss(xp, run.net, mf.forward(xp, run.net, run.params, x, masks=masks), y))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_bp_with_dropout_matches_differences_of_the_thinned_network(backend, activation):
    run, x, y, masks = thinned(backend, activation)
    xp, step = backend.xp, 1e-6
    cache = mf.forward(xp, run.net, run.params, x, masks=masks)
    grads = mf.gradient(xp, run.net, run.params, cache, mf.output_error(xp, run.net, cache, y))
    for l, (w, g) in enumerate(zip(run.params.weights, grads)):
        base, numeric = backend.to_host(w).copy(), np.zeros(w.shape)
        for i in np.ndindex(w.shape[1:]):
            for sign in (1, -1):
                probe = base.copy()
                probe[(slice(None), *i)] += sign * step
                run.params.weights[l] = backend.asarray(probe)
                numeric[(slice(None), *i)] += sign * loss_of(backend, run, x, y, masks) / (2 * step)
        run.params.weights[l] = backend.asarray(base)
        analytic = backend.to_host(g.weight)
        assert np.linalg.norm(analytic - numeric) <= 1e-6 * np.linalg.norm(numeric), l
    undropped = mf.gradient(xp, run.net, run.params, mf.forward(xp, run.net, run.params, x), mf.output_error(
        xp, run.net, mf.forward(xp, run.net, run.params, x), y))
    assert not np.allclose(backend.to_host(undropped[0].weight), backend.to_host(grads[0].weight))  # the mask mattered


@pytest.mark.parametrize("rule", ["fa", "dfa"])
def test_feedback_rules_mask_their_deltas(backend, rule):
    """FA's and DFA's hidden δ_l carry the same mask: (carried) ⊙ f'(h_l) ⊙ m_l."""
    run, x, y, masks = thinned(backend, rule=rule)
    xp = backend.xp
    plain = mf.propose(run.rule, run.params, x, y, masks=masks)
    deltas = [backend.to_host(s.delta) for s in plain.steps]
    cache = plain.signal.cache
    e, m = backend.to_host(plain.signal.e), [backend.to_host(k) for k in masks]
    h = [backend.to_host(a) for a in cache.pre]
    if rule == "dfa":
        carried = [backend.to_host(r) @ e for r in run.rule.feedback]
    else:
        B = [backend.to_host(b) for b in run.rule.feedback]
        carried = [None, None]
        carried[1] = np.swapaxes(B[2], 1, 2) @ e
        carried[0] = np.swapaxes(B[1], 1, 2) @ deltas[1]
    for l in range(2):
        np.testing.assert_allclose(deltas[l], carried[l] * (1 - np.tanh(h[l]) ** 2) * m[l], rtol=1e-12, atol=1e-15)
        assert np.all(deltas[l][m[l] == 0] == 0)


def test_evaluation_sees_the_whole_network(cpu):
    run, x, y, masks = thinned(cpu)
    whole = mf.build(mf.Config(**{**vars(run.config), "dropout": 0.0}), cpu)
    ds = tiny_batch(SIZES)
    got = mf.evaluate(cpu.xp, run.net, run.params, x, y, cpu.asarray(ds[2]))
    want = mf.evaluate(cpu.xp, whole.net, whole.params, x, y, cpu.asarray(ds[2]))
    np.testing.assert_array_equal(got["loss"], want["loss"])
    assert not np.array_equal(loss_of(cpu, run, x, y, masks), want["loss"])


@pytest.mark.parametrize("rule, optimizer", [("fa", "sgd"), ("dfa", "adam"), ("perturbed", "rmsprop")])
def test_resume_with_dropout_is_exact(tmp_path, rule, optimizer):
    cpu = mf.get_backend("cpu")

    def make():
        cfg = mf.Config(layers=(12, 8, 6, 4), rule=rule, seeds=[0, 1], batch_size=50, dropout=[0.3, 0.1], lr=0.01,
                        optimizer=optimizer, metrics_every=2, rule_options={"alignment": 0.5} if rule == "perturbed" else {})
        return mf.build(cfg, cpu), mf.DeviceData.from_dataset(cpu, tiny_dataset(), cfg.dtype)

    resumed, straight, _ = resumed_beside_straight(make, tmp_path / "run.h5")
    assert_same_run(resumed, straight)
    control, data = make()  # dropout changes the run: the masks are really drawn
    mf.train(control, data, 1)
    undropped = mf.build(mf.Config(**{**vars(control.config), "dropout": 0.0}), cpu)
    mf.train(undropped, data, 1)
    assert not np.array_equal(control.params.weights[0], undropped.params.weights[0])


def test_a_checkpoint_from_before_the_dropout_stream_loads(tmp_path):
    """Older files hold four streams per member; such a run never drew from the dropout one."""
    import h5py
    from minifa import integrity

    cpu = mf.get_backend("cpu")
    cfg = mf.Config(layers=(12, 8, 4), seeds=[0, 1], batch_size=50)
    run = mf.build(cfg, cpu)
    path = checkpoint.save(run, tmp_path / "run.h5")
    with h5py.File(path, "r+") as f:
        for r in ("0", "1"):
            del f[f"rng/{r}"].attrs["dropout"]
        integrity.stamp(f)
    integrity.seal(path)
    old = checkpoint.load(path)
    assert [s.state() for s in old.streams] == [s.state() for s in run.streams]
    with h5py.File(path, "r+") as f:
        del f["rng/0"].attrs["data"]
        integrity.stamp(f)
    integrity.seal(path)
    with pytest.raises(mf.MinifaError, match="'data'"):
        checkpoint.load(path)
