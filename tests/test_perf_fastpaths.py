"""The performance paths compute what the plain ones do: the fused BLAS weight update, the
Gram-matrix alignments, the samples-major gather, the subnormal flush, the BLAS thread
setting. Equalities only, no timings."""

from __future__ import annotations

import numpy as np
import pytest

import minifa as mf
from minifa import blas, fastpaths
from minifa.fastpaths import ArrayOps, NumpyOps, ops
from minifa.metrics import cosine, factored_alignment, update_products
from minifa.network import LayerStep
from minifa.batches import gather, gather_rows

TOL = {"float32": 1e-6, "float64": 1e-12}


def _rand(shape, dtype, seed=0, order="C"):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return np.asfortranarray(a) if order == "F" else a


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("decay", [0.0, 0.1, "per-member"])
@pytest.mark.parametrize("x_order", ["C", "F", "samples-major"])
def test_blas_update_equals_the_standard_one(cpu, dtype, shared, decay, x_order):
    """``W − η (δ xᵀ + λW)`` through one BLAS gemm with beta equals the plain expression."""
    if fastpaths._numpy_blas("gemm") is None:
        pytest.skip("NumPy's BLAS exposes no ILP64 cblas gemm here: the fallback is what runs")
    R, out, inp, B = 3, 7, 5, 4
    w = _rand((R, out, inp), dtype, 1)
    delta = _rand((R, out, B), dtype, 2)
    x_shape = (inp, B) if shared else (R, inp, B)
    if x_order == "samples-major":  # what gather_rows hands over: a transposed row block
        x = np.swapaxes(_rand(x_shape[:-2] + (B, inp), dtype, 3), -1, -2)
    else:
        x = _rand(x_shape, dtype, 3, x_order if shared else "C")
    if decay == "per-member":
        decay = np.array([0.0, 0.2, 0.5], dtype=dtype).reshape(-1, 1, 1)
    want = ArrayOps(cpu.xp).gemm_update(w.copy(), delta, x, 0.05, decay)
    got = w.copy()
    result = NumpyOps(cpu.xp).gemm_update(got, delta, x, 0.05, decay)
    assert result is got  # in place, no new array
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("alpha", [-0.3, "per-member"])
def test_blas_axpy_equals_the_standard_one(cpu, dtype, alpha):
    """``W + α u`` through one BLAS axpy per member equals the plain expression, in place."""
    if fastpaths._numpy_blas("axpy") is None:
        pytest.skip("NumPy's BLAS exposes no ILP64 cblas axpy here: the fallback is what runs")
    w, u = _rand((3, 7, 5), dtype, 1), _rand((3, 7, 5), dtype, 2)
    if alpha == "per-member":
        alpha = np.array([0.0, -0.2, 1.5], dtype=dtype).reshape(-1, 1, 1)
    want = ArrayOps(cpu.xp).add_scaled(w.copy(), u, alpha)
    got = w.copy()
    assert NumpyOps(cpu.xp).add_scaled(got, u, alpha) is got
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])


def test_blas_update_falls_back_for_what_blas_cannot_take(cpu):
    """A non-contiguous W (a strided view) is left to the standard path, still correct."""
    w = _rand((2, 6, 10), "float32")
    view = w[:, :, ::2]
    delta, x = _rand((2, 6, 3), "float32", 1), _rand((5, 3), "float32", 2)
    want = view - 0.1 * (delta @ x.T)
    got = ops(cpu.xp).gemm_update(view, delta, x, 0.1)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def _direct(a, b, x):
    ua, ub = a @ np.swapaxes(x, -1, -2), b @ np.swapaxes(x, -1, -2)
    return [(u * v).sum(axis=(-2, -1)) for u, v in ((ua, ua), (ub, ub), (ua, ub))]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sizes", [(40, 30, 8), (3, 40, 8)])  # Gram pays / direct pays
@pytest.mark.parametrize("shared", [True, False])
def test_gram_products_equal_the_direct_ones(backend, dtype, sizes, shared):
    """``⟨a xᵀ, b xᵀ⟩ = Σ a ⊙ (b xᵀx)`` against float64 truth: the norms to 1e-6 (float32) /
    1e-12 (float64) relative, the cross term to that times ``‖a xᵀ‖ ‖b xᵀ‖``, and so the
    cosine to 1e-6 / 1e-12 absolute."""
    out, inp, B = sizes
    a, b = _rand((2, out, B), dtype, 1), _rand((2, out, B), dtype, 2)
    x = np.abs(_rand((inp, B) if shared else (2, inp, B), dtype, 3))
    aa, bb, ab = (backend.to_host(v).astype(np.float64) for v in update_products(backend.xp, *(backend.asarray(v) for v in (x, a, b))))
    want_aa, want_bb, want_ab = _direct(a.astype(np.float64), b.astype(np.float64), x.astype(np.float64))
    tol = TOL[dtype]
    np.testing.assert_allclose(aa, want_aa, rtol=tol)
    np.testing.assert_allclose(bb, want_bb, rtol=tol)
    scale = np.sqrt(want_aa * want_bb)
    np.testing.assert_array_less(np.abs(ab - want_ab) / scale, tol)
    np.testing.assert_array_less(np.abs(ab / np.sqrt(aa * bb) - want_ab / scale), tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_factored_alignment_equals_cosine_of_the_updates(backend, dtype):
    """The gradient alignment and update norms from layer errors equal ``cosine`` and
    ``‖ΔW‖`` of the formed updates; a ``None`` layer gives NaN and 0; ``a is b`` gives 1."""
    xp = backend.xp
    x = [np.abs(_rand((30, 8), dtype, 1)), _rand((2, 20, 8), dtype, 2), _rand((2, 25, 8), dtype, 3)]
    a = [_rand((2, 20, 8), dtype, 4), _rand((2, 25, 8), dtype, 5), None]
    b = [_rand((2, 20, 8), dtype, 6), _rand((2, 25, 8), dtype, 7), _rand((2, 4, 8), dtype, 8)]
    dev = lambda v: None if v is None else backend.asarray(v)
    xs, as_, bs = [dev(v) for v in x], [dev(v) for v in a], [dev(v) for v in b]
    as_[2] = bs[2]  # the output layer: the rule's error is BP's own
    steps = [LayerStep(d) for d in as_]
    aligned, norms = (backend.to_host(v) for v in factored_alignment(xp, xs, steps, bs, backend.dtype(dtype)))
    for l in range(2):
        ua, ub = (backend.asarray(d @ np.swapaxes(x[l], -1, -2)) for d in (a[l], b[l]))
        np.testing.assert_allclose(aligned[:, l], backend.to_host(cosine(xp, ua, ub)), rtol=0, atol=TOL[dtype] * 5)
        np.testing.assert_allclose(norms[:, l], np.sqrt(_direct(a[l], b[l], x[l])[0]), rtol=TOL[dtype] * 5)
    np.testing.assert_allclose(aligned[:, 2], 1.0, atol=TOL[dtype] * 5)
    aligned, norms = (backend.to_host(v) for v in factored_alignment(xp, xs, [None] + steps[1:], bs, backend.dtype(dtype)))
    assert np.isnan(aligned[:, 0]).all() and not norms[:, 0].any()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sizes", [(40, 30, 8), (3, 40, 8)])  # Gram pays / direct pays
def test_factored_alignment_with_an_additive_term_measures_the_whole_update(backend, dtype, sizes):
    """``ΔW = δ xᵀ + c u`` (perturbed BP's form): the alignment with ``δ_BP xᵀ`` and ``‖ΔW‖``
    equal those of the formed update, in float64 truth."""
    out, inp, B = sizes
    delta, true, u = _rand((3, out, B), dtype, 1), _rand((3, out, B), dtype, 2), _rand((3, out, inp), dtype, 3)
    x, c = _rand((inp, B), dtype, 4), np.array([0.0, 0.7, -2.5], dtype=dtype).reshape(-1, 1, 1)
    step = LayerStep(*(backend.asarray(v) for v in (delta, u, c)))
    aligned, norms = (backend.to_host(v) for v in factored_alignment(backend.xp, [backend.asarray(x)], [step],
                                                                      [backend.asarray(true)], backend.dtype(dtype)))
    f = lambda v: v.astype(np.float64)
    formed, grad = f(delta) @ f(x).T + f(c) * f(u), f(true) @ f(x).T
    want_norm = np.sqrt((formed * formed).sum(axis=(1, 2)))
    want_cos = (formed * grad).sum(axis=(1, 2)) / (want_norm * np.sqrt((grad * grad).sum(axis=(1, 2))))
    np.testing.assert_allclose(norms[:, 0], want_norm, rtol=TOL[dtype] * 10)
    np.testing.assert_allclose(aligned[:, 0], want_cos, rtol=0, atol=TOL[dtype] * 10)


@pytest.mark.parametrize("index_shape", [(9,), (3, 9)])
def test_samples_major_gather_equals_the_column_gather(backend, index_shape):
    rng = np.random.default_rng(0)
    x = rng.random((6, 40))
    index = backend.asarray(rng.integers(0, 40, index_shape))
    rows = backend.asarray(np.ascontiguousarray(x.T))
    got = backend.to_host(gather_rows(backend.xp, rows, index))
    want = backend.to_host(gather(backend.xp, backend.asarray(x), index))
    assert got.shape == want.shape and np.array_equal(got, want)


def test_gather_from_a_transposed_array_equals_the_plain_take(cpu):
    """DeviceData.x_train is a transposed view: gathering its columns takes rows of the base."""
    rows = np.random.default_rng(0).random((50, 6)).astype(np.float32)
    index = np.array([4, 0, 49, 4])
    got = gather(cpu.xp, rows.T, index)
    assert np.array_equal(got, np.ascontiguousarray(rows.T)[:, index])
    got = gather(cpu.xp, rows.T, np.stack([index, index[::-1]]))
    assert np.array_equal(got, np.ascontiguousarray(rows.T)[:, np.stack([index, index[::-1]])].transpose(1, 0, 2))


def test_device_data_is_features_by_samples_over_contiguous_samples(cpu):
    from .conftest import tiny_dataset

    ds = tiny_dataset()
    data = mf.DeviceData.from_dataset(cpu, ds, "float32")
    assert data.x_train.shape == ds.x_train.shape and np.array_equal(cpu.to_host(data.x_train), ds.x_train.astype(np.float32))
    assert data.rows_x.flags.c_contiguous and data.rows_x.shape == ds.x_train.T.shape


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_flush_zeroes_exactly_the_subnormals(backend, dtype):
    tiny = np.finfo(dtype).smallest_normal
    host = np.array([tiny, tiny / 2, -tiny / 4, 0.0, -1.5, 1e-3, -tiny], dtype=dtype)
    got = backend.to_host(ops(backend.xp).flush_subnormals(backend.asarray(host)))
    assert np.array_equal(got, np.where(np.abs(host) < tiny, 0.0, host).astype(dtype))


def test_blas_threads_setting(monkeypatch):
    try:
        assert blas.set_blas_threads(1) == 1 and blas.blas_threads() == 1
        assert blas.set_blas_threads(None) == blas.usable_cores() == blas.blas_threads()
        with pytest.raises(mf.MinifaError, match="at least 1"):
            blas.set_blas_threads(0)
        monkeypatch.setenv("MINIFA_BLAS_THREADS", "lots")  # at import: a warning, not a traceback
        with pytest.warns(UserWarning, match="MINIFA_BLAS_THREADS='lots' ignored"):
            blas._configure_blas_threads()
        assert blas.blas_threads() == blas.usable_cores()
        monkeypatch.setenv("MINIFA_BLAS_THREADS", "1")
        blas._configure_blas_threads()
        assert blas.blas_threads() == 1
    finally:
        blas.set_blas_threads(None)


def test_auto_threads_share_the_cores_among_live_processes(monkeypatch, tmp_path):
    """``auto``: each live registered process takes an equal share; dead ones are swept out;
    a count someone else set (a threadpool_limits block) is left alone."""
    import os

    from threadpoolctl import threadpool_limits

    monkeypatch.setattr(blas, "_REGISTRY", str(tmp_path))
    monkeypatch.setattr(blas.threading, "active_count", lambda: 1)  # other tests leave threads
    cores = blas.usable_cores()
    assert 1 <= cores <= len(os.sched_getaffinity(0))
    (tmp_path / str(os.getpid())).touch()
    assert blas.fair_share() == cores
    (tmp_path / str(os.getppid())).touch()  # a second live process
    (tmp_path / "999999999").touch()  # a dead one
    assert blas.fair_share() == max(1, cores // 2)
    assert not (tmp_path / "999999999").exists()
    try:
        blas.set_blas_threads("auto")
        assert blas.blas_threads() == max(1, cores // 2)
        (tmp_path / str(os.getppid())).unlink()
        with threadpool_limits(limits=cores + 1, user_api="blas"):
            blas.rebalance_blas_threads()  # an explicit limit wins
            assert blas.blas_threads() == cores + 1
        blas.rebalance_blas_threads()  # the other process ended: take the share back
        assert blas.blas_threads() == cores
    finally:
        monkeypatch.undo()
        blas.set_blas_threads(None)
