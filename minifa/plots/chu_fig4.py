"""Chu & Bacho Figure 4 from results/chu-fig4.h5: three panels, one line per variant."""

from __future__ import annotations

import numpy as np

from .common import label, panels, save

COLOURS = {"blue": "tab:blue", "green": "tab:green", "red": "tab:red", "pm1-equal": "black", "pm1-scaled": "grey"}


def plot(results, path) -> None:
    fig, axes = panels(1, 3, f"Chu & Bacho Fig. 4 — weights built from B, scale {results.config['init_scale']:g} "
                             f"({results.profile} profile)")
    for name, unit in sorted(results.units.items()):
        colour, style = COLOURS[name], "--" if name.startswith("pm1") else "-"
        epochs = np.arange(1, unit["gradient_alignment"].shape[0] + 1)
        axes[0][0].plot(epochs, np.nanmean(unit["gradient_alignment"][:, :, 1], axis=1), style, color=colour, label=name)
        axes[0][1].plot(np.arange(len(unit["weight_alignment"])), np.nanmean(unit["weight_alignment"][:, :, 1], axis=1),
                        style, color=colour, label=name)
        axes[0][2].plot(np.arange(len(unit["test_accuracy"])), unit["test_accuracy"].mean(axis=1), style, color=colour, label=name)
    every = results.config["metrics_every"]
    label(axes[0][0], "a", f"gradient alignment, hidden 2: epoch mean, every {every}th update", "epoch", "cos(ΔFA, ΔBP)")
    label(axes[0][1], "b", "weight alignment, hidden 2, at each epoch's end", "epoch", "cos(W_2, B_2)")
    label(axes[0][2], "c", "test accuracy", "epoch", "accuracy")
    axes[0][2].legend(fontsize=8)
    save(fig, path)
