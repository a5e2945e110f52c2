"""Lillicrap et al. 2016's claims (`lillicrap_2016.claims`). Every margin is our choice,
stated here before any run: the text we could read gives no number to hold ours against
(the MNIST errors shown are issue #25's reading of the paper). Three disagreements are
declared after the long runs had shown them (`KNOWN_T3`, `KNOWN_T2`, `KNOWN_TUNED`), flagged so."""

from __future__ import annotations

import numpy as np

from .compare import Stat, above, below, each, equivalent, every, exceeds, paired, unpaired
from .framework import Claim, Known

SMALL_OMEGAS = (1e-4, 1e-3, 0.01)  # "weights begin near 0"
START_ANGLE, END_ANGLE = 70.0, 45.0  # degrees: random 20-d directions give ≈ 80°
FA_FINAL, SHALLOW_FINAL = 0.05, 0.5  # normalised squared error at the end
AS_FAST = 1.0  # log10(FA / BP) of the normalised error half-way through
PINV_GAP = 5.0  # degrees: ∠(FA, BP) − ∠(FA, W⁺e) at small ω, end of training
DEEPER = 0.05  # log10(shallower / deeper) of the final T3 error (≈ 12 %)
MNIST_SAME, MNIST_SHALLOW = 0.01, 0.02  # FA vs BP (equivalence), shallow − FA (effect)
THEIRS = {"bp": 0.024, "fa": 0.021, "shallow": 0.072}  # issue #25's reading of their T2
TUNED_MATCH = {"bp": 0.01, "fa": 0.01, "shallow": 0.02}  # after the ω/β search: |ours − theirs| + 2 SE
# Declared after the search's long run (its data committed in 7872ba2): BP 5.12 %,
# FA 3.77 % against 2.4 / 2.1 %, shallow 7.75 % (holds); FA ahead of BP by 1.35 points.
KNOWN_TUNED = Known("after the search the errors still fall at 60 epochs (BP −0.25, FA −0.33 points over the last "
                    "10) and the choice sits on the grid's edge (ω .3 for BP and shallow, β 2 for FA): the search's "
                    "optimum lies outside our grid, and FA, faster early, still leads BP",
                    "reason and band after the data (the tuned long run, 7872ba2)")
TUNED_ABOVE = 0.04  # band: ours − theirs in (0, 4 points] by 2 SE (seen BP 2.7, FA 1.7)

# Both declared after the long run (3ecda3b) had shown the two "no"s: reasons and bands after the data.
AFTER_LONG = "reason and band after the data (the long run, 3ecda3b)"
KNOWN_T3 = Known("50 blocks of 1000 updates stop FA's deeper student early: both depths still fall, the 3-layer "
                 "one more slowly; an uncommitted 250-block check (5 seeds) saw log10(2 / 3 layers) rise from "
                 "−0.05 at 50 blocks to +0.11 at 250, so the paper's order comes with length", AFTER_LONG)
T3_BAND = -0.1  # log10(2 / 3 layers), mean − 2 SE: the deeper FA student no worse than ×1.26 (seen −0.048)
KNOWN_T2 = Known("20 epochs of summed batches of 10 without their ω/β search (not read): every error is 3–4× "
                 "theirs and still falling, and FA, faster early, leads BP by ≈ 1 point", AFTER_LONG)
T2_TIE, T2_CEILING = 0.03, 0.12  # |FA − BP| + 2 SE (seen 0.0122); BP's and FA's mean + 2 SE (seen 0.094, 0.083)


def t1_claims(results) -> list[Claim]:
    err = {r: results.unit(part="t1", rule=r)["error"] for r in ("bp", "fa", "shallow")}  # (epochs + 1, seeds)
    fa = results.unit(part="t1", rule="fa")
    half = err["fa"].shape[0] // 2
    speed = paired(np.log10(err["fa"][half]), np.log10(err["bp"][half]))
    start, end = Stat.of(fa["angle_bp"][0]), Stat.of(fa["angle_bp"][-1])
    return [
        Claim.checked("T1", "FA's normalised squared error falls as fast as BP's",
                      f"within a factor 10 half-way (log10 FA/BP < {AS_FAST:g}; our choice)",
                      f"block {half}: log10(FA/BP) {speed}", below(speed, AS_FAST)),
        Claim.checked("T1", "FA learns the linear teacher", f"final error < {FA_FINAL:g} (our choice)",
                      f"FA final {Stat.of(err['fa'][-1])}, BP {Stat.of(err['bp'][-1])}", below(Stat.of(err["fa"][-1]), FA_FINAL)),
        Claim.checked("T1", "shallow learning (output layer only) barely lowers the error",
                      f"final error > {SHALLOW_FINAL:g} (our choice)", f"shallow final {Stat.of(err['shallow'][-1])}",
                      above(Stat.of(err["shallow"][-1]), SHALLOW_FINAL)),
        Claim.checked("T1", "∠(Δh_FA, Δh_BP) starts near 90°", f"first update > {START_ANGLE:g}° (our choice)",
                      f"step 0: {start}°", above(start, START_ANGLE)),
        Claim.checked("T1", "∠(Δh_FA, Δh_BP) falls well within 90°", f"last block's mean < {END_ANGLE:g}° (our choice)",
                      f"last block: {end}°", below(end, END_ANGLE)),
    ]


def fig4_claims(results) -> list[Claim]:
    fig4 = results.unit(part="fig4")  # (blocks + 1, ω, seeds)
    omegas = list(results.config["fig4"]["omegas"])
    gaps = {w: paired(fig4["angle_bp"][-1, omegas.index(w)], fig4["angle_pinv"][-1, omegas.index(w)])
            for w in SMALL_OMEGAS if w in omegas}
    shown = ", ".join(f"ω {w:g}: {g}°" for w, g in gaps.items())
    return [Claim.checked("4", "at small ω FA's update is closer to pseudobackprop's W⁺e than to BP's",
                          f"∠BP − ∠PBP > {PINV_GAP:g}° at the end for ω ≤ 0.01 (our choice)",
                          shown, each({f"ω {w:g}": exceeds(g, PINV_GAP) for w, g in gaps.items()}, "every small ω"))]


def t3_claims(results) -> list[Claim]:
    out = []
    for rule in ("bp", "fa"):
        two, three = (results.unit(part="t3", rule=rule, depth=d)["error"][-1] for d in (2, 3))
        gain = paired(np.log10(two), np.log10(three))
        out.append(Claim.checked("T3", f"{rule.upper()}: the deeper 30–20–10–10 student beats 30–20–10",
                                 f"log10(error 2 layers / 3 layers) > {DEEPER:g} (our choice)",
                                 f"final errors {Stat.of(two)} vs {Stat.of(three)}; log10 ratio {gain}",
                                 exceeds(gain, DEEPER), known=KNOWN_T3.banded(above(gain, T3_BAND)) if rule == "fa" else None))
    return out


def t2_claims(results) -> list[Claim]:
    final = {r: Stat.of(results.unit(part="t2", rule=r)["test_error"][-1]) for r in THEIRS}
    theirs = ", ".join(f"{r} {100 * v:.1f} %" for r, v in THEIRS.items())
    ours = ", ".join(f"{r} {s}" for r, s in final.items())
    gap = unpaired(final["fa"], final["bp"])
    band = every([equivalent(gap, T2_TIE), below(final["bp"], T2_CEILING), below(final["fa"], T2_CEILING)])
    return [
        Claim.checked("T2", "FA's MNIST test error matches BP's", f"|FA − BP| + 2 SE ≤ {MNIST_SAME:g} (our choice); theirs: {theirs}",
                      ours, equivalent(gap, MNIST_SAME), known=KNOWN_T2.banded(band)),
        Claim.checked("T2", "shallow learning's MNIST error is clearly worse than FA's",
                      f"shallow − FA > {MNIST_SHALLOW:g} (our choice); theirs: {theirs}", ours,
                      exceeds(unpaired(final["shallow"], final["fa"]), MNIST_SHALLOW)),
    ]


def t2_tuned_claims(results) -> list[Claim]:
    """After the ω/β search (`run_t2_tuned`, whose choice is the search's argmin: its unit
    test): the errors at the choice are theirs; FA and BP tie and shallow trails as in `t2_claims`."""
    units = {r: results.unit(part="t2_tuned", rule=r) for r in THEIRS}
    final = {r: Stat.of(u["test_error"][-1]) for r, u in units.items()}
    chosen = {r: f"at ω {u['choice'][0]:g}" + (f", β {u['choice'][1]:g}" if r == "fa" else "") for r, u in units.items()}
    out = []
    for rule, theirs in THEIRS.items():
        gap = Stat(final[rule].mean - theirs, final[rule].sd, final[rule].n)
        band = every([above(gap, 0.0), below(gap, TUNED_ABOVE)])
        out.append(Claim.checked("T2", f"after the search, {rule}'s MNIST test error is theirs",
                                 f"|ours − {100 * theirs:.1f} %| + 2 SE ≤ {100 * TUNED_MATCH[rule]:g} points (our choice)",
                                 f"{rule} {final[rule]} {chosen[rule]}",
                                 equivalent(gap, TUNED_MATCH[rule]),
                                 known=KNOWN_TUNED.banded(band) if rule != "shallow" else None))
    ours = ", ".join(f"{r} {s} {chosen[r]}" for r, s in final.items())
    tie, lead = unpaired(final["fa"], final["bp"]), unpaired(final["bp"], final["fa"])
    return out + [
        Claim.checked("T2", "after the search, FA's MNIST test error matches BP's", f"|FA − BP| + 2 SE ≤ {MNIST_SAME:g} (our choice)",
                      ours, equivalent(tie, MNIST_SAME),
                      known=KNOWN_TUNED.banded(every([above(lead, 0.0), equivalent(tie, T2_TIE)]))),
        Claim.checked("T2", "after the search, shallow learning's MNIST error is clearly worse than FA's",
                      f"shallow − FA > {MNIST_SHALLOW:g} (our choice)", ours,
                      exceeds(unpaired(final["shallow"], final["fa"]), MNIST_SHALLOW)),
    ]


def claims(results) -> list[Claim]:
    tuned = t2_tuned_claims(results) if "t2_tuned" in results.config else []
    return t1_claims(results) + fig4_claims(results) + t3_claims(results) + t2_claims(results) + tuned
