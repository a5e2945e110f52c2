"""Sign-concordant feedback with magnitudes redrawn every batch (Liao, Leibo & Poggio 2016; BioTorch's ``brsf``)."""

from ..options import per_layer_values
from .frsf import FixedRandomMagnitudeSignConcordant


class BatchwiseRandomMagnitudeSignConcordant(FixedRandomMagnitudeSignConcordant):
    """frSF whose magnitudes are redrawn after every update of W, i.e. every batch:
    ``B_l = sign(W_l) ⊙ |R_l^(t)|`` with a fresh ``R^(t)`` from the members' feedback streams.
    The magnitudes of the next batch are the rule's state (saved in checkpoints)."""

    name = "brsf"
    summary = "sign-concordant feedback sign(W_l) ⊙ |R_l| with magnitudes redrawn every batch"

    def after_step(self, proposal, lr):
        self.magnitudes = self.redraw_magnitudes()

    def redraw_magnitudes(self) -> list:
        """The next batch's ``|R_l|``: for ``normal`` magnitudes ``magnitude_scale`` × |N(0, 1)|
        from ``Backend.normal`` on the feedback streams (perturbed BP's generator: Box-Muller
        on raw PCG64 draws on the BLAS threads, cuRAND on a GPU, so nothing crosses the bus);
        other kinds as the first draw. The first ``|R|`` is frSF's host draw."""
        if self.settings["magnitudes"] != "normal":
            return self.draw_magnitudes()
        shapes = self.net.shapes
        scales = per_layer_values(self.settings["magnitude_scale"], len(shapes), f"rule {self.name!r}: magnitude_scale")
        return [scale * self.xp.abs(self.backend.normal(self.streams, "feedback", shape, self.dtype))
                for shape, scale in zip(shapes, scales)]

    def state(self):
        # the marker: a checkpoint of the old host redraws lacks it and refuses to resume
        return {**super().state(), "fast_magnitude_draws": self.xp.ones((len(self.streams),), dtype=self.xp.int8)}
