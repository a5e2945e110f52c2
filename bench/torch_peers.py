"""PyTorch peers of one minifa FA network, same sizes, batch, learning rate and data order
kind (a fresh permutation per epoch). Torch is row-major and batch-first, so a batch is
(B, features) and a layer is ``x Wᵀ + b``; the feedback ``B_l`` has ``W_l``'s shape.

- ``autograd``: ``torch.nn``-style FA, a custom ``autograd.Function`` whose backward sends
  the error through ``B_l`` instead of ``W_l``, ``F.cross_entropy`` and ``optim.SGD``: what
  most published FA code looks like.
- ``fused``: hand-written FA, no autograd: ``addmm`` forward, in-place ``tanh_``, the error
  by hand and in-place ``addmm_(…, alpha=-lr)`` weight updates: the fastest PyTorch we know.
- ``lenet``: BioTorch's MNIST LeNet as ``torch.nn`` layers with BP, for `lenet.py`.

``available()`` is False when torch is not installed (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import numpy as np

try:
    import torch
except ImportError:  # the bench prints a clear skip message
    torch = None


def available() -> bool:
    return torch is not None


def _batches(ds, device: str, batch: int):
    """Batches ``(x, labels)`` of the samples-major training data on ``device``, a fresh
    permutation per epoch, epoch after epoch."""
    x = torch.from_numpy(np.ascontiguousarray(np.asarray(ds.x_train).T)).to(device)
    labels = torch.from_numpy(np.asarray(ds.labels_train, dtype=np.int64)).to(device)
    while True:
        order = torch.randperm(x.shape[0], device=device)
        for s in range(x.shape[0] // batch):
            idx = order[s * batch : (s + 1) * batch]
            yield x.index_select(0, idx), labels.index_select(0, idx)


def _params(sizes, device: str, scale: float, seed: int):
    g = torch.Generator().manual_seed(seed)
    shapes = [(o, i) for i, o in zip(sizes[:-1], sizes[1:])]
    weights = [(torch.randn(s, generator=g) * scale).to(device) for s in shapes]
    biases = [torch.zeros(o, device=device) for o, _ in shapes]
    feedback = [(torch.randint(0, 2, s, generator=g).float() * 2 - 1).to(device) for s in shapes]
    return weights, biases, feedback


if torch is not None:

    class LinearFA(torch.autograd.Function):
        """``x Wᵀ + b`` whose backward carries the error through ``B`` (FA), not ``W``."""

        @staticmethod
        def forward(ctx, x, weight, bias, feedback):
            ctx.save_for_backward(x, feedback)
            return torch.addmm(bias, x, weight.t())

        @staticmethod
        def backward(ctx, grad):
            x, feedback = ctx.saved_tensors
            grad_x = grad @ feedback if ctx.needs_input_grad[0] else None
            return grad_x, grad.t() @ x, grad.sum(0), None


def autograd_case(ds, sizes, batch: int, lr: float, device: str = "cpu"):
    """``make() -> step``, one autograd FA step per call."""
    def make():
        batches = _batches(ds, device, batch)
        weights, biases, feedback = _params(sizes, device, 0.05, 0)
        params = [p.requires_grad_() for p in weights + biases]
        opt = torch.optim.SGD(params, lr=lr)
        depth = len(weights)

        def step():
            a, labels = next(batches)
            for l in range(depth):
                a = LinearFA.apply(a, weights[l], biases[l], feedback[l])
                a = torch.tanh(a) if l < depth - 1 else a
            loss = torch.nn.functional.cross_entropy(a, labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step
    return make


def fused_case(ds, sizes, batch: int, lr: float, device: str = "cpu"):
    """``make() -> step``, one hand-fused FA step per call."""
    def make():
        batches = _batches(ds, device, batch)
        weights, biases, feedback = _params(sizes, device, 0.05, 0)
        eye = torch.eye(sizes[-1], device=device)
        depth = len(weights)

        @torch.inference_mode()
        def step():
            x, labels = next(batches)
            acts = [x]
            for l in range(depth):
                h = torch.addmm(biases[l], acts[-1], weights[l].t())
                acts.append(h.tanh_() if l < depth - 1 else h)
            delta = torch.softmax(acts[-1], 1).sub_(eye.index_select(0, labels)).div_(batch)
            for l in range(depth - 1, -1, -1):
                below = None
                if l > 0:  # the error sent down through B_l, times tanh' = 1 − a²
                    below = (delta @ feedback[l]).mul_(1 - acts[l] * acts[l])
                weights[l].addmm_(delta.t(), acts[l], alpha=-lr)
                biases[l].sub_(delta.sum(0), alpha=lr)
                delta = below
        return step
    return make


def lenet_case(ds, batch: int, lr: float, momentum: float, weight_decay: float, device: str = "cpu"):
    """``make() -> step``: one BP step of BioTorch's ``LeNetMNIST`` (``nn.Conv2d`` 6@5×5 with
    padding 2 on 28 × 28, max-pool 2, 16@5×5, max-pool 2, 120@5×5, 84, 10, ReLU), NCHW,
    ``F.cross_entropy``, ``optim.SGD`` with ``momentum`` and ``weight_decay``."""
    def make():
        nn = torch.nn
        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                            nn.MaxPool2d(2), nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(), nn.Linear(120, 84),
                            nn.ReLU(), nn.Linear(84, 10)).to(device)
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
        batches = _batches(ds, device, batch)

        def step():
            x, labels = next(batches)
            loss = torch.nn.functional.cross_entropy(net(x.view(-1, 1, 28, 28)), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step
    return make


def floor_case(shapes, device: str = "cpu"):
    """The same products as minifa's floor through torch's BLAS (MKL on CPU wheels)."""
    def make():
        g = torch.Generator().manual_seed(1)
        ops = [(torch.randn(m, k, generator=g).to(device), torch.randn(k, n, generator=g).to(device),
                torch.empty(m, n, device=device)) for m, k, n in shapes]

        def step():
            for a, b, c in ops:
                torch.mm(a, b, out=c)
        return step
    return make


def describe() -> dict:
    if torch is None:
        return {"torch": None}
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "torch_blas": "mkl" if torch.backends.mkl.is_available() else "other",
            "cuda": torch.cuda.is_available()}
