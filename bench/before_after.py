"""The engine of an older commit beside this one, in one process, interleaved step by step.

    python bench/before_after.py                    # c54cc63 against the working tree
    python bench/before_after.py --commit abc1234 --budget 300

The older ``minifa`` comes from git at run time (``git archive COMMIT minifa``, into a
temporary directory, imported as ``minifa_COMMIT``; nothing of it is committed). Cases: the
GEMM floor, FA, BP, FA with alignment every step and every 10 steps, each engine; a ratio
``X_after_over_before`` is this engine's step over the old one's in the same round
(`harness.py`: median, 95 % bootstrap interval). Results: ``bench/before_after.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import cases  # noqa: E402
from harness import EPOCH_STEPS, interleave, print_ratios, ratios, rows  # noqa: E402
from machine import busy, finish, machine  # noqa: E402
import minifa as mf  # noqa: E402
from minifa.blas import set_blas_threads  # noqa: E402

CASES = {"fa": {"rule": "fa"}, "bp": {"rule": "bp"}, "fa_align_every_step": {"rule": "fa", "metrics_every": 1},
         "fa_align_every_10": {"rule": "fa", "metrics_every": 10}}


def old_engine(commit: str, into: Path):
    """``minifa`` as of ``commit``, imported as the package ``minifa_<commit>`` from ``into``
    (its modules import each other relatively, so the renamed copy is self-contained)."""
    name = f"minifa_{commit}"
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "minifa"], check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        raise SystemExit(f"before_after: cannot read commit {commit} from git ({err}); run it in a git clone with that commit")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    (into / "minifa").rename(into / name)
    sys.path.insert(0, str(into))
    return importlib.import_module(name)


def engine_cases(engine, tag: str, ds) -> dict:
    backend = engine.get_backend("cpu")
    data = engine.DeviceData.from_dataset(backend, ds, "float32")
    return {f"{tag}_{name}": cases.minifa_case(data, backend, engine=engine, **kw) for name, kw in CASES.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--commit", default="c54cc63")
    p.add_argument("--budget", type=float, default=300.0)
    p.add_argument("--block", type=int, default=10)
    p.add_argument("--target", type=float, default=0.03)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--data", choices=["auto", "mnist", "synthetic"], default="auto")
    p.add_argument("--out", default=str(ROOT / "bench" / "before_after.json"))
    args = p.parse_args()
    started = time.perf_counter()
    set_blas_threads(args.threads)
    ds, data_name = cases.dataset(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        old = old_engine(args.commit, Path(tmp))
        set_blas_threads(args.threads)  # the old engine set its own count at import
        factories = {"floor_fa": cases.floor_case("fa"), **engine_cases(old, "before", ds), **engine_cases(mf, "after", ds)}
        table = {**{f"{n}_after_over_before": (f"after_{n}", f"before_{n}") for n in CASES},
                 **{f"{t}_{n}_over_floor": (f"{t}_{n}", "floor_fa") for t in ("before", "after") for n in CASES}}
        info = machine()
        print(f"before_after: {args.commit} against the working tree; {info['cpu']} ({info['blas_kernel']}), "
              f"BLAS threads {info['blas_threads']}, data {data_name}, load {info['load_average_start'][0]:.2f}", flush=True)
        if busy(info):
            print(f"before_after: WARNING: {busy(info)}", flush=True)
        times = interleave(factories, table, args.budget, args.block, args.target)
    finish(info)
    spread = ratios(times, table)
    table_rows = rows(times, EPOCH_STEPS)
    Path(args.out).write_text(json.dumps({"commit": args.commit, "machine": info, "block": args.block, "data": data_name,
                                          "cpu": table_rows, "ratio_spread": spread,
                                          "wall_s": time.perf_counter() - started}, indent=2))
    print(f"\n{'case':28} {'s/epoch':>9}")
    for name, r in table_rows.items():
        print(f"{name:28} {r['median_s']:9.3f}")
    print_ratios(spread)
    if info["busy"]:
        print(f"before_after: WARNING: {info['busy']}")


if __name__ == "__main__":
    main()
