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
