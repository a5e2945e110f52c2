"""Gradient-perturbed BP at an exact target alignment (Chu & Bacho 2024, Figure 3)."""

from __future__ import annotations

import numpy as np

from ..metrics import inner, update_products
from ..network import LayerStep, backpropagate
from ..options import Option
from .base import Rule


class PerturbedBackprop(Rule):
    """Output layer exact; each hidden layer's BP gradient ``g`` becomes
    ``g' = ‖g‖ (a ĝ + √(1−a²) û) = a g + √(1−a²) ‖g‖ û``, with ``û`` a fresh Gaussian
    direction ``u``, made orthogonal to ``g`` and normalised, at every step. Hence
    ``cos(g', g) = a`` and ``‖g'‖ = ‖g‖`` exactly; ``a = 1`` is BP, ``a = 0`` a random walk
    with BP's step length. ``alignment`` may be one value or one per member. ``joint``
    treats a layer's weights and bias as one flattened vector (default: apart).

    ``g`` is never formed: with ``⟨u, ĝ⟩ = ⟨u, g⟩/‖g‖``,
    ``g' = s g + c u``, ``c = √(1−a²) ‖g‖ / √(‖u‖² − ⟨u, ĝ⟩²)``, ``s = a − c ⟨u, g⟩/‖g‖²``,
    and for ``g = δ xᵀ``: ``‖g‖²`` from batch × batch Gram matrices, ``⟨u, g⟩ = Σ δ ⊙ (u x)``
    from one product. The step is ``LayerStep(s δ, u, c)``: the fused GEMM plus one axpy."""

    name = "perturbed"
    provides = "deltas"
    options = {"alignment": Option(1.0, "target cosine a of each hidden update with BP's", within=(-1, 1), per_member=True,
                                   example=0.5),
               "joint": Option(False, "turn a layer's weights and bias as one vector")}
    summary = "BP with each hidden gradient turned to an exact cosine `alignment` with the true one"

    def __init__(self, backend, net, streams, dtype, **options):
        super().__init__(backend, net, streams, dtype, **options)
        a = self.settings["alignment"]  # (R,), within [-1, 1]
        self.parallel = backend.asarray(a, dtype)
        self.orthogonal = backend.asarray(np.sqrt(1.0 - a * a), dtype)

    def steps(self, signal):
        cache = signal.cache
        true = backpropagate(self.xp, self.net, cache, signal.e, signal.params.weights)
        return [self._turn(cache.inputs[l], d) for l, d in enumerate(true[:-1])] + [LayerStep(true[-1])]

    def _turn(self, x, delta) -> LayerStep:
        """One hidden layer: ``g = (δ xᵀ, Σ_batch δ)`` turned, weights and bias apart or joint."""
        xp = self.xp
        u = self._direction(delta.shape[-2], x.shape[-2])
        gg, _, _ = update_products(xp, x, delta, delta)
        weight = (gg, inner(xp, delta, u @ x), inner(xp, u, u))  # ⟨g,g⟩, ⟨u,g⟩, ⟨u,u⟩
        if not self.net.bias:
            s, c = self._coefficients(*weight)
            return LayerStep(s * delta, u, c)
        g_b, u_b = xp.sum(delta, axis=-1, keepdims=True), self._direction(delta.shape[-2], 1)
        bias = (inner(xp, g_b, g_b), inner(xp, u_b, g_b), inner(xp, u_b, u_b))
        if self.settings["joint"]:
            s, c = self._coefficients(*(w + b for w, b in zip(weight, bias)))
            s_b, c_b = s, c
        else:
            (s, c), (s_b, c_b) = self._coefficients(*weight), self._coefficients(*bias)
        return LayerStep(s * delta, u, c, s_b * g_b + c_b * u_b)

    def _coefficients(self, gg, ug, uu):
        """``(s, c)`` (each (R, 1, 1)) of ``g' = s g + c u`` from ``⟨g,g⟩, ⟨u,g⟩, ⟨u,u⟩`` (R,);
        ``g = 0`` gives ``g' = 0``."""
        xp = self.xp
        ok = gg > 0.0
        along = xp.where(ok, ug / xp.where(ok, gg, 1.0), 0.0)  # ⟨u, ĝ⟩ / ‖g‖
        c = self.orthogonal * xp.sqrt(gg) / xp.sqrt(uu - along * ug)
        s = self.parallel - c * along
        return xp.reshape(s, (-1, 1, 1)), xp.reshape(c, (-1, 1, 1))

    def _direction(self, rows: int, cols: int):
        """A fresh Gaussian ``u`` (R, rows, cols), member r's from its perturbation stream."""
        return self.backend.normal(self.streams, "perturbation", (rows, cols), self.dtype)
