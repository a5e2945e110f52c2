"""Inverted dropout (Srivastava et al. 2014; Flux's ``Dropout``), in training only.

Hidden layer l's output becomes ``x_{l+1} = m_l ⊙ f(h_l)`` with ``m_l = [u > p_l] / (1 − p_l)``,
``u ~ U[0, 1)`` per unit and sample, member r's from its own ``dropout`` stream, so the
expected output is unchanged and evaluation uses the whole network. The mask sits in the
forward cache, and ``network.layer_error`` multiplies every δ by it (BP, FA, DFA and the rest
alike): the rules see the thinned network they trained.
"""

from __future__ import annotations

import numpy as np

from .streams import draw


def masks(backend, streams, rates: np.ndarray, sizes, batch: int, dtype: str) -> list | None:
    """Per hidden layer ``m_l`` (R, n_l, ``batch``), or None where ``p_l = 0``; None when no
    layer drops. ``rates``: ``Config.dropouts``; ``sizes``: the layer sizes."""
    if not np.any(rates):
        return None
    return [None if p == 0 else backend.asarray(draw(streams, "dropout", _sampler(p, n, batch)), dtype)
            for p, n in zip(rates, sizes[1:-1])]


def _sampler(p: float, units: int, batch: int):
    """One member's mask ``[u > p] / (1 − p)`` of (units, batch), Flux's ``_dropout_kernel``."""
    return lambda rng: (rng.random((units, batch)) > p) / (1.0 - p)
