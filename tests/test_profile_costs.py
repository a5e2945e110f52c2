"""BENCHMARKS.md's cost table (`bench/profile_costs.py`) for the two classic papers: the work
of a complete file times its measured cost gives back the core-seconds its units recorded,
and Lillicrap et al.'s synthetic-update weight is the ratio of two per-work costs, as plain sums."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from minifa.experiments import lillicrap_2016, refinetti_fig
from minifa.experiments.store import Results

ROOT = Path(__file__).resolve().parent.parent
LONG = ROOT / "docs" / "results" / "long"


@pytest.fixture(scope="module")
def costs():
    spec = importlib.util.spec_from_file_location("profile_costs", ROOT / "bench" / "profile_costs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["lillicrap-2016", "refinetti-2021"])
def test_a_complete_files_work_times_its_cost_is_its_recorded_core_seconds(costs, name):
    cost, ran, done = costs.measured(LONG, name)
    assert done == f"{len(ran.units)}/{len(ran.units)}"
    total = sum(float(r.get("cpu_seconds", 0.0)) for r in ran.records.values())
    assert costs.work(name, ran.config, ran) * cost == pytest.approx(total, rel=1e-12)


def test_refinetti_work_counts_runs_of_1000_n_steps(costs):
    assert costs.work("refinetti-2021", refinetti_fig.PROFILES["long"]) == 2 * 5 * 1.0  # 2 inits × 5 seeds
    assert costs.work("refinetti-2021", refinetti_fig.PROFILES["quick"]) == pytest.approx(2 * 3 * 0.1)


def test_lillicrap_synthetic_weight_is_the_ratio_of_per_work_costs(costs):
    ran = Results.load(LONG / "lillicrap-2016.h5")
    c = ran.config
    t2_s = syn_s = 0.0
    for key, record in ran.records.items():
        if ran.params[key]["part"] in ("t2", "t2_tuned"):
            t2_s += float(record["cpu_seconds"])
        else:
            syn_s += float(record["cpu_seconds"])
    updates = (3 + len(c["fig4"]["omegas"])) * 20 * 20 * 500 + 4 * 20 * 50 * 1000  # long: n = 20, 20 × 500, 50 × 1000
    assert costs.synthetic_updates(c) == updates
    # 3 rules × 3 seeds × 20 epochs, then the search (4 ω, × 3 β for FA: 20 runs of 10 epochs on 50,000 of
    # 60,000 images) and 3 rules × 3 seeds × 60 epochs at its choice.
    assert c["t2_tuned"]["search_options"] == {"validation": 10000}
    t2 = 3 * 3 * 20 + 20 * 10 * 50000 / 60000 + 3 * 3 * 60
    assert costs.t2_epochs(c) == pytest.approx(t2, rel=1e-12)
    assert costs.t2_epochs(lillicrap_2016.PROFILES["quick"]) == 3 * 1 * 1  # no search
    assert costs.synthetic_cost(ran) == pytest.approx((syn_s / updates) / (t2_s / t2), rel=1e-12)
    assert costs.work("lillicrap-2016", lillicrap_2016.PROFILES["quick"], ran) > costs.t2_epochs(lillicrap_2016.PROFILES["quick"])
