"""Measurements of Chu & Bacho, section 2.1.1, all per ensemble member.

The *alignment measure* of two arrays is the cosine of their flattened versions: 1 parallel,
0 orthogonal, -1 antiparallel. *Weight alignment* of layer l is ``cos(W_l, B_l)``; *gradient
alignment* is ``cos(ΔW_l^rule, ΔW_l^BP)``, both updates computed on the same minibatch at the
same weights from the same forward pass. Undefined cosines (a zero array) are NaN.
"""

from __future__ import annotations

import math
from typing import Any

from .losses import accuracy, get_loss
from .network import Cache, Network, Params, Update, forward


def inner(xp, a, b):
    """``⟨a, b⟩`` over all but the ensemble axis, shape (R,): one ``vecdot`` pass over the
    flattened arrays, no ``a * b`` temporary (a weight-sized one, for weight alignment)."""
    return xp.vecdot(xp.reshape(a, (a.shape[0], -1)), xp.reshape(b, (b.shape[0], -1)))


def _cos(xp, ab, aa, bb, undefined=math.nan):
    """``ab / √(aa bb)``, and ``undefined`` where a norm is 0."""
    den = xp.sqrt(aa * bb)
    ok = den > 0.0
    return xp.where(ok, ab / xp.where(ok, den, 1.0), undefined)


def cosine(xp, a, b):
    """``⟨a, b⟩ / (‖a‖ ‖b‖)`` over all but the ensemble axis; shape (R,)."""
    return _cos(xp, inner(xp, a, b), inner(xp, a, a), inner(xp, b, b))


def _stack_layers(xp, columns: list[Any], members: int, dtype):
    """(R, L) from per-layer (R,) arrays; a missing layer becomes NaN."""
    filled = [c if c is not None else xp.full((members,), math.nan, dtype=dtype) for c in columns]
    return xp.stack(filled, axis=1)


def weight_alignment(xp, params: Params, feedback: list[Any] | None):
    """``cos(W_l, B_l)`` for every layer, shape (R, L); None when the rule has no such B."""
    if feedback is None:
        return None
    return xp.stack([cosine(xp, w, b) for w, b in zip(params.weights, feedback)], axis=1)


def gradient_alignment(xp, updates: list[Update | None], true: list[Update], dtype):
    """``cos(ΔW_l, ∇W_l)`` per layer, shape (R, L); NaN for a layer the rule does not update."""
    cols = [None if u is None else cosine(xp, u.weight, t.weight) for u, t in zip(updates, true)]
    return _stack_layers(xp, cols, true[0].weight.shape[0], dtype)


def signal_alignment(xp, e, feedback, weight):
    """Song et al.'s MNIST "alignment": the batch mean over samples i of
    ``cos(B_Lᵀ e_i, W_Lᵀ e_i)``, the FA and BP error signals the output layer sends down
    (before the activation's derivative); shape (R,).

    The hidden-sized signals are never formed: ``⟨Bᵀe_i, Wᵀe_i⟩ = e_iᵀ (B Wᵀ) e_i``, and so
    for the norms, with out × out Gram matrices (10 × 10 for MNIST)."""
    def quadratic(a, b):  # e_iᵀ (a bᵀ) e_i for every sample i
        return xp.sum(e * ((a @ xp.matrix_transpose(b)) @ e), axis=-2)

    dot, fa2, bp2 = quadratic(feedback, weight), quadratic(feedback, feedback), quadratic(weight, weight)
    return xp.mean(_cos(xp, dot, fa2, bp2, 0.0), axis=-1)


def delta_alignment(xp, deltas: list[Any | None], true: list[Any], dtype):
    """Refinetti et al.'s code's layer "gradient alignment": per layer, the batch mean over
    samples i of ``cos(δ_l,i, δ^BP_l,i)``, the rule's and BP's backward signals at the
    layer's pre-activation; shape (R, L), NaN for a layer without a delta. A sample whose
    two signals are both zero (every unit off) counts 1 and one zero signal counts 0, as in
    their code."""
    members = true[-1].shape[0]
    cols = []
    for d, b in zip(deltas, true):
        if d is None:
            cols.append(None)
            continue
        ab, aa, bb = (xp.sum(u * v, axis=-2) for u, v in ((d, b), (d, d), (b, b)))  # (R, batch) each
        both_zero = (aa == 0.0) & (bb == 0.0)
        cos = xp.where(both_zero, xp.ones_like(ab), _cos(xp, ab, aa, bb, 0.0))
        cols.append(xp.mean(cos, axis=-1))
    return _stack_layers(xp, cols, members, dtype)


def abs_angle(xp, cos):
    """``arccos |cos|`` in degrees, in [0°, 90°]: an angle between directions that ignores
    sign, as Lillicrap et al.'s ∠ (their angles use |aᵀb|)."""
    return xp.acos(xp.minimum(xp.abs(cos), 1.0)) * (180.0 / math.pi)


def hidden_update_angles(xp, e, feedback, weight) -> dict[str, Any]:
    """Lillicrap et al.'s Figs. 2 and 4: the angle (``abs_angle``) of FA's hidden update
    ``Δh_FA = Bᵀe`` to BP's ``Δh_BP = Wᵀe`` (key ``bp``) and to pseudobackprop's
    ``Δh_PBP = W⁺e`` (key ``pinv``, W⁺ the Moore-Penrose pseudo-inverse), for the output
    layer's W and its feedback B (both out × in) and the output error e (R, out, B); one
    angle per member over the batch's updates flattened (per update at batch 1), (R,).
    With one sample ``bp`` is also ``abs_angle`` of the hidden layer's gradient alignment:
    ``⟨a xᵀ, b xᵀ⟩ = aᵀb ‖x‖²``."""
    fa = xp.matrix_transpose(feedback) @ e
    bp = xp.matrix_transpose(weight) @ e
    pinv = xp.linalg.pinv(weight) @ e
    return {"bp": abs_angle(xp, cosine(xp, fa, bp)), "pinv": abs_angle(xp, cosine(xp, fa, pinv))}


def _gram_pays(x, delta, products: int) -> bool:
    """Whether Gram matrices beat forming the update(s): flops ~2B²n (the input Gram,
    counted twice: its small-output GEMM runs at half speed) + 2k·out·B² against 2k·out·n·B."""
    (n, batch), out = x.shape[-2:], delta.shape[-2]
    return 2 * batch * n + products * out * batch < products * out * n


def update_products(xp, x, a, b):
    """``(‖ΔA‖², ‖ΔB‖², ⟨ΔA, ΔB⟩)`` of the updates ``ΔA = a xᵀ`` and ``ΔB = b xᵀ`` (R each),
    without forming them where that is cheaper: ``⟨a xᵀ, b xᵀ⟩_F = tr(aᵀ b · xᵀx) =
    Σ a ⊙ (b G)`` with the batch × batch Gram ``G = xᵀx``. ``a is b`` computes one norm."""
    same = a is b
    if _gram_pays(x, a, 1 if same else 2):
        gram = xp.matrix_transpose(x) @ x
        pa = a @ gram
        pb = pa if same else b @ gram
        aa = inner(xp, a, pa)
        if same:
            return aa, aa, aa
        return aa, inner(xp, b, pb), inner(xp, a, pb)
    ua = a @ xp.matrix_transpose(x)
    aa = inner(xp, ua, ua)
    if same:
        return aa, aa, aa
    ub = b @ xp.matrix_transpose(x)
    return aa, inner(xp, ub, ub), inner(xp, ua, ub)


def factored_alignment(xp, inputs: list[Any], steps: list[Any | None], true: list[Any], dtype):
    """``gradient_alignment`` and ``update_norms`` (each (R, L)) from factored updates: the
    rule's ``LayerStep`` ``ΔW_l = δ_l x_lᵀ (+ c u_l)`` and BP's ``δ_l``, ΔW never formed (see
    ``update_products``). An additive term enters through ``u x``, one product:
    ``‖ΔW‖² = ‖δxᵀ‖² + 2c Σ δ ⊙ (u x) + c²‖u‖²`` and ``⟨ΔW, ∇⟩ = ⟨δxᵀ, ∇⟩ + c Σ δ_BP ⊙ (u x)``."""
    members = true[-1].shape[0]
    cols, norms = [], []
    for x, step, b in zip(inputs, steps, true):
        if step is None:
            cols.append(None)
            norms.append(xp.zeros((members,), dtype=dtype))
            continue
        aa, bb, ab = update_products(xp, x, step.delta, b)
        if step.extra is not None:
            ux, c = step.extra @ x, xp.reshape(step.scale, (-1,))
            aa = aa + 2.0 * c * inner(xp, step.delta, ux) + c * c * inner(xp, step.extra, step.extra)
            ab = ab + c * inner(xp, b, ux)
        aa = xp.maximum(aa, xp.zeros_like(aa))  # a Gram sum of a zero update may round below 0
        cols.append(_cos(xp, ab, aa, xp.maximum(bb, xp.zeros_like(bb))))
        norms.append(xp.sqrt(aa))
    return _stack_layers(xp, cols, members, dtype), xp.stack(norms, axis=1)


def update_norms(xp, updates: list[Update | None], members: int, dtype):
    """Frobenius norm of each layer's weight update ``‖ΔW_l‖``, shape (R, L); 0 if frozen."""
    cols = [xp.zeros((members,), dtype=dtype) if u is None else xp.sqrt(inner(xp, u.weight, u.weight)) for u in updates]
    return xp.stack(cols, axis=1)


def batch_loss(xp, net: Network, cache: Cache, targets):
    return get_loss(net.loss).value(xp, cache.output, targets)


def evaluate(xp, net: Network, params: Params, x, targets, labels, chunk: int = 2000) -> dict[str, Any]:
    """Mean loss and accuracy (NaN for regression) on a whole set, in chunks of samples."""
    n = x.shape[-1]
    loss, hits = 0.0, 0.0
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        cache = forward(xp, net, params, x[..., start:stop])
        weight = (stop - start) / n
        loss = loss + weight * batch_loss(xp, net, cache, targets[..., start:stop])
        if labels is not None:
            hits = hits + weight * accuracy(xp, cache.output, labels[..., start:stop])
    if labels is None:
        hits = xp.full(loss.shape, math.nan, dtype=loss.dtype)
    return {"loss": loss, "accuracy": hits}
