"""Song, Xu & Lafferty 2021, Figure 2: on Gaussian data, FA aligns β with b only under L2.

Two-layer networks ``f(x) = β ψ(Wx)/√p`` (no biases; W, β, b entries N(0, 1)), n = 50
Gaussian points in d = 150 dimensions, targets from a linear map or a teacher of the same ψ
and width. Full-batch gradient descent on the code's loss ``(1/n) Σ e²`` with FA in the
hidden layer and weight decay λ on β only, at the step sizes and λ of the authors' code
(the Song et al. methods notes, §3: the authors' code; the paper's η are the code literals misread). Every
repetition draws fresh data, weights and b from its own seed, distinct across every
(ψ, λ, p, repetition); the repetitions of one (ψ, λ, p) are one ensemble with their own data
(features × samples per member).

Length, per member, as the authors' code stops each run on its own: checks every 1000 steps
from the start compare the training MSE with the previous check's, and the first change
< 1e-3 marks the run done, but it runs at least ⌊5000·√p/14⌋ steps (``train_until_settled``;
``max_steps`` = 400,000 is only a guard, reached by no profile but ``tiny``). A run whose
loss pauses early (linear λ = 0.2 at p = 12800 nears 1e-3 per 1000 steps around step 6000)
stops at the minimum, one that does not runs on to convergence: the authors' saved
alignments there are two clusters (≈ .38 and ≈ .64). A stopped member leaves the ensemble
(`minifa.ensemble.keep_members`) and costs nothing more. Recorded per member: the final
``cos(β, b)``, its step count, whether the rule (not the guard) stopped it, its seed, and its
training loss (penalty excluded) every ``loss_every`` steps (NaN after it stopped).

Paper (saved numbers): λ = 0 alignment falls with p (≈ .21/.22/.26 at p = 200, ≤ .02 at
12800); λ > 0 stays high and grows with λ; the λ = 0 loss falls by ≥ 7 decades in 5000
steps, λ > 0 plateaus at a floor growing with λ.

Command: ``python cli.py reproduce song-fig2``. Quick: long's widths to p = 1600 and its
repetitions there (its units are long's, bit for bit), loss panel at p = 1600; long: the
paper's p = 200 … 12800 and rule, loss panel at 3200, repetitions cut 50 → 50/10/5/3/10/3/3
at p = 200 … 12800 in each cell's first unit, then ``more_reps`` (7 at p = 1600, 6400, 12800,
one unit each: 10 there); paper: 50 repetitions. Costs: BENCHMARKS.md, "Cost of every profile".
"""

from __future__ import annotations

import numpy as np

import minifa as mf
from minifa import fullbatch
from minifa.data import gaussian_teacher
from minifa.errors import ConfigError
from minifa.metrics import cosine

from .framework import Claim, Experiment, Lazy, Unit, device_backend
from .song_fig2_claims import alignment_claims, loss_claims, min_steps  # noqa: F401 (min_steps: song_fig2's API)

NAME = "song-fig2"
TITLE = "Song et al. Figure 2: alignment vs width, Gaussian data"

# network -> [η, λ values] in the code's units (the Song et al. methods notes, §3); part of
# the config, so that its hash changes with them.
NETWORKS = {"linear": [1e-3, [0.0, 0.2, 0.3, 0.5]], "relu": [1e-2, [0.0, 0.02, 0.05, 0.2]],
            "tanh": [1e-1, [0.0, 0.001, 0.002, 0.005]]}
ENGINE_ACTIVATION = {"linear": "identity", "relu": "relu", "tanh": "tanh"}
# "layer0": the code path is part of the config, so a file of units stepped through
# train_step (before 12/2026; other rounding) is never resumed with carried ones. "stop": the
# authors' latched rule (train_until_settled); files of the earlier reading (checks only
# after the minimum, session 12) are never resumed with it.
COMMON = {"n": 50, "d": 150, "dtype": "float32", "loss_width": 3200, "loss_every": 10, "tolerance": 1e-3,
          "check_every": 1000, "min_steps_per_sqrt_p": 5000 / 14, "layer0": "carried",
          "stop": "latched"}
# A fixed code per network for the seeds (the config's dict order is not part of its meaning).
NETWORK_CODE = {"linear": 1, "relu": 2, "tanh": 3}

PROFILES = {
    "paper": {**COMMON, "networks": NETWORKS, "widths": [200 * 2**k for k in range(7)], "reps": 50,
              "max_steps": 400_000},
    # The papers' widths and stopping rule; only the repetitions cut, per width (50 -> 50, 10,
    # 5, then 3), where runs are cheap (a run costs ∝ p^1.5) and the gaps small. Chosen from the
    # saved numbers before these cells ran: tanh's smallest gaps, λ .001 − 0 = .068 and
    # .002 − .001 = .043 at p = 200 with sd ≈ .055, pass the claims' 2-SE rules with
    # probability .38 and .22 at 3 repetitions, .95 and .97 at 50 (simulated); at p ≥ 800
    # the gaps are ≥ .09 and the sd smaller. And 10 at p = 3200, the loss panel's width: quick's
    # pilot (p = 1600, n = 3) put the λ = 0 fall at 7.42 ± 0.37 decades against the paper's
    # ≥ 7, which 3 repetitions decide half the time and 10 ~95 %. Costs ≈ 1.3 core-h over 3
    # everywhere; set before long ran any of these cells.
    # more_reps (issue 24, item 5): p = 1600, 6400, 12800 to 10 repetitions, one unit each, so
    # that the committed file extends by adding units (an extent key).
    "long": {**COMMON, "networks": NETWORKS, "widths": [200 * 2**k for k in range(7)], "reps": [50, 10, 5, 3, 10, 3, 3],
             "more_reps": [0, 0, 0, 7, 0, 7, 7], "max_steps": 400_000},
    # long's widths cut to p <= 1600 (and the loss panel to p = 1600), with long's repetitions
    # there (2 everywhere could not decide tanh's p = 200 claims: see long); no run stops
    # before the rule says so.
    "quick": {**COMMON, "networks": NETWORKS, "widths": [200, 400, 800, 1600], "reps": [50, 10, 5, 3], "loss_width": 1600,
              "max_steps": 400_000},
    # Plumbing only: a shortened rule (min 5·√p steps, checks every 10) so that members stop.
    "tiny": {**COMMON, "networks": NETWORKS, "widths": [20, 40], "reps": 2, "max_steps": 300,
             "loss_width": 40, "n": 10, "d": 15, "check_every": 10, "min_steps_per_sqrt_p": 5.0},
}


def units(config: dict) -> list[Unit]:
    """Per (ψ, λ, p): one unit of its first ``reps`` repetitions, then one per further
    repetition (``more_reps``), keyed by it, so that more repetitions only add units."""
    out = []
    for net, (_, lams) in config["networks"].items():
        for lam in lams:
            for p in config["widths"]:
                cell = {"network": net, "lambda": lam, "width": p}
                out += [Unit(f"{net}_lambda{lam:g}_p{p}", cell)] + [
                    Unit(f"{net}_lambda{lam:g}_p{p}_rep{r}", {**cell, "rep": r})
                    for r in range(reps_at(config, p), total_reps(config, p))]
    return out


def reps_at(config: dict, width: int, key: str = "reps") -> int:
    """The repetitions of ``key`` at ``width`` (``reps``: the first unit's; ``more_reps``: one
    unit each, 0 if absent): one count, or one per entry of ``widths``."""
    reps = config.get(key, 0)
    if not isinstance(reps, list):
        return reps
    widths = config["widths"]
    if len(reps) != len(widths):
        raise ConfigError(f"song-fig2: {key} {reps} has {len(reps)} counts for {len(widths)} widths {widths}; "
                          "give one count, or one per width")
    return reps[widths.index(width)]


def total_reps(config: dict, width: int) -> int:
    """All repetitions at ``width``: the first unit's and the further ones."""
    return reps_at(config, width) + reps_at(config, width, "more_reps")


def member_seeds(config: dict, network: str, lam: float, width: int, reps=None) -> list[int]:
    """One seed per repetition (``reps``, default the first unit's), distinct across every
    (network, λ, width, repetition)."""
    code = NETWORK_CODE[network] * 100 + config["networks"][network][1].index(lam)
    return [(code * 100_000 + width) * 1000 + rep for rep in (range(reps_at(config, width)) if reps is None else reps)]


def member_data(backend, config: dict, network: str, width: int, seeds: list[int], dtype: str):
    """Each repetition's own data set, stacked on the ensemble axis: x (R, d, n), y (R, 1, n).
    Drawn from the member's seed with spawn key 9 (the engine's streams use 0–3)."""
    sets = [gaussian_teacher(config["n"], config["d"], activation=network, width=width,
                             rng=np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(9,)))) for seed in seeds]
    x = backend.asarray(np.stack([s.x_train for s in sets]), dtype)
    y = backend.asarray(np.stack([s.y_train for s in sets]), dtype)
    return x, y


def final_alignment(run) -> np.ndarray:
    """cos(β, b) of every member of ``run``."""
    return run.backend.to_host(cosine(run.xp, run.params.weights[-1], run.rule.feedback[-1]))


def train_until_settled(run, x, y, config: dict, limit: int) -> dict[str, np.ndarray]:
    """Full-batch GD (layer 0 carried, `minifa.fullbatch`), each member stopped on its own by
    the rule as the authors' code runs it (``simulation_align.py``): every ``check_every``
    steps from the start, a check compares the training MSE with the previous check's (the
    first with 0); the first change < ``tolerance`` *latches* the member done, and a latched
    member stops once it has ``limit`` steps. So a run lasts max(``limit``, its first small
    change), at most ``max_steps``. A stopped member leaves the ensemble (``fullbatch.keep``),
    so it costs nothing more. Returns per member its final cos(β, b), its number of steps and
    whether the rule (not the cap) stopped it, and the loss of every member every
    ``loss_every`` steps (NaN once it has stopped)."""
    backend, members = run.backend, run.params.members
    active = np.arange(members)
    out = {"alignment": np.full(members, np.nan), "steps": np.zeros(members, np.int64),
           "stopped_by_rule": np.zeros(members, bool)}
    previous, latched, losses, steps = np.zeros(members), np.zeros(members, bool), [], []
    every = config["check_every"]

    def finish(done: np.ndarray, by_rule: bool) -> None:
        out["alignment"][active[done]] = final_alignment(run)[done]
        out["steps"][active[done]], out["stopped_by_rule"][active[done]] = run.step, by_rule

    carried = fullbatch.carry(run, x)  # every step sees the same x: layer 0 as W x
    while run.step < config["max_steps"]:
        loss = fullbatch.step(carried, y)  # the loss before this step's update, as the code's check reads it
        recording, checking = (run.step - 1) % config["loss_every"] == 0, run.step % every == 0
        if recording or checking:
            loss = backend.to_host(loss)  # only when read: a device sync
        if recording:
            row = np.full(members, np.nan)
            row[active] = loss
            steps.append(run.step - 1)
            losses.append(row)
        if checking:
            latched[active] |= np.abs(loss - previous[active]) < config["tolerance"]
            previous[active] = loss
        if run.step >= limit and (checking or run.step == limit) and latched[active].any():
            done = latched[active]
            finish(done, True)
            if done.all():
                active = active[:0]
                break
            keep = np.flatnonzero(~done)
            carried = fullbatch.keep(carried, keep)
            run, y = carried.run, backend.xp.take(y, backend.asarray(keep), axis=0)
            active = active[keep]
    if active.size:
        finish(np.ones(active.size, bool), False)
    return {**out, "loss_step": np.asarray(steps), "loss": np.asarray(losses)}


def run_unit(config: dict, unit: Unit) -> dict[str, np.ndarray]:
    network, lam, width = unit.params["network"], unit.params["lambda"], unit.params["width"]
    backend = device_backend(config)
    seeds = member_seeds(config, network, lam, width, [unit.params["rep"]] if "rep" in unit.params else None)
    cfg = mf.Config(layers=(config["d"], width, 1), activation=ENGINE_ACTIVATION[network], loss="mse", bias=False,
                    output_scale=width ** -0.5, dtype=config["dtype"], init="normal", init_scale=1.0, rule="fa",
                    rule_options={"feedback": "normal"}, lr=config["networks"][network][0], weight_decay=[0.0, lam],
                    batch_size=config["n"], shuffle=False, seeds=seeds)
    x, y = member_data(backend, config, network, width, seeds, config["dtype"])
    out = train_until_settled(mf.build(cfg, backend), x, y, config, min_steps(width, config["min_steps_per_sqrt_p"]))
    return {**out, "seed": np.asarray(seeds)}


def claims(results) -> list[Claim]:
    """Over repetitions (each an independent run: comparisons are unpaired)."""
    out = []
    for network, (_, lams) in results.config["networks"].items():
        out += alignment_claims(results, network, lams) + loss_claims(results, network, lams)
    return out


FIGURE = Experiment(name=NAME, title=TITLE, profiles=PROFILES, units=units, run_unit=run_unit, claims=claims,
                    plot=Lazy("minifa.plots.song_fig2"), extent=("more_reps",), paper="Song, Xu & Lafferty 2021")
