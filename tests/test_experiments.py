"""Every experiment end to end at its ``tiny`` size (synthetic data): results, figure, claims;
resumption after an interruption and after ``kill -9``; config changes never overwrite."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from minifa.experiments import EXPERIMENTS, experiment
from minifa.experiments.executors import LocalExecutor
from minifa.experiments.framework import Claim
from minifa.experiments.runner import experiment_claims, plot_experiment, run_experiment
from minifa.experiments.store import Results

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_experiment_runs_end_to_end(tmp_path, name):
    module = experiment(name)
    path = run_experiment(module, "tiny", tmp_path / "results")
    results = Results.load(path)
    assert set(results.units) == {u.key for u in module.units(results.config)}
    png = plot_experiment(module, path, tmp_path / "figures")
    assert png.exists() and png.stat().st_size > 10_000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    claims = experiment_claims(module, path)
    assert claims and all(isinstance(c, Claim) and isinstance(c.holds, (bool, np.bool_)) for c in claims)


class Interrupting(LocalExecutor):
    """Runs ``limit`` units, then raises as Ctrl-C would."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def map(self, function, config, units):
        for count, item in enumerate(super().map(function, config, units)):
            if count == self.limit:
                raise KeyboardInterrupt
            yield item


def unit_arrays(path):
    results = Results.load(path)
    return {k: {n: a for n, a in v.items()} for k, v in results.units.items()}


def assert_same_results(a, b):
    assert a.keys() == b.keys()
    for key in a:
        for name in a[key]:
            np.testing.assert_array_equal(a[key][name], b[key][name])


def test_interrupted_run_resumes_without_loss_or_duplicates(tmp_path):
    module = experiment("chu-fig3")
    reference = run_experiment(module, "tiny", tmp_path / "reference")
    total = len(module.units(module.PROFILES["tiny"]))
    limit = random.Random(7).randrange(1, total - 1)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(module, "tiny", tmp_path / "resumed", executor=Interrupting(limit))
    partial = tmp_path / "resumed" / "chu-fig3.h5"
    assert len(Results.load(partial).units) == limit
    reported = []
    run_experiment(module, "tiny", tmp_path / "resumed", on_unit=lambda done, n, unit, s: reported.append(done))
    assert reported[0] == limit  # finished units are skipped, not recomputed
    assert_same_results(unit_arrays(partial), unit_arrays(reference))


def test_kill_9_at_a_random_moment_loses_nothing(tmp_path):
    command = [sys.executable, str(ROOT / "cli.py"), "reproduce", "chu-fig3", "--profile", "tiny",
               "--results-dir", str(tmp_path / "results"), "--figures-dir", str(tmp_path / "figures")]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(random.Random().uniform(1.0, 3.0))
    process.send_signal(signal.SIGKILL)
    process.wait()
    path = tmp_path / "results" / "chu-fig3.h5"
    if path.exists():  # whatever was written is a complete, readable file
        with h5py.File(path, "r") as f:
            assert f.attrs["experiment"] == "chu-fig3"
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    reference = run_experiment(experiment("chu-fig3"), "tiny", tmp_path / "reference")
    assert_same_results(unit_arrays(path), unit_arrays(reference))
    assert not list((tmp_path / "results").glob("*.tmp"))


def test_a_changed_config_starts_afresh_and_keeps_the_old_file(tmp_path):
    module = experiment("chu-deadlock")
    first = run_experiment(module, "tiny", tmp_path)
    old = Results.load(first)
    second = run_experiment(module, "tiny", tmp_path, overrides={"epochs": 1})
    assert Results.load(second).config["epochs"] == 1
    aside = [p for p in tmp_path.glob("chu-deadlock.*.h5")]
    assert len(aside) == 1 and Results.load(aside[0]).config == old.config
