"""Compiled elementwise passes for NumPy (numba): the optimisers' steps and sign-concordant
feedback, each one pass over its arrays.

Each kernel is its optimiser's ``apply`` (`minifa.optimisers`), ``x ← x − dx′`` with the
slots updated in place, written as a loop in the same operation order, so that it gives the
array-API expressions' bits (IEEE arithmetic per element, no fused multiply-add, scalars in
the arrays' dtype as NumPy casts a Python float; `tests/test_kernels.py`). The array-API
``apply`` stays the definition and every other namespace's path; a kernel only replaces the
dozen NumPy passes of a step (BENCHMARKS.md, "The optimisers' compiled pass").

A kernel takes flat arrays ``x, dx, *slots`` (the optimiser's slot order) and then its
scalars (``Optimiser.compiled`` gives them). ``error_model="numpy"``: division by zero is
IEEE's, as NumPy's, which also lets the loops vectorise.
"""

from __future__ import annotations

from functools import lru_cache
from math import sqrt


def rmsprop(x, dx, q, l, rho, one_minus_rho, eta, epsilon):
    """``q ← ρ q + (1 − ρ) dx²``, ``x ← x − η dx / (√q + ε)`` (``l`` unused)."""
    for i in range(x.size):
        g = dx[i]
        qi = q[i] * rho + one_minus_rho * (g * g)
        q[i] = qi
        x[i] = x[i] - (eta * g) / (sqrt(qi) + epsilon)


def rmsprop_centred(x, dx, q, l, rho, one_minus_rho, eta, epsilon):
    """Centred: also ``l ← ρ l + (1 − ρ) dx``, and ``√(q − l²)`` in the denominator."""
    for i in range(x.size):
        g = dx[i]
        qi = q[i] * rho + one_minus_rho * (g * g)
        li = l[i] * rho + one_minus_rho * g
        q[i] = qi
        l[i] = li
        x[i] = x[i] - (eta * g) / (sqrt(qi - li * li) + epsilon)


def adam(x, dx, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, correct1, correct2, eta, epsilon):
    """``m ← β₁ m + (1 − β₁) dx``, ``v ← β₂ v + (1 − β₂) dx²``,
    ``x ← x − (m / c₁) / (√(v / c₂) + ε) · η`` with ``cᵢ = 1 − βᵢᵗ``."""
    for i in range(x.size):
        g = dx[i]
        mi = m[i] * beta1 + one_minus_beta1 * g
        vi = v[i] * beta2 + one_minus_beta2 * (g * g)
        m[i] = mi
        v[i] = vi
        x[i] = x[i] - ((mi / correct1) / (sqrt(vi / correct2) + epsilon)) * eta


def momentum(x, dx, v, rho, eta):
    """``v ← ρ v + η dx``, ``x ← x − v``."""
    for i in range(x.size):
        vi = v[i] * rho + eta * dx[i]
        v[i] = vi
        x[i] = x[i] - vi


def nesterov(x, dx, v, minus_rho_squared, one_plus_rho_eta, eta, rho):
    """``dx′ = −ρ² v + (1 + ρ) η dx`` with the old ``v``, ``v ← ρ v − η dx``, ``x ← x − dx′``."""
    for i in range(x.size):
        g = dx[i]
        vi = v[i]
        out = minus_rho_squared * vi + one_plus_rho_eta * g
        v[i] = vi * rho - eta * g
        x[i] = x[i] - out


def sign_times(out, w, m, one, zero):
    """``out = sign(w) ⊙ m`` with NumPy's sign: ±1, +0 at ±0, a NaN kept (frSF's and brSF's ``B``)."""
    for i in range(w.size):
        wi = w[i]
        if wi > 0:
            s = one
        elif wi < 0:
            s = -one
        elif wi == 0:
            s = zero
        else:
            s = wi
        out[i] = s * m[i]


LOOPS = {f.__name__: f for f in (momentum, nesterov, rmsprop, rmsprop_centred, adam, sign_times)}


@lru_cache(maxsize=None)
def kernel(name: str):
    """The compiled loop ``name`` (GIL released, so blocks run on threads), or None where
    numba is not installed; compiled per dtype at its first call."""
    try:
        import numba
    except ImportError:
        return None
    return numba.njit(LOOPS[name], nogil=True, cache=True, error_model="numpy")
