"""The learning-rule interface.

A rule sees one batch as a ``Signal`` (the weights, the forward cache, the output error
``e = ∂L/∂h_{L-1}`` and the targets ``y*``) and says in its class what it gives back:

- ``provides = "deltas"``: layer errors ``δ_l`` (``deltas``), whose updates are
  ``ΔW_l = δ_l x_lᵀ``, ``Δb_l = Σ_batch δ_l``. The loop then applies ``W ← W − η (δ xᵀ + λW)``
  as one fused GEMM and measures alignments from batch × batch Gram matrices, ΔW never
  formed. A rule whose update adds a weight-sized term (perturbed BP) returns ``steps``,
  each a ``LayerStep`` ``ΔW = δ xᵀ + c·u``, instead.
- ``provides = "updates"``: whole updates ``ΔW_l, Δb_l`` (``updates``), applied as they are.

``None`` leaves a layer alone. A rule may own state (fixed feedback drawn from each
member's ``feedback`` stream, of the shapes ``feedback_shapes`` names) and change it in
``after_step`` (Kolen-Pollack). Its options are declared as ``Option`` specs (``options``);
it receives them validated and canonical in ``settings`` (a per-member number as (R,)).
Adding a rule is adding one file in this package that subclasses ``Rule`` with a ``name``;
the registry finds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..init import FEEDBACK_INITS, feedback_sampler
from ..network import Cache, LayerStep, Network, Params, Update, forward, output_error, updates_from_steps
from ..options import Option, check_options, per_layer_values
from ..streams import Streams, draw

PROVIDES = ("deltas", "updates")


@dataclass(frozen=True)
class Signal:
    """What a rule receives for one batch: weights, forward cache, output error, targets."""

    params: Params
    cache: Cache
    e: Any
    targets: Any


@dataclass(frozen=True)
class Proposal:
    """A rule's answer to one batch: its factored ``steps`` (a rule that provides deltas) or
    its formed ``direct`` updates (one that provides updates); the other is None."""

    signal: Signal
    steps: list[LayerStep | None] | None
    direct: list[Update | None] | None

    def updates(self, xp, net: Network) -> list[Update | None]:
        """The per-layer updates ``ΔW_l, Δb_l`` either way (formed here from steps)."""
        return self.direct if self.steps is None else updates_from_steps(xp, self.signal.cache, self.steps, net.bias)


class Rule:
    name: ClassVar[str]
    provides: ClassVar[str]  # one of PROVIDES
    options: ClassVar[dict[str, Option]] = {}  # option name -> its declaration
    summary: ClassVar[str] = ""
    exact: ClassVar[bool] = False  # its deltas are BP's (the metrics then skip recomputing them)

    def __init__(self, backend, net: Network, streams: list[Streams], dtype: str, **options: Any) -> None:
        self.backend, self.xp, self.net, self.streams, self.dtype = backend, backend.xp, net, streams, dtype
        self.settings = check_options(f"rule {self.name!r}", self.options, options, len(streams))
        self.feedback: list[Any] = self.draw_feedback(self.feedback_shapes(net))

    def feedback_shapes(self, net: Network) -> list[tuple[int, int]]:
        """The shapes of the fixed feedback matrices drawn at the start (default: none)."""
        return []

    def deltas(self, signal: Signal) -> list[Any | None]:
        """(``provides = "deltas"``) the layer errors ``δ_l``, or None for a layer left alone."""
        raise NotImplementedError(f"rule {self.name!r} provides {self.provides}, not deltas")

    def steps(self, signal: Signal) -> list[LayerStep | None]:
        """(``provides = "deltas"``) the factored updates: each ``δ_l`` as ``ΔW = δ_l x_lᵀ``."""
        return [None if d is None else LayerStep(d) for d in self.deltas(signal)]

    def updates(self, signal: Signal) -> list[Update | None]:
        """(``provides = "updates"``) the whole updates ``ΔW_l, Δb_l``."""
        raise NotImplementedError(f"rule {self.name!r} provides {self.provides}, not updates")

    def weight_feedback(self, params: Params) -> list[Any] | None:
        """Per-layer matrices of ``W_l``'s shape for weight alignment ``cos(W_l, B_l)``, if any."""
        return None

    def after_step(self, proposal: Proposal, lr: float) -> None:
        """Change the rule's own state after the weights moved by ``proposal`` (default: nothing)."""

    def draw_feedback(self, shapes: list[tuple[int, int]], kind: str | None = None, scale: float | None = None) -> list[Any]:
        """One random matrix per shape and member, from the members' feedback streams: entries
        ``kind`` × ``scale`` (default: the ``feedback`` and ``feedback_scale`` options), a scale
        being one value or one per matrix (``per_layer_values``)."""
        if not shapes:  # a rule without feedback need not declare its options
            return []
        kind = self.settings["feedback"] if kind is None else kind
        scale = self.settings["feedback_scale"] if scale is None else scale
        scales = per_layer_values(scale, len(shapes), f"rule {self.name!r}: feedback_scale")
        return [self.backend.asarray(draw(self.streams, "feedback", feedback_sampler(kind, shape, s)), self.dtype)
                for shape, s in zip(shapes, scales)]

    def state(self) -> dict[str, Any]:
        """Arrays to checkpoint (device arrays, member axis first), by name."""
        return {f"feedback{l + 1}": f for l, f in enumerate(self.feedback)}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.feedback = [self.backend.asarray(arrays[f"feedback{l + 1}"], self.dtype) for l in range(len(self.feedback))]


def propose(rule: Rule, params: Params, x, targets, first=None, masks=None) -> Proposal:
    """Forward pass → output error → the rule: one batch's proposed update at ``params``
    (the one helper of ``train_step``, ``fullbatch.step``, ``diagnostics.stability`` and
    ``batch_updates``); ``first`` and dropout ``masks`` as in ``forward``."""
    xp, net = rule.xp, rule.net
    cache = forward(xp, net, params, x, first, masks)
    signal = Signal(params, cache, output_error(xp, net, cache, targets), targets)
    if rule.provides == "deltas":
        return Proposal(signal, rule.steps(signal), None)
    return Proposal(signal, None, rule.updates(signal))


FEEDBACK_OPTIONS = {
    "feedback": Option("pm1", "entries of the fixed feedback matrices", choices=tuple(FEEDBACK_INITS)),
    "feedback_scale": Option(1.0, "scale of the feedback entries: one value, or one per feedback matrix", per_layer=True),
}
