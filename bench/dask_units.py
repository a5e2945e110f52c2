"""Throughput of the executors on a subset of Figure 3's work units; prints one JSON line.

    .venv/bin/python bench/dask_units.py SUBSET MODE
    SUBSET: bc (the 9 quick bc_* units) | a2 (quick a_rep0, a_rep1) | a1 (quick a_rep0)
            | pa1 (paper a_rep0)
    MODE:   local (in process, the BLAS's own threads) | local1 (in process, 1 BLAS thread)
            | local:N (a Dask LocalCluster of N single-threaded workers)

Wall time covers the units only; CPU seconds are each unit's process time, summed.
BENCHMARKS.md, "Work units on Dask", has the numbers and the load they were taken under.
"""

import json
import sys
import tempfile
import time
from dataclasses import replace

import numpy as np

from minifa.experiments import chu_fig3
from minifa.experiments.executors import make_executor
from minifa.experiments.runner import run_experiment
from minifa.experiments.store import Results

SUBSETS = {"bc": lambda k: k.startswith("bc_"), "a2": lambda k: k in ("a_rep0", "a_rep1"),
           "a1": lambda k: k == "a_rep0", "pa1": lambda k: k == "a_rep0"}


def cpu_timed_run_unit(config, unit):
    """``chu_fig3.run_unit`` plus the CPU seconds this process (all its threads) spent on it."""
    start = time.process_time()
    arrays = chu_fig3.run_unit(config, unit)
    arrays["_cpu_s"] = np.array(time.process_time() - start)
    return arrays


def main():
    subset, mode = sys.argv[1], sys.argv[2]
    keep = SUBSETS[subset]
    figure = replace(chu_fig3.FIGURE, name=f"bench-{subset}", run_unit=cpu_timed_run_unit,
                     units=lambda c: [u for u in chu_fig3.units(c) if keep(u.key)])
    executor = make_executor(mode if mode.startswith("local:") else None, blas_threads=1 if mode == "local1" else None)
    start = time.perf_counter()
    path = run_experiment(figure, "paper" if subset.startswith("p") else "quick", tempfile.mkdtemp(),
                          {"device": "cpu", "data_dir": "data/mnist"}, executor=executor)
    wall = time.perf_counter() - start
    executor.close()
    cpu = {k: round(float(v["_cpu_s"]), 2) for k, v in sorted(Results.load(path).units.items())}
    print(json.dumps({"subset": subset, "mode": mode, "wall_s": round(wall, 2),
                      "cpu_s": round(sum(cpu.values()), 2), "per_unit_cpu_s": cpu}))


if __name__ == "__main__":  # Dask's LocalCluster spawns workers that import __main__
    main()
