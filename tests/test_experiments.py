"""Every experiment end to end at its ``tiny`` size (synthetic data): results, figure, claims;
resumption after an interruption and after ``kill -9``; config changes never overwrite."""

from __future__ import annotations

import os
import random
import re
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
from minifa.experiments.framework import Claim, Unit, fresh_run, train_with_weight_alignment
from minifa.experiments.runner import experiment_claims, plot_experiment, run_experiment
from minifa.experiments.store import Results, ResultStore
from minifa.metrics import weight_alignment

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
    assert claims and all(isinstance(c, Claim) and isinstance(c.holds, bool) and c.margin for c in claims)


class Interrupting(LocalExecutor):
    """Runs ``limit`` units, then raises as Ctrl-C would."""

    def __init__(self, limit: int):
        super().__init__(blas_threads=1)
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
    reference = run_experiment(module, "tiny", tmp_path / "reference", executor=LocalExecutor(1))
    total = len(module.units(module.profiles["tiny"]))
    limit = random.Random(7).randrange(1, total - 1)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(module, "tiny", tmp_path / "resumed", executor=Interrupting(limit))
    partial = tmp_path / "resumed" / "chu-fig3.h5"
    assert len(Results.load(partial).units) == limit
    reported = []
    run_experiment(module, "tiny", tmp_path / "resumed", executor=LocalExecutor(1),
                   on_unit=lambda done, n, unit, s: reported.append(done))
    assert reported[0] == limit  # finished units are skipped, not recomputed
    assert_same_results(unit_arrays(partial), unit_arrays(reference))


def test_kill_9_at_a_random_moment_loses_nothing(tmp_path):
    """Both sides pin one BLAS thread: OpenBLAS's bits depend on the count (and the CPU's kernel)."""
    command = [sys.executable, str(ROOT / "cli.py"), "reproduce", "chu-fig3", "--profile", "tiny", "--blas-threads", "1",
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
    reference = run_experiment(experiment("chu-fig3"), "tiny", tmp_path / "reference", executor=LocalExecutor(1))
    assert_same_results(unit_arrays(path), unit_arrays(reference))
    assert not list((tmp_path / "results").glob("*.tmp"))


def test_a_changed_config_starts_afresh_and_keeps_the_old_file(tmp_path, capsys):
    module = experiment("chu-deadlock")
    first = run_experiment(module, "tiny", tmp_path)
    old = Results.load(first)
    capsys.readouterr()
    second = run_experiment(module, "tiny", tmp_path, overrides={"epochs": 1})
    assert Results.load(second).config["epochs"] == 1
    aside = [p for p in tmp_path.glob("chu-deadlock.*.h5")]
    assert len(aside) == 1 and Results.load(aside[0]).config == old.config
    assert f"held another config's results; kept as {aside[0]}, starting afresh" in capsys.readouterr().err


def test_config_changes_back_and_forth_never_overwrite_a_moved_file(tmp_path):
    """A -> B -> A -> B: each of the three earlier files is kept, the second A one as ``.1.h5``."""
    path = tmp_path / "fig.h5"
    configs = [{"epochs": 1}, {"epochs": 2}, {"epochs": 1}, {"epochs": 2}]
    stores = []
    for n, config in enumerate(configs):
        store = ResultStore(path, "fig", "tiny", config)
        store.write_unit(Unit(f"u{n}"), {"x": np.full(3, n)}, {"seconds": 0.5, "device": "cpu"})
        stores.append(store)
    a, b = stores[0].hash, stores[1].hash
    assert stores[0].moved_aside is None
    assert [s.moved_aside.name for s in stores[1:]] == [f"fig.{a}.h5", f"fig.{b}.h5", f"fig.{a}.1.h5"]
    for store in stores:
        store.close()  # releases the writer lock (its .fig.h5.lock file)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"fig.{a}.h5", f"fig.{a}.1.h5", f"fig.{b}.h5",
                                                                 "fig.h5"])
    for n, name in enumerate([f"fig.{a}.h5", f"fig.{b}.h5", f"fig.{a}.1.h5", "fig.h5"]):
        results = Results.load(tmp_path / name)
        assert results.config == configs[n] and list(results.units) == [f"u{n}"]
        np.testing.assert_array_equal(results.units[f"u{n}"]["x"], np.full(3, n))


def test_a_killed_writers_temp_is_never_reused_and_is_cleaned_up(tmp_path):
    """Half-written temps of a ``kill -9`` (today's random names and older pid names) never reach
    the results file and are removed when the store reopens."""
    path = tmp_path / "fig.h5"
    ResultStore(path, "fig", "tiny", {}).write_unit(Unit("a"), {"x": np.zeros(2)}, {"seconds": 1.0, "device": "cpu"})
    stale = [tmp_path / ".fig.h5.0123456789abcdef.tmp", tmp_path / f"fig.h5.{os.getpid()}.tmp"]
    for temp in stale:
        temp.write_bytes(b"\x89HDF\r\n\x1a\n half-written")
    store = ResultStore(path, "fig", "tiny", {})
    assert not any(temp.exists() for temp in stale)
    store.write_unit(Unit("b"), {"x": np.ones(2)}, {"seconds": 1.0, "device": "cpu"})
    assert sorted(Results.load(path).units) == ["a", "b"]
    store.close()  # releases the writer lock (its .fig.h5.lock file)
    assert [p.name for p in tmp_path.iterdir()] == ["fig.h5"]


def test_a_failed_unit_write_leaves_the_file_and_no_temp(tmp_path):
    path = tmp_path / "fig.h5"
    store = ResultStore(path, "fig", "tiny", {})
    store.write_unit(Unit("a"), {"x": np.zeros(2)}, {"seconds": 1.0, "device": "cpu"})
    before = path.read_bytes()
    with pytest.raises(TypeError):
        store.write_unit(Unit("b"), {"x": object()}, {"seconds": 1.0, "device": "cpu"})  # h5py cannot store it
    store.close()  # releases the writer lock (its .fig.h5.lock file)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["fig.h5"]


def test_each_unit_records_its_device_blas_kernel_thread_count_cpu_and_times(tmp_path):
    """The determinism contract (same config, seeds, BLAS threads and kernel, same bits) can
    only be checked if every unit says what it ran on; a cost estimate needs its CPU time
    apart from its wall time, which a busy machine stretches."""
    from minifa.blas import blas_kernel, cpu_name

    path = run_experiment(experiment("chu-deadlock"), "tiny", tmp_path, executor=LocalExecutor(1))
    records = Results.load(path).records
    assert {r["device"] for r in records.values()} == {f"cpu; {blas_kernel()}; 1 BLAS thread"}
    assert "OpenBLAS" in blas_kernel() or "MKL" in blas_kernel() or "BLIS" in blas_kernel()
    assert {r["cpu"] for r in records.values()} == {cpu_name()}
    assert re.fullmatch(r".+, \d+ cores?", cpu_name())
    for r in records.values():  # one BLAS thread; OpenBLAS's idle threads may still spin a little
        assert 0 < r["cpu_seconds"] <= 2 * r["seconds"] + 0.5


def test_a_results_file_without_cpu_records_still_loads(tmp_path):
    """Files written before units kept cpu_seconds and cpu (the committed long runs) load."""
    store = ResultStore(tmp_path / "fig.h5", "fig", "tiny", {})
    store.write_unit(Unit("a"), {"x": np.zeros(2)}, {"seconds": 2.0, "device": "cpu"})
    store.write_unit(Unit("b"), {"x": np.ones(2)}, {"seconds": 1.0, "cpu_seconds": 0.9, "device": "cpu", "cpu": "X"})
    store.close()
    results = Results.load(tmp_path / "fig.h5")
    assert results.seconds == 3.0
    assert results.records["a"] == {"seconds": 2.0, "device": "cpu"}
    assert results.records["b"]["cpu_seconds"] == 0.9
    with ResultStore(tmp_path / "g.h5", "fig", "tiny", {}) as other, pytest.raises(ValueError, match="needs seconds"):
        other.write_unit(Unit("a"), {"x": np.zeros(2)}, {"seconds": 1.0})


def test_weight_alignment_is_read_at_each_epochs_end():
    """Figures 1 and 4 report cos(W_l, B_l), a state, at the start and at the end of every
    epoch (not averaged over the epoch): the rows equal cosines computed from the weights."""
    config = experiment("chu-fig1").profiles["tiny"]
    run, data = fresh_run(config, rule="fa", init_scale=[0.05, 1.0], seeds=[0, 1], epochs=2, metrics_every=2)
    first = run.backend.to_host(weight_alignment(run.xp, run.params, run.rule.weight_feedback(run.params)))
    rows = train_with_weight_alignment(run, data)
    last = run.backend.to_host(weight_alignment(run.xp, run.params, run.rule.weight_feedback(run.params)))
    assert rows.shape == (3, 2, 3) and run.epoch == 2
    np.testing.assert_array_equal(rows[0], first)
    np.testing.assert_array_equal(rows[-1], last)
    assert not np.allclose(rows[1], rows[2])  # a new value each epoch


def test_auto_takes_the_profile_of_the_results_already_there(tmp_path):
    """``reproduce --results-dir DIR`` on a folder of another profile's results resumes it
    (nothing moved aside, nothing recomputed); a folder of mixed profiles must be named."""
    from click.testing import CliRunner

    from minifa.cli import cli
    from minifa.errors import ConfigError
    from minifa.experiments.runner import resolve_profile

    path = run_experiment(experiment("chu-deadlock"), "tiny", tmp_path, executor=LocalExecutor(1))
    before = path.read_bytes()
    result = CliRunner().invoke(cli, ["reproduce", "chu-deadlock", "--results-dir", str(tmp_path),
                                       "--figures-dir", str(tmp_path / "figures")])
    assert result.exit_code == 0, result.output
    assert "profile tiny (auto: the profile of the results already there)" in result.output
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.glob("*.h5")) == ["chu-deadlock.h5"]
    assert resolve_profile("auto", {})[0] in ("quick", "paper")
    assert resolve_profile("quick", {"a": "long"}) == ("quick", "as asked")
    with pytest.raises(ConfigError, match="several profiles \\(long, tiny\\)"):
        resolve_profile("auto", {"a": "tiny", "b": "long"})


def test_every_figure_keeps_the_contract():
    """Each of the twelve paper figures is discovered whole: an Experiment with the four
    profiles and a plot, keyed by its name."""
    import minifa.experiments as experiments
    from minifa.experiments.framework import PROFILES, Experiment

    assert experiments.BROKEN == []
    assert len(EXPERIMENTS) == 14 and experiments.figures() == list(EXPERIMENTS)
    for name, figure in EXPERIMENTS.items():
        assert isinstance(figure, Experiment) and figure.name == name
        assert experiments.contract_problem(name, figure) is None
        assert set(PROFILES) <= set(figure.profiles)


def test_a_figure_that_breaks_the_contract_is_named_with_what_it_lacks(monkeypatch):
    from dataclasses import replace

    import minifa.experiments as experiments
    from minifa.errors import ConfigError
    from minifa.experiments.framework import no_claims

    complete = experiments.EXPERIMENTS["chu-fig1"]
    assert experiments.contract_problem("chu_fig1", complete) is None
    lacking = replace(complete, profiles={"paper": {}, "long": {}, "tiny": {}}, claims=no_claims, plot=None, paper="")
    problem = experiments.contract_problem("my_fig", lacking)
    assert problem.startswith("figure module minifa/experiments/my_fig.py lacks profiles['quick'], claims, plot, paper; "
                              "a figure module ends in FIGURE = Experiment(")
    assert "\n" not in problem
    assert experiments.contract_problem("my_fig", {"name": "my-fig"}).startswith(
        "figure module minifa/experiments/my_fig.py lacks FIGURE = Experiment(...);")
    monkeypatch.setattr(experiments, "BROKEN", [problem])
    for call in (lambda: experiments.experiment("chu-fig1"), experiments.figures):
        with pytest.raises(ConfigError, match="my_fig.py lacks profiles"):
            call()


def test_results_find_a_unit_by_its_params_not_its_key(tmp_path):
    from minifa.errors import ResultsError

    params = {"a": {"method": "fa", "scale": 0.05}, "b": {"method": "fa", "scale": 1.0},
              "c": {"method": "bp", "scale": 1.0}}
    units = {k: {"x": np.array([i])} for i, k in enumerate(params)}
    results = Results(tmp_path / "fig.h5", "fig", "tiny", {}, units, params, 0.0)
    assert results.unit(method="fa", scale=1.0)["x"][0] == 1 and results.select(scale=1.0) == ["b", "c"]
    with pytest.raises(ResultsError, match="has no unit with method='dfa'; rerun reproduce fig"):
        results.unit(method="dfa")
    with pytest.raises(ResultsError, match=r"has 2 units with method='fa' \(a, b\); match more params"):
        results.unit(method="fa")


@pytest.fixture
def scratch_figure(tmp_path, monkeypatch):
    """The README's "Adding a figure" files, as written, in a scratch folder put on the paths
    of ``minifa.experiments`` and ``minifa.plots``: a new figure, no file of the package
    touched. Yields the folder; the modules are forgotten afterwards."""
    import importlib
    import re
    import sys

    import minifa.experiments as experiments
    import minifa.plots as plots

    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Adding a figure"):]
    codes = re.findall(r"```python\n(.*?)```", section, re.S)[:2]
    assert len(codes[0].splitlines()) <= 30  # the README shows the whole figure module in ≤ 30 lines
    for package, code in zip((experiments, plots), codes):
        folder = tmp_path / package.__name__.rsplit(".", 1)[-1]
        folder.mkdir()
        (folder / "my_figure.py").write_text(code)
        monkeypatch.setattr(package, "__path__", [*package.__path__, str(folder)])
    importlib.invalidate_caches()
    yield tmp_path
    for package in (experiments, plots):
        sys.modules.pop(f"{package.__name__}.my_figure", None)
        vars(package).pop("my_figure", None)


def test_adding_a_figure_is_one_module_ending_in_FIGURE(scratch_figure, monkeypatch):
    """Discovery finds the README's figure beside the paper figures; ``reproduce`` computes,
    plots and judges it at its tiny profile, and ``--check`` re-judges it from the file alone
    (tiny is plumbing, not science: 1 epoch on 400 synthetic samples learns nothing, so the
    claim says "no" and ``--check`` fails on it)."""
    from click.testing import CliRunner

    import minifa.experiments as experiments
    from minifa.cli import cli

    found, broken = experiments._discover()
    assert broken == [] and set(found) == set(EXPERIMENTS) | {"my-figure"}
    monkeypatch.setattr(experiments, "EXPERIMENTS", found)
    results, figures = scratch_figure / "results", scratch_figure / "figures"
    args = ["reproduce", "my-figure", "--results-dir", str(results)]
    computed = CliRunner().invoke(cli, [*args, "--profile", "tiny", "--figures-dir", str(figures)])
    assert computed.exit_code == 0, computed.output
    assert sorted(Results.load(results / "my-figure.h5").units) == ["scale0.01", "scale1"]
    assert (figures / "my-figure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    row = "| 1b | a small initial scale learns better than a large one | by ≥ 1 point (our choice) | small − large"
    assert row in computed.stdout
    checked = CliRunner().invoke(cli, [*args, "--no-compute", "--check"])
    assert checked.exit_code == 1 and row in checked.stdout, checked.output
    assert "0 of 1 claims hold; 0 known disagreement(s) inside their declared bands, explained in README Results; 1 unexpected" in checked.output