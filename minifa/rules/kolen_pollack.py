"""Kolen-Pollack learning (Kolen & Pollack 1994; Akrout et al. 2019)."""

from ..fastpaths import ops
from ..options import Option
from .base import FEEDBACK_OPTIONS
from .fa import FeedbackAlignment


class KolenPollack(FeedbackAlignment):
    """FA whose feedback learns too: after each step ``B_l ← B_l − η (δ_l x_lᵀ + λ B_l)``, the
    same update as ``W_l`` (B has W's shape here), as one fused GEMM like W's. With decay
    λ > 0 on both (set ``weight_decay`` for W), ``W_l − B_l`` shrinks by ``(1 − ηλ)`` per step, so B
    converges to W."""

    name = "kolen-pollack"
    options = {**FEEDBACK_OPTIONS, "decay": Option(0.0, "decay λ of B (a negative one grows B without bound)", min=0,
                                                   example=0.1)}
    summary = "FA whose B_l receives W_l's update (B converges to W with decay)"

    def after_step(self, proposal, lr):
        fast, decay, inputs = ops(self.xp), float(self.settings["decay"]), proposal.signal.cache.inputs
        for l, step in enumerate(proposal.steps):
            if step is not None:
                self.feedback[l] = fast.gemm_update(self.feedback[l], step.delta, inputs[l], lr, decay)
