"""Sign symmetry (Liao, Leibo & Poggio 2016): feedback ``B_l = sign(W_l)``, recomputed every step."""

from ..network import backpropagate
from .base import Rule


class SignSymmetry(Rule):
    """``δ_{l-1} = (sign(W_l)ᵀ δ_l) ⊙ f'(h_{l-1})``: the weights' signs, not their magnitudes."""

    name = "sign-symmetry"
    provides = "deltas"
    summary = "feedback through sign(W_l)"

    def deltas(self, signal):
        return backpropagate(self.xp, self.net, signal.cache, signal.e, self.weight_feedback(signal.params))

    def weight_feedback(self, params):
        return [self.xp.sign(w) for w in params.weights]
