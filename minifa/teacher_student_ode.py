"""The N → ∞ ODEs of the online teacher–student network (``teacher_student``) under BP and DFA,
for g(z) = erf(z/√2), after Saad & Solla (1995), Goldt et al. (2019) and Refinetti et al. (2021).

Stack the fields u = (λ_1..λ_K, ν_1..ν_M); they are jointly Gaussian with covariance
C = [[Q, R], [Rᵀ, T]]. With s = (−v, A) the error is e = Σ_c s_c g(u_c), and with f = v (BP) or
f = b (DFA) the mean SGD increments per t = steps/N are

    dv_i/dt  = η Σ_c s_c I2(i, c)
    dR_in/dt = η f_i Σ_c s_c I3(i, K+n, c)
    dQ_ik/dt = η f_i Σ_c s_c I3(i, k, c) + η f_k Σ_c s_c I3(k, i, c) + η² f_i f_k Σ_cd s_c s_d I4(i, k, c, d)

(DFA changes only the f of the first-layer terms), where, for g = erf(·/√2) in closed form,

    I2(a, b)       = E[g(u_a) g(u_b)]           = (2/π) arcsin(C_ab / √((1+C_aa)(1+C_bb)))
    I3(a, b, c)    = E[g'(u_a) u_b g(u_c)]      = (2/π) (C_bc(1+C_aa) − C_ab C_ac) / ((1+C_aa) √Λ3),
                     Λ3 = (1+C_aa)(1+C_cc) − C_ac²
    I4(a, b, c, d) = E[g'(u_a) g'(u_b) g(u_c) g(u_d)] = (4/π²) arcsin(Λ0 / √(Λ1 Λ2)) / √Λ4,
                     Λ4 = (1+C_aa)(1+C_bb) − C_ab²,
                     Λ0 = Λ4 C_cd − C_bc C_bd (1+C_aa) − C_ac C_ad (1+C_bb) + C_ab C_ac C_bd + C_ab C_ad C_bc,
                     Λ1 = Λ4 (1+C_cc) − C_bc² (1+C_aa) − C_ac² (1+C_bb) + 2 C_ab C_ac C_bc, Λ2 likewise with d,

and the generalisation error is ε_g = ½ E[e²] = ½ Σ_cd s_c s_d I2(c, d). These are the equations
the authors integrate (sdascoli/dfa-dynamics ``shallow/fa_ode.cpp``, commit 7a009ed: ``propagate``,
``I2_erf``, ``I3_erf``, ``I4_erf``; ε_g as nn2pp's ``eg_analytical``), re-derived here from the
update rule; tests/test_teacher_student.py checks each integral against Gauss–Hermite quadrature.
The paper's own statement of them (its section on shallow networks and appendix) could not be
read here, so its equation numbers are not cited; only its abstract was read.
Everything is NumPy float64 on the host with any leading member axes: the system is (K+M)² small.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class Order(NamedTuple):
    """Order parameters of S members: Q (S, K, K), R (S, K, M), v (S, K); fixed T (S, M, M), A (S, M)."""

    Q: np.ndarray
    R: np.ndarray
    v: np.ndarray
    T: np.ndarray
    A: np.ndarray


def covariance(o: Order) -> np.ndarray:
    """C = [[Q, R], [Rᵀ, T]]: (S, K+M, K+M)."""
    top = np.concatenate([o.Q, o.R], axis=-1)
    bottom = np.concatenate([np.swapaxes(o.R, -1, -2), o.T], axis=-1)
    return np.concatenate([top, bottom], axis=-2)


def i2(C: np.ndarray) -> np.ndarray:
    """I2[..., a, b] = E[g(u_a) g(u_b)]."""
    d = 1.0 + np.diagonal(C, axis1=-2, axis2=-1)
    return (2.0 / math.pi) * np.arcsin(C / np.sqrt(d[..., :, None] * d[..., None, :]))


def i3(C: np.ndarray) -> np.ndarray:
    """I3[..., a, b, c] = E[g'(u_a) u_b g(u_c)]."""
    d = 1.0 + np.diagonal(C, axis1=-2, axis2=-1)
    da, dc = d[..., :, None, None], d[..., None, None, :]
    cab, cac, cbc = C[..., :, :, None], C[..., :, None, :], C[..., None, :, :]
    return (2.0 / math.pi) * (cbc * da - cab * cac) / (da * np.sqrt(da * dc - cac ** 2))


def i4(C: np.ndarray, first: int) -> np.ndarray:
    """I4[..., a, b, c, d] = E[g'(u_a) g'(u_b) g(u_c) g(u_d)] for a, b < ``first`` (the students)."""
    d = 1.0 + np.diagonal(C, axis1=-2, axis2=-1)
    Cs = C[..., :first, :]
    daa, dbb = d[..., :first, None, None, None], d[..., None, :first, None, None]
    dcc, ddd = d[..., None, None, :, None], d[..., None, None, None, :]
    cab = C[..., :first, :first][..., :, :, None, None]
    cac, cad = Cs[..., :, None, :, None], Cs[..., :, None, None, :]
    cbc, cbd = Cs[..., None, :, :, None], Cs[..., None, :, None, :]
    ccd = C[..., None, None, :, :]
    lam4 = daa * dbb - cab ** 2
    lam0 = lam4 * ccd - cbc * cbd * daa - cac * cad * dbb + cab * cac * cbd + cab * cad * cbc
    lam1 = lam4 * dcc - cbc ** 2 * daa - cac ** 2 * dbb + 2.0 * cab * cac * cbc
    lam2 = lam4 * ddd - cbd ** 2 * daa - cad ** 2 * dbb + 2.0 * cab * cad * cbd
    return (4.0 / math.pi ** 2) * np.arcsin(lam0 / np.sqrt(lam1 * lam2)) / np.sqrt(lam4)


def output_weights(o: Order) -> np.ndarray:
    """s = (−v, A): e = Σ_c s_c g(u_c)."""
    return np.concatenate([-o.v, o.A], axis=-1)


def generalisation_error(o: Order) -> np.ndarray:
    """ε_g = ½ Σ_cd s_c s_d I2(c, d): (S,)."""
    s = output_weights(o)
    return 0.5 * np.einsum("...c,...cd,...d->...", s, i2(covariance(o)), s)


def derivatives(o: Order, b: np.ndarray, is_dfa: np.ndarray, lr: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dQ/dt, dR/dt, dv/dt) of the module docstring; ``is_dfa`` (S,) picks f = b over f = v."""
    K = o.v.shape[-1]
    C, s = covariance(o), output_weights(o)
    f = np.where(is_dfa[:, None], b, o.v)
    I3 = i3(C)
    dv = lr * np.einsum("...ic,...c->...i", i2(C)[..., :K, :], s)
    dR = lr * f[..., :, None] * np.einsum("...inc,...c->...in", I3[..., :K, K:, :], s)
    P = np.einsum("...ikc,...c->...ik", I3[..., :K, :K, :], s)  # E[g'(λ_i) λ_k e]
    noise = np.einsum("...ikcd,...c,...d->...ik", i4(C, K), s, s)  # E[g'(λ_i) g'(λ_k) e²]
    dQ = lr * (f[..., :, None] * P + f[..., None, :] * np.swapaxes(P, -1, -2)) + lr ** 2 * f[..., :, None] * f[..., None, :] * noise
    return dQ, dR, dv


def integrate(o: Order, b: np.ndarray, is_dfa: np.ndarray, lr: float, times: np.ndarray, dt: float) -> dict[str, np.ndarray]:
    """Euler steps of ``dt`` in t from ``o`` at t = 0; Q, R, v and ε_g at each of ``times`` (each
    rounded to the nearest step): arrays (S, len(times), ...)."""
    marks = np.round(np.asarray(times) / dt).astype(np.int64)
    rows = []
    for n in range(int(marks[-1]) + 1):
        while len(rows) < len(marks) and marks[len(rows)] == n:
            rows.append({"Q": o.Q, "R": o.R, "v": o.v, "eg": generalisation_error(o)})
        if n == marks[-1]:
            break
        dQ, dR, dv = derivatives(o, b, is_dfa, lr)
        o = o._replace(Q=o.Q + dt * dQ, R=o.R + dt * dR, v=o.v + dt * dv)
    return {k: np.stack([r[k] for r in rows], axis=1) for k in rows[0]}
