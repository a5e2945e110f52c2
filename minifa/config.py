"""One run's full description, JSON-serialisable, and how to build it into live state.

A ``Config`` fixes the network, the rule, the initialisation, the optimisation and the
ensemble (one seed per member). ``build`` turns it into a ``Run``: device arrays, the rule
with its feedback, each member's random streams, step/epoch counters and the metric history.
Checkpoints store the config as JSON and rebuild the run from it.
"""

from __future__ import annotations

import json
import os
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

import numpy as np

from .errors import ConfigError, choose
from .init import COUPLINGS, weights_from_feedback
from .layers import MODELS, model_chain
from .legacy import upgraded
from .network import Network, Params, init_params
from .optimisers import Optimiser, State, make_optimiser, optimiser_class, setup
from .options import canonical, check_options, finite, per_layer_member, per_member
from .rules import Rule, make_rule, rule_class
from .streams import Streams


# Network's own settings and defaults; Config stores them flat (its JSON is the file format).
ARCHITECTURE = {f.name: f.default for f in fields(Network) if f.default is not MISSING}
MLP_LAYERS = (784, 700, 1000, 10)


@dataclass
class Config:
    layers: tuple[int, ...] = MLP_LAYERS  # Network.sizes (a chain's: its sizes, filled in); the rest as Network's:
    activation: str = ARCHITECTURE["activation"]
    loss: str = ARCHITECTURE["loss"]
    bias: bool = ARCHITECTURE["bias"]
    output_scale: float = ARCHITECTURE["output_scale"]
    dtype: str = "float32"
    init: str = "normal"
    init_scale: float | list[float] = 0.05  # one value, or one per member (canonical: init_scales)
    rule: str = "fa"
    rule_options: dict[str, Any] = field(default_factory=dict)  # the rule's declared options (canonical: rule_settings)
    weights_from_feedback: str = "none"  # Figure 4: none | sign | equal; Nøkland's FA: copied | moved
    lr: float = 0.05
    batch_size: int = 100  # 0: the whole training set (full batch)
    shuffle: bool = True  # False: full-batch GD in data order (Song et al.)
    shared_order: bool = False  # all members see the same minibatches (member 0's order)
    weight_decay: float | list = 0.0  # λ: one value, or per layer a value or one per member (canonical: decays)
    seeds: list[int] = field(default_factory=lambda: [0])  # one per ensemble member
    stream_seeds: dict[str, list[int]] = field(default_factory=dict)  # per-purpose overrides
    metrics_every: int = 0  # record step metrics every K steps; 0 = per epoch only
    epochs: int = 1  # training stops when the run's epoch counter reaches this
    dataset: str = "mnist"  # what the run trains on (minifa.data.load_dataset)
    dataset_options: dict[str, Any] = field(default_factory=dict)  # e.g. {"standardise": true}
    optimizer: str = "sgd"  # minifa.optimisers: sgd | momentum | nesterov | rmsprop | adam | adamw; η is lr
    optimizer_options: dict[str, Any] = field(default_factory=dict)  # its declared options, e.g. {"rho": 0.99}
    dropout: float | list[float] = 0.0  # inverted dropout rate p: one, or one per hidden layer (canonical: dropouts)
    model: str = "mlp"  # mlp: the dense Network of ``layers``; or a conv chain of minifa.layers.MODELS (lenet)

    def __post_init__(self) -> None:
        self.layers = tuple(int(n) for n in self.layers)
        if self.model != "mlp" and self.layers == MLP_LAYERS:  # a chain's layer sizes are its own
            self.layers = self.network().sizes
        self.seeds = [int(s) for s in self.seeds]
        self.validate()

    def validate(self) -> None:
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ConfigError(message)

        need(len(self.seeds) >= 1, "an ensemble needs at least one seed")
        need(min(self.seeds) >= 0, f"seed {min(self.seeds)} must be 0 or more")
        need(finite(self.lr) and self.lr > 0, f"learning rate {self.lr} must be positive and finite")
        need(finite(self.output_scale) and self.output_scale != 0,
             f"output scale {self.output_scale} must be a finite non-zero number")
        need(self.batch_size >= 0, f"batch size {self.batch_size} must be at least 1 (or 0: the whole set)")
        need(self.epochs >= 0, f"epochs {self.epochs} must be 0 or more")
        need(self.metrics_every >= 0, f"metrics interval {self.metrics_every} must be 0 (off) or positive")
        need(self.dtype in ("float32", "float64"), f"dtype {self.dtype!r} unsupported; use float32 or float64")
        need(finite(self.init_scale) and np.all(np.asarray(self.init_scale) >= 0),
             f"init scale {self.init_scale} must be non-negative and finite")
        choose("model", self.model, ("mlp", *MODELS))
        net = self.network()  # the layer sizes, before anything counts layers
        need(tuple(net.sizes) == self.layers, f"model {self.model} has layer sizes {','.join(map(str, net.sizes))}, "
             f"not {','.join(map(str, self.layers))}; leave the layers out")
        decays, _ = self.decays, self.init_scales  # each a one-line error if misshapen
        need(np.all(np.isfinite(decays)) and np.all(decays >= 0), f"weight decay {self.weight_decay} must be non-negative and finite")
        choose("weights-from-feedback mode", self.weights_from_feedback, COUPLINGS)
        for purpose, seeds in self.stream_seeds.items():
            need(len(seeds) == self.members, f"stream_seeds[{purpose!r}] needs one seed per member ({self.members})")
        self.rule_settings  # the rule's declared options, each a one-line error if bad
        check_options(f"optimizer {self.optimizer!r}", optimiser_class(self.optimizer).options, self.optimizer_options,
                      self.members)
        rates = self.dropouts
        need(np.all(np.isfinite(rates)) and np.all((rates >= 0) & (rates < 1)), f"dropout {self.dropout} must be in [0, 1)")
        need(self.model == "mlp" or not np.any(rates), f"model {self.model} has no dropout; set dropout 0")

    @property
    def members(self) -> int:
        return len(self.seeds)

    @property
    def depth(self) -> int:
        return len(self.layers) - 1

    @property
    def init_scales(self) -> np.ndarray:
        """``init_scale`` canonical: one per member, (R,)."""
        return per_member(self.init_scale, self.members, "init scale")

    @property
    def decays(self) -> np.ndarray:
        """``weight_decay`` canonical: λ per layer and member, (L, R)."""
        return per_layer_member(self.weight_decay, self.depth, self.members, "weight decay")

    @property
    def rule_settings(self) -> dict[str, Any]:
        """``rule_options`` validated against the rule's declared options, canonical, defaults
        filled in; an option the rule lacks is refused when the rule is built (``make_rule``)."""
        return canonical(rule_class(self.rule).options, self.rule_options, self.members)

    @property
    def dropouts(self) -> np.ndarray:
        """``dropout`` canonical: the rate p of every hidden layer, (L−1,)."""
        rates = np.asarray(self.dropout, dtype=float).reshape(-1)
        if rates.size not in (1, self.depth - 1):
            raise ConfigError(f"dropout needs one rate or one per hidden layer ({self.depth - 1})")
        return np.broadcast_to(rates, (self.depth - 1,)).copy()

    def batch_of(self, n: int) -> int:
        """The batch size on a training set of ``n`` samples: ``batch_size``, or all ``n`` for 0."""
        return max(1, min(self.batch_size or n, n))

    def network(self):
        """The ``Network`` of ``layers``, or the conv ``Chain`` the model names (`minifa.layers`)."""
        settings = {name: getattr(self, name) for name in ARCHITECTURE}
        return Network(self.layers, **settings) if self.model == "mlp" else model_chain(self.model, **settings)

    def streams(self) -> list[Streams]:
        return [
            Streams(seed, {p: s[r] for p, s in self.stream_seeds.items()}) for r, seed in enumerate(self.seeds)
        ]

    def to_dict(self) -> dict[str, Any]:
        """The stored form: every field, except the ``LATER`` ones at their default (so a
        config that does not use them keeps the JSON, and the hash, it always had)."""
        data, initial = asdict(self), defaults()
        return {k: v for k, v in data.items() if k not in LATER or v != initial[k]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Config":
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: dict) -> "Config":
        """A stored config (a checkpoint's, a sweep point's), its older field names read as today's."""
        data = upgraded(data)
        unknown = sorted(set(data) - set(defaults()))
        if unknown:
            raise ConfigError(f"config has unknown field {unknown[0]!r}; written by a newer minifa?")
        return cls(**data)


# Fields added after checkpoints and sweep files were first written: stored only when set.
LATER = ("optimizer", "optimizer_options", "dropout", "model")


def defaults() -> dict[str, Any]:
    """Every field's default, as ``Config()`` sets it: the one place the CLI reads them from."""
    return {f.name: f.default_factory() if f.default is MISSING else f.default for f in fields(Config)}


def memory_needed(config: Config) -> int:
    """Bytes a run needs at least: weights, feedback, updates and the optimiser's slots (3 + S
    copies) in its dtype, plus the float64 host draws of the largest layer for every member
    (the list and the stack)."""
    sizes = [o * i for o, i in config.network().shapes]
    itemsize, copies = np.dtype(config.dtype).itemsize, 3 + len(optimiser_class(config.optimizer).slots)
    return config.members * (copies * sum(sizes) * itemsize + 2 * max(sizes) * 8)


def _check_memory(config: Config) -> None:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not every OS says
        return
    need = memory_needed(config)
    if need > total:
        raise ConfigError(f"layers {','.join(map(str, config.layers))} with {config.members} member(s) need at least "
                          f"{need / 2**30:.1f} GiB ({config.dtype}) but this machine has {total / 2**30:.1f} GiB; "
                          "use smaller layers or fewer members")


@dataclass
class Run:
    """Live training state: everything a checkpoint holds."""

    config: Config
    backend: Any
    net: Network
    params: Params
    rule: Rule
    streams: list[Streams]
    step: int = 0
    epoch: int = 0
    history: dict[str, dict[str, list]] = field(default_factory=dict)  # "steps", "epochs" tables

    @property
    def xp(self):
        return self.backend.xp

    decay: list | None = field(init=False, repr=False)  # weight_decay(), made once
    optimiser: Optimiser = field(init=False, repr=False)  # the config's, at step size lr
    optimiser_state: State = field(init=False, repr=False)  # its state: checkpointed, per member
    dropouts: np.ndarray = field(init=False, repr=False)  # config.dropouts, (L−1,)

    def __post_init__(self) -> None:
        cfg = self.config
        self.decay = _layer_decays(self.backend, cfg.decays, cfg.dtype)
        self.optimiser = make_optimiser(cfg.optimizer, cfg.lr, cfg.optimizer_options, cfg.members)
        self.optimiser_state = setup(self.xp, self.optimiser, self.params)
        self.dropouts = cfg.dropouts  # checked once: every step reads it

    def weight_decay(self) -> list | None:
        """``config.decays`` per layer, ready for ``sgd_step``: a float where all members share
        it, else a device array (R, 1, 1); None when all are zero."""
        return self.decay


def _layer_decays(backend, decays: np.ndarray, dtype: str) -> list | None:
    """(L, R) decays as ``Run.weight_decay`` gives them."""
    if not np.any(decays):
        return None
    return [float(row[0]) if np.all(row == row[0]) else backend.asarray(row.reshape(-1, 1, 1), dtype) for row in decays]


def build(config: Config, backend) -> Run:
    """Draw the initial network and the rule's feedback for every member (host RNG), after
    checking that they fit in this machine's memory; then W and B are coupled (Figure 4, Nøkland's FA)."""
    _check_memory(config)
    net, streams = config.network(), config.streams()
    params = init_params(backend, net, streams, config.init, config.init_scales, config.dtype)
    rule = make_rule(config.rule, backend, net, streams, config.dtype, config.rule_options)
    weights_from_feedback(backend, params, rule, config.weights_from_feedback, config.init_scales, config.dtype)
    return Run(config, backend, net, params, rule, streams)
