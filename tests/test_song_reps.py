"""Song Fig. 2 to 10 repetitions at p ≥ 1600 (issue 24, item 5): each further repetition is a
unit of its own (``more_reps``, an extent key), computing the member a larger first unit
would have, bit for bit; the committed long file extends by adding units; a cell's members
are its units joined."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np

from minifa.experiments import song_fig2, song_fig2_claims
from minifa.experiments.framework import Unit
from minifa.experiments.runner import run_experiment
from minifa.experiments.store import Results, extends

from .claims_helpers import results

ROOT = Path(__file__).resolve().parents[1]
TINY = {**song_fig2.PROFILES["tiny"], "networks": {"tanh": song_fig2.NETWORKS["tanh"]}}


def test_a_further_repetitions_unit_is_that_member_of_a_larger_first_unit_bit_for_bit():
    """tanh λ .001 at p = 40: members stop at different steps, so the loss tables differ in length."""
    cell = {"network": "tanh", "lambda": 0.001, "width": 40}
    three = song_fig2.run_unit({**TINY, "reps": 3}, Unit("x", cell))
    for rep in (1, 2):
        alone = song_fig2.run_unit({**TINY, "reps": 1, "more_reps": 2}, Unit("y", {**cell, "rep": rep}))
        for name in ("alignment", "steps", "stopped_by_rule", "seed"):
            np.testing.assert_array_equal(alone[name], three[name][rep:rep + 1])
        np.testing.assert_array_equal(alone["loss"], three["loss"][:len(alone["loss"]), rep:rep + 1])
        assert np.isnan(three["loss"][len(alone["loss"]):, rep]).all()  # it had stopped: NaN in the larger table
    assert len(set(three["steps"])) > 1


def test_more_reps_adds_one_unit_per_repetition_and_keeps_the_first_units():
    long = song_fig2.PROFILES["long"]
    before = {k: v for k, v in long.items() if k != "more_reps"}
    old = {u.key: u.params for u in song_fig2.units(before)}
    new = {u.key: u.params for u in song_fig2.units(long)}
    assert {k: new[k] for k in old} == old
    added = set(new) - set(old)
    assert len(added) == 12 * 3 * 7 and "linear_lambda0.2_p12800_rep9" in added
    assert [song_fig2.total_reps(long, p) for p in long["widths"]] == [50, 10, 5, 10, 10, 10, 10]
    assert [song_fig2.reps_at(long, p) for p in long["widths"]] == [50, 10, 5, 3, 10, 3, 3]  # the first units'


def test_the_committed_long_file_extends_to_ten_repetitions():
    with h5py.File(ROOT / "docs" / "results" / "long" / "song-fig2.h5", "r") as f:
        old = json.loads(f.attrs["config"])
        stored = {k: json.loads(g.attrs["params"]) for k, g in f["units"].items()}
    new = song_fig2.PROFILES["long"]
    wanted = song_fig2.FIGURE.units(new)
    assert extends(old, new, song_fig2.FIGURE.extent, stored, wanted)
    further = sum(1 for params in stored.values() if "rep" in params)  # landed in --stage steps
    assert len({u.key for u in wanted} - set(stored)) == 252 - further  # the rest to run


def test_a_cells_members_are_its_units_joined_in_repetition_order():
    cell = {"network": "relu", "lambda": 0.0, "width": 200}
    first = {"alignment": np.array([0.1, 0.2]), "steps": np.array([30, 40]), "stopped_by_rule": np.array([True, True]),
             "seed": np.array([5, 6]), "loss_step": np.arange(4) * 10, "loss": np.ones((4, 2))}

    def one(rep, rows):
        return {"alignment": np.array([rep / 100]), "steps": np.array([rows * 10]), "stopped_by_rule": np.array([True]),
                "seed": np.array([rep]), "loss_step": np.arange(rows) * 10, "loss": np.full((rows, 1), float(rep))}

    units = {"c": (cell, first), "c_rep10": ({**cell, "rep": 10}, one(10, 6)), "c_rep9": ({**cell, "rep": 9}, one(9, 2)),
             "other": ({**cell, "width": 400}, first)}
    joined = song_fig2_claims.unit(results("song-fig2", {}, units), "relu", 0.0, 200)
    np.testing.assert_array_equal(joined["seed"], [5, 6, 9, 10])  # rep 9 before rep 10, not in key order
    np.testing.assert_array_equal(joined["loss_step"], np.arange(6) * 10)
    assert joined["loss"].shape == (6, 4) and np.isnan(joined["loss"][2:, 2]).all() and (joined["loss"][:, 3] == 10).all()
    assert song_fig2_claims.unit(results("song-fig2", {}, {"c": (cell, first)}), "relu", 0.0, 200) is first


def test_a_tiny_file_extends_with_more_repetitions_running_only_those(tmp_path):
    figure = replace(song_fig2.FIGURE, profiles={"tiny": TINY})
    path = run_experiment(figure, "tiny", tmp_path)
    before, ran = Results.load(path), []
    run_experiment(figure, "tiny", tmp_path, {"more_reps": [0, 1]},
                   on_unit=lambda done, total, unit, s: unit and ran.append(unit.key))
    assert sorted(ran) == sorted(f"tanh_lambda{lam:g}_p40_rep2" for lam in song_fig2.NETWORKS["tanh"][1])
    after = Results.load(path)
    for key, arrays in before.units.items():
        for name, value in arrays.items():
            np.testing.assert_array_equal(after.units[key][name], value)
    assert song_fig2_claims.unit(after, "tanh", 0.0, 40)["alignment"].shape == (3,)
    assert song_fig2.claims(after)  # every claim still computes on the joined cells
