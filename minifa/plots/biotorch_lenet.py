"""BioTorch's MNIST LeNet benchmark from results/biotorch-lenet.h5: test error per epoch (the
reruns at other rates dashed), ours (best epoch) beside theirs, and cos(W_l, B_l) of every
layer at the end."""

from __future__ import annotations

import numpy as np

from ..experiments.biotorch_lenet import THEIRS, errors
from .common import band, colours, label, panels, save


def plot(results, path) -> None:
    rules = results.config["rules"]
    fig, axes = panels(1, 3, f"BioTorch's MNIST LeNet ({results.profile} profile)")
    curves, bars, aligned = axes[0]
    palette = dict(zip(rules, colours(len(rules))))
    for rule, colour in palette.items():
        error = results.stack("test_error", rule=rule, lr=None)
        band(curves, np.arange(error.shape[-1]), error, colour, rule)
    for rule, lr in results.config.get("reruns", {}).items():
        if results.select(rule=rule, lr=lr):
            error = results.stack("test_error", rule=rule, lr=lr)
            band(curves, np.arange(error.shape[-1]), error, palette[rule], f"{rule} η {lr:g}", style="--")
    curves.set_yscale("log")
    curves.legend(fontsize=8)
    label(curves, "a", "test error", "epoch", "top-1 error (%)")
    x = np.arange(len(rules))
    bars.bar(x - 0.2, [np.mean(errors(results, r)) for r in rules], 0.4, label="minifa (best epoch)")
    bars.bar(x + 0.2, [THEIRS[r] for r in rules], 0.4, label="BioTorch")
    bars.set_xticks(x, rules)
    bars.legend(fontsize=8)
    label(bars, "b", "ours beside theirs", "rule", "top-1 error (%)")
    for rule, colour in palette.items():
        final = results.stack("weight_alignment", rule=rule, lr=None)[:, -1]  # (seeds, layers)
        if np.all(np.isfinite(final)):
            aligned.plot(np.arange(1, final.shape[-1] + 1), final.mean(axis=0), "o-", color=colour, label=rule)
    aligned.legend(fontsize=8)
    label(aligned, "c", "weight alignment at the end", "layer (conv 1-3, dense 4-5)", "cos(W_l, B_l)")
    save(fig, path)
