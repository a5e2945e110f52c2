"""Interop: weights into and out of PyTorch, histories into pandas. Both are optional and
imported only when called; without them the call is a one-line error naming the install.

Layout. minifa keeps layer l's weights as ``W_l`` of shape (R, out, in), member r at index r,
so member r's ``W_l[r]`` is (out, in): exactly ``torch.nn.Linear.weight`` (and Flux's
``Dense.weight``); the bias ``b_l`` (R, out, 1) gives ``Linear.bias`` (out,). The network
``z = s · (W_L x_L + b_L)``, ``x_{l+1} = f(W_l x_l + b_l)`` is

    nn.Sequential(Linear, F, Linear, F, ..., Linear[, Scale(s)])

with ``F`` one of ``nn.Tanh``, ``nn.ReLU``, ``nn.Sigmoid``, ``nn.Identity`` and ``Scale`` (this
module's, only when ``output_scale != 1``). minifa's activations are features × batch and
torch's batch × features: ``model(x.T) == forward(x).output[r].T``. The model outputs ``z``,
the logits; the loss (softmax for ``softmax-crossentropy``) is not part of it.

- ``to_torch(run, member=r)``: member r of a run (or a loaded checkpoint) as a torch model.
- ``from_torch(model, run, member=r)``: the model's weights into member r of ``run``;
  ``from_torch(model, **config)``: a new run of that architecture (``Config`` fields such as
  ``rule``, ``seeds``, ``lr`` as keywords), every member starting from the model's weights.
- ``history_frame(path)``: a checkpoint's or a sweep's history as one tidy pandas DataFrame.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from .errors import ConfigError
from .history import X_AXIS, read

TORCH_ACTIVATIONS = {"tanh": "Tanh", "relu": "ReLU", "sigmoid": "Sigmoid", "identity": "Identity"}
TORCH_DTYPES = ("float32", "float64")


def _torch():
    try:
        import torch
    except ImportError:
        raise ConfigError("to_torch and from_torch need PyTorch: pip install torch "
                          "or pip install 'minifa[interop]'") from None
    return torch


@lru_cache(maxsize=1)
def _scale_class():
    nn = _torch().nn

    class Scale(nn.Module):
        """``z = s · h``: minifa's ``output_scale`` (Song et al.'s 1/√p) as the model's last module."""

        def __init__(self, scale: float):
            super().__init__()
            self.scale = float(scale)

        def forward(self, h):
            return self.scale * h

        def extra_repr(self) -> str:
            return f"scale={self.scale:g}"

    Scale.__module__, Scale.__qualname__ = __name__, "Scale"  # pickles as minifa.interop.Scale
    return Scale


def __getattr__(name: str):
    """``minifa.interop.Scale``, made on first use (it subclasses torch's Module)."""
    if name == "Scale":
        return _scale_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _member(run, member: int) -> int:
    if not 0 <= member < run.params.members:
        raise ConfigError(f"member {member} does not exist: the run has {run.params.members} "
                          f"(members 0 to {run.params.members - 1})")
    return member


def to_torch(run, member: int = 0):
    """Member ``member`` of ``run`` as an ``nn.Sequential`` holding copies of its weights."""
    torch, member = _torch(), _member(run, member)
    if run.net.layered:
        raise ConfigError(f"to_torch exports dense networks only, not model {run.config.model!r}")
    nn, net, host = torch.nn, run.net, run.backend.to_host
    layers = []
    for l, weight in enumerate(run.params.weights):
        w = np.ascontiguousarray(host(weight)[member])
        linear = nn.Linear(w.shape[1], w.shape[0], bias=run.params.biases is not None, dtype=getattr(torch, str(w.dtype)))
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            if run.params.biases is not None:
                linear.bias.copy_(torch.from_numpy(np.ascontiguousarray(host(run.params.biases[l])[member, :, 0])))
        layers.append(linear)
        if l < net.depth - 1:
            layers.append(getattr(nn, TORCH_ACTIVATIONS[net.activation])())
    if net.output_scale != 1.0:
        layers.append(_scale_class()(net.output_scale))
    return nn.Sequential(*layers)


def _architecture(model) -> dict:
    """Layer sizes, activation, bias, output scale and dtype of a torch model in minifa's form."""
    torch = _torch()
    names = {v: k for k, v in TORCH_ACTIVATIONS.items()}
    modules = list(model) if isinstance(model, torch.nn.Sequential) else None
    if not modules:
        raise ConfigError("from_torch takes an nn.Sequential of Linear layers with Tanh/ReLU/Sigmoid/Identity "
                          f"between them, not {type(model).__name__}")
    linears, activations, scale = [], [], 1.0
    for i, module in enumerate(modules):
        kind = type(module).__name__
        if isinstance(module, torch.nn.Linear) and (not linears or len(activations) == len(linears)):
            linears.append(module)
        elif kind in names and len(activations) == len(linears) - 1:
            activations.append(names[kind])
        elif isinstance(module, _scale_class()) and i == len(modules) - 1:
            scale = module.scale
        else:
            raise ConfigError(f"from_torch: module {i} ({kind}) does not fit minifa's MLP: Linear layers, one of "
                              "Tanh/ReLU/Sigmoid/Identity between each two, minifa.interop.Scale last if any")
    if len(activations) != len(linears) - 1 or len(set(activations)) > 1:
        raise ConfigError("from_torch: minifa's MLP has one hidden activation for every layer and ends in a Linear; "
                          f"this model has {', '.join(activations) or 'none'}")
    for a, b in zip(linears, linears[1:]):
        if a.out_features != b.in_features:
            raise ConfigError(f"from_torch: a Linear of {a.out_features} outputs feeds one of {b.in_features} inputs")
    if len({m.bias is None for m in linears}) > 1:
        raise ConfigError("from_torch: minifa's layers have biases all or none; this model mixes them")
    dtype = str(linears[0].weight.dtype).removeprefix("torch.")
    if dtype not in TORCH_DTYPES:
        raise ConfigError(f"from_torch: weights of {dtype}; minifa runs float32 or float64 (model.float())")
    return {"layers": tuple([linears[0].in_features] + [m.out_features for m in linears]),
            "activation": activations[0] if activations else "tanh", "bias": linears[0].bias is not None,
            "output_scale": scale, "dtype": dtype, "linears": linears}


def from_torch(model, run=None, member: int = 0, backend=None, **config):
    """Copy ``model``'s weights into member ``member`` of ``run`` (its other members untouched)
    and return the run; without ``run``, build one of the model's architecture from ``config``
    (``Config`` fields; on ``backend``, default CPU) whose every member starts from the model."""
    import minifa as mf  # late: this module is read by minifa's own package import

    shape = _architecture(model)
    linears = shape.pop("linears")
    if run is None:
        clash = sorted(set(config) & set(shape))
        if clash:
            raise ConfigError(f"from_torch: {clash[0]} comes from the model; drop it from the config")
        run = mf.build(mf.Config(**shape, **config), backend or mf.get_backend("cpu"))
        members = range(run.params.members)
    else:
        net = run.net
        mine = {"layers": net.sizes, "activation": net.activation if net.depth > 1 else "tanh", "bias": net.bias,
                "output_scale": net.output_scale, "dtype": run.config.dtype}
        for key in mine:
            if mine[key] != shape[key]:
                raise ConfigError(f"from_torch: the model's {key} is {shape[key]!r}, the run's {mine[key]!r}")
        members = [_member(run, member)]
    host = run.backend.to_host
    for l, linear in enumerate(linears):
        weights = np.array(host(run.params.weights[l]))
        weights[list(members)] = linear.weight.detach().cpu().numpy()
        run.params.weights[l] = run.backend.asarray(weights, run.config.dtype)
        if run.params.biases is not None:
            biases = np.array(host(run.params.biases[l]))
            biases[list(members)] = linear.bias.detach().cpu().numpy()[:, None]
            run.params.biases[l] = run.backend.asarray(biases, run.config.dtype)
    return run


def _pandas():
    try:
        import pandas
    except ImportError:
        raise ConfigError("history_frame needs pandas: pip install pandas") from None
    return pandas


def history_frame(path):
    """The history of a checkpoint or a sweep results file as one tidy DataFrame, one row per
    recorded value: ``file``, ``point`` (the sweep unit; "" for a checkpoint), ``rule``,
    ``table`` ("steps" or "epochs"), ``step`` (<NA> in the epoch table), ``epoch``, ``member``,
    ``seed``, ``layer`` (1-based; <NA> for per-member metrics such as the loss), ``metric``,
    ``value``; then a column per sweep grid key and per setting given one per member (``init_scale``).
    E.g. ``df.query("metric == 'gradient_alignment' and layer == 2")``."""
    pd = _pandas()
    frames = []
    for run in read(path):
        seeds, own = np.asarray(run.config["seeds"]), run.member_settings()
        for table_name in ("steps", "epochs"):
            table = run.table(table_name)
            if len(table.get(X_AXIS[table_name], [])) == 0:
                continue
            for metric, values in table.items():
                if metric in X_AXIS.values():
                    continue
                values = np.asarray(values, dtype=float)
                t, r, l = np.meshgrid(*(np.arange(n) for n in values.shape[:2] + (values.shape[2:] or (1,))),
                                      indexing="ij")
                t, r, l = t.ravel(), r.ravel(), l.ravel()
                frame = pd.DataFrame({
                    "file": str(path), "point": run.key, "rule": run.config["rule"], "table": table_name,
                    "step": pd.array(table["step"][t] if "step" in table else [None] * t.size, dtype="Int64"),
                    "epoch": np.asarray(table["epoch"])[t], "member": r, "seed": seeds[r],
                    "layer": pd.array(l + 1 if values.ndim == 3 else [None] * t.size, dtype="Int64"),
                    "metric": metric, "value": values.ravel()})
                for key, value in run.point.items():  # the grid values (a grid's "rule" is the rule column)
                    if key not in frame:  # a list or dict value (layers, dataset options) as its JSON text
                        frame[key] = value if np.isscalar(value) else json.dumps(value)
                for key in sorted({k for member in own for k in member}):
                    frame[key] = [own[m].get(key) for m in r]
                frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
