"""The README's Results section shows what the committed results folders hold: its generated
blocks (status, figures, claims tables, wall times) equal what ``docs/results/readme_tables.py``
builds from ``docs/results/long`` and ``docs/results/quick``, so a number cannot be edited by hand
or left behind when new results are committed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tables():
    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "docs/results/readme_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_has_every_generated_block_once(tables):
    names = [m.group(2) for m in tables.BLOCK.finditer((ROOT / "README.md").read_text())]
    assert sorted(names) == sorted(tables.BLOCKS)


def test_the_readme_results_match_the_committed_files(tables):
    readme = (ROOT / "README.md").read_text()
    assert tables.render(readme) == readme, "README Results is stale: run python docs/results/readme_tables.py --write"


def test_a_number_edited_by_hand_is_caught(tables):
    readme = (ROOT / "README.md").read_text()
    block = next(m for m in tables.BLOCK.finditer(readme) if m.group(2) == "chu")
    edited = readme.replace(block.group(3), block.group(3).replace("± ", "± 1", 1))
    assert edited != readme and tables.render(edited) == readme


def test_empty_folders_say_nothing_ran(tables, tmp_path):
    text = "<!-- readme_tables: status -->\nold\n<!-- /readme_tables -->\n<!-- readme_tables: walltime -->\n<!-- /readme_tables -->"
    out = tables.render(text, tmp_path / "long", tmp_path / "quick")
    assert "Complete: none. Part-way, resumable: none. Not started: `biotorch-lenet`, `chu-deadlock`" in out
    assert "| chu-fig1 | (not run) |  | (not run) |  |" in out
