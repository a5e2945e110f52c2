"""The claims of committed results folders, read without computing: what ``reproduce
--no-compute`` prints and the README's Results tables show (``docs/results/readme_tables.py``)."""

from __future__ import annotations

from pathlib import Path

from .store import Results


def progress(figure, folder: Path) -> tuple[Results | None, int, int]:
    """``(results or None, units of its config done, units in all)`` of the figure's file in
    ``folder`` (digests checked)."""
    path = Path(folder) / f"{figure.name}.h5"
    if not path.exists():
        return None, 0, 0
    results = Results.load(path)
    keys = {u.key for u in figure.units(results.config)}
    return results, len(keys & results.units.keys()), len(keys)


def complete_results(figure, folder: Path) -> tuple[Results | None, str]:
    """``(results, "")`` of the figure's complete file in ``folder``, else ``(None, why)``:
    ``"not run"`` or ``"k of n units"``."""
    results, done, total = progress(figure, folder)
    if results is None:
        return None, "not run"
    return (results, "") if done == total else (None, f"{done} of {total} units")


def folder_claims(figure, folder: Path) -> tuple[dict, str]:
    """``({(figure, statement): claim}, note)`` of the figure's complete file in ``folder``."""
    results, note = complete_results(figure, folder)
    return ({(c.figure, c.statement): c for c in figure.claims(results)} if results else {}), note


def cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def claims_table(claims) -> list[str]:
    """One folder's claims: figure | claim | paper | ours | margin | verdict."""
    lines = ["| figure | claim | paper | ours (mean ± sd, n) | margin | verdict |", "| --- | --- | --- | --- | --- | --- |"]
    return lines + [f"| {c.figure} | {c.statement} | {c.paper} | {c.measured} | {c.margin} | {c.verdict} |" for c in claims]


def beside_table(figures, main: Path, beside: Path) -> list[str]:
    """Claim | paper | ``main`` (mean ± sd, n) | ``beside`` | verdict on ``main`` and margin; a
    figure whose ``main`` file is incomplete shows ``beside``'s verdict, and says so."""
    one, two = Path(main).name, Path(beside).name
    lines = [f"| figure | claim | paper | {one} (mean ± sd, n) | {two} | verdict ({one}), margin |",
             "| --- | --- | --- | --- | --- | --- |"]
    for figure in figures:
        ours, ours_note = folder_claims(figure, main)
        other, other_note = folder_claims(figure, beside)
        for key in list(ours) + [k for k in other if k not in ours]:
            mine, theirs = ours.get(key), other.get(key)
            claim = mine or theirs
            verdict = f"{mine.verdict}; {mine.margin}" if mine else f"{one}: {ours_note}; {two}: {theirs.verdict}"
            lines.append(" | ".join(["", claim.figure, cell(claim.statement), cell(claim.paper),
                                     cell(mine.measured) if mine else f"({ours_note})",
                                     cell(theirs.measured) if theirs else f"({other_note})", cell(verdict), ""]).strip())
        if not ours and not other:
            lines.append(f"| {figure.name} | | | ({ours_note}) | ({other_note}) | |")
    return lines


def by_paper(figures) -> dict[str, list]:
    """``{paper: its figures}`` by each figure's ``paper``, papers and figures in the order given."""
    groups: dict[str, list] = {}
    for figure in figures:
        groups.setdefault(figure.paper, []).append(figure)
    return groups
