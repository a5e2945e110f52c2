"""Sign-concordant feedback with fixed random magnitudes (Liao, Leibo & Poggio 2016; BioTorch's ``frsf``)."""

from ..fastpaths import ops
from ..network import backpropagate
from ..init import FEEDBACK_INITS
from ..options import Option
from .base import Rule


class FixedRandomMagnitudeSignConcordant(Rule):
    """``δ_{l-1} = (B_lᵀ δ_l) ⊙ f'(h_{l-1})`` with ``B_l = sign(W_l) ⊙ |R_l|``: the weights'
    signs, recomputed every step, times fixed random magnitudes ``|R_l|`` drawn once from the
    members' feedback streams (entries ``magnitudes`` × ``magnitude_scale``, as the feedback
    initialisers; ``pm1`` gives |R| = 1, which is sign symmetry)."""

    name = "frsf"
    provides = "deltas"
    options = {"magnitudes": Option("normal", "distribution of the random magnitudes |R_l|", choices=tuple(FEEDBACK_INITS)),
               "magnitude_scale": Option(1.0, "scale of the magnitudes: one value, or one per layer", per_layer=True)}
    summary = "sign-concordant feedback sign(W_l) ⊙ |R_l| with fixed random magnitudes"

    def __init__(self, backend, net, streams, dtype, **options):
        super().__init__(backend, net, streams, dtype, **options)
        self.magnitudes = self.draw_magnitudes()

    def draw_magnitudes(self) -> list:
        """``|R_l|`` of every layer's shape, one per member, from the feedback streams."""
        kind, scale = self.settings["magnitudes"], self.settings["magnitude_scale"]
        return [self.xp.abs(r) for r in self.draw_feedback(self.net.shapes, kind, scale)]

    def deltas(self, signal):
        carriers = [None] + self.feedback_of(signal.params, range(1, self.net.depth))  # B_1 carries nothing
        return backpropagate(self.xp, self.net, signal.cache, signal.e, carriers)

    def feedback_of(self, params, layers) -> list:
        """``B_l = sign(W_l) ⊙ |R_l|`` for each layer ``l`` in ``layers``."""
        return [ops(self.xp).sign_times(params.weights[l], self.magnitudes[l]) for l in layers]

    def weight_feedback(self, params):
        return self.feedback_of(params, range(self.net.depth))

    def state(self):
        return {f"magnitude{l + 1}": m for l, m in enumerate(self.magnitudes)}

    def load_state(self, arrays):
        self.magnitudes = [self.backend.asarray(arrays[f"magnitude{l + 1}"], self.dtype) for l in range(self.net.depth)]
