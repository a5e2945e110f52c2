"""Nøkland 2016's claims (`nokland_2016.claims`): what the text we could read states (its
Table 1 was not readable). The one paper number, 1.45 %, is the abstract's; every margin is
our choice, stated here before any run. A claim about a row is judged on the rows the
profile ran (``long`` is a cut of them); one whose rows did not run is left out."""

from __future__ import annotations

import numpy as np

from .compare import Stat, below, each, unpaired
from .framework import Claim, Known, banded

FIT = 0.005  # training error at a member's last epoch: "fits the training set" (0.5 %)
CLOSE = 0.005  # DFA − BP test error: "almost as good as back-propagation" (0.5 points)
DROPOUT_PAPER, DROPOUT_SLACK = 0.0145, 0.003  # the abstract's 1.45 %, + 0.3 points for our deviations
DEEP = "100x240 tanh"
PAPER_EPOCHS = 299  # his longest run; a profile with fewer epochs is a cut of his schedule

# Declared before the long run's data (issue 26): what the 30-epoch cut (``long``) can leave
# undone. His lr 1e-4 is slow: the quick run's one epoch leaves BP at 9.0 % test error and DFA
# at 20.5 % training error, and his runs went on until the EMA of the training error was 0.01 %
# (up to 299 epochs). Each band still fails a rule that stopped learning.
CUT = Known("the profile stops long before his up-to-299 epochs (long: 30) at his slow lr 1e-4 (RMSprop): fitting, DFA's "
            "closeness to BP and the dropout row's 1.45 % are judged long before his runs ended",
            "reason and band before the long data (issue 26, 193120a)")
# Bands (mean + 2 SE below): last-epoch training error (dropout on in that row) 3 %, 6 % with dropout;
# DFA − BP 1.5 points; the dropout row's test error 2.5 %.
CUT_FIT, CUT_FIT_DROPOUT, CUT_CLOSE, CUT_DROPOUT = 0.03, 0.06, 0.015, 0.025
# After the data: the dropout claim is judged on the longest dropout row, which ``long`` adds at
# 60 epochs once the 30-epoch row had missed the band (2.94 %); the reason and band are CUT's.
LONGER = Known(CUT.reason + "; the dropout row is judged at the most epochs run (long: 60)",
               "reason and band before the long data (193120a); the 60-epoch row after its 30-epoch data (0ba26c8)")


def settings(results) -> dict[str, dict]:
    """Each row's settings by name."""
    return {r["name"]: r for r in results.config["rows"]}


def epochs(results, name: str) -> int:
    """The most epochs a member of row ``name`` trained (its own, else the profile's)."""
    return settings(results)[name].get("epochs", results.config["epochs"])


def cut(results, names) -> bool:
    """Whether any of rows ``names`` stops before his schedule ended (CUT applies)."""
    return any(epochs(results, r) < PAPER_EPOCHS for r in names)


def last_train_error(unit) -> np.ndarray:
    """Each member's training error in its last epoch, (R,)."""
    return unit["train_error"][unit["stopped"].astype(int) - 1, np.arange(unit["stopped"].size)]


def rows_with(results, *rules) -> list[str]:
    """The rows, in the profile's order, that ran every one of ``rules``."""
    return [r["name"] for r in results.config["rows"] if all(results.select(row=r["name"], rule=x) for x in rules)]


def fits(results) -> list[Claim]:
    names = [r for r in rows_with(results, "dfa") if r != DEEP]
    if not names:
        return []
    errors = {r: Stat.of(last_train_error(results.unit(row=r, rule="dfa"))) for r in names}
    bounds = {r: CUT_FIT_DROPOUT if settings(results)[r]["dropout"] else CUT_FIT for r in names}
    band = lambda: each({r: below(s, bounds[r]) for r, s in errors.items()}, "the cut's band: mean + 2 SE below")
    return [Claim.checked("T1", "DFA fits the training set on every MNIST network",
                          f"\"able to fit the training set on all experiments performed on MNIST\"; last-epoch training "
                          f"error < {100 * FIT:g} % (our choice)", "; ".join(f"{r}: {s}" for r, s in errors.items()),
                          each({r: below(s, FIT) for r, s in errors.items()}, "mean + 2 SE below the bound"),
                          banded(CUT if cut(results, names) else None, band))]


def deep(results) -> list[Claim]:
    if DEEP not in rows_with(results, "dfa"):
        return []
    error = Stat.of(last_train_error(results.unit(row=DEEP, rule="dfa")))
    return [Claim.checked("T1", "DFA trains the 100-layer network",
                          f"\"zero training error even in … very deep networks\"; 100×240 tanh last-epoch training error "
                          f"< {100 * FIT:g} % (our choice)", f"DFA {error}", below(error, FIT))]


def close_to_bp(results) -> list[Claim]:
    names = rows_with(results, "bp", "dfa")
    if not names:
        return []
    final = {r: {x: Stat.of(results.unit(row=r, rule=x)["final_test_error"]) for x in ("bp", "dfa")} for r in names}
    gaps = {r: unpaired(f["dfa"], f["bp"]) for r, f in final.items()}
    shown = "; ".join(f"{r}: BP {f['bp']}, DFA {f['dfa']}" for r, f in final.items())
    band = lambda: each({r: below(g, CUT_CLOSE) for r, g in gaps.items()}, "the cut's band: mean + 2 SE of DFA − BP below")
    return [Claim.checked("T1", "DFA's test error is almost BP's on every network",
                          f"\"almost as good as those obtained with back-propagation\"; DFA − BP < {100 * CLOSE:g} points "
                          "(our choice)", shown, each({r: below(g, CLOSE) for r, g in gaps.items()}, "mean + 2 SE of DFA − BP"),
                          banded(CUT if cut(results, names) else None, band))]


def dropout(results) -> list[Claim]:
    """Judged on the dropout row run longest; every dropout row's error is shown."""
    names = [r for r in rows_with(results, "dfa") if settings(results)[r]["dropout"]]
    if not names:
        return []
    errors = {r: Stat.of(results.unit(row=r, rule="dfa")["final_test_error"]) for r in names}
    judged = max(names, key=lambda r: epochs(results, r))
    error, bound = errors[judged], DROPOUT_PAPER + DROPOUT_SLACK
    known = (LONGER if len(names) > 1 else CUT) if cut(results, [judged]) else None
    shown = "; ".join(f"{epochs(results, r)} epochs: DFA {s}" for r, s in errors.items())
    return [Claim.checked("T1", "DFA with dropout reaches about 1.45 % test error",
                          f"1.45 % (abstract); ours < {100 * bound:.2f} % (+{100 * DROPOUT_SLACK:g} points for the declared "
                          "deviations: no input dropout, no validated decay; our choice), at the most epochs run", shown,
                          below(error, bound), banded(known, lambda: below(error, CUT_DROPOUT)))]


def claims(results) -> list[Claim]:
    return fits(results) + deep(results) + close_to_bp(results) + dropout(results)
