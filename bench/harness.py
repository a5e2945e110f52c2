"""Timing and summaries shared by `bench/run.py`, `bench/before_after.py`, the GPU section and the ablation.

Cases interleave step by step in one process: a *round* runs ``block`` steps of every
case in turn, in an order rotated each round, so the two cases of a ratio are timed
milliseconds apart and the machine's drift hits both alike. A ratio's sample is its
within-round ratios (paired). Rounds go on until every ratio's 95 % interval lies within
±``target`` of its median, or the time budget ends. The interval is a **percentile
bootstrap of the median** of the within-round ratios (``BOOTSTRAP`` resamples, seeded):
it is the median that is printed, and ratios of times are skewed, which a t interval ignores.
"""

from __future__ import annotations

import gc
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

EPOCH_STEPS = 600  # 60000 MNIST samples / batch 100
BOOTSTRAP = 1000
CHECK_EVERY_S = 10.0  # how often the stopping rule looks (a bootstrap of every ratio costs ~0.1 s)

# name -> (numerator, denominator), both case names; times are per step and network.
RATIOS = {
    "fa_over_floor": ("minifa_fa", "floor_fa"),
    "bp_over_floor": ("minifa_bp", "floor_fa"),
    "dfa_over_floor": ("minifa_dfa", "floor_dfa"),
    "fa_over_torch_best": ("minifa_fa", "torch_best"),
    "fa_over_torch_fused": ("minifa_fa", "torch_fused_fa"),
    "fa_over_torch_autograd": ("minifa_fa", "torch_autograd_fa"),
    "torch_fused_over_floor": ("torch_fused_fa", "floor_fa"),
    "torch_floor_over_floor": ("torch_floor_fa", "floor_fa"),
    "align_every_step_over_plain": ("minifa_fa_align_every_step", "minifa_fa"),
    "align_every_10_over_plain": ("minifa_fa_align_every_10", "minifa_fa"),
    "ensemble_per_network_over_single": ("minifa_fa_ensemble", "minifa_fa"),
    "fa_scale1_over_scale005": ("minifa_fa_scale1", "minifa_fa"),
    "kolen_pollack_over_floor": ("minifa_kolen_pollack", "floor_kolen_pollack"),  # its own: FA's + B's 3 update GEMMs
    "kolen_pollack_over_fa_floor": ("minifa_kolen_pollack", "floor_fa"),  # as the table (≥ 1.39 by flops alone)
    "drtp_over_floor": ("minifa_drtp", "floor_dfa"),
    "frsf_over_floor": ("minifa_frsf", "floor_fa"),
    "brsf_over_floor": ("minifa_brsf", "floor_fa"),  # (with its magnitudes redrawn every batch)
}
BEST = {"torch_best": ("torch_fused_fa", "torch_autograd_fa"),  # per round, the fastest of these
        "torch_cuda_best": ("torch_cuda_fused_fa", "torch_cuda_autograd_fa")}


@dataclass(frozen=True)
class Case:
    """``make()`` does the untimed set-up and returns ``step()``, one training step; ``sync``
    waits for queued device work after a block; ``peer`` marks another runtime (PyTorch's
    OpenMP threads), whose spinning threads get ``settle`` seconds to go idle when the
    runtime changes (so neither runtime's spinning threads steal the other's cores)."""

    make: Callable[[], Callable[[], None]]
    networks: int = 1
    peer: bool = False
    sync: Callable[[], None] = lambda: None


def interval(values, rng=None) -> dict:
    """Median of ``values`` with its 95 % percentile-bootstrap interval, min and max."""
    v = np.asarray(values, dtype=float)
    rng = np.random.default_rng(0) if rng is None else rng
    medians = np.median(v[rng.integers(0, v.size, (BOOTSTRAP, v.size))], axis=1)
    low, high = np.percentile(medians, [2.5, 97.5])
    median = float(np.median(v))
    return {"median": median, "low": float(low), "high": float(high), "half_width": float(max(high - median, median - low) / median),
            "min": float(v.min()), "max": float(v.max()), "rounds": int(v.size)}


def series(times: dict, name: str):
    """Per-round seconds of case ``name``, or of the best of ``BEST[name]`` (None if absent)."""
    if name in BEST:
        runs = [times[n] for n in BEST[name] if times.get(n)]
        return [min(v) for v in zip(*runs)] if runs else None
    return times.get(name) or None


def needed(table: dict) -> set[str]:
    """The case names the ratios of ``table`` read (a ``BEST`` name stands for its cases)."""
    names = {n for pair in table.values() for n in pair}
    return {c for n in names for c in BEST.get(n, (n,))}


def chosen(table: dict, names: str | None) -> dict:
    """The ratios of ``table`` named in ``names`` (comma-separated; None: all of them)."""
    if names is None:
        return table
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in table]
    if unknown or not wanted:
        raise SystemExit(f"bench: --ratios {names!r}: unknown {', '.join(unknown) or 'none given'}; "
                         f"choose from {', '.join(table)}")
    return {n: table[n] for n in wanted}


def ratios(times: dict, table: dict = RATIOS) -> dict:
    """Each pair of ``table`` whose cases ran: median and interval of the within-round ratios."""
    out = {}
    for key, (num, den) in table.items():
        a, b = series(times, num), series(times, den)
        if a and b:
            out[key] = interval([x / y for x, y in zip(a, b)])
    return out


def interleave(cases: dict[str, Case], table: dict, budget_s: float, block: int = 10, target: float = 0.03,
               min_rounds: int = 5, settle: float = 0.1, check_every_s: float = CHECK_EVERY_S,
               log=None) -> dict[str, list[float]]:
    """Seconds per step and network of every case, one value per round (round 0, a warm-up,
    dropped), until every ratio of ``table`` is within ±``target`` or ``budget_s`` is spent."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    steps = {name: case.make() for name, case in cases.items()}
    names, times = list(cases), {name: [] for name in cases}
    started = checked = time.perf_counter()
    rnd = 0
    while True:
        _round(cases, steps, names[rnd % len(names):] + names[: rnd % len(names)], block, settle, times if rnd else None)
        now = time.perf_counter()
        if rnd >= min_rounds and now - checked >= check_every_s:
            checked = now
            spread = ratios(times, table)
            worst = max((v["half_width"], k) for k, v in spread.items()) if spread else (0.0, "none")
            log(f"  round {rnd}: widest interval ±{100 * worst[0]:.1f} % ({worst[1]}), {now - started:.0f} s")
            if worst[0] <= target:
                log(f"  every ratio within ±{100 * target:.0f} % after {rnd} rounds")
                break
        if now - started > budget_s and rnd >= 1:
            log(f"  stopping after {rnd} rounds: the time budget ({budget_s:.0f} s) is spent")
            break
        rnd += 1
    return times


def _round(cases, steps, order, block: int, settle: float, times) -> None:
    """``block`` steps of each case in ``order``; appends seconds per step and network to ``times``."""
    gc.collect()
    gc.disable()  # no collection inside a timed block
    try:
        peer = False
        for name in order:
            case, step = cases[name], steps[name]
            if case.peer != peer:
                _settle(settle)
                peer = case.peer
            start = time.perf_counter()
            for _ in range(block):
                step()
            case.sync()
            elapsed = time.perf_counter() - start
            if times is not None:
                times[name].append(elapsed / block / case.networks)
    finally:
        gc.enable()


def _settle(seconds: float) -> None:
    """Wait ``seconds`` between minifa and PyTorch cases (its OpenMP threads stop spinning),
    busily: a sleep lets the core clock down, which biased the case after the wait by 20-40 %."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def rows(times: dict, scale: float = 1.0, flops: Callable[[str], float] | None = None) -> dict:
    """Per case: median, min, max of seconds per step and network times ``scale`` (EPOCH_STEPS
    gives seconds per network-epoch), all values, and GEMM GFLOP/s where ``flops(name)`` is known."""
    out = {}
    for name, ts in times.items():
        if not ts:
            continue
        v = [t * scale for t in ts]
        out[name] = {"median_s": float(np.median(v)), "min_s": min(v), "max_s": max(v), "all_s": v}
        if flops is not None:
            out[name]["gemm_gflops_per_s"] = flops(name) / float(np.median(ts)) / 1e9
    return out


def print_ratios(spread: dict) -> None:
    print(f"\n{'ratio':40} {'median':>8} {'95 % interval':>17} {'±':>6} {'rounds':>7}")
    for key, v in spread.items():
        print(f"{key:40} {v['median']:8.3f} {v['low']:8.3f}-{v['high']:<8.3f} {100 * v['half_width']:5.1f}% {v['rounds']:7d}")
