"""Keep some members of an ensemble: a finished member leaves, so it costs nothing more.

Song et al.'s code stops every run on its own (its loss has settled); in an ensemble the
members that have stopped would still be computed every step. ``keep_members`` makes the
run of the members still going, each exactly as it was: weights, biases, the optimiser's
state, the rule's state
(``rule.state()`` / ``load_state``), random streams (their generators carry on where they
were, as a checkpoint restores them), seeds and per-member settings.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from .config import Config, Run, build
from .network import Params
from .rules import rule_class


def _compact(values: np.ndarray):
    """Values of members as a Config field holds them: one value where all are equal."""
    return float(values[0]) if np.all(values == values[0]) else values.tolist()


def member_config(config: Config, keep: Sequence[int]) -> Config:
    """The config of members ``keep``: their seeds, stream seeds, initial scales, weight
    decays, per-member optimiser options and per-member rule options (those the rule declares
    per member, as perturbed BP's ``alignment``), read from the canonical forms; shared
    options stay as they are."""
    keep = [int(i) for i in keep]
    declared = rule_class(config.rule).options
    settings = config.rule_settings
    options = {k: settings[k][keep].tolist() if declared[k].per_member else v for k, v in config.rule_options.items()}
    return replace(
        config, seeds=[config.seeds[i] for i in keep],
        stream_seeds={p: [s[i] for i in keep] for p, s in config.stream_seeds.items()},
        init_scale=config.init_scales[keep].tolist(), weight_decay=[_compact(row) for row in config.decays[:, keep]],
        rule_options=options, optimizer_options=_members_of(config.optimizer_options, config.members, keep))


def _members_of(options: dict, members: int, keep: list[int]) -> dict:
    """Optimiser options of members ``keep``: a list of one per member cut to theirs."""
    return {k: [v[i] for i in keep] if isinstance(v, (list, tuple)) and len(v) == members else v
            for k, v in options.items()}


def keep_members(run: Run, keep: Sequence[int]) -> Run:
    """A run of members ``keep`` (indices into ``run``, in that order), each continuing
    exactly where it was; step, epoch and history are copied from ``run``."""
    keep = [int(i) for i in keep]
    if not keep or min(keep) < 0 or max(keep) >= run.params.members:
        raise ValueError(f"keep_members: indices {keep} outside 0..{run.params.members - 1}")
    backend, xp = run.backend, run.xp
    new = build(member_config(run.config, keep), backend)
    index = backend.asarray(np.asarray(keep, dtype=np.int64))
    take = lambda arrays: None if arrays is None else [xp.take(a, index, axis=0) for a in arrays]
    new.params = Params(take(run.params.weights), take(run.params.biases))
    slots = run.optimiser_state.slots
    new.optimiser_state.slots = dict(zip(slots, take(list(slots.values()))))
    new.optimiser_state.t = run.optimiser_state.t
    state = run.rule.state()
    if state:
        new.rule.load_state({k: backend.to_host(v)[keep] for k, v in state.items()})
    for mine, i in zip(new.streams, keep):  # the rule draws from these same objects
        mine.set_state(run.streams[i].state())
    new.step, new.epoch = run.step, run.epoch
    new.history = {table: {k: list(v) for k, v in columns.items()} for table, columns in run.history.items()}
    return new
