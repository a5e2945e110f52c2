"""Refinetti et al. 2021's deep part from results/refinetti-2021-deep.h5: DFA's gradient
alignment per layer against the step (bottom first?), test accuracy of BP and DFA per epoch,
and the final accuracy against label noise."""

from __future__ import annotations

import numpy as np

from ..experiments.refinetti_deep import PER_EXAMPLE, readings
from .common import band, colours, label, panels, save

LAYERS = ("hidden 1", "hidden 2")
COLOURS = {"bp": "tab:blue", "dfa": "tab:red"}


def plot(results, path) -> None:
    c = results.config
    acts, noises = c["activations"], c["noises"]
    fig, axes = panels(2, len(acts) + 1, f"Refinetti et al. 2021 (deep) — {'–'.join(map(str, c['layers']))}, "
                       f"{len(c['seeds'])} seed(s), {c['epochs']} epoch(s) ({results.profile} profile)")
    for col, act in enumerate(acts):
        shown = [(results.unit(activation=act, noise=0.0, rule="dfa"), "-", "cos(ΔW_l, ∇W_l)")]
        if PER_EXAMPLE in readings(c):
            shown.append((results.unit(activation=act, noise=0.0, reading=PER_EXAMPLE), ":", "per-example"))
        for u, style, name in shown:
            for l, colour in zip(range(len(LAYERS)), ("tab:green", "tab:purple")):
                band(axes[0][col], np.maximum(u["step"], 1), u["alignment"][:, :, l], colour, f"{LAYERS[l]}, {name}",
                     axis=1, style=style)
        axes[0][col].set_xscale("log")
        axes[0][col].legend(fontsize=7)
        label(axes[0][col], "ab"[col], f"{act}, p = 0: DFA's alignment per layer", "step", "alignment")
        for rule, colour in COLOURS.items():
            acc = results.unit(activation=act, noise=0.0, rule=rule)["test_accuracy"]
            band(axes[1][col], np.arange(acc.shape[0]), acc, colour, rule.upper(), axis=1)
        axes[1][col].legend(fontsize=7)
        label(axes[1][col], "de"[col], f"{act}, p = 0: test accuracy", "epoch", "test accuracy")
    for act, colour in zip(acts, colours(len(acts))):
        for rule, style in (("dfa", "-"), ("bp", "--")):
            final = [results.unit(activation=act, noise=p, rule=rule)["test_accuracy"][-1] for p in noises]
            axes[1][-1].errorbar(noises, [f.mean() for f in final], yerr=[f.std() for f in final], ls=style,
                                 marker="o", color=colour, label=f"{act} {rule.upper()}")
    axes[1][-1].legend(fontsize=7)
    label(axes[1][-1], "f", "final test accuracy (noisy test labels, as theirs)", "label noise p", "test accuracy")
    for p, colour in zip(noises, colours(len(noises))):
        u = results.unit(activation=acts[0], noise=p, rule="dfa")
        axes[0][-1].plot(np.maximum(u["step"], 1), u["alignment"][:, :, 0].mean(1), color=colour, label=f"p {p:g}")
    axes[0][-1].set_xscale("log")
    axes[0][-1].legend(fontsize=7)
    label(axes[0][-1], "c", f"{acts[0]}: hidden 1's alignment by label noise", "step", "cos(ΔW_1, ∇W_1)")
    save(fig, path)
