"""Refinetti et al. 2021's claims on synthetic results: each holds on curves shaped like the
paper's and fails when its effect is taken away."""

from __future__ import annotations

import numpy as np
import pytest

from minifa.experiments import refinetti_fig as fig

from .claims_helpers import assert_all_hold, find, noisy, results

T = np.concatenate([[0.0], np.logspace(-1, 2, 30)])
RULES = ["bp", "dfa"]


def falling(e0, t_fall, floor=0.01):
    """ε_g on its plateau e0 until about t_fall, then down to floor · e0."""
    return e0 * (floor + (1 - floor) / (1 + (T / t_fall) ** 4))


def rising(start, end, t_rise):
    return start + (end - start) * (1 - np.exp(-T / t_rise))


def unit(eg_bp, eg_dfa, cos_bp, cos_dfa, ode_shift=0.0, cos_shift=0.0):
    eg, cos = np.stack([eg_bp, eg_dfa]), np.stack([cos_bp, cos_dfa])
    eg_test = noisy(eg, eg.shape, 1e-4)
    return {"t": T, "eg_test": eg_test, "eg_sim": eg, "cos_sim": cos, "eg_ode": eg + ode_shift * eg[:, :1],
            "cos_ode": cos + cos_shift}


def synthetic(seeds=5, aligned_at=0.2, dfa_final_cos=0.7, dfa_floor=0.01, ode_shift=0.0, cos_shift=0.0):
    rng, units = np.random.default_rng(1), {}
    for s in range(seeds):
        e0, b_cos = 1.0 + 0.2 * rng.random(), 0.1 * rng.standard_normal()
        dfa_cos = np.where(T > 0, rising(0.3, 1.0, aligned_at), np.nan)
        units[f"zero_seed{s}"] = ({"init": "zero", "seed": s}, unit(
            np.full_like(T, e0), falling(e0, 5.0), np.full_like(T, np.nan), dfa_cos, ode_shift, cos_shift))
        final = dfa_final_cos + 0.05 * rng.standard_normal()
        units[f"random_seed{s}"] = ({"init": "random", "seed": s}, unit(
            falling(e0, 3.0), falling(e0, 4.0, dfa_floor), np.full_like(T, b_cos), rising(b_cos, final, 5.0),
            ode_shift, cos_shift))
    return fig.claims(results("refinetti-2021", {"rules": RULES, "N": 500}, units))


def test_claims_hold_on_the_papers_picture():
    assert_all_hold(synthetic())


def test_two_phases_fails_when_alignment_comes_with_the_fall():
    claims = synthetic(aligned_at=5.0)
    assert not find(claims, "two phases").holds and find(claims, "degeneracy").holds


def test_degeneracy_breaking_fails_without_the_alignment_gain():
    assert not find(synthetic(dfa_final_cos=0.15), "degeneracy").holds


def test_degeneracy_breaking_fails_when_dfa_stays_at_high_loss():
    assert not find(synthetic(dfa_floor=0.2), "degeneracy").holds


@pytest.mark.parametrize("shifts", [{"ode_shift": 0.08}, {"cos_shift": 0.15}])
def test_theory_match_fails_when_the_ode_misses(shifts):
    claims = synthetic(**shifts)
    assert not find(claims, "follows the N").holds and find(claims, "two phases").holds
