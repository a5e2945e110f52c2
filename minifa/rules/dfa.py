"""Direct feedback alignment (Nøkland 2016; Chu & Bacho 2024, eq. 6)."""

from ..network import direct_deltas
from .base import FEEDBACK_OPTIONS, Rule


class DirectFeedbackAlignment(Rule):
    """Every hidden layer receives the output error directly: ``δ_l = (R_l e) ⊙ f'(h_l)``,
    ``R_l`` fixed random of shape n_l × n_out; the output layer uses ``δ = e``. What ``R_l``
    carries is ``hidden_signal`` (DRTP sends the targets instead)."""

    name = "dfa"
    provides = "deltas"
    options = dict(FEEDBACK_OPTIONS)
    summary = "direct feedback alignment: output error sent to every hidden layer by R_l"

    def feedback_shapes(self, net):
        return [(n, net.sizes[-1]) for n in net.sizes[1:-1]]

    def hidden_signal(self, r, signal):
        """``R_l e``: what hidden layer l receives before ``⊙ f'(h_l)``."""
        return r @ signal.e

    def deltas(self, signal):
        signals = [self.hidden_signal(r, signal) for r in self.feedback]
        return direct_deltas(self.xp, self.net, signal.cache, signal.e, signals)
