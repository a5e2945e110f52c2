"""The stability criterion from results/chu-stability.h5: measured loss change of a small
FA step against the first-order prediction, and against the gradient alignment."""

from __future__ import annotations

import numpy as np

from .common import colours, label, panels, save


def plot(results, path) -> None:
    fig, axes = panels(1, 3, f"Stability of FA steps, eq. 10–11 ({results.profile} profile)")
    for (key, unit), colour in zip(sorted(results.units.items()), colours(len(results.units))):
        for l, marker in ((0, "o"), (1, "^")):
            pred, meas = unit["predicted_small"][:, :, l].ravel(), unit["measured_small"][:, :, l].ravel()
            axes[0][0].scatter(pred, meas, s=8, marker=marker, color=colour, label=f"{key}, hidden {l + 1}")
            axes[0][1].scatter(unit["alignment"][:, :, l].ravel(), meas, s=8, marker=marker, color=colour)
        axes[0][2].plot(unit["step"], np.nanmean(unit["alignment"][:, :, 1], axis=1), color=colour, label=f"{key}, hidden 2")
    for ax in axes[0][:2]:
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_yscale("symlog", linthresh=1e-5)
    axes[0][0].set_xscale("symlog", linthresh=1e-5)
    axes[0][0].plot([-1e-1, 1e-1], [-1e-1, 1e-1], color="grey", lw=0.8, ls=":")  # measured = predicted
    axes[0][1].axvline(0, color="grey", lw=0.8)
    label(axes[0][0], "a", f"measured vs predicted, η = {results.config['probe_lr']:g}", "−η⟨∇_l, Δ_l⟩", "measured ΔL")
    label(axes[0][1], "b", "loss change vs gradient alignment", "cos(ΔFA_l, ΔBP_l)", "measured ΔL")
    label(axes[0][2], "c", "alignment over training", "update", "gradient alignment")
    axes[0][0].legend(fontsize=7)
    axes[0][2].legend(fontsize=7)
    save(fig, path)
