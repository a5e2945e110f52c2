"""Synthetic data sets, generated on the host with NumPy from a seeded Generator.

- `gaussian_teacher`: Song, Xu & Lafferty's Figure 2 data (the Song et al. methods
  notes, §3, from the authors' ``data_gen.py``): n = 50 Gaussian points in d = 150 dimensions,
  targets from a random linear map or a random two-layer teacher of the student's width.
- `teacher_network`: an online teacher-student set (Lillicrap et al. 2016): a fixed random
  teacher network, fresh x ~ N(0, I) at every step, a fixed test set.
- `synthetic_classes`: a tiny learnable 10-class problem shaped like MNIST, for fast
  plumbing tests of the classification path without the real data.
"""

from __future__ import annotations

import numpy as np

from minifa.data.dataset import Dataset, one_hot
from minifa.errors import ConfigError, choose

# Teacher activations ψ. Sigmoid via tanh: the same function, with no overflow in exp.
ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)),
}


def gaussian_teacher(n: int = 50, d: int = 150, *, activation: str = "linear",
                     width: int | None = None,
                     rng: np.random.Generator | int) -> Dataset:
    """Figure 2 regression data: inputs ``d × n`` float64, targets ``1 × n`` float64.

    Columns x_i ~ N(0, I_d), not normalised (as the authors' ``np.random.randn(n, d)``).
    - ``"linear"``: y = θᵀx with θ ~ N(0, I_d); ``width`` is unused.
    - ``"relu" | "tanh" | "sigmoid"``: a random teacher of the student's width p = ``width``
      and the same ψ: y = β*ᵀ ψ(W* x) / √p, with W* (p × d) and β* (p) entries ~ N(0, 1).
    The paper measures training error and alignment only, so there is no held-out split:
    the test split *is* the training split (the same arrays). ``rng`` is a Generator or seed;
    each call with a fresh seed is one of the paper's repetitions (fresh data every run).
    """
    teacher = choose("teacher activation", activation, ACTIVATIONS)
    if n < 1 or d < 1:
        raise ConfigError(f"gaussian data needs n ≥ 1 and d ≥ 1, got n={n}, d={d}")
    rng = np.random.default_rng(rng)
    if activation == "linear":
        # The authors' order: data first, then θ.
        x = rng.standard_normal((n, d)).T
        y = rng.standard_normal(d) @ x
    else:
        if width is None or width < 1:
            raise ConfigError(f"a {activation} teacher needs the student's width p ≥ 1 "
                              f"(width=...), got {width}")
        # The authors' order: teacher first, then data.
        w_star = rng.standard_normal((width, d))
        beta_star = rng.standard_normal(width)
        x = rng.standard_normal((n, d)).T
        y = beta_star @ teacher(w_star @ x) / np.sqrt(width)
    x = np.ascontiguousarray(x)
    y = y.reshape(1, n)
    return Dataset(x, y, None, x, y, None, name=f"gaussian-{activation}")


def synthetic_classes(n_train: int = 1000, n_test: int = 200, d: int = 784, classes: int = 10, *,
                      rng: np.random.Generator | int) -> Dataset:
    """A small MNIST-shaped classification problem: ``d × N`` float32 in [0, 1), one-hot y.

    Inputs are uniform on [0, 1) like pixel intensities; the label is the argmax of a random
    linear teacher applied to the centred input, so classes are roughly balanced and the
    problem is learnable (linearly separable) in a few epochs. Train and test share the
    teacher and are drawn independently.
    """
    if min(n_train, n_test, d) < 1 or classes < 2:
        raise ConfigError(f"synthetic data needs n_train, n_test, d ≥ 1 and classes ≥ 2, got "
                          f"{n_train}, {n_test}, {d}, {classes}")
    rng = np.random.default_rng(rng)
    teacher = rng.standard_normal((classes, d))

    def split(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = rng.random((d, n), dtype=np.float32)
        labels = np.argmax(teacher @ (x - 0.5), axis=0).astype(np.int64)
        return x, one_hot(labels, classes), labels

    return Dataset(*split(n_train), *split(n_test), name="synthetic")


def teacher_targets(weights: list[np.ndarray], activation, x: np.ndarray) -> np.ndarray:
    """``y = T_{L-1} ψ(… ψ(T_0 x))``: the teacher's hidden layers through ψ, its output linear."""
    for t in weights[:-1]:
        x = activation(t @ x)
    return weights[-1] @ x


def teacher_network(layers: tuple = (30, 10), activation: str = "linear", weight_range: float = 1.0,
                    n_train: int = 1000, n_test: int = 5000, *, rng: np.random.Generator | int) -> Dataset:
    """An online regression set: a teacher with layer sizes ``layers``, weights T_l ~
    U[-ω, ω) (ω = ``weight_range``; Lillicrap et al.'s linear T ~ U[-1, 1]), no biases, ψ =
    ``activation`` on its hidden layers; inputs x ~ N(0, I). The teacher (drawn first), then
    ``n_test`` test points come from ``rng``; every epoch's ``n_train`` training samples are
    fresh, from each member's data stream (``Dataset.fresh``)."""
    psi = choose("teacher activation", activation, ACTIVATIONS)
    if len(layers) < 2 or min(layers) < 1 or min(n_train, n_test) < 1 or not weight_range > 0:
        raise ConfigError(f"a teacher needs ≥ 2 positive layer sizes, n_train, n_test ≥ 1 and weight_range > 0, "
                          f"got layers={list(layers)}, n_train={n_train}, n_test={n_test}, weight_range={weight_range}")
    rng = np.random.default_rng(rng)
    sizes = [int(n) for n in layers]
    weights = [rng.uniform(-weight_range, weight_range, size=(o, i)) for i, o in zip(sizes[:-1], sizes[1:])]

    def fresh(generator: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        x = generator.standard_normal((sizes[0], n))
        return x, teacher_targets(weights, psi, x)

    x_test, y_test = fresh(rng, n_test)
    x_train, y_train = fresh(rng, n_train)
    return Dataset(x_train, y_train, None, x_test, y_test, None, name=f"teacher-{activation}", fresh=fresh)
