"""Declared options and canonical settings: a value, one per member, or one per layer per
member, parsed in one place; a rule's ``Option`` specs validate, document and (in files)
label its options. A throw-away rule with a per-member option proves that a rule file is
all a new rule needs."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from click.testing import CliRunner

import minifa as mf
from minifa import checkpoint, history
from minifa.cli import cli
from minifa.cli.rules import describe_rules
from minifa.ensemble import member_config
from minifa.errors import ConfigError
from minifa.network import backpropagate
from minifa.options import Option, examples, per_layer_member, per_member
from minifa.plots import run as plot_run

from .conftest import host, tiny_batch, tiny_dataset

SIZES = (6, 5, 4, 3)


def test_per_member_and_per_layer_forms_are_one_canonical_array():
    np.testing.assert_array_equal(per_member(0.5, 3, "x"), [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(per_member([0.1, 0.2, 0.3], 3, "x"), [0.1, 0.2, 0.3])
    np.testing.assert_array_equal(per_layer_member(0.1, 2, 3, "λ"), np.full((2, 3), 0.1))
    np.testing.assert_array_equal(per_layer_member([0.0, [0.1, 0.2, 0.3]], 2, 3, "λ"), [[0, 0, 0], [0.1, 0.2, 0.3]])
    with pytest.raises(ConfigError, match=r"x needs one value or one per member \(3\)"):
        per_member([1.0, 2.0], 3, "x")
    with pytest.raises(ConfigError, match=r"λ needs one value or one per layer \(2\)"):
        per_layer_member([0.0, 0.1, 0.2], 2, 3, "λ")


def test_config_reads_its_settings_canonical_and_stores_them_as_given():
    cfg = mf.Config(layers=SIZES, seeds=[0, 1], init_scale=[0.1, 0.2], weight_decay=[0.0, 0.1, [0.2, 0.3]],
                    rule="perturbed", rule_options={"alignment": [0.5, -0.5]})
    np.testing.assert_array_equal(cfg.init_scales, [0.1, 0.2])
    np.testing.assert_array_equal(cfg.decays, [[0.0, 0.0], [0.1, 0.1], [0.2, 0.3]])
    settings = cfg.rule_settings
    np.testing.assert_array_equal(settings["alignment"], [0.5, -0.5])
    assert settings["joint"] is False
    stored = mf.Config.from_json(cfg.to_json())  # the JSON (and so every config hash) is as given
    assert stored.weight_decay == [0.0, 0.1, [0.2, 0.3]] and stored.rule_options == {"alignment": [0.5, -0.5]}
    assert cfg.batch_of(250) == 100 and mf.Config(batch_size=0).batch_of(250) == 250


@pytest.mark.parametrize("spec, value, message", [
    (Option(0.0, min=0), -1, "x=-1 must be 0 or more"),
    (Option(0.0), [1.0, 2.0], r"x=\[1.0, 2.0\] must be a finite number"),  # not declared per member
    (Option(0.0, per_member=True), [1.0, 2.0, 3.0], r"option x needs one value or one per member \(2\)"),
    (Option(0.0, within=(-1, 1), per_member=True), [0.5, 1.5], r"outside \[-1, 1\]"),
    (Option(1.0), float("nan"), "x=nan must be a finite number"),
    (Option(1.0), True, "x=True must be a finite number"),
    (Option(False), 1, "x=1 must be true or false"),
    (Option("a", choices=("a", "b")), "c", "unknown x 'c'; choose one of a, b"),
])
def test_an_option_refuses_what_it_does_not_declare(spec, value, message):
    with pytest.raises(ConfigError, match=message):
        spec.check("x", value, 2)


def test_an_option_gives_its_canonical_form():
    assert Option(0.0, min=0).check("x", 1, 2) == 1.0
    np.testing.assert_array_equal(Option(1.0, per_member=True).check("x", 0.5, 3), [0.5, 0.5, 0.5])
    assert Option("a", choices=("a", "b")).check("x", "b", 2) == "b"


@pytest.fixture
def gain_rule(monkeypatch):
    """A rule added as one class, registered as the rule package registers its files."""

    class Gain(mf.rules.Rule):
        """BP with member r's output error times its own gain: ``δ_l = g_r δ_l^BP``."""

        name = "test-gain"
        provides = "deltas"
        summary = "BP scaled by a per-member gain"
        options = {"gain": Option(1.0, "factor of each member's update", min=0, per_member=True, example=2.0)}

        def deltas(self, signal):
            g = self.backend.asarray(np.reshape(self.settings["gain"], (-1, 1, 1)), self.dtype)
            return backpropagate(self.xp, self.net, signal.cache, g * signal.e, signal.params.weights)

    monkeypatch.setitem(mf.rules.RULES, Gain.name, Gain)
    yield Gain
    monkeypatch.undo()
    del Gain
    gc.collect()  # the registry walks live subclasses


def test_a_new_rule_is_validated_from_its_declaration(gain_rule):
    with pytest.raises(ConfigError, match="gain=-1 must be 0 or more"):
        mf.Config(layers=SIZES, rule="test-gain", rule_options={"gain": -1})
    with pytest.raises(ConfigError, match=r"option gain needs one value or one per member \(2\)"):
        mf.Config(layers=SIZES, rule="test-gain", seeds=[0, 1], rule_options={"gain": [1.0, 2.0, 3.0]})
    with pytest.raises(ConfigError, match="rule 'test-gain' has no option 'decay'; its options: gain"):
        mf.build(mf.Config(layers=SIZES, rule="test-gain", rule_options={"decay": 0.1}), mf.get_backend("cpu"))


def test_a_new_rule_is_listed_with_its_options(gain_rule):
    listed = "\n".join(describe_rules())
    assert "test-gain: BP scaled by a per-member gain\n    gain: factor of each member's update (default 1.0; >= 0; " \
           "one or one per member)" in listed
    result = CliRunner().invoke(cli, ["rules"])
    assert result.exit_code == 0 and "test-gain: BP scaled by a per-member gain" in result.output
    assert "perturbed: " in result.output and "alignment: target cosine" in result.output
    assert "`python cli.py rules`" in CliRunner().invoke(cli, ["train", "--help"]).output


def test_a_new_rule_runs_per_member_values_as_an_ensemble(gain_rule, backend):
    """Member r's update is g_r times BP's at the same weights (float64, 1e-12)."""
    gains = [0.5, 2.0, 0.0]
    make = lambda rule, options: mf.build(mf.Config(layers=SIZES, rule=rule, rule_options=options, seeds=[0, 1, 2],
                                                    dtype="float64", init_scale=0.6), backend)
    run, bp = make("test-gain", {"gain": gains}), make("bp", {})
    x, y, _ = tiny_batch(SIZES)
    x, y = backend.asarray(x), backend.asarray(y)
    for got, want in zip(mf.batch_updates(run, x, y), mf.batch_updates(bp, x, y)):
        for a, b in zip(host(backend, got), host(backend, want)):
            np.testing.assert_allclose(a, np.reshape(gains, (-1, 1, 1)) * b, rtol=1e-12, atol=1e-15)
    assert member_config(run.config, [1]).rule_options == {"gain": [2.0]}  # kept members keep their gain


def test_a_new_rules_per_member_option_is_recorded_and_plotted_per_member(gain_rule, tmp_path):
    backend = mf.get_backend("cpu")
    cfg = mf.Config(layers=(12, 8, 4), rule="test-gain", seeds=[0, 1, 2], rule_options={"gain": [0.5, 2.0, 0.5]},
                    batch_size=50, metrics_every=2)
    run = mf.train(mf.build(cfg, backend), mf.DeviceData.from_dataset(backend, tiny_dataset(), cfg.dtype), 1)
    (read,) = history.read(checkpoint.save(run, tmp_path / "gain.h5"))
    assert read.member_settings() == [{"gain": 0.5}, {"gain": 2.0}, {"gain": 0.5}]
    lines = plot_run.lines_of([read])
    assert [(line.label, line.members) for line in lines] == [("test-gain gain=0.5, 2 seeds", [0, 2]),
                                                               ("test-gain gain=2", [1])]


def test_a_rule_with_undeclared_options_is_refused_at_registration():
    class Plain(mf.rules.Rule):
        name, provides, options = "test-plain", "deltas", {"decay": 0.0}

    with pytest.raises(TypeError, match="rule 'test-plain' must declare its options as Option specs"):
        mf.rules._discover()
    del Plain
    gc.collect()
    mf.rules._discover()  # gone again: the registry walks live subclasses


def test_every_rule_declares_example_options_it_accepts():
    for name, cls in mf.RULES.items():
        mf.Config(layers=SIZES, rule=name, seeds=[0, 1], rule_options=examples(cls.options))
        for option, spec in cls.options.items():
            assert spec.help, (name, option)  # `rules` and --help show it


@pytest.mark.parametrize("rule", list(mf.RULES))
def test_strict_backend_matches_numpy_for_every_rule(cpu, rule):
    """The same seeded float64 training on array-api-strict and NumPy, the rule's example options."""
    strict, options = mf.get_backend("strict"), examples(mf.RULES[rule].options)
    runs = []
    for backend in (cpu, strict):
        cfg = mf.Config(layers=(12, 10, 8, 4), rule=rule, rule_options=options, seeds=[1, 2], dtype="float64",
                        batch_size=32, lr=0.1)
        runs.append(mf.train(mf.build(cfg, backend), mf.DeviceData.from_dataset(backend, tiny_dataset(), "float64"), 1))
    for a, b in zip(host(cpu, runs[0].params.weights), host(strict, runs[1].params.weights)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
