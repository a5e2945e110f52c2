"""Backpropagation: the error travels down through the forward weights themselves."""

from ..network import gradient
from .base import Rule


class Backprop(Rule):
    """``δ_{l-1} = (W_lᵀ δ_l) ⊙ f'(h_{l-1})``, ``ΔW_l = δ_l x_lᵀ``: the exact gradient."""

    name = "bp"
    summary = "backpropagation (exact gradient)"

    def updates(self, params, cache, e):
        return gradient(self.xp, self.net, params, cache, e)
