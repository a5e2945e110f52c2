"""The learning-rule interface.

A rule is a small object that turns (forward cache, output error ``e``) into per-layer
updates ``ΔW_l, Δb_l`` (``None`` for a layer it leaves alone). The training loop subtracts
``η · update``; it never knows which rule it runs. A rule may own state (fixed feedback
matrices, drawn on the host from each member's ``feedback`` stream) and may change it after
a step (Kolen-Pollack). Adding a rule is adding one file in this package that subclasses
``Rule`` with a ``name``; the registry finds it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..init import feedback_sampler
from ..network import Cache, Network, Params, Update, updates_from_deltas
from ..streams import Streams, draw


class Rule:
    name: ClassVar[str]
    options: ClassVar[dict[str, Any]] = {}  # option name -> default
    summary: ClassVar[str] = ""
    exact: ClassVar[bool] = False  # its deltas are BP's (the metrics then skip recomputing them)

    def __init__(self, backend, net: Network, streams: list[Streams], dtype: str, **options: Any) -> None:
        self.backend, self.xp, self.net, self.streams, self.dtype = backend, backend.xp, net, streams, dtype
        self.settings = {**self.options, **options}
        self.feedback: list[Any] = []

    def deltas(self, params: Params, cache: Cache, e) -> list[Any | None] | None:
        """The layer errors ``δ_l`` whose updates are ``ΔW_l = δ_l x_lᵀ``, ``Δb_l = Σ_batch δ_l``
        (``None`` for a layer left alone), or None when the rule's updates have no such form.

        A rule that defines this gets ``updates`` for free, and the training loop can apply
        ``W ← W − η δ xᵀ`` without forming ΔW and measure its alignments from batch × batch
        Gram matrices (``metrics.factored_alignment``)."""
        return None

    def updates(self, params: Params, cache: Cache, e) -> list[Update | None]:
        deltas = self.deltas(params, cache, e)
        if deltas is None:
            raise NotImplementedError(f"rule {self.name!r} defines neither updates nor deltas")
        return updates_from_deltas(self.xp, self.net, cache, deltas)

    def factored(self) -> bool:
        """Whether ``updates`` are exactly the ones ``deltas`` describe (a subclass that
        overrides ``updates`` is trusted over its inherited ``deltas``)."""
        return type(self).updates is Rule.updates and type(self).deltas is not Rule.deltas

    def weight_feedback(self, params: Params) -> list[Any] | None:
        """Per-layer matrices of ``W_l``'s shape for weight alignment ``cos(W_l, B_l)``, if any."""
        return None

    def after_step(self, params: Params, updates: list[Update | None], lr: float) -> None:
        """Change the rule's own state after the weights moved (default: nothing)."""

    def draw_feedback(self, shapes: list[tuple[int, int]]) -> list[Any]:
        """One fixed random matrix per shape and member, from the members' feedback streams."""
        kind, scale = self.settings["feedback"], float(self.settings["feedback_scale"])
        return [
            self.backend.asarray(draw(self.streams, "feedback", feedback_sampler(kind, shape, scale)), self.dtype)
            for shape in shapes
        ]

    def state(self) -> dict[str, Any]:
        """Arrays to checkpoint (device arrays), by name."""
        return {f"feedback{l + 1}": f for l, f in enumerate(self.feedback)}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.feedback = [self.backend.asarray(arrays[f"feedback{l + 1}"], self.dtype) for l in range(len(self.feedback))]


FEEDBACK_OPTIONS = {"feedback": "pm1", "feedback_scale": 1.0}
