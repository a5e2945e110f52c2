"""Chu & Bacho's common set-up (section 4 of the paper): the
784-700-1000-10 tanh MLP, batch 100, lr 0.05, ±1 feedback, Float32, MNIST, and the
CI-sized ``tiny`` variant of it on a small synthetic set."""

from __future__ import annotations

PAPER_NET = {
    "layers": [784, 700, 1000, 10], "activation": "tanh", "loss": "softmax-crossentropy",
    "dtype": "float32", "lr": 0.05, "batch_size": 100, "dataset": "mnist", "dataset_options": {},
}

# A few seconds per experiment: plumbing, resumption and plots in CI, not science.
TINY_NET = {
    **PAPER_NET, "layers": [784, 24, 16, 10], "batch_size": 50,
    "dataset": "synthetic", "dataset_options": {"n_train": 400, "n_test": 200},
}

LOSSES = ["softmax-crossentropy", "logitcrossentropy"]


def profiles(paper: dict, long: dict, quick: dict, tiny: dict) -> dict[str, dict]:
    """The four profiles of an experiment, its own settings over the common network:
    ``paper`` (full scale), ``long`` (the paper's lengths, fewer repetitions: ≈ 8 h for all
    figures on 2 cores), ``quick`` (≈ 35 min) and ``tiny`` (CI)."""
    return {"paper": {**PAPER_NET, **paper}, "long": {**PAPER_NET, **long}, "quick": {**PAPER_NET, **quick},
            "tiny": {**TINY_NET, **tiny}}
