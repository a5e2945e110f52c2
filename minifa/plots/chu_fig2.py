"""Chu & Bacho Figure 2 from results/chu-fig2.h5: first-update norm per layer vs scale."""

from __future__ import annotations

import numpy as np

from ..experiments.framework import layer_name
from .common import colours, label, panels, save


def plot(results, path) -> None:
    scales, losses = np.asarray(results.config["scales"]), results.config["losses"]
    fig, axes = panels(1, len(losses), f"Chu & Bacho Fig. 2 — norm of the first FA update ({results.profile} profile)")
    for ax, loss, letter in zip(axes[0], losses, "ab"):
        norms = np.concatenate(list(results.stack("update_norm", loss=loss)))
        depth = norms.shape[-1]
        for l, colour in enumerate(colours(depth)):
            name = layer_name(l, depth)
            low, median, high = np.percentile(norms[:, :, l], [25, 50, 75], axis=0)
            ax.plot(scales, median, color=colour, label=name)
            ax.fill_between(scales, low, high, color=colour, alpha=0.2, linewidth=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        label(ax, letter, f"{loss}, median and quartiles of {norms.shape[0]} repetitions", "weight scale factor",
              "‖ΔW_l‖ (first minibatch)")
        ax.legend(fontsize=8)
    save(fig, path)
