"""A sweep: a researcher's own grid (rules × any training setting × seeds), run as an
experiment whose config is the grid.

Each grid point is one work unit, an ensemble of the point's seeds trained exactly as
``train`` trains it (same data, same loop, same history), so the paper experiments'
machinery serves it unchanged: ``runner.run_experiment`` skips finished points, any executor
(in-process, ``--scheduler local:N`` or ``tcp://…``) runs the rest, and the driver writes each
finished point to one results file atomically (``ResultStore``), which a rerun resumes.

The results file is the store's (``/units/<key>``, attributes ``experiment`` = the file's
name, ``profile`` = ``"sweep"``); each unit holds the run's history tables as ``steps.<key>``
and ``epochs.<key>`` (shapes in ``minifa.history``), ``diverged_at`` (the step) if training hit
NaN/Inf, and its params ``{"point": the grid values, "config": the engine Config}``.

The driver resolves every point to a full ``Config`` before anything runs (the CLI parses a
point's options exactly as ``train`` does), so a worker needs nothing but the Config.
(No module-level ``FIGURE``: a sweep is not one of the papers' figures, and ``reproduce`` must
not list it; `run_sweep` builds its ``Experiment``.)
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Callable

import numpy as np

import minifa as mf
from minifa.data import DATA_DIR, load_data
from minifa.errors import ConfigError, DivergenceError
from minifa.integrity import SWEEP

from .framework import Experiment, Unit
from .runner import run_experiment

PROFILE = SWEEP  # the results file's profile: what tells a sweep from a paper figure


def grid_points(grid: dict[str, list]) -> list[dict]:
    """The cartesian product of the grid's values, the first key varying slowest."""
    if not grid:
        raise ConfigError("empty grid: give at least one --grid KEY=V1,V2 (e.g. --grid rule=fa,bp) or a grid file")
    for key, values in grid.items():
        if not values:
            raise ConfigError(f"grid key {key!r} has no values; give at least one, e.g. --grid {key}=V")
    return [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]


def point_label(point: dict, grid: dict[str, list]) -> str:
    """``rule=fa lr=0.05``: the keys that vary over the grid (all of them for a single point)."""
    varying = [k for k in point if len(grid.get(k, [])) > 1] or list(point)
    return " ".join(f"{k}={point[k]}" for k in varying)


def sweep_config(grid: dict[str, list], points: list[tuple[dict, mf.Config]], device: str = "auto",
                 data_dir: str = DATA_DIR) -> dict:
    """The experiment config: the grid and each point's Config (what the results hash covers),
    plus where to compute (``device``, ``data_dir``: outside the hash)."""
    width = len(str(max(len(points) - 1, 0)))
    units = [{"key": f"{i:0{width}d}", "point": point, "config": json.loads(json.dumps(cfg.to_dict()))}
             for i, (point, cfg) in enumerate(points)]
    # the grid as [key, values] pairs: the results file sorts a config's keys, the user's order is kept
    return {"grid": [[k, v] for k, v in grid.items()], "units": units, "device": device, "data_dir": data_dir}


def units(config: dict) -> list[Unit]:
    return [Unit(u["key"], {"point": u["point"], "config": u["config"]}) for u in config["units"]]


def run_unit(config: dict, unit: Unit) -> dict[str, np.ndarray]:
    """Train the point's ensemble as ``train`` would; its history tables as arrays. A run that
    diverges keeps the history up to there and records the step (a sweep over learning
    rates expects some to diverge; one such point must not stop the others)."""
    cfg = mf.Config.from_dict(unit.params["config"])
    backend = mf.get_backend(config.get("device", "auto"))
    run = mf.build(cfg, backend)
    host = load_data(cfg, config.get("data_dir", DATA_DIR))  # as `train` loads it, once per process
    data = mf.DeviceData.from_dataset(backend, host, cfg.dtype, run.net)  # checks the sizes fit
    arrays = {}
    try:
        mf.train(run, data)
    except DivergenceError:
        arrays["diverged_at"] = np.int64(run.step)
    for table, columns in run.history.items():
        for key, rows in columns.items():
            arrays[f"{table}.{key}"] = np.asarray(rows)
    return arrays


def run_sweep(path, grid: dict[str, list], points: list[tuple[dict, mf.Config]], executor=None,
              on_unit: Callable | None = None, device: str = "auto", data_dir: str = DATA_DIR) -> Path:
    """Run every point of the sweep not yet in ``path`` (``NAME.h5``); returns the path.
    ``points``: (grid values, Config) per point. A file written for another grid is moved aside."""
    path = Path(path)
    if path.suffix != ".h5":
        raise ConfigError(f"sweep results go to an .h5 file, not {path.name}; e.g. -o {path.stem}.h5")
    config = sweep_config(grid, points, device, data_dir)
    experiment = Experiment(name=path.stem, title=f"sweep {path.stem}", profiles={PROFILE: config}, units=units,
                            run_unit=run_unit)
    return run_experiment(experiment, PROFILE, path.parent, executor=executor, on_unit=on_unit)
