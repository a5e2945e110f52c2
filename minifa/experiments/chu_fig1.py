"""Chu & Bacho 2024, Figure 1: the initial weight scale decides how well FA aligns and learns.

FA at weight scale factors 0 … 1 (the paper gives none; `chu-bacho-figures.md` picks eight),
±1 feedback, every member of a unit sharing one seed, so the members differ only in scale.
Panels: (a) test accuracy per epoch (first 10), (b) test accuracy after the last epoch
against the scale, (c) weight alignment cos(W_l, B_l) at the end of each epoch (a state), (d)
gradient alignment per epoch: the mean over the epoch's measured updates, every
``metrics_every``-th (20th: 30 of an epoch's 600). Run under both Flux readings of the loss.

Paper: small scales align more and learn faster; weight alignment stays under 0.1 within
10 epochs while gradient alignment is much higher; after 50 epochs larger initial weights
still give lower accuracy.

Command: ``python cli.py reproduce chu-fig1 --profile quick``. Time on 2 CPU cores: quick
(3 epochs, 1 seed, 2 losses) ≈ 3 min (measured: 28 s an epoch of the 8 scales); long (50
epochs, 3 seeds, 2 losses; nothing cut: the paper gives no repetition count) ≈ 2.3 h; paper
the same as long, with gradient alignment measured every 10th update.
"""

from __future__ import annotations

import numpy as np

from .chu_common import LOSSES, profiles
from .framework import Claim, Unit, build, fmt, per_epoch_mean, table, train_with_weight_alignment

NAME = "chu-fig1"
TITLE = "Figure 1: initial weight scale vs FA"
SCALES = [0.0, 0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0]

PROFILES = profiles(
    paper={"scales": SCALES, "epochs": 50, "seeds": [0, 1, 2], "losses": LOSSES, "metrics_every": 10},
    long={"scales": SCALES, "epochs": 50, "seeds": [0, 1, 2], "losses": LOSSES, "metrics_every": 20},
    quick={"scales": SCALES, "epochs": 3, "seeds": [0], "losses": LOSSES, "metrics_every": 20},
    tiny={"scales": [0.0, 0.05, 1.0], "epochs": 2, "seeds": [0], "losses": LOSSES, "metrics_every": 2},
)


def units(config: dict) -> list[Unit]:
    return [Unit(f"{loss}_seed{seed}", {"loss": loss, "seed": seed}) for loss in config["losses"] for seed in config["seeds"]]


def run_unit(config: dict, unit: Unit) -> dict[str, np.ndarray]:
    scales = config["scales"]
    run, data = build(config, rule="fa", loss=unit.params["loss"], init_scale=scales,
                      seeds=[unit.params["seed"]] * len(scales), metrics_every=config["metrics_every"],
                      epochs=config["epochs"])
    weight = train_with_weight_alignment(run, data)  # (epochs + 1, scales, layers): at each epoch's end
    return {
        "test_accuracy": table(run, "epochs", "test_accuracy"),  # (epochs + 1, scales)
        "train_loss": table(run, "epochs", "train_loss"),
        "weight_alignment": weight,
        "gradient_alignment": per_epoch_mean(run, "gradient_alignment"),  # (epochs, scales, layers)
    }


def claims(results) -> list[Claim]:
    scales = np.asarray(results.config["scales"])
    out = []
    for loss in results.config["losses"]:
        match = lambda p: p["loss"] == loss
        acc = results.stack("test_accuracy", match).mean(axis=0)  # (epochs + 1, scales)
        walign = results.stack("weight_alignment", match).mean(axis=0)
        galign = results.stack("gradient_alignment", match).mean(axis=0)
        small, large = (scales > 0) & (scales <= 0.05), scales >= 0.5
        last = len(acc) - 1
        out += [
            Claim("1b", f"[{loss}] larger initial weights give lower accuracy at the end",
                  "accuracy falls with the scale after 50 epochs",
                  f"epoch {last}: scale ≤0.05 {fmt(acc[-1, small].mean())}, ≥0.5 {fmt(acc[-1, large].mean())}",
                  acc[-1, small].mean() > acc[-1, large].mean()),
            Claim("1a", f"[{loss}] small scales learn faster",
                  "higher accuracy after epoch 1 at small scales",
                  f"epoch 1: ≤0.05 {fmt(acc[1, small].mean())}, ≥0.5 {fmt(acc[1, large].mean())}",
                  acc[1, small].mean() > acc[1, large].mean()),
            Claim("1c", f"[{loss}] weight alignment of the hidden layers stays under 0.1",
                  "< 0.1 within 10 epochs",
                  f"max hidden cos(W, B) {fmt(np.nanmax(walign[:10, :, :-1]))}",
                  np.nanmax(walign[:10, :, :-1]) < 0.1),
            Claim("1d", f"[{loss}] gradient alignment is much higher than weight alignment",
                  "gradient alignment ≫ weight alignment",
                  f"scale ≤0.05, hidden layers: gradient {fmt(np.nanmean(galign[:, small, :-1]))} vs weight {fmt(np.nanmean(walign[:, small, :-1]))}",
                  np.nanmean(galign[:, small, :-1]) > 2 * np.nanmean(walign[:, small, :-1])),
            Claim("1d", f"[{loss}] small scales align more",
                  "gradient alignment falls with the scale",
                  f"hidden gradient alignment, last epoch: ≤0.05 {fmt(np.nanmean(galign[-1, small, :-1]))}, ≥0.5 {fmt(np.nanmean(galign[-1, large, :-1]))}",
                  np.nanmean(galign[-1, small, :-1]) > np.nanmean(galign[-1, large, :-1])),
        ]
    return out
