"""Issue 12, items 4-11: nothing lost, nothing unclear. Options are checked before anything
is written, one writer per file, temps of dead writers cleaned, divergence without NaN
reported, one-line errors and notes instead of tracebacks and silent no-ops."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import minifa as mf
from minifa import checkpoint
from minifa.cli import cli
from minifa.errors import CheckpointError, DivergenceError, MinifaError, ResultsError
from minifa.experiments.framework import Unit
from minifa.experiments.store import Results, ResultStore
from minifa.plots import common

from .test_cli import SMALL, assert_one_line_error, invoke

ROOT = Path(__file__).resolve().parents[1]
TRAIN = importlib.import_module("minifa.cli.train")  # the module (minifa.cli.train is also the command's name)


def assert_last_line_error(result, code, *needles):
    """``reproduce`` first says where it writes; then the error is its one last line."""
    assert result.exit_code == code, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "Traceback" not in result.output, result.stderr
    for needle in needles:
        assert needle in last, last


def trained(tmp_path, epochs=1, name="ck.h5"):
    ckpt = tmp_path / name
    result = invoke("train", *SMALL, "--epochs", epochs, "--checkpoint", ckpt)
    assert result.exit_code == 0, result.output
    return ckpt


# ---------------------------------------------------------------- 4: validate first, never replace a good file

def test_resume_with_a_bad_option_writes_nothing(tmp_path):
    ckpt = trained(tmp_path)
    before = ckpt.read_bytes()
    result = invoke("train", "--resume", "--metrics-every", -1, "--epochs", 2, "--checkpoint", ckpt)
    assert_one_line_error(result, 1, "metrics interval -1")
    assert ckpt.read_bytes() == before and checkpoint.load(ckpt).epoch == 1


def test_a_new_file_that_does_not_load_back_never_replaces_the_old(tmp_path, monkeypatch):
    ckpt = trained(tmp_path)
    before = ckpt.read_bytes()
    run = checkpoint.load(ckpt)
    monkeypatch.setattr(checkpoint, "_write_rng", lambda f, run: None)  # a writer that forgets a part
    with pytest.raises(CheckpointError, match=r"does not load back, so .*ck\.h5 was left as it was.*rng") as err:
        checkpoint.save(run, ckpt)
    assert "\n" not in str(err.value)
    assert ckpt.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["ck.h5"]


# ---------------------------------------------------------------- 5: one writer per file

HOLD = """
import sys, time
sys.path.insert(0, {root!r})
from minifa.lock import exclusive
with exclusive({path!r}):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def held(tmp_path):
    """Hold the writer lock of a path from another process; yields (path, pid)."""
    procs = []

    def hold(path):
        proc = subprocess.Popen([sys.executable, "-c", HOLD.format(root=str(ROOT), path=str(path))],
                                stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc.pid

    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()


def test_a_second_train_on_one_checkpoint_is_one_line_naming_the_holder(tmp_path, held):
    ckpt = trained(tmp_path)
    before = ckpt.read_bytes()
    pid = held(ckpt)
    result = invoke("train", "--resume", "--epochs", 2, "--checkpoint", ckpt)
    assert_one_line_error(result, 1, f"{ckpt} is in use by process {pid}")
    assert ckpt.read_bytes() == before


EPOCHS = 15  # long enough (a few seconds) that the second process starts while the first trains


def test_two_train_processes_on_one_checkpoint(tmp_path):
    """The drill's case: both start a new run on one path; one trains, the other stops at once."""
    ckpt = tmp_path / "ck.h5"
    cmd = [sys.executable, str(ROOT / "cli.py"), "train", *SMALL, "--epochs", str(EPOCHS), "--checkpoint", str(ckpt)]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not (tmp_path / ".ck.h5.lock").exists() and first.poll() is None:
        time.sleep(0.01)
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    out, _ = first.communicate(timeout=120)
    assert first.returncode == 0 and f"epoch {EPOCHS}/{EPOCHS}" in out
    assert second.returncode == 1 and second.stderr.strip().splitlines() == [
        f"error: {ckpt} is in use by process {first.pid}; wait for it to finish (or stop it) and rerun"]
    assert checkpoint.load(ckpt).epoch == EPOCHS and sorted(p.name for p in tmp_path.iterdir()) == ["ck.h5"]


def test_a_second_results_writer_is_refused_and_deletes_nothing(tmp_path, held):
    path = tmp_path / "chu-deadlock.h5"
    store = ResultStore(path, "fig", "tiny", {})
    store.write_unit(Unit("a"), {"x": np.zeros(2)}, {"seconds": 1.0, "device": "cpu"})
    store.close()
    pid = held(path)
    live_temp = tmp_path / f".chu-deadlock.h5.{pid}-0123456789abcdef.tmp"  # the holder's, being written
    live_temp.write_bytes(b"in progress")
    with pytest.raises(MinifaError, match=f"in use by process {pid}"):
        ResultStore(path, "fig", "tiny", {})
    result = invoke("reproduce", "chu-deadlock", "--profile", "tiny", "--results-dir", tmp_path,
                    "--figures-dir", tmp_path / "figures")
    assert_last_line_error(result, 1, f"in use by process {pid}")
    assert live_temp.exists() and sorted(Results.load(path).units) == ["a"]


# ---------------------------------------------------------------- 6: the target is checked before training

def test_a_checkpoint_in_a_missing_directory_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.setattr(TRAIN, "run_training", lambda *a: pytest.fail("trained before checking"))
    target = tmp_path / "missing" / "dir" / "x.h5"
    result = invoke("train", *SMALL, "--checkpoint", target)
    assert_one_line_error(result, 1, f"cannot write {target}", str(target.parent), "exists and is writable")
    assert ".tmp" not in result.stderr and os.listdir(tmp_path) == []


# ---------------------------------------------------------------- 7: stale temps of dead writers

def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temps_of_killed_train_runs_are_removed_under_the_lock(tmp_path):
    ckpt = trained(tmp_path)
    stale = [tmp_path / f".ck.h5.{dead_pid()}-0123456789abcdef.tmp", tmp_path / ".ck.h5.0123456789abcdef.tmp"]
    for temp in stale:
        temp.write_bytes(b"\x89HDF\r\n\x1a\n half-written")
    assert invoke("train", "--resume", "--epochs", 2, "--checkpoint", ckpt).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.h5"]


def test_a_killed_plot_s_png_temp_is_removed_by_the_next_save_and_a_live_one_kept(tmp_path):
    dead = tmp_path / f".fig.png.{dead_pid()}-0123456789abcdef.tmp"
    live = tmp_path / f".fig.png.{os.getppid()}-0123456789abcdef.tmp"  # a live process's write
    for temp in (dead, live):
        temp.write_bytes(b"\x89PNG half")
    fig, axes = common.panels(1, 1, "t")
    common.save(fig, tmp_path / "fig.png")
    assert not dead.exists() and live.exists() and (tmp_path / "fig.png").exists()


# ---------------------------------------------------------------- 8: divergence without NaN

def test_divergence_without_nan_is_a_warning_with_the_fix(tmp_path):
    result = invoke("train", *SMALL, "--lr", 1000, "--epochs", 2)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings and all("lower --lr (now 1000)" in w for w in warnings), result.stderr
    assert len(warnings) <= 2  # once per sign, not once per epoch
    assert "Mean of empty slice" not in result.output and "RuntimeWarning" not in result.output
    healthy = invoke("train", *SMALL, "--epochs", 2)
    assert healthy.exit_code == 0 and "warning:" not in healthy.stderr, healthy.stderr


def test_a_nan_stop_says_which_epoch_the_checkpoint_holds(tmp_path, monkeypatch):
    real = TRAIN.train_run

    def diverge_in_epoch_2(run, data, on_step=None, on_epoch=None):
        real(run, data, epochs=1, on_step=on_step, on_epoch=on_epoch)
        raise DivergenceError(f"training diverged at step {run.step}: member 0 has a NaN/Inf loss; lower the lr")

    monkeypatch.setattr(TRAIN, "train_run", diverge_in_epoch_2)
    ckpt = tmp_path / "ck.h5"
    result = invoke("train", *SMALL, "--epochs", 3, "--checkpoint", ckpt)
    assert_last_line_error(result, 1, "diverged", f"{ckpt} holds epoch 1, the last one finished before that")
    assert checkpoint.load(ckpt).epoch == 1


# ---------------------------------------------------------------- 9, 10: one line, not a traceback or a silent no-op

@pytest.mark.parametrize("args, needles", [
    (["--seed", "-1"], ["seed -1 must be 0 or more"]),
    (["--layers", "784,200000000,10"], ["need at least", "GiB (float32)", "smaller layers"]),
    (["--rule", "kolen-pollack", "--option", "decay=abc"], ["decay='abc' must be a finite number"]),
    (["--rule", "kolen-pollack", "--option", "decay=-1"], ["decay=-1 must be 0 or more"]),
    (["--layers", "784,,10"], ["'784,,10' has an empty entry"]),
    (["--output-scale", "0"], ["output scale 0.0 must be a finite non-zero number"]),
    (["--lr", "inf"], ["learning rate inf"]),
    (["--lr", "nan"], ["learning rate nan"]),
    (["--init-scale", "inf"], ["init scale inf must be non-negative and finite"]),
    (["--feedback-scale", "nan"], ["feedback_scale=nan must be a finite number"]),
    (["--rule", "perturbed", "--alignment", "nan"], ["alignment=nan must be a finite number"]),
])
def test_bad_values_are_one_line_errors(args, needles):
    result = invoke("train", *SMALL, *args)
    assert_one_line_error(result, 1 if "784,,10" not in args else 2, *needles)


def test_a_huge_network_is_refused_before_any_allocation(monkeypatch):
    monkeypatch.setattr(importlib.import_module("minifa.config"), "init_params",
                        lambda *a: pytest.fail("allocated before checking"))
    with pytest.raises(MinifaError, match="need at least"):
        mf.build(mf.Config(layers=(784, 200_000_000, 10)), mf.get_backend("cpu"))


def test_epochs_0_with_a_checkpoint_is_an_error_and_without_one_a_note(tmp_path):
    assert_one_line_error(invoke("train", *SMALL, "--epochs", 0, "--checkpoint", tmp_path / "x.h5"), 1,
                          "--epochs 0 trains nothing", "x.h5 would never be written")
    assert os.listdir(tmp_path) == []
    result = invoke("train", *SMALL, "--epochs", 0)
    assert result.exit_code == 0 and result.stderr.strip() == "note: --epochs 0: nothing to train"


def test_resume_to_fewer_epochs_than_stored_is_a_one_line_note(tmp_path):
    ckpt = trained(tmp_path, epochs=3)
    before = ckpt.read_bytes()
    result = invoke("train", "--resume", "--epochs", 2, "--checkpoint", ckpt)
    assert result.exit_code == 0 and result.stderr.strip().splitlines() == [
        f"note: {ckpt} already holds epoch 3 (--epochs 2): nothing to train; pass --epochs 4 or more to continue it"]
    assert ckpt.read_bytes() == before


def test_a_results_path_that_is_a_directory_is_one_line(tmp_path):
    (tmp_path / "chu-deadlock.h5").mkdir()
    with pytest.raises(ResultsError, match="is a directory, not a results file"):
        Results.load(tmp_path / "chu-deadlock.h5")
    result = invoke("reproduce", "chu-deadlock", "--profile", "tiny", "--results-dir", tmp_path,
                    "--figures-dir", tmp_path / "figures")
    assert_last_line_error(result, 1, "chu-deadlock.h5 is a directory")


def test_a_damaged_results_unit_is_one_line_naming_the_unit_and_array(tmp_path):
    import h5py

    path = tmp_path / "fig.h5"
    with ResultStore(path, "fig", "tiny", {}) as store:
        store.write_unit(Unit("a_rep0"), {"accuracy": np.arange(4.0), "loss": np.ones(3)}, {"seconds": 1.0, "device": "cpu"})
    with h5py.File(path, "r+") as f:
        f["units/a_rep0/accuracy"][1] = 7.0  # what the XOR of two data bytes does
    with pytest.raises(ResultsError, match="unit 'a_rep0', 'accuracy' fails its SHA-256"):
        Results.load(path)
    with h5py.File(path, "r+") as f:
        del f["units/a_rep0/accuracy"]
    with pytest.raises(ResultsError, match="unit 'a_rep0', 'accuracy' is missing") as err:
        Results.load(path)
    assert "\n" not in str(err.value)
    with pytest.raises(ResultsError, match="damaged"):  # a resume refuses it too, before any unit runs
        ResultStore(path, "fig", "tiny", {})


# ---------------------------------------------------------------- 11: a refused Dask port

@pytest.mark.skipif(find_spec("distributed") is None, reason="needs Dask distributed")
def test_a_refused_dask_port_says_refused_at_once():
    import socket

    from minifa.experiments.executors import ClusterError, make_executor

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    start = time.perf_counter()
    with pytest.raises(ClusterError, match="refused") as err:
        make_executor(f"tcp://127.0.0.1:{port}", connect_timeout=30)
    assert time.perf_counter() - start < 5 and "\n" not in str(err.value)
