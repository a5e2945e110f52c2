"""Only the output layer learns (Chu & Bacho, Figure 3's red reference line)."""

from .base import Rule


class LastLayerOnly(Rule):
    """``ΔW_{L-1} = e x_{L-1}ᵀ``; hidden layers never change (their update is ``None``)."""

    name = "last-layer"
    provides = "deltas"
    summary = "train the output layer only; hidden layers stay at their initial values"

    def deltas(self, signal):
        return [None] * (self.net.depth - 1) + [signal.e]
