"""Chu & Bacho 2024, Figure 4: high alignment can hurt.

Four FA runs: feedback N(0, 1) and weights 0.05 · N(0, 1) independent of it (blue), with
the blue magnitudes but sign(W) = sign(B) (green), W = 0.05 · B (red); and the text's unshown
case (section 3.3), B from {−1, +1} and "the initial weights equal to the feedback matrices",
W = B, unscaled (``pm1-equal``). Panels: (a) gradient
alignment of hidden layer 2, the mean over each epoch's measured updates (every
``metrics_every``-th), (b) weight alignment cos(W_2, B_2) at the end of each epoch (a state),
(c) test accuracy after each epoch.

Paper: red ≥ green ≥ blue in alignment, blue best in accuracy; ±1 feedback with W = B aligns
almost perfectly yet learns nothing.

Command: ``python cli.py reproduce chu-fig4``. Quick (3 epochs, 1 seed) ≈ 1 min; long = paper
(the paper's 10 epochs, 5 seeds: it gives no count) ≈ 12 min on 2 cores.
"""

from __future__ import annotations

import numpy as np

from .chu_common import profiles
from .framework import Claim, Unit, build, fmt, per_epoch_mean, table, train_with_weight_alignment

NAME = "chu-fig4"
TITLE = "Figure 4: weights built from the feedback"

# name -> [feedback distribution, how W is built from B, weight scale (None: the config's)];
# part of the config, so that changing a variant changes the config hash.
VARIANTS = {"blue": ["normal", "none", None], "green": ["normal", "sign", None], "red": ["normal", "equal", None],
            "pm1-equal": ["pm1", "equal", 1.0]}

PROFILES = profiles(
    paper={"epochs": 10, "seeds": [0, 1, 2, 3, 4], "init_scale": 0.05, "metrics_every": 10, "variants": VARIANTS},
    long={"epochs": 10, "seeds": [0, 1, 2, 3, 4], "init_scale": 0.05, "metrics_every": 10, "variants": VARIANTS},
    quick={"epochs": 3, "seeds": [0], "init_scale": 0.05, "metrics_every": 20, "variants": VARIANTS},
    tiny={"epochs": 2, "seeds": [0, 1], "init_scale": 0.05, "metrics_every": 2, "variants": VARIANTS},
)


def units(config: dict) -> list[Unit]:
    return [Unit(name, {"variant": name}) for name in config["variants"]]


def run_unit(config: dict, unit: Unit) -> dict[str, np.ndarray]:
    feedback, coupling, scale = config["variants"][unit.params["variant"]]
    run, data = build(config, rule="fa", rule_options={"feedback": feedback}, weights_from_feedback=coupling,
                      init_scale=config["init_scale"] if scale is None else scale, seeds=config["seeds"], epochs=config["epochs"],
                      metrics_every=config["metrics_every"])
    weight = train_with_weight_alignment(run, data)  # (epochs + 1, seeds, layers): at each epoch's end
    return {
        "test_accuracy": table(run, "epochs", "test_accuracy"),  # (epochs + 1, seeds)
        "gradient_alignment": per_epoch_mean(run, "gradient_alignment"),  # (epochs, seeds, layers)
        "weight_alignment": weight,
    }


def claims(results) -> list[Claim]:
    last = {k: {name: np.nanmean(v[-1], axis=0) for name, v in u.items()} for k, u in results.units.items()}
    grad = {k: v["gradient_alignment"][1] for k, v in last.items()}
    weight = {k: v["weight_alignment"][1] for k, v in last.items()}
    acc = {k: v["test_accuracy"] for k, v in last.items()}
    return [
        Claim("4a", "gradient alignment of hidden 2: red ≥ green ≥ blue", "red ≥ green ≥ blue",
              f"red {fmt(grad['red'])}, green {fmt(grad['green'])}, blue {fmt(grad['blue'])}",
              grad["red"] >= grad["green"] >= grad["blue"]),
        Claim("4b", "weight alignment cos(W_2, B_2): red ≥ green ≥ blue", "red ≥ green ≥ blue",
              f"red {fmt(weight['red'])}, green {fmt(weight['green'])}, blue {fmt(weight['blue'])}",
              weight["red"] >= weight["green"] >= weight["blue"]),
        Claim("4c", "the least aligned (blue) learns best", "blue best in accuracy",
              f"blue {fmt(acc['blue'])}, green {fmt(acc['green'])}, red {fmt(acc['red'])}",
              acc["blue"] >= max(acc["green"], acc["red"])),
        Claim("4", "±1 feedback with W = B aligns almost perfectly yet learns nothing",
              "alignment ≈ 1, accuracy ≈ chance",
              f"cos(W_2, B_2) {fmt(weight['pm1-equal'])}, accuracy {fmt(acc['pm1-equal'])}",
              weight["pm1-equal"] > 0.9 and acc["pm1-equal"] < 0.2,
              known="W = B = ±1 is an init scale of 1, which learns slowly (Fig. 1) but does learn"),
    ]
