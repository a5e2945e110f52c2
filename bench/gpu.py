"""The GPU section of `bench/run.py`: minifa on CuPy (R = 1 and large ensembles) against
a single-network PyTorch-CUDA loop on the same GPU. Runs only where a CUDA device is
visible; elsewhere it reports why it was skipped. Same interleaving and scaling as the CPU.
"""

from __future__ import annotations

import os
import statistics

import cases
import torch_peers
from harness import best_of, summarise, timed
import minifa as mf
from minifa.backend import gpu_available
from minifa import DeviceData

ENSEMBLES = (1, 8, 64, 256)


def _torch_cuda() -> bool:
    return torch_peers.available() and torch_peers.torch.cuda.is_available()


def _minifa_cases(args, ds) -> dict:
    backend = mf.get_backend("gpu")
    data = DeviceData.from_dataset(backend, cases.subset(ds, args.steps * cases.BATCH), "float32")
    out = {}
    for members in ENSEMBLES:
        factory = cases.minifa_case(data, backend, rule="fa", members=members)

        def synced(factory=factory):
            go = factory()

            def run():
                go()
                backend.sync()
            return run
        out[f"cupy_fa_R{members}"] = (synced, members)
    return out


def _torch_cases(args, ds) -> dict:
    sync = torch_peers.torch.cuda.synchronize
    common = (ds, cases.SIZES, args.steps, cases.BATCH, cases.LR, "cuda", sync)
    return {"torch_cuda_fused_fa": (torch_peers.fused_case(*common), 1),
            "torch_cuda_autograd_fa": (torch_peers.autograd_case(*common), 1)}


def run(args, ds) -> dict:
    """Timings and ratios, or ``{"skipped": reason}``."""
    have_cupy, have_torch = gpu_available(), _torch_cuda()
    if not (have_cupy or have_torch):
        return {"skipped": "no CUDA device visible (CuPy and PyTorch-CUDA both absent or without a GPU); "
                           "the section is ready: on a GPU machine `pip install -e '.[gpu,bench]'` and rerun"}
    factories = {}
    if have_cupy:
        factories.update(_minifa_cases(args, ds))
    if have_torch:
        factories.update(_torch_cases(args, ds))
    times = timed(factories, args.reps)
    rows = summarise(times, factories, args.steps)
    spread = {}
    best = best_of(rows, ("torch_cuda_fused_fa", "torch_cuda_autograd_fa"))
    if best and have_cupy:
        for members in ENSEMBLES:
            mine = rows[f"cupy_fa_R{members}"]["all_s"]  # already per network-epoch
            values = [t / m for t, m in zip(best, mine)]
            spread[f"gpu_R{members}_throughput_over_torch_single"] = {
                "median": statistics.median(values), "min": min(values), "max": max(values)}
    notes = [] if have_cupy else ["CuPy absent: minifa's GPU cases skipped (pip install -e '.[gpu]')"]
    memory = _memory(args, ds) if have_cupy else []
    return {"rows": rows, "ratio_spread": spread, "ratios": {k: v["median"] for k, v in spread.items()}, "notes": notes,
            "device": _describe(), "memory": memory,
            "tf32": os.environ.get("CUPY_TF32", "0") != "0"}  # CuPy's opt-in; float32 otherwise


def _memory(args, ds) -> list[dict]:
    """CuPy's memory pool after a few steps of a fresh ensemble (the pool keeps what it
    ever held, so its total is the peak), per network."""
    import cupy

    backend, pool = mf.get_backend("gpu"), cupy.get_default_memory_pool()
    out = []
    for members in ENSEMBLES:
        pool.free_all_blocks()
        data = DeviceData.from_dataset(backend, cases.subset(ds, 3 * cases.BATCH, cases.BATCH), "float32")
        base = pool.total_bytes()
        cases.minifa_case(data, backend, rule="fa", members=members)()()
        backend.sync()
        out.append({"members": members, "pool_bytes_per_network": int((pool.total_bytes() - base) / members)})
        del data
    return out


def _describe() -> str:
    if gpu_available():
        from minifa.backend import gpu_description

        return gpu_description()
    return torch_peers.torch.cuda.get_device_name(0)
