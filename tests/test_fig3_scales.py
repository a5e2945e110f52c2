"""Chu Fig. 3a at scales 0.01 and 0 beside 0.05 (issue 24, item 4): each scale's claims on
synthetic results, scale 0's declared band, the committed files extending to the new scales
(their units unchanged), and what a scale-0 unit computes, against the maths."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest

from minifa.experiments import chu_fig3
from minifa.experiments.runner import run_experiment
from minifa.experiments.store import Results, extends

from .claims_helpers import find, noisy, results
from .test_known_bands import declared, outside

ROOT = Path(__file__).resolve().parents[1]
ALIGNMENTS = [round(a, 2) for a in np.linspace(-1, 1, 11)]
CONFIG = {"alignments": ALIGNMENTS, "reps": 4, "init_scale": 0.05, "scales_a": chu_fig3.SCALES_A, "scales_bc": []}
BP = 0.92


def agree(a):
    """The paper's curve, as a ratio to BP: chance below 0, a small rise above it."""
    return np.where(a < 0, 0.1 / BP, 0.97 + 0.02 * a)


def at_chance(a):
    """Scale 0's curve: every member is BP at chance, ratio exactly 1."""
    return np.ones_like(a)


def panel_a(bp=None, **curve) -> list:
    """The 3a claims at every scale; ``curve["s0.01"](a)``: that scale's ratio to BP (default
    ``agree``), the last layer at the curve's a = 0; ``bp``: BP's accuracy per scale name."""
    a, units = np.asarray(ALIGNMENTS), {}
    for unit in chu_fig3.units(CONFIG):
        if unit.params["panel"] != "a":
            continue
        name = f"s{unit.params.get('scale', 0.05):g}"
        ratio, acc = curve.get(name, agree)(a), (bp or {}).get(name, BP)
        exact = curve.get(name) is at_chance  # scale 0: no noise, every member the same run
        units[unit.key] = (unit.params, {
            "accuracy": ratio * acc + (0 if exact else noisy(0, len(a), 0.001)), "bp_accuracy": np.array([acc]),
            "last_layer_accuracy": np.array([ratio[len(a) // 2] * acc]) + (0 if exact else noisy(0, 1, 0.001))})
    return chu_fig3.claims(results("chu-fig3", CONFIG, units))


def test_each_scale_states_the_three_claims_and_init_scale_keeps_its_words():
    claims = panel_a()
    assert len(claims) == 9 and all(c.holds for c in claims)
    assert [c.statement for c in claims[:3]] == ["perturbed BP crosses the last-layer-only line at a = 0",
                                                 "negative alignment drops to chance",
                                                 "positive alignment improves only a little over a = 0"]
    for scale in (0.01, 0.0):
        for words in ("crosses", "chance", "only a little"):
            assert find(claims, f"3a scale {scale:g}:", words)


def test_a_scale_is_judged_on_its_own_units():
    """A curve that never drops to chance at 0.01 fails that scale's claim only, undeclared."""
    claims = panel_a(**{"s0.01": lambda a: np.where(a < 0, 0.6, agree(a))})
    assert [c.statement for c in claims if not c.holds] == ["scale 0.01: negative alignment drops to chance"]
    assert find(claims, "scale 0.01:", "chance").unexpected  # nothing is declared at 0.01


def test_scale_zero_is_declared_before_the_data_with_a_band():
    claims = panel_a(bp={"s0": 0.1135}, s0=at_chance)
    gain = find(claims, "scale 0:", "only a little")
    assert declared(gain) and "before the data" in gain.known.declared
    assert find(claims, "scale 0:", "crosses").holds and find(claims, "scale 0:", "chance").holds  # vacuously
    assert outside(find(panel_a(bp={"s0": 0.5}, s0=at_chance), "scale 0:", "only a little"))  # BP learnt
    assert outside(find(panel_a(bp={"s0": 0.1135}, s0=lambda a: 1 - 0.02 * (a > 0)), "scale 0:", "only a little"))
    assert find(panel_a(), "scale 0:", "only a little").holds  # the paper's curve at 0 passes: the claim can say yes


def test_a_config_without_scales_a_has_the_old_units():
    config = {**{k: v for k, v in CONFIG.items() if k != "scales_a"}, "reps": 2}
    assert chu_fig3.scales_a(config) == [0.05]
    assert [(u.key, u.params) for u in chu_fig3.units(config)] == [
        ("a_rep0", {"panel": "a", "seed": 0}), ("a_rep1", {"panel": "a", "seed": 1})]


@pytest.mark.parametrize("folder", ["long", "quick"])
def test_the_committed_files_extend_to_the_new_scales(folder):
    """Every stored unit is one of the new config's, key and params, and only ``scales_a``
    differs: the file is extended with the new scales' units, never recomputed."""
    with h5py.File(ROOT / "docs" / "results" / folder / "chu-fig3.h5", "r") as f:
        old = json.loads(f.attrs["config"])
        stored = {k: json.loads(g.attrs["params"]) for k, g in f["units"].items()}
    new = chu_fig3.PROFILES[folder]
    wanted = chu_fig3.FIGURE.units(new)
    assert extends(old, new, chu_fig3.FIGURE.extent, stored, wanted)
    added = {u.key for u in wanted} - set(stored)
    assert added == {f"a_scale{s:g}_rep{k}" for s in (0.01, 0.0) for k in range(new["reps"])} or added == set()


def test_a_tiny_file_extends_to_scale_zero_and_every_member_there_is_bp_at_chance(tmp_path):
    """Extending runs only the new scale's units; at scale 0 every perturbed member, BP and the
    last layer alone are one run (zero hidden gradients: the same accuracy bit for bit)."""
    old = {k: v for k, v in chu_fig3.PROFILES["tiny"].items() if k != "scales_a"}
    path = run_experiment(replace(chu_fig3.FIGURE, profiles={"tiny": old}), "tiny", tmp_path)
    before, ran = Results.load(path), []
    run_experiment(chu_fig3.FIGURE, "tiny", tmp_path, on_unit=lambda done, total, unit, s: unit and ran.append(unit.key))
    assert sorted(ran) == ["a_scale0_rep0", "a_scale0_rep1"]
    after = Results.load(path)
    for key, arrays in before.units.items():
        for name, value in arrays.items():
            np.testing.assert_array_equal(after.units[key][name], value)
    for k in (0, 1):
        u = after.units[f"a_scale0_rep{k}"]
        assert np.all(u["accuracy"] == u["bp_accuracy"][0]) and u["last_layer_accuracy"][0] == u["bp_accuracy"][0]
    assert find(chu_fig3.claims(after), "scale 0:", "only a little").as_declared


@pytest.mark.parametrize("rise, inside", [(0.25, True), (0.6, False), (0.1, False)])
def test_scale_001_large_gain_band(rise, inside):
    """The gain from a = 0 to the largest a < 1 (0.8 here): ``rise`` × 0.8 of BP's accuracy;
    declared after the quick pilot in [0.1, 0.4] by 2 SE; a small gain is the paper's yes."""
    claim = find(panel_a(**{"s0.01": lambda a: np.where(a < 0, 0.1 / BP, 0.7 + rise * a)}), "scale 0.01:", "only a little")
    assert declared(claim) if inside else outside(claim)
    assert "after the data" in claim.known.declared
