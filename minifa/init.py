"""Initialisers, drawn on the host per ensemble member (then moved to the device).

Weights: ``normal`` is Chu & Bacho's "standard normal × weight scale factor" (scale 0 gives
zeros); ``glorot`` is Flux's ``glorot_uniform(; gain = scale)``: U[-a, a),
a = gain · sqrt(6/(fan_in + fan_out)) (the CLI's default gain is 1);
``uniform``: U[-ω, ω) with ω the scale (Lillicrap et al. 2016's "U[-0.01, 0.01]");
``torch`` is Torch's ``nn.Linear`` default, uniform by fan-in: U[-a, a), a = scale/sqrt(fan_in),
for the weights and the biases alike (the CLI's default scale is 1, as glorot's gain);
``zeros``. Biases start at zero (Flux ``Dense``) except under ``torch``. Feedback: ``pm1``
(entries ±1, the paper's default), ``normal`` N(0, 1), ``uniform`` U[-1, 1), each times a scale. Draws are float64 and
cast afterwards, so a float32 and a float64 network from one seed are the same network.
Figure 4 initialises the weights from the feedback instead, Nøkland's FA the feedback from the
weights (``weights_from_feedback``).
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError, choose


def _normal(rng, shape, scale):
    return scale * rng.standard_normal(shape)


def _glorot(rng, shape, scale):
    fan_out, fan_in = shape
    return scale * (rng.random(shape) - 0.5) * np.sqrt(24.0 / (fan_in + fan_out))


def _uniform(rng, shape, scale):
    return scale * rng.uniform(-1.0, 1.0, size=shape)


def _fan_in(rng, shape, scale, fan_in=None):
    """``scale`` · U[−1/√fan_in, 1/√fan_in) of ``shape`` (out, in); fan_in defaults to in."""
    bound = scale / np.sqrt(shape[1] if fan_in is None else fan_in)
    return rng.uniform(-bound, bound, size=shape)


def _fan_in_bias(rng, shape, scale):
    """The bias (out, 1) of a weight of ``shape``, with the weight's bound."""
    return _fan_in(rng, (shape[0], 1), scale, fan_in=shape[1])


def _zeros(rng, shape, scale):
    return np.zeros(shape)


def _zero_bias(rng, shape, scale):
    return np.zeros((shape[0], 1))


WEIGHT_INITS = {"normal": _normal, "glorot": _glorot, "torch": _fan_in, "uniform": _uniform, "zeros": _zeros}
# Inits whose biases are drawn too; the others' start at zero.
BIAS_INITS = {"torch": _fan_in_bias}
# Inits whose scale is a gain, 1 unless given (the CLI's default init scale, 0.05, is normal's).
GAIN_INITS = ("glorot", "torch")

FEEDBACK_INITS = {
    "pm1": lambda rng, shape: rng.choice(np.array([-1.0, 1.0]), size=shape),
    "normal": lambda rng, shape: rng.standard_normal(shape),
    "uniform": lambda rng, shape: rng.uniform(-1.0, 1.0, size=shape),
}

# Figure 4 builds the weights from the feedback: "sign" keeps |W| and takes sign(B)
# (green), "equal" sets W = scale · B (red); "none" leaves W independent (blue).
# Nøkland 2016's FA goes the other way: B_l is a copy of W_l's initial draw ("copied"), and
# for tanh and sigmoid W_l is then zeroed ("moved").
COUPLINGS = ("none", "sign", "equal", "copied", "moved")


def weight_sampler(name: str, shape: tuple[int, int], scale: float):
    """A function ``rng -> array`` drawing one member's weight matrix of ``shape``."""
    init = choose("init", name, WEIGHT_INITS)
    return lambda rng: init(rng, shape, scale)


def bias_sampler(name: str, shape: tuple[int, int], scale: float):
    """A function ``rng -> array`` drawing one member's bias (out, 1) of a weight of ``shape``."""
    choose("init", name, WEIGHT_INITS)
    init = BIAS_INITS.get(name, _zero_bias)
    return lambda rng: init(rng, shape, scale)


def feedback_sampler(name: str, shape: tuple[int, int], scale: float = 1.0):
    """A function ``rng -> array`` drawing one member's feedback matrix of ``shape``."""
    init = choose("feedback", name, FEEDBACK_INITS)
    return lambda rng: scale * init(rng, shape)


def couple_weights(weights: np.ndarray, feedback: np.ndarray, mode: str, scale: np.ndarray) -> np.ndarray:
    """Weights built from the feedback (Figure 4), on the host: ``sign``: |W| ⊙ sign(B);
    ``equal``: scale · B; ``scale`` has one entry per member."""
    choose("weights-from-feedback mode", mode, COUPLINGS)
    if mode == "sign":
        return np.abs(weights) * np.sign(feedback)
    if mode == "equal":
        return scale.reshape(-1, 1, 1) * feedback
    return weights


def weights_from_feedback(backend, params, rule, mode: str, scales: np.ndarray, dtype: str) -> None:
    """Couple the initial ``params`` and the rule's B_l, in place: Figure 4's W_l from B_l
    (``couple_weights``, ``scales`` (R,) as ``Config.init_scales``), or B_l from W_l
    (``copied``, ``moved``: ``copy_weights``); ``none`` leaves both alone. Only a rule whose
    B_l is drawn once with W_l's shape has a B to couple to."""
    if mode == "none":
        return
    feedback = rule.feedback  # drawn once, not derived from W ([] for rules without one)
    if [b.shape for b in feedback] != [w.shape for w in params.weights]:
        raise ConfigError(f"weights-from-feedback needs a rule with fixed B_l of W_l's shape (fa, kolen-pollack), not {rule.name!r}")
    if mode in ("copied", "moved"):
        copy_weights(backend.xp, params, rule, zero=mode == "moved")
        return
    params.weights = [backend.asarray(couple_weights(backend.to_host(w), backend.to_host(b), mode, scales), dtype)
                      for w, b in zip(params.weights, feedback)]


def copy_weights(xp, params, rule, zero: bool) -> None:
    """Nøkland 2016's FA start: ``B_l ← W_l`` (a copy of its initial draw), then with ``zero``
    ``W_l, b_l ← 0``, for every layer but the first (dfa-torch's FA ``Linear`` copies its Torch
    init into its feedback, and the model zeroes it for tanh and sigmoid; its first layer is a
    plain ``nn.Linear``, whose B carries no error)."""
    for l in range(1, len(params.weights)):
        rule.feedback[l] = xp.asarray(params.weights[l], copy=True)
    if zero:
        params.weights[1:] = [xp.zeros_like(w) for w in params.weights[1:]]
        if params.biases is not None:
            params.biases[1:] = [xp.zeros_like(b) for b in params.biases[1:]]
