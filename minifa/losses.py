"""Losses on the network output ``z`` (shape R × C × B) against targets ``y`` (C × B or R × C × B).

Each loss gives its value per member (shape R) and its *output error*
``dL/dz`` (shape R × C × B), the only thing a learning rule needs from it. Batch means follow
Flux's ``Flux.Losses`` (``agg = mean`` over the batch), so the error already carries the 1/B factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .errors import choose

CLASS_AXIS = -2


def _sum(xp, a):
    return xp.sum(a, axis=CLASS_AXIS, keepdims=True)


def softmax(xp, z):
    """NNlib ``softmax(z; dims=1)``: subtract the column max, exponentiate, normalise."""
    s = xp.exp(z - xp.max(z, axis=CLASS_AXIS, keepdims=True))
    return s / _sum(xp, s)


def logsoftmax(xp, z):
    """NNlib ``logsoftmax``: ``(z - max) - log(sum(exp(z - max)))``."""
    s = z - xp.max(z, axis=CLASS_AXIS, keepdims=True)
    return s - xp.log(_sum(xp, xp.exp(s)))


def _batch_mean(xp, per_sample):
    return xp.mean(per_sample[..., 0, :], axis=-1)


def _logitce_value(xp, z, y):
    """``Flux.logitcrossentropy(z, y) = mean(-sum(y .* logsoftmax(z); dims=1))``."""
    return _batch_mean(xp, -_sum(xp, y * logsoftmax(xp, z)))


def _logitce_error(xp, z, y):
    """``(softmax(z) ⊙ Σ_c y - y) / B``, i.e. ``(p - y)/B`` for one-hot ``y``."""
    return (softmax(xp, z) * _sum(xp, y) - y) / z.shape[-1]


def _xlogy_eps(xp, y, p):
    eps = xp.finfo(p.dtype).eps  # Flux's ϵ = eps(eltype), Float32 ≈ 1.19e-7
    return xp.where(y != 0.0, y * xp.log(p + eps), 0.0)


def _softmax_ce_value(xp, z, y):
    """``Flux.crossentropy(softmax(z), y) = mean(-sum(xlogy.(y, p .+ ϵ); dims=1))``."""
    return _batch_mean(xp, -_sum(xp, _xlogy_eps(xp, y, softmax(xp, z))))


def _softmax_ce_error(xp, z, y):
    """Chain rule through Flux's ϵ and NNlib's softmax pullback ``dz = p⊙dp - p Σ(dp⊙p)``,
    with ``dp = -y/(p+ϵ)/B``. For one-hot y this is ``(p - y) p_c/(p_c+ϵ)/B``: it vanishes
    when the true class's probability underflows (Chu & Bacho, appendix A.2)."""
    p = softmax(xp, z)
    eps = xp.finfo(p.dtype).eps
    dp = -y / ((p + eps) * z.shape[-1])
    return p * dp - p * _sum(xp, dp * p)


def _all_mean(xp, a):
    return xp.mean(xp.reshape(a, (a.shape[0], -1)), axis=-1)


def _mse_value(xp, z, y):
    """``Flux.mse(z, y) = mean(abs2.(z - y))`` over all C·B entries (Song et al.'s code, MSELoss)."""
    d = z - y
    return _all_mean(xp, d * d)


def _mse_error(xp, z, y):
    return 2.0 * (z - y) / (z.shape[-1] * z.shape[-2])


def _half_sse_value(xp, z, y):
    """Song et al.'s theory loss ``½ Σ_i e_i²`` (a sum, not a mean). Gradient descent on it at
    step η, decay λ equals ``mse`` at η = nη'/2, λ = 2λ'/n for n samples and one output,
    i.e. code (η, λ) = paper (2η/n, nλ/2) (the Song et al. methods notes, section 1)."""
    d = z - y
    return 0.5 * xp.sum(xp.reshape(d * d, (d.shape[0], -1)), axis=-1)


def _half_sse_error(xp, z, y):
    return z - y


def sigmoid(xp, z):
    """NNlib ``sigmoid``: ``1/(1 + e^{−z})`` from ``t = e^{−|z|}`` (never overflows)."""
    t = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1.0 / (1.0 + t), t / (1.0 + t))


def _bce_value(xp, z, y):
    """``Flux.binarycrossentropy(σ(z), y) = mean(−xlogy.(y, p .+ ϵ) − xlogy.(1 .− y, 1 .− p .+ ϵ))``
    over all C·B entries (sigmoid outputs, Nøkland 2016), ϵ = eps(eltype)."""
    p = sigmoid(xp, z)
    return _all_mean(xp, -_xlogy_eps(xp, y, p) - _xlogy_eps(xp, 1.0 - y, 1.0 - p))


def _bce_error(xp, z, y):
    """Chain rule through Flux's ϵ: ``σ'(z) ((1 − y)/(1 − p + ϵ) − y/(p + ϵ)) / (C·B)``, with
    ``σ' = p (1 − p)``; ``(p − y)/(C·B)`` as ϵ → 0."""
    p = sigmoid(xp, z)
    eps = xp.finfo(p.dtype).eps
    return p * (1.0 - p) * ((1.0 - y) / (1.0 - p + eps) - y / (p + eps)) / (z.shape[-1] * z.shape[-2])


def _logit_bce_value(xp, z, y):
    """``Flux.logitbinarycrossentropy(z, y) = mean((1 − y) z − logσ(z))``, ``−logσ(z) = softplus(−z)``."""
    softplus = xp.maximum(-z, 0.0) + xp.log1p(xp.exp(-xp.abs(z)))
    return _all_mean(xp, (1.0 - y) * z + softplus)


def _logit_bce_error(xp, z, y):
    return (sigmoid(xp, z) - y) / (z.shape[-1] * z.shape[-2])


def _logistic_half_sse_value(xp, z, y):
    """Lillicrap et al.'s logistic output units under ½ Σ eᵀe: ``e = σ(z) − y``, summed over
    the batch as ``half-sse`` (σ applied here, so the network's last layer stays linear)."""
    return _half_sse_value(xp, sigmoid(xp, z), y)


def _logistic_half_sse_error(xp, z, y):
    """``(σ(z) − y) ⊙ σ(z)(1 − σ(z))``."""
    p = sigmoid(xp, z)
    return (p - y) * p * (1.0 - p)


@dataclass(frozen=True)
class Loss:
    name: str
    value: Callable[[Any, Any, Any], Any]  # (xp, z, y) -> per-member loss, shape (R,)
    error: Callable[[Any, Any, Any], Any]  # (xp, z, y) -> dL/dz, shape of z
    classifies: bool  # whether accuracy (argmax over classes) is meaningful


LOSSES = {
    l.name: l
    for l in (
        Loss("softmax-crossentropy", _softmax_ce_value, _softmax_ce_error, True),
        Loss("logitcrossentropy", _logitce_value, _logitce_error, True),
        Loss("mse", _mse_value, _mse_error, False),
        Loss("half-sse", _half_sse_value, _half_sse_error, False),
        Loss("logistic-half-sse", _logistic_half_sse_value, _logistic_half_sse_error, True),
        Loss("binarycrossentropy", _bce_value, _bce_error, True),
        Loss("logitbinarycrossentropy", _logit_bce_value, _logit_bce_error, True),
    )
}


def get_loss(name: str) -> Loss:
    return choose("loss", name, LOSSES)


def accuracy(xp, z, labels):
    """Fraction of columns whose argmax (Flux ``onecold``) equals the label; shape (R,)."""
    hits = xp.argmax(z, axis=CLASS_AXIS) == labels
    return xp.mean(xp.astype(hits, z.dtype), axis=-1)
