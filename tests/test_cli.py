"""The command line through click's test runner: a tour on synthetic data, and every user
error as one line on stderr, a non-zero exit and no traceback."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
from click.testing import CliRunner

import minifa as mf
from minifa import checkpoint
from minifa.cli import cli
from minifa.experiments.framework import Claim, Known
from minifa.options import defaults

SMALL = ["--dataset", "synthetic", "--layers", "784,16,10", "--lr", "0.1", "--metrics-every", "5"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_line_error(result, code, *needles):
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_train_checkpoint_inspect_evaluate(tmp_path):
    ckpt = tmp_path / "run.h5"
    result = invoke("train", "--rule", "fa", "--epochs", 2, "--ensemble", 2, "--checkpoint", ckpt, *SMALL)
    assert result.exit_code == 0, result.output
    assert "epoch 2/2: train loss" in result.stdout and "gradient alignment" in result.stdout
    info = json.loads(invoke("inspect", ckpt, "--json").stdout)
    assert info["epoch"] == 2 and info["config"]["rule"] == "fa" and len(info["weight_alignment"]) == 2
    assert np.shape(info["gradient_alignment"]) == (2, 2)
    evaluation = json.loads(invoke("evaluate", ckpt, "--json").stdout)
    stored = checkpoint.load(ckpt).history["epochs"]["test_accuracy"][-1]
    np.testing.assert_allclose(evaluation["test_accuracy"], stored, atol=1e-6)


def test_resume_through_the_cli_equals_one_go(tmp_path):
    once, twice = tmp_path / "once.h5", tmp_path / "twice.h5"
    assert invoke("train", "--epochs", 3, "--checkpoint", once, *SMALL).exit_code == 0
    assert invoke("train", "--epochs", 1, "--checkpoint", twice, *SMALL).exit_code == 0
    result = invoke("train", "--resume", "--epochs", 3, "--checkpoint", twice)
    assert result.exit_code == 0, result.output
    a, b = checkpoint.load(once), checkpoint.load(twice)
    assert b.epoch == 3
    for wa, wb in zip(a.params.weights, b.params.weights):
        assert np.array_equal(wa, wb)


def test_existing_checkpoint_is_never_overwritten(tmp_path):
    ckpt = tmp_path / "run.h5"
    assert invoke("train", "--checkpoint", ckpt, *SMALL).exit_code == 0
    before = ckpt.read_bytes()
    assert_one_line_error(invoke("train", "--checkpoint", ckpt, *SMALL), 1, "already exists", "--resume")
    assert_one_line_error(invoke("train", "--resume", "--lr", 0.5, "--checkpoint", ckpt), 1, "fixes --lr")
    assert ckpt.read_bytes() == before


@pytest.mark.parametrize("args,code,needles", [
    (["--rule", "fx"], 2, ["'fx' is not one of"]),
    (["--layers", "784"], 1, ["layer sizes (784,) impossible"]),
    (["--layers", "784,abc"], 2, ["not a comma-separated list of ints"]),
    (["--lr", "-0.1"], 1, ["learning rate -0.1 must be positive"]),
    (["--batch-size", "0"], 1, ["batch size 0"]),
    (["--init-scale", "-1"], 1, ["init scale"]),
    (["--ensemble", "0"], 1, ["--ensemble 0"]),
    (["--rule", "bp", "--alignment", "0.5"], 1, ["rule 'bp' has no option 'alignment'"]),
    (["--rule", "perturbed", "--alignment", "2"], 1, ["outside [-1, 1]"]),
    (["--layers", "100,10,10"], 1, ["784 features"]),
    (["--device", "gpu"], 1, ["GPU"]),
    (["--dataset-option", "foo=1"], 1, ["data set 'synthetic' has no option 'foo'", "n_train"]),
    (["--dataset-option", "n_train=abc"], 1, ["n_train='abc' must be of type int"]),
    (["--dataset-option", "seed=3"], 1, ["use --seed"]),
    (["--dataset", "gaussian", "--dataset-option", "width=1.5"], 1, ["width=1.5 must be of type int"]),
])
def test_user_errors_are_one_line(args, code, needles):
    if args == ["--device", "gpu"] and mf.backend.gpu_available():
        pytest.skip("a GPU is present")
    assert_one_line_error(invoke("train", *SMALL, *args), code, *needles)


def test_missing_data_names_the_fix(tmp_path):
    result = invoke("train", "--dataset", "mnist", "--data-dir", tmp_path / "nowhere")
    assert_one_line_error(result, 1, "cli.py data")


def test_unreadable_checkpoint_is_one_line(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not an hdf5 file at all")
    for command in ("evaluate", "inspect"):
        assert_one_line_error(invoke(command, bad), 1, "bad.h5")
    assert_one_line_error(invoke("evaluate", tmp_path / "absent.h5"), 1, "absent.h5")
    assert_one_line_error(invoke("train", "--resume", "--checkpoint", tmp_path / "absent.h5"), 1, "nothing to resume")


def test_info_reports_backend_and_blas():
    info = json.loads(invoke("info", "--json").stdout)
    assert info["minifa"] == mf.__version__ and info["backend"] in ("cpu", "gpu")
    assert all(b["threads"] >= 1 for b in info["blas"])


reproduce_command = importlib.import_module("minifa.cli.reproduce")  # the module, not the command
HOLDS = Claim("x", "holds", "p", "m", True)
DECLARED = Known("explained in the README", "before the data (abc1234)")
KNOWN = Claim("x", "a known disagreement", "p", "m", False, known=DECLARED.banded((True, "in [1, 2]")))
UNEXPLAINED = Claim("x", "an unexplained failure", "p", "m", False)
OUTSIDE = Claim("x", "a known disagreement outside its band", "p", "m", False, known=DECLARED.banded((False, "in [3, 4]")))


@pytest.mark.parametrize("claims, code", [([HOLDS, KNOWN], 0), ([HOLDS, KNOWN, UNEXPLAINED], 1), ([HOLDS, KNOWN, OUTSIDE], 1)])
def test_reproduce_check_fails_only_on_an_unexplained_claim(tmp_path, monkeypatch, claims, code):
    """``--check`` (``make claims``) reports a known disagreement inside its declared band as
    such, with its timing, and fails on the rest: undeclared, or outside the band."""
    monkeypatch.setattr(reproduce_command, "experiment_claims", lambda module, path: claims)
    result = invoke("reproduce", "chu-deadlock", "--profile", "tiny", "--check",
                    "--results-dir", tmp_path / "results", "--figures-dir", tmp_path / "figures")
    assert result.exit_code == code, result.output
    assert "| no, as declared: explained in the README (declared: before the data (abc1234)); band in [1, 2] |" in result.stdout
    assert ("| **no** |" in result.stdout) == (UNEXPLAINED in claims)
    assert ("| **no, outside its declared band**: in [3, 4] (declared: before the data (abc1234); "
            "reason: explained in the README) |" in result.stdout) == (OUTSIDE in claims)
    assert f"1 known disagreement(s) inside their declared bands, explained in README Results; {code} unexpected" in result.stderr


def test_reproduce_logs_a_line_per_unit_when_stderr_is_no_terminal(tmp_path):
    """A background run's log says which unit finished and how long it took."""
    result = invoke("reproduce", "chu-deadlock", "--profile", "tiny",
                    "--results-dir", tmp_path / "results", "--figures-dir", tmp_path / "figures")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("chu-deadlock: unit ")]
    assert [line.split()[2] for line in lines] == ["1/2", "2/2"] and all(line.endswith(" min") for line in lines)


@pytest.mark.parametrize("extra, gain", [([], 1.0), (["--init-scale", "0.5"], 0.5)])
def test_glorot_gain_defaults_to_one_and_an_explicit_scale_is_kept(tmp_path, extra, gain):
    """``--init-scale`` defaults to the paper's 0.05 for normal weights, not for glorot's gain."""
    ckpt = tmp_path / "run.h5"
    assert invoke("train", *SMALL, "--init", "glorot", *extra, "--epochs", 1, "--checkpoint", ckpt).exit_code == 0
    config = checkpoint.load(ckpt).config
    w = mf.build(config, mf.get_backend("cpu")).params.weights[0]  # the initial weights
    bound = gain * np.sqrt(6 / (784 + 16))  # Flux glorot_uniform: U[-a, a)
    assert config.init_scale == gain
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound


def test_train_reads_its_defaults_from_config():
    """Every option that sets a Config field defaults to Config's own default (one place);
    only the step-metric interval differs, on purpose (the progress line shows them)."""
    from dataclasses import fields

    train_module = importlib.import_module("minifa.cli.train")  # the module, not the command
    ctx = train_module.train.make_context("train", [])
    config, default = train_module.config_from(ctx.params, set()), mf.Config()
    differ = {f.name for f in fields(mf.Config) if getattr(config, f.name) != getattr(default, f.name)}
    assert differ == {"metrics_every", "rule_options"}, differ
    assert config.metrics_every == train_module.METRICS_EVERY
    assert config.rule_options == defaults(mf.RULES["fa"].options)  # the shortcut options, at the rule's defaults
    ctx = train_module.train.make_context("train", ["--weight-decay", "0,0.1,0"])
    assert train_module.config_from(ctx.params, {"weight_decay"}).weight_decay == [0.0, 0.1, 0.0]


def test_reproduce_names_what_a_broken_figure_module_lacks(monkeypatch):
    import minifa.experiments as experiments

    problem = "figure module minifa/experiments/my_fig.py lacks claims; a figure defines NAME, ..."
    monkeypatch.setattr(experiments, "BROKEN", [problem])
    for args in (["reproduce", "--no-compute"], ["reproduce", "chu-fig1", "--no-compute"]):
        assert_one_line_error(invoke(*args), 1, "my_fig.py lacks claims")


def test_every_lookup_by_name_is_one_choose_line():
    """One helper, ``errors.choose``, names the choices for every unknown name."""
    from minifa.activations import get_activation
    from minifa.data import load_dataset
    from minifa.errors import BackendError, ConfigError, DataError, choose
    from minifa.experiments import experiment
    from minifa.init import feedback_sampler, weight_sampler
    from minifa.losses import get_loss

    assert choose("thing", "b", {"a": 1, "b": 2}) == 2 and choose("thing", "b", ("a", "b")) == "b"
    lookups = [(get_activation, "activation", ConfigError), (get_loss, "loss", ConfigError),
               (mf.rules.rule_class, "rule", ConfigError), (lambda n: weight_sampler(n, (2, 2), 1.0), "init", ConfigError),
               (lambda n: feedback_sampler(n, (2, 2)), "feedback", ConfigError), (load_dataset, "data set", DataError),
               (mf.get_backend, "device", BackendError), (experiment, "figure", ConfigError)]
    for lookup, kind, error in lookups:
        with pytest.raises(error) as err:
            lookup("nonesuch")
        assert str(err.value).startswith(f"unknown {kind} 'nonesuch'; choose one of "), str(err.value)
