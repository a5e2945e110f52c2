"""``minifa plot``: checkpoints and sweeps drawn from their files alone, the drawn numbers
equal to the stored ones, labels by rule and differing settings, one-line bad input."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from minifa import checkpoint, history
from minifa.plots import run as plot_run
from tests.test_cli import assert_one_line_error, invoke
from tests.test_layout import graph

TINY = ["--dataset", "synthetic", "--dataset-option", "d=20", "--dataset-option", "n_train=200",
        "--layers", "20,12,8,10", "--lr", "0.2", "--batch-size", "20", "--metrics-every", "4", "--epochs", "2"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An FA checkpoint whose two members differ by init scale, a BP one with two seeds."""
    where = tmp_path_factory.mktemp("plot")
    fa, bp = where / "fa.h5", where / "bp.h5"
    for path, extra in ((fa, ["--rule", "fa", "--ensemble", "2", "--init-scale", "0.05,0.5"]),
                        (bp, ["--rule", "bp", "--ensemble", "2"])):
        result = invoke("train", *TINY, *extra, "--checkpoint", path)
        assert result.exit_code == 0, result.output
    return fa, bp


@pytest.fixture
def drawn(monkeypatch):
    """The figure ``plot`` draws, kept open instead of written."""
    figures = []
    monkeypatch.setattr(plot_run, "save", lambda fig, out: figures.append(fig) or out)
    return figures


def test_plot_writes_a_png_of_both_files(runs, tmp_path):
    out = tmp_path / "both.png"
    result = invoke("plot", *runs, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000


def test_lines_are_members_by_setting_and_seeds_as_one_band(runs):
    lines = plot_run.lines_of([r for path in runs for r in history.read(path)])
    assert [(line.label, line.members) for line in lines] == [
        ("fa init_scale=0.05", [0]), ("fa init_scale=0.5", [1]), ("bp init_scale=0.05, 2 seeds", [0, 1])]


def test_drawn_curves_are_the_stored_history(runs, drawn):
    plot_run.plot(runs, "unused.png")
    fig = drawn[0]
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    by_title = {ax.get_title(): ax for ax in axes}
    fa, bp = (checkpoint.load(p).history for p in runs)
    # hidden layer 2, FA member 1 (init scale 0.5): one line, the stored values
    ax = by_title["gradient alignment, hidden layer 2"]
    stored = np.stack(fa["steps"]["gradient_alignment"])[:, 1, 1]
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), stored)
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), fa["steps"]["step"])
    # BP's two seeds: the mean over members, with its band
    ax = by_title["test accuracy"]
    bp_mean = [line for line in ax.lines if line.get_label() == "bp init_scale=0.05, 2 seeds"][0]
    np.testing.assert_allclose(bp_mean.get_ydata(), np.stack(bp["epochs"]["test_accuracy"]).astype(float).mean(axis=1),
                               rtol=1e-12)
    assert len(ax.collections) == 1  # the band: only BP has several seeds
    # BP has no weight alignment: its panel holds FA's two members only
    assert len(by_title["weight alignment, output layer"].lines) == 2
    assert {ax.get_title() for ax in axes} == {f"{m}, {layer}" for m in ("weight alignment", "gradient alignment",
                                               "update norm") for layer in ("hidden layer 1", "hidden layer 2",
                                                                            "output layer")} | {"train loss", "test accuracy"}


def test_metric_selects_panels(runs, drawn):
    plot_run.plot(runs, "unused.png", ["test_accuracy", "update_norm"])
    titles = {ax.get_title() for ax in drawn[0].axes if ax.get_visible() and ax.get_title()}
    assert titles == {"update norm, hidden layer 1", "update norm, hidden layer 2", "update norm, output layer",
                      "test accuracy"}


def test_cli_metric_option_accepts_commas_and_dashes(runs, tmp_path):
    result = invoke("plot", runs[0], "--metric", "test-accuracy,train_loss", "-o", tmp_path / "a.png")
    assert result.exit_code == 0, result.output


def test_the_plot_code_reads_files_only():
    """The file reader and the plot import no engine code (no training, config or rules)."""
    edges = graph()
    assert edges["minifa.history"] <= {"minifa.errors", "minifa.integrity", "minifa.legacy", "minifa.options"}
    assert edges["minifa.legacy"] == set() and edges["minifa.options"] == {"minifa.errors"}
    assert edges["minifa.plots.run"] <= {"minifa.errors", "minifa.history", "minifa.plots.common"}


def test_bad_input_is_one_line(runs, tmp_path):
    assert_one_line_error(invoke("plot", runs[0], "--metric", "alignment"), 1, "unknown metric 'alignment'",
                          "weight_alignment")
    assert_one_line_error(invoke("plot", runs[1], "--metric", "weight_alignment"), 1, "weight_alignment",
                          "such as bp")
    quiet = tmp_path / "quiet.h5"
    assert invoke("train", *TINY, "--metrics-every", 0, "--checkpoint", quiet).exit_code == 0
    assert_one_line_error(invoke("plot", quiet, "--metric", "update_norm"), 1, "'update_norm'", "--metrics-every")
    assert invoke("plot", quiet, "-o", tmp_path / "quiet.png").exit_code == 0  # the epoch panels alone
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    assert_one_line_error(invoke("plot", text), 1, "notes.h5 is not a readable HDF5 file")
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.zeros(3)
    assert_one_line_error(invoke("plot", foreign), 1, "neither a minifa checkpoint nor a sweep")
    figure = tmp_path / "chu-fig1.h5"
    with h5py.File(figure, "w") as f:
        f.attrs.update(experiment="chu-fig1", profile="tiny", config="{}", config_hash="0")
    assert_one_line_error(invoke("plot", figure), 1, "figure chu-fig1, not a sweep", "reproduce")
    assert_one_line_error(invoke("plot", tmp_path / "absent.h5"), 1, "absent.h5 not found")


def test_a_damaged_or_old_checkpoint_is_one_line(runs, tmp_path):
    copy = tmp_path / "copy.h5"
    copy.write_bytes(runs[0].read_bytes())
    with h5py.File(copy, "a") as f:
        f["history/steps/gradient_alignment"][0, 0, 0] += 0.25
    assert_one_line_error(invoke("plot", copy), 1, "copy.h5 is damaged", "history/steps/gradient_alignment")
    old = tmp_path / "old.h5"  # as an older minifa wrote it: no seal, no digests
    with h5py.File(runs[0], "r") as source, h5py.File(old, "w") as f:
        for name in source:
            source.copy(source[name], f, name=name)
        f.attrs.update({k: v for k, v in source.attrs.items() if k != "sha256"})
    assert_one_line_error(invoke("plot", old), 1, "older minifa")
