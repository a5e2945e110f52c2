"""Every registered rule's state survives a checkpoint: a run saved after one epoch and
resumed equals the uninterrupted run bit for bit (weights, rule state, streams, history).
The rules and their options come from the registry (each option's declared ``example``),
so a new rule is tested here without touching this file."""

from __future__ import annotations

import numpy as np
import pytest

import minifa as mf
from minifa import checkpoint
from minifa.options import examples

from .test_checkpoint import assert_same_run, host_state, make_run


@pytest.mark.parametrize("rule", list(mf.RULES))
def test_resume_is_exact(tmp_path, rule):
    options = examples(mf.RULES[rule].options)
    straight, data = make_run(rule, options)
    mf.train(straight, data, 3)
    first, data = make_run(rule, options)
    mf.train(first, data, 1)
    resumed = checkpoint.load(checkpoint.save(first, tmp_path / "run.h5"))
    assert_same_run(resumed, first)
    assert set(first.rule.state()) <= set(host_state(resumed))  # the rule's own state was saved
    mf.train(resumed, data, 3)
    assert_same_run(resumed, straight)
    last = f"W{len(first.params.weights)}"  # the output layer: every rule moves it (last-layer only it)
    assert not np.array_equal(host_state(first)[last], host_state(straight)[last])


def test_a_brsf_checkpoint_of_the_old_host_redraws_refuses_to_resume(tmp_path, monkeypatch):
    """brSF's redraws moved to ``Backend.normal`` (issue 28), so its bits changed: a file saved
    with the old state (no ``fast_magnitude_draws``) stops with one line instead of resuming
    on the other generator."""
    from minifa.errors import CheckpointError
    from minifa.rules.brsf import BatchwiseRandomMagnitudeSignConcordant as BrSF
    from minifa.rules.frsf import FixedRandomMagnitudeSignConcordant as FrSF

    run, data = make_run("brsf", {})
    mf.train(run, data, 1)
    monkeypatch.setattr(BrSF, "state", FrSF.state)  # the state brSF saved before
    path = checkpoint.save(run, tmp_path / "old.h5")
    monkeypatch.undo()
    with pytest.raises(CheckpointError, match=r"lacks 'rule/fast_magnitude_draws': its brsf state is from another minifa version"):
        checkpoint.load(path)
