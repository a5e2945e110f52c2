"""``minifa rules``: every registered learning rule, its summary and its declared options."""

from __future__ import annotations

import click

from ..rules import RULES


def describe_rules() -> list[str]:
    """Per rule one line ``name: summary``, then one indented line per option, all read
    from the rule classes (a rule added as one file shows up here)."""
    lines = []
    for name, cls in RULES.items():
        lines.append(f"{name}: {cls.summary}")
        lines += [f"    {option}: {spec.describe()}" for option, spec in cls.options.items()]
    return lines


@click.command()
def rules() -> None:
    """List the learning rules and their options (`train --rule NAME --option KEY=VALUE`)."""
    click.echo("\n".join(describe_rules()))
