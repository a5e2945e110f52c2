"""Nøkland 2016 from results/nokland-2016.h5: the final test error of every row and rule
(mean ± sd over seeds), and the training and test error by epoch of each unit."""

from __future__ import annotations

import numpy as np

from .common import label, panels, save

COLOURS = {"bp": "tab:blue", "fa": "tab:green", "dfa": "tab:red"}


def table(ax, results) -> None:
    """Bars: final test error (%) per row, one bar per rule."""
    rows = [r["name"] for r in results.config["rows"]]
    for k, rule in enumerate(COLOURS):
        at = [(i, results.unit(row=r, rule=rule)["final_test_error"]) for i, r in enumerate(rows)
              if results.select(row=r, rule=rule)]
        if at:
            x, errors = zip(*at)
            ax.bar(np.array(x) + 0.27 * (k - 1), [100 * e.mean() for e in errors], 0.27,
                   yerr=[100 * e.std() for e in errors], color=COLOURS[rule], label=rule.upper())
    ax.set_xticks(range(len(rows)), rows, rotation=30, ha="right", fontsize=7)
    ax.axhline(1.45, color="k", ls=":", label="1.45 % (DFA + dropout, abstract)")
    ax.legend(fontsize=6, loc="lower right")


def curves(ax, results, name: str) -> None:
    """``name`` (%) by epoch, mean ± sd over seeds, for every unit (members that stopped drop out)."""
    dropout = {r["name"]: r["dropout"] for r in results.config["rows"]}
    for key in results.select():
        params, values = results.params[key], 100 * results.units[key][name]
        first = 1 if name == "train_error" else 0
        x, colour = np.arange(first, first + values.shape[0]), COLOURS[params["rule"]]
        mean, sd = np.nanmean(values, axis=1), np.nanstd(values, axis=1)
        style = "o--" if dropout[params["row"]] else "o-"  # a dropout row beside its plain row, same rule colour
        ax.plot(x, mean, style, ms=3, color=colour, label=f"{params['row']} {params['rule'].upper()}")
        ax.fill_between(x, mean - sd, mean + sd, color=colour, alpha=0.2)
    ax.set_yscale("log")
    ax.legend(fontsize=6)


def plot(results, path) -> None:
    c = results.config
    most = max(r.get("epochs", c["epochs"]) for r in c["rows"])
    fig, axes = panels(1, 3, f"Nøkland 2016 — MNIST, RMSprop lr {c['lr']:g}, batch {c['batch_size']}, ≤ {most} "
                       f"epochs, {len(c['seeds'])} seed(s) ({results.profile} profile)")
    table(axes[0][0], results)
    label(axes[0][0], "a", "final test error", "", "test error (%)")
    curves(axes[0][1], results, "train_error")
    label(axes[0][1], "b", "training error (batches before each update)", "epoch", "training error (%)")
    curves(axes[0][2], results, "test_error")
    label(axes[0][2], "c", "test error", "epoch", "test error (%)")
    save(fig, path)
