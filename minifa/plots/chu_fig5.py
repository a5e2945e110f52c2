"""Chu & Bacho Figure 5 from results/chu-fig5.h5: (a) FA → BP swap, (b) BP → FA swap."""

from __future__ import annotations

from .common import label, panels, save


def plot(results, path) -> None:
    swap = results.config["swap"]
    fig, axes = panels(2, 2, f"Chu & Bacho Fig. 5 — swap at update {swap} ({results.profile} profile)")
    unit = results.units[sorted(results.units)[0]]
    steps, align = unit["record_step"], unit["alignment"]
    for row, (member, title) in enumerate(((0, "FA weights copied into BP"), (1, "BP weights copied into FA"))):
        ax = axes[row][0]
        ax.plot(steps, align[:, member, 1], label="hidden 2")
        ax.plot(steps, align[:, member, -1], label="output")
        ax.axvline(swap, color="grey", ls=":")
        label(ax, "ab"[row], f"{title}: cos(W_FA, W_BP)", "update", "alignment")
        ax.legend(fontsize=8)
        ax = axes[row][1]
        ax.plot(unit["eval_step"], unit["fa_accuracy"][:, member], label="FA" + (" ← BP" if member else ""))
        ax.plot(unit["eval_step"], unit["bp_accuracy"][:, member], label="BP" + (" ← FA" if not member else ""))
        ax.axvline(swap, color="grey", ls=":")
        label(ax, "ab"[row], "test accuracy", "update", "accuracy")
        ax.legend(fontsize=8)
    save(fig, path)
