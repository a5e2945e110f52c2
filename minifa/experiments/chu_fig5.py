"""Chu & Bacho 2024, Figure 5: FA's solutions are stable under BP, not the reverse.

FA and BP start from the same weights and see the same minibatches. Each is an ensemble of
two identical members until update ``swap`` (the paper's 25,000), when member 1 of each
takes the other's weights: (a) BP continues from FA's weights (``cos(W_FA, W_BP←FA)``), (b)
FA continues from BP's weights (``cos(W_FA←BP, W_BP)``). Recorded every ``record_every``
updates for hidden layer 2 and the output layer (all layers are stored), with the test
accuracy of all four networks every ``eval_every`` updates.

Paper: (a) the alignment jumps to 1 and stays there; (b) it falls, and FA's accuracy drops
at once. The total length is not given: 50,000 updates (a parameter).

Command: ``python cli.py reproduce chu-fig5``. Quick: 6,000 updates, 1 seed; long = paper:
50,000 updates, swap at 25,000, 3 seeds (the paper shows one run). Costs: BENCHMARKS.md,
"Cost of every profile".
"""

from __future__ import annotations

import numpy as np

from minifa.metrics import cosine
from minifa import epoch_batches, train_step

from .chu_common import profiles
from .compare import Stat, above, exceeds
from .framework import Claim, Experiment, Lazy, Unit, fresh_run, layer_name, test_accuracy

# Extra evaluations this many updates after the swap, to see whether the drop is immediate.
SOON_AFTER = (1, 5, 20, 100)

NAME = "chu-fig5"
TITLE = "Figure 5: swapping FA and BP weights mid-training"

PROFILES = profiles(
    paper={"updates": 50000, "swap": 25000, "record_every": 250, "eval_every": 1000, "seeds": [0, 1, 2],
           "init_scale": 0.05},
    long={"updates": 50000, "swap": 25000, "record_every": 250, "eval_every": 1000, "seeds": [0, 1, 2],
          "init_scale": 0.05},
    quick={"updates": 6000, "swap": 3000, "record_every": 100, "eval_every": 500, "seeds": [0], "init_scale": 0.05},
    tiny={"updates": 40, "swap": 20, "record_every": 4, "eval_every": 10, "seeds": [0], "init_scale": 0.05},
)


def units(config: dict) -> list[Unit]:
    return [Unit(f"seed{s}", {"seed": s}) for s in config["seeds"]]


def swap(xp, fa, bp) -> None:
    """Member 1 of FA takes BP's member 0 and member 1 of BP takes FA's member 0."""
    for mine, theirs in ((fa.params.weights, bp.params.weights), (fa.params.biases, bp.params.biases)):
        for l, (a, b) in enumerate(zip(list(mine), list(theirs))):
            mine[l] = xp.concat([a[:1], b[:1]], axis=0)
            theirs[l] = xp.concat([b[:1], a[:1]], axis=0)


def alignments(xp, fa, bp) -> np.ndarray:
    """Per layer: (a) cos(FA_0, BP_1), (b) cos(FA_1, BP_0); shape (2, layers)."""
    return np.stack([fa.backend.to_host(cosine(xp, w, xp.flip(v, axis=0)))
                     for w, v in zip(fa.params.weights, bp.params.weights)], axis=-1)


def run_unit(config: dict, unit: Unit) -> dict[str, np.ndarray]:
    seeds = [unit.params["seed"]] * 2
    fa, data = fresh_run(config, rule="fa", init_scale=config["init_scale"], seeds=seeds, shared_order=True)
    bp, _ = fresh_run(config, rule="bp", init_scale=config["init_scale"], seeds=seeds, shared_order=True)
    xp, out = fa.xp, {"record_step": [], "alignment": [], "eval_step": [], "fa_accuracy": [], "bp_accuracy": []}
    while fa.step < config["updates"]:
        for x, targets, labels in epoch_batches(fa, data):  # BP is fed FA's batches
            if fa.step == config["swap"]:
                swap(xp, fa, bp)
            if fa.step % config["record_every"] == 0:
                out["record_step"].append(fa.step)
                out["alignment"].append(alignments(xp, fa, bp))
            if fa.step % config["eval_every"] == 0 or fa.step - config["swap"] in SOON_AFTER:
                out["eval_step"].append(fa.step)
                out["fa_accuracy"].append(test_accuracy(fa, data))
                out["bp_accuracy"].append(test_accuracy(bp, data))
            train_step(fa, x, targets, labels, False)
            train_step(bp, x, targets, labels, False)
            if fa.step >= config["updates"]:
                break
    return {k: np.asarray(v) for k, v in out.items()}


def claims(results) -> list[Claim]:
    """Over seeds (one unit each). After the swap, per seed: the lowest cos(W_FA, W_BP←FA)
    (a), the last cos of (a) against (b), and FA←BP's lowest accuracy within the first 100
    updates against BP's just before (b)."""
    swap_at = results.config["swap"]
    per = {"stays": [], "gap": [], "drop": []}
    for key in sorted(results.units):
        unit = results.units[key]
        steps, align, evals = unit["record_step"], unit["alignment"], unit["eval_step"]  # align (K, 2, layers)
        after = steps > swap_at
        soon = (evals > swap_at) & (evals <= swap_at + SOON_AFTER[-1])
        per["stays"].append(align[after, 0, :].min(axis=0))  # (layers,)
        per["gap"].append(align[-1, 0, :] - align[-1, 1, :])
        per["drop"].append(unit["bp_accuracy"][np.argmax(evals >= swap_at) - 1, 0] - unit["fa_accuracy"][soon, 1].min())
    out, depth = [], len(per["stays"][0])
    for l in (depth - 2, depth - 1):  # hidden 2 and the output layer, the paper's two
        name = layer_name(l, depth)
        stays = Stat.of([v[l] for v in per["stays"]])
        gap = Stat.of([v[l] for v in per["gap"]])
        out += [
            Claim.checked("5a", f"{name}: BP started from FA's weights stays at them", "cos jumps to 1 and stays (> 0.95)",
                          f"lowest cos(W_FA, W_BP←FA) after the swap: {stays}", above(stays, 0.95)),
            Claim.checked("5b", f"{name}: FA started from BP's weights leaves them, BP from FA's does not",
                          "(b) falls while (a) stays; gap ≥ 0.05 in cosine (our choice)",
                          f"cos at the end, (a) − (b): {gap}", exceeds(gap, 0.05)),
        ]
    drop = Stat.of(per["drop"])
    out.append(Claim.checked("5b", "FA's accuracy drops at once when it gets BP's weights",
                             "immediate drop; ≥ 5 points within 100 updates (our choice)",
                             f"BP's accuracy just before − FA←BP's lowest within {SOON_AFTER[-1]} updates: {drop}",
                             exceeds(drop, 0.05)))
    return out


FIGURE = Experiment(name=NAME, title=TITLE, profiles=PROFILES, units=units, run_unit=run_unit, claims=claims,
                    plot=Lazy("minifa.plots.chu_fig5"), paper="Chu & Bacho 2024")
