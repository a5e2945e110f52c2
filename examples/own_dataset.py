"""Your own data set: FA and BP on two interleaved spirals, from NumPy arrays (seconds).

    python examples/own_dataset.py [--out DIR]

minifa takes any data as a ``minifa.data.Dataset``: inputs ``features × N``, one-hot targets
``classes × N`` (or real targets for ``--loss mse``) and integer labels, samples as columns
(Flux's layout). Here: 2-D points on two spirals, 1,000 to train on and 500 to test.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import minifa as mf
from minifa import checkpoint
from minifa.data import Dataset, one_hot


def spirals(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points (2 × n) on two spirals, labels 0 and 1 (n,)."""
    labels = rng.integers(0, 2, n)
    turn = rng.uniform(0.25, 2.0, n) * 2 * np.pi
    angle = turn + np.pi * labels
    x = np.stack([turn * np.cos(angle), turn * np.sin(angle)]) / (4 * np.pi)
    return (x + rng.normal(0, 0.02, x.shape)).astype(np.float32), labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/examples"), help="where checkpoints and the plot go")
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(0)
    (x_train, y_train), (x_test, y_test) = spirals(1000, rng), spirals(500, rng)
    data_set = Dataset(x_train, one_hot(y_train, 2), y_train, x_test, one_hot(y_test, 2), y_test, name="spirals")

    backend = mf.get_backend("cpu")
    paths = []
    for rule in ("fa", "bp"):
        # three seeds trained together as one ensemble, weights drawn N(0, 0.5²)
        cfg = mf.Config(layers=(2, 64, 64, 2), activation="tanh", rule=rule, lr=0.1, batch_size=20,
                        init_scale=0.5, seeds=[0, 1, 2], metrics_every=25, epochs=args.epochs)
        run = mf.build(cfg, backend)
        data = mf.DeviceData.from_dataset(backend, data_set, cfg.dtype, run.net)  # checks the sizes fit
        mf.train(run, data)
        accuracy = run.history["epochs"]["test_accuracy"][-1]
        print(f"{rule}: test accuracy after {args.epochs} epochs, per seed: {np.round(accuracy, 3)}")
        paths.append(checkpoint.save(run, args.out / f"spirals-{rule}.h5"))

    from minifa.plots.run import plot  # or: python cli.py plot spirals-fa.h5 spirals-bp.h5

    print("plot:", plot(paths, args.out / "spirals.png", ["gradient_alignment", "train_loss", "test_accuracy"]))


if __name__ == "__main__":
    main()
