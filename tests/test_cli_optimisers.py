"""The optimisers, binary cross-entropy and dropout from the command line: train, resume, sweep, listing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from minifa import checkpoint, history
from minifa.cli.sweep import read_grid, resolve
from minifa.optimisers import OPTIMISERS
from tests.test_cli import SMALL, assert_one_line_error, invoke
from tests.test_sweep import FIXED

NOKLAND = ["--optimizer", "rmsprop", "--optimizer-option", "rho=0.99", "--loss", "binarycrossentropy",
           "--activation", "sigmoid", "--lr", "0.001", "--dropout", "0.1"]


def test_rmsprop_bce_dropout_resume_through_the_cli_equals_one_go(tmp_path):
    once, twice = tmp_path / "once.h5", tmp_path / "twice.h5"
    args = [*SMALL, *NOKLAND, "--ensemble", 2]
    assert invoke("train", "--epochs", 3, "--checkpoint", once, *args).exit_code == 0
    assert invoke("train", "--epochs", 1, "--checkpoint", twice, *args).exit_code == 0
    result = invoke("train", "--resume", "--epochs", 3, "--checkpoint", twice)
    assert result.exit_code == 0, result.output
    a, b = checkpoint.load(once), checkpoint.load(twice)
    assert b.epoch == 3 and b.config.optimizer == "rmsprop" and b.config.optimizer_options == {"rho": 0.99}
    assert b.optimiser.settings["rho"] == 0.99 and b.config.loss == "binarycrossentropy" and b.config.dropout == 0.1
    for wa, wb in zip(a.params.weights, b.params.weights):
        np.testing.assert_array_equal(wa, wb)
    for name, slot in a.optimiser_state.slots.items():
        np.testing.assert_array_equal(slot, b.optimiser_state.slots[name])
    assert_one_line_error(invoke("train", "--resume", "--optimizer", "adam", "--checkpoint", twice), 1, "fixes --optimizer")


def test_the_listing_shows_every_optimiser_and_its_options():
    text = invoke("optimizers").stdout
    for name, cls in OPTIMISERS.items():
        assert f"{name}: {cls.summary}" in text
        for option, spec in cls.options.items():
            assert f"    {option}: {spec.describe()}" in text
    assert "rmsprop" in invoke("train", "--help").stdout


@pytest.mark.parametrize("args, code, needles", [
    (["--optimizer", "adagrad"], 2, ["'adagrad' is not one of"]),
    (["--optimizer", "rmsprop", "--optimizer-option", "bogus=1"], 1, ["optimizer 'rmsprop' has no option 'bogus'", "rho"]),
    (["--optimizer", "adam", "--optimizer-option", "beta1=2"], 1, ["outside [0, 1]"]),
    (["--optimizer", "rmsprop", "--optimizer-option", "centred=3"], 1, ["must be true or false"]),
    (["--dropout", "1"], 1, ["dropout 1.0 must be in [0, 1)"]),
    (["--dropout", "0.1,0.2"], 1, ["one rate or one per hidden layer (1)"]),
])
def test_bad_optimiser_and_dropout_options_are_one_line(args, code, needles):
    assert_one_line_error(invoke("train", *SMALL, *args), code, *needles)


def test_a_sweep_grids_the_optimiser(tmp_path):
    grid = read_grid(["optimizer=sgd,adam", "dropout=0,0.2", *FIXED[1::2]], None)
    points = resolve(grid, 1)
    assert [(c.optimizer, c.dropout) for _, c in points] == [("sgd", 0.0), ("sgd", 0.2), ("adam", 0.0), ("adam", 0.2)]
    plain = points[0][1].to_dict()
    assert {"optimizer", "optimizer_options", "dropout"}.isdisjoint(plain)  # an sgd point hashes as before
    path = tmp_path / "opt.h5"
    result = invoke("sweep", "--grid", "optimizer=sgd,adam", "--grid", "lr=0.01", *FIXED, "-o", path, "--json")
    assert result.exit_code == 0, result.output
    runs = history.read(path)
    assert [r.config.get("optimizer", "sgd") for r in runs] == ["sgd", "adam"]
    assert all(np.all(np.isfinite(r.table("epochs")["train_loss"][1:])) for r in runs)
    assert json.loads(result.stdout)
