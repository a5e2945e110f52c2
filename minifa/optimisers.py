"""Optimisers shaped like Optimisers.jl: the rule holds the hyper-parameters, the state is apart.

``state = setup(xp, optimiser, params)`` makes zeroed state arrays for every parameter (member
axis first, like the parameter); ``update(xp, optimiser, state, params, updates, decays)``
takes one step: per parameter ``dx`` (the learning rule's ``ΔW`` or ``Δb``, plus ``λ_l W`` on
weights for L2 weight decay, ``Config.weight_decay``, Flux's ``OptimiserChain(WeightDecay(λ),
rule)``), then Flux's ``apply!`` gives the new state and ``dx′``, and ``x ← x − dx′``.
The step size η is the config's ``lr`` for every optimiser (Flux's default η is in each
summary). Formulas and ε placement as Optimisers.jl's ``src/rules.jl``; each optimiser is one
class with a ``name``, declared ``options`` and ``apply``; the registry finds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .errors import choose
from .fastpaths import ops
from .network import Cache, LayerStep, Params, Update, sgd_step, sgd_step_factored, step_bias
from .options import Option, check_options


@dataclass
class State:
    """An optimiser's state for one ``Params``: arrays named ``"W1/m"`` (parameter / slot),
    each of its parameter's shape, and ``t``, the steps taken (Adam's ``β^t``)."""

    slots: dict[str, Any] = field(default_factory=dict)
    t: int = 0


class Optimiser:
    """The hyper-parameters: ``eta`` (η) and the declared ``options``, validated in ``settings``:
    a float where every member shares it, else one per member (R,) (an ensemble sweeping β or ρ);
    ``hyper`` is what ``apply`` reads, those as (R, 1, 1) arrays of the parameters' dtype."""

    name: ClassVar[str]
    options: ClassVar[dict[str, Option]] = {}
    summary: ClassVar[str] = ""
    slots: ClassVar[tuple[str, ...]] = ()  # state arrays per parameter, zeros at setup
    fuses: ClassVar[bool] = False  # factored steps by one GEMM per layer (`update_factored`), ΔW never formed

    def __init__(self, eta: float, members: int = 1, **options: Any) -> None:
        self.eta = float(eta)
        given = check_options(f"optimiser {self.name!r}", self.options, options, members)
        self.settings = {k: _shared(v) for k, v in given.items()}
        self.per_member = any(isinstance(v, np.ndarray) for v in self.settings.values())
        self.hyper = self.settings

    def apply(self, xp, slots: dict[str, Any], x, dx, t: int):
        """Flux's ``apply!``: ``dx′`` for parameter ``x`` with gradient ``dx`` at step ``t``
        (1 at the first), updating ``slots`` in place."""
        raise NotImplementedError

    def compiled(self, t: int) -> tuple[str, tuple[float, ...]] | None:
        """The compiled kernel of ``apply`` (`minifa.kernels`: its name and its scalars, as
        ``apply`` computes them at step ``t``), or None: ``apply`` runs."""
        return None

    def update(self, xp, state: State, params: Params, updates: list[Update | None], decays=None) -> None:
        """One step on formed updates (``update`` below)."""
        self._start(xp, state, params)
        for l, u in enumerate(updates):
            if u is None:
                continue
            decay = 0.0 if decays is None else decays[l]
            dw = u.weight if isinstance(decay, float) and not decay else u.weight + decay * params.weights[l]
            params.weights[l] = self._descend(xp, state, f"W{l + 1}", params.weights[l], dw)
            if u.bias is not None:
                params.biases[l] = self._descend(xp, state, f"b{l + 1}", params.biases[l], u.bias)

    def update_factored(self, xp, state: State, params: Params, cache: Cache, steps: list[LayerStep | None],
                        decays=None) -> None:
        """(``fuses``) one step on factored updates ``ΔW = δ xᵀ + c·u``, as ``update`` up to rounding."""
        raise NotImplementedError(f"optimiser {self.name!r} does not fuse factored steps")

    def _start(self, xp, state: State, params: Params) -> None:
        """A step begins: ``t`` counts it; per-member settings go to the parameters' device, once."""
        state.t += 1
        if self.per_member and self.hyper is self.settings:
            like = params.weights[0]
            self.hyper = {k: xp.asarray(v.reshape(-1, 1, 1), dtype=like.dtype, device=like.device)
                          if isinstance(v, np.ndarray) else v for k, v in self.settings.items()}

    def _descend(self, xp, state: State, name: str, x, dx):
        """``x ← x − dx′`` and the slots, in place: by the compiled kernel where there is one
        (`fastpaths`), else block by block on NumPy (whole arrays where members differ: a
        block would mix them)."""
        def step(x, dx, *slots):
            x -= self.apply(xp, dict(zip(self.slots, slots)), x, dx, state.t)

        arrays = [x, dx, *(state.slots[f"{name}/{k}"] for k in self.slots)]
        kernel = None if self.per_member else self.compiled(state.t)
        if kernel is not None and ops(xp).compiled(*kernel, arrays):
            return x
        if self.per_member:
            step(*arrays)
        else:
            ops(xp).blockwise(step, arrays)
        return x


class Descent(Optimiser):
    """``dx′ = η dx``: plain SGD, the loop's path of before bit for bit: factored steps as one
    fused GEMM per layer (``fuses``: the loop calls ``network.sgd_step_factored``), formed
    ones by ``network.sgd_step``. No state (``t`` stays 0)."""

    name = "sgd"
    summary = "plain SGD: x <- x - lr dx (Flux's Descent, default lr 0.1)"
    fuses = True

    def apply(self, xp, slots, x, dx, t):
        return self.eta * dx

    def update(self, xp, state, params, updates, decays=None):
        sgd_step(params, updates, self.eta, decays)

    def update_factored(self, xp, state, params, cache, steps, decays=None):
        sgd_step_factored(xp, params, cache, steps, self.eta, decays)


RHO = Option(0.9, "momentum / decay ρ", within=(0, 1), per_member=True)


class Momentum(Optimiser):
    """``v ← ρ v + η dx``, ``dx′ = v`` (η inside the velocity; PyTorch's SGD momentum puts it
    outside, equal while η is constant). Factored steps (``fuses``): ``v ← ρ v + η δ xᵀ`` is one
    GEMM into ``v`` (``Cache.accumulate``), then ``+ η (c·u + λ W)`` and ``W ← W − v``: ΔW is never formed."""

    name = "momentum"
    options = {"rho": RHO}
    summary = "SGD with momentum: v <- rho v + lr dx, x <- x - v (Flux's Momentum, default lr 0.01)"
    slots = ("v",)
    fuses = True

    def update_factored(self, xp, state, params, cache, steps, decays=None):
        self._start(xp, state, params)
        fast, rho = ops(xp), self.hyper["rho"]
        for l, step in enumerate(steps):
            if step is None:
                continue
            w, v, decay = params.weights[l], state.slots[f"W{l + 1}/v"], 0.0 if decays is None else decays[l]
            v = state.slots[f"W{l + 1}/v"] = cache.accumulate(xp, l, v, step.delta, self.eta, rho)
            if step.extra is not None:
                v = fast.add_scaled(v, step.extra, self.eta * step.scale)
            if not isinstance(decay, float) or decay:
                v = fast.add_scaled(v, w, self.eta * decay)
            params.weights[l] = fast.add_scaled(w, v, -1.0)
            if params.biases is not None:
                params.biases[l] = self._descend(xp, state, f"b{l + 1}", params.biases[l], step_bias(xp, step))

    def compiled(self, t):
        return "momentum", (self.hyper["rho"], self.eta)

    def apply(self, xp, slots, x, dx, t):
        v = slots["v"]
        v *= self.hyper["rho"]
        v += self.eta * dx
        return v


class Nesterov(Optimiser):
    """``dx′ = −ρ² v + (1 + ρ) η dx`` with the old ``v``, then ``v ← ρ v − η dx``."""

    name = "nesterov"
    options = {"rho": RHO}
    summary = "Nesterov momentum (Flux's Nesterov, default lr 0.001)"
    slots = ("v",)

    def compiled(self, t):
        rho = self.hyper["rho"]
        return "nesterov", (-rho * rho, (1.0 + rho) * self.eta, self.eta, rho)

    def apply(self, xp, slots, x, dx, t):
        rho, v = self.hyper["rho"], slots["v"]
        out = (-rho * rho) * v + ((1.0 + rho) * self.eta) * dx
        v *= rho
        v -= self.eta * dx
        return out


EPSILON = Option(1e-8, "ε, added outside the square root", min=0, per_member=True)


class RMSProp(Optimiser):
    """``q ← ρ q + (1 − ρ) dx²`` (centred: also ``l ← ρ l + (1 − ρ) dx``),
    ``dx′ = η dx / (√(q − l²) + ε)`` (``l = 0`` uncentred; ε outside the root). Torch7's
    ``optim.rmsprop`` (Nøkland's code) is this with ρ = its α."""

    name = "rmsprop"
    options = {"rho": RHO, "epsilon": EPSILON, "centred": Option(False, "subtract the running mean's square l²")}
    summary = "RMSProp: lr dx / (sqrt(q - l^2) + eps) (Flux's RMSProp, default lr 0.001)"
    slots = ("q", "l")

    def compiled(self, t):
        rho = self.hyper["rho"]
        name = "rmsprop_centred" if self.hyper["centred"] else "rmsprop"
        return name, (rho, 1.0 - rho, self.eta, self.hyper["epsilon"])

    def apply(self, xp, slots, x, dx, t):
        rho, q, l = self.hyper["rho"], slots["q"], slots["l"]
        q *= rho
        q += (1.0 - rho) * (dx * dx)
        if not self.hyper["centred"]:
            return (self.eta * dx) / (xp.sqrt(q) + self.hyper["epsilon"])
        l *= rho
        l += (1.0 - rho) * dx
        return (self.eta * dx) / (xp.sqrt(q - l * l) + self.hyper["epsilon"])


class Adam(Optimiser):
    """``m ← β₁ m + (1 − β₁) dx``, ``v ← β₂ v + (1 − β₂) dx²``,
    ``dx′ = η · m/(1 − β₁ᵗ) / (√(v/(1 − β₂ᵗ)) + ε)``."""

    name = "adam"
    options = {"beta1": Option(0.9, "β₁, decay of the mean", within=(0, 1), per_member=True),
               "beta2": Option(0.999, "β₂, decay of the square", within=(0, 1), per_member=True), "epsilon": EPSILON}
    summary = "Adam (Flux's Adam, default lr 0.001)"
    slots = ("m", "v")

    def moments(self, xp, slots, dx, t):
        """Adam's step at η = 1: the moments updated, ``m̂ / (√v̂ + ε)``."""
        b1, b2, m, v = self.hyper["beta1"], self.hyper["beta2"], slots["m"], slots["v"]
        m *= b1
        m += (1.0 - b1) * dx
        v *= b2
        v += (1.0 - b2) * (dx * dx)
        return (m / (1.0 - b1 ** t)) / (xp.sqrt(v / (1.0 - b2 ** t)) + self.hyper["epsilon"])

    def compiled(self, t):
        b1, b2 = self.hyper["beta1"], self.hyper["beta2"]
        return "adam", (b1, 1.0 - b1, b2, 1.0 - b2, 1.0 - b1 ** t, 1.0 - b2 ** t, self.eta, self.hyper["epsilon"])

    def apply(self, xp, slots, x, dx, t):
        return self.moments(xp, slots, dx, t) * self.eta


class AdamW(Adam):
    """Adam at η = 1 giving ``u``, then decoupled weight decay λ (``decay``) on every
    parameter, biases too, as Optimisers.jl: ``couple`` (default, PyTorch's AdamW)
    ``dx′ = η (u + λ x)``, else (the paper's) ``dx′ = η u + λ x``. ``Config.weight_decay``
    is L2 instead: added to ``dx`` before the moments."""

    name = "adamw"
    options = {**Adam.options, "decay": Option(0.0, "decoupled weight decay λ", min=0, per_member=True),
               "couple": Option(True, "decay inside η: lr (u + decay x); false: lr u + decay x")}
    summary = "Adam with decoupled weight decay (Flux's AdamW, default lr 0.001, decay 0)"

    def compiled(self, t):
        return None  # Adam's kernel lacks the decoupled decay term

    def apply(self, xp, slots, x, dx, t):
        u, decay = self.moments(xp, slots, dx, t), self.hyper["decay"]
        return self.eta * (u + decay * x) if self.hyper["couple"] else self.eta * u + decay * x


OPTIMISERS = {cls.name: cls for cls in (Descent, Momentum, Nesterov, RMSProp, Adam, AdamW)}


def optimiser_class(name: str) -> type[Optimiser]:
    return choose("optimizer", name, OPTIMISERS)


def make_optimiser(name: str, eta: float, options: dict[str, Any] | None = None, members: int = 1) -> Optimiser:
    """Optimiser ``name`` at step size ``eta`` for ``members``; unknown names and bad options are
    one-line errors."""
    return optimiser_class(name)(eta, members, **(options or {}))


def _shared(value):
    """A per-member setting (R,) as one float where every member has the same."""
    if isinstance(value, np.ndarray) and np.all(value == value[0]):
        return float(value[0])
    return value


def setup(xp, optimiser: Optimiser, params: Params) -> State:
    """Optimisers.jl's ``setup``: for every parameter the optimiser's slots, zeros of its shape."""
    named = {f"W{l + 1}": w for l, w in enumerate(params.weights)}
    named |= {f"b{l + 1}": b for l, b in enumerate(params.biases or [])}
    return State({f"{p}/{s}": xp.zeros_like(x) for p, x in named.items() for s in optimiser.slots})


def update(xp, optimiser: Optimiser, state: State, params: Params, updates: list[Update | None], decays=None) -> None:
    """Optimisers.jl's ``update!`` in place: ``x ← x − dx′`` for every parameter with an
    update (a ``None`` one leaves the layer and its state alone); ``decays`` per layer as
    ``Run.weight_decay`` gives them (L2 on weights)."""
    optimiser.update(xp, state, params, updates, decays)
