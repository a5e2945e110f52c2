"""The claims of committed results folders, read without computing: what ``reproduce
--no-compute`` prints and the README's Results tables show (``docs/results/readme_tables.py``)."""

from __future__ import annotations

from pathlib import Path

from .store import Results

PAPERS = {"Chu & Bacho 2024": "chu-", "Song, Xu & Lafferty 2021": "song-"}


def progress(module, folder: Path) -> tuple[Results | None, int, int]:
    """``(results or None, units of its config done, units in all)`` of the module's file in
    ``folder`` (digests checked)."""
    path = Path(folder) / f"{module.NAME}.h5"
    if not path.exists():
        return None, 0, 0
    results = Results.load(path)
    keys = {u.key for u in module.units(results.config)}
    return results, len(keys & results.units.keys()), len(keys)


def complete_results(module, folder: Path) -> tuple[Results | None, str]:
    """``(results, "")`` of the module's complete file in ``folder``, else ``(None, why)``:
    ``"not run"`` or ``"k of n units"``."""
    results, done, total = progress(module, folder)
    if results is None:
        return None, "not run"
    return (results, "") if done == total else (None, f"{done} of {total} units")


def folder_claims(module, folder: Path) -> tuple[dict, str]:
    """``({(figure, statement): claim}, note)`` of the module's complete file in ``folder``."""
    results, note = complete_results(module, folder)
    return ({(c.figure, c.statement): c for c in module.claims(results)} if results else {}), note


def cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def claims_table(claims) -> list[str]:
    """One folder's claims: figure | claim | paper | ours | margin | verdict."""
    lines = ["| figure | claim | paper | ours (mean ± sd, n) | margin | verdict |", "| --- | --- | --- | --- | --- | --- |"]
    return lines + [f"| {c.figure} | {c.statement} | {c.paper} | {c.measured} | {c.margin} | {c.verdict} |" for c in claims]


def beside_table(modules, main: Path, beside: Path) -> list[str]:
    """Claim | paper | ``main`` (mean ± sd, n) | ``beside`` | verdict on ``main`` and margin; a
    figure whose ``main`` file is incomplete shows ``beside``'s verdict, and says so."""
    one, two = Path(main).name, Path(beside).name
    lines = [f"| figure | claim | paper | {one} (mean ± sd, n) | {two} | verdict ({one}), margin |",
             "| --- | --- | --- | --- | --- | --- |"]
    for module in modules:
        ours, ours_note = folder_claims(module, main)
        other, other_note = folder_claims(module, beside)
        for key in list(ours) + [k for k in other if k not in ours]:
            mine, theirs = ours.get(key), other.get(key)
            claim = mine or theirs
            verdict = f"{mine.verdict}; {mine.margin}" if mine else f"{one}: {ours_note}; {two}: {theirs.verdict}"
            lines.append(" | ".join(["", claim.figure, cell(claim.statement), cell(claim.paper),
                                     cell(mine.measured) if mine else f"({ours_note})",
                                     cell(theirs.measured) if theirs else f"({other_note})", cell(verdict), ""]).strip())
        if not ours and not other:
            lines.append(f"| {module.NAME} | | | ({ours_note}) | ({other_note}) | |")
    return lines


def by_paper(modules) -> dict[str, list]:
    """``{paper: its modules}``, in ``PAPERS`` order, only papers with a module here."""
    groups = {paper: [m for m in modules if m.NAME.startswith(prefix)] for paper, prefix in PAPERS.items()}
    return {paper: group for paper, group in groups.items() if group}
