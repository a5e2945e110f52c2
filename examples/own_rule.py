"""Your own learning rule in one class, proven by an exact identity, then trained (seconds).

    python examples/own_rule.py [--out DIR]

Sparse feedback alignment (Crafton et al. 2019): FA whose fixed ±1 feedback ``B_l`` keeps
only a fraction ``density`` of its entries. At ``density = 1`` nothing is masked, so it must
equal FA bit for bit: the check below fails if the rule draws, orders or applies anything
differently. As a file ``minifa/rules/sparse_fa.py`` it would be found by itself (then
``python cli.py train --rule sparse-fa --option density=0.1`` works too); defined in a script
it is registered by adding it to ``RULES``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import minifa as mf
from minifa import checkpoint
from minifa.data import synthetic_classes
from minifa.network import backpropagate
from minifa.options import Option
from minifa.rules import RULES, Rule
from minifa.rules.base import FEEDBACK_OPTIONS
from minifa.streams import draw


class SparseFeedbackAlignment(Rule):
    """``δ_{l-1} = (B_lᵀ δ_l) ⊙ f'(h_{l-1})`` with ``B_l = M_l ⊙ S_l``: FA's ±1 entries ``S_l``
    kept where a fixed random 0/1 mask ``M_l`` (a fraction ``density`` of ones) is 1."""

    name = "sparse-fa"
    provides = "deltas"  # layer errors: the loop applies W ← W − η δ xᵀ as one fused GEMM
    options = {**FEEDBACK_OPTIONS, "density": Option(0.1, "fraction of B_l's entries kept", within=(0, 1))}
    summary = "feedback alignment through sparse fixed random B_l"

    def __init__(self, backend, net, streams, dtype, **options):
        super().__init__(backend, net, streams, dtype, **options)
        density = float(self.settings["density"])
        signs = self.draw_feedback(net.shapes)  # FA's draws, from each member's feedback stream
        masks = [draw(streams, "feedback", lambda rng, shape=shape: rng.random(shape) < density) for shape in net.shapes]
        self.feedback = [b * backend.asarray(m, dtype) for b, m in zip(signs, masks)]

    def deltas(self, signal):
        return backpropagate(self.xp, self.net, signal.cache, signal.e, self.feedback)

    def weight_feedback(self, params):
        return self.feedback  # weight alignment cos(W_l, B_l) is then recorded


RULES[SparseFeedbackAlignment.name] = SparseFeedbackAlignment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/examples"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    backend = mf.get_backend("cpu")
    data_set = synthetic_classes(n_train=2000, n_test=500, d=50, rng=0)
    layers = (50, 64, 32, 10)

    def trained(rule: str, options: dict, epochs: int) -> mf.Run:
        cfg = mf.Config(layers=layers, rule=rule, rule_options=options, seeds=[0, 1], lr=0.05, batch_size=20,
                        init="glorot", init_scale=1.0,
                        metrics_every=10, epochs=epochs)
        run = mf.build(cfg, backend)
        return mf.train(run, mf.DeviceData.from_dataset(backend, data_set, cfg.dtype, run.net))

    fa, dense = trained("fa", {}, 1), trained("sparse-fa", {"density": 1.0}, 1)
    same = all(np.array_equal(a, b) for a, b in zip(fa.params.weights, dense.params.weights))
    print(f"sparse-fa at density 1 equals fa bit for bit: {same}")
    if not same:
        raise SystemExit("the identity fails: the rule is not what it claims to be")

    paths = []
    for name, options in (("fa", {}), ("sparse-fa", {"density": 0.1})):
        run = trained(name, options, 5)
        print(f"{name} {options}: test accuracy {np.round(run.history['epochs']['test_accuracy'][-1], 3)}")
        paths.append(checkpoint.save(run, args.out / f"{name}.h5"))

    from minifa.plots.run import plot

    print("plot:", plot(paths, args.out / "own-rule.png"))


if __name__ == "__main__":
    main()
