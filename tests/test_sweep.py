"""``minifa sweep``: a grid parsed as ``train`` parses options, each point equal bit for bit to
the ``train`` run of its options, resumable, on the Dask executor too; one-line bad input."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from minifa import checkpoint, history
from minifa.cli.sweep import read_grid, resolve, split_values
from minifa.experiments.local import LocalExecutor
from minifa.experiments.sweep import grid_points, run_sweep
from tests.test_cli import assert_one_line_error, invoke

FIXED = ["--grid", "dataset=synthetic", "--grid", "dataset-option=d=20;n_train=200", "--grid", "layers=[20,12,10]",
         "--grid", "epochs=2", "--grid", "metrics-every=3"]
TRAIN_FIXED = ["--dataset", "synthetic", "--dataset-option", "d=20", "--dataset-option", "n_train=200",
               "--layers", "20,12,10", "--epochs", "2", "--metrics-every", "3"]
GRID = ["--grid", "rule=fa,bp", "--grid", "lr=0.05,0.2", *FIXED]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "lr.h5"
    result = invoke("sweep", *GRID, "--seeds", 2, "-o", path, "--json", "--blas-threads", 1)
    assert result.exit_code == 0, result.output
    return path, json.loads(result.stdout)


def test_values_split_at_commas_outside_brackets():
    assert split_values("fa,bp") == ["fa", "bp"]
    assert split_values("[784,100,10], [784,30,10]") == ["784,100,10", "784,30,10"]
    assert split_values("0.01,3,true,1e6,d=2;n=3") == [0.01, 3, True, 1e6, "d=2;n=3"] and split_values("") == []


def test_the_grid_is_the_product_first_key_slowest():
    points = grid_points({"rule": ["fa", "bp"], "lr": [1, 2, 3]})
    assert [(p["rule"], p["lr"]) for p in points] == [("fa", 1), ("fa", 2), ("fa", 3), ("bp", 1), ("bp", 2), ("bp", 3)]


def test_the_summary_has_every_point_and_member(swept):
    path, summary = swept
    assert summary["points_total"] == 4 and len(summary["points"]) == 4
    assert [(p["point"]["rule"], p["point"]["lr"]) for p in summary["points"]] == [
        ("fa", 0.05), ("fa", 0.2), ("bp", 0.05), ("bp", 0.2)]
    for point in summary["points"]:
        assert point["seeds"] == [0, 1] and point["epoch"] == 2 and point["diverged_at_step"] is None
        assert len(point["test_accuracy"]) == 2 and np.shape(point["gradient_alignment"]) == (2, 2)
        assert point["test_accuracy_mean"] == pytest.approx(np.mean(point["test_accuracy"]), abs=1e-12)
    bp = summary["points"][2]
    np.testing.assert_allclose(bp["gradient_alignment"], 1.0, atol=1e-5)  # BP's update is the gradient
    assert "weight_alignment" not in bp and np.shape(summary["points"][0]["weight_alignment"]) == (2, 2)
    text = invoke("inspect", path).stdout
    assert "sweep of 4 point(s), 4 finished" in text and "1 rule=fa lr=0.2: epoch 2, test accuracy" in text


def test_a_point_equals_train_with_its_options_bit_for_bit(swept, tmp_path):
    """Point 1 (fa, lr 0.2, 2 seeds) against ``train`` with the same options, both at 1 BLAS thread."""
    from threadpoolctl import threadpool_limits

    ckpt = tmp_path / "train.h5"
    with threadpool_limits(limits=1, user_api="blas"):
        result = invoke("train", "--rule", "fa", "--lr", "0.2", "--ensemble", 2, *TRAIN_FIXED, "--checkpoint", ckpt)
    assert result.exit_code == 0, result.output
    (trained,) = history.read(ckpt)
    point = history.read(swept[0])[1]
    assert point.point == {"rule": "fa", "lr": 0.2, "dataset": "synthetic", "dataset_option": "d=20;n_train=200",
                           "layers": "20,12,10", "epochs": 2, "metrics_every": 3}
    assert point.config == json.loads(checkpoint.load(ckpt).config.to_json())
    for table in ("steps", "epochs"):
        assert point.table(table).keys() == trained.table(table).keys()
        for key, values in trained.table(table).items():
            np.testing.assert_array_equal(point.table(table)[key], values, err_msg=f"{table}.{key}")


class Counting(LocalExecutor):
    """Records the units it runs; raises as Ctrl-C would after ``limit`` of them."""

    def __init__(self, limit=None):
        super().__init__(1)
        self.limit, self.ran = limit, []

    def map(self, function, config, units):
        for item in super().map(function, config, units):
            self.ran.append(item[0].key)
            if len(self.ran) == self.limit:
                raise KeyboardInterrupt
            yield item


def test_an_interrupted_sweep_resumes_and_ends_equal(swept, tmp_path):
    grid = read_grid(GRID[1::2], None)
    points = resolve(grid, 2)
    path = tmp_path / "lr.h5"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(path, grid, points, executor=Counting(limit=3))
    assert len(history.read(path)) == 2
    second = Counting()
    run_sweep(path, grid, points, executor=second)
    assert second.ran == ["2", "3"]  # finished points are not run again
    for a, b in zip(history.read(path), history.read(swept[0])):
        assert a.key == b.key and a.point == b.point
        for key in b.epochs:
            np.testing.assert_array_equal(a.epochs[key], b.epochs[key])


def test_grid_file_toml_and_json_equal_the_options(tmp_path):
    toml = tmp_path / "grid.toml"
    toml.write_text('rule = ["fa", "bp"]\nlr = [0.05, 0.2]\nlayers = [[20, 12, 10]]\nepochs = 2\n'
                    'dataset = "synthetic"\nno-bias = true\ndataset-option = {d = 20}\n')
    as_json = tmp_path / "grid.json"
    as_json.write_text(json.dumps({"rule": ["fa", "bp"], "lr": [0.05, 0.2], "layers": ["20,12,10"], "epochs": 2,
                                   "dataset": "synthetic", "no_bias": True, "dataset_option": {"d": 20}}))
    options = read_grid(["rule=fa,bp", "lr=0.05,0.2", "layers=[20,12,10]", "epochs=2", "dataset=synthetic",
                         "no-bias=true", "dataset-option=d=20"], None)
    configs = [[c for _, c in resolve(g, 1)] for g in (read_grid([], str(toml)), read_grid([], str(as_json)), options)]
    assert configs[0] == configs[1] == configs[2]
    assert [(c.rule, c.lr, c.layers, c.bias, c.dataset_options) for c in configs[0]] == [
        ("fa", 0.05, (20, 12, 10), False, {"d": 20}), ("fa", 0.2, (20, 12, 10), False, {"d": 20}),
        ("bp", 0.05, (20, 12, 10), False, {"d": 20}), ("bp", 0.2, (20, 12, 10), False, {"d": 20})]


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_a_diverging_point_is_recorded_and_the_others_run(tmp_path):
    path = tmp_path / "div.h5"
    result = invoke("sweep", "--grid", "lr=0.05,1e6", "--grid", "activation=identity", "--grid", "loss=mse",
                    *FIXED, "-o", path, "--json")
    assert result.exit_code == 0, result.output
    ok, diverged = json.loads(result.stdout)["points"]
    assert ok["diverged_at_step"] is None and ok["epoch"] == 2
    assert diverged["diverged_at_step"] is not None and diverged["epoch"] < 2
    assert "DIVERGED at step" in invoke("inspect", path).stdout


def test_plot_reads_a_sweep(swept, tmp_path):
    out = tmp_path / "sweep.png"
    result = invoke("plot", swept[0], "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_on_dask_local_2_equals_in_process(swept, tmp_path):
    """Both sides at 1 BLAS thread (the Dask workers' default): the same bits."""
    path = tmp_path / "dask.h5"
    result = invoke("sweep", *GRID, "--seeds", 2, "-o", path, "--scheduler", "local:2")
    assert result.exit_code == 0, result.output
    for a, b in zip(history.read(path), history.read(swept[0]), strict=True):
        for key in b.steps:
            np.testing.assert_array_equal(a.steps[key], b.steps[key])


@pytest.mark.parametrize("args, needles", [
    ([], ["empty grid", "--grid"]),
    (["--grid", "foo=1,2"], ["unknown grid key 'foo'", "lr"]),
    (["--grid", "lr="], ["grid key 'lr' has no values"]),
    (["--grid", "lr"], ["is not KEY=V1,V2"]),
    (["--grid", "lr=0.1,abc"], ["grid point lr=abc", "'abc' is not a valid float"]),
    (["--grid", "rule=fa,fx"], ["grid point rule=fx", "'fx' is not one of"]),
    (["--grid", "ensemble=2"], ["use --seeds"]),
    (["--grid", "checkpoint=a.h5"], ["use -o"]),
    (["--grid", "layers=784,100,10"], ["grid point layers=784", "in brackets"]),
    (["--grid", "lr=-1"], ["grid point", "learning rate -1.0 must be positive"]),
])
def test_bad_grids_are_one_line(tmp_path, args, needles):
    out = tmp_path / "bad.h5"
    assert_one_line_error(invoke("sweep", *args, "-o", out), 1, *needles)
    assert not out.exists()


def test_a_bad_grid_file_is_one_line(tmp_path):
    bad = tmp_path / "grid.toml"
    bad.write_text("rule = [fa\n")
    assert_one_line_error(invoke("sweep", bad), 1, "grid.toml is not valid TOML")
    checkpoint_like = tmp_path / "sweep.txt"
    assert_one_line_error(invoke("sweep", "--grid", "rule=fa", "-o", checkpoint_like), 1, "an .h5 file")


def test_inspect_of_a_damaged_sweep_is_one_line(swept, tmp_path):
    copy = tmp_path / "copy.h5"
    copy.write_bytes(swept[0].read_bytes())
    with h5py.File(copy, "a") as f:
        data = f["units/1/epochs.test_accuracy"]
        data[-1] = data[-1] + 0.5
    assert_one_line_error(invoke("plot", copy), 1, "copy.h5 is damaged", "epochs.test_accuracy")
    assert_one_line_error(invoke("inspect", copy), 1, "copy.h5 is damaged")


def test_a_flipped_byte_is_caught_before_hdf5_parses_the_file(swept, tmp_path):
    """The seal (a SHA-256 trailer, `minifa.integrity`) is checked with plain reads first."""
    raw = bytearray(swept[0].read_bytes())
    raw[len(raw) // 2] ^= 0x5A
    copy = tmp_path / "flipped.h5"
    copy.write_bytes(bytes(raw))
    for command in ("plot", "inspect"):
        assert_one_line_error(invoke(command, copy), 1, "flipped.h5 is damaged")
