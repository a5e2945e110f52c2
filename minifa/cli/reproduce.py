"""``minifa reproduce``: run, resume and plot the papers' figures; print the claims table."""

from __future__ import annotations

import sys

import click

from ..experiments import EXPERIMENTS, experiment
from ..experiments.runner import PROFILES, experiment_claims, plot_experiment, resolve_profile, run_experiment


def unit_progress(name: str):
    state = {}

    def report(done, total, unit, seconds):
        if unit is None:
            state["bar"] = click.progressbar(length=total, label=name, file=sys.stderr, show_pos=True)
            state["bar"].__enter__()
            state["bar"].update(done)
            return
        state["bar"].update(1)
        if done == total:
            state["bar"].__exit__(None, None, None)

    return report


def claims_table(claims) -> list[str]:
    lines = ["| figure | claim | paper | measured | holds |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {c.figure} | {c.statement} | {c.paper} | {c.measured} | {'yes' if c.holds else '**no**'} |" for c in claims]
    return lines


@click.command()
@click.argument("figures", nargs=-1)
@click.option("--profile", type=click.Choice(list(PROFILES)), default="auto", show_default=True,
              help="paper: the paper's scale; quick: ~30 min on a 2-core CPU; auto: paper on a GPU, else quick.")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
@click.option("--figures-dir", default="figures", show_default=True, type=click.Path(file_okay=False))
@click.option("--device", type=click.Choice(["auto", "cpu", "gpu"]), default="auto", show_default=True)
@click.option("--data-dir", default="data/mnist", show_default=True, type=click.Path(file_okay=False))
@click.option("--check", is_flag=True, help="Exit non-zero if a claim's direction does not hold.")
def reproduce(figures, profile, results_dir, figures_dir, device, data_dir, check) -> None:
    """Compute (resumably), plot and summarise FIGURES (default: all of them)."""
    names = list(figures) or list(EXPERIMENTS)
    modules = [experiment(n) for n in names]
    profile, why = resolve_profile(profile)
    click.echo(f"profile {profile} ({why}); results in {results_dir}/, figures in {figures_dir}/", err=True)
    claims = []
    for module in modules:
        path = run_experiment(module, profile, results_dir, {"device": device, "data_dir": data_dir},
                              on_unit=unit_progress(module.NAME))
        png = plot_experiment(module, path, figures_dir)
        click.echo(f"{module.NAME}: {path} -> {png}", err=True)
        claims += experiment_claims(module, path)
    click.echo("\n".join(claims_table(claims)))
    failed = [c for c in claims if not c.holds]
    click.echo(f"\n{len(claims) - len(failed)} of {len(claims)} claims hold", err=True)
    if check and failed:
        sys.exit(1)
