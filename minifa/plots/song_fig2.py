"""Song et al. Figure 2 from results/song-fig2.h5: for each network, final cos(β, b) against
the width (mean ± sd over repetitions) and the training loss against the step at one width."""

from __future__ import annotations

import numpy as np

from ..experiments.song_fig2 import total_reps
from ..experiments.song_fig2_claims import unit
from .common import band, colours, label, panels, save

LOSS_STEPS = 5000


def plot(results, path) -> None:
    cfg = results.config
    nets, widths = cfg["networks"], np.asarray(cfg["widths"])
    reps = "/".join(str(total_reps(cfg, p)) for p in widths)
    fig, axes = panels(2, len(nets), f"Song, Xu & Lafferty Fig. 2 — Gaussian data, {reps} repetitions at "
                                     f"p = {widths[0]} … {widths[-1]} ({results.profile} profile)")
    for col, (net, (eta, lams)) in enumerate(nets.items()):
        for lam, colour in zip(lams, colours(len(lams))):
            align = [unit(results, net, lam, p)["alignment"] for p in widths]  # repetitions per width may differ
            axes[0][col].errorbar(widths, [a.mean() for a in align], yerr=[a.std() for a in align], marker="o",
                                  color=colour, label=f"λ = {lam:g}")
            loss = unit(results, net, lam, cfg["loss_width"])
            shown = loss["loss_step"] <= LOSS_STEPS  # the paper's loss panels show the first 5000 steps
            band(axes[1][col], loss["loss_step"][shown], np.log10(loss["loss"][shown]), colour, f"λ = {lam:g}", axis=1)
        axes[0][col].set_xscale("log")
        axes[0][col].set_xticks(widths, [str(p) for p in widths], minor=False)
        axes[0][col].set_xticks([], minor=True)  # the log axis' minor labels would overlap these
        label(axes[0][col], "abc"[col], f"{net}: alignment, η = {eta:g}", "width p", "cos(β, b)")
        label(axes[1][col], "def"[col], f"{net}: training loss, p = {cfg['loss_width']}", "step", "log10 MSE")
        axes[0][col].legend(fontsize=7)
        axes[1][col].legend(fontsize=7)
    save(fig, path)
