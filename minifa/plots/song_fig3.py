"""Song et al. Figure 3 from results/song-fig3.h5: alignment vs step, test accuracy vs epoch."""

from __future__ import annotations

import numpy as np

from .common import band, colours, label, panels, save


def plot(results, path) -> None:
    lams = results.config["lambdas"]
    fig, axes = panels(1, 2, f"Song, Xu & Lafferty Fig. 3 — MNIST, 784-1000-10 ReLU ({results.profile} profile)")
    fa, bp = results.select(rule="fa"), results.select(rule="bp")
    steps = results.units[fa[0]]["step"]
    align = np.stack([results.units[k]["alignment"] for k in fa])  # (seeds, steps, lambdas)
    acc = np.stack([results.units[k]["test_accuracy"] for k in fa])
    for i, (lam, colour) in enumerate(zip(lams, colours(len(lams)))):
        band(axes[0][0], steps, align[:, :, i], colour, f"λ = {lam:g}")
        band(axes[0][1], np.arange(acc.shape[1]), acc[:, :, i], colour, f"FA, λ = {lam:g}")
        if bp:
            bp_acc = np.stack([results.units[k]["test_accuracy"] for k in bp])
            axes[0][1].plot(np.arange(bp_acc.shape[1]), bp_acc[:, :, i].mean(axis=0), ":", color=colour, label=f"BP, λ = {lam:g}")
    label(axes[0][0], "a", f"alignment, mean ± sd over {len(fa)} seed(s)", "step", "mean_i cos(Bᵀe_i, βᵀe_i)")
    label(axes[0][1], "b", "test accuracy", "epoch", "accuracy")
    for ax in axes[0]:
        ax.legend(fontsize=7)
    save(fig, path)
