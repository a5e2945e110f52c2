"""The metric history of a checkpoint or a sweep results file, read without building a run.

Plots, ``inspect`` of a sweep and ``minifa.interop.history_frame`` read files through this
module only (h5py and NumPy; no training code). Two kinds of file hold histories:

- a checkpoint (``train --checkpoint``): one run, ``/history/steps/<key>`` and
  ``/history/epochs/<key>``, the run's config in the root attribute ``config``;
- a sweep results file (``sweep``): one run per grid point, ``/units/<key>/steps.<key>`` and
  ``/units/<key>/epochs.<key>``, the unit's attribute ``params`` holding ``{"point": the grid
  values, "config": the run's config}``, root attributes ``profile="sweep"`` and ``config``
  (JSON: the grid) (``minifa.experiments.sweep``).

Every table has one row per recorded step (``steps``: every ``metrics_every`` steps) or per
epoch (``epochs``: epoch 0 is the initial network). Columns, by shape:

- ``step``, ``epoch``: (T,), the counters;
- ``loss``, ``accuracy``, ``signal_alignment`` (steps), ``train_loss``, ``test_loss``,
  ``test_accuracy`` (epochs): (T, R), one value per ensemble member;
- ``weight_alignment`` cos(W_l, B_l), ``gradient_alignment`` cos(ΔW_l, ∇W_l), ``update_norm``
  ‖ΔW_l‖ (steps): (T, R, L), per member and layer (layer 1 is the input's).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from .errors import CheckpointError, choose
from .integrity import CHECKPOINT, SWEEP, UNITS, open_checked
from .legacy import upgraded
from .options import finite, per_layer_member, per_member

# name: (table, per layer, axis label)
METRICS = {
    "weight_alignment": ("steps", True, "cos(W_l, B_l)"),
    "gradient_alignment": ("steps", True, "cos(ΔW_l, ∇W_l)"),
    "update_norm": ("steps", True, "‖ΔW_l‖"),
    "loss": ("steps", False, "batch loss"),
    "accuracy": ("steps", False, "batch accuracy"),
    "signal_alignment": ("steps", False, "mean_i cos(Bᵀe_i, Wᵀe_i)"),
    "train_loss": ("epochs", False, "train loss (epoch mean)"),
    "test_loss": ("epochs", False, "test loss"),
    "test_accuracy": ("epochs", False, "test accuracy"),
}
X_AXIS = {"steps": "step", "epochs": "epoch"}


@dataclass
class History:
    """One run's tables: a checkpoint, or one grid point of a sweep."""

    path: Path
    key: str  # the sweep unit ("" for a checkpoint)
    config: dict  # the run's Config, as a dict
    point: dict = field(default_factory=dict)  # the grid values of this sweep point
    steps: dict[str, np.ndarray] = field(default_factory=dict)
    epochs: dict[str, np.ndarray] = field(default_factory=dict)
    diverged_at: int | None = None  # the step where training hit NaN/Inf, if it did

    @property
    def members(self) -> int:
        return len(self.config["seeds"])

    @property
    def depth(self) -> int:
        return len(self.config["layers"]) - 1

    def table(self, name: str) -> dict[str, np.ndarray]:
        return self.steps if name == "steps" else self.epochs

    def member_settings(self) -> list[dict]:
        """Per member, the settings in which the members differ: ``init_scale``, ``weight_decay``
        (per layer) and numeric rule options, each read in its canonical form. A rule declares
        which options may hold one value per member (``Option(per_member=True)``); no other can
        be stored as several, so this reader needs no rule code. Members with equal settings
        differ by seed only."""
        R, config = self.members, self.config
        canonical = {"init_scale": per_member(config["init_scale"], R, "init scale"),
                     "weight_decay": per_layer_member(config["weight_decay"], self.depth, R, "weight decay").T}
        canonical |= {k: per_member(v, R, k) for k, v in config.get("rule_options", {}).items() if finite(v)}
        out = [{} for _ in range(R)]
        for name, values in canonical.items():
            if np.any(values != values[:1]):
                for r in range(R):
                    out[r][name] = values[r].tolist()
        return out


def kind(path) -> str:
    """``"checkpoint"`` or ``"sweep"``; a one-line error for anything else."""
    path = Path(path)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "not found"
        raise CheckpointError(f"{path} {what}; pass a checkpoint (train --checkpoint) or a sweep results file")
    with open_checked(path, "", CheckpointError, verify=False) as f:  # the digests: once the kind is known
        attrs = dict(f.attrs)
    if str(attrs.get("format", "")) == CHECKPOINT:
        return "checkpoint"
    if str(attrs.get("profile", "")) == SWEEP:
        return "sweep"
    if "experiment" in attrs:
        raise CheckpointError(f"{path} holds the results of figure {attrs['experiment']}, not a sweep; "
                              "`python cli.py reproduce` plots it")
    raise CheckpointError(f"{path} is neither a minifa checkpoint nor a sweep results file; pass a file "
                          "written by `train --checkpoint` or `sweep`")


def is_sweep(path) -> bool:
    """Whether ``path`` is a readable sweep results file (never raises: for ``inspect``, whose
    checkpoint reader reports every other file's problem itself)."""
    try:
        return kind(path) == "sweep"
    except CheckpointError:
        return False


def read(path) -> list[History]:
    """Every run in the file: one for a checkpoint, one per finished grid point of a sweep."""
    path = Path(path)
    what = kind(path)
    # the digests as checkpoint.load and Results.load check them: nothing damaged is plotted silently
    with open_checked(path, "", CheckpointError, units=what == "sweep") as f:
        return [_checkpoint(f, path)] if what == "checkpoint" else _sweep(f, path)


def _checkpoint(f: h5py.File, path: Path) -> History:
    tables = {name: {k: d[()] for k, d in f["history"][name].items()} for name in f["history"]}
    return History(path, "", upgraded(json.loads(f.attrs["config"])), {}, tables.get("steps", {}), tables.get("epochs", {}))


def _sweep(f: h5py.File, path: Path) -> list[History]:
    runs = []
    for key in sorted(f.get(UNITS, {})):
        group = f[UNITS][key]
        params = json.loads(group.attrs["params"])
        tables = {"steps": {}, "epochs": {}}
        for name in group:
            table, _, column = name.partition(".")
            if table in tables:
                tables[table][column] = group[name][()]
        diverged = int(group["diverged_at"][()]) if "diverged_at" in group else None
        runs.append(History(path, key, upgraded(params["config"]), params["point"], tables["steps"], tables["epochs"], diverged))
    return runs


def check_metrics(names) -> list[str]:
    """The metric names, each one of ``METRICS``, else a one-line error listing them."""
    names = list(names)
    for name in names:
        choose("metric", name, METRICS)
    return names


def final(run: History) -> dict:
    """The last recorded values of a run: epoch metrics per member, step metrics per member and
    layer, and whether (where) it diverged. What ``sweep --json`` and ``inspect`` print."""
    out = {"key": run.key, "point": run.point, "rule": run.config["rule"], "seeds": run.config["seeds"],
           "epoch": int(run.epochs["epoch"][-1]) if len(run.epochs.get("epoch", [])) else 0,
           "step": int(run.steps["step"][-1]) if len(run.steps.get("step", [])) else None,
           "diverged_at_step": run.diverged_at}
    for name in ("test_accuracy", "test_loss", "train_loss"):
        if len(run.epochs.get(name, [])):
            out[name] = run.epochs[name][-1]
    for name in ("gradient_alignment", "weight_alignment", "update_norm"):
        if len(run.steps.get(name, [])):
            out[name] = run.steps[name][-1]
    return out


def _mean(values) -> np.ndarray:
    """Mean over the members (axis 0), NaN where a layer has no value."""
    values = np.asarray(values, dtype=float)
    with np.errstate(all="ignore"):
        ok = np.isfinite(values)
        return np.where(ok.any(axis=0), np.nansum(values, axis=0) / np.maximum(ok.sum(axis=0), 1), np.nan)


def _fmt(values) -> str:
    return " ".join("nan" if np.isnan(v) else f"{v:.4f}" for v in np.atleast_1d(values))


def describe(path) -> tuple[dict, list[str]]:
    """A sweep file's grid and, per finished point, its final metrics (per member and their
    mean over members): the payload of ``sweep --json`` and ``inspect``, and its text lines."""
    path = Path(path)
    if kind(path) != "sweep":
        raise CheckpointError(f"{path} is a checkpoint, not a sweep results file")
    runs = read(path)  # seal and digests checked before the config is read below
    try:
        with open_checked(path, "", CheckpointError, verify=False) as f:
            config = json.loads(f.attrs["config"])
        grid, total = dict(config["grid"]), len(config["units"])  # the grid: [key, values] pairs, in order
    except (KeyError, ValueError, TypeError) as err:
        raise CheckpointError(f"{path}: not a readable sweep results file ({err}); rerun the sweep") from None
    points = []
    lines = [f"{path}: sweep of {total} point(s), {len(runs)} finished; grid "
             + ", ".join(f"{k}={','.join(map(str, v))}" for k, v in grid.items())]
    for run in runs:
        entry = final(run)
        for name in ("test_accuracy", "test_loss", "train_loss", "gradient_alignment", "weight_alignment"):
            if name in entry:
                entry[f"{name}_mean"] = _mean(entry[name])
        points.append(entry)
        varying = {k: v for k, v in run.point.items() if len(grid.get(k, [])) > 1} or run.point
        text = f"  {run.key} {' '.join(f'{k}={v}' for k, v in varying.items())}: epoch {entry['epoch']}"
        if "test_accuracy" in entry:
            text += f", test accuracy {_fmt(entry['test_accuracy_mean'])}"
            if run.members > 1:
                text += f" ± {float(np.nanstd(entry['test_accuracy'])):.4f} ({run.members} seeds)"
        if "gradient_alignment" in entry:
            text += f", gradient alignment {_fmt(entry['gradient_alignment_mean'])}"
        if run.diverged_at is not None:
            text += f", DIVERGED at step {run.diverged_at}"
        lines.append(text)
    return {"file": str(path), "grid": grid, "points_total": total, "points": points}, lines
