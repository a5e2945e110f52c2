"""Timing and summaries shared by the CPU and GPU sections of `bench/run.py`."""

from __future__ import annotations

import gc
import statistics
import sys
import time

import cases

EPOCH_STEPS = 600  # 60000 MNIST samples / batch 100

# name -> (numerator, denominator), both case names; the per-network scaling is in the case.
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
    "kolen_pollack_over_floor": ("minifa_kolen_pollack", "floor_fa"),  # (its B update is 3 GEMMs beyond FA's floor)
    "drtp_over_floor": ("minifa_drtp", "floor_dfa"),
    "frsf_over_floor": ("minifa_frsf", "floor_fa"),
    "brsf_over_floor": ("minifa_brsf", "floor_fa"),  # (with its magnitudes redrawn on the host every batch)
}


def timed(factories: dict, reps: int, budget_s: float = float("inf"), pause: float = 0.2) -> dict[str, list[float]]:
    """Seconds per run of every case, ``reps`` interleaved repetitions after one warm-up;
    fewer (at least one) when the next one would overrun ``budget_s`` (a busy machine)."""
    names, times = list(factories), {name: [] for name in factories}
    started = time.perf_counter()
    for rep in range(reps + 1):
        spent = time.perf_counter() - started
        if rep >= 2 and spent * (rep + 1) / rep > budget_s:
            print(f"  stopping after {rep - 1} repetitions: the time budget ({budget_s:.0f} s) is spent", file=sys.stderr)
            break
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            go = factories[name][0]()
            gc.collect()
            gc.disable()
            time.sleep(pause)  # let spinning BLAS/OpenMP threads of the last case go idle
            start = time.perf_counter()
            go()
            elapsed = time.perf_counter() - start
            gc.enable()
            if rep:
                times[name].append(elapsed)
        print(f"  repetition {rep}{' (warm-up)' if rep == 0 else ''} done", file=sys.stderr, flush=True)
    return times


def summarise(times, factories, steps: int) -> dict:
    """Per case: seconds per network-epoch (median, min, max, all) and GFLOP/s."""
    rows = {}
    for name, ts in times.items():
        networks = factories[name][1]
        scale = EPOCH_STEPS / steps / networks
        per_epoch = [t * scale for t in ts]
        rule = "dfa" if name.endswith(("dfa", "drtp")) else "fa"
        flops = cases.step_flops(rule) * EPOCH_STEPS
        rows[name] = {"median_s": statistics.median(per_epoch), "min_s": min(per_epoch), "max_s": max(per_epoch),
                      "all_s": per_epoch, "networks": networks, "gemm_gflops_per_s": flops / statistics.median(per_epoch) / 1e9}
    return rows


def best_of(rows: dict, names) -> list | None:
    """Per repetition, the fastest of the cases ``names`` that ran (None if none did)."""
    runs = [rows[n]["all_s"] for n in names if n in rows]
    return [min(v) for v in zip(*runs)] if runs else None


def per_network(times, factories) -> dict:
    """Per case: seconds per run and network (median, min, max, all): for workloads whose
    runs are not MNIST epochs (their ratios compare runs of equal steps)."""
    rows = {}
    for name, ts in times.items():
        per = [t / factories[name][1] for t in ts]
        rows[name] = {"median_s": statistics.median(per), "min_s": min(per), "max_s": max(per), "all_s": per,
                      "networks": factories[name][1]}
    return rows


def ratios(rows: dict, table: dict = RATIOS) -> dict:
    """Median of the within-repetition ratios of ``table``'s pairs, with their min and max."""
    def series(name):
        if name == "torch_best":
            return best_of(rows, ("torch_fused_fa", "torch_autograd_fa"))
        return rows[name]["all_s"] if name in rows else None

    out = {}
    for key, (num, den) in table.items():
        a, b = series(num), series(den)
        if a and b:
            values = [x / y for x, y in zip(a, b)]
            out[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    return out


