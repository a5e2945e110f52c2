"""Settings in one canonical form, and options declared where they are used.

A per-member setting is given as one value or one per member; its canonical form is an
array (R,). A per-layer setting (weight decay) is one value, or per layer a value or one
per member; its canonical form is (L, R). These two parsers are the only code that tells a
value from a list of them. A rule (later an optimiser) declares its options as ``Option``
specs; ``canonical`` validates the given ones and returns each option canonical: a
number as a float, a per-member number as an array (R,). Stored configs keep the form
they were given in (their JSON and hashes never change); readers normalise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConfigError, choose


def per_member(value, members: int, what: str) -> np.ndarray:
    """``value`` as (R,) floats: one value for every member, or a list of one per member."""
    array = np.asarray(value, dtype=float).reshape(-1)
    if array.size not in (1, members):
        raise ConfigError(f"{what} needs one value or one per member ({members})")
    return np.broadcast_to(array, (members,)).copy()


def per_layer_member(value, layers: int, members: int, what: str) -> np.ndarray:
    """``value`` as (L, R) floats: one value, or per layer (a list of L) a value or one per member."""
    given = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(given) not in (1, layers):
        raise ConfigError(f"{what} needs one value or one per layer ({layers})")
    rows = [per_member(v, members, f"{what} of a layer") for v in given]
    return np.stack(rows * layers if len(rows) == 1 else rows)


def finite(value) -> bool:
    """Real numbers (not flags or text), none of them NaN or infinite."""
    numbers = value if isinstance(value, (list, tuple)) else [value]
    real = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in numbers)
    return real and bool(np.all(np.isfinite(np.asarray(numbers, dtype=float))))


@dataclass(frozen=True)
class Option:
    """One declared option: its default, what it may be, and one line of help.

    ``choices``: the names it may take; a bool default: a flag; else a number, ``min`` or
    more and ``within`` (lo, hi), one per member where ``per_member`` (canonical (R,)), or
    one per layer where ``per_layer`` (canonical: a float, or a tuple of them that the owner
    matches to its layers, ``per_layer_values``).
    ``example``: a value the registry-wide tests run the rule with (None: the default)."""

    default: Any
    help: str = ""
    min: float | None = None
    within: tuple[float, float] | None = None
    per_member: bool = False
    per_layer: bool = False
    choices: tuple[str, ...] | None = None
    example: Any = None

    @property
    def kind(self) -> str:
        """``choice``, ``flag`` or ``number``: what ``check`` accepts."""
        if self.choices is not None:
            return "choice"
        return "flag" if isinstance(self.default, bool) else "number"

    def describe(self) -> str:
        """The option's help with its default and bounds, for ``--help`` and ``rules``."""
        limits = [f"one of {', '.join(self.choices)}"] if self.choices else []
        if self.min is not None:
            limits.append(f">= {self.min:g}")
        if self.within is not None:
            limits.append(f"in [{self.within[0]:g}, {self.within[1]:g}]")
        if self.per_member:
            limits.append("one or one per member")
        if self.per_layer:
            limits.append("one or one per layer")
        return f"{self.help} (default {self.default}{'; ' if limits else ''}{'; '.join(limits)})".lstrip()

    def check(self, name: str, value, members: int):
        """``value`` validated, in canonical form; a one-line error naming the fix."""
        if self.kind == "choice":
            return choose(name, value, self.choices)
        if self.kind == "flag":
            if not isinstance(value, bool):
                raise ConfigError(f"option {name}={value!r} must be true or false")
            return value
        listed = isinstance(value, (list, tuple))
        if not finite(value) or (listed and not (self.per_member or self.per_layer)) or (listed and not value):
            raise ConfigError(f"option {name}={value!r} must be a finite number, e.g. {name}={self.default}")
        if self.per_member:
            numbers = per_member(value, members, f"option {name}")
        else:
            numbers = np.asarray(value, dtype=np.float64)
        if self.min is not None and np.any(numbers < self.min):
            raise ConfigError(f"option {name}={value!r} must be {self.min:g} or more")
        if self.within is not None and np.any((numbers < self.within[0]) | (numbers > self.within[1])):
            lo, hi = self.within
            raise ConfigError(f"option {name}={value!r} outside [{lo:g}, {hi:g}]; give values in [{lo:g}, {hi:g}]")
        if self.per_member:
            return numbers
        return tuple(float(v) for v in numbers) if listed else float(numbers)


def per_layer_values(value, layers: int, what: str) -> list[float]:
    """A ``per_layer`` option's canonical value as one float per layer: one value for every
    layer, or a tuple of exactly ``layers``."""
    given = list(value) if isinstance(value, tuple) else [value]
    if len(given) not in (1, layers):
        raise ConfigError(f"{what} needs one value or one per layer ({layers}), got {len(given)}")
    return given * layers if len(given) == 1 else given


def canonical(declared: dict[str, Option], given: dict, members: int) -> dict[str, Any]:
    """Every declared option, the given ones validated, all in canonical form (options not
    declared are left to ``check_options``)."""
    return {name: spec.check(name, given.get(name, spec.default), members) for name, spec in declared.items()}


def check_options(owner: str, declared: dict[str, Option], given: dict, members: int) -> dict[str, Any]:
    """``canonical``, and an option ``owner`` (e.g. ``rule 'fa'``) does not declare is a
    one-line error listing its options."""
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ConfigError(f"{owner} has no option {unknown[0]!r}; its options: {', '.join(declared) or 'none'}")
    return canonical(declared, given, members)


def defaults(declared: dict[str, Option]) -> dict[str, Any]:
    """Each declared option's default, by name."""
    return {name: spec.default for name, spec in declared.items()}


def examples(declared: dict[str, Option]) -> dict[str, Any]:
    """The options a test runs an owner with: each option's ``example`` where it has one."""
    return {name: spec.example for name, spec in declared.items() if spec.example is not None}
