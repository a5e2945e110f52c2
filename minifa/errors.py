"""User-facing errors: each carries a one-line message naming the problem and the fix.

The CLI turns any `MinifaError` into that line and a non-zero exit, without a traceback.
"""


def reason(err: BaseException) -> str:
    """An exception's message on one line (HDF5 and Dask messages span lines), or its type."""
    return " ".join(str(err).split()) or type(err).__name__


class MinifaError(Exception):
    """Base of every error a user can cause and fix (bad input, missing data, no GPU)."""


class ConfigError(MinifaError, ValueError):
    """An impossible or unknown setting: sizes, rule names, negative rates."""


class DataError(MinifaError):
    """Missing, corrupt or unreachable data."""


class CheckpointError(MinifaError):
    """An unreadable, truncated, foreign or wrong-version checkpoint file."""


class BackendError(MinifaError):
    """A backend was asked for that this machine cannot provide (e.g. GPU without CuPy)."""


class DivergenceError(MinifaError):
    """Training produced NaN or Inf; the message names step, member and layer."""


class ResultsError(MinifaError):
    """An experiment results file that cannot be read or continued."""


class ClusterError(MinifaError):
    """A cluster that cannot be used: Dask missing, a bad or unreachable scheduler address,
    a unit that keeps killing its workers."""


def choose(kind: str, name, table, error: type[MinifaError] = ConfigError):
    """``table[name]`` for a dict, ``name`` for any other collection of names; an unknown name
    is one line naming the choices: ``unknown {kind} {name!r}; choose one of a, b, c``."""
    if name not in table:
        raise error(f"unknown {kind} {name!r}; choose one of {', '.join(table)}")
    return table[name] if isinstance(table, dict) else name
