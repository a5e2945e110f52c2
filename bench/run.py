"""`make bench`: minifa against the GEMM floor and PyTorch, in one process, interleaved step by step.

784-700-1000-10 tanh, batch 100, lr 0.05, float32, FA with ±1 feedback. Every round runs
``--block`` steps of every case in turn (the order rotated each round); a ratio is the
median of its within-round ratios with a 95 % bootstrap interval, and rounds go on until
every interval is within ±``--target`` or ``--budget`` seconds are spent (`harness.py`).
Results: the tables, the ratios with their intervals, and ``bench/results.json``, which
records the machine (CPU, BLAS kernel, threads, torch) and the load at start and end;
a run on a busy machine (other work above half the threads, `machine.busy`) says so. Then the LeNet section
(`lenet.py`: BioTorch's conv net per rule against its floor and PyTorch), its own interleave
of at most ``--lenet-budget`` seconds.

    python bench/run.py                 # at most ~11 minutes on 2 cores
    python bench/run.py --quick         # a smoke test: short budget, no bound on the intervals
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


import cases  # noqa: E402
import gpu  # noqa: E402
import lenet  # noqa: E402
from harness import EPOCH_STEPS, RATIOS, Case, chosen, interleave, needed, print_ratios, ratios, rows  # noqa: E402
import torch_peers  # noqa: E402
import workloads  # noqa: E402
import minifa as mf  # noqa: E402
from machine import busy, finish, machine  # noqa: E402
from minifa.blas import blas_threads, set_blas_threads  # noqa: E402
from minifa import DeviceData  # noqa: E402


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--block", type=int, default=10, help="steps of a case per turn (a multiple of 10: alignment every 10)")
    p.add_argument("--target", type=float, default=0.03, help="stop when every ratio's 95%% interval is within ± this")
    p.add_argument("--budget", type=float, default=420.0, help="seconds of CPU rounds at most")
    p.add_argument("--lenet-budget", type=float, default=lenet.BUDGET_S, help="seconds of the LeNet section's rounds at most")
    p.add_argument("--members", type=int, default=4, help="ensemble size R for the ensemble case")
    p.add_argument("--data", choices=["auto", "mnist", "synthetic"], default="auto",
                   help="auto: data/mnist if present, else synthetic data of MNIST's shape")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS (and torch) threads; default: every usable core (minifa's default too)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch peers")
    p.add_argument("--no-gpu", action="store_true", help="skip the GPU section even if a GPU is present")
    p.add_argument("--ratios", default=None, metavar="NAME,...",
                   help="only these ratios and the cases they read (more rounds in the budget); default: all")
    p.add_argument("--quick", action="store_true", help="smoke test: a 20 s budget")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results.json"))
    args = p.parse_args()
    if args.quick:
        args.budget, args.lenet_budget = 20.0, 10.0
    return args


def cpu_cases(args, ds, data, backend) -> dict[str, Case]:
    """name -> Case: everything timed on the CPU (``data`` is ``ds`` on the device)."""
    out = {
        "floor_fa": cases.floor_case("fa"),
        "floor_dfa": cases.floor_case("dfa"),
        "floor_kolen_pollack": cases.floor_case("kolen-pollack"),
        "minifa_fa": cases.minifa_case(data, backend, rule="fa"),
        "minifa_bp": cases.minifa_case(data, backend, rule="bp"),
        "minifa_dfa": cases.minifa_case(data, backend, rule="dfa"),
        "minifa_fa_ensemble": cases.minifa_case(data, backend, rule="fa", members=args.members),
        "minifa_fa_align_every_step": cases.minifa_case(data, backend, rule="fa", metrics_every=1),
        "minifa_fa_align_every_10": cases.minifa_case(data, backend, rule="fa", metrics_every=10),
        "minifa_fa_scale1": cases.minifa_case(data, backend, rule="fa", init_scale=1.0),
        **{f"minifa_{rule.replace('-', '_')}": cases.minifa_case(data, backend, rule=rule)
           for rule in ("kolen-pollack", "drtp", "frsf", "brsf")},  # the other rules, each against its floor
    }
    if torch_peers.available() and not args.no_torch:
        import torch

        torch.set_num_threads(blas_threads() or os.cpu_count())
        sizes, lr, batch = cases.SIZES, cases.LR, cases.BATCH
        out["torch_floor_fa"] = Case(torch_peers.floor_case(cases.gemm_shapes("fa")), peer=True)
        out["torch_autograd_fa"] = Case(torch_peers.autograd_case(ds, sizes, batch, lr), peer=True)
        out["torch_fused_fa"] = Case(torch_peers.fused_case(ds, sizes, batch, lr), peer=True)
    return out


def print_rows(table: dict, title: str, unit: str) -> None:
    print(f"\n{title}\n{'case':32} {unit:>16} {'min-max':>17} {'GEMM GFLOP/s':>13}")
    for name, r in table.items():
        rate = f"{r['gemm_gflops_per_s']:13.1f}" if "gemm_gflops_per_s" in r else ""
        print(f"{name:32} {r['median_s']:16.4f} {r['min_s']:8.4f}-{r['max_s']:<8.4f} {rate}")


def flops(name: str) -> float:
    """GEMM flops of one step of an MNIST case (784-700-1000-10, batch 100)."""
    if name.endswith("kolen_pollack"):
        return cases.step_flops("kolen-pollack")
    return cases.step_flops("dfa" if name.endswith(("dfa", "drtp")) else "fa")


def main() -> None:
    args = parse()
    started = time.perf_counter()
    set_blas_threads(args.threads)  # None: every usable core, whatever else runs
    backend = mf.get_backend("cpu")
    ds, data_name = cases.dataset(args.data)
    data = DeviceData.from_dataset(backend, ds, "float32")
    mnist = cpu_cases(args, ds, data, backend)  # (sets torch's threads: before machine())
    work = workloads.cases_for(data, backend)
    convnet = lenet.section_cases(data, ds, backend, torch=not args.no_torch)
    table = chosen({**RATIOS, **workloads.ratio_table(), **lenet.RATIOS}, args.ratios)
    mnist, work, convnet = ({k: c for k, c in group.items() if k in needed(table)} for group in (mnist, work, convnet))
    info = machine()
    print(f"bench: {info['cpu']} ({info['blas_kernel']}), {info['cores_usable']} cores, "
          f"BLAS threads {info['blas_threads']}, data {data_name}, load {info['load_average_start'][0]:.2f}, "
          f"{args.block} steps per turn, until every ratio is within ±{100 * args.target:.0f} % or {args.budget:.0f} s", flush=True)
    if busy(info):
        print(f"bench: WARNING: {busy(info)}", flush=True)
    if not torch_peers.available() and not args.no_torch:
        print("bench: PyTorch not installed: peers skipped (pip install -e '.[bench]' adds torch)", flush=True)
    times = interleave({**mnist, **work}, table, args.budget, args.block, args.target) if mnist or work else {}
    lenet_result = lenet.run(convnet, args.lenet_budget, args.block, args.target, table)
    cpu_rows = rows({k: times[k] for k in mnist}, EPOCH_STEPS, flops)
    work_rows = rows({k: times[k] for k in work})
    spread = ratios(times, table)
    small = DeviceData.from_dataset(backend, cases.subset(ds, 2 * cases.BATCH), "float32")
    memory = [cases.peak_memory(backend, small, r, measure=m) for r in (1, args.members) for m in (False, True)]
    gpu_result = gpu.run(args, ds) if not args.no_gpu else {"skipped": "--no-gpu"}
    finish(info)
    result = {"config": {"sizes": cases.SIZES, "batch": cases.BATCH, "lr": cases.LR, "dtype": "float32",
                         "block": args.block, "target": args.target, "budget_s": args.budget, "epoch_steps": EPOCH_STEPS,
                         "interval": "95 % percentile bootstrap of the median of within-round ratios",
                         "data": data_name, "members": args.members},
              "machine": info, "gemm_gflop_per_epoch": {r: cases.step_flops(r) * EPOCH_STEPS / 1e9 for r in ("fa", "dfa")},
              "cpu": cpu_rows, "workloads": work_rows, "lenet": lenet_result, "memory": memory, "gpu": gpu_result,
              "ratios": {k: v["median"] for k, v in spread.items()}, "ratio_spread": spread,
              "wall_s": time.perf_counter() - started}
    Path(args.out).write_text(json.dumps(result, indent=2))
    for m in memory:
        print(f"memory: R={m['members']} measure={m['measure']}: step peak {m['step_peak_bytes_per_network'] / 2**20:.1f} MiB "
              f"per network, parameters+feedback {m['params_and_feedback_bytes_per_network'] / 2**20:.1f} MiB per network")
    if gpu_result.get("rows"):
        print_rows(gpu_result["rows"], "GPU (seconds per network-epoch)", "s/network-epoch")
        print_ratios(gpu_result["ratio_spread"])
    else:
        print(f"GPU: {gpu_result.get('skipped')}")
    print_rows(work_rows, "workloads (seconds per step and network)", "s/step")
    print_rows(lenet_result["rows"], f"LeNet (seconds per epoch of {lenet.EPOCH_STEPS} steps, batch {lenet.BATCH})", "s/epoch")
    print_ratios(lenet_result["ratio_spread"])
    print_rows(cpu_rows, "CPU (seconds per network-epoch)", "s/network-epoch")
    print_ratios(spread)
    print(f"\nwrote {args.out} in {result['wall_s']:.0f} s; load {info['load_average_start'][0]:.2f} at start, "
          f"{info['load_average_end'][0]:.2f} at end")
    if info["busy"]:
        print(f"bench: WARNING: {info['busy']}")


if __name__ == "__main__":
    main()
