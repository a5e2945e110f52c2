"""Chu & Bacho 2024, appendix A.1: all-zero initial weights deadlock BP but not FA.

With W = 0 every hidden activation is tanh(0) = 0, so BP's output layer sees zero inputs
and its error ``W_lᵀ δ`` sent down is zero: the hidden layers never move, and only the
output biases learn (chance accuracy). FA sends the error down through a fixed random B, so
its hidden layers move at once and it learns. Recorded: each layer's weight norm and update
norm every ``metrics_every`` updates, and the test accuracy per epoch.

Command: ``python cli.py reproduce chu-deadlock``. Quick: 2 epochs, 1 seed; long = paper: 5
epochs, 3 seeds. Costs: BENCHMARKS.md, "Cost of every profile".
"""

from __future__ import annotations

import numpy as np

import minifa as mf

from .chu_common import profiles
from .compare import Stat, below, every, exceeds, fmt, paired
from .framework import Claim, Experiment, Lazy, Unit, fresh_run, table

NAME = "chu-deadlock"
TITLE = "Appendix A.1: zero initial weights"

PROFILES = profiles(
    paper={"epochs": 5, "seeds": [0, 1, 2], "metrics_every": 10},
    long={"epochs": 5, "seeds": [0, 1, 2], "metrics_every": 10},
    quick={"epochs": 2, "seeds": [0], "metrics_every": 20},
    tiny={"epochs": 2, "seeds": [0], "metrics_every": 2},
)


def units(config: dict) -> list[Unit]:
    return [Unit(rule, {"rule": rule}) for rule in ("bp", "fa")]


def run_unit(config: dict, unit: Unit) -> dict[str, np.ndarray]:
    run, data = fresh_run(config, rule=unit.params["rule"], init_scale=0.0, seeds=config["seeds"],
                          epochs=config["epochs"], metrics_every=config["metrics_every"])
    norms = []

    def weight_norms(run, metrics):
        if "update_norm" in metrics:
            norms.append(np.stack([np.linalg.norm(run.backend.to_host(w), axis=(1, 2)) for w in run.params.weights], -1))

    mf.train(run, data, on_step=weight_norms)
    return {"step": table(run, "steps", "step"), "update_norm": table(run, "steps", "update_norm"),
            "weight_norm": np.asarray(norms), "test_accuracy": table(run, "epochs", "test_accuracy")}


def claims(results) -> list[Claim]:
    """Over seeds (the members of each unit)."""
    bp, fa = results.unit(rule="bp"), results.unit(rule="fa")
    bp_acc, fa_acc = bp["test_accuracy"][-1], fa["test_accuracy"][-1]
    moved = fa["weight_norm"][-1, :, :-1].min()
    learns = paired(fa_acc, bp_acc)
    return [
        Claim.checked("A.1", "BP from zero weights: hidden layers never move", "deadlock at W = 0: exactly 0",
                      f"max hidden ‖W‖ over the run {fmt(bp['weight_norm'][:, :, :-1].max())}",
                      (bool(bp["weight_norm"][:, :, :-1].max() == 0.0), "exactly 0")),
        Claim.checked("A.1", "BP from zero weights stays at chance", "only the output biases learn: ≈ 0.11, below 0.12",
                      f"test accuracy {Stat.of(bp_acc)}", below(Stat.of(bp_acc), 0.12)),
        Claim.checked("A.1", "FA from zero weights escapes and learns", "hidden layers move; FA far above BP (≥ 50 points, our choice)",
                      f"smallest hidden ‖W‖ at the end {fmt(moved)}; accuracy FA − BP {learns}",
                      every([(bool(moved > 0.0), "hidden ‖W‖ > 0"), exceeds(learns, 0.5)])),
    ]


FIGURE = Experiment(name=NAME, title=TITLE, profiles=PROFILES, units=units, run_unit=run_unit, claims=claims,
                    plot=Lazy("minifa.plots.chu_deadlock"), paper="Chu & Bacho 2024")
