"""Keep some members of an ensemble: a finished member leaves, so it costs nothing more.

Song et al.'s code stops every run on its own (its loss has settled); in an ensemble the
members that have stopped would still be computed every step. ``keep_members`` makes the
run of the members still going, each exactly as it was: weights, biases, the rule's state
(``rule.state()`` / ``load_state``), random streams (their generators carry on where they
were, as a checkpoint restores them), seeds and per-member settings.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from .config import Config, Run, build
from .network import Params


def _pick(value: Any, keep: list[int], members: int) -> Any:
    """``value[keep]`` if it is a list of one value per member, else ``value`` (shared)."""
    if isinstance(value, (list, tuple)) and len(value) == members:
        return [value[i] for i in keep]
    return value


def member_config(config: Config, keep: Sequence[int]) -> Config:
    """The config of members ``keep``: their seeds, stream seeds, initial scales, weight
    decays and per-member rule options (a list with one value per member, as perturbed
    BP's ``alignment``); settings shared by all members stay as they are."""
    keep, members = [int(i) for i in keep], config.members
    # a layer's decays of one member become one value (Config reads a 1-list as a layer's list)
    decay = config.weight_decay
    decay = [_pick(v, keep, members) for v in decay] if isinstance(decay, (list, tuple)) else decay
    decay = [v[0] if isinstance(v, list) and len(v) == 1 else v for v in decay] if isinstance(decay, list) else decay
    return replace(
        config, seeds=[config.seeds[i] for i in keep],
        stream_seeds={p: [s[i] for i in keep] for p, s in config.stream_seeds.items()},
        init_scale=_pick(config.init_scale, keep, members), weight_decay=decay,
        rule_options={k: _pick(v, keep, members) for k, v in config.rule_options.items()})


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
    state = run.rule.state()
    if state:
        new.rule.load_state({k: backend.to_host(v)[keep] for k, v in state.items()})
    for mine, i in zip(new.streams, keep):  # the rule draws from these same objects
        mine.set_state(run.streams[i].state())
    new.step, new.epoch = run.step, run.epoch
    new.history = {table: {k: list(v) for k, v in columns.items()} for table, columns in run.history.items()}
    return new
