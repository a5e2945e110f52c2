"""Learning rules, found by name. Each module in this package defines one ``Rule`` subclass;
importing the package registers them all, so adding a rule touches no other file."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from ..errors import choose
from ..options import Option
from .base import PROVIDES, Proposal, Rule, Signal, propose


def _discover() -> dict[str, type[Rule]]:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    found: dict[str, type[Rule]] = {}
    stack = list(Rule.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if "name" in cls.__dict__:
            if getattr(cls, "provides", None) not in PROVIDES:  # a developer's error, found at import
                raise TypeError(f"rule {cls.name!r} must say what it provides: provides = one of {PROVIDES}")
            if not all(isinstance(spec, Option) for spec in cls.options.values()):
                raise TypeError(f"rule {cls.name!r} must declare its options as Option specs, e.g. Option(0.0, min=0)")
            found[cls.name] = cls
    return dict(sorted(found.items()))


RULES = _discover()


def rule_class(name: str) -> type[Rule]:
    return choose("rule", name, RULES)


def make_rule(name: str, backend, net, streams, dtype: str, options: dict[str, Any] | None = None) -> Rule:
    """Build rule ``name`` for an ensemble; unknown names and bad options are one-line errors
    (the rule's declared ``options`` check them)."""
    return rule_class(name)(backend, net, streams, dtype, **(options or {}))


__all__ = ["RULES", "Proposal", "Rule", "Signal", "make_rule", "propose", "rule_class"]
