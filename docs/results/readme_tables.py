"""The README's Results tables from the committed results folders, nothing recomputed:
one table per paper, claim | paper | long (mean ± sd, n) | quick | verdict (long) and margin.

    python docs/results/readme_tables.py [LONG_DIR] [QUICK_DIR]

A figure whose long file is missing or incomplete shows its quick numbers, and says so.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from minifa.experiments import EXPERIMENTS  # noqa: E402
from minifa.experiments.store import Results  # noqa: E402

PAPERS = {"Chu & Bacho 2024": "chu-", "Song, Xu & Lafferty 2021": "song-"}


def claims_of(module, folder: Path):
    """``({(figure, statement): claim}, note)`` of the module's complete file in ``folder``."""
    path = folder / f"{module.NAME}.h5"
    if not path.exists():
        return {}, "not run"
    results = Results.load(path)
    total = len(module.units(results.config))
    if len(results.units) < total:
        return {}, f"{len(results.units)} of {total} units"
    return {(c.figure, c.statement): c for c in module.claims(results)}, ""


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def table(prefix: str, long_dir: Path, quick_dir: Path) -> list[str]:
    lines = ["| figure | claim | paper | long (mean ± sd, n) | quick | verdict (long), margin |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, module in EXPERIMENTS.items():
        if not name.startswith(prefix):
            continue
        long, long_note = claims_of(module, long_dir)
        quick, quick_note = claims_of(module, quick_dir)
        for key in list(long) + [k for k in quick if k not in long]:
            ours, other = long.get(key), quick.get(key)
            claim = ours or other
            verdict = f"{ours.verdict}; {ours.margin}" if ours else f"long: {long_note}; quick: {other.verdict}"
            lines.append(" | ".join(["", claim.figure, cell(claim.statement), cell(claim.paper),
                                     cell(ours.measured) if ours else f"({long_note})",
                                     cell(other.measured) if other else f"({quick_note})", cell(verdict), ""]).strip())
        if not long and not quick:
            lines.append(f"| {name} | | | ({long_note}) | ({quick_note}) | |")
    return lines


def main() -> None:
    long_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs/results/long"
    quick_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs/results/quick"
    for paper, prefix in PAPERS.items():
        print(f"\n#### {paper}\n")
        print("\n".join(table(prefix, long_dir, quick_dir)))


if __name__ == "__main__":
    main()
