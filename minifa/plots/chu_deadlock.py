"""Appendix A.1 from results/chu-deadlock.h5: hidden weight norms and accuracy from W = 0."""

from __future__ import annotations

import numpy as np

from .common import label, panels, save


def plot(results, path) -> None:
    fig, axes = panels(1, 2, f"Zero initial weights: BP deadlocks, FA escapes ({results.profile} profile)")
    for rule, colour in (("bp", "tab:red"), ("fa", "tab:blue")):
        unit = results.unit(rule=rule)
        for l, style in ((0, "-"), (1, "--")):
            axes[0][0].plot(unit["step"], unit["weight_norm"][:, 0, l], style, color=colour, label=f"{rule.upper()} hidden {l + 1}")
        axes[0][1].plot(np.arange(len(unit["test_accuracy"])), unit["test_accuracy"][:, 0], color=colour, label=rule.upper())
    axes[0][0].set_yscale("symlog", linthresh=1e-3)
    label(axes[0][0], "a", "hidden weight norm ‖W_l‖", "update", "norm")
    label(axes[0][1], "b", "test accuracy", "epoch", "accuracy")
    for ax in axes[0]:
        ax.legend(fontsize=8)
    save(fig, path)
