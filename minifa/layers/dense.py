"""The dense layer of a ``Chain``: ``h = W x + b`` on a vector batch (in, N)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dense:
    """``out`` units; its GEMM input is its input itself, (in, N)."""

    out: int

    def out_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (self.out,)

    def matrix(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """The weight's (out, in)."""
        (n,) = shape
        return (self.out, n)

    def columns(self, xp, x, shape):
        return x

    def weight_update(self, xp, delta, x):
        """``ΔW = δ xᵀ``."""
        return delta @ xp.matrix_transpose(x)

    def input_grad(self, xp, carried, shape):
        """``∂L/∂x = Fᵀ δ``, already the input's shape."""
        return carried
