"""Atomic file writes: no half-written file, ever.

Checkpoints, results, IDX data and figures are trusted by whoever reads them next (a resume,
a rerun after ``kill -9``, a plot). So every writer goes through `atomic_path`: write to a
fresh temp file in the same directory (a rename cannot cross file systems), fsync it,
``os.replace`` it onto the target, fsync the directory so the rename survives a power cut.
A crash at any moment leaves the old file or the new one, never a mix; an exception removes
the temp. Temp names hold the writer's pid and a random token and are created exclusively, so
a rerun never reuses a stale one; each new write removes the temps of writers no longer alive
(a writer holding `minifa.lock`'s lock removes all of them).
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator


def _temp_name(path: Path, token: str = "*") -> Path:
    return path.with_name(f".{path.name}.{token}.tmp")  # hidden, and says whose temp it is


def stale_temps(path) -> list[Path]:
    """Temps of ``path`` left by writers that were killed (or are still writing)."""
    path = Path(path)
    return sorted(path.parent.glob(_temp_name(path).name))


def _writer_alive(temp: Path, path: Path) -> bool:
    """Whether the pid in ``.<name>.<pid>-<token>.tmp`` is a live process (a name without a
    pid, from an older minifa, counts as alive: only a lock holder may remove it)."""
    token = temp.name[len(f".{path.name}."):-len(".tmp")]
    pid = token.partition("-")[0]
    if not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temps(path, everything: bool = False) -> list[Path]:
    """Remove the temps of ``path`` whose writers are dead (``everything``: all of them, for
    the holder of ``path``'s lock); returns what was removed."""
    path = Path(path)
    removed = [t for t in stale_temps(path) if everything or not _writer_alive(t, path)]
    for temp in removed:
        temp.unlink(missing_ok=True)
    return removed


def fsync(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield an empty temp file to write ``path``'s new content to; on success make it ``path``.
    The temp gets the usual umask permissions (mkstemp's would be 0600)."""
    path = Path(path)
    remove_stale_temps(path)
    temp = _temp_name(path, f"{os.getpid()}-{secrets.token_hex(8)}")
    os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield temp
        fsync(temp)  # the bytes must be on disk before the rename makes them the file
        os.replace(temp, path)
    except BaseException:  # KeyboardInterrupt included
        temp.unlink(missing_ok=True)
        raise
    with suppress(OSError):  # best effort: not every OS opens directories
        fsync(path.parent)
