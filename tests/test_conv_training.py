"""Conv chains through the whole engine: Config, the loop, the metrics, checkpoints, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import minifa as mf
from minifa import checkpoint
from minifa.cli import cli
from minifa.data import load_dataset
from minifa.errors import ConfigError

from .test_checkpoint import assert_same_run, host_state

LENET = (784, 4704, 1600, 120, 84, 10)
TINY = {"n_train": 32, "n_test": 16}  # synthetic 784-feature images: two batches an epoch


def make_run(rule, options=None, **overrides):
    settings = {"seeds": [0, 1], "batch_size": 16, "metrics_every": 1, "activation": "relu", "init": "torch",
                "init_scale": 1.0, "lr": 0.01, "dataset": "synthetic", "dataset_options": TINY, **overrides}
    cfg = mf.Config(model="lenet", rule=rule, rule_options=options or {}, **settings)
    backend = mf.get_backend("cpu")
    data = mf.DeviceData.from_dataset(backend, load_dataset("synthetic", **TINY), cfg.dtype)
    return mf.build(cfg, backend), data


def test_a_lenet_config_has_the_chain_sizes_and_keeps_old_hashes():
    assert mf.Config(model="lenet").layers == LENET
    assert "model" not in mf.Config().to_dict()  # a dense config's JSON (and hash) as before
    with pytest.raises(ConfigError, match="leave the layers out"):
        mf.Config(model="lenet", layers=(784, 100, 10))
    with pytest.raises(ConfigError, match="has no dropout"):
        mf.Config(model="lenet", dropout=0.5)
    with pytest.raises(ConfigError, match="unknown model"):
        mf.Config(model="resnet")


SMALL = {"feedback": "uniform", "feedback_scale": 0.1}  # ±1 feedback kills LeNet's ReLUs at the first step


@pytest.mark.parametrize("rule,options,optimizer", [("brsf", {}, "momentum"), ("kolen-pollack", {"decay": 0.1, **SMALL}, "sgd")])
def test_lenet_resume_is_exact(tmp_path, rule, options, optimizer):
    straight, data = make_run(rule, options, optimizer=optimizer)
    mf.train(straight, data, 2)
    first, data = make_run(rule, options, optimizer=optimizer)
    mf.train(first, data, 1)
    resumed = checkpoint.load(checkpoint.save(first, tmp_path / "run.h5"))
    assert_same_run(resumed, first)
    mf.train(resumed, data, 2)
    assert_same_run(resumed, straight)
    assert not np.array_equal(host_state(first)["W1"], host_state(straight)["W1"])


def test_lenet_records_per_layer_alignments():
    run, data = make_run("fa", SMALL)
    mf.train(run, data, 1)
    steps = run.history["steps"]
    assert steps["gradient_alignment"][-1].shape == (2, 5) and steps["weight_alignment"][-1].shape == (2, 5)
    assert np.all(np.abs(steps["gradient_alignment"][0]) <= 1) and np.all(np.isfinite(steps["weight_alignment"][0]))


def test_bp_gradient_alignment_on_lenet_is_one():
    run, data = make_run("bp")
    mf.train(run, data, 1)
    np.testing.assert_allclose(run.history["steps"]["gradient_alignment"][0], 1.0, rtol=1e-5)


def test_cli_trains_lenet_and_refuses_mismatched_layers(tmp_path):
    common = ["train", "--model", "lenet", "--rule", "fa", "--activation", "relu", "--dataset", "synthetic",
              "--dataset-option", "n_train=32", "--dataset-option", "n_test=16", "--batch-size", "16", "--epochs", "1",
              "--lr", "0.01", "--device", "cpu", "--checkpoint", str(tmp_path / "run.h5")]
    result = CliRunner().invoke(cli, common)
    assert result.exit_code == 0, result.output
    assert "epoch 1/1" in result.output
    assert checkpoint.load(tmp_path / "run.h5").config.model == "lenet"
    bad = CliRunner().invoke(cli, ["train", "--model", "lenet", "--layers", "784,10", "--dataset", "synthetic"])
    assert bad.exit_code != 0 and "leave the layers out" in bad.output and "Traceback" not in bad.output


def test_sweep_and_plot_take_lenet(tmp_path):
    out = tmp_path / "sweep.h5"
    swept = CliRunner().invoke(cli, ["sweep", "--grid", "rule=bp", "--grid", "model=lenet", "--grid", "dataset=synthetic",
                                     "--grid", "activation=relu", "--grid", "dataset-option=n_train=16",
                                     "--grid", "batch-size=16", "--grid", "epochs=1", "--grid", "lr=0.01",
                                     "--device", "cpu", "-o", str(out)])
    assert swept.exit_code == 0, swept.output
    assert "gradient alignment 1.0000 1.0000 1.0000 1.0000 1.0000" in swept.output  # BP on all five layers
    plotted = CliRunner().invoke(cli, ["plot", str(out), "-o", str(tmp_path / "sweep.png")])
    assert plotted.exit_code == 0, plotted.output
    assert (tmp_path / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_to_torch_refuses_a_conv_chain_in_one_line():
    pytest.importorskip("torch")  # without it, the missing-package line comes first
    from minifa.interop import to_torch

    run, _ = make_run("bp")
    with pytest.raises(ConfigError, match="dense networks only"):
        to_torch(run)


@pytest.mark.parametrize("rule", ["bp", "fa"])
def test_momentum_on_a_chain_is_the_formed_step(rule):
    """Momentum on factored chain steps (``ChainCache.accumulate``: ΔW in each layer's own
    orientation, folded into v) equals ``update`` on the formed ΔW in float64, decay included."""
    from minifa import optimisers

    run, data = make_run(rule, dtype="float64", optimizer="momentum", weight_decay=1e-3, metrics_every=0)
    ref, _ = make_run(rule, dtype="float64", optimizer="momentum", weight_decay=1e-3, metrics_every=0)
    x, y = data.x_train[:, :16], data.y_train[:, :16]
    for _ in range(3):
        proposal = mf.propose(ref.rule, ref.params, x, y)
        optimisers.update(np, ref.optimiser, ref.optimiser_state, ref.params, proposal.updates(np, ref.net),
                          ref.weight_decay())
        mf.train_step(run, x, y, None, False)
    for got, want in zip(run.params.weights + run.params.biases, ref.params.weights + ref.params.biases):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    for key, slot in ref.optimiser_state.slots.items():
        np.testing.assert_allclose(run.optimiser_state.slots[key], slot, rtol=1e-12, atol=1e-15)
    assert not np.allclose(run.params.weights[0], make_run(rule)[0].params.weights[0])
