"""Flatten of a ``Chain``: an image batch (C, H, W, N) to a vector batch (C·H·W, N)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Flatten:
    """Row-major (C, H, W) to one feature axis; samples stay last, so no data moves."""

    def out_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(shape),)

    def forward(self, xp, x, shape):
        return xp.reshape(x, tuple(x.shape[:-len(shape) - 1]) + (math.prod(shape), x.shape[-1])), None

    def backward(self, xp, keep, g, shape):
        return xp.reshape(g, tuple(g.shape[:-2]) + tuple(shape) + (g.shape[-1],))
