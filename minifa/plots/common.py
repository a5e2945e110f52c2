"""Shared plotting helpers: a headless backend, a consistent look, atomic PNG writes."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from ..atomic import atomic_path  # noqa: E402



def panels(rows: int, cols: int, title: str, size=(4.2, 3.3)):
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)
    fig.suptitle(title)
    return fig, axes


def label(ax, letter: str, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(f"({letter}) {title}", loc="left", fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def colours(n: int):
    return plt.cm.viridis(np.linspace(0.0, 0.9, max(n, 1)))


def band(ax, x, values, colour, label_text=None, axis=0, style="-"):
    """Mean line (drawn ``style``) with a ±1 sd band over ``axis`` (repetitions)."""
    mean, sd = np.nanmean(values, axis=axis), np.nanstd(values, axis=axis)
    ax.plot(x, mean, style, color=colour, label=label_text)
    ax.fill_between(x, mean - sd, mean + sd, color=colour, alpha=0.2, linewidth=0)


def save(fig, path) -> Path:
    """Write the PNG atomically (`minifa.atomic`): never a half-written figure. Closes ``fig``."""
    path = Path(path)
    try:
        fig.tight_layout()
        with atomic_path(path) as temp:
            fig.savefig(temp, dpi=110, format="png")  # the temp's name has no .png to go by
    finally:
        plt.close(fig)
    return path

