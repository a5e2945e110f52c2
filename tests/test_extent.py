"""A results file resumed with more seeds (issue 24, item 5): a config that only grows the
store's ``extent`` keys, with every stored unit among the new ones, keeps the file and runs
only the new units; any other change still moves the file aside."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from minifa.errors import ConfigError
from minifa.experiments.framework import Experiment, Unit, config_hash
from minifa.experiments.runner import run_experiment
from minifa.experiments.store import Results, extends, grows


def toy(calls: list):
    """A figure of one unit per seed, whose arrays depend on the seed and ``scale`` only."""
    def units(config):
        return [Unit(f"seed{s}", {"seed": s}) for s in config["seeds"]]

    def run_unit(config, unit):
        calls.append(unit.key)
        return {"x": np.arange(4.0) * config["scale"] + unit.params["seed"]}

    return Experiment(name="toy", title="toy", profiles={"tiny": {"seeds": [0, 1], "scale": 0.5}}, units=units,
                      run_unit=run_unit)


def test_more_seeds_resume_the_file_and_run_only_the_new_units(tmp_path, capsys):
    calls = []
    module = toy(calls)
    path = run_experiment(module, "tiny", tmp_path)
    before = Results.load(path)
    old_hash = config_hash(module.profiles["tiny"])
    path = run_experiment(replace(module, extent=("seeds",)), "tiny", tmp_path, {"seeds": [0, 1, 2, 3]})
    assert calls == ["seed0", "seed1", "seed2", "seed3"]  # seeds 0 and 1 ran once, before
    assert sorted(p.name for p in tmp_path.glob("*.h5")) == ["toy.h5"]  # nothing moved aside
    after = Results.load(path)  # digests checked: the new header is stamped and sealed
    assert after.config == {"seeds": [0, 1, 2, 3], "scale": 0.5} and sorted(after.units) == [f"seed{s}" for s in range(4)]
    for key in before.units:  # the stored units bit for bit
        np.testing.assert_array_equal(after.units[key]["x"], before.units[key]["x"])
    assert f"extended from config {old_hash}" in capsys.readouterr().err
    assert run_experiment(replace(module, extent=("seeds",)), "tiny", tmp_path, {"seeds": [0, 1, 2, 3]}) == path
    assert len(calls) == 4  # now complete: nothing reruns


@pytest.mark.parametrize("overrides, extent", [
    ({"seeds": [0, 1, 2], "scale": 1.0}, ("seeds",)),  # a non-extent key changed
    ({"seeds": [0, 1, 2]}, ()),  # no extent declared: today's behaviour
    ({"seeds": [0]}, ("seeds",)),  # fewer seeds: a stored unit is not among the new ones
])
def test_any_other_change_still_moves_the_file_aside(tmp_path, capsys, overrides, extent):
    calls = []
    module = toy(calls)
    run_experiment(module, "tiny", tmp_path)
    old_hash = config_hash(module.profiles["tiny"])
    run_experiment(replace(module, extent=extent), "tiny", tmp_path, overrides)
    assert (tmp_path / f"toy.{old_hash}.h5").exists() and "starting afresh" in capsys.readouterr().err
    assert calls[2:] == [f"seed{s}" for s in overrides["seeds"]]  # everything reran
    assert Results.load(tmp_path / f"toy.{old_hash}.h5").config == module.profiles["tiny"]


def test_extends_compares_the_stored_units_params_not_only_their_keys():
    old, new = {"reps": 3, "n": 1}, {"reps": 5, "n": 1}
    grown = [Unit("a", {"reps": 5}), Unit("b", {"reps": 5})]
    assert not extends(old, new, ("reps",), {"a": {"reps": 3}}, grown)  # same key, other members
    assert extends(old, new, ("reps",), {"a": {"reps": 5}}, grown)
    assert not extends(old, {"reps": 5, "n": 2}, ("reps",), {"a": {"reps": 5}}, grown)
    assert extends(old, {**new, "device": "gpu"}, ("reps",), {}, grown)  # placement never counts
    assert not extends(old, new, (), {}, grown)  # nothing declared: nothing extends


def test_an_extent_list_or_dict_only_grows_when_it_keeps_every_old_entry():
    """A row or variant changed under its old name (or dropped) is not growth, even where the
    units' params (names only) would match."""
    old = {"rows": [{"name": "a", "n": 1}], "variants": {"v": [1, 2]}}
    units = [Unit("a", {"row": "a"}), Unit("b", {"row": "b"}), Unit("v", {"variant": "v"})]
    stored = {"a": {"row": "a"}, "v": {"variant": "v"}}
    grown = {"rows": [{"name": "a", "n": 1}, {"name": "b", "n": 2}], "variants": {"v": (1, 2), "w": [3]}}
    assert extends(old, grown, ("rows", "variants"), stored, units)  # tuples compare as the stored lists
    assert not extends(old, {**grown, "rows": [{"name": "a", "n": 3}, {"name": "b", "n": 2}]}, ("rows", "variants"),
                       stored, units)
    assert not extends(old, {**grown, "variants": {"v": [1, 3], "w": [3]}}, ("rows", "variants"), stored, units)


def test_a_stage_runs_a_complete_step_that_the_whole_profile_then_extends(tmp_path):
    """``reproduce --stage seeds=[0,1]`` of a 4-seed profile: a file complete for its step
    (checkable, committable), which the whole profile's run extends with only the rest."""
    calls = []
    module = replace(toy(calls), profiles={"tiny": {"seeds": [0, 1, 2, 3], "scale": 0.5}}, extent=("seeds",))
    path = run_experiment(module, "tiny", tmp_path, stage={"seeds": [0, 1]})
    assert calls == ["seed0", "seed1"] and Results.load(path).config["seeds"] == [0, 1]
    run_experiment(module, "tiny", tmp_path)
    assert calls == ["seed0", "seed1", "seed2", "seed3"] and sorted(Results.load(path).units) == [f"seed{s}" for s in range(4)]


@pytest.mark.parametrize("stage, words", [
    ({"scale": 1.0}, "not one of its extent keys (seeds)"),  # not an extent key
    ({"seeds": [0, 7]}, "has units the tiny profile lacks (seed7)"),  # not a step toward the profile
])
def test_a_stage_off_the_profiles_path_is_refused_before_anything_runs(tmp_path, stage, words):
    calls = []
    module = replace(toy(calls), extent=("seeds",))
    with pytest.raises(ConfigError, match=re.escape(words)):
        run_experiment(module, "tiny", tmp_path, stage=stage)
    assert calls == [] and not list(tmp_path.iterdir())


def test_the_cli_reads_stage_as_key_equals_json_and_refuses_anything_else():
    from click.testing import CliRunner

    from minifa.cli import cli
    for bad, words in (("more_reps", "is not KEY=JSON"), ("=[1]", "names no key"), ("seeds=[0,", "is not KEY=JSON")):
        out = CliRunner().invoke(cli, ["reproduce", "chu-fig1", "--stage", bad])
        assert out.exit_code == 2 and words in out.output, out.output
    out = CliRunner().invoke(cli, ["reproduce", "chu-fig1", "--stage", "seeds=[0]", "--no-compute"])
    assert out.exit_code == 2 and "drop one" in out.output


def test_a_list_of_counts_grows_entry_by_entry_and_a_stage_of_part_counts_is_extended(tmp_path):
    """``more_reps``-like counts per width: [0, 2] → [1, 3] grows (no entry smaller), though
    2 is not among [1, 3]; a smaller entry, or another length read as a list of elements, is
    not growth unless every old element is kept."""
    assert grows([0, 0, 0, 7, 0, 4, 0], [0, 0, 0, 7, 0, 7, 7]) and grows([0, 2], [1, 3])
    assert not grows([0, 7], [0, 3]) and not grows([0, 0.5], [0, 0.4])
    assert grows([0, 1], [0, 1, 2]) and not grows([0, 5], [0, 1, 2])
    calls = []

    def units(config):
        return [Unit(f"w{w}_rep{r}", {"width": w, "rep": r}) for w, n in zip((1, 2), config["reps"]) for r in range(n)]

    def run_unit(config, unit):
        calls.append(unit.key)
        return {"x": np.full(2, float(unit.params["rep"]))}

    module = Experiment(name="toy", title="toy", profiles={"tiny": {"reps": [3, 5]}}, units=units, run_unit=run_unit,
                        extent=("reps",))
    with pytest.raises(ConfigError, match="has units the tiny profile lacks"):
        run_experiment(module, "tiny", tmp_path, stage={"reps": [3, 6]})  # 6 > 5
    run_experiment(module, "tiny", tmp_path, stage={"reps": [1, 2]})
    run_experiment(module, "tiny", tmp_path)
    assert calls == ["w1_rep0", "w2_rep0", "w2_rep1", "w1_rep1", "w1_rep2", "w2_rep2", "w2_rep3", "w2_rep4"]
    assert not list(tmp_path.glob("toy.*.h5"))  # nothing moved aside


def test_a_stage_whose_units_are_the_profiles_but_whose_value_the_profile_would_not_extend_is_refused(tmp_path):
    """A settings dict (Lillicrap's ``t2_tuned``, say) changed under its old key: the same unit
    keys and params, other work, so the whole profile's run would move the file aside."""
    module = Experiment(name="toy", title="toy", profiles={"tiny": {"search": {"grid": [1, 2]}}},
                        units=lambda config: [Unit("a", {})], run_unit=lambda config, unit: {"x": np.zeros(1)},
                        extent=("search",))
    with pytest.raises(ConfigError, match="would not extend it"):
        run_experiment(module, "tiny", tmp_path, stage={"search": {"grid": [1]}})
    assert not list(tmp_path.iterdir())
