"""``minifa reproduce``: run, resume and plot the papers' figures; print the claims table."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click

from ..data import DATA_DIR
from ..experiments import experiment
from ..experiments import figures as all_figures
from ..experiments.executors import make_executor
from ..experiments.framework import PROFILES
from ..experiments.runner import experiment_claims, experiment_config, plot_experiment, resolve_profile, run_experiment
from ..experiments.report import beside_table, by_paper, claims_table, complete_results
from ..experiments.store import stored_profiles


def stage_values(ctx, param, values) -> dict:
    """``KEY=JSON`` pairs as a dict, or a usage error naming the one that is not."""
    out = {}
    for text in values:
        key, _, value = text.partition("=")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            raise click.BadParameter(f"{text!r} is not KEY=JSON, e.g. more_reps=[0,0,0,7,0,0,0]") from None
        if not key.strip():
            raise click.BadParameter(f"{text!r} names no key, e.g. more_reps=[0,0,0,7,0,0,0]")
    return out


@contextlib.contextmanager
def unit_progress(name: str):
    """A progress bar over one experiment's units, fed by ``run_experiment``'s ``on_unit``
    (first call: the units done before and the total); finished however the run ends. Where
    stderr is no terminal (a background run's log), one line per finished unit instead."""
    with contextlib.ExitStack() as stack:
        bars = []

        def report(done, total, unit, seconds):
            if not sys.stderr.isatty():
                if unit is not None:
                    click.echo(f"{name}: unit {done}/{total} {unit.key} in {seconds / 60:.1f} min", err=True)
            elif unit is None:
                bars.append(stack.enter_context(
                    click.progressbar(length=total, label=name, file=sys.stderr, show_pos=True)))
                bars[0].update(done)
            else:
                bars[0].update(1)

        yield report


@click.command()
@click.argument("figures", nargs=-1)
@click.option("--profile", type=click.Choice(["auto", *PROFILES]), default="auto", show_default=True,
              help="paper: the papers' full scale (a GPU or a cluster); long: the papers' lengths, fewer repetitions "
                   "(about 8 h on a 2-core CPU, all figures); quick: 35-50 min on a 2-core CPU; tiny: seconds, CI "
                   "plumbing; auto: the profile of the results already in --results-dir, else paper on a GPU "
                   "and quick on a CPU.")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
@click.option("--figures-dir", default="figures", show_default=True, type=click.Path(file_okay=False))
@click.option("--device", type=click.Choice(["auto", "cpu", "gpu"]), default="auto", show_default=True)
@click.option("--data-dir", default=DATA_DIR, show_default=True, type=click.Path(file_okay=False))
@click.option("--check", is_flag=True,
              help="Exit non-zero if a claim does not hold by its margin, the declared known disagreements inside "
                   "their declared bands (README) apart, or (with --no-compute) if a figure's results file is "
                   "missing or incomplete.")
@click.option("--no-compute", is_flag=True,
              help="Compute nothing and plot nothing: read each figure's results file in --results-dir (any "
                   "folder, e.g. a committed docs/results/long) and evaluate its claims from the file alone.")
@click.option("--beside", metavar="DIR", default=None, type=click.Path(file_okay=False, exists=True),
              help="With --no-compute: print, per paper, each claim's numbers in --results-dir beside those in DIR "
                   "(e.g. docs/results/quick): the README's Results tables. The verdicts and --check stay "
                   "--results-dir's.")
@click.option("--scheduler", metavar="local:N|tcp://HOST:PORT", default=None,
              help="Run work units on Dask: local:N starts N worker processes here, tcp://HOST:PORT (or a "
                   "scheduler file *.json) joins a running scheduler. Default: in this process. "
                   "Needs pip install 'minifa[cluster]'.")
@click.option("--blas-threads", type=click.IntRange(min=1), default=None,
              help="BLAS threads per work unit. Default: 1 with --scheduler (one per worker), else this "
                   "process's count (all usable cores, or MINIFA_BLAS_THREADS), pinned for the sweep. Each unit "
                   "records its count and BLAS kernel: equal counts on the same kernel give equal bits.")
@click.option("--connect-timeout", type=click.FloatRange(min=0, min_open=True), default=5.0, show_default=True,
              help="Seconds to wait for the Dask scheduler (with --scheduler).")
@click.option("--stage", "stage", multiple=True, metavar="KEY=JSON", callback=stage_values,
              help="Run a step toward the profile: its extent key KEY (more repetitions, say) set to JSON, "
                   "e.g. --stage 'more_reps=[0,0,0,7,0,0,0]'. The staged file is complete for its step, so it "
                   "can be checked and committed; a later run of the whole profile extends it. Repeatable.")
def reproduce(figures, profile, results_dir, figures_dir, device, data_dir, check, no_compute, beside, scheduler,
              blas_threads, connect_timeout, stage) -> None:
    """Compute (resumably), plot and summarise FIGURES (default: all of them); with
    --no-compute, only evaluate the claims of the results already in --results-dir."""
    names = list(figures) or all_figures()
    chosen = [experiment(n) for n in names]
    if beside and not no_compute:
        raise click.UsageError("--beside reads two folders of results and computes nothing: add --no-compute")
    if stage and no_compute:
        raise click.UsageError("--stage runs a step of a profile and --no-compute runs nothing: drop one")
    if no_compute:
        claims, unchecked = stored_claims(chosen, Path(results_dir))
        print_claims(claims, check, unchecked, beside and (chosen, Path(results_dir), Path(beside)))
        return
    stored = stored_profiles(Path(results_dir), [m.name for m in chosen]) if profile == "auto" else {}
    profile, why = resolve_profile(profile, stored)
    click.echo(f"profile {profile} ({why}); results in {results_dir}/, figures in {figures_dir}/", err=True)
    for figure in chosen if stage else ():  # a stage off any figure's path is refused before anything runs
        experiment_config(figure, profile, stage=stage)
    executor = make_executor(scheduler, blas_threads=blas_threads, connect_timeout=connect_timeout)
    if scheduler:  # workers may start elsewhere; on a shared file system an absolute path still holds
        data_dir = os.path.abspath(data_dir)
    claims = []
    try:
        if scheduler or blas_threads:
            click.echo(executor.describe(), err=True)
        for figure in chosen:
            with unit_progress(figure.name) as report:
                path = run_experiment(figure, profile, results_dir, {"device": device, "data_dir": data_dir},
                                      executor=executor, on_unit=report, stage=stage)
            png = plot_experiment(figure, path, figures_dir)
            click.echo(f"{figure.name}: {path} -> {png}", err=True)
            claims += experiment_claims(figure, path)
    finally:
        executor.close()
    print_claims(claims, check)


def stored_claims(chosen, results_dir: Path) -> tuple[list, list[str]]:
    """The claims of each figure's complete results file in ``results_dir`` (nothing is
    computed), and a line for each figure whose file is missing or incomplete."""
    claims, unchecked = [], []
    for figure in chosen:
        path = results_dir / f"{figure.name}.h5"
        results, note = complete_results(figure, results_dir)
        if results is None:
            unchecked.append(f"{figure.name}: no results file {path}" if note == "not run" else
                             f"{figure.name}: {path} has {note}; run without --no-compute to finish it")
            continue
        click.echo(f"{figure.name}: {path} ({results.profile} profile)", err=True)
        claims += figure.claims(results)
    return claims, unchecked


def print_claims(claims, check: bool, unchecked: list[str] = (), beside: tuple | None = None) -> None:
    """Print the claims table (or, ``beside = (chosen, main, other)``, one two-folder table
    per paper) and the tally; with ``check``, exit 1 on an unexpected "no" or a figure that
    could not be checked."""
    if beside:
        chosen, main, other = beside
        for paper, group in by_paper(chosen).items():
            click.echo(f"\n#### {paper}\n\n" + "\n".join(beside_table(group, main, other)))
    else:
        click.echo("\n".join(claims_table(claims)))
    failed = [c for c in claims if c.unexpected]
    known = sum(1 for c in claims if c.as_declared)
    for line in unchecked:
        click.echo(f"not checked: {line}", err=True)
    click.echo(f"\n{sum(1 for c in claims if c.holds)} of {len(claims)} claims hold; {known} known "
               f"disagreement(s) inside their declared bands, explained in README Results; {len(failed)} unexpected "
               "(undeclared, or outside the declared band)", err=True)
    if check and (failed or unchecked):
        sys.exit(1)
