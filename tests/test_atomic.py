"""minifa.atomic: the one way files are written; and the writers that use it (PNG figures)."""

from __future__ import annotations

import os
import stat

import matplotlib.pyplot as plt
import pytest

from minifa import atomic
from minifa.atomic import atomic_path, stale_temps
from minifa.plots import common


def test_success_replaces_the_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with atomic_path(path) as temp:
        assert temp.parent == tmp_path and temp.name.startswith(".out.bin.") and temp.name.endswith(".tmp")
        assert temp.read_bytes() == b"" and path.read_bytes() == b"old"  # nothing visible yet
        temp.write_bytes(b"new")
    assert path.read_bytes() == b"new" and os.listdir(tmp_path) == ["out.bin"]


@pytest.mark.parametrize("error", [RuntimeError("writer failed"), KeyboardInterrupt()])
def test_an_exception_keeps_the_old_file_and_removes_the_temp(tmp_path, error):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(type(error)):
        with atomic_path(path) as temp:
            temp.write_bytes(b"half")
            raise error
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.bin"]


def test_a_failed_fsync_never_renames(tmp_path, monkeypatch):
    path = tmp_path / "out.bin"

    def fail(where):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "fsync", fail)
    with pytest.raises(OSError, match="No space"):
        with atomic_path(path) as temp:
            temp.write_bytes(b"new")
    assert os.listdir(tmp_path) == []


def test_temps_are_unique_so_a_stale_one_is_never_reused(tmp_path):
    path = tmp_path / "out.bin"
    stale = tmp_path / ".out.bin.0123456789abcdef.tmp"  # what a writer killed by kill -9 leaves
    stale.write_bytes(b"killed mid-write")
    assert stale_temps(path) == [stale]
    names = set()
    for n in range(20):
        with atomic_path(path) as temp:
            assert temp.read_bytes() == b""  # always a fresh file, never appended to
            names.add(temp.name)
            temp.write_bytes(b"%d" % n)
    assert len(names) == 20 and stale.name not in names
    assert path.read_bytes() == b"19" and stale.read_bytes() == b"killed mid-write"


def test_the_file_gets_umask_permissions_not_mkstemps_0600(tmp_path):
    mask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "out.bin") as temp:
            temp.write_bytes(b"x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "out.bin").stat().st_mode) == 0o644


def test_a_missing_directory_is_an_os_error_and_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "missing" / "out.bin"):
            pass
    assert os.listdir(tmp_path) == []


def test_figure_save_writes_a_png_and_closes_the_figure(tmp_path):
    fig, axes = common.panels(1, 1, "t")
    axes[0, 0].plot([0, 1], [1, 0])
    path = common.save(fig, tmp_path / "fig.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and os.listdir(tmp_path) == ["fig.png"]
    assert not plt.fignum_exists(fig.number)


def test_a_failed_figure_save_leaves_no_temp_and_closes_the_figure(tmp_path, monkeypatch):
    fig, _ = common.panels(1, 1, "t")
    (tmp_path / "fig.png").write_bytes(b"old")

    def fail(*args, **kwargs):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(fig, "savefig", fail)
    with pytest.raises(RuntimeError, match="renderer"):
        common.save(fig, tmp_path / "fig.png")
    assert os.listdir(tmp_path) == ["fig.png"] and (tmp_path / "fig.png").read_bytes() == b"old"
    assert not plt.fignum_exists(fig.number)
