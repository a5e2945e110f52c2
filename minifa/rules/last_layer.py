"""Only the output layer learns (Chu & Bacho, Figure 3's red reference line)."""

from ..network import layer_update
from .base import Rule


class LastLayerOnly(Rule):
    """``ΔW_{L-1} = e x_{L-1}ᵀ``; hidden layers never change (their update is ``None``)."""

    name = "last-layer"
    summary = "train the output layer only; hidden layers stay at their initial values"

    def updates(self, params, cache, e):
        last = self.net.depth - 1
        return [None] * last + [layer_update(self.xp, cache, last, e, self.net.bias)]
