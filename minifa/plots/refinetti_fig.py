"""Refinetti et al. 2021 from results/refinetti-2021.h5: error and alignment of BP and DFA from
zero and random init, simulation (markers) against the ODEs (lines), and the order parameters."""

from __future__ import annotations

import numpy as np

from ..experiments.refinetti_fig import rows
from .common import label, panels, save

COLOURS = {"bp": "tab:blue", "dfa": "tab:red"}


def curves(ax, results, name: str, init: str, sim: str, theory: str) -> None:
    """Seed-mean simulation (markers, ±1 sd) and ODE (line) of ``name`` for every rule."""
    t = results.stack("t")[0]
    for rule in results.config["rules"]:
        s, o = rows(results, sim, init, rule)[:, 1:], rows(results, theory, init, rule)[:, 1:]  # t > 0: log axis
        if np.isnan(s).all():
            continue  # cos(v, b) of BP from zero init: v stays 0
        colour = COLOURS[rule]
        ax.errorbar(t[1:], s.mean(0), yerr=s.std(0), fmt="o", ms=3, color=colour, alpha=0.6,
                    label=f"{rule.upper()} simulation (mean ± sd)")
        ax.plot(t[1:], o.mean(0), color=colour, label=f"{rule.upper()} ODE")
    ax.set_xscale("log")


def plot(results, path) -> None:
    c = results.config
    n = len(results.select(init="zero"))
    fig, axes = panels(2, 3, f"Refinetti et al. 2021 — online teacher–student, N = {c['N']}, K = {c['K']}, "
                       f"M = {c['M']}, η = {c['lr']:g}, {n} seed(s) ({results.profile} profile)")
    for row, init in enumerate(("zero", "random")):
        curves(axes[row][0], results, "eg", init, "eg_test", "eg_ode")
        axes[row][0].set_yscale("log")
        label(axes[row][0], "ad"[row], f"{init} init: generalisation error", "t = steps / N", "ε_g (test set)")
        curves(axes[row][1], results, "cos", init, "cos_sim", "cos_ode")
        label(axes[row][1], "be"[row], f"{init} init: alignment", "t = steps / N", "cos(v, b)")
    t = results.stack("t")[0]
    for rule, style in (("dfa", "-"), ("bp", "--")):
        s, o = rows(results, "R_sim", "random", rule)[0], rows(results, "R_ode", "random", rule)[0]
        for k in range(s.shape[1]):
            axes[0][2].plot(t[1:], s[1:, k, k], "o", ms=2, color=COLOURS[rule], alpha=0.5)
            axes[0][2].plot(t[1:], o[1:, k, k], style, color=COLOURS[rule], lw=1)
    axes[0][2].set_xscale("log")
    label(axes[0][2], "c", "random init, seed 0: order parameters", "t = steps / N",
          "R_kk (dots sim; ODE: DFA —, BP --)")
    gap = np.abs(results.stack("eg_test") - results.stack("eg_ode")) / results.stack("eg_sim")[..., :1]
    for unit, g in zip(results.select(), gap):
        for r, rule in enumerate(c["rules"]):
            axes[1][2].plot(t[1:], g[r, 1:], color=COLOURS[rule], alpha=0.5, lw=1)
    axes[1][2].axhline(0.05, color="k", ls=":", label="tolerance 0.05")
    axes[1][2].set_xscale("log")
    label(axes[1][2], "f", "simulation vs ODE, every member", "t = steps / N", "|ε_test − ε_ode| / ε_g(0)")
    for ax in (axes[0][0], axes[0][1], axes[1][2]):
        ax.legend(fontsize=7)
    save(fig, path)
