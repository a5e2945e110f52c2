"""Backpropagation: the error travels down through the forward weights themselves."""

from ..network import backpropagate
from .base import Rule


class Backprop(Rule):
    """``δ_{l-1} = (W_lᵀ δ_l) ⊙ f'(h_{l-1})``, ``ΔW_l = δ_l x_lᵀ``: the exact gradient."""

    name = "bp"
    summary = "backpropagation (exact gradient)"
    provides = "deltas"
    exact = True

    def deltas(self, signal):
        return backpropagate(self.xp, self.net, signal.cache, signal.e, signal.params.weights)
