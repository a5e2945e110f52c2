"""Chu & Bacho Figure 3 from results/chu-fig3.h5: (a) relative accuracy vs target alignment;
(b), (c) accuracy after a few updates vs mean gradient alignment, one row per initial scale."""

from __future__ import annotations

import numpy as np

from ..experiments.chu_fig3 import accuracy_ratios, scales_a
from .common import label, panels, save


def plot(results, path) -> None:
    cfg = results.config
    scales = cfg["scales_bc"]
    fig, axes = panels(len(scales), 3, f"Chu & Bacho Fig. 3 ({results.profile} profile)")
    a = np.asarray(cfg["alignments"])
    ax = axes[0][0]
    for scale in scales_a(cfg):  # one colour per scale: its curve and its last-layer line
        ratio, last = accuracy_ratios(results, scale)
        line = ax.errorbar(a, ratio.mean(axis=0), yerr=ratio.std(axis=0), marker="o", label=f"perturbed BP, scale {scale:g}")
        ax.axhline(last.mean(), color=line[0].get_color(), linestyle="--", label=f"last layer only, scale {scale:g}")
    ax.legend(fontsize=7)
    label(ax, "a", f"one epoch, {cfg['reps']} repetitions", "target alignment a", "accuracy / BP's")
    for row, scale in enumerate(scales):
        if row > 0:
            axes[row][0].axis("off")
        for col, (layer, letter) in enumerate(((0, "b"), (1, "c")), start=1):
            ax = axes[row][col]
            fa, pert, ll = (results.unit(panel="bc", method=m, scale=scale) for m in ("fa", "perturbed", "last-layer"))
            ax.scatter(fa["gradient_alignment"][:, layer], fa["accuracy"], s=12, label="FA")
            ax.scatter(pert["gradient_alignment"][:, layer], pert["accuracy"], s=12, marker="^", label="perturbed BP")
            ax.axhline(ll["accuracy"].mean(), color="red", label="last layer only")
            label(ax, letter, f"hidden {layer + 1}, scale {scale:g}, after {cfg['updates_bc']} updates",
                  "mean gradient alignment", "test accuracy")
            ax.legend(fontsize=7)
    save(fig, path)
