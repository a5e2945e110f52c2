"""Verdicts with margins: the statistics every claim check uses.

Ours is a mean ± sd over n seeds or repetitions. A comparison "A > B" holds only when the
difference exceeds both two standard errors (so noise does not decide it) and a stated
minimum effect (so a negligible gap does not count); a bound holds only with two standard
errors to spare; a match with a saved value holds only within the saved spread. With n = 1
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
