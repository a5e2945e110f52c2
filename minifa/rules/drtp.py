"""Direct random target projection (Frenkel, Lefebvre & Bol 2021)."""

from ..activations import get_activation
from ..network import layer_error
from .base import FEEDBACK_OPTIONS, Rule


class DirectRandomTargetProjection(Rule):
    """Every hidden layer learns from the *target* alone, projected by a fixed random ``R_l``
    (n_l × n_out): ``δ_l = (R_l y*) ⊙ f'(h_l) / B``; the output layer uses its error ``δ = e``.

    Sign and scale as the paper's per-example rule ``δy_k = B_kᵀ y* ⊙ f'_k(h_k)`` (the
    reference code's sign: ``W ← W − η δ xᵀ``), averaged over the batch of ``B`` samples like
    the loss, so hidden and output layers keep the paper's per-example ratio. The authors'
    PyTorch hook sums the hidden signal over the batch instead (a factor ``B``, immaterial
    under their Adam; here it would multiply the hidden learning rate by ``B``). Their
    ``R_l`` is Kaiming-uniform; here it is ``feedback`` × ``feedback_scale`` as for DFA."""

    name = "drtp"
    provides = "deltas"
    options = dict(FEEDBACK_OPTIONS)
    summary = "direct random target projection: the targets sent to every hidden layer by R_l"

    def __init__(self, backend, net, streams, dtype, **options):
        super().__init__(backend, net, streams, dtype, **options)
        self.feedback = self.draw_feedback([(n, net.sizes[-1]) for n in net.sizes[1:-1]])

    def deltas(self, signal):
        act, cache, targets = get_activation(self.net.activation), signal.cache, signal.targets
        per_sample = 1.0 / targets.shape[-1]
        hidden = [layer_error(self.xp, act, (r @ targets) * per_sample, cache.pre[l], cache.inputs[l + 1])
                  for l, r in enumerate(self.feedback)]
        return hidden + [signal.e]
