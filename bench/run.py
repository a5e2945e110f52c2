"""`make bench`: minifa against the GEMM floor and PyTorch, in one process, interleaved.

784-700-1000-10 tanh, batch 100, lr 0.05, float32, FA with ±1 feedback. Every repetition
runs every case once, in a rotated order (so slow drift of a shared machine hits all cases
alike); the first repetition is a warm-up and is dropped. Each case runs ``--steps`` steps
(default 300, half an MNIST epoch) and is scaled to one 600-step epoch per network. A ratio
is the median over repetitions of the ratio *within* a repetition, so it compares runs made
seconds apart. Results: a table, then the ratios, and ``bench/results.json``.

    python bench/run.py                 # about 5-8 minutes on 2 cores
    python bench/run.py --quick         # a smoke test: few steps, 2 repetitions
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

import cases  # noqa: E402
import gpu  # noqa: E402
from harness import EPOCH_STEPS, per_network, ratios, summarise, timed  # noqa: E402
import torch_peers  # noqa: E402
import workloads  # noqa: E402
import minifa as mf  # noqa: E402
from minifa.blas import blas_kernel, blas_libraries, blas_threads, set_blas_threads  # noqa: E402
from minifa import DeviceData  # noqa: E402


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=300, help="steps per case and repetition (an epoch is 600)")
    p.add_argument("--reps", type=int, default=5, help="timed repetitions (plus one warm-up)")
    p.add_argument("--budget", type=float, default=420.0,
                   help="seconds for the CPU repetitions; fewer repetitions (at least 1) if a busy machine needs it")
    p.add_argument("--members", type=int, default=4, help="ensemble size R for the ensemble case")
    p.add_argument("--data", choices=["auto", "mnist", "synthetic"], default="auto",
                   help="auto: data/mnist if present, else synthetic data of MNIST's shape")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS (and torch) threads; default: every usable core (minifa's default too)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch peers")
    p.add_argument("--no-gpu", action="store_true", help="skip the GPU section even if a GPU is present")
    p.add_argument("--quick", action="store_true", help="smoke test: 30 steps, 2 repetitions")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results.json"))
    args = p.parse_args()
    if args.quick:
        args.steps, args.reps = 30, 2
    return args


def cpu_cases(args, ds, backend):
    """name -> (factory, networks per run): everything timed on the CPU."""
    steps = args.steps
    data = DeviceData.from_dataset(backend, cases.subset(ds, steps * cases.BATCH), "float32")
    out = {
        "floor_fa": (cases.floor_case("fa", steps), 1),
        "floor_dfa": (cases.floor_case("dfa", steps), 1),
        "minifa_fa": (cases.minifa_case(data, backend, rule="fa"), 1),
        "minifa_bp": (cases.minifa_case(data, backend, rule="bp"), 1),
        "minifa_dfa": (cases.minifa_case(data, backend, rule="dfa"), 1),
        "minifa_fa_ensemble": (cases.minifa_case(data, backend, rule="fa", members=args.members), args.members),
        "minifa_fa_align_every_step": (cases.minifa_case(data, backend, rule="fa", metrics_every=1), 1),
        "minifa_fa_align_every_10": (cases.minifa_case(data, backend, rule="fa", metrics_every=10), 1),
        "minifa_fa_scale1": (cases.minifa_case(data, backend, rule="fa", init_scale=1.0), 1),
        **{f"minifa_{rule.replace('-', '_')}": (cases.minifa_case(data, backend, rule=rule), 1)
           for rule in ("kolen-pollack", "drtp", "frsf", "brsf")},  # the other rules, each against its floor
    }
    if torch_peers.available() and not args.no_torch:
        import torch

        torch.set_num_threads(blas_threads() or os.cpu_count())
        sizes, lr, batch = cases.SIZES, cases.LR, cases.BATCH
        out["torch_floor_fa"] = (torch_peers.floor_case(cases.gemm_shapes("fa"), steps), 1)
        out["torch_autograd_fa"] = (torch_peers.autograd_case(ds, sizes, steps, batch, lr), 1)
        out["torch_fused_fa"] = (torch_peers.fused_case(ds, sizes, steps, batch, lr), 1)
    return out


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    return {"cpu": model, "blas_kernel": blas_kernel(), "cores_usable": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "numpy": np.__version__, "minifa": mf.__version__, "blas_threads": blas_threads(),
            "blas": [{k: lib.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                     for lib in blas_libraries()],
            **torch_peers.describe(), "load_average_start": os.getloadavg()}


def print_table(rows: dict, ratio: dict, title: str) -> None:
    print(f"\n{title}\n{'case':32} {'s/network-epoch':>16} {'min-max':>15} {'GEMM GFLOP/s':>13}")
    for name, r in rows.items():
        print(f"{name:32} {r['median_s']:16.3f} {r['min_s']:7.3f}-{r['max_s']:<7.3f} {r['gemm_gflops_per_s']:13.1f}")
    print(f"\n{'ratio':36} {'median':>8} {'min-max':>15}")
    for key, v in ratio.items():
        print(f"{key:36} {v['median']:8.3f} {v['min']:7.3f}-{v['max']:<7.3f}")


def main() -> None:
    args = parse()
    started = time.perf_counter()
    set_blas_threads(args.threads)  # None: every usable core, whatever else runs
    backend = mf.get_backend("cpu")
    ds, data_name = cases.dataset(args.data)
    factories = cpu_cases(args, ds, backend)  # (sets torch's threads: before machine())
    work = workloads.cases_for(ds, backend, args.steps)
    info = machine()
    print(f"bench: {info['cpu']} ({info['blas_kernel']}), {info['cores_usable']} cores, "
          f"BLAS threads {info['blas_threads']}, data {data_name}, "
          f"{args.steps} steps x {args.reps} repetitions (+1 warm-up), scaled to {EPOCH_STEPS}-step epochs", flush=True)
    if not torch_peers.available() and not args.no_torch:
        print("bench: PyTorch not installed: peers skipped (pip install -e '.[bench]' adds torch)", flush=True)
    times = timed({**factories, **work}, args.reps, args.budget)
    rows = summarise({k: times[k] for k in factories}, factories, args.steps)
    work_rows = per_network({k: times[k] for k in work}, work)
    # perturbed_over_bp divides by BP's run in the workloads' units (seconds per run and network),
    # not its per-epoch-scaled row: the two differ by EPOCH_STEPS / steps
    same_units = {**rows, **work_rows, **per_network({"minifa_bp": times["minifa_bp"]}, factories)}
    ratio = {**ratios(rows), **ratios(same_units, workloads.ratio_table())}
    data = DeviceData.from_dataset(backend, cases.subset(ds, 2 * cases.BATCH), "float32")
    memory = [cases.peak_memory(backend, data, r, measure=m) for r in (1, args.members) for m in (False, True)]
    gpu_result = gpu.run(args, ds) if not args.no_gpu else {"skipped": "--no-gpu"}
    info["load_average_end"] = os.getloadavg()
    result = {"config": {"sizes": cases.SIZES, "batch": cases.BATCH, "lr": cases.LR, "dtype": "float32",
                         "steps_per_case": args.steps, "epoch_steps": EPOCH_STEPS, "repetitions": args.reps,
                         "data": data_name, "members": args.members},
              "machine": info, "gemm_gflop_per_epoch": {r: cases.step_flops(r) * EPOCH_STEPS / 1e9 for r in ("fa", "dfa")},
              "cpu": rows, "workloads": work_rows, "memory": memory, "gpu": gpu_result, "ratios": {k: v["median"] for k, v in ratio.items()},
              "ratio_spread": ratio, "wall_s": time.perf_counter() - started}
    Path(args.out).write_text(json.dumps(result, indent=2))
    for m in memory:
        print(f"memory: R={m['members']} measure={m['measure']}: step peak {m['step_peak_bytes_per_network'] / 2**20:.1f} MiB "
              f"per network, parameters+feedback {m['params_and_feedback_bytes_per_network'] / 2**20:.1f} MiB per network")
    if gpu_result.get("rows"):
        print_table(gpu_result["rows"], gpu_result["ratio_spread"], "GPU")
    else:
        print(f"GPU: {gpu_result.get('skipped')}")
    print(f"\nworkloads (seconds per run and network)\n{'case':32} {'median':>10} {'min-max':>17}")
    for name, r in work_rows.items():
        print(f"{name:32} {r['median_s']:10.4f} {r['min_s']:8.4f}-{r['max_s']:<8.4f}")
    print_table(rows, ratio, "CPU (seconds per network-epoch; ratios last)")
    print(f"\nwrote {args.out} in {result['wall_s']:.0f} s")


if __name__ == "__main__":
    main()
