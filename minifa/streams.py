"""Seeded host random streams, one set per ensemble member.

Every random draw (weights, feedback matrices, shuffle orders) is made on the host by
NumPy and then moved to the device, so one seed gives the same network on every backend.
Perturbation directions, the one bulk draw of every step, come from ``normal`` (on a GPU
from a device stream seeded by the member's: ``Backend.normal``). Each purpose has its own
stream, derived from the member's seed by ``SeedSequence(seed, spawn_key=(k,))``, so
changing one choice (say, the feedback distribution) does not reshuffle the others (the
initial weights or the data order).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .blas import blas_thread_count, worker_pool

STREAMS = ("init", "feedback", "data", "perturbation", "dropout")


def _generator(seed: int, purpose: str) -> np.random.Generator:
    sequence = np.random.SeedSequence(seed, spawn_key=(STREAMS.index(purpose),))
    return np.random.Generator(np.random.PCG64(sequence))


@dataclass
class Streams:
    """The generators of one member, one per purpose. ``overrides`` may set the seed of one purpose,
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


BLOCK = 1 << 16  # raw 64-bit draws per Box-Muller block: 2^17 normals, 512 KiB of float32 (cache-sized)


def _box_muller(raw: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> None:
    """``2m`` standard normals from ``m`` raw 64-bit draws, in ``out``'s dtype (Box & Muller
    1958), every pass contiguous: of the raw draws as ``2m`` 32-bit integers ``k``, the first
    ``m`` give ``u = (k + ½) 2⁻³²`` and the radius ``ρ = √(−2 ln u)``, the last ``m`` the angle
    ``θ = 2π k 2⁻³²``; ``out[:m] = ρ cos θ``, ``out[m:] = ρ sin θ``. The radius is cut at
    √(2 ln 2³³) = 6.8 (probability 1.2e-10 per pair)."""
    m = raw.size
    ints = raw.view(np.uint32)
    rho, theta, cos = out[:m], out[m:], scratch[:m]
    np.add(ints[:m], 0.5, out=rho, dtype=out.dtype, casting="unsafe")
    rho *= 2.0 ** -32  # exact: u ≤ 1, so ln u ≤ 0
    np.log(rho, out=rho)
    rho *= -2.0
    np.sqrt(rho, out=rho)
    np.multiply(ints[m:], 2.0 * math.pi * 2.0 ** -32, out=theta, dtype=out.dtype, casting="unsafe")
    np.cos(theta, out=cos)
    np.sin(theta, out=theta)
    theta *= rho
    np.multiply(cos, rho, out=rho)


def _fill(state: dict, first: int, out: np.ndarray) -> None:
    """Blocks from raw draw ``first`` (a multiple of ``BLOCK``) of the stream at ``state`` into
    ``out``, flat; a last odd normal is drawn and dropped."""
    bits = np.random.PCG64(0)
    bits.state = state
    bits.advance(first)
    scratch = np.empty(min(BLOCK, (out.size + 1) // 2), dtype=out.dtype)
    for start in range(0, out.size, 2 * BLOCK):
        stop = min(start + 2 * BLOCK, out.size)
        pairs = (stop - start + 1) // 2
        whole = 2 * pairs == stop - start
        target = out[start:stop] if whole else np.empty(2 * pairs, dtype=out.dtype)
        _box_muller(bits.random_raw(pairs), target, scratch)
        if not whole:
            out[start:stop] = target[: stop - start]


def normal(generators: list[np.random.Generator], shape: tuple[int, ...], dtype) -> np.ndarray:
    """(R, *shape) standard normals, member r's from ``generators[r]`` (a PCG64 stream, then
    advanced past them). Box-Muller on the stream's raw 64-bit draws in fixed blocks of
    ``BLOCK``; blocks are filled on several threads at once (NumPy releases the GIL for raw
    draws and ufuncs), each starting at its own position of the stream, so the values do not
    depend on the thread count (as many as NumPy's BLAS has). About 3× NumPy's
    ``standard_normal`` per core (BENCHMARKS.md, "Perturbed BP"). The pool's threads stay
    alive between calls, so ``blas.rebalance_blas_threads`` (which acts only in a
    single-threaded process) keeps the count it had once they exist."""
    out = np.empty((len(generators),) + tuple(shape), dtype=dtype)
    count = math.prod(shape)
    blocks = -(-count // (2 * BLOCK))
    workers = max(1, min(blas_thread_count(), blocks * len(generators)))
    tasks = []
    for r, generator in enumerate(generators):
        bits, flat = generator.bit_generator, out[r].reshape(-1)
        runs = min(workers, blocks) or 1
        edges = [blocks * k // runs for k in range(runs + 1)]
        for a, b in zip(edges[:-1], edges[1:]):
            tasks.append((bits.state, a * BLOCK, flat[2 * BLOCK * a : 2 * BLOCK * b]))
        bits.advance(-(-count // 2))  # one raw draw per pair
    if workers == 1 or len(tasks) == 1:
        for task in tasks:
            _fill(*task)
    else:  # this thread fills the first run, the pool the others
        futures = [worker_pool(workers - 1).submit(_fill, *task) for task in tasks[1:]]
        _fill(*tasks[0])
        for future in futures:
            future.result()
    return out
