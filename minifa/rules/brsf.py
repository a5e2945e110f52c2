"""Sign-concordant feedback with magnitudes redrawn every batch (Liao, Leibo & Poggio 2016; BioTorch's ``brsf``)."""

from .frsf import FixedRandomMagnitudeSignConcordant


class BatchwiseRandomMagnitudeSignConcordant(FixedRandomMagnitudeSignConcordant):
    """frSF whose magnitudes are redrawn after every update of W, i.e. every batch:
    ``B_l = sign(W_l) ⊙ |R_l^(t)|`` with a fresh ``R^(t)`` from the members' feedback streams.
    The magnitudes of the next batch are the rule's state (saved in checkpoints)."""

    name = "brsf"
    summary = "sign-concordant feedback sign(W_l) ⊙ |R_l| with magnitudes redrawn every batch"

    def after_step(self, proposal, lr):
        self.magnitudes = self.draw_magnitudes()
