"""Chu & Bacho Figure 1 from results/chu-fig1.h5: one row of five panels per loss reading, the
weight alignment of every layer shown (the hidden layers and the output apart: their ranges differ)."""

from __future__ import annotations

import numpy as np

from ..experiments.framework import layer_name
from .common import colours, label, panels, save


def plot(results, path) -> None:
    cfg = results.config
    scales, losses = np.asarray(cfg["scales"]), cfg["losses"]
    fig, axes = panels(len(losses), 5, f"Chu & Bacho Fig. 1 — FA vs initial weight scale ({results.profile} profile)")
    shades = colours(len(scales))
    for row, loss in zip(axes, losses):
        acc = results.stack("test_accuracy", loss=loss)  # (seeds, epochs + 1, scales)
        walign = results.stack("weight_alignment", loss=loss).mean(axis=0)  # (epochs + 1, scales, layers)
        galign = results.stack("gradient_alignment", loss=loss).mean(axis=0)
        shown = min(10, acc.shape[1] - 1)
        epochs = np.arange(shown + 1)
        for s, (scale, colour) in enumerate(zip(scales, shades)):
            row[0].plot(epochs, acc.mean(axis=0)[: shown + 1, s], color=colour, label=f"{scale:g}")
            for l, style in ((0, "-"), (1, "--")):
                row[2].plot(epochs, walign[: shown + 1, s, l], style, color=colour)
                row[4].plot(epochs[1:], galign[:shown, s, l], style, color=colour)
            row[3].plot(epochs, walign[: shown + 1, s, 2], ":", color=colour)
        label(row[0], "a", f"test accuracy [{loss}]", "epoch", "accuracy")
        row[0].legend(title="scale", fontsize=7, ncol=2)
        final = acc[:, -1, :]
        row[1].errorbar(np.maximum(scales, 1e-4), final.mean(axis=0), yerr=final.std(axis=0), marker="o")
        row[1].set_xscale("log")
        label(row[1], "b", f"accuracy after epoch {acc.shape[1] - 1} (± sd; scale 0 at 1e-4)", "weight scale", "accuracy")
        label(row[2], "c", f"weight alignment, {layer_name(0, 3)} (—), {layer_name(1, 3)} (--)", "epoch (end)",
              "cos(W, B)")
        label(row[3], "c", f"weight alignment, {layer_name(2, 3)} (⋯)", "epoch (end)", "cos(W, B)")
        label(row[4], "d", "gradient alignment, hidden 1 (—), 2 (--)",
              f"epoch (mean of every {cfg['metrics_every']}th update)", "cos(ΔFA, ΔBP)")
    save(fig, path)
