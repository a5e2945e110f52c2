"""What a bench run was measured on, and whether the machine was busy (`run.py`, `before_after.py`)."""

from __future__ import annotations

import os
import platform

import numpy as np

import torch_peers
import minifa as mf
from minifa.blas import blas_kernel, blas_libraries, blas_threads


def machine() -> dict:
    """CPU model, BLAS (threadpoolctl's internal_api, version, threads and architecture,
    i.e. the kernel OpenBLAS picked), threads, versions, and the load average at the start."""
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor())
    return {"cpu": model, "blas_kernel": blas_kernel(), "cores_usable": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "numpy": np.__version__, "minifa": mf.__version__, "blas_threads": blas_threads(),
            "blas": [{k: lib.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                     for lib in blas_libraries()],
            **torch_peers.describe(), "load_average_start": os.getloadavg()}


def finish(info: dict) -> dict:
    """``info`` with the load average at the end and the verdict of ``busy``."""
    info["load_average_end"] = os.getloadavg()
    info["busy"] = busy(info)
    return info


def busy(info: dict) -> str | None:
    """Why the run is not a result, or None: other work above half the threads used, read
    as the 1-minute load at the start, and at the end as the load less our own threads
    (the bench keeps every thread busy, so a quiet machine ends near ``threads``)."""
    threads = info["blas_threads"] or info["cores_usable"]
    loads = {"start": info["load_average_start"][0], "end": info.get("load_average_end", (threads,))[0]}
    others = {"start": loads["start"], "end": loads["end"] - threads}
    high = [k for k, v in others.items() if v > threads / 2]
    if not high:
        return None
    said = ", ".join(f"{loads[k]:.2f} at the {k}" for k in high)
    return (f"the machine was busy (1-minute load {said}: other work above half the {threads} threads used): "
            "these timings are not a result")
