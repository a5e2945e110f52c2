"""The papers' own inner workloads, each beside its own floor (`bench/run.py` times them
interleaved with everything else):

- ``perturbed_over_bp``: a one-epoch Chu & Bacho Fig. 3a unit, per network: an ensemble of
  perturbed-BP members at several target alignments, against one BP network.
- ``song_step_over_floor_p{P}``: a Song et al. Fig. 2 full-batch ensemble step (n = 50,
  d = 150, width P, ReLU, FA, per-member data) against the same products back to back
  (stacked ``matmul``); ``song_floor_stacked_over_one_gemm_p{P}`` says how well those skinny
  stacked products use the cores against one GEMM of the same flops;
  ``song_step_over_carried_p{P}`` is the speed-up of the step Song Fig. 2 takes, layer 0
  carried as H = W X (`minifa.fullbatch`), over that ``train_step``.
- ``song_mnist_over_floor``: the Song Fig. 3 network (784-1000-10 ReLU, no biases, batch
  600, FA) against its products back to back.
- ``{optimizer}_step_over_sgd``: each optimiser's step over plain SGD's (`optimisers.py`).

Each case is a ``harness.Case`` (``make() -> step``) as in ``cases.py``; its ``networks`` is
the number of networks (ensemble members) a step trains, so ratios compare cost per network
and step.
"""

from __future__ import annotations

import numpy as np

import minifa as mf
from minifa import DeviceData, fullbatch

import cases
from harness import Case
import optimisers

PERTURBED_ALIGNMENTS = [-0.5, 0.0, 0.5, 1.0]  # a Fig. 3a unit's members (the paper's grid has 21 + BP)
SONG = {"n": 50, "d": 150, "members": 10, "widths": (3200, 12800)}
SONG_MNIST = {"layers": (784, 1000, 10), "batch": 600}



def ratio_table() -> dict:
    """name -> (numerator case, denominator case), as ``harness.RATIOS``."""
    return {
        "perturbed_over_bp": ("minifa_perturbed_unit", "minifa_bp"),
        "song_mnist_over_floor": ("minifa_song_mnist", "floor_song_mnist"),
        **{f"song_step_over_floor_p{p}": (f"minifa_song_p{p}", f"floor_song_p{p}") for p in SONG["widths"]},
        **{f"song_floor_stacked_over_one_gemm_p{p}": (f"floor_song_p{p}", f"one_gemm_song_p{p}")
           for p in SONG["widths"]},
        **{f"song_step_over_carried_p{p}": (f"minifa_song_p{p}", f"minifa_song_carried_p{p}") for p in SONG["widths"]},
        **optimisers.ratio_table(),
    }


def perturbed_unit(data: DeviceData, backend) -> Case:
    """A Fig. 3a unit's steps: members at ``PERTURBED_ALIGNMENTS`` sharing initial weights."""
    return cases.minifa_case(data, backend, rule="perturbed", members=len(PERTURBED_ALIGNMENTS),
                             rule_options={"alignment": PERTURBED_ALIGNMENTS})


def song_config(width: int, members: int) -> mf.Config:
    """Song Fig. 2's ReLU network as `minifa.experiments.song_fig2` builds it (λ = 0.02)."""
    return mf.Config(layers=(SONG["d"], width, 1), activation="relu", loss="mse", bias=False,
                     output_scale=width ** -0.5, init="normal", init_scale=1.0, rule="fa",
                     rule_options={"feedback": "normal"}, lr=1e-2, weight_decay=[0.0, 0.02], batch_size=SONG["n"],
                     shuffle=False, seeds=list(range(members)))


def song_step(backend, width: int, carried: bool = False) -> Case:
    """Full-batch steps of an ensemble of ``SONG['members']``, each with its own data:
    ``train_step``, or (``carried``) ``fullbatch.step`` as Song Fig. 2 runs them."""
    members = SONG["members"]

    def make():
        run = mf.build(song_config(width, members), backend)
        rng = np.random.default_rng(0)
        x = backend.asarray(rng.standard_normal((members, SONG["d"], SONG["n"]), dtype=np.float32))
        y = backend.asarray(rng.standard_normal((members, 1, SONG["n"]), dtype=np.float32))
        if carried:
            state = fullbatch.carry(run, x)
            return lambda: fullbatch.step(state, y)
        return lambda: mf.train_step(run, x, y, None, False)
    return Case(make, members)


def song_shapes(width: int) -> list[tuple[int, int, int]]:
    """(m, k, n) of one member's step: forward W x, β h; the hidden error b eᵀ; updates δ xᵀ, e hᵀ."""
    d, n = SONG["d"], SONG["n"]
    return [(width, d, n), (1, width, n), (width, 1, n), (width, n, d), (1, n, width)]


def stacked_floor(shapes, members: int) -> Case:
    """The products of ``shapes`` for ``members`` networks as stacked (R, m, k) @ (R, k, n)."""
    def make():
        rng = np.random.default_rng(1)
        ops = [(rng.standard_normal((members, m, k), dtype=np.float32), rng.standard_normal((members, k, n), dtype=np.float32),
                np.empty((members, m, n), dtype=np.float32)) for m, k, n in shapes]
        return cases.gemms(ops)
    return Case(make, members)


def one_gemm(width: int, members: int) -> Case:
    """The same flops as the stacked forward and weight update, as single large GEMMs (as if
    the members shared their data): the best the cores could do on these shapes."""
    d, n = SONG["d"], SONG["n"]

    def make():
        rng = np.random.default_rng(2)
        w, x = rng.standard_normal((members * width, d), dtype=np.float32), rng.standard_normal((d, n), dtype=np.float32)
        delta, xt = rng.standard_normal((members * width, n), dtype=np.float32), rng.standard_normal((n, d), dtype=np.float32)
        h, dw = np.empty((members * width, n), dtype=np.float32), np.empty((members * width, d), dtype=np.float32)

        def step():
            np.matmul(w, x, out=h)
            np.matmul(delta, xt, out=dw)
        return step
    return Case(make, members)


def song_mnist(data: DeviceData, backend) -> Case:
    """Song Fig. 3's network, steps of batches of 600 (its SGD epoch is 100 of them)."""

    def make():
        cfg = mf.Config(layers=SONG_MNIST["layers"], activation="relu", loss="logitcrossentropy", bias=False,
                        output_scale=1000 ** -0.5, init="normal", init_scale=1.0, rule="fa",
                        rule_options={"feedback": "normal"}, lr=1e-2, weight_decay=[0.0, 0.1], batch_size=SONG_MNIST["batch"])
        return cases.stepper(mf, mf.build(cfg, backend), data)
    return Case(make)


def song_mnist_shapes() -> list[tuple[int, int, int]]:
    (i, h, o), b = SONG_MNIST["layers"], SONG_MNIST["batch"]
    return [(h, i, b), (o, h, b), (h, o, b), (h, b, i), (o, b, h)]


def cases_for(data: DeviceData, backend) -> dict[str, Case]:
    """name -> Case: the workload cases (the MNIST ones on ``data``)."""
    out = {"minifa_perturbed_unit": perturbed_unit(data, backend)}
    for p in SONG["widths"]:
        out[f"minifa_song_p{p}"] = song_step(backend, p)
        out[f"minifa_song_carried_p{p}"] = song_step(backend, p, carried=True)
        out[f"floor_song_p{p}"] = stacked_floor(song_shapes(p), SONG["members"])
        out[f"one_gemm_song_p{p}"] = one_gemm(p, SONG["members"])
    out["minifa_song_mnist"] = song_mnist(data, backend)
    out["floor_song_mnist"] = stacked_floor(song_mnist_shapes(), 1)
    out.update(optimisers.cases_for(data, backend))
    return out
