"""`bench/` stays runnable: its flop accounting and a two-step smoke run (no timings judged)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import minifa as mf

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))
    try:
        import cases
        import harness

        yield SimpleNamespace(cases=cases, harness=harness)
    finally:
        sys.path.remove(str(BENCH))


def test_the_floor_counts_the_issues_flops(bench):
    """One 600-step epoch of 784-700-1000-10 at batch 100: 387 GFLOP (FA, BP), 304 (DFA)."""
    assert round(bench.cases.step_flops("fa") * 600 / 1e9) == 387
    assert round(bench.cases.step_flops("dfa") * 600 / 1e9) == 304


def test_cases_run_and_summarise(bench, cpu):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 400)
    ds = SimpleNamespace(x_train=rng.random((784, 300), dtype=np.float32), y_train=np.eye(10, dtype=np.float32)[:, labels[:300]],
                         labels_train=labels[:300], x_test=rng.random((784, 100), dtype=np.float32),
                         y_test=np.eye(10, dtype=np.float32)[:, labels[300:]], labels_test=labels[300:])
    data = mf.DeviceData.from_dataset(cpu, bench.cases.subset(ds, 200, 100), "float32")
    factories = {"floor_fa": (bench.cases.floor_case("fa", 2), 1),
                 "minifa_fa": (bench.cases.minifa_case(data, cpu, rule="fa"), 1),
                 "minifa_fa_align_every_step": (bench.cases.minifa_case(data, cpu, rule="fa", metrics_every=1), 1),
                 "minifa_fa_ensemble": (bench.cases.minifa_case(data, cpu, rule="fa", members=2), 2)}
    times = bench.harness.timed(factories, reps=2, pause=0.0)
    rows = bench.harness.summarise(times, factories, steps=2)
    ratios = bench.harness.ratios(rows)
    assert set(ratios) == {"fa_over_floor", "align_every_step_over_plain", "ensemble_per_network_over_single"}
    memory = bench.cases.peak_memory(cpu, data, members=2)
    assert memory["step_peak_bytes"] > 0 and memory["params_and_feedback_bytes_per_network"] > 0


def test_the_papers_workloads_run_beside_their_floors(bench, cpu, monkeypatch):
    """`make bench`'s experiment workloads (perturbed BP, Song Fig. 2 and 3) at toy sizes."""
    import workloads

    monkeypatch.setitem(workloads.SONG, "widths", (20, 40))
    monkeypatch.setitem(workloads.SONG, "members", 2)
    monkeypatch.setitem(workloads.SONG, "steps", 2)
    monkeypatch.setitem(workloads.SONG_MNIST, "batch", 50)
    monkeypatch.setitem(workloads.SONG_MNIST, "layers", (784, 30, 10))
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 400)
    ds = SimpleNamespace(x_train=rng.random((784, 300), dtype=np.float32), y_train=np.eye(10, dtype=np.float32)[:, labels[:300]],
                         labels_train=labels[:300], x_test=rng.random((784, 100), dtype=np.float32),
                         y_test=np.eye(10, dtype=np.float32)[:, labels[300:]], labels_test=labels[300:])
    factories = workloads.cases_for(ds, cpu, steps=2)
    data = mf.DeviceData.from_dataset(cpu, bench.cases.subset(ds, 200, 100), "float32")
    factories["minifa_bp"] = (bench.cases.minifa_case(data, cpu, rule="bp"), 1)
    times = bench.harness.timed(factories, reps=1, pause=0.0)
    rows = bench.harness.per_network(times, factories)
    ratios = bench.harness.ratios(rows, workloads.ratio_table())
    assert set(ratios) == set(workloads.ratio_table()) and all(v["median"] > 0 for v in ratios.values())
    assert rows["minifa_perturbed_unit"]["networks"] == len(workloads.PERTURBED_ALIGNMENTS)
