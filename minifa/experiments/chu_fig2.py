"""Chu & Bacho 2024, Figure 2: the size of FA's first step falls as the initial weights grow.

For every weight scale factor and repetition, the norm ‖ΔW_l‖ of the FA update of each layer
(hidden 1, hidden 2, output) on the first minibatch. Each repetition draws new weights, B and
batch; within a repetition all scales share one draw. Both Flux loss readings: under
``softmax-crossentropy`` the output error carries p_c/(p_c + ε) and vanishes when the true
class's probability underflows at large scales (appendix A.2); under ``logitcrossentropy`` it
stays O(1). Whether the *output* layer's norm falls tells which reading the paper used.

Paper: the norm falls rapidly as the scale grows (tanh and softmax saturate).

Command: ``python cli.py reproduce chu-fig2``. Quick = long = paper: 50 repetitions, nothing
cut. Costs: BENCHMARKS.md, "Cost of every profile".
"""

from __future__ import annotations

import numpy as np

import minifa as mf
from minifa.batches import epoch_batches

from .chu_common import LOSSES, profiles
from .compare import Stat, above, below, every, fmt
from .framework import BANDS_DECLARED, Claim, Experiment, Known, Lazy, Unit, banded, fresh_run, layer_name

NAME = "chu-fig2"
TITLE = "Figure 2: first-update norm vs initial weight scale"
SCALES = [float(s) for s in np.logspace(-3, 1, 17)]

PROFILES = profiles(
    paper={"scales": SCALES, "reps": 50, "reps_per_unit": 5, "losses": LOSSES},
    long={"scales": SCALES, "reps": 50, "reps_per_unit": 5, "losses": LOSSES},
    quick={"scales": SCALES, "reps": 50, "reps_per_unit": 5, "losses": LOSSES},  # = long: 10 gave too few for 2 SE
    tiny={"scales": [0.01, 0.1, 1.0, 10.0], "reps": 4, "reps_per_unit": 2, "losses": LOSSES},
)


def units(config: dict) -> list[Unit]:
    chunk = config["reps_per_unit"]
    return [Unit(f"{loss}_reps{start}", {"loss": loss, "reps": list(range(start, min(start + chunk, config["reps"])))})
            for loss in config["losses"] for start in range(0, config["reps"], chunk)]


def run_unit(config: dict, unit: Unit) -> dict[str, np.ndarray]:
    scales, reps = config["scales"], unit.params["reps"]
    run, data = fresh_run(config, rule="fa", loss=unit.params["loss"], init_scale=scales * len(reps),
                          seeds=[r for r in reps for _ in scales])
    x, targets, _ = next(epoch_batches(run, data))
    updates = mf.batch_updates(run, x, targets)
    norms = np.stack([np.linalg.norm(run.backend.to_host(u.weight), axis=(1, 2)) for u in updates], axis=-1)
    return {"update_norm": norms.reshape(len(reps), len(scales), -1)}  # (reps, scales, layers)


def claims(results) -> list[Claim]:
    """Per loss reading and layer, over repetitions (each repetition one draw shared by all
    scales, so per-repetition ratios are paired): (i) the norm at the largest scale against
    the repetition's largest, a fall of more than a decade; (ii) the median never rises by
    more than 10 % from one scale to the next (the paper: "reduces rapidly as the initial
    weights increase"), which (i) alone would not see."""
    scales = np.asarray(results.config["scales"])
    out = []
    for loss in results.config["losses"]:
        norms = np.concatenate(list(results.stack("update_norm", loss=loss)))  # (reps, S, L)
        median = np.median(norms, axis=0)
        for l in range(norms.shape[-1]):
            name = layer_name(l, norms.shape[-1])
            with np.errstate(divide="ignore", invalid="ignore"):
                # a step that underflowed to exactly 0 counts as 30 decades down, not as missing
                fall = Stat.of(np.log10(np.maximum(norms[:, -1, l] / norms[:, :, l].max(axis=1), 1e-30)))
                rise = np.max(median[1:, l] / median[:-1, l])
            out.append(Claim.checked(
                "2", f"[{loss}] {name}: the first FA step shrinks as the scale grows",
                "norm falls rapidly with the scale; effect: more than a decade (our choice)",
                f"log10 ‖ΔW‖(scale {scales[-1]:g}) / its largest over the scales: {fall}", below(fall, -1.0),
                known=banded(FALL_KNOWN.get((loss, name)), lambda: above(fall, FLAT_BAND))))
            out.append(Claim.checked(
                "2", f"[{loss}] {name}: the median step never grows with the scale",
                "falls as the weights start to differ from 0; a rise over 10 % between neighbours fails",
                f"largest median ratio between neighbouring scales {fmt(rise)}",
                (bool(rise <= 1.1), f"max ratio {fmt(rise)} ≤ 1.1"),
                known=banded(MONOTONE_KNOWN.get((loss, name)), lambda: peak_band(scales, median[:, l]))))
    return out


def peak_band(scales: np.ndarray, median: np.ndarray) -> tuple[bool, str]:
    """The declared rise's band: the median step peaks at a scale in PEAK_BAND (tanh's
    saturation), and beyond the peak it never rises by more than 10 % again."""
    top = int(np.argmax(median))
    after = float(np.max(median[top + 1:] / median[top:-1])) if top + 1 < len(median) else 1.0
    low, high = PEAK_BAND
    return every([(bool(low <= scales[top] <= high), f"peak at scale {fmt(scales[top])} in [{low:g}, {high:g}]"),
                  (bool(after <= 1.1), f"beyond it max ratio {fmt(after)} ≤ 1.1")])


# Why the output layer's step does not shrink under logitcrossentropy (README, Results, Fig. 2).
LOGIT_OUTPUT = ("without crossentropy's ε the output error of a saturated softmax stays O(1); "
                "the paper's fall fits softmax + crossentropy, the reading we take")
# Why hidden 2's and the output's steps first grow: ΔW_l = δ_l x_{l−1}ᵀ, and for scales ≪ 1 the
# layer's input x_{l−1} = tanh(W_{l−1} x_{l−2}) grows ∝ the scale (the output's ∝ scale²) until
# tanh saturates. The paper does not state its scales; its plot may start past that rise.
SMALL_SCALE_RISE = ("for scales ≪ 1 the layer's input tanh(W x) grows ∝ the scale, so its step grows before "
                    "tanh saturates; the paper's scale range is not stated")
# Both declared before any results file was committed (4b9efc8, 2026-11-23; da8ebbf, 2026-12-01,
# with the claim itself); whether a run had been seen then is not recorded.
FALL_KNOWN = {("logitcrossentropy", "output"): Known(
    LOGIT_OUTPUT, f"reason 4b9efc8, before any committed results, runs seen not recorded; {BANDS_DECLARED}")}
MONOTONE_KNOWN = {(loss, name): Known(
    SMALL_SCALE_RISE, f"reason da8ebbf, before any committed results, runs seen not recorded; {BANDS_DECLARED}")
    for loss in LOSSES for name in ("hidden 2", "output")}
# Bands (after the data; long = quick: 50 repetitions): the output step under logitcrossentropy
# stays flat, falling less than half a decade (seen −0.04 ± 0.03); the rising steps peak where
# tanh saturates, at a scale in [0.05, 0.5] (seen: 0.1 for hidden 2, 0.178 for the output).
FLAT_BAND = -0.5
PEAK_BAND = (0.05, 0.5)


FIGURE = Experiment(name=NAME, title=TITLE, profiles=PROFILES, units=units, run_unit=run_unit, claims=claims,
                    plot=Lazy("minifa.plots.chu_fig2"), paper="Chu & Bacho 2024")
