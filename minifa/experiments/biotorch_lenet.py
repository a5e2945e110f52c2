"""BioTorch's MNIST LeNet benchmark (Sanfiz & Akrout 2021, "Benchmarking the Accuracy and
Robustness of Feedback Alignment Algorithms"; github jsalbert/biotorch): six rules on a conv net.

Sources read (never copied): jsalbert/biotorch commit 74fad0d, ``Benchmarks.md`` ("MNIST &
Fashion-MNIST": LeNet MNIST, SGD momentum 0.9, weight decay 10^-3, images resized to 32 × 32,
batch 64, 100 epochs, the initial lr ÷ 10 at epochs 50 and 75; top-1 test errors BP 0.91, FA
1.7, uSF 0.94, brSF 0.91, frSF 0.97, DFA 1.61 %), ``biotorch/models/le_net.py`` (``LeNetMNIST``:
conv 6@5×5, max-pool 2, conv 16@5×5, max-pool 2, conv 120@5×5, 84, 10, ReLU),
``biotorch/datasets/mnist.py`` (normalised by mean 0.1307, sd 0.3081) and
``benchmark_configs/cifar10/le_net/sgd/*.yaml`` (init xavier for forward and backward weights).
Their MNIST configs are not in the repository, so the initial learning rates here are their
CIFAR-10 LeNet SGD ones (BP, uSF, frSF, brSF 0.1; FA 0.001; DFA 0.0001): our choice, fixed
before any run. Their error is the best epoch's on the test set (their "validation" is the
test set); we report that and the last epoch's.

Differences, declared before any run: MNIST is zero-padded to 32 × 32 (conv1's padding 2)
where they resize; minifa's glorot takes fan-out = out channels (PyTorch: out · k²); momentum
is Flux's (η inside the velocity: equal to PyTorch's while η is constant); weight decay acts on
weights, not biases; one seed per rule (theirs: one run, seed 2021). Feedback is drawn as
theirs (``biotorch/layers/fa_constructor/conv.py``: xavier, uSF's sign(W) scaled by the xavier
sd), up to the fan-out convention.

Claims (margins ours, fixed in advance, percentage points of top-1 test error, best epoch):
(i) the sign-concordant rules (uSF, frSF, brSF) within 0.3 of BP; (ii) FA and DFA behind BP by
more than 0.3; (iii) each rule within 0.5 of BioTorch's number.

After the long data (d8090b2) brSF (5.97 %) failed (i) and (iii), and DFA (3.14 %) (iii): both
are declared (`BORROWED`), the reason being the borrowed learning rates (brSF diverges in its
first epochs at η 0.1, DFA still underfits at 10^-4). That reason is tested, not assumed:
``reruns`` trains brSF at η 0.01 and DFA at 10^-3 (rates fixed before those runs' data), and
claim (iv), one per rule, holds them to the margins of (i) and (iii). Run (session 23): brSF
0.64 % holds; DFA 3.18 % does not (its train loss levels off at 0.10 at either rate), an
unexpected "no" whose cause is not found.

Command: ``python cli.py reproduce biotorch-lenet``. ``long`` = their protocol, one seed, six
units (rules) of 100 epochs each; its measured epoch cost is in BENCHMARKS.md. ``quick``: 2
epochs (lr ÷ 10 at 1), ``tiny``: synthetic 784-pixel images.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

import minifa as mf
from minifa.metrics import weight_alignment
from minifa.optimisers import make_optimiser

from .compare import Stat, below, each, equivalent, exceeds, fmt, paired
from .framework import Claim, Experiment, Known, Lazy, Unit, banded, device_data, table

NAME = "biotorch-lenet"
TITLE = "BioTorch's MNIST LeNet benchmark: BP, FA, DFA, uSF, frSF, brSF on a conv net"

RULES = {"bp": "bp", "fa": "fa", "dfa": "dfa", "usf": "frsf", "frsf": "frsf", "brsf": "brsf"}  # theirs -> ours
THEIRS = {"bp": 0.91, "fa": 1.70, "dfa": 1.61, "usf": 0.94, "frsf": 0.97, "brsf": 0.91}  # Benchmarks.md, top-1 %
LR = {"bp": 0.1, "fa": 0.001, "dfa": 0.0001, "usf": 0.1, "frsf": 0.1, "brsf": 0.1}  # their CIFAR-10 LeNet SGD
SIGN_GAP, BEHIND, MATCH = 0.3, 0.3, 0.5  # claims (i), (ii), (iii): percentage points
RERUNS = {"brsf": 0.01, "dfa": 0.001}  # claim (iv): rates ÷ 10 and × 10, fixed after d8090b2, before their runs
# After the long data (d8090b2): the misses at the borrowed rates, with the band they are
# expected to stay in (the rule still learns: best-epoch error below 10 %).
BORROWED = Known("brSF diverges in its first epochs at the borrowed η 0.1 (train loss 14.3 after epoch 1) and DFA "
                 "still underfits at 1e-4 after 100 epochs: learning rates taken from BioTorch's CIFAR-10 configs; "
                 "tested by the reruns (iv): brSF's confirmed (0.64 % at η 0.01), DFA's refuted (3.18 % at 1e-3), "
                 "its cause not found", "reason and band after the long data (d8090b2); the reruns' outcome after "
                 "theirs (4df2a51)")
BORROWED_BAND = 10.0  # % test error, mean + 2 SE below

SETUP = {"model": "lenet", "activation": "relu", "loss": "softmax-crossentropy", "dtype": "float32", "init": "glorot",
         "batch_size": 64, "momentum": 0.9, "weight_decay": 1e-3, "lr": LR, "rules": list(RULES),
         "dataset": "mnist", "dataset_options": {"standardise": True}, "metrics_every": 100}
PROFILES = {
    "paper": {**SETUP, "epochs": 100, "milestones": [50, 75], "seeds": 3, "reruns": RERUNS},
    "long": {**SETUP, "epochs": 100, "milestones": [50, 75], "seeds": 1, "reruns": RERUNS},
    "quick": {**SETUP, "epochs": 2, "milestones": [1], "seeds": 1},
    "tiny": {**SETUP, "epochs": 2, "milestones": [1], "seeds": 1, "metrics_every": 1, "dataset": "synthetic",
             "batch_size": 16, "dataset_options": {"n_train": 32, "n_test": 16}},
}


def units(config: dict) -> list[Unit]:
    """A unit per rule and seed at the rule's ``lr``; a rerun (``reruns``: rule -> η) adds its
    ``lr`` to the params, so the protocol's units are those without one."""
    seeds = range(config["seeds"])
    return [Unit(f"{rule}_seed{seed}", {"rule": rule, "seed": seed}) for rule in config["rules"] for seed in seeds] + [
        Unit(f"{rule}_lr{lr:g}_seed{seed}", {"rule": rule, "seed": seed, "lr": lr})
        for rule, lr in config.get("reruns", {}).items() for seed in seeds]


def glorot_bounds(shapes) -> list[float]:
    """U[−a, a] with ``a = √(6 / (fan_in + fan_out))`` of every (out, in) matrix: minifa's glorot."""
    return [math.sqrt(6.0 / (o + i)) for o, i in shapes]


def feedback_options(rule: str, net) -> dict:
    """Feedback drawn as BioTorch draws it (``init: xavier``, ``fa_constructor``): FA's B
    and DFA's R uniform at each matrix's glorot bound, frSF's and brSF's |R| the absolute
    value of such a draw, uSF's sign(W) times the glorot sd √(2 / (fan_in + fan_out))."""
    if rule in ("fa", "dfa"):
        shapes = net.shapes if rule == "fa" else [(n, net.sizes[-1]) for n in net.sizes[1:-1]]
        return {"feedback": "uniform", "feedback_scale": glorot_bounds(shapes)}
    if rule in ("frsf", "brsf"):
        return {"magnitudes": "uniform", "magnitude_scale": glorot_bounds(net.shapes)}
    if rule == "usf":  # frSF with |R| = 1 is sign symmetry; the scale keeps the error from exploding
        return {"magnitudes": "pm1", "magnitude_scale": [b / math.sqrt(3.0) for b in glorot_bounds(net.shapes)]}
    return {}


def engine(config: dict, rule: str, seed: int, lr: float | None = None) -> mf.Config:
    net = mf.Config(model=config["model"]).network()
    return mf.Config(model=config["model"], activation=config["activation"], loss=config["loss"], dtype=config["dtype"],
                     init=config["init"], init_scale=1.0, rule=RULES[rule], rule_options=feedback_options(rule, net),
                     lr=config["lr"][rule] if lr is None else lr, batch_size=config["batch_size"], optimizer="momentum",
                     optimizer_options={"rho": config["momentum"]}, weight_decay=config["weight_decay"], seeds=[seed],
                     metrics_every=config["metrics_every"], epochs=config["epochs"], dataset=config["dataset"],
                     dataset_options=config["dataset_options"])


def set_lr(run, lr: float) -> None:
    """PyTorch's ``MultiStepLR`` step: η for the loop and the optimiser from now on."""
    run.config = replace(run.config, lr=lr)
    run.optimiser = make_optimiser(run.config.optimizer, lr, run.config.optimizer_options, run.config.members)


def run_unit(config: dict, unit: Unit) -> dict[str, np.ndarray]:
    """One rule and seed, trained epoch by epoch with η ÷ 10 at each milestone: per epoch the
    test error (%), training loss, cos(W_l, B_l) (NaN for BP and DFA) and mean gradient alignment."""
    rule, seed = unit.params["rule"], unit.params["seed"]
    cfg = engine(config, rule, seed, unit.params.get("lr"))
    backend, data = device_data({**config, "dataset_options": cfg.dataset_options})
    run = mf.build(cfg, backend)
    aligned = []

    def now(run):
        feedback = run.rule.weight_feedback(run.params)
        aligned.append(np.full((1, run.net.depth), np.nan) if feedback is None else
                       run.backend.to_host(weight_alignment(run.xp, run.params, feedback)))

    now(run)
    for epoch in range(cfg.epochs):
        if epoch in config["milestones"]:
            set_lr(run, run.config.lr / 10)
        mf.train(run, data, epoch + 1)
        now(run)
    steps = run.history["steps"]
    epochs = np.asarray(steps["epoch"])
    grads = np.stack(steps["gradient_alignment"])
    return {"test_error": 100 * (1 - table(run, "epochs", "test_accuracy")[:, 0]),
            "train_loss": table(run, "epochs", "train_loss")[:, 0], "weight_alignment": np.stack(aligned)[:, 0],
            "gradient_alignment": np.stack([np.nanmean(grads[epochs == e], axis=0)[0] for e in range(cfg.epochs)])}


def errors(results, rule: str, which: str = "best", lr: float | None = None) -> np.ndarray:
    """Top-1 test error (%) of ``rule`` over the seeds (at the protocol's rate, or rerun at
    ``lr``): the best epoch's (theirs) or the last's."""
    curves = results.stack("test_error", rule=rule, lr=lr)[:, 1:]
    return np.min(curves, axis=-1) if which == "best" else curves[:, -1]


def claims(results) -> list[Claim]:
    reruns = results.config.get("reruns", {})
    rerun = [rerun_at_other_rate(results, r, v) for r, v in reruns.items() if results.select(rule=r, lr=v)]
    return [sign_concordant(results), fa_dfa_behind(results), beside_theirs(results)] + rerun


def _measured(results, rules, lrs: dict | None = None) -> str:
    def at(r, which="best"):
        return Stat.of(errors(results, r, which, (lrs or {}).get(r)))
    return "; ".join(f"{r}{f' at η {lrs[r]:g}' if lrs and r in lrs else ''} {at(r)} (last epoch {at(r, 'last')})"
                     for r in rules)


def borrowed(results, holds: dict[str, tuple[bool, str]]) -> Known | None:
    """`BORROWED` where brSF or DFA runs at its borrowed rate, its band judged: every other
    rule's verdict ``holds`` still, and brSF's and DFA's errors below `BORROWED_BAND`."""
    missed = [r for r in ("brsf", "dfa") if r in holds]
    if not missed:
        return None
    return banded(BORROWED, lambda: each({**{r: v for r, v in holds.items() if r not in missed},
                                          **{r: below(Stat.of(errors(results, r)), BORROWED_BAND) for r in missed}},
                                         "the others' margins; brSF, DFA error"))


def sign_concordant(results) -> Claim:
    gaps = {r: paired(errors(results, r), errors(results, "bp")) for r in ("usf", "frsf", "brsf")}
    verdicts = {r: below(g, SIGN_GAP) for r, g in gaps.items()}
    return Claim.checked(
        "LeNet", "the sign-concordant rules (uSF, frSF, brSF) train LeNet as well as BP",
        f"uSF 0.94, frSF 0.97, brSF 0.91 vs BP 0.91 %; margin: error − BP < {SIGN_GAP:g} pp (our choice)",
        _measured(results, ["bp", *gaps]), each(verdicts, "error − BP"), borrowed(results, verdicts))


def fa_dfa_behind(results) -> Claim:
    gaps = {r: paired(errors(results, r), errors(results, "bp")) for r in ("fa", "dfa")}
    return Claim.checked(
        "LeNet", "FA and DFA fall behind BP on a conv net",
        f"FA 1.70, DFA 1.61 vs BP 0.91 %; margin: error − BP > {BEHIND:g} pp (our choice)",
        _measured(results, ["bp", *gaps]), each({r: exceeds(g, BEHIND) for r, g in gaps.items()}, "error − BP"))


def beside_theirs(results) -> Claim:
    gaps = {r: Stat.of(errors(results, r) - THEIRS[r]) for r in results.config["rules"]}
    verdicts = {r: equivalent(g, MATCH) for r, g in gaps.items()}
    return Claim.checked(
        "LeNet", "every rule's error is BioTorch's",
        ", ".join(f"{r} {fmt(v)}" for r, v in THEIRS.items()) + f" %; margin: |ours − theirs| < {MATCH:g} pp (our choice)",
        _measured(results, results.config["rules"]),
        each(verdicts, "ours − theirs"), borrowed(results, verdicts))


RERUN_STATEMENTS = {"brsf": "rerun at a lower learning rate, brSF keeps up with BP",
                    "dfa": "rerun at a higher learning rate, DFA reaches BioTorch's error"}


def rerun_at_other_rate(results, rule: str, lr: float) -> Claim:
    """(iv) `BORROWED`'s reason tested, a claim per rerun rule: brSF at ``lr`` within
    `SIGN_GAP` of BP (claim (i)'s margin), DFA at ``lr`` within `MATCH` of BioTorch's number
    (claim (iii)'s). The rates were fixed after the long data, before the reruns'."""
    ours = errors(results, rule, lr=lr)
    if rule == "brsf":
        verdict, margin = below(paired(ours, errors(results, "bp")), SIGN_GAP), f"brSF − BP < {SIGN_GAP:g} pp (claim (i))"
    else:
        verdict, margin = equivalent(Stat.of(ours - THEIRS[rule]), MATCH), f"|{rule} − theirs| < {MATCH:g} pp (claim (iii))"
    theirs = f"{rule} {fmt(THEIRS[rule])}" + (f" vs BP {fmt(THEIRS['bp'])}" if rule == "brsf" else "")
    return Claim.checked(
        "LeNet", RERUN_STATEMENTS[rule], f"{theirs} %; rerun at η {lr:g} (fixed after the long data, before the "
        f"rerun's); margin: {margin}", _measured(results, ["bp", rule] if rule == "brsf" else [rule], {rule: lr}), verdict)


FIGURE = Experiment(name=NAME, title=TITLE, profiles=PROFILES, units=units, run_unit=run_unit, claims=claims,
                    plot=Lazy("minifa.plots.biotorch_lenet"), extent=("reruns",), paper="Sanfiz & Akrout 2021 (BioTorch)")
