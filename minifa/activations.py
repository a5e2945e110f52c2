"""Elementwise activations: value and derivative.

The derivative is taken from whichever of the pre-activation ``h`` or the output
``x = f(h)`` is cheaper, as Flux's rules do (tanh' = 1 - x², Flux/NNlib ``tanh_fast``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .errors import choose


@dataclass(frozen=True)
class Activation:
    name: str
    value: Callable[[Any, Any], Any]  # (xp, h) -> f(h)
    derivative: Callable[[Any, Any, Any], Any]  # (xp, h, x) -> f'(h), with x = f(h)


def _sigmoid(xp, h):
    return 1.0 / (1.0 + xp.exp(-h))


ACTIVATIONS = {
    a.name: a
    for a in (
        Activation("tanh", lambda xp, h: xp.tanh(h), lambda xp, h, x: 1.0 - x * x),
        Activation(
            "relu",
            lambda xp, h: xp.maximum(h, 0.0),
            lambda xp, h, x: xp.astype(h > 0.0, h.dtype),
        ),
        Activation("sigmoid", _sigmoid, lambda xp, h, x: x * (1.0 - x)),
        Activation("identity", lambda xp, h: h, lambda xp, h, x: xp.ones_like(h)),
    )
}


def get_activation(name: str) -> Activation:
    return choose("activation", name, ACTIVATIONS)
