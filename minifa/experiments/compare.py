"""Verdicts with margins: the statistics every claim check uses.

Ours is a mean ± sd over n seeds or repetitions. A comparison "A > B" holds only when the
difference exceeds both two standard errors (so noise does not decide it) and a stated
minimum effect (so a negligible gap does not count); a bound holds only with two standard
errors to spare; a match with a saved mean of N runs is a test of means, within two
standard errors of the difference (`matches_mean`); a match of two fractions is Fisher's
exact test (`same_fraction`). With n = 1
there is no standard error, and the minimum effect alone decides (the margin says so).
Each verdict returns ``(holds, margin)``: the rule, with its numbers, for the claims table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def fmt(x: float) -> str:
    return f"{x:.3g}"


@dataclass(frozen=True)
class Stat:
    """Mean, sample sd and count of the finite values given."""

    mean: float
    sd: float
    n: int

    @classmethod
    def of(cls, values) -> "Stat":
        v = np.asarray(values, dtype=float).ravel()
        v = v[np.isfinite(v)]
        mean = float(v.mean()) if v.size else math.nan
        return cls(mean, float(v.std(ddof=1)) if v.size > 1 else math.nan, int(v.size))

    @property
    def se(self) -> float:
        """sd / √n; 0 when n < 2 (no estimate: the minimum effect alone then decides)."""
        return self.sd / math.sqrt(self.n) if self.n > 1 else 0.0

    def __str__(self) -> str:
        return f"{fmt(self.mean)} (n={self.n})" if self.n < 2 else f"{fmt(self.mean)} ± {fmt(self.sd)} (n={self.n})"


def paired(a, b) -> Stat:
    """The per-seed differences a − b (both from the same seeds, in the same order)."""
    return Stat.of(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))


def unpaired(a: Stat, b: Stat) -> Stat:
    """a − b of independent samples, carried as a Stat whose se is √(se_a² + se_b²) (a side
    with n = 1 adds no standard error, but the other side's still counts)."""
    n = min(a.n, b.n) if min(a.n, b.n) > 1 else max(a.n, b.n)
    se = math.hypot(a.se, b.se)
    return Stat(a.mean - b.mean, se * math.sqrt(n) if n > 1 else math.nan, n)


def exceeds(diff: Stat, minimum: float) -> tuple[bool, str]:
    """``diff`` (A − B) > max(2 SE, minimum)."""
    need = max(2 * diff.se, minimum)
    holds = bool(np.isfinite(diff.mean) and diff.mean > need)
    return holds, f"diff {fmt(diff.mean)} > max(2 SE {fmt(2 * diff.se)}, min {minimum:g})"


def below(stat: Stat, limit: float) -> tuple[bool, str]:
    """mean + 2 SE < limit."""
    upper = stat.mean + 2 * stat.se
    return bool(np.isfinite(upper) and upper < limit), f"mean + 2 SE {fmt(upper)} < {fmt(limit)}"


def above(stat: Stat, limit: float) -> tuple[bool, str]:
    """mean − 2 SE > limit."""
    lower = stat.mean - 2 * stat.se
    return bool(np.isfinite(lower) and lower > limit), f"mean − 2 SE {fmt(lower)} > {fmt(limit)}"


def within(stat: Stat, target: float, tolerance: float, spread: str = "2 sd") -> tuple[bool, str]:
    """|mean − target| ≤ tolerance (the reference's spread, named by ``spread``)."""
    gap = abs(stat.mean - target)
    return bool(np.isfinite(gap) and gap <= tolerance), f"|{fmt(stat.mean)} − {fmt(target)}| ≤ {spread} {fmt(tolerance)}"


# Below this many runs our own sd is too noisy to stand for ours: the authors' sd stands for both.
OWN_SD_RUNS = 10


def matches_mean(stat: Stat, mean: float, sd: float, runs: int, z: float = 2.0,
                 slack: float = 0.0) -> tuple[bool, str]:
    """A test of means: |ours − theirs| ≤ z·√(sd_o²/n + sd_t²/N) (z = 2), theirs ``mean ± sd``
    over ``runs``; with n < 10 the authors' sd stands for ours too (the margin says so);
    ``slack`` widens it (a printed mean's rounding, say)."""
    own = stat.sd if stat.n >= OWN_SD_RUNS else sd
    tolerance = z * math.sqrt(own ** 2 / max(stat.n, 1) + sd ** 2 / runs) + slack
    gap = abs(stat.mean - mean)
    whose = "our sd" if stat.n >= OWN_SD_RUNS else f"their sd for both sides, n = {stat.n} < {OWN_SD_RUNS}"
    widened = f" + {slack:g}" if slack else ""
    return (bool(np.isfinite(gap) and gap <= tolerance),
            f"|{fmt(stat.mean)} − {fmt(mean)}| ≤ {z:g} SE{widened} {fmt(tolerance)} (n = {stat.n}, N = {runs}; {whose})")


def fisher_p(k: int, n: int, K: int, N: int) -> float:
    """Two-sided p of Fisher's exact test that k of n and K of N come from one fraction: the
    sum of the hypergeometric probabilities of the 2 × 2 tables with the same margins that
    are no more likely than the one observed."""
    total, hits = n + N, k + K
    def prob(j):
        return math.comb(hits, j) * math.comb(total - hits, n - j) / math.comb(total, n)
    observed = prob(k)
    return float(min(1.0, sum(prob(j) for j in range(max(0, hits - N), min(n, hits) + 1)
                              if prob(j) <= observed * (1 + 1e-9))))


def same_fraction(k: int, n: int, K: int, N: int, alpha: float = 0.05) -> tuple[bool, str]:
    """k of n (ours) and K of N (theirs) agree: Fisher's exact two-sided p ≥ ``alpha``."""
    p, least = fisher_p(k, n, K, N), min(fisher_p(j, n, K, N) for j in range(n + 1))
    power = "" if least < alpha else f"; no k of {n} gives p < α (least {fmt(least)}): n = {n} cannot fail it"
    return p >= alpha, f"Fisher exact {k}/{n} vs {K}/{N}: p {fmt(p)} ≥ α {alpha:g}{power}"


def equivalent(diff: Stat, tolerance: float) -> tuple[bool, str]:
    """|mean difference| + 2 SE ≤ tolerance: the two agree to within ``tolerance``."""
    reach = abs(diff.mean) + 2 * diff.se
    return bool(np.isfinite(reach) and reach <= tolerance), f"|diff| + 2 SE {fmt(reach)} ≤ {tolerance:g}"


def not_less(diff: Stat) -> tuple[bool, str]:
    """A ≥ B within noise: no significant reversal, mean difference + 2 SE ≥ 0."""
    reach = diff.mean + 2 * diff.se
    return bool(np.isfinite(reach) and reach >= 0), f"diff + 2 SE {fmt(reach)} ≥ 0"


def each(named: dict[str, tuple[bool, str]], rule: str) -> tuple[bool, str]:
    """All of many named verdicts (one per width, say): the margin states the ``rule`` once
    and the margins of those that fail."""
    failed = [f"{name}: {margin}" for name, (ok, margin) in named.items() if not ok]
    return bool(named) and not failed, f"{rule}, all {len(named)}" + (f"; fails {'; '.join(failed)}" if failed else "")


def every(verdicts: list[tuple[bool, str]]) -> tuple[bool, str]:
    """All of several verdicts; the margin joins theirs."""
    return bool(verdicts) and all(ok for ok, _ in verdicts), " and ".join(m for _, m in verdicts)
