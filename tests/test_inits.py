"""Torch's default init, U[±1/√fan_in] for weights and biases, against the plain draws."""

from __future__ import annotations

import numpy as np
import pytest

import minifa as mf
from minifa.streams import Streams

from .test_cli import SMALL, invoke

SIZES = (30, 20, 10)


def test_torch_init_is_uniform_by_fan_in_for_weights_and_biases(backend):
    """Member r's weights, layer by layer, then its biases, from its ``init`` stream:
    scale · U[−1/√in, 1/√in) (Torch's ``nn.Linear.reset_parameters`` with gain ``scale``)."""
    cfg = mf.Config(layers=SIZES, init="torch", init_scale=[1.0, 0.5], seeds=[3, 4], dtype="float64")
    run = mf.build(cfg, backend)
    for r, (seed, scale) in enumerate(zip(cfg.seeds, cfg.init_scales)):
        rng = Streams(seed)["init"]
        shapes = [(o, i) for i, o in zip(SIZES[:-1], SIZES[1:])]
        weights = [rng.uniform(-scale / np.sqrt(i), scale / np.sqrt(i), (o, i)) for o, i in shapes]
        biases = [rng.uniform(-scale / np.sqrt(i), scale / np.sqrt(i), (o, 1)) for o, i in shapes]
        for l in range(len(shapes)):
            np.testing.assert_array_equal(backend.to_host(run.params.weights[l])[r], weights[l])
            np.testing.assert_array_equal(backend.to_host(run.params.biases[l])[r], biases[l])
            assert np.abs(biases[l]).max() > 0


def test_torch_init_has_the_stated_distribution(cpu):
    run = mf.build(mf.Config(layers=(400, 300, 10), init="torch", init_scale=1.0, seeds=[0]), cpu)
    w, b = cpu.to_host(run.params.weights[0]), cpu.to_host(run.params.biases[0])
    bound = 1 / np.sqrt(400)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.var(w) == pytest.approx(bound**2 / 3, rel=0.02) and abs(np.mean(w)) < 0.01 * bound
    assert np.var(b) == pytest.approx(bound**2 / 3, rel=0.2)  # 300 draws


@pytest.mark.parametrize("init", ["normal", "glorot", "zeros"])
def test_other_inits_keep_zero_biases(cpu, init):
    run = mf.build(mf.Config(layers=SIZES, init=init, seeds=[0, 1]), cpu)
    assert all(not np.any(cpu.to_host(b)) for b in run.params.biases)


def test_the_cli_gives_torch_a_gain_of_one(tmp_path):
    ckpt = tmp_path / "run.h5"
    assert invoke("train", *SMALL, "--init", "torch", "--checkpoint", ckpt).exit_code == 0
    assert mf.checkpoint.load(ckpt).config.init_scale == 1.0
