"""A sweep on a cluster: rules × learning rates × seeds as work units on Dask (seconds).

    python examples/cluster_sweep.py                          # 2 worker processes here
    python examples/cluster_sweep.py --scheduler tcp://A:8786 # a running Dask scheduler

The same as ``python cli.py sweep --grid rule=fa,dfa,bp --grid lr=0.01,0.05 --seeds 2
--scheduler local:2 ...``, written with the Python API: each point is a ``Config``, the
executor runs the points wherever its workers are, and this process (the driver) writes
each finished point to one results file, atomically. Interrupt it and run it again: it
continues with the points not yet written. Every worker needs the same minifa installed
(README, "Running on a cluster"); the data here are synthetic, so no data directory.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import minifa as mf
from minifa.experiments.executors import make_executor
from minifa.experiments.sweep import run_sweep
from minifa.history import describe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", default="local:2", help="local, local:N, tcp://HOST:PORT or a scheduler file")
    parser.add_argument("--out", type=Path, default=Path("results/examples"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    grid = {"rule": ["fa", "dfa", "bp"], "lr": [0.01, 0.05]}
    points = [({"rule": rule, "lr": lr},
               mf.Config(layers=(50, 64, 32, 10), rule=rule, lr=lr, batch_size=20, seeds=[0, 1], epochs=3,
                         init="glorot", init_scale=1.0,
                         metrics_every=10, dataset="synthetic", dataset_options={"n_train": 2000, "d": 50}))
              for rule in grid["rule"] for lr in grid["lr"]]
    executor = make_executor(args.scheduler)
    try:
        path = run_sweep(args.out / "cluster-sweep.h5", grid, points, executor=executor,
                         on_unit=lambda done, total, unit, seconds: print(f"{done}/{total} points done"))
    finally:
        executor.close()
    print("\n".join(describe(path)[1]))

    from minifa.plots.run import plot  # or: python cli.py plot results/examples/cluster-sweep.h5

    print("plot:", plot([path], args.out / "cluster-sweep.png"))


if __name__ == "__main__":
    main()
