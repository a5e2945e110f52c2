"""A Flux-style multilayer perceptron on an ensemble axis: forward pass and backward pass.

Layer l (0-based here) has ``W[l]`` of shape (R, out, in), bias ``b[l]`` of shape (R, out, 1)
or none, pre-activation ``h_l = W_l x_l + b_l`` and output ``x_{l+1} = f(h_l)``; the last layer
is linear and the network output is ``z = output_scale · h_{L-1}``. Activations are
features × batch, so a batch ``x`` is (in, B) when members share it or (R, in, B) when each
member sees its own. R independent networks run in one pass through batched matmul.

The backward pass is written once, with a pluggable *feedback path*: ``backpropagate`` takes
for each layer the matrix that carries the error down through it (``W_l`` for BP, a fixed
random ``B_l`` for FA, Chu & Bacho eq. 3) and returns the layer errors ``δ_l``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np

from .activations import get_activation
from .fastpaths import descend, ops
from .errors import ConfigError
from .init import bias_sampler, weight_sampler
from .layers import chain as layered
from .losses import get_loss
from .streams import Streams


@dataclass(frozen=True)
class Network:
    """The architecture: layer sizes, hidden activation, loss, biases and output scale.

    Song, Xu & Lafferty's network ``f(x) = β ψ(Wx)/√p`` is
    ``Network((d, p, 1), "relu", "mse", bias=False, output_scale=p ** -0.5)``.
    """

    sizes: tuple[int, ...]
    activation: str = "tanh"
    loss: str = "softmax-crossentropy"
    bias: bool = True
    output_scale: float = 1.0
    layered: ClassVar[bool] = False  # a ``minifa.layers.Chain`` says True: its passes are its own

    def __post_init__(self) -> None:
        sizes = tuple(self.sizes)
        if len(sizes) < 2 or any(not isinstance(n, (int, np.integer)) or n < 1 for n in sizes):
            raise ConfigError(f"layer sizes {sizes} impossible: need at least two positive integers, e.g. 784,700,1000,10")
        object.__setattr__(self, "sizes", tuple(int(n) for n in sizes))
        get_activation(self.activation)
        get_loss(self.loss)

    @property
    def depth(self) -> int:
        return len(self.sizes) - 1

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """(out, in) of every weight matrix, Flux's ``Dense`` convention."""
        return [(o, i) for i, o in zip(self.sizes[:-1], self.sizes[1:])]


@dataclass
class Params:
    """Trainable arrays with a leading ensemble axis R."""

    weights: list[Any]
    biases: list[Any] | None

    @property
    def members(self) -> int:
        return self.weights[0].shape[0]


class Cache(NamedTuple):
    """What the forward pass keeps for the backward pass."""

    inputs: list[Any]  # x_l, the input of layer l (x_0 is the batch)
    pre: list[Any]  # h_l, the pre-activation of layer l
    output: Any  # z = output_scale · h_{L-1}
    masks: list[Any] | None = None  # m_l: x_{l+1} = m_l ⊙ f(h_l) under dropout (`minifa.dropout`)

    def weight_update(self, xp, l: int, delta):
        """``ΔW_l = δ_l x_lᵀ`` (a ``Chain``'s cache asks layer l for its own orientation)."""
        return delta @ xp.matrix_transpose(self.inputs[l])

    def accumulate(self, xp, l: int, c, delta, alpha: float, beta):
        """``c ← α δ_l x_lᵀ + β c`` without forming ``δ_l x_lᵀ`` (one BLAS ``gemm`` into ``c``
        on NumPy); ``β`` a float or (R, 1, 1). Returns ``c``."""
        return ops(xp).gemm_into(c, delta, self.inputs[l], alpha, beta)


class Update(NamedTuple):
    """One layer's update (the quantity subtracted, times η): ``ΔW = δ xᵀ``, ``Δb = Σ_batch δ``."""

    weight: Any
    bias: Any | None


class LayerStep(NamedTuple):
    """One layer's update in factored form: ``ΔW = δ xᵀ + c·u`` and ``Δb = Σ_batch δ`` (or
    ``bias`` where given). ``δ`` is the layer error (R, out, B); ``u`` an optional additive
    weight-sized term (R, out, in) with per-member coefficients ``c`` (R, 1, 1), as perturbed
    BP's fresh direction. The loop applies it without forming ΔW (``sgd_step_factored``)."""

    delta: Any
    extra: Any = None
    scale: Any = None
    bias: Any = None


def init_params(backend, net: Network, streams: list[Streams], init: str, scales: np.ndarray, dtype: str) -> Params:
    """Draw every member's weights from its own ``init`` stream at its own scale (``scales``
    (R,), ``Config.init_scales``), then its biases (zero unless ``init`` draws them)."""
    weights = []
    for shape in net.shapes:
        host = np.stack([weight_sampler(init, shape, s)(st["init"]) for s, st in zip(scales, streams)])
        weights.append(backend.asarray(host, dtype))
    biases = None
    if net.bias:
        biases = [backend.asarray(np.stack([bias_sampler(init, shape, s)(st["init"]) for s, st in zip(scales, streams)]), dtype)
                  for shape in net.shapes]
    return Params(weights, biases)


def forward(xp, net: Network, params: Params, x, first=None, masks=None) -> Cache:
    """``h_l = W_l x_l (+ b_l)``, ``x_{l+1} = f(h_l)``; the last layer is linear. ``first``:
    ``h_0`` when the caller carries it (`minifa.fullbatch`), in place of ``W_0 x``. ``masks``:
    per hidden layer a dropout mask ``m_l`` (R, n_l, B) or None, ``x_{l+1} = m_l ⊙ f(h_l)``.
    A ``Chain`` (conv, pool, dense layers) runs its own forward pass, without those two."""
    if net.layered:
        if first is not None or masks is not None:
            raise ConfigError("a conv chain takes neither a carried first layer nor dropout masks")
        return layered.forward(xp, net, params, x)
    act = get_activation(net.activation)
    inputs, pre = [x], []
    for l, weight in enumerate(params.weights):
        if l == 0 and first is not None:
            h = first if params.biases is None else first + params.biases[0]  # the caller's: never in place
        else:
            h = weight @ inputs[-1]
            if params.biases is not None:
                h += params.biases[l]  # in place: h is fresh, so no second (out, B) temporary
        pre.append(h)
        if l < net.depth - 1:
            value = act.value(xp, h)
            inputs.append(value if masks is None or masks[l] is None else masks[l] * value)
    out = pre[-1] if net.output_scale == 1.0 else net.output_scale * pre[-1]
    return Cache(inputs, pre, out, masks)


def output_error(xp, net: Network, cache: Cache, targets):
    """``e = ∂L/∂h_{L-1}``: the loss's error on z, times the output scale (chain rule)."""
    e = get_loss(net.loss).error(xp, cache.output, targets)
    return ops(xp).flush_subnormals(e if net.output_scale == 1.0 else net.output_scale * e)


def layer_error(xp, act, carried, cache: Cache, l: int):
    """``δ_l = carried ⊙ f'(h_l)`` (⊙ ``m_l`` under dropout: ``∂x_{l+1}/∂h_l``), with values
    below the dtype's smallest normal set to 0: a subnormal δ moves no weight but slows every
    GEMM reading it on many Intel cores (BENCHMARKS.md, "Subnormals at init scale 1")."""
    h, mask = cache.pre[l], None if cache.masks is None else cache.masks[l]
    if mask is None:
        carried *= act.derivative(xp, h, cache.inputs[l + 1])  # carried is fresh from a matmul: reuse it
    else:  # x_{l+1} holds m ⊙ f(h): f' from h
        carried *= act.derivative(xp, h, act.value(xp, h)) * mask
    return ops(xp).flush_subnormals(carried)


def backpropagate(xp, net: Network, cache: Cache, e, feedback: list[Any]) -> list[Any]:
    """Layer errors ``δ_{L-1} = e``, ``δ_{l-1} = (F_lᵀ δ_l) ⊙ f'(h_{l-1})`` with ``F_l`` the
    feedback matrix of layer l: ``W_l`` gives backpropagation, ``B_l`` feedback alignment.
    A ``Chain`` carries the error down through its convolutions and pooling (``layered``)."""
    if net.layered:
        return layered.backpropagate(xp, net, cache, e, feedback)
    act = get_activation(net.activation)
    deltas = [e]
    for l in range(net.depth - 1, 0, -1):
        transposed = xp.matrix_transpose(feedback[l])
        # one output (Song et al.): an outer product, exact as a broadcast product and far faster
        carried = transposed * deltas[0] if deltas[0].shape[-2] == 1 else transposed @ deltas[0]
        deltas.insert(0, layer_error(xp, act, carried, cache, l - 1))
    return deltas


def direct_deltas(xp, net: Network, cache: Cache, e, signals: list[Any]) -> list[Any]:
    """DFA's layer errors ``δ_l = s_l ⊙ f'(h_l)`` from the signals ``s_l`` (n_l, B) each
    hidden layer receives directly, and ``δ_{L-1} = e``; a ``Chain``'s own way likewise."""
    if net.layered:
        return layered.direct_deltas(xp, net, cache, e, signals)
    act = get_activation(net.activation)
    return [layer_error(xp, act, s, cache, l) for l, s in enumerate(signals)] + [e]


def layer_update(xp, cache: Cache, l: int, delta, bias: bool) -> Update:
    """``ΔW_l = δ_l x_lᵀ`` and ``Δb_l = Σ_batch δ_l`` (Zygote's ``unbroadcast``)."""
    weight = cache.weight_update(xp, l, delta)
    return Update(weight, xp.sum(delta, axis=-1, keepdims=True) if bias else None)


def updates_from_deltas(xp, net: Network, cache: Cache, deltas: list[Any]) -> list[Update | None]:
    """The updates ``δ_l x_lᵀ`` of layer errors; a ``None`` δ (a frozen layer) stays None."""
    return [None if d is None else layer_update(xp, cache, l, d, net.bias) for l, d in enumerate(deltas)]


def gradient(xp, net: Network, params: Params, cache: Cache, e) -> list[Update]:
    """The true (BP) gradient of the batch loss at ``params`` from an existing forward pass."""
    return updates_from_deltas(xp, net, cache, backpropagate(xp, net, cache, e, params.weights))


def sgd_step(params: Params, updates: list[Update | None], lr: float, weight_decay=None) -> None:
    """Plain SGD in place, ``W ← W − η (ΔW + λ_l W)``; a ``None`` update leaves the layer
    untouched (bit for bit). ``weight_decay[l]`` is layer l's λ_l (Song et al. decay only
    the output layer), a float or an array (R, 1, 1) of per-member decays; biases are not
    decayed."""
    for l, update in enumerate(updates):
        if update is None:
            continue
        params.weights[l] = descend(params.weights[l], update.weight, lr, 0.0 if weight_decay is None else weight_decay[l])
        if update.bias is not None:
            params.biases[l] -= lr * update.bias


def step_update(xp, cache: Cache, l: int, step: LayerStep, bias: bool) -> Update:
    """The formed update of a factored one: ``ΔW = δ xᵀ + c·u``, ``Δb`` as the step says."""
    weight, summed = layer_update(xp, cache, l, step.delta, bias)
    if step.extra is not None:
        weight = weight + step.scale * step.extra
    return Update(weight, step.bias if bias and step.bias is not None else summed)


def updates_from_steps(xp, cache: Cache, steps: list[LayerStep | None], bias: bool) -> list[Update | None]:
    """``step_update`` of every layer; a ``None`` step (a frozen layer) stays None."""
    return [None if s is None else step_update(xp, cache, l, s, bias) for l, s in enumerate(steps)]


def step_bias(xp, step: LayerStep):
    """``Δb = Σ_batch δ``, or the step's own ``bias`` where it gives one."""
    return xp.sum(step.delta, axis=-1, keepdims=True) if step.bias is None else step.bias


def sgd_step_factored(xp, params: Params, cache: Cache, steps: list[LayerStep | None], lr: float,
                      weight_decay=None) -> None:
    """``sgd_step`` for factored updates: ``W ← W − η (δ xᵀ + c·u + λ_l W)`` without forming
    ``ΔW`` (on NumPy one BLAS ``gemm`` into ``W``, then one ``axpy`` of ``u``); same results
    up to rounding. A ``None`` step leaves the layer untouched; ``weight_decay`` as in ``sgd_step``."""
    fast = ops(xp)
    for l, step in enumerate(steps):
        if step is None:
            continue
        decay = 0.0 if weight_decay is None else weight_decay[l]
        params.weights[l] = fast.gemm_update(params.weights[l], step.delta, cache.inputs[l], lr, decay)
        if step.extra is not None:
            params.weights[l] = fast.add_scaled(params.weights[l], step.extra, -lr * step.scale)
        if params.biases is not None:
            params.biases[l] -= lr * step_bias(xp, step)
