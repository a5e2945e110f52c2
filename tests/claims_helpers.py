"""Synthetic results for the claim tests: noise, a `Results` built in memory, and lookups."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from minifa.experiments.store import Results


RNG = np.random.default_rng(0)


def noisy(value, shape, sd=0.002, rng=None):
    """``value`` plus N(0, sd²) noise, from ``rng`` (default: the module's stream, whose draws
    depend on the tests run before)."""
    return np.asarray(value, dtype=float) + sd * (RNG if rng is None else rng).standard_normal(shape)


def results(name: str, config: dict, units: dict[str, tuple[dict, dict]]) -> Results:
    return Results(Path(f"{name}.h5"), name, "synthetic", config, {k: a for k, (_, a) in units.items()},
                   {k: p for k, (p, _) in units.items()}, 0.0)


def find(claims, *words):
    """The one claim whose figure + statement contains every word."""
    hits = [c for c in claims if all(w in f"{c.figure} {c.statement}" for w in words)]
    assert len(hits) == 1, [c.statement for c in hits]
    return hits[0]


def assert_all_hold(claims):
    assert claims and [c.statement for c in claims if not c.holds] == []
    assert all(c.margin for c in claims)
