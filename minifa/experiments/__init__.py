"""Experiments, one module per paper figure; found by their ``NAME``. The engine never
imports this package; it uses only the engine's public API.

The figure contract (the README's "Adding a figure"): a module here that defines any of
``FIGURE_NAMES`` is a figure and must define all of them, with a ``PROFILES`` entry for each
of ``FIGURE_PROFILES``, and ``minifa/plots/<module>.py`` must define ``plot(results, png)``.
Discovery checks it without importing the plot module (matplotlib is slow to import); a
figure that breaks it is refused, naming what it lacks, by `experiment` and `figures`.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
from pathlib import Path
from types import ModuleType

from ..errors import ConfigError, choose

FIGURE_NAMES = ("NAME", "TITLE", "PROFILES", "units", "run_unit", "claims")
FIGURE_PROFILES = ("paper", "long", "quick", "tiny")
# What marks a module as a figure: `sweep` has units and run_unit and `runner` a PROFILES
# tuple, and neither is one of the papers' figures.
FIGURE_MARKS = ("NAME", "TITLE", "claims")


def contract_problem(module: ModuleType) -> str | None:
    """What ``module`` lacks of the figure contract, as one line; None when it has it all."""
    short = module.__name__.rsplit(".", 1)[-1]
    missing = [name for name in FIGURE_NAMES if not hasattr(module, name)]
    profiles = getattr(module, "PROFILES", {})
    missing += [f"PROFILES[{p!r}]" for p in FIGURE_PROFILES if not isinstance(profiles, dict) or p not in profiles]
    if not _defines_plot(short):
        missing.append(f"minifa/plots/{short}.py with plot(results, png_path)")
    if not missing:
        return None
    return (f"figure module minifa/experiments/{short}.py lacks {', '.join(missing)}; a figure defines "
            f"{', '.join(FIGURE_NAMES)} (profiles {', '.join(FIGURE_PROFILES)}) and its plot module "
            "(README, \"Adding a figure\")")


def _defines_plot(short: str) -> bool:
    """Whether ``minifa/plots/<short>.py`` exists and defines a top-level ``plot`` function."""
    spec = importlib.util.find_spec(f"minifa.plots.{short}")
    if spec is None or spec.origin is None:
        return False
    tree = ast.parse(Path(spec.origin).read_text())
    return any(isinstance(node, ast.FunctionDef) and node.name == "plot" for node in tree.body)


def _discover() -> tuple[dict[str, ModuleType], list[str]]:
    found, broken = {}, []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if not any(hasattr(module, name) for name in FIGURE_MARKS):
            continue  # the machinery: framework, runner, store, executors, sweep, ...
        problem = contract_problem(module)
        if problem is None:
            found[module.NAME] = module
        else:
            broken.append(problem)
    return found, broken


EXPERIMENTS, BROKEN = _discover()


def _refuse_broken() -> None:
    if BROKEN:
        raise ConfigError(BROKEN[0])


def figures() -> list[str]:
    """Every figure's ``NAME``, in module order."""
    _refuse_broken()
    return list(EXPERIMENTS)


def experiment(name: str) -> ModuleType:
    _refuse_broken()
    return choose("figure", name, EXPERIMENTS)
