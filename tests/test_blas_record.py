"""The BLAS a run's bits depend on: found however the interpreter is reached (issue 29),
measured from the loaded library, recorded in checkpoints and results units, and a resume
under another thread count says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from threadpoolctl import threadpool_limits

from minifa import blas, checkpoint, integrity
from minifa.cli import cli

ROOT = Path(__file__).resolve().parents[1]
# the command, on a data set that needs no download: 784 inputs, so the fused gemm
# fast path (which the symlinked venv silently lost) rounds differently from the fallback
TRAIN = ["cli.py", "train", "--dataset", "synthetic", "--dataset-option", "n_train=2000",
         "--layers", "784,64,10", "--epochs", "1", "--seed", "1"]


def train_via(python: Path, checkout: Path, out: Path) -> dict:
    env = {**os.environ, "MINIFA_BLAS_THREADS": "1", "PYTHONPATH": str(checkout)}
    subprocess.run([str(python), *TRAIN, "--checkpoint", str(out)], cwd=checkout, env=env, check=True,
                   capture_output=True, timeout=300)
    with h5py.File(out, "r") as f:
        arrays = {name: f[name][()] for name in ("model/W1", "model/W2", "history/epochs/train_loss")}
        return {**arrays, "blas": str(f.attrs["blas"]), "blas_threads": int(f.attrs["blas_threads"])}


def test_a_symlinked_venv_and_checkout_give_the_direct_paths_bits(tmp_path):
    executable = Path(sys.executable)
    if not executable.is_relative_to(sys.prefix):
        pytest.skip("the interpreter is not inside sys.prefix")
    (tmp_path / "venv").symlink_to(sys.prefix, target_is_directory=True)
    (tmp_path / "link").symlink_to(ROOT, target_is_directory=True)
    linked_python = tmp_path / "venv" / executable.relative_to(sys.prefix)
    direct = train_via(executable, ROOT, tmp_path / "a.h5")
    linked = train_via(linked_python, tmp_path / "link", tmp_path / "b.h5")
    assert direct["blas_threads"] == linked["blas_threads"] == 1  # measured from the library
    assert direct["blas"] == linked["blas"] == blas.measured()["blas"]
    for name in ("model/W1", "model/W2", "history/epochs/train_loss"):
        assert direct[name].tobytes() == linked[name].tobytes(), name


def test_numpy_own_blas_is_found_through_a_symlinked_site_directory(tmp_path, monkeypatch):
    own = blas.blas_libraries(numpy_only=True)
    if not own:
        pytest.skip("NumPy has no BLAS of its own here")
    site = Path(np.__file__).resolve().parents[1]
    (tmp_path / "site").symlink_to(site, target_is_directory=True)
    monkeypatch.setattr(np, "__file__", str(tmp_path / "site" / "numpy" / "__init__.py"))
    assert blas.blas_libraries(numpy_only=True) == own
    assert not blas._inside_numpy(str(tmp_path / "elsewhere.so"))


def test_measured_reads_the_library_not_the_request():
    with threadpool_limits(limits=1, user_api="blas"):
        assert blas.measured()["blas_threads"] == (1 if blas.blas_libraries() else 0)
    with threadpool_limits(limits=2, user_api="blas"):
        assert blas.measured()["blas_threads"] == (2 if blas.blas_libraries() else 0)


def resume(path: Path, epochs: int):
    return CliRunner().invoke(cli, ["train", "--resume", "--checkpoint", str(path), "--epochs", str(epochs)])


def test_a_resume_under_another_thread_count_prints_one_note(tmp_path):
    if not blas.blas_libraries():
        pytest.skip("no BLAS detected")
    path = tmp_path / "run.h5"
    with threadpool_limits(limits=1, user_api="blas"):
        first = CliRunner().invoke(cli, ["train", "--dataset", "synthetic", "--layers", "784,16,10",
                                         "--epochs", "1", "--checkpoint", str(path)])
        assert first.exit_code == 0, first.output
        assert checkpoint.peek(path)["blas_threads"] == 1
        shown = CliRunner().invoke(cli, ["inspect", str(path)]).stdout
        assert f"saved under {blas.measured()['blas']}, 1 BLAS thread(s) (measured)" in shown, shown
        same = resume(path, 2)
    assert same.exit_code == 0 and "note:" not in same.stderr, same.stderr
    with threadpool_limits(limits=2, user_api="blas"):
        other = resume(path, 3)
    assert other.exit_code == 0, other.output
    notes = [line for line in other.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1, other.stderr
    assert "with 1 thread," in notes[0] and "with 2 threads:" in notes[0] and str(path) in notes[0]
    assert checkpoint.peek(path)["blas_threads"] == 2  # each save records the count it ran under


def test_a_checkpoint_without_the_blas_record_loads_and_resumes_quietly(tmp_path):
    path = tmp_path / "old.h5"
    assert CliRunner().invoke(cli, ["train", "--dataset", "synthetic", "--layers", "784,16,10",
                                    "--epochs", "1", "--checkpoint", str(path)]).exit_code == 0
    with h5py.File(path, "r+") as f:  # as a checkpoint from before the record was written
        del f.attrs["blas"], f.attrs["blas_threads"]
        integrity.stamp(f)
    info = checkpoint.peek(path)
    assert info["blas"] is None and info["blas_threads"] is None
    assert checkpoint.blas_note(path) is None
    with threadpool_limits(limits=2, user_api="blas"):
        result = resume(path, 2)
    assert result.exit_code == 0 and "note:" not in result.stderr, result.output
