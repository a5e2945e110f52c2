"""Pooling of a ``Chain``: max or average over non-overlapping k × k windows (stride k)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import choose

KINDS = ("max", "avg")


@dataclass(frozen=True)
class Pool:
    """``y[c, i, j] = max`` (or mean) of ``x[c, k i + a, k j + b]`` over ``0 ≤ a, b < k``;
    rows and columns beyond ``k ⌊H/k⌋`` are dropped, as PyTorch's ``MaxPool2d(k)``."""

    kind: str = "max"
    k: int = 2

    def __post_init__(self) -> None:
        choose("pooling", self.kind, KINDS)

    def out_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        c, h, w = shape
        return (c, h // self.k, w // self.k)

    def offsets(self, shape):
        """Per window offset (a, b) the strided slices of rows and columns it reads."""
        _, h, w = self.out_shape(shape)
        k = self.k
        return [(slice(a, a + k * (h - 1) + 1, k), slice(b, b + k * (w - 1) + 1, k)) for a in range(k) for b in range(k)]

    def windows(self, x, shape):
        """The k² strided views ``x[..., a::k, b::k, :]``, each (…, C, H/k, W/k, N)."""
        return [(rows, cols, x[..., rows, cols, :]) for rows, cols in self.offsets(shape)]

    def forward(self, xp, x, shape):
        views = [v for _, _, v in self.windows(x, shape)]
        if self.kind == "avg":
            return sum(views[1:], views[0]) * (1.0 / self.k ** 2), None
        peak = views[0]
        for v in views[1:]:
            peak = xp.maximum(peak, v)
        return peak, (x, peak)

    def backward(self, xp, keep, g, shape):
        """Max: each window's gradient goes to its first maximum (PyTorch's choice on ties, as
        ReLU's zeros make them); average: ``g / k²`` to every entry."""
        lead = tuple(g.shape[:-4])
        grad = xp.zeros(lead + tuple(shape) + (g.shape[-1],), dtype=g.dtype)
        if self.kind == "avg":
            share = g * (1.0 / self.k ** 2)
            for rows, cols in self.offsets(shape):
                grad[..., rows, cols, :] = share
            return grad
        x, peak = keep
        taken, zero = xp.zeros(peak.shape, dtype=xp.bool), xp.zeros_like(g)
        for rows, cols, v in self.windows(x, shape):
            hit = (v == peak) & ~taken
            grad[..., rows, cols, :] = xp.where(hit, g, zero)
            taken = taken | hit
        return grad
