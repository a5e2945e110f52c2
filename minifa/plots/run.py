"""``minifa plot``: a researcher's own runs (checkpoints, sweeps) from their files alone.

Panels: each step metric per layer (weight alignment, gradient alignment, update norm vs
step), then the epoch metrics (train loss, test accuracy vs epoch). A *line* is one run, or
the members of a run that share their per-member settings: one member is drawn as a line,
several (seeds) as mean ± sd. Lines are labelled by rule and by the settings that differ
between them; several files overlay.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from ..errors import ConfigError
from ..history import METRICS, X_AXIS, History, check_metrics, read
from .common import band, panels, save

DEFAULT_METRICS = ("weight_alignment", "gradient_alignment", "update_norm", "train_loss", "test_accuracy")
IGNORED = ("seeds", "stream_seeds", "metrics_every")  # never what tells two lines apart


@dataclass
class Line:
    run: History
    members: list[int]  # indices into the run's ensemble
    settings: dict  # rule, config and per-member settings, for the label
    label: str = ""

    def values(self, metric: str):
        """(x, (T, members[, L])) of ``metric``, or None where this run did not record it."""
        table_name = METRICS[metric][0]
        table = self.run.table(table_name)
        if len(table.get(metric, [])) == 0:
            return None
        return table[X_AXIS[table_name]], np.asarray(table[metric], dtype=float)[:, self.members]


def lines_of(runs: list[History]) -> list[Line]:
    """One line per group of members with equal per-member settings, labelled by rule and
    the settings that differ between the lines."""
    lines = []
    for run in runs:
        base = {k: v for k, v in run.config.items() if k not in IGNORED}
        per_member = run.member_settings()
        groups: dict[str, list[int]] = {}
        for r, own in enumerate(per_member):
            groups.setdefault(json.dumps(own, sort_keys=True), []).append(r)
        for own, members in groups.items():
            lines.append(Line(run, members, {**_flat(base), **_flat(json.loads(own))}))
    keys = list(dict.fromkeys(k for line in lines for k in line.settings))
    # a setting differs when two lines that have it disagree (rule options exist for some rules only)
    varying = [k for k in keys if k != "rule" and
               len({json.dumps(line.settings[k], sort_keys=True) for line in lines if k in line.settings}) > 1]
    for line in lines:
        parts = [str(line.settings["rule"])]
        parts += [f"{k.rpartition('.')[2]}={_text(line.settings[k])}" for k in varying if k in line.settings]
        seeds = f", {len(line.members)} seeds" if len(line.members) > 1 else ""
        line.label = " ".join(parts) + seeds
    _disambiguate(lines)
    return lines


def _flat(settings: dict) -> dict:
    """Nested option dicts as ``rule_options.feedback`` ... keys; lists stay values."""
    out = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in _flat(value).items()})
        else:
            out[key] = value
    return out


def _text(value) -> str:
    if isinstance(value, list) and all(isinstance(v, (int, float)) for v in value) and len(value) > 2:
        return "-".join(f"{v:g}" for v in value)  # layer sizes 784-100-10
    if isinstance(value, float):
        return f"{value:g}"
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def _disambiguate(lines: list[Line]) -> None:
    """Equal labels (the same settings in two files, or points differing by seed only) get
    the file name and the sweep point."""
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.label] = counts.get(line.label, 0) + 1
    for line in lines:
        if counts[line.label] > 1:
            where = line.run.path.name + (f" #{line.run.key}" if line.run.key else "")
            line.label = f"{line.label} ({where})"


def select(lines: list[Line], metrics, explicit: bool) -> list[str]:
    """The metrics to draw: those some line recorded; one asked for by name that no file
    recorded is an error (a rule without feedback has no weight alignment)."""
    found = [m for m in metrics if any(line.values(m) is not None for line in lines)]
    missing = [m for m in metrics if m not in found]
    if explicit and missing:
        why = {"weight_alignment": "rules without feedback matrices, such as bp, have none",
               "signal_alignment": "rules without feedback matrices, such as bp, have none"}.get(
            missing[0], "train with --metrics-every K > 0 to record step metrics" if METRICS[missing[0]][0] == "steps"
            else "the runs have no finished epoch")
        raise ConfigError(f"no run in these files recorded {missing[0]!r} ({why})")
    if not found:
        raise ConfigError("these files record none of the metrics asked for; train with --metrics-every K > 0")
    return found


def plot(paths, out, metrics=None) -> Path:
    """Draw ``metrics`` (default ``DEFAULT_METRICS``) of every run in ``paths`` to the PNG ``out``."""
    explicit = metrics is not None and len(metrics) > 0
    metrics = check_metrics(metrics if explicit else DEFAULT_METRICS)
    runs = [run for path in paths for run in read(path)]
    if not runs:
        raise ConfigError(f"{', '.join(map(str, paths))} hold no finished run yet; run or resume the sweep first")
    lines = lines_of(runs)
    chosen = select(lines, metrics, explicit)
    layered = [m for m in chosen if METRICS[m][1]]
    flat = [m for m in chosen if not METRICS[m][1]]
    depth = max(run.depth for run in runs)
    rows, cols = len(layered) + (1 if flat else 0), max([depth] * bool(layered) + [len(flat)])
    names = ", ".join(dict.fromkeys(Path(p).name for p in paths))
    fig, axes = panels(rows, cols, f"minifa: {names}", size=(4.0, 3.0))
    for row, metric in enumerate(layered):
        for l in range(depth):
            draw(axes[row][l], lines, metric, l, f"{metric.replace('_', ' ')}, {_layer(l, runs)}")
    for col, metric in enumerate(flat):
        draw(axes[len(layered)][col], lines, metric, None, metric.replace("_", " "))
    for row in range(rows):
        used = depth if row < len(layered) else len(flat)
        for col in range(used, cols):
            axes[row][col].set_visible(False)
    legend(fig, axes, lines, len(layered), len(flat))
    return save(fig, out)


def legend(fig, axes, lines: list[Line], layered_rows: int, flat: int) -> None:
    """One legend for every line, in the free panel after the epoch metrics if there is one
    (a line missing from the first panel, BP's weight alignment, would miss from its legend)."""
    handles = {}
    for ax in fig.axes:
        for handle, text in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(text, handle)
    ordered = [(handles[line.label], line.label) for line in lines if line.label in handles]
    row, cols = axes[layered_rows] if flat else axes[-1], len(axes[0])
    if flat and flat < cols:
        spare = row[flat]
        spare.set_visible(True)
        spare.axis("off")
        spare.legend(*zip(*ordered), loc="center", fontsize=8, frameon=False)
    else:
        axes[0][0].legend(*zip(*ordered), fontsize=7)


def _layer(l: int, runs: list[History]) -> str:
    depths = {run.depth for run in runs}
    if len(depths) > 1:
        return f"layer {l + 1}"
    return "output layer" if l == runs[0].depth - 1 else f"hidden layer {l + 1}"


def draw(ax, lines: list[Line], metric: str, layer: int | None, title: str) -> None:
    """One panel: each line's metric (at ``layer``), mean ± sd over its members."""
    colours = [f"C{i % 10}" for i in range(len(lines))]
    with warnings.catch_warnings():  # all-NaN columns (epoch 0's train loss) are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        drawn = [_draw_line(ax, line, colour, metric, layer) for line, colour in zip(lines, colours)]
    if not any(drawn):  # only rules without feedback matrices here (no weight alignment), say
        ax.text(0.5, 0.5, "not recorded", transform=ax.transAxes, ha="center", va="center", color="0.5")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(X_AXIS[METRICS[metric][0]])
    ax.set_ylabel(METRICS[metric][2])
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))  # steps and epochs are whole numbers
    ax.grid(alpha=0.3)


def _draw_line(ax, line: Line, colour, metric: str, layer: int | None) -> bool:
    """One line's metric at ``layer``: a line for one member, mean ± sd for several; whether
    this run recorded it."""
    found = line.values(metric)
    if found is None or (layer is not None and layer >= found[1].shape[2]):
        return False
    x, values = found
    values = values[:, :, layer] if layer is not None else values
    if values.shape[1] > 1:
        band(ax, x, values, colour, line.label, axis=1)
    else:
        ax.plot(x, values[:, 0], color=colour, label=line.label)
    if METRICS[metric][0] == "epochs":  # few points (a one-epoch run has one train loss): mark them
        ax.plot(x, np.nanmean(values, axis=1), "o", color=colour, markersize=3)
    return True
