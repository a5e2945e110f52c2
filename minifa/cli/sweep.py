"""``minifa sweep``: a grid of rules × any ``train`` option × seeds, resumable, on any executor.

A grid key is ``rule`` or any ``train`` option (``lr``, ``init-scale``, ``layers``,
``dataset-option``, ...); a key with one value is a fixed setting. Every point is parsed
exactly as ``train`` parses its options (same defaults, same checks, same errors) and runs as
one work unit (`minifa.experiments.sweep`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ..backend import NAMES
from ..data import DATA_DIR
from ..errors import ConfigError, choose
from ..experiments.executors import make_executor
from ..experiments.sweep import grid_points, point_label, run_sweep
from ..history import describe
from .reproduce import unit_progress
from .tools import emit
from .train import config_from
from .train import train as train_command

# Set by the sweep itself, not per point: where to compute, what to write, how many seeds.
NOT_GRID = {"checkpoint": "-o", "resume": "a rerun of the same sweep", "device": "--device",
            "data_dir": "--data-dir", "ensemble": "--seeds"}
LIST_OPTIONS = ("layers", "init_scale", "weight_decay", "alignment", "dropout")  # comma-separated values of `train`
TRAIN_OPTIONS = {p.name: p for p in train_command.params if isinstance(p, click.Option)}
GRID_KEYS = {name.replace("_", "-"): name for name in TRAIN_OPTIONS if name not in NOT_GRID}  # as typed: name


def split_values(text: str) -> list[str]:
    """``v1,v2,[a,b]``: the values, split at commas outside brackets (a list value such as
    ``layers=[784,100,10]`` stays one value)."""
    values, depth, current = [], 0, ""
    for char in text:
        depth += (char == "[") - (char == "]")
        if char == "," and depth == 0:
            values.append(current)
            current = ""
        else:
            current += char
    values.append(current)
    return [typed(v.strip()) for v in values if v.strip()]


def typed(text: str):
    """A value as JSON reads it where it can (``0.05``, ``3``, ``true``), so that summaries and
    ``history_frame`` get numbers; anything else as text (``fa``, ``[784,100,10]`` -> ``784,100,10``)."""
    if text.startswith("[") and text.endswith("]"):
        return text[1:-1]
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (bool, int, float)) else text


def grid_key(key: str) -> str:
    name = key.strip().replace("-", "_")
    if name in NOT_GRID:
        raise ConfigError(f"grid key {key!r} is set for the whole sweep: use {NOT_GRID[name]}")
    return choose("grid key", name.replace("_", "-"), GRID_KEYS)


def read_grid_file(path: str) -> dict[str, list]:
    """A TOML or JSON table ``key = [values]`` (a scalar is one value; a list-valued option's
    value is a string ``"784,100,10"`` or a nested list)."""
    text = Path(path).read_bytes()
    try:
        if path.endswith(".json"):
            table = json.loads(text)
        else:
            try:
                import tomllib
            except ImportError:  # Python 3.10
                import tomli as tomllib
            table = tomllib.loads(text.decode())
    except ImportError:
        raise ConfigError(f"reading {path} needs Python 3.11 or `pip install tomli`; or write the grid as JSON") from None
    except ValueError as err:
        raise ConfigError(f"{path} is not valid {'JSON' if path.endswith('.json') else 'TOML'} ({err})") from None
    if not isinstance(table, dict):
        raise ConfigError(f"{path} must hold a table of grid keys, e.g. rule = [\"fa\", \"bp\"]")
    return {grid_key(k): v if isinstance(v, list) else [v] for k, v in table.items()}


def read_grid(items, path: str | None) -> dict[str, list]:
    """The grid file's keys, then each ``--grid KEY=V1,V2`` (a later key replaces an earlier one)."""
    grid = read_grid_file(path) if path else {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep:
            raise ConfigError(f"--grid {item!r} is not KEY=V1,V2,...; e.g. --grid lr=0.01,0.05")
        grid[grid_key(key)] = split_values(values)
    return grid


def train_args(name: str, value) -> list[str]:
    """The ``train`` command-line words that set option ``name`` to one grid value."""
    option = TRAIN_OPTIONS[name]
    flag = option.opts[0]
    if option.is_flag:
        on = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
        return [flag] if on else []
    if option.multiple:  # KEY=VALUE options: a dict or "k=v" (";"-separated for several)
        pairs = [f"{k}={json.dumps(v)}" for k, v in value.items()] if isinstance(value, dict) else str(value).split(";")
        return [word for pair in pairs for word in (flag, pair)]
    if isinstance(value, list):
        value = ",".join(map(str, value))
    return [flag, str(value)]


def resolve(grid: dict[str, list], seeds: int) -> list[tuple[dict, object]]:
    """Every point of the grid with its ``Config``, parsed as ``train`` would parse it."""
    points = []
    for point in grid_points(grid):
        args = ["--ensemble", str(seeds)] + [w for k, v in point.items() for w in train_args(k, v)]
        label = point_label(point, grid)
        try:
            ctx = train_command.make_context("train", args)
            explicit = {k for k in ctx.params if ctx.get_parameter_source(k) == click.core.ParameterSource.COMMANDLINE}
            points.append((point, config_from(ctx.params, explicit)))
        except (click.ClickException, ConfigError) as err:
            message = err.format_message() if isinstance(err, click.ClickException) else str(err)
            hint = next((f" (a list value goes in brackets: --grid {k.replace('_', '-')}=[784,100,10])"
                         for k in point if k in LIST_OPTIONS and "impossible" in message), "")
            raise ConfigError(f"grid point {label}: {' '.join(message.split())}{hint}") from None
    return points


@click.command()
@click.argument("grid_file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--grid", "grid_items", multiple=True, metavar="KEY=V1,V2,...",
              help="A grid axis: rule or any train option (lr, init-scale, layers=[784,100,10], ...); one value fixes it.")
@click.option("--seeds", type=click.IntRange(min=1), default=1, show_default=True,
              help="Seeds per grid point (seed … seed+N−1), trained together as one ensemble.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="sweep.h5", show_default=True,
              help="The results file; rerunning the same sweep resumes it.")
@click.option("--device", type=click.Choice(list(NAMES)), default="auto", show_default=True)
@click.option("--data-dir", default=DATA_DIR, show_default=True, type=click.Path(file_okay=False))
@click.option("--scheduler", metavar="local:N|tcp://HOST:PORT", default=None,
              help="Run the points on Dask (as reproduce --scheduler). Default: in this process.")
@click.option("--blas-threads", type=click.IntRange(min=1), default=None, help="BLAS threads per point.")
@click.option("--connect-timeout", type=click.FloatRange(min=0, min_open=True), default=5.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the final metrics of every point as JSON.")
def sweep(grid_file, grid_items, seeds, output, device, data_dir, scheduler, blas_threads, connect_timeout,
          as_json) -> None:
    """Train every point of a grid (rules × train options × seeds) into one resumable results file.

    GRID_FILE (optional): a TOML or JSON table of KEY = [values]; --grid adds or replaces keys.

    \b
    Example:
      sweep --grid rule=fa,dfa,bp --grid lr=0.01,0.05 --grid epochs=2 --seeds 3 -o lr.h5
    """
    grid = read_grid(grid_items, grid_file)
    points = resolve(grid, seeds)
    Path(output).parent.mkdir(parents=True, exist_ok=True)  # before a cluster is started
    executor = make_executor(scheduler, blas_threads=blas_threads, connect_timeout=connect_timeout)
    if scheduler:  # workers may start elsewhere; on a shared file system an absolute path still holds
        data_dir = os.path.abspath(data_dir)
    try:
        if scheduler or blas_threads:
            click.echo(executor.describe(), err=True)
        with unit_progress(Path(output).stem) as report:
            path = run_sweep(output, grid, points, executor=executor, on_unit=report, device=device,
                             data_dir=data_dir)
    finally:
        executor.close()
    payload, lines = describe(path)
    emit(payload, as_json, lines)
