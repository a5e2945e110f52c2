"""The click command line: ``python cli.py COMMAND`` or ``minifa COMMAND``.

Every user error (a ``MinifaError`` from the library, a click usage error) becomes one line
on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys

import click

from ..errors import MinifaError
from .plot import plot
from .reproduce import reproduce
from .rules import optimizers, rules
from .sweep import sweep
from .tools import data, evaluate, info, inspect
from .train import train


class MinifaGroup(click.Group):
    """A click group whose errors are one line each: a ``MinifaError`` from the library, a
    usage error, an interrupted run or an OS error (exit 1, 2 or 130), never a traceback."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name or "minifa", complete_var, standalone_mode=False, **extra)
        except MinifaError as err:
            fail(str(err), 1)
        except click.exceptions.NoArgsIsHelpError as err:
            click.echo(err.ctx.get_help())
            sys.exit(2)
        except click.ClickException as err:
            fail(" ".join(err.format_message().split()), err.exit_code)
        except click.exceptions.Abort as err:
            fail(str(err) or "aborted", 130)
        except OSError as err:
            fail(f"{err.strerror or err}: {err.filename or ''}".rstrip(": "), 1)
        sys.exit(code if isinstance(code, int) else 0)


def fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group(cls=MinifaGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="minifa")
def cli() -> None:
    """minifa: train MLPs with backpropagation and random-feedback rules, and measure alignment.

    Start with `data` (fetch MNIST once), then `train`; `evaluate` and `inspect` read the
    HDF5 checkpoints `train` writes. `sweep` trains a grid of rules and options into one
    results file; `plot` draws checkpoints and sweeps.
    """


for command in (data, train, rules, optimizers, evaluate, inspect, info, reproduce, sweep, plot):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv)
