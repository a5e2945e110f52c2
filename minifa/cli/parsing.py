"""Click callbacks that read the command line's lists and ``KEY=VALUE`` pairs (``train``'s options)."""

from __future__ import annotations

import json

import click


def numbers(kind):
    """A click callback parsing a comma-separated list (``784,700,1000,10``)."""

    def parse(ctx, param, value):
        parts = str(value).split(",")
        if any(not v.strip() for v in parts):
            raise click.BadParameter(f"{value!r} has an empty entry; write e.g. 784,700,10")
        try:
            return [kind(v) for v in parts]
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a comma-separated list of {kind.__name__}s") from None

    return parse


def key_values(ctx, param, values):
    """``KEY=VALUE`` pairs, the value read as JSON when it parses (``decay=0.1``)."""
    out = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE")
        try:
            out[key.replace("-", "_")] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.replace("-", "_")] = raw
    return out


def one_or_list(values: list):
    return values[0] if len(values) == 1 else values
