"""The generated parts of the README's Results section, from the committed results folders,
nothing recomputed: which long figures are complete, the figures, one claims table per paper
(`minifa.experiments.report.beside_table`, which ``reproduce --no-compute --results-dir
docs/results/long --beside docs/results/quick`` prints too) and the wall times.

    python docs/results/readme_tables.py           # print the blocks
    python docs/results/readme_tables.py --write   # rewrite them in README.md

Each block sits between ``<!-- readme_tables: NAME -->`` and ``<!-- /readme_tables -->`` in
README.md; the prose around them is written by hand. ``tests/test_readme_results.py`` fails
when a block differs from what the committed files give. A figure whose long file is missing
or incomplete shows its quick numbers, and says so.
"""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from minifa.experiments import EXPERIMENTS  # noqa: E402
from minifa.experiments.report import beside_table, by_paper, progress  # noqa: E402

LONG, QUICK = ROOT / "docs/results/long", ROOT / "docs/results/quick"
PAPERS = {"chu": "Chu & Bacho 2024", "song": "Song, Xu & Lafferty 2021",  # block name -> Experiment.paper
          "refinetti": "Refinetti et al. 2021", "lillicrap": "Lillicrap et al. 2016", "nokland": "Nøkland 2016",
          "biotorch": "Sanfiz & Akrout 2021 (BioTorch)"}
BLOCK = re.compile(r"(<!-- readme_tables: (\w+) -->\n)(.*?)(<!-- /readme_tables -->)", re.S)
load = functools.cache(progress)  # each file read (and its digests checked) once per run


def complete(long_dir: Path) -> dict[str, str]:
    """``{figure: "complete" | "k of n units" | "not started"}`` for the long folder."""
    out = {}
    for name, figure in EXPERIMENTS.items():
        results, done, total = load(figure, long_dir)
        out[name] = "not started" if results is None else "complete" if done == total else f"{done} of {total} units"
    return out


def status_block(long_dir: Path, quick_dir: Path) -> list[str]:  # quick_dir: every block takes both
    state = complete(long_dir)
    names = lambda test: ", ".join(f"`{n}`" + ("" if s in ("complete", "not started") else f" ({s})")
                                   for n, s in state.items() if test(s)) or "none"
    return [f"Complete: {names(lambda s: s == 'complete')}. Part-way, resumable: "
            f"{names(lambda s: s.endswith('units'))}. Not started: {names(lambda s: s == 'not started')}."]


def paper_block(key: str, long_dir: Path, quick_dir: Path) -> list[str]:
    state = complete(long_dir)
    figures = by_paper(list(EXPERIMENTS.values()))[PAPERS[key]]
    images = []
    for name in [m.name for m in figures]:
        source = "long" if state[name] == "complete" else "quick"
        folder = long_dir if source == "long" else quick_dir
        if (folder / f"{name}.png").exists():
            images.append(f"![{name} ({source})](docs/results/{source}/{name}.png)")
    return images + [""] + beside_table(figures, long_dir, quick_dir)


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.2f} h"


def times(figure, folder: Path) -> tuple[str, str, set[str]]:
    """``(wall, CPU, where)`` of the figure's file in ``folder``: the units' recorded seconds
    summed (CPU only over the units that recorded it) and the places they ran."""
    results, done, total = load(figure, folder)
    if results is None:
        return "(not run)", "", set()
    records = list(results.records.values())
    wall = duration(results.seconds)
    timed = [float(r["cpu_seconds"]) for r in records if "cpu_seconds" in r]
    cpu = "not recorded" if not timed else duration(sum(timed)) + ("" if len(timed) == len(records) else f" ({len(timed)} of {done} units)")
    if done < total:
        wall += f" ({done} of {total} units)"
    where = {f"{r.get('cpu', 'CPU model not recorded')}; {r['device']}" for r in records}
    return wall, cpu, where


def walltime_block(long_dir: Path, quick_dir: Path) -> list[str]:
    lines = ["| figure | long: wall | long: CPU | quick: wall | quick: CPU |", "| --- | ---: | ---: | ---: | ---: |"]
    places = {"long": set(), "quick": set()}
    for name, figure in EXPERIMENTS.items():
        long_wall, long_cpu, long_where = times(figure, long_dir)
        quick_wall, quick_cpu, quick_where = times(figure, quick_dir)
        places["long"] |= long_where
        places["quick"] |= quick_where
        lines.append(f"| {name} | {long_wall} | {long_cpu} | {quick_wall} | {quick_cpu} |")
    lines.append("")
    for profile, where in places.items():
        lines.append(f"Ran on ({profile}): " + (" · ".join(f"`{w}`" for w in sorted(where)) or "nothing yet") + ".")
    return lines


BLOCKS = {"status": status_block, "walltime": walltime_block,
          **{key: functools.partial(paper_block, key) for key in PAPERS}}


def render(readme: str, long_dir: Path = LONG, quick_dir: Path = QUICK) -> str:
    """``readme`` with every generated block rebuilt from the two folders."""
    def fill(match):
        return match.group(1) + "\n".join(BLOCKS[match.group(2)](long_dir, quick_dir)) + "\n" + match.group(4)
    return BLOCK.sub(fill, readme)


def main() -> None:
    path = ROOT / "README.md"
    readme = path.read_text()
    if "--write" in sys.argv:
        path.write_text(render(readme))
        return
    for match in BLOCK.finditer(render(readme)):
        print(f"<!-- {match.group(2)} -->\n{match.group(3)}")


if __name__ == "__main__":
    main()
