"""Every claim check can fail: for each Chu & Bacho module, small synthetic results (no
training) on which every claim holds, and for each claim a change that clearly breaks it, on
which that claim says "no". Plus the `compare` rules themselves. Song et al.'s are in
`test_claims_song.py`, ``reproduce --no-compute`` in `test_reproduce_check.py`."""

from __future__ import annotations

import math

import numpy as np
import pytest

from minifa.experiments import chu_deadlock, chu_fig1, chu_fig2, chu_fig3, chu_fig4, chu_fig5, chu_stability
from minifa.experiments.compare import Stat, above, below, each, equivalent, exceeds, not_less, paired, unpaired, within

from .claims_helpers import RNG, assert_all_hold, find, noisy, results


# --- the rules -------------------------------------------------------------------------------------

def test_stat_and_rules_use_two_standard_errors_and_the_minimum_effect():
    s = Stat.of([1.0, 2.0, 3.0, np.nan])
    assert (s.mean, s.sd, s.n) == (2.0, 1.0, 3) and s.se == pytest.approx(1 / math.sqrt(3))
    assert str(s) == "2 ± 1 (n=3)" and str(Stat.of([0.5])) == "0.5 (n=1)" and Stat.of([0.5]).se == 0.0
    tight, loose = Stat(0.1, 0.01, 4), Stat(0.1, 0.2, 4)  # se 0.005 and 0.1
    assert exceeds(tight, 0.05)[0] and not exceeds(tight, 0.2)[0] and not exceeds(loose, 0.05)[0]
    assert below(tight, 0.12)[0] and not below(loose, 0.12)[0] and above(tight, 0.08)[0] and not above(loose, 0.08)[0]
    assert within(tight, 0.12, 0.03)[0] and not within(tight, 0.2, 0.03)[0]
    assert equivalent(Stat(0.0, 0.01, 4), 0.02)[0] and not equivalent(Stat(0.0, 0.1, 4), 0.02)[0]
    assert not_less(Stat(-0.05, 0.2, 4))[0] and not not_less(Stat(-0.05, 0.01, 4))[0]
    assert paired([3, 4], [1, 1]).mean == 2.5
    d = unpaired(Stat(1.0, 0.2, 4), Stat(0.5, 0.2, 4))
    assert d.mean == 0.5 and d.se == pytest.approx(math.hypot(0.1, 0.1))
    ok, margin = each({"a": (True, "x"), "b": (False, "y")}, "rule")
    assert not ok and margin == "rule, all 2; fails b: y"
    assert not exceeds(Stat.of([]), 0.0)[0] and not below(Stat.of([]), 1.0)[0]


# --- Chu & Bacho Figure 1 ----------------------------------------------------------------------------

def fig1(break_=None, loss="softmax-crossentropy"):
    return chu_fig1.claims(fig1_results(break_, loss))


def fig1_results(break_=None, loss="softmax-crossentropy"):
    """Three seeds, 12 epochs; the output layer aligns to 0.8 (inside its declared band)."""
    scales = np.asarray(chu_fig1.SCALES)
    large, epochs = scales >= 0.5, 12
    units = {}
    for seed in range(3):
        acc = np.where(large, 0.85, 0.97) * np.ones((epochs + 1, 1))
        acc[1] = np.where(large, 0.75, 0.95)
        weight = np.zeros((epochs + 1, len(scales), 3))
        weight[..., 1], weight[..., 2] = 0.05, 0.8
        train_loss = np.exp(-0.2 * np.arange(epochs + 1))[:, None] * np.ones(len(scales))
        train_loss[0] = np.nan  # epoch 0 is not recorded
        if break_ == "1b-monotone":
            acc[-1, -1] = 0.95  # scale 1 above scale 0.5 at the end
        if break_ == "1c-output":
            weight[..., 2] = 0.3
        if break_ == "stall" and seed == 2:
            train_loss[2:, 4] = 1.63  # scale 0.1, flat from epoch 2
        if break_ == "stall-small":
            train_loss[2:, 1] = 1.63  # scale 0.001, every seed
        grad = np.ones((epochs, len(scales), 3))
        grad[..., :2] = np.where(large, 0.1, 0.6)[:, None]
        if break_ == "1b":
            acc[-1] = 0.97
        if break_ == "1a":
            acc[1] = 0.95
        if break_ == "1c":
            weight[3, 2, 1] = 0.15
        if break_ == "1d-weight":
            grad[:, ~large, :2] = 0.1
        if break_ == "1d-scale":
            grad[..., :2] = 0.6
        units[f"{loss}_seed{seed}"] = ({"loss": loss, "seed": seed}, {
            "test_accuracy": noisy(acc, acc.shape), "weight_alignment": noisy(weight, weight.shape),
            "gradient_alignment": noisy(grad, grad.shape), "train_loss": train_loss})
    return results("chu-fig1", {"scales": list(scales), "losses": [loss]}, units)


FIG1 = {"1b": ("1b", "lower accuracy"), "1b-monotone": ("1b", "never rises"), "1a": ("1a",), "1c": ("1c", "hidden"),
        "1d-weight": ("1d", "much higher"), "1d-scale": ("1d", "align more"), "stall": ("none stalls",)}


def test_fig1_claims_hold_on_results_that_agree():
    """Every claim holds but the output layer's under the all-layers reading, a declared
    disagreement inside its band."""
    claims = fig1()
    output = find(claims, "1c", "output layer")
    assert not output.holds and output.as_declared
    assert_all_hold([c for c in claims if c is not output])


@pytest.mark.parametrize("broken", FIG1)
def test_fig1_each_claim_fails_when_broken(broken):
    assert not find(fig1(broken), *FIG1[broken]).holds


# --- Figure 2 ---------------------------------------------------------------------------------------

def fig2(break_=None):
    scales = np.asarray(chu_fig2.SCALES)
    norm = 1 / (1 + scales) ** 3
    if break_ == "fall":
        norm = np.where(scales > 0.1, norm[np.argmax(scales > 0.1)], norm)  # flat beyond 0.1
    if break_ == "monotone":
        norm = norm * np.where(scales < 0.01, 3.0 ** np.arange(len(scales)), 3.0 ** np.argmax(scales >= 0.01))
    units = {}
    for loss in chu_fig2.LOSSES:
        for start in (0, 5):
            values = norm[None, :, None] * np.exp(noisy(0, (5, len(scales), 3), 0.01))
            units[f"{loss}_reps{start}"] = ({"loss": loss, "reps": list(range(start, start + 5))}, {"update_norm": values})
    return chu_fig2.claims(results("chu-fig2", {"scales": list(scales), "losses": chu_fig2.LOSSES}, units))


def test_fig2_claims_hold_on_results_that_agree():
    assert_all_hold(fig2())


@pytest.mark.parametrize("loss", chu_fig2.LOSSES)
@pytest.mark.parametrize("layer", ["hidden 1", "hidden 2", "output"])
@pytest.mark.parametrize("broken, words", [("fall", "shrinks"), ("monotone", "never grows")])
def test_fig2_each_claim_fails_when_broken(loss, layer, broken, words):
    assert not find(fig2(broken), f"[{loss}] {layer}:", words).holds


# --- Figure 3 ---------------------------------------------------------------------------------------

ALIGNMENTS = [round(a, 2) for a in np.linspace(-1, 1, 11)]
FIG3_CONFIG = {"alignments": ALIGNMENTS, "init_scale": 0.05, "scales_bc": [0.05, 0.0, 0.01], "alignments_bc": ALIGNMENTS, "perturbed_reps": 2}


def fig3(break_=None, scale=0.01):
    return chu_fig3.claims(fig3_results(break_, scale))


def fig3_results(break_=None, scale=0.01):
    a, bp = np.asarray(ALIGNMENTS), 0.92
    ratio = np.where(a < 0, 0.1 / bp, 0.97 + 0.02 * a)
    last = 0.97
    if break_ == "crossing":
        ratio = np.where(a == 0, last + 0.05, ratio)
    if break_ == "chance":
        ratio = np.where(a == -1, 0.3 / bp, ratio)
    if break_ == "little":
        ratio = np.where(a > 0, 0.97 + 0.2 * a, ratio)
    units = {}
    for k in range(4):
        units[f"a_rep{k}"] = ({"panel": "a", "seed": k}, {
            "accuracy": noisy(ratio * bp, len(a), 0.001), "bp_accuracy": np.array([bp]),
            "last_layer_accuracy": noisy(last * bp, 1, 0.001)})
    grid = np.repeat(ALIGNMENTS, 2)
    for s in FIG3_CONFIG["scales_bc"]:
        fa_align = np.full((20, 3), 0.3)
        fa_acc = 0.5 if (break_, s) not in {("last-layer", scale), ("perturbed", scale)} else 0.3
        pert_align = np.stack([grid, grid, np.ones_like(grid)], axis=1) if s else np.full((len(grid), 3), np.nan)
        units[f"bc_fa_scale{s:g}"] = ({"panel": "bc", "method": "fa", "scale": s}, {
            "accuracy": noisy(fa_acc, 20, 0.01), "gradient_alignment": noisy(fa_align, fa_align.shape, 0.02),
            "target": np.full(20, np.nan)})
        units[f"bc_perturbed_scale{s:g}"] = ({"panel": "bc", "method": "perturbed", "scale": s}, {
            "accuracy": noisy(0.2 + 0.1 * grid + (0.1 if break_ == "perturbed" and s == scale else 0), len(grid), 0.01),
            "gradient_alignment": pert_align, "target": grid})
        units[f"bc_last-layer_scale{s:g}"] = ({"panel": "bc", "method": "last-layer", "scale": s}, {
            "accuracy": noisy(0.3, 5, 0.01), "gradient_alignment": np.full((5, 3), np.nan), "target": np.full(5, np.nan)})
    return results("chu-fig3", FIG3_CONFIG, units)


def test_fig3_claims_hold_on_results_that_agree():
    claims = fig3()
    assert_all_hold(claims)
    assert not any("scale 0," in c.statement and "perturbed" in c.statement for c in claims)  # it is the last layer


@pytest.mark.parametrize("broken, words", [("crossing", "crosses"), ("chance", "chance"), ("little", "only a little")])
def test_fig3a_each_claim_fails_when_broken(broken, words):
    assert not find(fig3(broken), "3a", words).holds


@pytest.mark.parametrize("scale", [0.05, 0.0, 0.01])
def test_fig3bc_fa_over_last_layer_fails_when_broken(scale):
    assert not find(fig3("last-layer", scale), f"scale {scale:g}:", "last-layer").holds


@pytest.mark.parametrize("scale", [0.05, 0.01])
@pytest.mark.parametrize("layer", [1, 2])
def test_fig3bc_fa_over_perturbed_fails_when_broken(scale, layer):
    assert not find(fig3("perturbed", scale), f"scale {scale:g}, hidden {layer}:").holds


def test_fig3_known_disagreements_are_declared_by_setting_not_by_data():
    for claims in (fig3(), fig3("perturbed", 0.05)):
        assert {c.statement for c in claims if c.known} == {
            "scale 0.05: FA beats last-layer-only after 5 updates",
            "scale 0.05, hidden 1: at equal alignment FA beats perturbed BP",
            "scale 0.05, hidden 2: at equal alignment FA beats perturbed BP"}


# --- Figure 4 ---------------------------------------------------------------------------------------

def fig4(break_=None):
    return chu_fig4.claims(fig4_results(break_))


def fig4_results(break_=None) -> Results:
    grad = {"blue": 0.4, "green": 0.7, "red": 0.9, "pm1-equal": 0.99, "pm1-scaled": 0.99}
    weight = {"blue": 0.03, "green": 0.6, "red": 0.93, "pm1-equal": 0.999, "pm1-scaled": 0.999}
    acc = {"blue": 0.97, "green": 0.96, "red": 0.95, "pm1-equal": 0.1, "pm1-scaled": 0.1}
    if break_ == "4a":
        grad["green"] = grad["red"]
    if break_ == "4b":
        weight["green"] = weight["blue"]
    if break_ == "4c":
        acc["blue"] = acc["red"]
    if break_ == "4":  # learns, inside the declared band [0.8, 0.95]
        acc["pm1-equal"] = 0.88
    seeds, epochs = 5, 10
    units = {name: ({"variant": name}, {
        "test_accuracy": noisy(acc[name], (epochs + 1, seeds)),
        "gradient_alignment": noisy(grad[name], (epochs, seeds, 3), 0.005),
        "weight_alignment": noisy(weight[name], (epochs + 1, seeds, 3), 0.005)}) for name in grad}
    return results("chu-fig4", {"variants": chu_fig4.VARIANTS}, units)


def test_fig4_claims_hold_on_results_that_agree():
    assert_all_hold(fig4())


@pytest.mark.parametrize("broken", ["4a", "4b", "4c", "4"])
def test_fig4_each_claim_fails_when_broken(broken):
    assert not find(fig4(broken), "4 ±1" if broken == "4" else broken + " ").holds  # "4 [W = 0.05·B]" is another


# --- Figure 5 ---------------------------------------------------------------------------------------

def fig5(break_=None):
    swap, units = 100, {}
    steps, evals = np.arange(0, 200, 10), np.array([0, 50, 100, 101, 105, 120, 150, 200])
    for seed in range(3):
        a = np.where(steps > swap, 0.99, 0.8)[:, None] * np.ones(3)
        b = np.where(steps > swap, np.linspace(1.0, 0.8, len(steps)), 0.8)[:, None] * np.ones(3)
        if break_ == "stays":
            a[steps == 150] = 0.8
        if break_ == "leaves":
            b[steps > swap] = 0.99
        fa = np.full((len(evals), 2), 0.96)
        if break_ != "drop":
            fa[(evals > swap) & (evals <= swap + 100), 1] = 0.1
        units[f"seed{seed}"] = ({"seed": seed}, {
            "record_step": steps, "alignment": noisy(np.stack([a, b], axis=1), (len(steps), 2, 3), 0.001),
            "eval_step": evals, "fa_accuracy": noisy(fa, fa.shape), "bp_accuracy": noisy(0.97, fa.shape)})
    return chu_fig5.claims(results("chu-fig5", {"swap": swap}, units))


def test_fig5_claims_hold_on_results_that_agree():
    assert_all_hold(fig5())


@pytest.mark.parametrize("layer", ["hidden 2", "output"])
@pytest.mark.parametrize("broken, words", [("stays", "stays at them"), ("leaves", "leaves them")])
def test_fig5_alignment_claims_fail_when_broken(layer, broken, words):
    assert not find(fig5(broken), layer + ":", words).holds


def test_fig5_accuracy_drop_fails_when_broken():
    assert not find(fig5("drop"), "accuracy drops").holds


# --- Stability (eq. 10-11) --------------------------------------------------------------------------

def stability(break_=None, flip=0.3):
    return chu_stability.claims(stability_results(break_, flip))


def stability_results(break_=None, flip=0.3):
    """``break_ = "sign-small"`` / ``"sign-step"`` flips the measured sign in a share ``flip`` of probes."""
    units = {}
    for scale in ("scale0.05", "scale1"):
        align = np.where(RNG.random((40, 3, 3)) < 0.5, 0.4, -0.3)
        predicted = -1e-4 * align
        arrays = {"alignment": align}
        for probe in ("small", "step"):
            measured = predicted * noisy(1.0, predicted.shape, 0.01)
            if break_ == f"sign-{probe}":
                measured = np.where(RNG.random(measured.shape) < flip, -measured, measured)
            if break_ == "first-order" and probe == "small":
                measured = 1.5 * measured
            arrays |= {f"predicted_{probe}": predicted, f"measured_{probe}": measured}
        units[scale] = ({"scale": scale}, arrays)
    return results("chu-stability", {"probe_lr": 1e-3, "lr": 0.05}, units)


def test_stability_claims_hold_on_results_that_agree():
    assert_all_hold(stability())


@pytest.mark.parametrize("scale", ["scale0.05", "scale1"])
@pytest.mark.parametrize("broken, words", [("sign-small", ("η = 0.001]", "lowers")),
                                           ("sign-step", ("η = 0.05]", "lowers")),
                                           ("first-order", ("η = 0.001]", "first-order"))])
def test_stability_each_claim_fails_when_broken(scale, broken, words):
    assert not find(stability(broken), f"[{scale},", *words).holds


# --- Appendix A.1 -----------------------------------------------------------------------------------

def deadlock(break_=None):
    return chu_deadlock.claims(deadlock_results(break_))


def deadlock_results(break_=None) -> Results:
    bp_norm, fa_norm = np.zeros((10, 3, 3)), np.ones((10, 3, 3))
    bp_norm[..., -1] = 1.0
    if break_ == "never move":
        bp_norm[5:, :, 0] = 1e-3
    bp_acc = np.full((6, 3), 0.1135) + (0.4 if break_ == "chance" else 0.0)
    fa_acc = noisy(0.2 if break_ == "learns" else 0.95, (6, 3))
    units = {"bp": ({"rule": "bp"}, {"weight_norm": bp_norm, "test_accuracy": bp_acc}),
             "fa": ({"rule": "fa"}, {"weight_norm": fa_norm, "test_accuracy": fa_acc})}
    return results("chu-deadlock", {}, units)


def test_deadlock_claims_hold_on_results_that_agree():
    assert_all_hold(deadlock())


@pytest.mark.parametrize("broken", ["never move", "chance", "learns"])
def test_deadlock_each_claim_fails_when_broken(broken):
    assert not find(deadlock(broken), broken).holds


def test_unpaired_keeps_the_other_sides_noise_when_one_side_is_a_single_value():
    many, one = Stat.of([0.5, 0.7, 0.6, 0.4, 0.8]), Stat.of([0.2])
    assert unpaired(many, one).se == pytest.approx(many.se) and unpaired(one, many).se == pytest.approx(many.se)
    assert unpaired(one, Stat.of([0.1])).se == 0.0  # neither side has an estimate: the minimum effect decides
