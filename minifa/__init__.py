"""minifa: a small, exact, fast engine for random feedback alignment.

The public API, in data-flow order::

    import minifa as mf
    backend = mf.get_backend("cpu")                       # or "gpu", "strict", "auto"
    cfg = mf.Config(layers=(784, 700, 1000, 10), rule="fa", seeds=[0, 1, 2])
    run = mf.build(cfg, backend)                          # 3 networks, one ensemble
    data = mf.DeviceData.from_dataset(backend, dataset, cfg.dtype)
    updates = mf.batch_updates(run, x, y)                 # one batch's per-layer updates
    mf.train_step(run, x, y, labels, measure=True)        # one SGD step, with metrics
    mf.train(run, data, epochs=10)                        # epochs, history in run.history
"""

__version__ = "0.1.0"  # first: a submodule may read it while the package imports

from . import blas  # noqa: F401  (sets NumPy's BLAS threads at import)
from .backend import Backend, get_backend
from .config import Config, Run, build
from .errors import MinifaError
from .metrics import cosine, evaluate
from .batches import DeviceData, epoch_batches
from .network import Network, Params, Update, backpropagate, forward, gradient, output_error, sgd_step
from .rules import RULES, make_rule, propose
from .training import train, train_epoch, train_step


def batch_updates(run: Run, x, targets) -> list:
    """The rule's per-layer updates for one batch at the current weights (nothing applied)."""
    return propose(run.rule, run.params, x, targets).updates(run.xp, run.net)


__all__ = [
    "Backend", "Config", "DeviceData", "MinifaError", "Network", "Params", "RULES", "Run", "Update",
    "backpropagate", "batch_updates", "build", "cosine", "epoch_batches", "evaluate", "forward", "get_backend",
    "gradient", "make_rule", "output_error", "sgd_step", "train", "train_epoch", "train_step",
]
