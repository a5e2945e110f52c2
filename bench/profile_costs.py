"""BENCHMARKS.md's cost table: for every figure, its work in each profile, the measured cost
per unit of work (from the time each results unit records) and the hours that makes
on 2 cores, on 16 Dask workers and, as an estimate, on one GPU.

    python bench/profile_costs.py docs/results/long docs/results/quick

Work is counted in network-epochs of the figure's own network (600 updates of batch 100 for
Chu & Bacho, 100 of batch 600 for Song Fig. 3), network-updates (Figs. 2, 5, 3b-c) or, for
Song Fig. 2, member-steps at p ≥ 3200 equivalents (a step costs ∝ p), Refinetti et al.
runs of 1000·N online steps (one seed and init, BP and DFA together), Lillicrap et al. T2
network-epochs (784–1000–10 on MNIST), its synthetic parts' member-updates counted at their
measured cost against one, and for Nøkland 2016, member-epochs of its 2×800 network, a row's
counted ∝ its weights, every member at the most epochs (its early stop makes the real work
less). The measured cost is
the figure's core-seconds (each unit's recorded CPU seconds; in files from before units kept
them, its wall seconds × the BLAS threads of its placement) over the work done in the
folder that ran it; 2 cores give 2 core-seconds a second, 16 one-thread Dask workers up to
16 (at most one per unit); the GPU column is the 2-core time
over ``GPU_SPEEDUP``, an estimate (no GPU was lent). Song Fig. 2's work counts each run at
the mean length the measured file's runs of the same (ψ, λ, p) took, and at the rule's
minimum where that file has none (a lower bound: linear λ > 0 runs take 3-8× the minimum).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minifa.experiments import EXPERIMENTS  # noqa: E402
from minifa.experiments.chu_fig3 import scales_a  # noqa: E402
from minifa.experiments.song_fig2 import min_steps, total_reps  # noqa: E402
from minifa.experiments.store import Results  # noqa: E402

GPU_SPEEDUP = 20.0  # the GPU section's target (bench/gpu.py), unmeasured here: an estimate
MNIST_TRAIN = 60_000  # training images: the share of an epoch a validation split leaves


def work(name: str, c: dict, ran: Results | None = None) -> float:
    """The figure's work in its unit of work (see the module docstring); ``ran``: the
    measured file, for Song Fig. 2's run lengths."""
    n = len
    if name == "chu-fig1":
        return n(c["scales"]) * c["epochs"] * n(c["seeds"]) * n(c["losses"])
    if name == "chu-fig2":
        return n(c["scales"]) * c["reps"] * n(c["losses"]) / 600  # one update each
    if name == "chu-fig3":
        early = n(c["scales_bc"]) * (c["fa_reps"] + n(c["alignments_bc"]) * c["perturbed_reps"] + c["ll_reps"])
        return n(scales_a(c)) * c["reps"] * (n(c["alignments"]) + 2) + early * c["updates_bc"] / 600
    if name == "chu-fig4":
        return n(c["variants"]) * n(c["seeds"]) * c["epochs"]
    if name == "chu-fig5":
        return n(c["seeds"]) * 4 * c["updates"] / 600
    if name == "chu-stability":
        return n(c["scales"]) * c["reps"] * c["epochs"]
    if name == "chu-deadlock":
        return 2 * n(c["seeds"]) * c["epochs"]
    if name == "song-fig3":
        return n(c["rules"]) * n(c["seeds"]) * n(c["lambdas"]) * c["epochs"]
    if name == "nokland-2016":  # 2×800 member-epochs by weight count, at the most epochs (early stops cut it)
        return sum(n(r["rules"]) * n(c["seeds"]) * c["epochs"] * weights(r["hidden"]) / weights([800, 800])
                   for r in c["rows"])
    if name == "biotorch-lenet":  # LeNet-epochs: 938 updates of batch 64 on MNIST, the reruns' included
        return (n(c["rules"]) + n(c.get("reruns", {}))) * c["seeds"] * c["epochs"]
    if name == "song-fig2":  # in p = 3200 step equivalents
        return sum(total_reps(c, p) * run_steps(ran, net, lam, p) * p / 3200
                   for net, (_, lams) in c["networks"].items() for lam in lams for p in c["widths"])
    if name == "refinetti-2021":
        return n(c["inits"]) * c["seeds"] * c["t_max"] / 1000
    if name == "refinetti-2021-deep":  # + a DFA unit per further reading of "align"
        units = n(c["rules"]) + n(c.get("readings", ["update"])) - 1
        return n(c["activations"]) * n(c["noises"]) * units * n(c["seeds"]) * c["epochs"]
    if name == "lillicrap-2016":
        return t2_epochs(c) + synthetic_updates(c) * synthetic_cost(ran)
    raise KeyError(name)


def t2_epochs(c: dict) -> float:
    """Lillicrap et al. T2's network-epochs: BP, FA and shallow × seeds × epochs, and where
    ``t2_tuned`` is run, its search (every ω, × β for FA, on the training set less its
    validation samples) and its seeds × epochs at the choice."""
    out = 3 * len(c["t2"]["seeds"]) * c["t2"]["epochs"]
    if "t2_tuned" in c:
        t = c["t2_tuned"]
        share = 1 - t["search_options"].get("validation", 0) / MNIST_TRAIN  # the search trains on the rest
        out += (2 + len(t["betas"])) * len(t["omegas"]) * t["search_epochs"] * share + 3 * len(t["seeds"]) * t["epochs"]
    return out


def synthetic_updates(c: dict) -> float:
    """Lillicrap et al.'s member-updates of T1 (3 rules), Fig. 4 (every ω) and T3 (2 rules × 2 depths)."""
    linear = len(c["t1"]["seeds"]) * c["t1"]["epochs"] * c["t1"]["block"]
    return 3 * linear + len(c["fig4"]["omegas"]) * linear + 4 * len(c["t3"]["seeds"]) * c["t3"]["epochs"] * c["t3"]["block"]


def synthetic_cost(ran: Results) -> float:
    """A synthetic member-update's core-seconds over a T2 network-epoch's, in the measured file."""
    part = {k: "t2" if p["part"] in ("t2", "t2_tuned") else "synthetic" for k, p in ran.params.items()}
    seconds = {w: sum(unit_core_seconds(r) for k, r in ran.records.items() if part[k] == w) for w in ("t2", "synthetic")}
    return (seconds["synthetic"] / synthetic_updates(ran.config)) / (seconds["t2"] / t2_epochs(ran.config))


def weights(hidden: list[int]) -> int:
    """Weights of a 784–hidden–10 network: a Nøkland 2016 epoch costs about ∝ them."""
    sizes = [784, *hidden, 10]
    return sum(a * b for a, b in zip(sizes, sizes[1:]))


def run_steps(ran: Results | None, network: str, lam: float, width: int) -> float:
    """A Song Fig. 2 run's length: the mean over ``ran``'s runs of this setting, else the minimum."""
    keys = ran.select(**{"network": network, "lambda": lam, "width": width}) if ran else []
    return float(np.mean(ran.units[keys[0]]["steps"])) if keys else float(min_steps(width))


UNIT_OF_WORK = {"chu-fig2": "network-epochs of updates", "chu-fig5": "network-epochs of updates",
                "song-fig2": "member-steps (p = 3200 equiv.)", "refinetti-2021": "runs of 1000·N steps",
                "lillicrap-2016": "T2 network-epochs (synthetic parts at their cost)",
                "nokland-2016": "2×800 member-epochs (by weights; at most)",
                "biotorch-lenet": "LeNet-epochs"}


def done_work(name: str, results) -> float:
    """The work of the units in ``results``: Song Fig. 2 by its measured steps, Fig. 3 by
    its one-epoch units (the 5-update ones are negligible), the rest as equal shares."""
    units = EXPERIMENTS[name].units(results.config)
    if name == "song-fig2":
        return sum(float(np.sum(results.units[k]["steps"])) * results.params[k]["width"] / 3200 for k in results.units)
    if name == "chu-fig3":
        return sum(len(results.config["alignments"]) + 2 for k in results.units if results.params[k]["panel"] == "a")
    return work(name, results.config, results) * len(results.units) / len(units)


def core_seconds(results: Results) -> float:
    """Σ over units of the CPU seconds it recorded or, in files from before units kept them,
    its wall seconds × the BLAS threads its placement records (an upper bound on a busy machine)."""
    return sum(unit_core_seconds(record) for record in results.records.values())


def unit_core_seconds(record: dict) -> float:
    """One unit's CPU seconds, else its wall seconds × its placement's BLAS threads."""
    threads = re.search(r"(\d+) BLAS thread", str(record["device"]))
    return record.get("cpu_seconds", record["seconds"] * (int(threads.group(1)) if threads else 2))


def measured(folder: Path, name: str):
    """(core-seconds per unit of work, its results, units done / total) from ``folder``'s file."""
    path = folder / f"{name}.h5"
    if not path.exists():
        return None
    results = Results.load(path)  # digests checked before the attributes are read below
    if not results.units:
        return None
    total = len(EXPERIMENTS[name].units(results.config))
    return core_seconds(results) / done_work(name, results), results, f"{len(results.units)}/{total}"


def main() -> None:
    folders = [Path(p) for p in sys.argv[1:]] or [Path("docs/results/long"), Path("docs/results/quick")]
    rows = []
    for name, module in EXPERIMENTS.items():
        costs = [m for m in (measured(f, name) for f in folders) if m is not None]
        if not costs:
            continue
        cost, ran, done = costs[0]
        line = {"figure": name, "unit": UNIT_OF_WORK.get(name, "network-epochs"), "cost_s": cost,
                "measured_on": f"{ran.profile} ({done} units)"}
        for profile in ("quick", "long", "paper"):
            config = module.profiles[profile]
            amount = work(name, config, ran)
            total = amount * cost  # core-seconds
            units = len(module.units(config))
            line[profile] = {"work": amount, "h_2_cores": total / 2 / 3600,
                             "h_16_workers": total / min(16, units) / 3600,
                             "h_gpu_estimate": total / 2 / GPU_SPEEDUP / 3600}
        rows.append(line)
    print(json.dumps(rows, indent=1) if "--json" in sys.argv else table(rows))


def table(rows) -> str:
    out = ["| figure | unit of work | s per unit (measured on) | quick: work, h 2 cores | long: work, h 2 cores / 16 workers / GPU est. | paper: work, h 2 cores / 16 workers / GPU est. |",
           "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        q, l, p = r["quick"], r["long"], r["paper"]
        out.append(f"| {r['figure']} | {r['unit']} | {r['cost_s']:.3g} ({r['measured_on']}) | {q['work']:.4g}, {q['h_2_cores']:.2f} | "
                   f"{l['work']:.4g}, {l['h_2_cores']:.2f} / {l['h_16_workers']:.2f} / {l['h_gpu_estimate']:.2f} | "
                   f"{p['work']:.4g}, {p['h_2_cores']:.2f} / {p['h_16_workers']:.2f} / {p['h_gpu_estimate']:.2f} |")
    for key in ("quick", "long", "paper"):
        total = sum(r[key]["h_2_cores"] for r in rows)
        out.append(f"\n{key}: {total:.1f} h on 2 cores over the figures above" + ("" if key == "quick" else
                   f", {sum(r[key]['h_16_workers'] for r in rows):.1f} h on 16 workers, {sum(r[key]['h_gpu_estimate'] for r in rows):.2f} h on a GPU (estimate)"))
    return "\n".join(out).replace("\n\n", "\n\n", 1)


if __name__ == "__main__":
    main()
