"""The erf activation (Taylor cells about exact centres) against math.erf, its derivative
against central differences, and in the strict array namespace."""

from __future__ import annotations

import math

import array_api_strict as xps
import numpy as np

from minifa.activations import get_activation

ERF = get_activation("erf")


def test_erf_matches_math_erf_to_double_precision():
    x = np.concatenate([np.linspace(-9.0, 9.0, 200_001), [0.0, 6.5, -6.5, 1e-300, 0.125, 0.0625]])
    reference = np.array([math.erf(t) for t in x])
    assert np.max(np.abs(ERF.value(np, x) - reference)) < 3e-15


def test_erf_is_odd_and_saturates():
    x = np.linspace(0.0, 12.0, 1001)
    assert np.array_equal(ERF.value(np, -x), -ERF.value(np, x))
    assert np.all(ERF.value(np, np.array([6.5, 7.0, 50.0, np.inf])) == 1.0)


def test_erf_derivative_matches_central_differences():
    x, h = np.linspace(-4.0, 4.0, 401), 1e-5
    fd = (ERF.value(np, x + h) - ERF.value(np, x - h)) / (2 * h)
    assert np.max(np.abs(ERF.derivative(np, x, ERF.value(np, x)) - fd)) < 1e-9


def test_erf_runs_in_the_strict_namespace():
    x = np.array([[-2.0, 0.3], [5.0, 0.0]])
    out = ERF.value(xps, xps.asarray(x))
    assert np.allclose(np.from_dlpack(out), [[math.erf(t) for t in row] for row in x], rtol=0, atol=3e-15)
