"""Experiments, one module per paper figure; found by their ``NAME``. The engine never
imports this package; it uses only the engine's public API."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from ..errors import ConfigError


def _discover() -> dict[str, ModuleType]:
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run_unit"):
            found[module.NAME] = module
    return found


EXPERIMENTS = _discover()


def experiment(name: str) -> ModuleType:
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise ConfigError(f"unknown figure {name!r}; choose from {', '.join(EXPERIMENTS)}") from None
