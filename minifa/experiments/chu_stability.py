"""Chu & Bacho 2024, section 2.2, eq. 10–11: the loss falls only where gradient alignment is
positive.

FA runs (at each scale in ``scales``, ``reps`` members each) are trained; every
``probe_every`` updates, before the step, ``minifa.diagnostics.stability`` measures on the
current minibatch each layer's gradient alignment, the first-order loss change
``−η ⟨∇_l, Δ_l⟩`` of a step of that layer alone, and the measured change, at a small step
(``probe_lr``, where first order is exact) and at the training step (``lr``).

Paper: to first order an FA step changes the loss by ``−η ΔBP · ΔFA``, so it decreases the
loss exactly when the alignment is positive.

Command: ``python cli.py reproduce chu-stability``. Quick (1 epoch, 2 members) ≈ 15 s; long =
paper (3 epochs, 3 members per scale, a probe every 50 updates) ≈ 1 min.
"""

from __future__ import annotations

import numpy as np

from minifa.diagnostics import stability
from minifa import epoch_batches, train_step

from .chu_common import profiles
from .framework import Claim, Unit, build, fmt

NAME = "chu-stability"
TITLE = "Stability criterion (eq. 10-11) over FA training"

PROFILES = profiles(
    paper={"scales": [0.05, 1.0], "reps": 3, "epochs": 3, "probe_every": 50, "probe_lr": 1e-3},
    long={"scales": [0.05, 1.0], "reps": 3, "epochs": 3, "probe_every": 50, "probe_lr": 1e-3},
    quick={"scales": [0.05, 1.0], "reps": 2, "epochs": 1, "probe_every": 30, "probe_lr": 1e-3},
    tiny={"scales": [0.05, 1.0], "reps": 2, "epochs": 1, "probe_every": 2, "probe_lr": 1e-3},
)


def units(config: dict) -> list[Unit]:
    return [Unit(f"scale{s:g}", {"scale": s}) for s in config["scales"]]


def run_unit(config: dict, unit: Unit) -> dict[str, np.ndarray]:
    run, data = build(config, rule="fa", init_scale=unit.params["scale"], seeds=list(range(config["reps"])))
    rows = {"step": [], "alignment": [], "predicted_small": [], "measured_small": [],
            "predicted_step": [], "measured_step": []}
    for _ in range(config["epochs"]):
        for x, targets, labels in epoch_batches(run, data):
            if run.step % config["probe_every"] == 0:
                small, step = stability(run, x, targets, config["probe_lr"], run.config.lr)
                rows["step"].append(run.step)
                rows["alignment"].append(np.stack([np.full(run.params.members, np.nan) if a is None else a
                                                   for a in small["alignment"]], axis=-1))
                for name, probe in (("small", small), ("step", step)):
                    rows[f"predicted_{name}"].append(np.stack(probe["predicted"], axis=-1))
                    rows[f"measured_{name}"].append(np.stack(probe["measured"], axis=-1))
            train_step(run, x, targets, labels, False)
    return {k: np.asarray(v) for k, v in rows.items()}  # (probes, members, layers)


def claims(results) -> list[Claim]:
    out = []
    for key, unit in sorted(results.units.items()):
        align, measured, predicted = unit["alignment"], unit["measured_small"], unit["predicted_small"]
        hidden = np.s_[:, :, :-1]
        clear = np.abs(predicted[hidden]) > 3e-6  # float32 resolves a loss change of ~10 eps × loss, no less
        agree = np.mean((measured[hidden][clear] < 0) == (align[hidden][clear] > 0))
        out.append(Claim("eq10-11", f"[{key}] a small FA step lowers the loss exactly where alignment > 0",
                         "sign(ΔL) = −sign(alignment) to first order",
                         f"signs agree in {agree:.1%} of {clear.sum()} hidden-layer probes",
                         agree >= 0.9))
        rel = np.median(np.abs(measured[hidden][clear] - predicted[hidden][clear]) / np.abs(predicted[hidden][clear]))
        out.append(Claim("eq10-11", f"[{key}] the first-order prediction −η⟨∇, Δ⟩ matches the measured change",
                         "first-order expansion", f"median relative error {fmt(rel)} at η = {results.config['probe_lr']:g}",
                         rel < 0.1))
    return out
