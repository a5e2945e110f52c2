"""The online teacher–student network and its ODEs, float64: the step against plain loops, the
closed-form integrals against Gauss–Hermite quadrature, ε_g against Monte Carlo, and the
simulation at N = 500 against the ODEs over a short time."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import minifa as mf
from minifa import teacher_student as ts
from minifa import teacher_student_ode as ode
from minifa.errors import ConfigError
from minifa.streams import Streams

CPU = mf.get_backend("cpu")


def order_of(net: ts.Weights) -> ode.Order:
    o = ts.order_parameters(np, net)
    return ode.Order(o["Q"], o["R"], net.v, o["T"], net.A)


def test_step_matches_the_update_written_as_loops():
    N, K, M, lr = 7, 3, 2, 0.3
    net = ts.draw([Streams(3), Streams(3)], N, K, M, "random")
    x = np.random.default_rng(1).standard_normal((2, N))
    g = lambda z: math.erf(z / math.sqrt(2))
    dg = lambda z: math.sqrt(2 / math.pi) * math.exp(-z * z / 2)
    expected_w, expected_v = net.w.copy(), net.v.copy()
    for r, dfa in enumerate((False, True)):
        lam = [sum(net.w[r, k, i] * x[r, i] for i in range(N)) / math.sqrt(N) for k in range(K)]
        nu = [sum(net.B[r, m, i] * x[r, i] for i in range(N)) / math.sqrt(N) for m in range(M)]
        e = sum(net.A[r, m] * g(nu[m]) for m in range(M)) - sum(net.v[r, k] * g(lam[k]) for k in range(K))
        for k in range(K):
            f = net.b[r, k] if dfa else net.v[r, k]
            for i in range(N):
                expected_w[r, k, i] += lr / math.sqrt(N) * f * dg(lam[k]) * e * x[r, i]
            expected_v[r, k] += lr / N * g(lam[k]) * e
    new = ts.step(np, net._replace(w=net.w.copy()), np.array([False, True]), x, lr)
    assert np.max(np.abs(new.w - expected_w)) < 1e-13 and np.max(np.abs(new.v - expected_v)) < 1e-13


def test_members_of_one_seed_share_teacher_init_feedback_and_data():
    net = ts.draw([Streams(5), Streams(5), Streams(6)], 20, 3, 2, "random")
    for a in net:
        assert np.array_equal(a[0], a[1]) and not np.array_equal(a[0], a[2])
    zero = ts.draw([Streams(5)], 20, 3, 2, "zero")
    assert np.array_equal(zero.B[0], net.B[0]) and np.array_equal(zero.b[0], net.b[0]) and not zero.w.any()
    with pytest.raises(ConfigError, match="unknown init 'ones'"):
        ts.draw([Streams(5)], 20, 3, 2, "ones")


def run(seeds, rules, N=40, K=3, M=2, init="random", t_max=1.0, points=5, n_test=2000, lr=0.2):
    steps = ts.record_steps(N, t_max, points)
    x_test = np.random.default_rng(0).standard_normal((n_test, N))
    return steps, ts.simulate(CPU, [Streams(s) for s in seeds], rules, N, K, M, lr, init, steps, x_test)


def test_simulation_repeats_bit_for_bit_and_members_are_independent():
    _, a = run([1, 1, 2], ["bp", "dfa", "dfa"])
    _, b = run([1, 1, 2], ["bp", "dfa", "dfa"])
    _, alone = run([2], ["dfa"])
    for k in ("Q", "R", "v", "eg_test", "cos_vb"):
        assert np.array_equal(a[k], b[k]) and np.array_equal(a[k][2:], alone[k])
    with pytest.raises(ConfigError, match="unknown rule"):
        run([1], ["fa"])


def test_bp_from_zero_init_never_moves_and_dfa_does():
    _, out = run([1, 1], ["bp", "dfa"], init="zero")
    assert not out["Q"][0].any() and not out["v"][0].any() and out["Q"][1, -1].trace() > 0


def test_test_error_agrees_with_the_closed_form_of_the_order_parameters():
    """½ E[(y − ŷ)²] over x ~ N(0, I) is exactly ε_g(Q, R, T, v, A) at any N: 4 standard errors of a 200,000 sample."""
    net = ts.draw([Streams(s) for s in range(3)], 30, 3, 2, "random")
    x = np.random.default_rng(9).standard_normal((200_000, 30))
    lam, nu = np.einsum("skn,in->sik", net.w, x) / math.sqrt(30), np.einsum("smn,in->sim", net.B, x) / math.sqrt(30)
    half_sq = 0.5 * (np.sum(net.A[:, None] * ts.g(np, nu), -1) - np.sum(net.v[:, None] * ts.g(np, lam), -1)) ** 2
    se = half_sq.std(axis=1) / math.sqrt(x.shape[0])
    y = ts.outputs(np, net.B, net.A, x)
    assert np.allclose(ts.test_error(np, net, x, y), half_sq.mean(axis=1), rtol=1e-12, atol=0)
    assert np.all(np.abs(half_sq.mean(axis=1) - ode.generalisation_error(order_of(net))) < 4 * se)


def random_covariance(L, seed):
    a = np.random.default_rng(seed).standard_normal((L, L + 2))
    return a @ a.T / (L + 2)


def gauss_hermite(C, integrand, points=24):
    """E[integrand(u)] for u ~ N(0, C), by a tensor Gauss–Hermite rule on u = chol(C) z."""
    z, w = np.polynomial.hermite_e.hermegauss(points)
    w = w / math.sqrt(2 * math.pi)
    L = C.shape[0]
    grid = np.stack(np.meshgrid(*[z] * L, indexing="ij"), -1).reshape(-1, L)
    weight = np.prod(np.stack(np.meshgrid(*[w] * L, indexing="ij"), -1).reshape(-1, L), axis=-1)
    return np.sum(weight * integrand(grid @ np.linalg.cholesky(C).T))


def test_closed_form_integrals_match_gauss_hermite_quadrature():
    g, dg = (lambda u: ts.g(np, u)), (lambda u: ts.g_prime(np, u))
    C = random_covariance(4, 0)
    I2, I3, I4 = ode.i2(C), ode.i3(C), ode.i4(C, 2)
    for a, b in itertools.product(range(4), repeat=2):
        sub = C[np.ix_([a, b], [a, b])] + 1e-12 * np.eye(2)
        assert abs(I2[a, b] - gauss_hermite(sub, lambda u: g(u[:, 0]) * g(u[:, 1]), 40)) < 1e-8
    for a, b, c in [(0, 1, 2), (0, 0, 3), (1, 2, 1), (2, 3, 3), (0, 1, 0)]:
        idx = sorted({a, b, c})
        sub, p = C[np.ix_(idx, idx)], {i: n for n, i in enumerate(idx)}
        value = gauss_hermite(sub, lambda u: dg(u[:, p[a]]) * u[:, p[b]] * g(u[:, p[c]]), 40)
        assert abs(I3[a, b, c] - value) < 1e-8
    for a, b, c, d in [(0, 1, 2, 3), (0, 0, 2, 3), (1, 0, 1, 3), (0, 1, 1, 0), (1, 1, 2, 2)]:
        value = gauss_hermite(C, lambda u: dg(u[:, a]) * dg(u[:, b]) * g(u[:, c]) * g(u[:, d]))
        assert abs(I4[a, b, c, d] - value) < 1e-7


def test_generalisation_error_matches_monte_carlo_on_a_million_fields():
    """ε_g = ½ E[e²] with the fields u ~ N(0, C) of actual weights: within 4 standard errors."""
    net = ts.draw([Streams(2)], 50, 3, 2, "random")
    o = order_of(net)
    C = ode.covariance(o)[0]
    u = np.random.default_rng(4).standard_normal((1_000_000, 5)) @ np.linalg.cholesky(C).T
    half_sq = 0.5 * (ts.g(np, u) @ ode.output_weights(o)[0]) ** 2
    assert abs(half_sq.mean() - ode.generalisation_error(o)[0]) < 4 * half_sq.std() / 1000


def test_ode_euler_step_is_converged_at_dt_001():
    """Halving dt moves ε_g by < 1e-3 over t ≤ 20 (Euler: the error of dt = 0.01 is about that change)."""
    net = ts.draw([Streams(1), Streams(1)], 500, 4, 4, "random")
    times, dfa = np.array([0.0, 5.0, 20.0]), np.array([False, True])
    coarse = ode.integrate(order_of(net), net.b, dfa, 0.2, times, 0.01)["eg"]
    fine = ode.integrate(order_of(net), net.b, dfa, 0.2, times, 0.005)["eg"]
    assert np.max(np.abs(coarse - fine)) < 1e-3


def test_simulation_at_n500_follows_the_odes_for_bp_and_dfa():
    """t ≤ 2 (1000 steps), 4 seeds × BP and DFA from random init, and DFA from zero init. The
    simulation fluctuates about the ODE by O(1/√N) (at N = 2000 the gaps below shrink ~4×):
    every member's exact ε_g within 6 % of ε_g(0) of the ODE's, R within 0.08, cos(v, b) within
    0.05; and no bias: the mean gap over members stays within 1.5 % of ε_g(0) at every time."""
    for init, rules in (("random", ["bp", "dfa"]), ("zero", ["dfa"])):
        seeds = [s for s in range(4) for _ in rules]
        steps, sim = run(seeds, rules * 4, N=500, K=4, M=4, init=init, t_max=2.0, points=4, n_test=10)
        start = ode.Order(sim["Q"][:, 0], sim["R"][:, 0], sim["v"][:, 0], sim["T"], sim["A"])
        theory = ode.integrate(start, sim["b"], np.array([r == "dfa" for r in rules * 4]), 0.2, steps / 500, 0.002)
        n = len(steps)
        at = ode.Order(sim["Q"], sim["R"], sim["v"], np.repeat(sim["T"][:, None], n, 1), np.repeat(sim["A"][:, None], n, 1))
        eg = ode.generalisation_error(at)
        gap = (eg - theory["eg"]) / eg[:, :1]
        assert np.max(np.abs(gap)) < 0.06 and np.max(np.abs(gap.mean(axis=0))) < 0.015
        assert np.max(np.abs(sim["R"] - theory["R"])) < 0.08
        cos = ts.cosine(np, theory["v"], sim["b"][:, None, :])
        assert np.nanmax(np.abs(cos - sim["cos_vb"])) < 0.05
