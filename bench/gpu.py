"""The GPU section of `bench/run.py`: minifa on CuPy (R = 1 and large ensembles) against
a single-network PyTorch-CUDA loop on the same GPU. Runs only where a CUDA device is
visible; elsewhere it reports why it was skipped. Interleaved step by step as the CPU
(`harness.interleave`), each block followed by a device synchronisation.
"""

from __future__ import annotations

import os

import cases
import torch_peers
from harness import EPOCH_STEPS, Case, interleave, ratios, rows
import minifa as mf
from minifa.backend import gpu_available
from minifa import DeviceData

ENSEMBLES = (1, 8, 64, 256)


def _torch_cuda() -> bool:
    return torch_peers.available() and torch_peers.torch.cuda.is_available()


RATIOS = {f"gpu_R{m}_throughput_over_torch_single": ("torch_cuda_best", f"cupy_fa_R{m}") for m in ENSEMBLES}
GPU_BUDGET_S = 120.0


def _minifa_cases(ds) -> dict[str, Case]:
    backend = mf.get_backend("gpu")
    data = DeviceData.from_dataset(backend, ds, "float32")
    return {f"cupy_fa_R{members}": Case(cases.minifa_case(data, backend, rule="fa", members=members).make, members,
                                        sync=backend.sync) for members in ENSEMBLES}


def _torch_cases(ds) -> dict[str, Case]:
    sync = torch_peers.torch.cuda.synchronize
    common = (ds, cases.SIZES, cases.BATCH, cases.LR, "cuda")
    return {"torch_cuda_fused_fa": Case(torch_peers.fused_case(*common), sync=sync),
            "torch_cuda_autograd_fa": Case(torch_peers.autograd_case(*common), sync=sync)}


def run(args, ds) -> dict:
    """Timings and ratios, or ``{"skipped": reason}``."""
    have_cupy, have_torch = gpu_available(), _torch_cuda()
    if not (have_cupy or have_torch):
        return {"skipped": "no CUDA device visible (CuPy and PyTorch-CUDA both absent or without a GPU); "
                           "the section is ready: on a GPU machine `pip install -e '.[gpu,bench]'` and rerun"}
    factories = {}
    if have_cupy:
        factories.update(_minifa_cases(ds))
    if have_torch:
        factories.update(_torch_cases(ds))
    times = interleave(factories, RATIOS, min(args.budget, GPU_BUDGET_S), args.block, args.target)
    spread = ratios(times, RATIOS)
    notes = [] if have_cupy else ["CuPy absent: minifa's GPU cases skipped (pip install -e '.[gpu]')"]
    memory = _memory(ds) if have_cupy else []
    return {"rows": rows(times, EPOCH_STEPS), "ratio_spread": spread, "ratios": {k: v["median"] for k, v in spread.items()},
            "notes": notes, "device": _describe(), "memory": memory,
            "tf32": os.environ.get("CUPY_TF32", "0") != "0"}  # CuPy's opt-in; float32 otherwise


def _memory(ds) -> list[dict]:
    """CuPy's memory pool after a few steps of a fresh ensemble (the pool keeps what it
    ever held, so its total is the peak), per network."""
    import cupy

    backend, pool = mf.get_backend("gpu"), cupy.get_default_memory_pool()
    out = []
    for members in ENSEMBLES:
        pool.free_all_blocks()
        data = DeviceData.from_dataset(backend, cases.subset(ds, 3 * cases.BATCH, cases.BATCH), "float32")
        base = pool.total_bytes()
        step = cases.minifa_case(data, backend, rule="fa", members=members).make()
        for _ in range(3):
            step()
        backend.sync()
        out.append({"members": members, "pool_bytes_per_network": int((pool.total_bytes() - base) / members)})
        del data
    return out


def _describe() -> str:
    if gpu_available():
        from minifa.backend import gpu_description

        return gpu_description()
    return torch_peers.torch.cuda.get_device_name(0)
