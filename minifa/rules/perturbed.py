"""Gradient-perturbed BP at an exact target alignment (Chu & Bacho 2024, Figure 3)."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..metrics import inner
from ..network import Update, gradient
from ..streams import draw
from .base import Rule


def _inner(xp, a, b):
    """``metrics.inner`` shaped (R, 1, 1), to scale (R, out, in) arrays member by member."""
    return xp.reshape(inner(xp, a, b), (-1, 1, 1))


class PerturbedBackprop(Rule):
    """Output layer exact; each hidden layer's BP gradient ``g`` becomes
    ``g' = ‖g‖ (a ĝ + √(1−a²) û) = a g + √(1−a²) ‖g‖ û``, with ``û`` a fresh Gaussian
    direction, made orthogonal to ``g`` and normalised, at every step. Hence
    ``cos(g', g) = a`` and ``‖g'‖ = ‖g‖`` exactly; ``a = 1`` is BP, ``a = 0`` a random walk
    with BP's step length. ``alignment`` may be one value or one per member. ``joint``
    treats a layer's weights and bias as one flattened vector (default: apart)."""

    name = "perturbed"
    provides = "updates"
    options = {"alignment": 1.0, "joint": False}
    summary = "BP with each hidden gradient turned to an exact cosine `alignment` with the true one"

    def __init__(self, backend, net, streams, dtype, **options):
        super().__init__(backend, net, streams, dtype, **options)
        a = np.broadcast_to(np.asarray(self.settings["alignment"], dtype=float), (len(streams),))
        if np.any(np.abs(a) > 1.0):
            raise ConfigError(f"alignment {a[np.abs(a) > 1][0]} outside [-1, 1]; a target cosine must lie in [-1, 1]")
        self.parallel = backend.asarray(a.reshape(-1, 1, 1), dtype)
        self.orthogonal = backend.asarray(np.sqrt(1.0 - a * a).reshape(-1, 1, 1), dtype)

    def updates(self, signal):
        exact = gradient(self.xp, self.net, signal.params, signal.cache, signal.e)
        hidden = [self._perturb(u) for u in exact[:-1]]
        return hidden + exact[-1:]

    def _perturb(self, update: Update) -> Update:
        arrays = [a for a in update if a is not None]
        groups = [arrays] if self.settings["joint"] else [[a] for a in arrays]
        turned = [t for group in groups for t in self._turn(group)]
        return Update(turned[0], turned[1] if len(turned) > 1 else None)

    def _turn(self, g: list):
        """Rotate the flattened concatenation of the arrays ``g`` to cosine ``a`` with itself."""
        xp = self.xp
        u = [self._direction(a.shape[1:]) for a in g]
        norm = xp.sqrt(sum(_inner(xp, a, a) for a in g))
        unit = [a / xp.where(norm > 0.0, norm, 1.0) for a in g]  # ĝ, or 0 where g = 0
        along = sum(_inner(xp, ui, gi) for ui, gi in zip(u, unit))
        u = [ui - along * gi for ui, gi in zip(u, unit)]
        u_norm = xp.sqrt(sum(_inner(xp, ui, ui) for ui in u))
        return [self.parallel * gi + (self.orthogonal * norm / u_norm) * ui for gi, ui in zip(g, u)]

    def _direction(self, shape):
        dtype = np.dtype(self.dtype)
        host = draw(self.streams, "perturbation", lambda rng: rng.standard_normal(shape, dtype=dtype))
        return self.backend.asarray(host, self.dtype)
