"""Drive experiments: resolve the profile, skip finished units, run the rest through an
executor, store each result as it arrives, plot, and collect the claims."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from ..backend import gpu_available
from ..errors import ConfigError, choose
from .executors import LocalExecutor
from .framework import PROFILES, Experiment
from .store import Results, ResultStore, extends

def resolve_profile(profile: str, stored: dict[str, str] | None = None) -> tuple[str, str]:
    """``auto`` is the profile of the results already there (``stored``: figure → profile),
    so that rerunning on a folder resumes it instead of moving its files aside; with none,
    ``paper`` on a GPU and ``quick`` on a CPU. Returns (profile, why)."""
    choose("profile", profile, ("auto", *PROFILES))
    if profile != "auto":
        return profile, "as asked"
    found = sorted(set((stored or {}).values()))
    if len(found) > 1:
        raise ConfigError(f"the results folder holds several profiles ({', '.join(found)}); "
                          "name one with --profile")
    if found:
        return found[0], "auto: the profile of the results already there"
    return ("paper", "auto: a GPU is present") if gpu_available() else ("quick", "auto: no GPU, CPU profile")


def experiment_config(figure: Experiment, profile: str, overrides: dict | None = None,
                      stage: dict | None = None) -> dict:
    """The ``profile``'s config with ``overrides`` (placement) and ``stage``: extent keys set to
    a step toward the profile, every unit of which is one of the profile's, so that a later run
    of the whole profile extends the staged file (`staged`)."""
    config = {**figure.profiles[profile], **(overrides or {})}
    return staged(figure, profile, config, stage) if stage else config


def staged(figure: Experiment, profile: str, config: dict, stage: dict) -> dict:
    outside = sorted(set(stage) - set(figure.extent))
    if outside:
        keys = ", ".join(figure.extent) or "none"
        raise ConfigError(f"{figure.name}: --stage {outside[0]} is not one of its extent keys ({keys}); name one of those")
    step = {**config, **stage}
    steps = figure.units(step)
    if not extends(step, config, figure.extent, {u.key: u.params for u in steps}, figure.units(config)):
        full = {u.key: u.params for u in figure.units(config)}
        extra = [u.key for u in steps if full.get(u.key) != u.params]
        why = (f" has units the {profile} profile lacks ({', '.join(extra[:3])})" if extra else
               f": the {profile} profile's run would not extend it (each {', '.join(stage)} entry must be one of the profile's)")
        raise ConfigError(f"{figure.name}: --stage {', '.join(f'{k}={v}' for k, v in stage.items())}{why}; "
                          "a stage must be a step toward the profile")
    return step


def run_experiment(figure: Experiment, profile: str, results_dir, overrides: dict | None = None,
                   executor=None, on_unit: Callable | None = None, stage: dict | None = None) -> Path:
    """Compute every unit of ``figure`` not yet in ``results/<name>.h5``; returns the path.
    ``on_unit(done, total, unit, seconds)`` reports progress. A file whose config differs only
    in ``figure.extent`` keys (more seeds) and holds only units of this config is extended;
    ``stage`` runs a step toward the profile (`experiment_config`)."""
    config = experiment_config(figure, profile, overrides, stage)
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    with ResultStore(results_dir / f"{figure.name}.h5", figure.name, profile, config, tuple(figure.extent),
                     tuple(figure.units(config))) as store:
        return _run_units(figure, config, store, executor or LocalExecutor(), on_unit)


def _run_units(figure: Experiment, config: dict, store: ResultStore, executor, on_unit: Callable | None) -> Path:
    """The units of ``figure`` not yet in ``store``, written as they finish (the single writer)."""
    if store.moved_aside is not None:  # never silent: the user may have meant to resume
        print(f"{figure.name}: {store.path} held another config's results; kept as {store.moved_aside}, "
              "starting afresh", file=sys.stderr)
    if store.extended_from is not None:
        print(f"{figure.name}: {store.path} extended from config {store.extended_from}: its units kept, "
              "the new ones to run", file=sys.stderr)
    all_units = figure.units(config)
    done = store.done()
    todo = [u for u in all_units if u.key not in done]
    count = len(all_units) - len(todo)
    if on_unit is not None:
        on_unit(count, len(all_units), None, 0.0)
    for unit, arrays, record in executor.map(figure.run_unit, config, todo):
        if unit.key in done:  # the single writer stores each unit once
            continue
        store.write_unit(unit, arrays, record)
        done.add(unit.key)
        count += 1
        if on_unit is not None:
            on_unit(count, len(all_units), unit, record["seconds"])
    return store.path


def plot_experiment(figure: Experiment, results_path, figures_dir) -> Path:
    """Render ``figures/<name>.png`` from the results file alone."""
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    png = figures_dir / f"{figure.name}.png"
    figure.plot(Results.load(results_path), png)
    return png


def experiment_claims(figure: Experiment, results_path) -> list:
    return figure.claims(Results.load(results_path))
