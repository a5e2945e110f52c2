"""Feedback alignment (Lillicrap et al. 2016; Chu & Bacho 2024, eq. 3)."""

from ..network import backpropagate
from .base import FEEDBACK_OPTIONS, Rule


class FeedbackAlignment(Rule):
    """``δ_{l-1} = (B_lᵀ δ_l) ⊙ f'(h_{l-1})`` with a fixed random ``B_l`` of ``W_l``'s shape.

    Every layer gets a ``B_l``, the first included: it never carries an error, but weight
    alignment ``cos(W_l, B_l)`` and Figure 4's weights-from-feedback need it."""

    name = "fa"
    provides = "deltas"
    options = dict(FEEDBACK_OPTIONS)
    summary = "feedback alignment: fixed random B_l in place of W_l"

    def feedback_shapes(self, net):
        return net.shapes

    def deltas(self, signal):
        return backpropagate(self.xp, self.net, signal.cache, signal.e, self.feedback)

    def weight_feedback(self, params):
        return self.feedback
