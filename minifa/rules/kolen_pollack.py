"""Kolen-Pollack learning (Kolen & Pollack 1994; Akrout et al. 2019)."""

from ..fastpaths import descend
from .base import FEEDBACK_OPTIONS
from .fa import FeedbackAlignment


class KolenPollack(FeedbackAlignment):
    """FA whose feedback learns too: after each step ``B_l ← B_l − η (ΔW_l + λ B_l)``, the same
    update as ``W_l`` (B has W's shape here). With decay λ > 0 on both (set ``l2`` for W),
    ``W_l − B_l`` shrinks by ``(1 − ηλ)`` per step, so B converges to W."""

    name = "kolen-pollack"
    options = {**FEEDBACK_OPTIONS, "decay": 0.0}
    summary = "FA whose B_l receives W_l's update (B converges to W with decay)"

    def after_step(self, params, updates, lr):
        decay = float(self.settings["decay"])
        for l, update in enumerate(updates):
            if update is not None:
                self.feedback[l] = descend(self.feedback[l], update.weight, lr, decay)
