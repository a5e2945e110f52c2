"""The newer rules' state survives a checkpoint: a run saved after one epoch and resumed
equals the uninterrupted run bit for bit (weights, rule state, streams, history)."""

from __future__ import annotations

import numpy as np
import pytest

import minifa as mf
from minifa import checkpoint

from .test_checkpoint import assert_same_run, host_state, make_run

RULES = {
    "drtp": ({}, "feedback1"),  # fixed R_l
    "frsf": ({}, "magnitude2"),  # fixed |R_l|
    "brsf": ({}, "magnitude2"),  # |R_l| redrawn every batch: the next batch's is the state
    "kolen-pollack": ({"decay": 0.1}, "feedback2"),  # B learns through the fused GEMM
}


@pytest.mark.parametrize("rule", list(RULES))
def test_resume_is_exact(tmp_path, rule):
    options, state = RULES[rule]
    straight, data = make_run(rule, options)
    mf.train(straight, data, 3)
    first, data = make_run(rule, options)
    mf.train(first, data, 1)
    resumed = checkpoint.load(checkpoint.save(first, tmp_path / "run.h5"))
    assert_same_run(resumed, first)
    assert state in host_state(resumed)
    mf.train(resumed, data, 3)
    assert_same_run(resumed, straight)
    assert not np.array_equal(host_state(first)["W2"], host_state(straight)["W2"])


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
