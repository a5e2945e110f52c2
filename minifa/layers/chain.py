"""A network as a list of layers, Flux's ``Chain``: forward pass and backward pass.

The trainable layers (``Dense``, ``Conv2d``) are numbered l = 0 … L−1 as in
``minifa.network``: ``h_l = W_l cols_l + b_l`` with ``cols_l`` the unfolded input of layer l,
``v_l = f(h_l)`` (the last layer linear), then the passive layers after it (pooling, flatten)
give the next layer's input. The forward cache keeps ``cols_l`` as ``inputs[l]``, so the
update is a dense layer's ``ΔW_l = δ_l cols_lᵀ``, ``Δb_l = Σ δ_l`` and the loop's fused GEMM,
optimisers, Kolen-Pollack's feedback update and the Gram-matrix metrics work unchanged.
"""

from __future__ import annotations

import math
from functools import cached_property
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from ..activations import get_activation
from ..errors import ConfigError, choose
from ..fastpaths import ops
from ..losses import get_loss
from .conv2d import Conv2d
from .dense import Dense
from .flatten import Flatten
from .pool import Pool

TRAINABLE = (Dense, Conv2d)


class ChainCache(NamedTuple):
    """``network.Cache``'s fields (``inputs`` are the GEMM inputs ``cols_l``), plus what the
    backward pass of a chain needs: ``values`` f(h_l) and each passive layer's ``keeps``, and
    the ``trainable`` layers, whose products ``δ_l cols_lᵀ`` each orients its own way."""

    inputs: list[Any]
    pre: list[Any]
    output: Any
    values: list[Any]
    keeps: list[list[Any]]
    masks: None = None  # no dropout in a chain
    trainable: tuple[Any, ...] = ()

    def weight_update(self, xp, l: int, delta):
        """``ΔW_l = δ_l cols_lᵀ``, as layer l computes it."""
        return self.trainable[l].weight_update(xp, delta, self.inputs[l])

    def accumulate(self, xp, l: int, c, delta, alpha: float, beta):
        """``c ← α ΔW_l + β c`` with ΔW_l formed in layer l's orientation: a chain's weights
        are small, and a GEMM into ``c`` would take the long columns the slow way round."""
        c *= beta
        c += alpha * self.weight_update(xp, l, delta)
        return c


@dataclass(frozen=True)
class Chain:
    """``layers`` applied in order to samples of ``input_shape`` ((C, H, W) or (n,)), which
    arrive flattened row-major as features × batch; the first layer is trainable, the last
    is ``Dense``. Architecture settings as ``network.Network``'s."""

    input_shape: tuple[int, ...]
    layers: tuple[Any, ...]
    activation: str = "relu"
    loss: str = "softmax-crossentropy"
    bias: bool = True
    output_scale: float = 1.0
    layered: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not isinstance(self.layers[0], TRAINABLE) or not isinstance(self.layers[-1], Dense):
            raise ConfigError("a chain starts with a trainable layer and ends with a Dense one")
        get_activation(self.activation)
        get_loss(self.loss)
        self.in_shapes  # every layer's shape, each a one-line error if it does not fit

    @cached_property  # derived from the frozen layers: built once, not per step
    def in_shapes(self) -> list[tuple[int, ...]]:
        """The per-sample input shape of every layer, then the output's."""
        shapes = [tuple(self.input_shape)]
        for layer in self.layers:
            shapes.append(layer.out_shape(shapes[-1]))
        return shapes

    @cached_property
    def groups(self) -> list[tuple[Any, tuple, list[tuple[Any, tuple]]]]:
        """Per trainable layer: (layer, its input shape, [(passive layer, its input shape)…])."""
        found = []
        for layer, shape in zip(self.layers, self.in_shapes):
            if isinstance(layer, TRAINABLE):
                found.append((layer, shape, []))
            else:
                found[-1][2].append((layer, shape))
        return found

    @property
    def depth(self) -> int:
        return len(self.groups)

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """Every trainable layer's weight matrix (out, K): what rules draw feedback of."""
        return [layer.matrix(shape) for layer, shape, _ in self.groups]

    @property
    def sizes(self) -> tuple[int, ...]:
        """Input features, then every trainable layer's outputs per sample (DFA's ``R_l`` rows)."""
        shapes = self.in_shapes
        outs = [math.prod(shapes[i + 1]) for i, layer in enumerate(self.layers) if isinstance(layer, TRAINABLE)]
        return (math.prod(self.input_shape), *outs)


def _unflat(xp, h, shape):
    """(…, out, M) to the layer's output layout (…, *shape, N)."""
    return xp.reshape(h, tuple(h.shape[:-2]) + tuple(shape) + (-1,))


def forward(xp, net: Chain, params, x) -> ChainCache:
    """``h_l = W_l cols_l (+ b_l)``, ``v_l = f(h_l)``, the passive layers, on to the output
    ``z = output_scale · h_{L-1}`` (out, N) per member."""
    act, inputs, pre, values, keeps = get_activation(net.activation), [], [], [], []
    x = xp.reshape(x, tuple(x.shape[:-2]) + tuple(net.input_shape) + (x.shape[-1],))
    for l, (layer, shape, passives) in enumerate(net.groups):
        cols = layer.columns(xp, x, shape)
        h = params.weights[l] @ cols
        if params.biases is not None:
            h += params.biases[l]
        inputs.append(cols)
        pre.append(h)
        if l == net.depth - 1:
            break
        values.append(act.value(xp, h))
        x, kept = _unflat(xp, values[-1], layer.out_shape(shape)), []
        for passive, pshape in passives:
            x, keep = passive.forward(xp, x, pshape)
            kept.append(keep)
        keeps.append(kept)
    out = pre[-1] if net.output_scale == 1.0 else net.output_scale * pre[-1]
    return ChainCache(inputs, pre, out, values, keeps, trainable=tuple(layer for layer, _, _ in net.groups))


def hidden_error(xp, net: Chain, cache: ChainCache, carried, l: int):
    """``δ_l = carried ⊙ f'(h_l)``, with ``carried`` ∂L/∂v_l in any layout of its size;
    subnormals flushed to 0, as ``network.layer_error`` does (they slow every GEMM after)."""
    h = cache.pre[l]
    delta = xp.reshape(carried, h.shape) * get_activation(net.activation).derivative(xp, h, cache.values[l])
    return ops(xp).flush_subnormals(delta)


def carry_down(xp, net: Chain, cache: ChainCache, l: int, feedback, delta):
    """``∂L/∂v_{l-1}`` as layer l's feedback ``F_l`` carries ``δ_l`` down: ``Fᵀ δ``, col2im
    for a convolution, then back through the passive layers between l−1 and l."""
    groups = net.groups
    layer, shape, _ = groups[l]
    g = layer.input_grad(xp, xp.matrix_transpose(feedback) @ delta, shape)
    for (passive, pshape), keep in zip(reversed(groups[l - 1][2]), reversed(cache.keeps[l - 1])):
        g = passive.backward(xp, keep, g, pshape)
    return g


def backpropagate(xp, net: Chain, cache: ChainCache, e, feedback: list[Any]) -> list[Any]:
    """``δ_{L-1} = e``, ``δ_{l-1} = carry_down(F_l, δ_l) ⊙ f'(h_{l-1})``: ``F_l = W_l`` is BP."""
    deltas = [e]
    for l in range(net.depth - 1, 0, -1):
        deltas.insert(0, hidden_error(xp, net, cache, carry_down(xp, net, cache, l, feedback[l], deltas[0]), l - 1))
    return deltas


def direct_deltas(xp, net: Chain, cache: ChainCache, e, signals: list[Any]) -> list[Any]:
    """DFA's layer errors: ``δ_l = s_l ⊙ f'(h_l)`` with ``s_l`` (n_l, N) what layer l
    receives directly (``R_l e``), ``δ_{L-1} = e``."""
    return [hidden_error(xp, net, cache, s, l) for l, s in enumerate(signals)] + [e]


def lenet(activation: str = "relu", **settings) -> Chain:
    """BioTorch's ``LeNetMNIST`` on 28 × 28 MNIST zero-padded to 32 × 32 (conv1's padding 2):
    conv 6@5×5, max-pool 2, conv 16@5×5, max-pool 2, conv 120@5×5, 84, 10; ReLU."""
    layers = (Conv2d(6, 5, padding=2), Pool("max", 2), Conv2d(16, 5), Pool("max", 2), Conv2d(120, 5), Flatten(),
              Dense(84), Dense(10))
    return Chain((1, 28, 28), layers, activation, **settings)


MODELS = {"lenet": lenet}


def model_chain(name: str, **settings) -> Chain:
    """The chain of model ``name`` with the architecture ``settings`` (activation, loss, …)."""
    return choose("model", name, MODELS)(**settings)
