"""Ensembles: R members in one pass equal R separate runs; seeded runs repeat bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import minifa as mf

from .conftest import host, tiny_dataset

SIZES = (12, 10, 8, 4)


def trained(backend, epochs=2, dtype="float32", **kw):
    kw.setdefault("rule", "fa")
    run = mf.build(mf.Config(layers=SIZES, dtype=dtype, batch_size=32, lr=0.1, metrics_every=3, **kw), backend)
    return mf.train(run, mf.DeviceData.from_dataset(backend, tiny_dataset(), dtype), epochs)


@pytest.mark.parametrize("rule,options", [("fa", {}), ("dfa", {}), ("perturbed", {"alignment": [0.2, -0.5, 0.9]}),
                                          ("drtp", {}), ("brsf", {})])
def test_ensemble_equals_separate_runs(backend, rule, options):
    """Each member with its own seed, init scale, feedback and data order (float32, 1e-6)."""
    seeds, scales = [3, 5, 8], [0.05, 0.3, 1.0]
    together = trained(backend, rule=rule, seeds=seeds, init_scale=scales, rule_options=options)
    for r, (seed, scale) in enumerate(zip(seeds, scales)):
        alone_options = {k: [v[r]] for k, v in options.items()}
        alone = trained(backend, rule=rule, seeds=[seed], init_scale=scale, rule_options=alone_options)
        for a, b in zip(host(backend, together.params.weights), host(backend, alone.params.weights)):
            np.testing.assert_allclose(a[r], b[0], rtol=0, atol=1e-6)
        np.testing.assert_allclose(
            np.stack(together.history["epochs"]["test_accuracy"])[:, r],
            np.stack(alone.history["epochs"]["test_accuracy"])[:, 0], atol=1e-6)


def test_shared_order_gives_every_member_member_zeros_batches(cpu):
    """Shared order = member 0's data stream; a lone run with that data seed is the same."""
    together = trained(cpu, seeds=[1, 2], shared_order=True)
    alone = trained(cpu, seeds=[2], stream_seeds={"data": [1]})
    for a, b in zip(host(cpu, together.params.weights), host(cpu, alone.params.weights)):
        np.testing.assert_allclose(a[1], b[0], rtol=0, atol=1e-6)


def test_a_seeded_run_repeats_bit_for_bit(cpu):
    first, second = trained(cpu, seeds=[4, 7]), trained(cpu, seeds=[4, 7])
    for a, b in zip(host(cpu, first.params.weights + first.params.biases), host(cpu, second.params.weights + second.params.biases)):
        assert np.array_equal(a, b)


def test_streams_are_independent(cpu):
    """Changing the feedback choice does not change the initial weights or the data order."""
    a = mf.build(mf.Config(layers=SIZES, seeds=[0], rule="fa"), cpu)
    b = mf.build(mf.Config(layers=SIZES, seeds=[0], rule="fa", rule_options={"feedback": "normal"}), cpu)
    for wa, wb in zip(host(cpu, a.params.weights), host(cpu, b.params.weights)):
        assert np.array_equal(wa, wb)
    assert not np.array_equal(cpu.to_host(a.rule.feedback[1]), cpu.to_host(b.rule.feedback[1]))
    assert np.array_equal(a.streams[0]["data"].permutation(50), b.streams[0]["data"].permutation(50))


def test_strict_backend_matches_numpy(cpu):
    """The same seeded float64 run on array-api-strict and NumPy gives the same numbers."""
    strict = mf.get_backend("strict")
    for rule in ("fa", "perturbed", "sign-symmetry"):
        a, b = trained(cpu, dtype="float64", seeds=[1], rule=rule), trained(strict, dtype="float64", seeds=[1], rule=rule)
        for wa, wb in zip(host(cpu, a.params.weights), host(strict, b.params.weights)):
            np.testing.assert_allclose(wa, wb, rtol=0, atol=1e-12)


def test_cupy_matches_numpy_within_float32_rounding(cpu):
    """CuPy parity, a few steps, rtol 1e-4; runs only where CuPy sees a GPU."""
    if not mf.backend.gpu_available():
        pytest.skip("no GPU here: CuPy absent or no CUDA device (run on a GPU machine for the parity check)")
    gpu = mf.get_backend("gpu")
    for rule in mf.RULES:
        a, b = trained(cpu, epochs=1, seeds=[1, 2], rule=rule), trained(gpu, epochs=1, seeds=[1, 2], rule=rule)
        for wa, wb in zip(host(cpu, a.params.weights), host(gpu, b.params.weights)):
            np.testing.assert_allclose(wb, wa, rtol=1e-4, atol=1e-5)
