"""Perturbation directions (``streams.normal``): standard normal, reproducible from the
member's stream, independent of the thread count. Statistical bounds are 5 standard errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from minifa import blas, streams


def generators(*seeds):
    return [np.random.Generator(np.random.PCG64(s)) for s in seeds]


def test_draws_are_standard_normal():
    """Moments, the 3σ tail and the Kolmogorov distance of 2.4M float64 draws; the cos and
    sin halves of each Box-Muller block are uncorrelated."""
    z = streams.normal(generators(7), (1200, 2000), np.float64).ravel()
    n = z.size
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / n)
    assert abs((z ** 3).mean()) < 5 * math.sqrt(15 / n)
    assert abs((z ** 4).mean() - 3) < 5 * math.sqrt(96 / n)
    tail = 2 * (1 - 0.5 * (1 + math.erf(3 / math.sqrt(2))))
    assert abs((np.abs(z) > 3).mean() - tail) < 5 * math.sqrt(tail / n)
    sample = np.sort(z[:: 12])
    cdf = 0.5 * (1 + np.frompyfunc(math.erf, 1, 1)(sample / math.sqrt(2)).astype(float))
    ranks = np.arange(1, sample.size + 1) / sample.size
    assert np.max(np.abs(cdf - ranks)) < 1.95 / math.sqrt(sample.size)  # Kolmogorov, 0.1 % level
    block = 2 * streams.BLOCK
    cos, sin = z[: block // 2], z[block // 2 : block]
    assert abs(np.corrcoef(cos, sin)[0, 1]) < 5 / math.sqrt(cos.size)


def test_draws_do_not_depend_on_the_thread_count():
    before = blas.blas_threads()
    try:
        blas.set_blas_threads(1)
        one = streams.normal(generators(1, 2), (300, 1000), np.float32)
        blas.set_blas_threads(2)
        two = streams.normal(generators(1, 2), (300, 1000), np.float32)
    finally:
        blas.set_blas_threads(before)
    assert np.array_equal(one, two)


def test_draws_are_reproducible_and_advance_the_stream():
    """Same seed, same draws; each member's own stream; the stream moves on by one raw
    64-bit draw per pair, so the next draw is fresh and the state can be checkpointed."""
    gens = generators(3, 4)
    first = streams.normal(gens, (5, 7), np.float64)  # 35 values: 18 pairs
    second = streams.normal(gens, (5, 7), np.float64)
    again = streams.normal(generators(3, 4), (5, 7), np.float64)
    assert np.array_equal(first, again) and not np.array_equal(first, second)
    assert not np.array_equal(first[0], first[1])
    assert np.array_equal(streams.normal(generators(4), (5, 7), np.float64)[0], first[1])
    moved = np.random.PCG64(3)
    moved.advance(2 * 18)
    assert gens[0].bit_generator.state == moved.state


@pytest.mark.parametrize("shape", [(1,), (3, 5), (2 * streams.BLOCK + 3,)])
def test_float32_draws_are_the_float64_ones_rounded(shape):
    """The same bits: float32 keeps 24 of each uniform's 32, which moves a radius by at most
    √(2·2⁻²⁴) = 3.5e-4 (near ρ = 0, where ``u`` is near 1) and an angle by 2π·2⁻²⁵."""
    wide = streams.normal(generators(9), shape, np.float64)
    narrow = streams.normal(generators(9), shape, np.float32)
    assert narrow.dtype == np.float32 and narrow.shape == (1,) + shape
    np.testing.assert_allclose(narrow, wide, rtol=1e-5, atol=3.5e-4)
    assert np.median(np.abs(narrow - wide)) < 1e-6
