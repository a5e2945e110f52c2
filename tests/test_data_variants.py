"""MNIST's block-mean pooling (Refinetti et al.'s 14 × 14), label noise and the validation
split, against plain loops, counts and slices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from minifa.data import held_out, load_dataset, pooled, with_label_noise
from minifa.errors import ConfigError, DataError

MNIST_DIR = Path(__file__).resolve().parents[1] / "data" / "mnist"


def test_pooling_is_the_block_mean_as_plain_loops():
    rng = np.random.default_rng(3)
    x = rng.random((784, 5)).astype(np.float32)
    out = pooled(x, 2)
    assert out.shape == (196, 5) and out.dtype == np.float32 and out.flags.c_contiguous
    for n in range(5):
        image = x[:, n].reshape(28, 28)  # `pixels`: row-major upright image
        for i in range(14):
            for j in range(14):
                block = [float(image[2 * i + a, 2 * j + b]) for a in range(2) for b in range(2)]
                assert out[14 * i + j, n] == pytest.approx(sum(block) / 4, abs=1e-7)
    np.testing.assert_array_equal(pooled(x, 1), x)
    with pytest.raises(DataError, match="must divide 28"):
        pooled(x, 3)


def labelled(n=20000, classes=10, seed=0):
    from minifa.data import synthetic_classes
    return synthetic_classes(n_train=n, n_test=n // 2, d=4, classes=classes, rng=seed)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_label_noise_changes_a_fraction_p_times_9_of_10(p):
    data = labelled()
    noisy = with_label_noise(data, p, np.random.default_rng(1))
    for clean, new, y in [(data.labels_train, noisy.labels_train, noisy.y_train), (data.labels_test, noisy.labels_test, noisy.y_test)]:
        changed = np.mean(clean != new)
        expected, se = p * 0.9, np.sqrt(p * 0.9 * (1 - p * 0.9) / len(clean))
        assert abs(changed - expected) < 5 * se, (changed, expected)
        np.testing.assert_array_equal(np.argmax(y, axis=0), new)
    np.testing.assert_array_equal(noisy.x_train, data.x_train)


def test_label_noise_through_load_dataset_is_seeded_and_refuses_bad_values():
    a = load_dataset("synthetic", seed=4, label_noise=0.3, n_train=500, n_test=100, d=8)
    b = load_dataset("synthetic", seed=4, label_noise=0.3, n_train=500, n_test=100, d=8)
    clean = load_dataset("synthetic", seed=4, n_train=500, n_test=100, d=8)
    np.testing.assert_array_equal(a.labels_train, b.labels_train)
    assert 0.15 < np.mean(a.labels_train != clean.labels_train) < 0.4
    with pytest.raises(DataError, match="label_noise"):
        load_dataset("synthetic", seed=4, label_noise=1.5, n_train=50, n_test=10, d=8)
    with pytest.raises(ConfigError, match="pool applies to mnist only"):
        load_dataset("synthetic", seed=4, pool=2, n_train=50, n_test=10, d=8)


def test_held_out_is_the_last_n_training_samples_and_the_test_set_is_unseen():
    data = labelled(n=50)
    split = held_out(data, 10)
    assert split.x_train.shape == (4, 40) and split.x_test.shape == (4, 10) and split.name == "synthetic-validation"
    for field in ("x", "y"):
        np.testing.assert_array_equal(getattr(split, f"{field}_train"), getattr(data, f"{field}_train")[:, :40])
        np.testing.assert_array_equal(getattr(split, f"{field}_test"), getattr(data, f"{field}_train")[:, 40:])
    np.testing.assert_array_equal(split.labels_test, data.labels_train[40:])
    for bad in (0, 50, 2.5):
        with pytest.raises(DataError, match="validation"):
            held_out(data, bad)
    with pytest.raises(ConfigError, match="validation applies to mnist only"):
        load_dataset("synthetic", seed=4, validation=10, n_train=50, n_test=10, d=8)


@pytest.mark.skipif(not (MNIST_DIR / "train-labels-idx1-ubyte.gz").exists(), reason="MNIST not fetched (make data)")
def test_mnist_validation_holds_out_the_last_10000_training_images():
    full, split = load_dataset("mnist", data_dir=MNIST_DIR), load_dataset("mnist", data_dir=MNIST_DIR, validation=10000)
    assert split.x_train.shape == (784, 50000) and split.x_test.shape == (784, 10000)
    np.testing.assert_array_equal(split.labels_test, full.labels_train[50000:])
    np.testing.assert_array_equal(split.x_test, full.x_train[:, 50000:])
