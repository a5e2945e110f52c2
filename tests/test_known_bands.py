"""Every known disagreement is a check: on synthetic results, each declared "no" inside its
band says "no, as declared" and passes ``--check``; outside it, "no, outside its declared
band" and fails. Plus the test of means (the old stopping-rule bug's numbers fail it) and
Fisher's exact test of the fraction stopped at the minimum."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from minifa.experiments import chu_fig2, chu_fig4, lillicrap_2016_claims, refinetti_deep, song_fig2_claims
from minifa.experiments.compare import Stat, fisher_p, matches_mean, same_fraction, within

from .claims_helpers import find, noisy, results
from .test_claims import fig1, fig1_results, fig3_results, fig4_results, stability_results
from .test_claims_lillicrap import synthetic as lillicrap
from .test_claims_song import sfig2
from .test_reproduce_check import reproduce, stored


def declared(claim) -> bool:
    """A "no" inside its band: "no, as declared", not counted by ``--check``."""
    return not claim.holds and claim.as_declared and claim.verdict.startswith("no, as declared: ")


def outside(claim) -> bool:
    """A declared "no" outside its band: ``--check`` fails on it."""
    return (not claim.holds and claim.known is not None and claim.unexpected
            and claim.verdict.startswith("**no, outside its declared band**: "))


# --- the test of means and the exact test ----------------------------------------------------------

def test_the_old_stopping_rules_numbers_fail_the_test_of_means():
    """ReLU λ .02, p 200: the old reading gave .484 ± .052 (n = 50) against the authors' .401 ±
    .057 (N = 50). The old window (2 of their sd, .114) passed it; the test of means (2 SE of
    the difference, .0218) fails it, and so does n = 3, where their sd stands for ours."""
    theirs, sd = 0.401, 0.057
    assert within(Stat(0.484, 0.052, 50), theirs, 2 * sd)[0]  # the old rule: a one-run window
    ok, margin = matches_mean(Stat(0.484, 0.052, 50), theirs, sd, 50)
    assert not ok and "2 SE 0.0218" in margin and "our sd" in margin
    assert 2 * math.sqrt(0.052 ** 2 / 50 + 0.057 ** 2 / 50) == pytest.approx(0.02182, abs=1e-5)
    ok, margin = matches_mean(Stat(0.484, 0.003, 3), theirs, sd, 50)  # a tiny own sd must not help
    assert not ok and "their sd for both sides, n = 3 < 10" in margin
    assert 2 * sd * math.sqrt(1 / 3 + 1 / 50) == pytest.approx(0.0678, abs=1e-4)  # < .083
    assert matches_mean(Stat(0.405, 0.051, 50), theirs, sd, 50)[0]  # the latched rule's .405 matches


def test_fisher_p_equals_the_exhaustive_count_and_the_tea_tasting_value():
    """Fisher's two-sided p against its definition: every way to draw our n runs out of the
    pooled n + N, counting the draws no more likely than the one observed."""
    assert fisher_p(3, 4, 1, 4) == pytest.approx(0.4857, abs=1e-4)  # Fisher's lady tasting tea
    for k, n, K, N in [(0, 3, 18, 50), (3, 3, 18, 50), (2, 10, 18, 50), (9, 10, 5, 12)]:
        pool = [1] * (k + K) + [0] * (n + N - k - K)
        counts = np.bincount([sum(pool[i] for i in draw) for draw in itertools.combinations(range(len(pool)), n)],
                             minlength=n + 1) if n + N <= 22 else None
        if counts is None:  # too many draws to list: the hypergeometric terms as plain products
            total = math.comb(n + N, n)
            probs = [math.comb(k + K, j) * math.comb(n + N - k - K, n - j) / total for j in range(n + 1)]
        else:
            probs = counts / counts.sum()
        expected = sum(q for q in probs if q <= probs[k] * (1 + 1e-9))
        assert fisher_p(k, n, K, N) == pytest.approx(expected, rel=1e-12), (k, n, K, N)


def test_the_fraction_stopped_at_the_minimum_is_compared_and_says_when_n_cannot_decide():
    ok, margin = same_fraction(0, 3, 18, 50)
    assert ok and "p 0.543" in margin and "n = 3 cannot fail it" in margin  # no k of 3 gives p < .05
    assert not same_fraction(0, 10, 18, 50)[0] and not same_fraction(10, 10, 18, 50)[0]
    assert same_fraction(4, 10, 18, 50)[0]


def test_song_fig2_reads_the_fraction_stopped_from_the_run_lengths():
    claim = find([c for c in sfig2() if c.statement.startswith("linear,")], "stopped at the minimum")
    assert claim.holds and claim.measured.startswith("0 of 3 stopped at the minimum 40406 steps")
    stopped = find([c for c in sfig2("stopped") if c.statement.startswith("linear,")], "stopped at the minimum")
    assert stopped.measured.startswith("3 of 3") and stopped.holds  # 3 of 3 vs 18/50: p .057; n = 3 cannot fail


# --- Song Fig. 2's declared cells -----------------------------------------------------------------

@pytest.mark.parametrize("gap, inside", [(0.045, True), (0.01, False)])
def test_song_fig2_far_above_band(gap, inside, monkeypatch):
    """tanh p 200, λ .001: a gap under 0.05, > 2 SE and within 2 SE of theirs (.068) is as
    declared; a gap of .01 is far from theirs: outside."""
    monkeypatch.setattr("tests.test_claims_song.broken_alignment",
                        lambda b, lam, j, p, mean, saved, i: saved[0.0][i] + gap if (j == 1 and p == 200) else mean)
    claim = find([c for c in sfig2("x", "tanh") if c.statement.startswith("tanh,")], "far above")
    assert declared(claim) if inside else outside(claim)


@pytest.mark.parametrize("shift, inside", [(0.07, True), (0.1, False)])
def test_song_fig2_declared_match_band(shift, inside, monkeypatch):
    """tanh p 200, λ .002 misses the test of means at 2 SE: declared inside 3 SE (n = 3: their
    sd for both, 3 SE = .0855), outside beyond it."""
    monkeypatch.setattr("tests.test_claims_song.broken_alignment",
                        lambda b, lam, j, p, mean, saved, i: mean + shift if (j == 2 and p == 200) else mean)
    claim = find([c for c in sfig2("x", "tanh") if c.statement.startswith("tanh,")], "p = 200", "saved means")
    assert declared(claim) if inside else outside(claim)


def test_song_fig2_an_undeclared_cell_beside_a_declared_one_is_outside(monkeypatch):
    monkeypatch.setattr("tests.test_claims_song.broken_alignment",
                        lambda b, lam, j, p, mean, saved, i: mean + 0.07 if (j >= 2 and p == 200) else mean)
    claim = find([c for c in sfig2("x", "tanh") if c.statement.startswith("tanh,")], "p = 200", "saved means")
    assert outside(claim) and "undeclared cells fail: λ 0.005" in claim.verdict


# --- Chu Fig. 1 ------------------------------------------------------------------------------------

def test_fig1_output_alignment_band():
    assert declared(find(fig1(), "1c", "output layer"))  # 0.8
    assert outside(find(fig1("1c-output"), "1c", "output layer"))  # 0.3: below [0.6, 0.95]


def test_fig1_a_stalled_member_is_listed_and_declared_only_under_softmax_crossentropy():
    stall = find(fig1("stall"), "none stalls")
    assert declared(stall) and "1 of 24 stalled: scale 0.1, seed 2: train loss 1.63" in stall.measured
    assert outside(find(fig1("stall-small"), "none stalls"))  # at scale 0.001, every seed
    logit = find(fig1("stall", "logitcrossentropy"), "none stalls")
    assert not logit.holds and logit.known is None  # no ε trap without ε: a plain "no"


def test_fig1_stall_needs_ten_flat_epochs():
    from minifa.experiments.chu_fig1 import stalled
    loss = np.exp(-0.2 * np.arange(14))[None, :, None] * np.ones((1, 1, 3))
    loss[0, 0] = np.nan
    loss[0, 3:, 1] = loss[0, 3, 1] * 0.96 ** (np.arange(11) / 10)  # falls 4 % over 10 epochs: stalled
    loss[0, 3:, 2] = loss[0, 3, 2] * 0.94 ** (np.arange(11) / 10)  # falls 6 %: trains
    assert stalled(loss).tolist() == [[False, True, False]]
    assert not stalled(loss[:, :11]).any()  # 10 epochs: no 10-epoch window after epoch 1


# --- Chu Fig. 2 ------------------------------------------------------------------------------------

def fig2_norms(norm) -> list:
    scales = np.asarray(chu_fig2.SCALES)
    units = {}
    for loss in chu_fig2.LOSSES:
        for start in (0, 5):
            values = norm(scales)[None, :, None] * np.exp(noisy(0, (5, len(scales), 3), 0.01))
            units[f"{loss}_reps{start}"] = ({"loss": loss, "reps": list(range(start, start + 5))}, {"update_norm": values})
    return chu_fig2.claims(results("chu-fig2", {"scales": list(scales), "losses": chu_fig2.LOSSES}, units))


@pytest.mark.parametrize("loss", chu_fig2.LOSSES)
@pytest.mark.parametrize("layer", ["hidden 2", "output"])
@pytest.mark.parametrize("peak, inside", [(0.1, True), (1.0, False), (0.01, False)])
def test_fig2_the_small_scale_rise_peaks_inside_its_band(loss, layer, peak, inside):
    claims = fig2_norms(lambda s: s / (1 + (s / peak) ** 2))  # ∝ s below the peak, ∝ 1/s above
    claim = find(claims, f"[{loss}] {layer}:", "never grows")
    assert declared(claim) if inside else outside(claim)
    assert find(claims, f"[{loss}] hidden 1:", "never grows").known is None  # not declared: a plain "no"


@pytest.mark.parametrize("decades, inside", [(0.0, True), (0.8, False)])
def test_fig2_the_logit_output_step_stays_flat_inside_its_band(decades, inside):
    claims = fig2_norms(lambda s: 10 ** (-decades * np.log10(s / s[0]) / 4))  # falls `decades` over 4 decades
    claim = find(claims, "[logitcrossentropy] output:", "shrinks")
    assert declared(claim) if inside else outside(claim)


# --- Chu Fig. 3 ------------------------------------------------------------------------------------

def fig3_at(fa_accuracy, fa_alignment=0.0):
    """Fig. 3 results whose FA at scale 0.05 has this accuracy and hidden alignment."""
    from minifa.experiments import chu_fig3
    res = fig3_results()
    fa = res.units["bc_fa_scale0.05"]
    fa["accuracy"] = noisy(fa_accuracy, fa["accuracy"].shape, 0.01)
    fa["gradient_alignment"][:, :2] = noisy(fa_alignment, (len(fa["accuracy"]), 2), 0.01)
    return chu_fig3.claims(res)


@pytest.mark.parametrize("fa, alignment, expect", [
    (0.05, 0.0, {"last-layer": True, "hidden 1": True, "hidden 2": True}),
    (0.16, 0.0, {"last-layer": True, "hidden 1": False, "hidden 2": False}),  # FA − perturbed ≈ −.04
    (0.25, 0.0, {"last-layer": False}),  # FA − last ≈ −.05: not the declared deficit
    (0.05, 0.3, {"last-layer": False}),  # FA aligned: the reason's premise fails
])
def test_fig3_unaligned_scale_bands(fa, alignment, expect):
    claims = fig3_at(fa, alignment)
    words = {"last-layer": ("scale 0.05:", "last-layer"), "hidden 1": ("scale 0.05, hidden 1",),
             "hidden 2": ("scale 0.05, hidden 2",)}
    for name, inside in expect.items():
        claim = find(claims, *words[name])
        assert (declared(claim) if inside else outside(claim)), (name, claim.verdict)


# --- Chu Fig. 4 and eq. 10–11 ----------------------------------------------------------------------

def fig4_with(**accuracy):
    res = fig4_results()
    for variant, value in accuracy.items():
        res.units[variant]["test_accuracy"] = noisy(value, res.units[variant]["test_accuracy"].shape)
    return chu_fig4.claims(res)


def test_fig4_bands():
    assert declared(find(fig4_with(blue=0.95), "4c "))  # a tie with red: within 2 points
    assert outside(find(fig4_with(blue=0.90), "4c "))  # blue 5 points behind: not a tie
    assert declared(find(fig4_with(**{"pm1-equal": 0.88}), "4 ±1"))
    assert outside(find(fig4_with(**{"pm1-equal": 0.5}), "4 ±1"))  # learns, but far less than declared


@pytest.mark.parametrize("flip, inside", [(0.2, True), (0.5, False)])
def test_stability_training_step_band(flip, inside):
    from minifa.experiments import chu_stability
    claims = chu_stability.claims(stability_results("sign-step", flip))
    claim = find(claims, "[scale1,", "η = 0.05]", "lowers")
    assert declared(claim) if inside else outside(claim)


# --- Lillicrap et al. 2016 ------------------------------------------------------------------------

@pytest.mark.parametrize("deeper, inside", [(0.29, True), (0.32, True), (0.38, True), (0.45, False), (0.6, False)])
def test_lillicrap_t3_fa_deeper_no_worse_band(deeper, inside):
    """2 layers at 0.32: log10(2 / 3 layers) 0.043 misses the claim's 0.05 (a "no"), 0 and −0.075
    stay inside the band's −0.1, −0.15 and −0.27 lie past it (the long run saw −0.037)."""
    claim = find(lillicrap(t3_final={("fa", 2): 0.32, ("fa", 3): deeper}), "T3", "FA:")
    assert not claim.holds
    assert declared(claim) if inside else outside(claim)


@pytest.mark.parametrize("bp, fa, inside", [(0.0935, 0.082, True), (0.06, 0.08, True), (0.09, 0.05, False),
                                            (0.135, 0.115, False), (0.10, 0.125, False)])
def test_lillicrap_t2_fa_bp_tie_band(bp, fa, inside):
    """The long run's 9.35 / 8.2 % and a 2-point gap sit inside; a 4-point gap, BP at 13.5 % or
    FA at 12.5 % (each within 3 points of the other) lie outside."""
    claim = find(lillicrap(t2_final={"bp": bp, "fa": fa}), "T2", "matches")
    assert not claim.holds
    assert declared(claim) if inside else outside(claim)


# --- Refinetti et al. 2021, deep ------------------------------------------------------------------

@pytest.mark.parametrize("order, inside", [((300, 150), True), ((250, 250), True), ((600, 60), False),
                                           ((150, 190), False)])
def test_refinetti_deep_top_first_band(order, inside):
    """Hidden 2 at half hidden 1's time (log10 −0.3, the long run's ReLU) or a tie lie inside;
    a tenfold lead of hidden 2 (−1) or hidden 1 slightly first (+0.1, a "no" by 2 SE) outside."""
    from .test_claims_refinetti_deep import synthetic as deep
    for activation in ("relu", "tanh"):
        claim = find(deep(order=order), f"[{activation}]", "bottom first")
        assert not claim.holds
        assert declared(claim) if inside else outside(claim)


def test_lillicrap_bp_t3_has_no_declaration():
    assert find(lillicrap("BP"), "T3", "BP:").known is None


# --- through the command ---------------------------------------------------------------------------

def test_check_fails_on_a_value_outside_its_declared_band(tmp_path):
    res = fig4_results()
    res.units["pm1-equal"]["test_accuracy"] = noisy(0.5, res.units["pm1-equal"]["test_accuracy"].shape)
    stored(tmp_path, chu_fig4, res)
    result = reproduce("chu-fig4", "--no-compute", "--check", "--results-dir", tmp_path)
    assert result.exit_code == 1, result.output
    assert "| **no, outside its declared band**: mean − 2 SE " in result.stdout and " > 0.8 and mean + 2 SE " in result.stdout
    assert "1 unexpected (undeclared, or outside the declared band)" in result.stderr


def test_every_declaration_names_its_timing():
    """Each module's declarations say when they were made relative to the data, with a commit
    or this branch, and every band is flagged as declared after the data."""
    from minifa.experiments import chu_fig1, chu_fig3, chu_stability, song_fig3
    knowns = [*chu_fig2.FALL_KNOWN.values(), *chu_fig2.MONOTONE_KNOWN.values(), *chu_fig3.KNOWN_BC.values(),
              chu_fig4.CONVERGED, chu_fig4.LEARNS, chu_stability.TRAINING_STEP, song_fig3.SHORT,
              chu_fig1.OUTPUT_ALIGNS, chu_fig1.EPS_TRAP, lillicrap_2016_claims.KNOWN_T3, lillicrap_2016_claims.KNOWN_T2,
              refinetti_deep.TOP_FIRST,
              *(k for _, k in song_fig2_claims.FAR_ABOVE_KNOWN.values()), *(k for _, k in song_fig2_claims.MATCH_KNOWN.values())]
    for known in knowns:
        assert "band after the data" in known.declared, known
        assert any(word in known.declared for word in ("before", "after")), known


def every_known():
    """Every declaration in the experiment modules, with where it is: ``[(module.NAME, known)]``."""
    import importlib
    import pkgutil

    import minifa.experiments as experiments
    from minifa.experiments.framework import Known

    def walk(value):
        if isinstance(value, Known):
            yield value
        elif isinstance(value, dict):
            yield from (k for v in value.values() for k in walk(v))
        elif isinstance(value, (tuple, list)):
            yield from (k for v in value for k in walk(v))

    modules = [importlib.import_module(f"{experiments.__name__}.{m.name}") for m in pkgutil.iter_modules(experiments.__path__)]
    return [(f"{m.__name__}.{name}", k) for m in modules for name, value in vars(m).items() for k in walk(value)]


def test_every_declaration_in_every_module_says_before_or_after_the_data_with_a_commit():
    """Issue 24: each declaration names its timing relative to the data, and the commit of it,
    for reason and band alike (the README's verdicts show this text)."""
    import re

    knowns = every_known()
    assert len(knowns) >= 30  # every module's, read-throughs included (31 when written)
    for where, known in knowns:
        assert re.search(r"\b(before|after)\b", known.declared), (where, known.declared)
        for part in known.declared.split(";"):  # each timing it states comes with its commit
            if re.search(r"\b(before|after) (the data|any committed)", part):
                assert re.search(r"\b[0-9a-f]{7}\b", part), (where, part)
