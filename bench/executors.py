"""One process at the BLAS's threads against one-thread worker processes, on a subset of the
quick profile's units (issue 28, item 5); prints one JSON line per run and the paired ratios.

    .venv/bin/python bench/executors.py [PAIRS]     # default 1: runs in the order A B B A

A is ``local`` (the units one after another in this process, every usable core's BLAS
threads: what ``reproduce`` did by default); B is ``local:N`` (a Dask ``LocalCluster`` of
N = usable cores single-threaded workers, its start included). The subset (``SUBSET``):
Figure 3's 9 ``bc_*`` units and Figure 2's 10 plain logit-cross-entropy units, i.e. short
units of the kinds most figures are made of, about 100 s on 2 quiet cores. Each run writes
to a fresh temporary directory; the load average is printed beside each run, since the
machine may be shared. BENCHMARKS.md, "Executors for the quick profile", has the numbers.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minifa.blas import usable_cores  # noqa: E402
from minifa.experiments import experiment  # noqa: E402
from minifa.experiments.executors import make_executor  # noqa: E402
from minifa.experiments.runner import run_experiment  # noqa: E402

SUBSET = {"chu-fig3": lambda key: key.startswith("bc_"),
          "chu-fig2": lambda key: key.startswith("logitcrossentropy_reps")}


def run(mode: str) -> dict:
    """Wall seconds of the subset under executor ``mode`` (``local`` or ``local:N``)."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    executor = make_executor(None if mode == "local" else mode)
    with tempfile.TemporaryDirectory() as out:
        for name, keep in SUBSET.items():
            figure = experiment(name)
            figure = replace(figure, units=lambda c, f=figure, k=keep: [u for u in f.units(c) if k(u.key)])
            run_experiment(figure, "quick", out, {"device": "cpu", "data_dir": os.path.abspath("data/mnist")},
                           executor=executor)
    executor.close()
    return {"mode": mode, "wall_s": round(time.perf_counter() - start, 1), "load_start": round(load, 2),
            "load_end": round(os.getloadavg()[0], 2)}


def main() -> None:
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    workers = f"local:{usable_cores()}"
    results = []
    for p in range(pairs):
        for mode in ("local", workers, workers, "local") if p % 2 == 0 else (workers, "local", "local", workers):
            results.append(run(mode))
            print(json.dumps(results[-1]), flush=True)
    a = sum(r["wall_s"] for r in results if r["mode"] == "local")
    b = sum(r["wall_s"] for r in results if r["mode"] == workers)
    print(json.dumps({"local_over_workers": round(a / b, 3), "local_s": a, "workers_s": b}))


if __name__ == "__main__":  # Dask's LocalCluster spawns workers that import __main__
    main()
