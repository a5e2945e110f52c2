"""Direct random target projection (Frenkel, Lefebvre & Bol 2021)."""

from .dfa import DirectFeedbackAlignment


class DirectRandomTargetProjection(DirectFeedbackAlignment):
    """Every hidden layer learns from the *target* alone, projected by a fixed random ``R_l``
    (n_l × n_out): ``δ_l = (R_l y*) ⊙ f'(h_l) / B``; the output layer uses its error ``δ = e``.

    Sign and scale as the paper's per-example rule ``δy_k = B_kᵀ y* ⊙ f'_k(h_k)`` (the
    reference code's sign: ``W ← W − η δ xᵀ``), averaged over the batch of ``B`` samples like
    the loss, so hidden and output layers keep the paper's per-example ratio. The authors'
    PyTorch hook sums the hidden signal over the batch instead (a factor ``B``, immaterial
    under their Adam; here it would multiply the hidden learning rate by ``B``). Their
    ``R_l`` is Kaiming-uniform; here it is ``feedback`` × ``feedback_scale`` as for DFA."""

    name = "drtp"
    summary = "direct random target projection: the targets sent to every hidden layer by R_l"

    def hidden_signal(self, r, signal):
        """``R_l y* / B``."""
        return (r @ signal.targets) * (1.0 / signal.targets.shape[-1])
