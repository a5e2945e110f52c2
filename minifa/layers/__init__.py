"""Layers of a ``Chain`` (Flux's ``Chain``): each kind one small object in its own file.

Activations are features × batch, as in ``minifa.network``: an image batch is (C, H, W, N)
(or (R, C, H, W, N) with the ensemble axis), a vector batch (n, N). A *trainable* layer
(``Dense``, ``Conv2d``) is one GEMM ``h = W cols + b`` with ``W`` (R, out, K) a matrix, as a
dense weight, and ``cols`` (K, M) its input unfolded; a *passive* layer (``Pool``,
``Flatten``) has a forward and a backward and no weights.
"""

from .chain import MODELS, Chain, ChainCache, model_chain
from .conv2d import Conv2d
from .dense import Dense
from .flatten import Flatten
from .pool import Pool

__all__ = ["MODELS", "Chain", "ChainCache", "Conv2d", "Dense", "Flatten", "Pool", "model_chain"]
