"""Lillicrap et al. 2016 from results/lillicrap-2016.h5: T1's errors and angle, Fig. 4's
angles against ω, T3's errors by depth, T2's MNIST test errors (and after the ω/β search, where run)."""

from __future__ import annotations

import numpy as np

from ..experiments.lillicrap_2016_claims import THEIRS
from .common import band, colours, label, panels, save

RULE_COLOURS = {"bp": "black", "fa": "tab:green", "shallow": "tab:grey"}


def _t1(results, errors, angle):
    t1 = results.config["t1"]
    blocks = np.arange(t1["epochs"] + 1) * t1["block"]
    for rule, colour in RULE_COLOURS.items():
        band(errors, blocks, results.unit(part="t1", rule=rule)["error"], colour, rule, axis=1)
    errors.set_yscale("log")
    errors.legend(fontsize=8)
    label(errors, "a", "T1: normalised squared error (test)", "examples seen", "Σ‖ŷ − y‖² / Σ‖y‖²")
    fa = results.unit(part="t1", rule="fa")
    band(angle, blocks, fa["angle_bp"], "tab:green", "∠(Δh_FA, Δh_BP)", axis=1)
    band(angle, blocks, fa["angle_pinv"], "tab:purple", "∠(Δh_FA, W⁺e)", axis=1)
    angle.set_ylim(0, 90)
    angle.legend(fontsize=8)
    label(angle, "b", "T1: FA's angles (first update, block means)", "examples seen", "degrees")


def _fig4(results, over_time, against):
    fig4, cfg = results.unit(part="fig4"), results.config["fig4"]
    omegas, blocks = cfg["omegas"], np.arange(cfg["epochs"] + 1) * cfg["block"]
    for k, (w, colour) in enumerate(zip(omegas, colours(len(omegas)))):
        over_time.plot(blocks, fig4["angle_bp"][:, k].mean(axis=-1), "-", color=colour, label=f"{w:g}")
        over_time.plot(blocks, fig4["angle_pinv"][:, k].mean(axis=-1), "--", color=colour)
    over_time.legend(title="ω", fontsize=6, ncol=3)
    label(over_time, "c", "Fig. 4: FA to BP (—) and to W⁺e (--)", "examples seen", "degrees")
    for key, colour, name in (("angle_bp", "tab:green", "to BP"), ("angle_pinv", "tab:purple", "to W⁺e")):
        final = fig4[key][-1]  # (ω, seeds)
        against.errorbar(omegas, final.mean(axis=-1), yerr=final.std(axis=-1), marker="o", color=colour, label=name)
    against.set_xscale("log")
    against.legend(fontsize=8)
    label(against, "d", "Fig. 4: last block's angle against ω", "ω (W ~ U[-ω, ω])", "degrees")


def _t3(results, ax):
    t3 = results.config["t3"]
    blocks = np.arange(t3["epochs"] + 1) * t3["block"]
    for rule, colour in (("bp", "black"), ("fa", "tab:green")):
        for depth, style in ((2, "--"), (3, "-")):
            err = results.unit(part="t3", rule=rule, depth=depth)["error"]
            ax.plot(blocks, err.mean(axis=1), style, color=colour, label=f"{rule} {'30–20–10' if depth == 2 else '30–20–10–10'}")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    label(ax, "e", "T3: tanh students of a tanh teacher", "examples seen", "normalised squared error")


def _t2(results, ax):
    tuned = "t2_tuned" in results.config
    for rule, colour in RULE_COLOURS.items():
        err = 100 * results.unit(part="t2", rule=rule)["test_error"]
        ax.plot(np.arange(err.shape[0]), err.mean(axis=1), color=colour, label=f"{rule} (theirs {100 * THEIRS[rule]:.1f} %)")
        ax.axhline(100 * THEIRS[rule], color=colour, linestyle=":", linewidth=1)
        if tuned:
            unit = results.unit(part="t2_tuned", rule=rule)
            ax.plot(np.arange(unit["test_error"].shape[0]), 100 * unit["test_error"].mean(axis=1), "--", color=colour,
                    label=f"{rule} at the search's ω {unit['choice'][0]:g}" + (f", β {unit['choice'][1]:g}" if rule == "fa" else ""))
    ax.set_yscale("log" if tuned else "linear")
    ax.legend(fontsize=6)
    label(ax, "f", "T2: MNIST test error (dotted: theirs)", "epoch", "% error")


def plot(results, path) -> None:
    fig, axes = panels(2, 3, f"Lillicrap et al. 2016 ({results.profile} profile)")
    _t1(results, axes[0, 0], axes[0, 1])
    _fig4(results, axes[0, 2], axes[1, 0])
    _t3(results, axes[1, 1])
    _t2(results, axes[1, 2])
    save(fig, path)
