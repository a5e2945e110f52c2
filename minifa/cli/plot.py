"""``minifa plot``: alignment, update norms, loss and accuracy of checkpoints and sweeps."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from ..history import METRICS


def metric_names(ctx, param, values) -> list[str]:
    """``--metric a,b --metric c`` as one list of names (checked by the plot)."""
    return [name.strip().replace("-", "_") for value in values for name in value.split(",") if name.strip()]


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="PNG to write. Default: the first file's name with .png.")
@click.option("--metric", "metrics", multiple=True, callback=metric_names, metavar="NAME[,NAME]",
              help=f"Panels to draw (repeatable): {', '.join(METRICS)}. Default: weight and gradient "
                   "alignment, update norm, train loss, test accuracy.")
def plot(files, output, metrics) -> None:
    """Plot the history of checkpoints and sweep results FILES, overlaid, labelled by rule and settings.

    Per layer: weight alignment, gradient alignment and update norm vs step; then train loss
    and test accuracy vs epoch. Several seeds of one setting are drawn as mean ± sd.
    """
    try:
        from ..plots.run import plot as draw  # matplotlib only when plotting
    except ImportError as err:
        raise ConfigError(f"plot needs matplotlib ({err.name or err} is missing): pip install 'minifa[plots]'") from None

    out = Path(output) if output else Path(files[0]).with_suffix(".png")
    draw(files, out, metrics or None)
    click.echo(f"wrote {out}")
