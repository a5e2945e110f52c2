"""`delta_alignment`, Refinetti et al.'s code's layer alignment, against the formula as
plain loops in float64 (NumPy and array-api-strict), with their code's zero conventions."""

from __future__ import annotations

import numpy as np

from minifa.metrics import delta_alignment


def loop(deltas, true):
    """mean over samples i of cos(δ_l,i, δ^BP_l,i), per member and layer, one sample at a time."""
    members, out = true[0].shape[0], np.full((true[0].shape[0], len(true)), np.nan)
    for l, (d, b) in enumerate(zip(deltas, true)):
        if d is None:
            continue
        for r in range(members):
            cos = []
            for i in range(b.shape[-1]):
                u, v = d[r, :, i], b[r, :, i]
                nu, nv = np.linalg.norm(u), np.linalg.norm(v)
                cos.append(1.0 if nu == nv == 0 else 0.0 if nu * nv == 0 else u @ v / (nu * nv))
            out[r, l] = np.mean(cos)
    return out


def test_delta_alignment_is_the_batch_mean_of_per_example_cosines(backend):
    rng = np.random.default_rng(3)
    true = [rng.standard_normal((2, n, 9)) for n in (6, 5, 4)]
    deltas = [rng.standard_normal((2, 6, 9)), None, true[2] * 3.0]
    deltas[0][:, :, 1] = 0.0
    true[0][:, :, 1] = 0.0  # both signals zero: 1, as their code sets it
    deltas[0][0, :, 2] = 0.0  # one zero: 0
    got = backend.to_host(delta_alignment(backend.xp, [None if d is None else backend.asarray(d) for d in deltas],
                                          [backend.asarray(t) for t in true], backend.xp.float64))
    want = loop(deltas, true)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert np.isnan(got[:, 1]).all() and np.allclose(got[:, 2], 1.0)  # no delta: NaN; a scaled copy: 1
