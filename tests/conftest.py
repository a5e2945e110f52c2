"""Shared fixtures: the engine suite runs on NumPy and under array-api-strict."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import minifa as mf


@pytest.fixture(autouse=True)
def _blas_threads_restored():
    """No test leaks its BLAS thread count into the next: OpenBLAS's bits depend on it, so a
    comparison must never hang on test order (bit-equality tests pin the count on both sides)."""
    from minifa.blas import blas_threads, set_blas_threads

    before = blas_threads()
    yield
    if before is not None and blas_threads() != before:
        set_blas_threads(before)


@pytest.fixture(params=["cpu", "strict"])
def backend(request):
    """Every engine test runs on NumPy and under array-api-strict (no hidden NumPy call)."""
    return mf.get_backend(request.param)


@pytest.fixture
def cpu():
    return mf.get_backend("cpu")


def tiny_batch(sizes=(6, 5, 4, 3), batch=7, seed=1, regression=False):
    """Host (x, y, labels) for a tiny network: x in [0, 1), one-hot or real targets."""
    rng = np.random.default_rng(seed)
    x = rng.random((sizes[0], batch))
    if regression:
        return x, rng.standard_normal((sizes[-1], batch)), None
    labels = rng.integers(0, sizes[-1], batch)
    return x, np.eye(sizes[-1])[:, labels], labels


def tiny_dataset(n_train=300, n_test=100, d=12, classes=4, seed=0):
    """A small learnable classification set (labels from a random linear teacher)."""
    rng = np.random.default_rng(seed)
    teacher = rng.standard_normal((classes, d))
    x = rng.random((d, n_train + n_test))
    labels = np.argmax(teacher @ (x - 0.5), axis=0)
    y = np.eye(classes)[:, labels]
    return SimpleNamespace(
        x_train=x[:, :n_train], y_train=y[:, :n_train], labels_train=labels[:n_train],
        x_test=x[:, n_train:], y_test=y[:, n_train:], labels_test=labels[n_train:],
    )


def host(backend, arrays):
    return [None if a is None else backend.to_host(a) for a in arrays]
