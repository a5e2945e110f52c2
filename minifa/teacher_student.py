"""The online teacher–student two-layer network of Refinetti, d'Ascoli, Ohana & Goldt (2021),
trained by BP or DFA on a fresh Gaussian input at every step, many members at once.

Student ŷ(x) = Σ_k v_k g(λ_k), λ_k = w_k·x/√N; teacher y(x) = Σ_m A_m g(ν_m), ν_m = B_m·x/√N;
g(z) = erf(z/√2) (Goldt et al.'s ``g_erf``), x ~ N(0, I_N), e = y − ŷ. One SGD step (batch 1):

    w_k ← w_k + (η/√N) f_k g'(λ_k) e x,    v_k ← v_k + (η/N) g(λ_k) e,    t ← t + 1/N,

with both updates from the old weights and f = v for BP, f = b (a fixed random vector, DFA's
feedback) for DFA. These are the scalings of the authors' simulator (sdascoli/dfa-dynamics,
``shallow/fa.cpp``, commit 7a009ed, read not copied), under which the order parameters
Q = wwᵀ/N, R = wBᵀ/N, T = BBᵀ/N and v follow the N → ∞ ODEs of ``teacher_student_ode``.

Why a module of its own and not ``minifa.Network``: the engine trains on a data set in epochs
with one learning rate, biases, checks and a history per step; here the hot loop is 1000·N
batch-1 steps on fresh data with per-layer rates η/√N and η/N, where the engine's per-step
machinery would cost more than the maths. It shares the engine's vocabulary instead: g is the
engine's ``erf`` activation, the rules are named ``bp`` and ``dfa`` (for one hidden layer DFA is
FA with B = b), draws come from the engine's per-member ``Streams`` and ``Backend.normal``.
Members (seeds × rules) run side by side on a leading axis, as the engine's ensemble does.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .activations import erf
from .errors import ConfigError
from .streams import Streams

RULES = ("bp", "dfa")
INITS = ("random", "zero")


def g(xp, z):
    """erf(z/√2)."""
    return erf(xp, z * (1.0 / math.sqrt(2.0)))


def g_prime(xp, z):
    """g'(z) = √(2/π) e^{−z²/2}."""
    return math.sqrt(2.0 / math.pi) * xp.exp(-0.5 * z * z)


class Weights(NamedTuple):
    """Arrays of S members: teacher (B (S, M, N), A (S, M)), student (w (S, K, N), v (S, K)), feedback b (S, K)."""

    B: Any
    A: Any
    w: Any
    v: Any
    b: Any


def draw(streams: list[Streams], N: int, K: int, M: int, init: str, scale: float = 1.0) -> Weights:
    """Host float64 weights per member (the authors' defaults): B, A ~ N(0, 1) (``init_teacher_randomly``);
    w, v ~ N(0, scale²) (``INIT_LARGE``: scale 1) or all zero (``INIT_ZEROS``); b ~ N(0, 1). Teacher
    and student come from the ``init`` stream, b from ``feedback``: members of one seed share all of them."""
    if init not in INITS:
        raise ConfigError(f"unknown init {init!r}; use one of {', '.join(INITS)}")
    out = []
    for s in streams:
        rng = s["init"]
        B, A = rng.standard_normal((M, N)), rng.standard_normal(M)
        w, v = scale * rng.standard_normal((K, N)), scale * rng.standard_normal(K)
        if init == "zero":
            w, v = np.zeros((K, N)), np.zeros(K)
        out.append((B, A, w, v, s["feedback"].standard_normal(K)))
    return Weights(*(np.stack(column) for column in zip(*out)))


def fields(xp, weights, x):
    """Local fields weights·x/√N: (S, K, N) × (S, N) → (S, K)."""
    return (weights @ x[..., None])[..., 0] * (1.0 / math.sqrt(x.shape[-1]))


def step(xp, net: Weights, is_dfa, x, lr: float) -> Weights:
    """One online SGD step of every member on its input x (S, N); ``is_dfa`` (S,) picks f = b over f = v.
    Updates ``net.w`` in place (a copy per step would cost more than the step) and returns the new net."""
    N, K = x.shape[-1], net.v.shape[-1]
    lam = fields(xp, net.w, x)
    both = g(xp, xp.concat([lam, fields(xp, net.B, x)], axis=-1))  # one erf call for student and teacher
    hidden = both[:, :K]
    e = xp.sum(net.A * both[:, K:], axis=-1) - xp.sum(net.v * hidden, axis=-1)
    f = xp.where(is_dfa[:, None], net.b, net.v)
    delta = f * g_prime(xp, lam) * e[:, None]
    net.w[...] += (lr / math.sqrt(N)) * delta[..., None] * x[:, None, :]  # in place: w is the big array
    return net._replace(v=net.v + (lr / N) * hidden * e[:, None])


def order_parameters(xp, net: Weights) -> dict[str, Any]:
    """Q = wwᵀ/N, R = wBᵀ/N, T = BBᵀ/N per member."""
    N = net.w.shape[-1]
    wt, Bt = xp.matrix_transpose(net.w), xp.matrix_transpose(net.B)
    return {"Q": net.w @ wt / N, "R": net.w @ Bt / N, "T": net.B @ Bt / N}


def outputs(xp, first, second, x_test):
    """Σ_k second_k g(first_k·x/√N) of every member on every test input x_test (n, N): (S, n)."""
    fields = (first @ xp.matrix_transpose(x_test)) * (1.0 / math.sqrt(x_test.shape[-1]))
    return xp.sum(second[..., None] * g(xp, fields), axis=-2)


def test_error(xp, net: Weights, x_test, y_test) -> Any:
    """½ mean over the test inputs x_test (n, N) of (y − ŷ)², y_test = the teacher's outputs: (S,)."""
    return 0.5 * xp.mean((y_test - outputs(xp, net.w, net.v, x_test)) ** 2, axis=-1)


def cosine(xp, a, b):
    """cos(a, b) along the last axis; NaN where either is zero (zero init, t = 0)."""
    norm = xp.sqrt(xp.sum(a * a, axis=-1) * xp.sum(b * b, axis=-1))
    return xp.sum(a * b, axis=-1) / xp.where(norm > 0, norm, xp.nan)


def record_steps(N: int, t_max: float, points: int) -> np.ndarray:
    """Step 0 and ``points`` log-spaced steps from t = 0.1 to t_max (t = steps/N), as the authors log."""
    steps = np.unique(np.round(np.logspace(-1, math.log10(t_max), points) * N).astype(np.int64))
    return np.unique(np.concatenate([[0], steps[steps > 0]]))


CHUNK = 256  # inputs drawn per member at a time: the stream, hence the run, is fixed bit for bit by the seed


def simulate(backend, streams: list[Streams], rules: list[str], N: int, K: int, M: int, lr: float, init: str,
             steps: np.ndarray, x_test: np.ndarray, scale: float = 1.0) -> dict[str, np.ndarray]:
    """Train every member (seed ``streams[r]``, rule ``rules[r]``) for ``steps[-1]`` steps; at each of
    ``steps`` record Q, R, v, the test error on ``x_test`` and cos(v, b). Also returns the draws
    (T, A, b and the initial Q, R, v are what the ODEs start from). Float64 throughout."""
    if any(r not in RULES for r in rules):
        raise ConfigError(f"unknown rule in {rules}; teacher-student rules are {', '.join(RULES)}")
    xp, host = backend.xp, draw(streams, N, K, M, init, scale)
    net = Weights(*(backend.asarray(a, "float64") for a in host))
    is_dfa, x_test = backend.asarray(np.array([r == "dfa" for r in rules])), backend.asarray(x_test, "float64")
    y_test = outputs(xp, net.B, net.A, x_test)  # the teacher does not learn
    rows, wanted, done = [], set(int(s) for s in steps), 0

    def measure(net):
        order = order_parameters(xp, net)
        row = {"Q": order["Q"], "R": order["R"], "v": net.v, "eg_test": test_error(xp, net, x_test, y_test),
               "cos_vb": cosine(xp, net.v, net.b)}
        rows.append({k: backend.to_host(a) for k, a in row.items()})

    while True:
        block = xp.permute_dims(backend.normal(streams, "data", (CHUNK, N), "float64"), (1, 0, 2))
        for i in range(CHUNK):
            if done in wanted:
                measure(net)
            if done == steps[-1]:
                out = {k: np.stack([r[k] for r in rows], axis=1) for k in rows[0]}  # (S, times, ...)
                return {**out, "T": backend.to_host(order_parameters(xp, net)["T"]), "A": host.A, "b": host.b}
            net = step(xp, net, is_dfa, block[i], lr)
            done += 1
