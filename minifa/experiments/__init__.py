"""Experiments, one module per paper figure, each ending in ``FIGURE = Experiment(...)``
(``framework.Experiment``); discovery collects those objects by their ``name``. The engine
never imports this package; it uses only the engine's public API.

A module here without ``FIGURE`` is machinery (framework, runner, store, executors, sweep,
...). A ``FIGURE`` that breaks the contract (not an ``Experiment``, a profile of ``PROFILES``
missing, no claims or plot) is refused, naming what it lacks, by `experiment` and `figures`.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..errors import ConfigError, choose
from .framework import PROFILES, Experiment, no_claims


def contract_problem(module: str, figure) -> str | None:
    """What ``figure`` (module ``module``'s ``FIGURE``) lacks of the contract, as one line;
    None when it has it all."""
    if not isinstance(figure, Experiment):
        missing = ["FIGURE = Experiment(...)"]
    else:
        missing = [f"profiles[{p!r}]" for p in PROFILES if p not in figure.profiles]
        missing += ["claims"] if figure.claims is no_claims else []  # the default is a sweep's
        missing += ["plot"] if figure.plot is None else []
        missing += ["paper"] if not figure.paper else []
    if not missing:
        return None
    return (f"figure module minifa/experiments/{module}.py lacks {', '.join(missing)}; a figure module ends "
            f"in FIGURE = Experiment(name=, title=, profiles= (each of {', '.join(PROFILES)}), units=, run_unit=, "
            "claims=, plot=, paper=) (README, \"Adding a figure\")")


def _discover() -> tuple[dict[str, Experiment], list[str]]:
    found, broken = {}, []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        figure = vars(importlib.import_module(f"{__name__}.{info.name}")).get("FIGURE")
        if figure is None:
            continue  # the machinery
        problem = contract_problem(info.name, figure)
        if problem is None:
            found[figure.name] = figure
        else:
            broken.append(problem)
    return found, broken


EXPERIMENTS, BROKEN = _discover()


def _refuse_broken() -> None:
    if BROKEN:
        raise ConfigError(BROKEN[0])


def figures() -> list[str]:
    """Every figure's name, in module order."""
    _refuse_broken()
    return list(EXPERIMENTS)


def experiment(name: str) -> Experiment:
    _refuse_broken()
    return choose("figure", name, EXPERIMENTS)
