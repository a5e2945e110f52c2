"""The conv layout, measured once (issue 27): CHWN (samples last, one GEMM, `minifa.layers`)
against NCHW (samples first, a GEMM per sample) and NHWC (channels last), each as im2col +
forward GEMM + weight-gradient GEMM for LeNet's conv1 and conv2 at batch 64, one BLAS thread,
best of 5. ``python bench/conv_layout.py``; the README ("Convolutional networks") has the numbers."""
import numpy as np, time
from minifa.blas import set_blas_threads
set_blas_threads(1)
rng = np.random.default_rng(0)
def best(f, n=5):
    f(); b = 1e9
    for _ in range(n):
        t = time.perf_counter(); f(); b = min(b, time.perf_counter() - t)
    return b * 1e3
for (C, H, O, k, N) in [(1, 32, 6, 5, 64), (6, 14, 16, 5, 64)]:
    Ho = H - k + 1
    W = rng.random((O, k * k * C), dtype=np.float32)
    x = rng.random((C, H, H, N), dtype=np.float32)
    def chwn():
        cols = np.concatenate([x[:, a:a + Ho, b:b + Ho, :] for a in range(k) for b in range(k)], axis=0).reshape(k * k * C, -1)
        h = W @ cols
        return h @ cols.T
    xn = np.ascontiguousarray(np.transpose(x, (3, 0, 1, 2)))  # (N, C, H, W)
    def nchw():
        cols = np.concatenate([xn[:, :, a:a + Ho, b:b + Ho] for a in range(k) for b in range(k)], axis=1).reshape(N, k * k * C, -1)
        h = W @ cols  # (N, O, Ho*Wo)
        return np.einsum("nom,nkm->ok", h, cols, optimize=True)
    def nhwc():
        xh = np.ascontiguousarray(np.transpose(x, (3, 1, 2, 0)))  # (N, H, W, C)
        cols = np.concatenate([xh[:, a:a + Ho, b:b + Ho, :] for a in range(k) for b in range(k)], axis=-1).reshape(-1, k * k * C)
        h = cols @ W.T  # (N*Ho*Wo, O)
        return h.T @ cols
    print(f"conv {C}->{O} {H}x{H} k{k} N{N}: CHWN {best(chwn):.2f} ms, NCHW {best(nchw):.2f} ms, NHWC {best(nhwc):.2f} ms")
