"""Song, Xu & Lafferty 2021, Figure 2: on Gaussian data, FA aligns β with b only under L2.

Two-layer networks ``f(x) = β ψ(Wx)/√p`` (no biases; W, β, b entries N(0, 1)), n = 50
Gaussian points in d = 150 dimensions, targets from a linear map or a teacher of the same ψ
and width. Full-batch gradient descent on the code's loss ``(1/n) Σ e²`` with FA in the
hidden layer and weight decay λ on β only, at the step sizes and λ of the authors' code
(`song-xu-lafferty-methods.md`, §3; the paper's η are the code literals misread). Every
repetition draws fresh data, weights and b; the repetitions of one (ψ, λ, p) are one
ensemble with their own data (features × samples per member).

Recorded: the final alignment ``cos(β, b)`` and the training loss (penalty excluded) every
``loss_every`` steps. Length: at least ⌊5000·√p/14⌋ steps, then on until the loss moves
less than 1e-3 between checks 1000 steps apart, at most ``max_steps`` (quick: 15,000, which
stops the small widths before the code's rule would: alignment under λ > 0 is still rising
there, so quick underestimates it).

Paper (saved numbers): λ = 0 alignment falls with p (≈ .21/.22/.26 at p = 200, ≤ .02 at
12800); λ > 0 stays high and grows with λ; the λ = 0 loss falls by ≥ 7 decades in 5000
steps, λ > 0 plateaus at a floor growing with λ.

Command: ``python cli.py reproduce song-fig2``. Quick (p ≤ 3200, 2 repetitions, ≤ 15,000
steps, loss panel at p = 3200) ≈ 16 min on 2 cores; paper (p ≤ 12800, 50 repetitions,
loss panel at 3200) needs a GPU or a cluster.
"""

from __future__ import annotations

import math

import numpy as np

import minifa as mf
from minifa.data import gaussian_teacher
from minifa.metrics import cosine

from .framework import Claim, Unit, device_backend, fmt

NAME = "song-fig2"
TITLE = "Song et al. Figure 2: alignment vs width, Gaussian data"

# network -> [η, λ values] in the code's units (song-xu-lafferty-methods.md, §3); part of
# the config, so that its hash changes with them.
NETWORKS = {"linear": [1e-3, [0.0, 0.2, 0.3, 0.5]], "relu": [1e-2, [0.0, 0.02, 0.05, 0.2]],
            "tanh": [1e-1, [0.0, 0.001, 0.002, 0.005]]}
ENGINE_ACTIVATION = {"linear": "identity", "relu": "relu", "tanh": "tanh"}
COMMON = {"n": 50, "d": 150, "dtype": "float32", "loss_width": 3200, "loss_every": 10, "tolerance": 1e-3}

PROFILES = {
    "paper": {**COMMON, "networks": NETWORKS, "widths": [200 * 2**k for k in range(7)], "reps": 50,
              "max_steps": 400_000},
    "quick": {**COMMON, "networks": NETWORKS, "widths": [200, 400, 800, 1600, 3200], "reps": 2,
              "max_steps": 15_000},
    "tiny": {**COMMON, "networks": NETWORKS, "widths": [20, 40], "reps": 2, "max_steps": 60, "loss_width": 40,
             "n": 10, "d": 15},
}


def units(config: dict) -> list[Unit]:
    return [Unit(f"{net}_lambda{lam:g}_p{p}", {"network": net, "lambda": lam, "width": p})
            for net, (_, lams) in config["networks"].items() for lam in lams for p in config["widths"]]


def min_steps(width: int) -> int:
    """The code's minimum length, ⌊5000·√p/14⌋ (5050 steps at p = 200, 40406 at 12800)."""
    return math.floor(5000 * math.sqrt(width) / 14)


def member_data(backend, config: dict, network: str, width: int, dtype: str):
    """Each repetition's own data set, stacked on the ensemble axis: x (R, d, n), y (R, 1, n)."""
    sets = [gaussian_teacher(config["n"], config["d"], activation=network, width=width,
                             rng=np.random.default_rng([rep, width])) for rep in range(config["reps"])]
    x = backend.asarray(np.stack([s.x_train for s in sets]), dtype)
    y = backend.asarray(np.stack([s.y_train for s in sets]), dtype)
    return x, y


def run_unit(config: dict, unit: Unit) -> dict[str, np.ndarray]:
    network, lam, width = unit.params["network"], unit.params["lambda"], unit.params["width"]
    backend = device_backend(config)
    cfg = mf.Config(layers=(config["d"], width, 1), activation=ENGINE_ACTIVATION[network], loss="mse", bias=False,
                    output_scale=width ** -0.5, dtype=config["dtype"], init="normal", init_scale=1.0, rule="fa",
                    rule_options={"feedback": "normal"}, lr=config["networks"][network][0], l2=[0.0, lam],
                    batch_size=config["n"], shuffle=False, seeds=[1000 * rep + width for rep in range(config["reps"])])
    run = mf.build(cfg, backend)
    x, y = member_data(backend, config, network, width, config["dtype"])
    losses, steps, previous = [], [], None
    limit = min_steps(width)
    while run.step < config["max_steps"]:
        loss = mf.train_step(run, x, y, None, False)["loss"]
        checking = run.step >= limit and run.step % 1000 == 0
        if (run.step - 1) % config["loss_every"] == 0 or checking:
            loss = backend.to_host(loss)  # only when read: a device sync
        if (run.step - 1) % config["loss_every"] == 0:
            steps.append(run.step - 1)
            losses.append(loss)
        if checking:
            # The code's stopping rule: the training MSE moved < tolerance since 1000 steps ago.
            if previous is not None and np.all(np.abs(loss - previous) < config["tolerance"]):
                break
            previous = loss
    alignment = backend.to_host(cosine(backend.xp, run.params.weights[-1], run.rule.feedback[-1]))
    return {"alignment": alignment, "loss_step": np.asarray(steps), "loss": np.asarray(losses), "steps": np.asarray(run.step)}


def _alignment(results, network, lam, width):
    return results.units[f"{network}_lambda{lam:g}_p{width}"]["alignment"]


def claims(results) -> list[Claim]:
    widths, out = results.config["widths"], []
    for network, (_, lams) in results.config["networks"].items():
        zero = [np.mean(_alignment(results, network, 0.0, p)) for p in widths]
        out.append(Claim("S2", f"{network}, λ = 0: alignment falls as the width grows",
                         "monotone fall, ≤ .02 at p = 12800",
                         " → ".join(fmt(a) for a in zero) + f" (p = {widths[0]} … {widths[-1]})",
                         zero[-1] < zero[0]))
        at_largest = [np.mean(_alignment(results, network, lam, widths[-1])) for lam in lams]
        out.append(Claim("S2", f"{network}, λ > 0: alignment far above λ = 0 and rising with λ",
                         "λ>0 ≫ λ=0, rising with λ",
                         f"p = {widths[-1]}: " + ", ".join(f"λ {lam:g}: {fmt(a)}" for lam, a in zip(lams, at_largest)),
                         all(a > at_largest[0] for a in at_largest[1:]) and at_largest[-1] >= at_largest[1]))
        out += loss_claims(results, network, lams)
    return out


def loss_at(unit: dict, step: int) -> np.ndarray:
    """Mean training loss over repetitions at the last recorded step ≤ ``step``."""
    return unit["loss"][np.searchsorted(unit["loss_step"], step, side="right") - 1].mean()


def loss_claims(results, network: str, lams: list[float]) -> list[Claim]:
    width = results.config["loss_width"]
    units = [results.units.get(f"{network}_lambda{lam:g}_p{width}") for lam in lams]
    if any(u is None for u in units):
        return []
    start, end = units[0]["loss"][0].mean(), [loss_at(u, 5000) for u in units]
    decades = np.log10(start / end[0])
    return [
        Claim("S2", f"{network}, λ = 0: training loss falls log-linearly by decades", "≥ 7 decades in 5000 steps",
              f"p = {width}: {fmt(decades)} decades by step 5000", decades >= 7),
        Claim("S2", f"{network}, λ > 0: the loss plateaus at a floor rising with λ", "floor grows with λ",
              f"p = {width}, step 5000: " + ", ".join(f"λ {lam:g}: {fmt(e)}" for lam, e in zip(lams, end)),
              bool(np.all(np.diff(end) > 0))),
    ]
