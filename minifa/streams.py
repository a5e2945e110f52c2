"""Seeded host random streams, one set per ensemble member.

Every random draw (weights, feedback matrices, shuffle orders, perturbation directions) is
made on the host by NumPy and then moved to the device, so one seed gives the same network
on every backend. Each purpose has its own stream, derived from the member's seed by
``SeedSequence(seed, spawn_key=(k,))``, so changing one choice (say, the feedback
distribution) does not reshuffle the others (the initial weights or the data order).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STREAMS = ("init", "feedback", "data", "perturbation")


def _generator(seed: int, purpose: str) -> np.random.Generator:
    sequence = np.random.SeedSequence(seed, spawn_key=(STREAMS.index(purpose),))
    return np.random.Generator(np.random.PCG64(sequence))


@dataclass
class Streams:
    """The four generators of one member. ``overrides`` may set the seed of one purpose,
    e.g. to share initial weights between members that differ in feedback."""

    seed: int
    overrides: dict[str, int] = field(default_factory=dict)
    generators: dict[str, np.random.Generator] = field(init=False)

    def __post_init__(self) -> None:
        self.generators = {p: _generator(self.overrides.get(p, self.seed), p) for p in STREAMS}

    def __getitem__(self, purpose: str) -> np.random.Generator:
        return self.generators[purpose]

    def state(self) -> dict[str, dict]:
        """Bit-generator states of all streams (JSON-serialisable), for checkpoints."""
        return {p: g.bit_generator.state for p, g in self.generators.items()}

    def set_state(self, state: dict[str, dict]) -> None:
        for purpose, s in state.items():
            self.generators[purpose].bit_generator.state = s


def draw(streams: list[Streams], purpose: str, sample) -> np.ndarray:
    """Stack one host draw per member: ``sample(generator) -> array`` gives shape (R, ...)."""
    return np.stack([sample(s[purpose]) for s in streams])
