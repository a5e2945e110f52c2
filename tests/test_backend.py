"""Backend selection and host <-> device transfer."""

from __future__ import annotations

import numpy as np
import pytest

import minifa as mf
from minifa.errors import BackendError


def test_gpu_without_cupy_or_device_is_a_one_line_error():
    if mf.backend.gpu_available():
        pytest.skip("a GPU is present: the error path cannot be exercised here")
    with pytest.raises(BackendError) as err:
        mf.get_backend("gpu")
    message = str(err.value)
    assert "\\n" not in message and "--device cpu" in message


def test_unknown_device_names_the_choices():
    with pytest.raises(BackendError, match="unknown device 'tpu'; choose one of auto, cpu, gpu, strict"):
        mf.get_backend("tpu")


def test_auto_falls_back_to_cpu_without_a_gpu():
    expected = "gpu" if mf.backend.gpu_available() else "cpu"
    assert mf.get_backend("auto").name == expected


def test_transfer_round_trip_copies(backend):
    host = np.arange(6.0).reshape(2, 3)
    device = backend.asarray(host, "float32")
    back = backend.to_host(device)
    assert back.dtype == np.float32 and np.array_equal(back, host)
    device += 1.0  # later device updates must not reach what was read
    assert np.array_equal(back, host)
