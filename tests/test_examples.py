"""The examples run: each script under examples/ end to end (seconds, synthetic data), and the
quickstart notebook executed cell by cell (real MNIST), failing on the first cell that fails."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.mark.parametrize("script, args, needles", [
    ("own_dataset.py", ["--epochs", "3"], ["fa: test accuracy after 3 epochs", "bp: test accuracy", "spirals.png"]),
    ("own_rule.py", [], ["sparse-fa at density 1 equals fa bit for bit: True", "own-rule.png"]),
    ("cluster_sweep.py", ["--scheduler", "local:2"], ["sweep of 6 point(s), 6 finished", "cluster-sweep.png"]),
])
def test_example_script_runs(tmp_path, script, args, needles):
    if "local:2" in args:
        pytest.importorskip("distributed", reason="the cluster extra (Dask) is not installed")
    done = subprocess.run([sys.executable, str(EXAMPLES / script), "--out", str(tmp_path), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for needle in needles:
        assert needle in done.stdout, done.stdout
    assert all((tmp_path / name).stat().st_size > 10_000 for name in os.listdir(tmp_path) if name.endswith(".png"))


@pytest.mark.mnist
def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    """Every cell, in order, in a fresh kernel; the notebook asserts its own identity check."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    if not (ROOT / "data" / "mnist").is_dir():
        pytest.skip("needs data/mnist (run `make data`)")
    monkeypatch.setenv("QUICKSTART_OUT", str(tmp_path))  # the kernel inherits it: nothing written in the repo
    notebook = nbformat.read(EXAMPLES / "quickstart.ipynb", as_version=4)
    start = time.perf_counter()
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(EXAMPLES)}}).execute()  # raises on a failing cell
    print(f"quickstart.ipynb ran in {time.perf_counter() - start:.0f} s")
    assert {"fa.png", "fa-vs-sparse.png", "sweep.png", "sweep.h5"} <= set(os.listdir(tmp_path))
    text = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "sparse-fa at density 1 equals fa bit for bit: True" in text and "sweep of 4 point(s), 4 finished" in text
