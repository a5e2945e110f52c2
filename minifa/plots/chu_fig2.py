"""Chu & Bacho Figure 2 from results/chu-fig2.h5: first-update norm per layer vs scale."""

from __future__ import annotations

import numpy as np

from .common import band, colours, label, panels, save


def plot(results, path) -> None:
    scales, losses = np.asarray(results.config["scales"]), results.config["losses"]
    fig, axes = panels(1, len(losses), f"Chu & Bacho Fig. 2 — norm of the first FA update ({results.profile} profile)")
    for ax, loss, letter in zip(axes[0], losses, "ab"):
        norms = np.concatenate(list(results.stack("update_norm", lambda p: p["loss"] == loss)))
        for l, (name, colour) in enumerate(zip(["hidden 1", "hidden 2", "output"], colours(3))):
            band(ax, scales, norms[:, :, l], colour, name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        label(ax, letter, f"{loss}, {norms.shape[0]} repetitions", "weight scale factor", "‖ΔW_l‖ (first minibatch)")
        ax.legend(fontsize=8)
    save(fig, path)
