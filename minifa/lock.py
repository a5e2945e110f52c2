"""One writer per file: an exclusive ``flock`` on a hidden ``.<name>.lock`` beside it.

``train --checkpoint`` and a results store hold the lock of their file for as long as they
write it, so a second writer stops at once with one line, "X is in use by process N", instead
of silently replacing the first one's work or deleting its temps. The kernel drops a flock
when its holder dies (``kill -9`` included), so a lock never outlives its writer; the lock
file holds the holder's pid for that message and is removed on release. Within one process
the lock is re-entrant (two stores of one file in one process write in turn, not at once).
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .atomic import remove_stale_temps
from .errors import MinifaError


class LockError(MinifaError):
    """The file is being written by another process, or its directory is not writable."""


def lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


def _holder(lock: Path) -> str:
    try:
        return lock.read_text().strip() or "?"
    except OSError:
        return "?"


def _acquire(path: Path) -> int:
    """An fd holding the lock of ``path``: retried if the file we locked was unlinked by a
    releasing holder in between (then a third process may lock the new one)."""
    lock = lock_path(path)
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as err:
            raise LockError(f"cannot write {path}: {err.strerror} for {lock.parent}; check that the directory "
                            "exists and is writable") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockError(f"{path} is in use by process {_holder(lock)}; wait for it to finish "
                            "(or stop it) and rerun") from None
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


_HELD: dict[Path, list[int]] = {}  # lock file -> [fd, holders in this process]


@contextmanager
def exclusive(path) -> Iterator[Path]:
    """Hold ``path``'s writer lock; on first entry remove every temp of ``path`` (all are from
    dead writers, now that no other writer can hold the lock). The last holder to leave, in
    whatever order, releases it."""
    path = Path(path)
    key = lock_path(path.absolute())
    if key in _HELD:
        _HELD[key][1] += 1
    else:
        fd = _acquire(path)
        _HELD[key] = [fd, 1]
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            remove_stale_temps(path, everything=True)
        except BaseException:
            _release(key)
            raise
    try:
        yield path
    finally:
        _release(key)


def _release(key: Path) -> None:
    held = _HELD[key]
    held[1] -= 1
    if held[1] == 0:
        del _HELD[key]
        key.unlink(missing_ok=True)  # before the unlock: see _acquire
        os.close(held[0])
