"""``reproduce --no-compute``: the claims of a results folder, checked without recomputing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from minifa.cli import cli
from minifa.experiments import chu_deadlock, chu_fig4
from minifa.experiments.framework import Unit
from minifa.experiments.store import Results, ResultStore

from .test_claims import deadlock_results, fig4_results


def stored(directory: Path, module, claims_results: Results) -> Path:
    """Write synthetic results as a results file of ``module``'s tiny profile."""
    store = ResultStore(directory / f"{module.NAME}.h5", module.NAME, "tiny", module.PROFILES["tiny"])
    for key, arrays in claims_results.units.items():
        store.write_unit(Unit(key, claims_results.params[key]), arrays, {"seconds": 0.0, "device": "cpu"})
    return store.path


def reproduce(*args):
    return CliRunner().invoke(cli, ["reproduce", *map(str, args)])


@pytest.mark.parametrize("broken, code, verdict", [(None, 0, "| yes |"), ("learns", 1, "| **no** |")])
def test_no_compute_checks_a_results_folder_without_recomputing(tmp_path, broken, code, verdict):
    path = stored(tmp_path, chu_deadlock, deadlock_results(broken))
    before = path.read_bytes()
    result = reproduce("chu-deadlock", "--no-compute", "--check", "--results-dir", tmp_path,
                       "--figures-dir", tmp_path / "figures")
    assert result.exit_code == code, result.output
    assert "| figure | claim | paper | ours (mean ± sd, n) | margin | verdict |" in result.stdout
    assert verdict in result.stdout and "> max(2 SE" in result.stdout  # the margins are printed
    assert path.read_bytes() == before and not (tmp_path / "figures").exists()  # nothing computed, nothing plotted


def test_no_compute_passes_a_declared_disagreement_and_fails_a_missing_figure(tmp_path):
    stored(tmp_path, chu_fig4, fig4_results("4"))  # the ±1, W = B claim fails: declared known
    result = reproduce("chu-fig4", "--no-compute", "--check", "--results-dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert "| no, as declared: W = B = ±1 is an init scale of 1" in result.stdout
    result = reproduce("chu-fig4", "chu-fig5", "--no-compute", "--check", "--results-dir", tmp_path)
    assert result.exit_code == 1 and f"not checked: chu-fig5: no results file {tmp_path / 'chu-fig5.h5'}" in result.stderr


def test_no_compute_names_an_incomplete_results_file(tmp_path):
    partial = deadlock_results()
    del partial.units["fa"]
    stored(tmp_path, chu_deadlock, partial)
    result = reproduce("chu-deadlock", "--no-compute", "--check", "--results-dir", tmp_path)
    assert result.exit_code == 1 and "has 1 of 2 units; run without --no-compute to finish it" in result.stderr


def test_beside_prints_two_folders_per_paper_and_checks_only_the_first(tmp_path):
    """The README's tables: one folder's numbers beside another's, the verdict the first's;
    a figure the first folder lacks shows the second's verdict and is not checked."""
    long, quick = tmp_path / "long", tmp_path / "quick"
    long.mkdir(), quick.mkdir()
    stored(long, chu_deadlock, deadlock_results())
    stored(quick, chu_deadlock, deadlock_results("learns"))
    stored(quick, chu_fig4, fig4_results())
    result = reproduce("chu-deadlock", "chu-fig4", "--no-compute", "--check", "--results-dir", long,
                       "--beside", quick)
    lines = result.stdout.splitlines()
    assert "#### Chu & Bacho 2024" in lines and "Song" not in result.stdout
    assert "| figure | claim | paper | long (mean ± sd, n) | quick | verdict (long), margin |" in lines
    deadlock = [line for line in lines if line.startswith("| A.1 |")]
    assert deadlock and all(line.split(" | ")[-1].startswith("yes;") for line in deadlock)
    assert any(line.startswith("| 4a |") and "long: not run; quick: yes" in line for line in lines)
    assert result.exit_code == 1 and "not checked: chu-fig4" in result.stderr  # long lacks it


def test_beside_needs_no_compute(tmp_path):
    result = reproduce("chu-deadlock", "--results-dir", tmp_path, "--beside", tmp_path)
    assert result.exit_code == 2 and "add --no-compute" in result.output
