"""Elementwise activations: value and derivative.

The derivative is taken from whichever of the pre-activation ``h`` or the output
``x = f(h)`` is cheaper, as Flux's rules do (tanh' = 1 - x², Flux/NNlib ``tanh_fast``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .errors import choose


@dataclass(frozen=True)
class Activation:
    name: str
    value: Callable[[Any, Any], Any]  # (xp, h) -> f(h)
    derivative: Callable[[Any, Any, Any], Any]  # (xp, h, x) -> f'(h), with x = f(h)


def _sigmoid(xp, h):
    return 1.0 / (1.0 + xp.exp(-h))


# erf by Taylor series about the centres c_j = (j + ½) h of cells of width h on [0, ERF_END]:
# erf^(n+1)(c) = (2/√π)(−1)^n H_n(c) e^{−c²} (Hermite H_n), so every coefficient is exact from
# math.erf(c) and a recursion; degree 9 over |x − c| ≤ h/2 = 1/16 leaves < 1e-15 (tests/test_erf.py).
# Beyond ERF_END = 6.5, erf is 1 to double precision (erfc(6.5) ≈ 4e-20). NumPy has no erf.
ERF_CELL, ERF_END, ERF_DEGREE = 0.125, 6.5, 9


def _erf_table() -> np.ndarray:
    """(degree + 1, cells) Taylor coefficients of erf about each cell's centre, lowest first."""
    rows = []
    for j in range(round(ERF_END / ERF_CELL)):
        c = (j + 0.5) * ERF_CELL
        hermite = [1.0, 2.0 * c]  # H_0, H_1; H_{n+1} = 2c H_n − 2n H_{n−1}
        for n in range(1, ERF_DEGREE):
            hermite.append(2.0 * c * hermite[n] - 2.0 * n * hermite[n - 1])
        gauss = 2.0 / math.sqrt(math.pi) * math.exp(-c * c)
        rows.append([math.erf(c)] + [gauss * (-1) ** n * hermite[n] / math.factorial(n + 1) for n in range(ERF_DEGREE)])
    return np.array(rows).T.copy()  # a row per power: Horner reads contiguous rows


ERF_TABLE = _erf_table()


def erf(xp, h):
    """erf(h), elementwise, in any array namespace: sign(h) · Taylor(|h|) about its cell's centre."""
    u = xp.minimum(xp.abs(h), ERF_END)
    cell = xp.astype(xp.minimum(xp.floor(u / ERF_CELL), ERF_TABLE.shape[1] - 1), xp.int64)
    d = u - (xp.astype(cell, h.dtype) + 0.5) * ERF_CELL
    coefficients = xp.reshape(xp.take(xp.asarray(ERF_TABLE, dtype=h.dtype), xp.reshape(cell, (-1,)), axis=1),
                              (ERF_DEGREE + 1,) + tuple(h.shape))
    value = coefficients[ERF_DEGREE, ...]
    for n in range(ERF_DEGREE - 1, -1, -1):  # Horner
        value = value * d + coefficients[n, ...]
    value = xp.where(u >= ERF_END, xp.ones_like(u), value)
    return xp.sign(h) * value  # exactly 0 at 0: a zero-init student stays at rest under BP


ACTIVATIONS = {
    a.name: a
    for a in (
        Activation("tanh", lambda xp, h: xp.tanh(h), lambda xp, h, x: 1.0 - x * x),
        Activation(
            "relu",
            lambda xp, h: xp.maximum(h, 0.0),
            lambda xp, h, x: xp.astype(h > 0.0, h.dtype),
        ),
        Activation("sigmoid", _sigmoid, lambda xp, h, x: x * (1.0 - x)),
        Activation("identity", lambda xp, h: h, lambda xp, h, x: xp.ones_like(h)),
        Activation("erf", erf, lambda xp, h, x: (2.0 / math.sqrt(math.pi)) * xp.exp(-h * h)),
    )
}


def get_activation(name: str) -> Activation:
    return choose("activation", name, ACTIVATIONS)
