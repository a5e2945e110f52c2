"""``minifa rules`` and ``minifa optimizers``: every learning rule and optimiser, its summary
and its declared options."""

from __future__ import annotations

import click

from ..optimisers import OPTIMISERS
from ..rules import RULES


def describe_rules(registry=RULES) -> list[str]:
    """Per rule (or optimiser) one line ``name: summary``, then one indented line per
    option, all read from the classes (a rule added as one file shows up here)."""
    lines = []
    for name, cls in registry.items():
        lines.append(f"{name}: {cls.summary}")
        lines += [f"    {option}: {spec.describe()}" for option, spec in cls.options.items()]
    return lines


@click.command()
def rules() -> None:
    """List the learning rules and their options (`train --rule NAME --option KEY=VALUE`)."""
    click.echo("\n".join(describe_rules()))


@click.command()
def optimizers() -> None:
    """List the optimizers and their options (`train --optimizer NAME --optimizer-option KEY=VALUE`)."""
    click.echo("\n".join(describe_rules(OPTIMISERS)))
