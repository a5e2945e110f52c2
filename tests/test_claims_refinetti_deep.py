"""Every claim of Refinetti et al.'s deep part can fail: synthetic results (no training) on
which all hold, and for each claim a change that breaks it; the tiny profile's shapes; and
the aligned-at time against a plain loop."""

from __future__ import annotations

import numpy as np
import pytest

from minifa.experiments import refinetti_deep as deep

from .claims_helpers import assert_all_hold, find, noisy, results

SEEDS, NOISES = 3, [0.0, 0.5]
STEPS = np.arange(0, 1000, 25)


def rising(midpoint):
    """A logistic rise of the alignment to 0.8 centred at ``midpoint`` steps, (steps, seeds)."""
    return 0.8 / (1 + np.exp(-(STEPS[:, None] - midpoint) / 20.0)) * np.ones((1, SEEDS))


def alignment(order, rng):
    """Hidden 1 and 2 rising at ``order``'s midpoints (seeds differ by a few measurements),
    the output layer at 1: (steps, seeds, 3)."""
    jitter = rng.integers(-2, 3, size=(2, SEEDS)) * 25
    return np.stack([rising(order[0] + jitter[0]), rising(order[1] + jitter[1]), np.ones((len(STEPS), SEEDS))], -1)


def synthetic(break_=None, order=(150, 300), per_example=None):
    """Synthetic results; ``order``: the midpoints of hidden 1's and hidden 2's rise; with
    ``per_example`` (an order), the per-example reading's units too."""
    rng = np.random.default_rng(5)
    units = {}
    for act in deep.ACTIVATIONS:
        for p in NOISES:
            flipped = (300, 150) if (break_ == act and p == 0.5) else order
            units[f"{act}_{p}_dfa"] = ({"activation": act, "noise": p, "rule": "dfa"},
                                       {"alignment": alignment(flipped, rng), "step": STEPS})
            if per_example is not None:
                units[f"{act}_{p}_dfa_per-example"] = ({"activation": act, "noise": p, "reading": deep.PER_EXAMPLE},
                                                       {"alignment": alignment(per_example, rng), "step": STEPS})
            for rule, final in (("bp", 0.97), ("dfa", 0.95)):
                if break_ == f"learns {act}" and rule == "dfa" and p == 0.0:
                    final = 0.85
                acc = np.linspace(0.1, final, 4)[:, None] * np.ones((1, SEEDS))
                entry = units.setdefault(f"{act}_{p}_{rule}", ({"activation": act, "noise": p, "rule": rule}, {}))
                entry[1]["test_accuracy"] = noisy(acc, acc.shape, 0.002, rng)
    config = {"activations": deep.ACTIVATIONS, "noises": NOISES}
    if per_example is not None:
        config["readings"] = [deep.UPDATE, deep.PER_EXAMPLE]
    return deep.claims(results(deep.NAME, config, units))


def test_every_claim_holds_on_results_that_show_it():
    out = synthetic()
    assert_all_hold(out)
    assert len(out) == 4


@pytest.mark.parametrize("break_,words", [("relu", ("[relu]", "bottom first")), ("tanh", ("[tanh]", "bottom first")),
                                          ("learns relu", ("[relu]", "learns")), ("learns tanh", ("[tanh]", "learns"))])
def test_each_claim_fails_when_its_effect_is_gone(break_, words):
    out = synthetic(break_)
    assert not find(out, *words).holds
    assert [c.statement for c in out if not c.holds] == [find(out, *words).statement]


def test_the_per_example_reading_is_a_claim_of_its_own_that_can_fail():
    out = synthetic(per_example=(150, 300))
    assert_all_hold(out)
    assert len(out) == 6
    flipped = synthetic(per_example=(300, 150))
    assert [c.statement for c in flipped if not c.holds] == [
        f"[{a}] DFA's layers align bottom first: hidden 1 before hidden 2 (per-example reading)" for a in deep.ACTIVATIONS]


def test_aligned_at_is_the_first_step_at_the_fraction_of_the_max_as_a_loop():
    rng = np.random.default_rng(2)
    step, a = np.arange(0, 200, 10), rng.random((20, 3, 2))
    got = deep.aligned_at(step, a)
    for m in range(3):
        for l in range(2):
            top = max(a[:, m, l])
            assert got[m, l] == next(s for s, v in zip(step, a[:, m, l]) if v >= deep.ALIGNED * top)


def test_the_tiny_profile_runs_a_unit_with_the_shapes_the_claims_read():
    config = deep.PROFILES["tiny"]
    unit = next(u for u in deep.units(config) if u.params == {"activation": "tanh", "noise": 0.5, "rule": "dfa"})
    out = deep.run_unit(config, unit)
    seeds, epochs = len(config["seeds"]), config["epochs"]
    n = epochs * (256 // 32) // config["every"]
    assert out["test_accuracy"].shape == (epochs + 1, seeds)
    assert out["alignment"].shape == (n, seeds, 3) and out["step"].shape == (n,)
    np.testing.assert_allclose(out["alignment"][:, :, -1], 1.0, atol=1e-5)  # the output layer's update is BP's
    assert len(deep.units(config)) == 2 * 2 * 2 + 2 * 2  # and one per-example DFA unit per (activation, p)


def test_the_per_example_unit_retrains_dfa_bit_for_bit_and_measures_the_probe():
    """The probe's measurement leaves training alone: the same test accuracies as the DFA unit;
    its alignment is `delta_alignment` on the first PROBE examples after every ``every``-th step."""
    config = deep.PROFILES["tiny"]
    by = {(u.params.get("rule"), u.params.get("reading")): u for u in deep.units(config)
          if u.params["activation"] == "relu" and u.params["noise"] == 0.5}
    dfa, probe = deep.run_unit(config, by[("dfa", None)]), deep.run_unit(config, by[(None, deep.PER_EXAMPLE)])
    np.testing.assert_array_equal(probe["test_accuracy"], dfa["test_accuracy"])
    assert probe["alignment"].shape == dfa["alignment"].shape
    np.testing.assert_array_equal(probe["step"], dfa["step"] + config["every"])  # after the update, not before
    np.testing.assert_allclose(probe["alignment"][:, :, -1], 1.0, atol=1e-5)
    assert np.all(np.abs(probe["alignment"]) <= 1 + 1e-6)
