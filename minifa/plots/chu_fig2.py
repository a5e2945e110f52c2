"""Chu & Bacho Figure 2 from results/chu-fig2.h5: first-update norm per layer vs scale, one
row per reading of "the first update", one column per loss."""

from __future__ import annotations

import numpy as np

from ..experiments.chu_fig2 import norms_of, readings
from ..experiments.framework import layer_name
from .common import colours, label, panels, save

WHAT = {"initial": "first minibatch", "after-one-step": "second minibatch, after one step",
        "batch1": "first example alone"}


def plot(results, path) -> None:
    scales, losses, rows = np.asarray(results.config["scales"]), results.config["losses"], readings(results.config)
    fig, axes = panels(len(rows), len(losses), f"Chu & Bacho Fig. 2 — norm of the first FA update, median and quartiles "
                                               f"over repetitions ({results.profile} profile)")
    letters = iter("abcdefghijkl")
    for row, reading in zip(axes, rows):
        for ax, loss in zip(row, losses):
            norms = norms_of(results, loss, reading)
            depth = norms.shape[-1]
            for l, colour in enumerate(colours(depth)):
                low, median, high = np.percentile(norms[:, :, l], [25, 50, 75], axis=0)
                ax.plot(scales, median, color=colour, label=layer_name(l, depth))
                ax.fill_between(scales, low, high, color=colour, alpha=0.2, linewidth=0)
            ax.set_xscale("log")
            ax.set_yscale("log")
            label(ax, next(letters), f"{loss}, {reading} (n = {norms.shape[0]})", "weight scale factor",
                  f"‖ΔW_l‖ ({WHAT[reading]})")
            ax.legend(fontsize=8)
    save(fig, path)
