"""Perturbed BP's step against BP's, and the draw rates that bound it (issue 13, item 2).

    python bench/perturbed.py [--threads 2] [--batch 64] [--reps 9] [--steps 20]

784-700-1000-10 tanh, float32, one member. Every repetition runs ``--steps`` steps of each
case in a rotated order (a shared machine's drift hits all alike); a ratio is the median of
the within-repetition ratios. Cases: BP; perturbed BP (a = 0.5) as it is; perturbed BP as
it was before the rewrite (``Before``: g formed, rotated in several passes, NumPy's
``standard_normal`` on the host); and, per draw method, the seconds for one step's
directions (549,000 + 700,000 normals).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import minifa as mf  # noqa: E402
from minifa import streams  # noqa: E402
from minifa.blas import blas_kernel, set_blas_threads  # noqa: E402
from minifa.metrics import inner  # noqa: E402
from minifa.network import Update, gradient  # noqa: E402
from minifa.rules import Rule  # noqa: E402
from minifa.streams import draw  # noqa: E402

SIZES = (784, 700, 1000, 10)
DIRECTIONS = [(700, 784), (1000, 700)]  # the hidden layers' weight shapes: one direction each per step


class Before(Rule):
    """The perturbed rule as of commit 5b62330 (same maths): ``g`` formed, normalised,
    ``u`` projected and scaled, ``g'`` formed, then ``W −= η g'``."""

    provides = "updates"

    def __init__(self, backend, net, streams_, dtype, alignment):
        super().__init__(backend, net, streams_, dtype)
        a = np.full(len(streams_), alignment)
        self.parallel = backend.asarray(a.reshape(-1, 1, 1), dtype)
        self.orthogonal = backend.asarray(np.sqrt(1.0 - a * a).reshape(-1, 1, 1), dtype)

    def updates(self, signal):
        exact = gradient(self.xp, self.net, signal.params, signal.cache, signal.e)
        return [Update(*(self._turn([a])[0] for a in u)) for u in exact[:-1]] + exact[-1:]

    def _turn(self, g):
        xp, dot = self.xp, lambda a, b: xp.reshape(inner(xp, a, b), (-1, 1, 1))
        u = [self.backend.asarray(draw(self.streams, "perturbation", lambda r: r.standard_normal(a.shape[1:], dtype=np.float32)))
             for a in g]
        norm = xp.sqrt(sum(dot(a, a) for a in g))
        unit = [a / xp.where(norm > 0.0, norm, 1.0) for a in g]
        along = sum(dot(ui, gi) for ui, gi in zip(u, unit))
        u = [ui - along * gi for ui, gi in zip(u, unit)]
        u_norm = xp.sqrt(sum(dot(ui, ui) for ui in u))
        return [self.parallel * gi + (self.orthogonal * norm / u_norm) * ui for gi, ui in zip(g, u)]


def step_cases(batch: int, steps: int):
    backend = mf.get_backend("cpu")
    rng = np.random.default_rng(0)
    x = backend.asarray(rng.random((SIZES[0], batch), dtype=np.float32))
    labels = rng.integers(0, SIZES[-1], batch)
    y = backend.asarray(np.eye(SIZES[-1], dtype=np.float32)[:, labels])

    def run_of(rule, options=None):
        return mf.build(mf.Config(layers=SIZES, rule=rule, rule_options=options or {}, batch_size=batch, seeds=[0]), backend)

    runs = {"bp": run_of("bp"), "perturbed": run_of("perturbed", {"alignment": 0.5}), "before": run_of("bp")}
    runs["before"].rule = Before(backend, runs["before"].net, runs["before"].streams, "float32", 0.5)

    def case(run):
        def go():
            start = time.perf_counter()
            for _ in range(steps):
                mf.train_step(run, x, y, labels, False)
            return (time.perf_counter() - start) / steps
        return go
    return {name: case(run) for name, run in runs.items()}


def draw_cases(steps: int, threads: int):
    """One step's directions, ``steps`` times, per method."""
    pool = ThreadPoolExecutor(2)

    def ziggurat(kind, workers):
        gens = [np.random.Generator(getattr(np.random, kind)(s)) for s in range(workers)]
        outs = [[np.empty(shape, np.float32) for shape in DIRECTIONS] for _ in gens]

        def one(g, out):
            for o in out:
                g.standard_normal(out=o, dtype=np.float32)

        def go():
            start = time.perf_counter()
            for _ in range(steps):  # each worker a whole step's directions (members in parallel)
                if workers == 1:
                    one(gens[0], outs[0])
                else:
                    [f.result() for f in [pool.submit(one, g, o) for g, o in zip(gens, outs)]]
            return (time.perf_counter() - start) / steps
        return go, workers

    def box_muller(workers):
        gens = [np.random.Generator(np.random.PCG64(s)) for s in range(1)]

        def go():
            set_blas_threads(workers)  # streams.normal uses as many threads as BLAS has
            start = time.perf_counter()
            for _ in range(steps):
                for shape in DIRECTIONS:
                    streams.normal(gens, shape, np.float32)
            elapsed = (time.perf_counter() - start) / steps
            set_blas_threads(threads)
            return elapsed
        return go, 1

    return {"ziggurat PCG64 1 thread": ziggurat("PCG64", 1), "ziggurat SFC64 1 thread": ziggurat("SFC64", 1),
            "ziggurat PCG64 2 streams on 2 threads": ziggurat("PCG64", 2),
            "box-muller 1 thread": box_muller(1), "box-muller 2 threads": box_muller(2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--reps", type=int, default=9)
    p.add_argument("--steps", type=int, default=20)
    args = p.parse_args()
    set_blas_threads(args.threads)
    cases = step_cases(args.batch, args.steps)
    draws = draw_cases(args.steps, args.threads)
    names = list(cases) + list(draws)
    times = {n: [] for n in names}
    for rep in range(args.reps + 1):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            elapsed = (cases[name] if name in cases else draws[name][0])()
            if rep:
                times[name].append(elapsed)
    med = {n: statistics.median(t) for n, t in times.items()}
    print(f"perturbed vs BP: {SIZES}, batch {args.batch}, {args.threads} BLAS threads, {blas_kernel()}, "
          f"{args.reps} interleaved repetitions of {args.steps} steps")
    for name in cases:
        ratio = [a / b for a, b in zip(times[name], times["bp"])]
        print(f"  {name:38} {med[name] * 1e3:7.2f} ms/step   x BP {statistics.median(ratio):5.2f} ({min(ratio):.2f}-{max(ratio):.2f})")
    count = sum(r * c for r, c in DIRECTIONS)
    for name, (_, per) in draws.items():
        rate = count * per / med[name] / 1e6
        ratio = [a / per / b for a, b in zip(times[name], times["bp"])]
        print(f"  draws, {name:31} {med[name] / per * 1e3:7.2f} ms/step   x BP {statistics.median(ratio):5.2f}   {rate:5.0f} M normals/s")


if __name__ == "__main__":
    main()
