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
    """One 600-step epoch of 784-700-1000-10 at batch 100: 387 GFLOP (FA, BP), 304 (DFA),
    538 for Kolen-Pollack (B_l's update: 2·B·(700·784 + 1000·700 + 10·1000) · 600 = 151 more)."""
    assert round(bench.cases.step_flops("fa") * 600 / 1e9) == 387
    assert round(bench.cases.step_flops("dfa") * 600 / 1e9) == 304
    assert round(bench.cases.step_flops("kolen-pollack") * 600 / 1e9) == 538


def toy_data(cpu, bench):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 400)
    ds = SimpleNamespace(x_train=rng.random((784, 300), dtype=np.float32), y_train=np.eye(10, dtype=np.float32)[:, labels[:300]],
                         labels_train=labels[:300], x_test=rng.random((784, 100), dtype=np.float32),
                         y_test=np.eye(10, dtype=np.float32)[:, labels[300:]], labels_test=labels[300:])
    return ds, mf.DeviceData.from_dataset(cpu, bench.cases.subset(ds, 200, 100), "float32")


def test_cases_interleave_step_by_step_and_summarise(bench, cpu):
    """Every case gets one value per round (after the warm-up); a target every ratio meets
    at once stops at ``min_rounds``; each ratio has a median inside its interval."""
    _, data = toy_data(cpu, bench)
    factories = {"floor_fa": bench.cases.floor_case("fa"),
                 "minifa_fa": bench.cases.minifa_case(data, cpu, rule="fa"),
                 "minifa_fa_align_every_step": bench.cases.minifa_case(data, cpu, rule="fa", metrics_every=1),
                 "minifa_fa_ensemble": bench.cases.minifa_case(data, cpu, rule="fa", members=2)}
    times = bench.harness.interleave(factories, bench.harness.RATIOS, budget_s=60.0, block=3, target=100.0,
                                     min_rounds=3, settle=0.0, check_every_s=0.0, log=lambda msg: None)
    assert {len(ts) for ts in times.values()} == {3}  # 3 passes of 3 steps: the toy data's epoch wraps around
    ratios = bench.harness.ratios(times)
    assert set(ratios) == {"fa_over_floor", "align_every_step_over_plain", "ensemble_per_network_over_single"}
    for v in ratios.values():
        assert v["low"] <= v["median"] <= v["high"] and v["rounds"] == 3
    rows = bench.harness.rows(times, bench.harness.EPOCH_STEPS, lambda name: bench.cases.step_flops("fa"))
    assert rows["minifa_fa"]["median_s"] == pytest.approx(600 * np.median(times["minifa_fa"]))
    memory = bench.cases.peak_memory(cpu, data, members=2)
    assert memory["step_peak_bytes"] > 0 and memory["params_and_feedback_bytes_per_network"] > 0


def test_a_ratio_that_never_settles_stops_at_the_budget(bench):
    times = bench.harness.interleave({"a": bench.harness.Case(lambda: lambda: None)}, {}, budget_s=0.0, target=0.0,
                                     settle=0.0, log=lambda msg: None)
    assert len(times["a"]) == 1  # the warm-up and one round


def test_the_interval_is_a_bootstrap_of_the_median(bench):
    """Constant ratios: no width. Spread ratios: the interval holds the median, narrows with
    more rounds roughly as 1/√n, and is reproducible (seeded)."""
    flat = bench.harness.interval([1.1] * 20)
    assert flat["low"] == flat["high"] == flat["median"] == pytest.approx(1.1) and flat["half_width"] == 0.0
    rng = np.random.default_rng(5)
    few, many = (bench.harness.interval(1.0 + 0.1 * rng.standard_normal(n)) for n in (25, 400))
    assert few["low"] < few["median"] < few["high"] and many["low"] < many["median"] < many["high"]
    assert 2.0 < few["half_width"] / many["half_width"] < 8.0  # √16 = 4
    assert 0.01 < many["half_width"] < 0.02  # the median's standard error: 1.25 · 0.1 / √400 = 0.006, × 1.96
    values = 1.0 + 0.1 * rng.standard_normal(50)
    assert bench.harness.interval(values) == bench.harness.interval(values)


def test_named_ratios_run_only_the_cases_they_read(bench):
    h = bench.harness
    table = h.chosen(h.RATIOS, "frsf_over_floor, fa_over_torch_best")
    assert list(table) == ["frsf_over_floor", "fa_over_torch_best"] and h.chosen(h.RATIOS, None) is h.RATIOS
    assert h.needed(table) == {"minifa_frsf", "floor_fa", "minifa_fa", "torch_fused_fa", "torch_autograd_fa"}
    with pytest.raises(SystemExit, match="unknown fa_over_nothing; choose from fa_over_floor, "):
        h.chosen(h.RATIOS, "fa_over_floor,fa_over_nothing")


def test_a_busy_machine_is_named(bench):
    import machine

    # a quiet run: a little left at the start, its own two threads (and torch's spinning) at the end
    quiet = {"blas_threads": 2, "cores_usable": 2, "load_average_start": (0.53, 1, 1), "load_average_end": (2.9, 1, 1)}
    assert machine.busy(quiet) is None
    loud = {**quiet, "load_average_end": (4.25, 3, 2)}
    assert machine.busy(loud).startswith("the machine was busy (1-minute load 4.25 at the end: other work above half "
                                         "the 2 threads used)")
    assert "1.50 at the start:" in machine.busy({**quiet, "load_average_start": (1.5, 1, 1)})


def test_the_papers_workloads_run_beside_their_floors(bench, cpu, monkeypatch):
    """`make bench`'s experiment workloads (perturbed BP, Song Fig. 2 and 3) at toy sizes."""
    import workloads

    monkeypatch.setitem(workloads.SONG, "widths", (20, 40))
    monkeypatch.setitem(workloads.SONG, "members", 2)
    monkeypatch.setitem(workloads.SONG_MNIST, "batch", 50)
    monkeypatch.setitem(workloads.SONG_MNIST, "layers", (784, 30, 10))
    _, data = toy_data(cpu, bench)
    factories = workloads.cases_for(data, cpu)
    factories["minifa_bp"] = bench.cases.minifa_case(data, cpu, rule="bp")
    times = bench.harness.interleave(factories, {}, budget_s=0.0, block=1, settle=0.0, log=lambda msg: None)
    ratios = bench.harness.ratios(times, workloads.ratio_table())
    assert set(ratios) == set(workloads.ratio_table()) and all(v["median"] > 0 for v in ratios.values())
    assert factories["minifa_perturbed_unit"].networks == len(workloads.PERTURBED_ALIGNMENTS)


def test_the_lenet_floor_counts_the_layers_flops(bench):
    """LeNet at batch 64, (out, K, M) per layer: conv1 (6, 25, 28·28·64), conv2 (16, 150,
    10·10·64), conv3 (120, 400, 64), fc (84, 120, 64), (10, 84, 64). Forward and update each
    2·Σ out·K·M = 2 · 26,657,280; carried down (not through conv1) 2 · 19,130,880: 144.9 MFLOP."""
    import lenet

    forward = 6 * 25 * 50176 + 16 * 150 * 6400 + 120 * 400 * 64 + 84 * 120 * 64 + 10 * 84 * 64
    carried = forward - 6 * 25 * 50176
    assert forward == 26_657_280 and carried == 19_130_880
    assert lenet.step_flops() == 2 * (2 * forward + carried) == 144_890_880
    assert lenet.EPOCH_STEPS == 938 and set(lenet.RULES) == {"bp", "fa", "dfa", "usf", "frsf", "brsf"}


def test_the_lenet_floor_unfolds_as_the_layer_does(bench):
    """The floor's im2col into preallocated columns is ``Conv2d.columns``, bit for bit."""
    import lenet

    rng = np.random.default_rng(0)
    for layer, shape, _, k, m in lenet.layers(batch=3):
        if isinstance(layer, mf.layers.Conv2d):
            x = rng.standard_normal((*shape, 3), dtype=np.float32)
            p = layer.padding
            cols = np.empty((k, *layer.out_shape(shape)[1:], 3), dtype=np.float32)
            lenet.im2col(layer, shape, np.pad(x, ((0, 0), (p, p), (p, p), (0, 0))), cols)
            assert np.array_equal(cols.reshape(k, m), layer.columns(np, x, shape))


def test_the_lenet_section_runs(bench, cpu):
    """A smoke run of the section on toy data: every case times, every ratio has a value."""
    import lenet
    import torch_peers

    ds, data = toy_data(cpu, bench)
    timed = lenet.section_cases(data, ds, cpu)
    result = lenet.run(timed, budget_s=0.0, block=1, target=100.0, log=lambda msg: None)
    names = set(lenet.RATIOS) if torch_peers.available() else set(lenet.RATIOS) - {"lenet_bp_over_torch"}
    assert set(result["ratios"]) == names and all(v > 0 for v in result["ratios"].values())
    assert set(result["rows"]) == set(timed) and result["config"]["epoch_steps"] == 938
