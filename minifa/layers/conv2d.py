"""The 2-D convolution of a ``Chain``, as one GEMM on the unfolded input (im2col).

``h[o, y, x, n] = Σ_{a,b,c} K[o, a, b, c] · x̃[c, s y + a, s x + b, n] + b_o`` with ``x̃`` the
input zero-padded by ``p`` (cross-correlation, as PyTorch's ``Conv2d``). The kernel is stored
as the matrix ``W`` (out, K), K = kh · kw · C in (a, b, c) order, and the input unfolded to
``cols`` (K, M), M = H_out · W_out · N, so ``h = W cols + b``, ``ΔW = δ colsᵀ`` and the
error carried down is ``col2im(Fᵀ δ)``: exactly a dense layer's maths on (cols, δ), which is
why every rule's feedback, the fused update and the Gram-matrix metrics apply unchanged.

Layout: channels, rows, columns, samples (samples last, the library's features × batch), so
``W cols`` lands in the output's layout with no transpose, and unfolding is kh · kw strided
copies (a loop over kernel offsets, none over samples or pixels). Measured once
(``bench/conv_layout.py``, LeNet's conv1 / conv2, batch 64, one thread): 2.5 / 1.3 ms, against
10-22 / 1.6-2.1 ms samples first (NCHW) and 3.0 / 9.9 ms channels last (NHWC).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class Conv2d:
    """``out`` channels, a ``k`` × ``k`` kernel, ``stride`` s and zero ``padding`` p."""

    out: int
    k: int
    stride: int = 1
    padding: int = 0

    def out_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        c, h, w = shape
        size = [(n + 2 * self.padding - self.k) // self.stride + 1 for n in (h, w)]
        if min(size) < 1:
            raise ConfigError(f"a {self.k}x{self.k} convolution does not fit a {h}x{w} input; use a smaller kernel or padding")
        return (self.out, *size)

    def matrix(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """The kernel's matrix (out, kh · kw · C)."""
        return (self.out, self.k * self.k * shape[0])

    def offsets(self, shape):
        """Kernel offsets (a, b) with the strided slices of the padded input they read."""
        _, ho, wo = self.out_shape(shape)
        s = self.stride
        return [(a, b, slice(a, a + s * (ho - 1) + 1, s), slice(b, b + s * (wo - 1) + 1, s))
                for a in range(self.k) for b in range(self.k)]

    def padded(self, xp, x, shape):
        """``x̃``: (…, C, H + 2p, W + 2p, N), zeros around ``x``."""
        p = self.padding
        if p == 0:
            return x
        c, h, w = shape
        out = xp.zeros(tuple(x.shape[:-4]) + (c, h + 2 * p, w + 2 * p, x.shape[-1]), dtype=x.dtype)
        out[..., p:p + h, p:p + w, :] = x
        return out

    def columns(self, xp, x, shape):
        """im2col: ``cols[(a, b, c), (y, x, n)] = x̃[c, s y + a, s x + b, n]``, (…, K, M)."""
        x = self.padded(xp, x, shape)
        blocks = xp.concat([x[..., rows, cols, :] for _, _, rows, cols in self.offsets(shape)], axis=-4)
        return xp.reshape(blocks, tuple(blocks.shape[:-4]) + (blocks.shape[-4], -1))

    def weight_update(self, xp, delta, cols):
        """``ΔW = δ colsᵀ``, computed as ``(cols δᵀ)ᵀ``: the long (K, M) columns as BLAS's
        left, untransposed operand take half the time of ``δ colsᵀ`` (OpenBLAS, LeNet's conv1
        and conv2), with the same bits on OpenBLAS (each entry the same dot product over M, in
        the same order; ``tests/test_conv.py`` checks). The result is a transposed view; the
        optimisers' elementwise steps take it as it is. (The fused SGD step, ``gemm_update``,
        writes into ``W`` and keeps ``δ colsᵀ``: the other orientation would write ``Wᵀ``.)"""
        return xp.matrix_transpose(cols @ xp.matrix_transpose(delta))

    def input_grad(self, xp, carried, shape):
        """col2im, the adjoint of ``columns``: each offset's block of ``Fᵀ δ`` (…, K, M) added
        back where it was read, then the padding cut away; (…, C, H, W, N)."""
        c, h, w = shape
        _, ho, wo = self.out_shape(shape)
        p, lead = self.padding, tuple(carried.shape[:-2])
        n = carried.shape[-1] // (ho * wo)
        blocks = xp.reshape(carried, lead + (self.k * self.k * c, ho, wo, n))
        grad = xp.zeros(lead + (c, h + 2 * p, w + 2 * p, n), dtype=carried.dtype)
        for i, (_, _, rows, cols) in enumerate(self.offsets(shape)):
            grad[..., rows, cols, :] += blocks[..., i * c:(i + 1) * c, :, :, :]
        return grad if p == 0 else grad[..., p:p + h, p:p + w, :]
