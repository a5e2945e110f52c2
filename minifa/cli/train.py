"""``minifa train``: build a run from options (or resume one), train it, checkpoint each epoch."""

from __future__ import annotations

import math
import sys
import warnings
from contextlib import ExitStack
from pathlib import Path

import click
import numpy as np

from .. import checkpoint, health
from ..activations import ACTIVATIONS
from ..backend import NAMES, get_backend
from ..config import MLP_LAYERS, Config, build, defaults
from ..data import DATA_DIR, DATASETS, load_data
from ..errors import ConfigError, DivergenceError
from ..init import COUPLINGS, FEEDBACK_INITS, GAIN_INITS, WEIGHT_INITS
from ..layers import MODELS
from ..lock import exclusive
from ..losses import LOSSES
from ..rules import RULES, rule_class
from ..rules.base import FEEDBACK_OPTIONS
from ..batches import DeviceData
from ..optimisers import OPTIMISERS
from ..training import train as train_run
from .parsing import key_values, numbers, one_or_list


# The options --resume accepts: where and how far to train, not what (the checkpoint's config
# fixes every other option, so giving one with --resume is an error).
RESUMABLE = {"epochs", "device", "data_dir", "checkpoint", "resume", "metrics_every"}

DEFAULT = defaults()  # Config's defaults: every option that sets a Config field shows its default
# The CLI records step metrics by default (the progress line shows them); a library Config
# records per epoch only (metrics_every 0), so that a plain train() measures nothing extra.
METRICS_EVERY = 50


# Rule options with a flag of their own; each flag's default and help are the rule's declaration.
SHORTCUTS = {"feedback": FEEDBACK_OPTIONS["feedback"], "feedback_scale": FEEDBACK_OPTIONS["feedback_scale"],
             "alignment": rule_class("perturbed").options["alignment"]}


def shortcut(name: str, **kw):
    """The click option of shortcut ``name``: a per-member number as a comma-separated list."""
    spec = SHORTCUTS[name]
    parse = {"callback": numbers(float), "default": str(spec.default)} if spec.per_member else {"default": spec.default}
    return click.option(f"--{name.replace('_', '-')}", help=spec.describe(), **parse, **kw)


def rule_options(rule: str, given: dict, explicit: set[str]) -> dict:
    """Map the shortcut options onto the rule's own; an explicit one the rule lacks is an error
    raised by the rule's declared options."""
    accepted = rule_class(rule).options
    opts = {name: one_or_list(given[name]) if SHORTCUTS[name].per_member else given[name]
            for name in SHORTCUTS if name in accepted or name in explicit}
    return {**opts, **given["option"]}


def config_from(params: dict, explicit: set[str]) -> Config:
    seeds = list(range(params["seed"], params["seed"] + params["ensemble"]))
    if params["ensemble"] < 1:
        raise ConfigError(f"--ensemble {params['ensemble']} must be at least 1")
    if params["batch_size"] < 1:
        raise ConfigError(f"batch size {params['batch_size']} must be at least 1; pass --full-batch for the whole set")
    dataset_options = dict(params["dataset_option"])
    for key, flag in (("seed", "--seed"), ("data_dir", "--data-dir")):
        if key in dataset_options:
            raise ConfigError(f"--dataset-option {key}=... is what {flag} sets; use {flag}")
    # --init-scale's default is the paper's 0.05 for normal weights; a gain (glorot, torch) defaults to 1.
    gain_default = params["init"] in GAIN_INITS and "init_scale" not in explicit
    init_scale = [1.0] if gain_default else params["init_scale"]
    if params["standardise"]:
        dataset_options["standardise"] = True
    chain = params["model"] != "mlp" and "layers" not in explicit  # a chain's sizes are its own
    return Config(
        model=params["model"], layers=MLP_LAYERS if chain else tuple(params["layers"]), activation=params["activation"], loss=params["loss"],
        bias=not params["no_bias"], output_scale=params["output_scale"], dtype=params["dtype"],
        init=params["init"], init_scale=one_or_list(init_scale), rule=params["rule"],
        rule_options=rule_options(params["rule"], params, explicit),
        weights_from_feedback=params["weights_from_feedback"], lr=params["lr"],
        batch_size=0 if params["full_batch"] else params["batch_size"],
        shuffle=not params["full_batch"], shared_order=params["shared_order"],
        weight_decay=one_or_list(params["weight_decay"]),
        seeds=seeds, metrics_every=params["metrics_every"], epochs=params["epochs"],
        dataset=params["dataset"], dataset_options=dataset_options, optimizer=params["optimizer"],
        optimizer_options=params["optimizer_option"], dropout=one_or_list(params["dropout"]),
    )


def quiet_nanmean(values, axis=None):
    """``np.nanmean`` that gives NaN for all-NaN input without NumPy's "Mean of empty slice"."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=axis)


def summary(run) -> str:
    rows = run.history["epochs"]
    acc, loss = rows["test_accuracy"][-1], rows["train_loss"][-1]
    text = f"epoch {run.epoch}/{run.config.epochs}: train loss {quiet_nanmean(loss):.4f}"
    if not np.all(np.isnan(acc)):
        text += f", test accuracy {np.mean(acc):.4f}"
        if acc.size > 1:
            text += f" (members {np.min(acc):.4f}-{np.max(acc):.4f})"
    steps = run.history.get("steps", {})
    if "gradient_alignment" in steps:
        align = quiet_nanmean(steps["gradient_alignment"][-1], axis=0)
        text += ", gradient alignment " + " ".join(f"{a:.3f}" for a in align)
    return text


class Progress:
    """A click progress bar over one epoch's steps showing loss and gradient alignment."""

    def __init__(self, run, n_train: int):
        self.run, self.steps = run, math.ceil(n_train / run.config.batch_of(n_train))
        self.status, self.bar = "", None

    def start(self):
        self.bar = click.progressbar(length=self.steps, label=f"epoch {self.run.epoch + 1}/{self.run.config.epochs}",
                                     item_show_func=lambda _: self.status, file=sys.stderr)
        self.bar.__enter__()

    def step(self, run, metrics):
        if self.bar is None:
            self.start()
        if "gradient_alignment" in metrics or run.step % 10 == 1:
            loss = float(np.mean(run.backend.to_host(metrics["loss"])))
            self.status = f"loss {loss:.4f}"
            if "accuracy" in metrics:
                self.status += f" acc {float(np.mean(run.backend.to_host(metrics['accuracy']))):.3f}"
            if "gradient_alignment" in metrics:
                align = quiet_nanmean(run.backend.to_host(metrics["gradient_alignment"]), axis=0)
                self.status += " align " + " ".join(f"{a:.2f}" for a in align[:-1])
        self.bar.update(1)

    def finish(self):
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def open_run(params: dict, explicit: set[str]):
    path = params["checkpoint"]
    backend = get_backend(params["device"])
    if params["resume"]:
        if path is None or not Path(path).exists():
            raise ConfigError(f"nothing to resume: no checkpoint at {path}; drop --resume to start a new run")
        fixed = sorted(explicit - RESUMABLE)
        if fixed:
            raise ConfigError(f"--resume continues the run stored in {path}, whose config fixes --{fixed[0].replace('_', '-')}; drop it or start a new run")
        run = checkpoint.load(path, backend)
        note = checkpoint.blas_note(path)  # a note, not an error: the run is valid, its bits differ
        if note:
            click.echo(f"note: {note}", err=True)
        if "epochs" in explicit:
            run.config.epochs = params["epochs"]
        if "metrics_every" in explicit:
            run.config.metrics_every = params["metrics_every"]
        run.config.validate()  # before anything is written: the checkpoint must stay loadable
        if run.epoch >= run.config.epochs:
            asked = f" (--epochs {params['epochs']})" if "epochs" in explicit else ""
            click.echo(f"note: {path} already holds epoch {run.epoch}{asked}: nothing to train; pass "
                       f"--epochs {run.epoch + 1} or more to continue it", err=True)
        run.config.epochs = max(run.config.epochs, run.epoch)
        return run
    if path is not None and Path(path).exists():
        raise ConfigError(f"{path} already exists; pass --resume to continue it, or choose another --checkpoint")
    config = config_from(params, explicit)
    if config.epochs == 0:
        if path is not None:
            raise ConfigError(f"--epochs 0 trains nothing, so {path} would never be written; pass --epochs 1 or more")
        click.echo("note: --epochs 0: nothing to train", err=True)
    return build(config, backend)


@click.command()
@click.option("--rule", type=click.Choice(list(RULES)), default=DEFAULT["rule"], show_default=True,
              help="Learning rule; `python cli.py rules` lists each with its options.")
@click.option("--model", type=click.Choice(["mlp", *MODELS]), default=DEFAULT["model"], show_default=True,
              help="mlp: dense layers of --layers; lenet: BioTorch's conv LeNet (6-16-120-84-10) on 28x28 images.")
@click.option("--layers", default=",".join(map(str, DEFAULT["layers"])), show_default=True, callback=numbers(int),
              help="Layer sizes.")
@click.option("--activation", type=click.Choice(list(ACTIVATIONS)), default=DEFAULT["activation"], show_default=True)
@click.option("--loss", type=click.Choice(list(LOSSES)), default=DEFAULT["loss"], show_default=True)
@click.option("--no-bias", is_flag=True, help="Dense layers without biases (Song et al.).")
@click.option("--output-scale", type=float, default=DEFAULT["output_scale"], show_default=True,
              help="Multiply the output, e.g. 1/sqrt(p).")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default=DEFAULT["dtype"], show_default=True)
@click.option("--init", type=click.Choice(list(WEIGHT_INITS)), default=DEFAULT["init"], show_default=True)
@click.option("--init-scale", default=str(DEFAULT["init_scale"]), show_default=True, callback=numbers(float),
              help="Weight scale factor (glorot, torch: its gain, default 1); one, or one per member.")
@shortcut("feedback", type=click.Choice(list(FEEDBACK_INITS)))
@shortcut("feedback_scale", type=float)
@click.option("--weights-from-feedback", type=click.Choice(list(COUPLINGS)), default=DEFAULT["weights_from_feedback"],
              show_default=True, help="Figure 4: build W from B.")
@shortcut("alignment")
@click.option("--option", multiple=True, callback=key_values, metavar="KEY=VALUE",
              help="Any other rule option, e.g. decay=0.1 or a per-member list alignment=[0.1,0.9]; see `python cli.py rules`.")
@click.option("--lr", type=float, default=DEFAULT["lr"], show_default=True,
              help="Learning rate η of the optimizer (sgd: W <- W - lr * update).")
@click.option("--optimizer", type=click.Choice(list(OPTIMISERS)), default=DEFAULT["optimizer"], show_default=True,
              help="How updates move the weights; `python cli.py optimizers` lists each with its options.")
@click.option("--optimizer-option", multiple=True, callback=key_values, metavar="KEY=VALUE",
              help="An optimizer option, e.g. rho=0.99 (rmsprop) or decay=0.01 (adamw's decoupled decay); a number may be one per member: beta1=[0.5,0.9].")
@click.option("--dropout", default=str(DEFAULT["dropout"]), show_default=True, callback=numbers(float),
              help="Inverted dropout rate of the hidden layers in training; one, or one per hidden layer.")
@click.option("--batch-size", type=int, default=DEFAULT["batch_size"], show_default=True)
@click.option("--full-batch", is_flag=True, help="Gradient descent on the whole set in data order.")
@click.option("--epochs", type=int, default=DEFAULT["epochs"], show_default=True)
@click.option("--weight-decay", default=str(DEFAULT["weight_decay"]), show_default=True, callback=numbers(float),
              help="L2 decay λ, added to the update before the optimizer (sgd: W <- W - lr (update + λ W)); one, or one per layer.")
@click.option("--seed", type=int, default=DEFAULT["seeds"][0], show_default=True, help="Seed of member 0; member r uses seed + r.")
@click.option("--ensemble", type=int, default=len(DEFAULT["seeds"]), show_default=True,
              help="Number of networks trained together.")
@click.option("--shared-order", is_flag=True, help="All members see the same minibatches.")
@click.option("--device", type=click.Choice(list(NAMES)), default="auto", show_default=True)
@click.option("--dataset", type=click.Choice(list(DATASETS)), default=DEFAULT["dataset"], show_default=True)
@click.option("--dataset-option", multiple=True, callback=key_values, metavar="KEY=VALUE", help="e.g. activation=relu for gaussian.")
@click.option("--standardise", is_flag=True, help="MNIST as (x - 0.1307)/0.3081 (Song et al.).")
@click.option("--data-dir", default=DATA_DIR, show_default=True, type=click.Path(file_okay=False))
@click.option("--metrics-every", type=int, default=METRICS_EVERY, show_default=True,
              help="Record step metrics every K steps (0: off).")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None, help="HDF5 file written after every epoch.")
@click.option("--resume", is_flag=True, help="Continue the run in --checkpoint up to --epochs.")
def train(**params) -> None:
    """Train an ensemble of MLPs with one learning rule."""
    ctx = click.get_current_context()
    explicit = {k for k in params if ctx.get_parameter_source(k) == click.core.ParameterSource.COMMANDLINE}
    with ExitStack() as stack:
        if params["checkpoint"]:  # the only writer of it, from before the file is read to the last save
            stack.enter_context(exclusive(Path(params["checkpoint"])))
        run = open_run(params, explicit)
        if run.epoch < run.config.epochs:  # else open_run's note said why there is nothing to do
            run_training(run, params)


def run_training(run, params: dict) -> None:
    """Train ``run`` to its configured epochs, saving and reporting after each one."""
    dataset = load_data(run.config, params["data_dir"])
    data = DeviceData.from_dataset(run.backend, dataset, run.config.dtype, run.net)
    progress = Progress(run, data.n_train)
    click.echo(f"{run.config.rule} on {run.config.dataset}, {len(run.config.seeds)} member(s), "
               f"layers {','.join(map(str, run.config.layers))}, device {run.backend.name}", err=True)

    warned: set[str] = set()
    saved = {"epoch": run.epoch if params["resume"] else None}  # what the checkpoint file holds

    def on_epoch(run):
        progress.finish()
        if params["checkpoint"]:
            checkpoint.save(run, params["checkpoint"])
            saved["epoch"] = run.epoch
        click.echo(summary(run))
        for kind, warning in health.warnings(run, data).items():
            if kind not in warned:  # once per kind of sign, not every epoch
                warned.add(kind)
                click.echo(f"warning: {warning}", err=True)

    try:
        train_run(run, data, on_step=progress.step, on_epoch=on_epoch)
    except DivergenceError as err:
        progress.finish()
        if not params["checkpoint"]:
            raise
        held = (f"{params['checkpoint']} holds epoch {saved['epoch']}, the last one finished before that" if saved["epoch"] is not None
                else f"{params['checkpoint']} was not written (no epoch finished)")
        raise DivergenceError(f"{err}; {held}") from None
    except KeyboardInterrupt:
        progress.finish()
        where = f"; {params['checkpoint']} holds epoch {run.epoch}: rerun with --resume" if params["checkpoint"] else ""
        raise click.exceptions.Abort(f"interrupted at step {run.step}{where}") from None
    finally:
        progress.finish()
