"""``minifa.interop``: torch's forward pass on moved weights equals minifa's to float32 rounding,
a round trip is bit-exact, the member asked for is the one moved; ``history_frame`` holds the
stored numbers; a missing optional package is a one-line error."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import minifa as mf
from minifa import checkpoint
from minifa.errors import ConfigError
from minifa.interop import from_torch, history_frame, to_torch
from tests.test_cli import invoke

NETWORKS = [  # (layers, activation, bias, output scale, dtype)
    ((6, 5, 4, 3), "tanh", True, 1.0, "float32"),
    ((6, 9, 3), "relu", False, 9 ** -0.5, "float32"),
    ((6, 5, 4, 3), "sigmoid", True, 1.0, "float64"),
]


def ensemble(layers, activation, bias, scale, dtype, seeds=(0, 1, 2)):
    cfg = mf.Config(layers=layers, activation=activation, bias=bias, output_scale=scale, dtype=dtype,
                    init_scale=0.5, seeds=list(seeds))
    run = mf.build(cfg, mf.get_backend("cpu"))
    if bias:  # non-zero biases, so that moving them is tested too
        rng = np.random.default_rng(7)
        run.params.biases = [b + rng.standard_normal(b.shape).astype(dtype) for b in run.params.biases]
    return run


@pytest.mark.parametrize("network", NETWORKS, ids=lambda n: f"{n[1]}-{n[4]}")
def test_torch_forward_equals_minifa(network):
    torch = pytest.importorskip("torch")
    run = ensemble(*network)
    x = np.random.default_rng(3).random((network[0][0], 11)).astype(network[4])
    ours = mf.forward(run.xp, run.net, run.params, x).output  # (R, out, batch)
    eps = np.finfo(network[4]).eps
    for member in range(3):
        with torch.no_grad():
            theirs = to_torch(run, member)(torch.from_numpy(x.T.copy())).numpy()
        assert theirs.dtype == np.dtype(network[4])
        # float rounding: a few ulps of the largest output (different summation orders)
        np.testing.assert_allclose(theirs.T, ours[member], rtol=0, atol=16 * eps * np.abs(ours).max())
    assert not np.allclose(ours[0], ours[1])  # the members differ, so picking the wrong one would fail


@pytest.mark.parametrize("network", NETWORKS, ids=lambda n: f"{n[1]}-{n[4]}")
def test_round_trip_is_bit_exact_and_moves_only_that_member(network):
    torch = pytest.importorskip("torch")
    source, target = ensemble(*network), ensemble(*network, seeds=(10, 11, 12))
    before = [np.array(w) for w in target.params.weights]
    from_torch(to_torch(source, member=2), run=target, member=1)
    for l, (w, old) in enumerate(zip(target.params.weights, before)):
        assert np.array_equal(w[1], source.params.weights[l][2])  # bit for bit
        assert np.array_equal(w[[0, 2]], old[[0, 2]])  # the other members untouched
    if network[2]:
        assert all(np.array_equal(b[1], s[2]) for b, s in zip(target.params.biases, source.params.biases))
    model = to_torch(source, member=0)
    fresh = from_torch(model, rule="bp", seeds=[4, 5])
    assert fresh.config.layers == network[0] and fresh.config.rule == "bp" and fresh.params.members == 2
    for member in (0, 1):
        back = to_torch(fresh, member)
        assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), back.state_dict().values()))


def test_a_checkpoint_moves_to_torch(tmp_path):
    torch = pytest.importorskip("torch")
    ckpt = tmp_path / "run.h5"
    result = invoke("train", "--dataset", "synthetic", "--layers", "784,16,10", "--ensemble", 2, "--checkpoint", ckpt)
    assert result.exit_code == 0, result.output
    run = checkpoint.load(ckpt)
    model = to_torch(run, member=1)
    assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "Linear"]
    assert torch.equal(model[2].weight, torch.from_numpy(np.ascontiguousarray(run.params.weights[1][1])))


def test_bad_models_and_members_are_one_line():
    torch = pytest.importorskip("torch")
    nn, run = torch.nn, ensemble(*NETWORKS[0])
    with pytest.raises(ConfigError, match="member 3 does not exist: the run has 3"):
        to_torch(run, member=3)
    with pytest.raises(ConfigError, match=r"module 1 \(Dropout\) does not fit"):
        from_torch(nn.Sequential(nn.Linear(6, 5), nn.Dropout(), nn.Linear(5, 3)))
    with pytest.raises(ConfigError, match="the model's layers is \\(6, 7, 3\\), the run's \\(6, 5, 4, 3\\)"):
        from_torch(nn.Sequential(nn.Linear(6, 7), nn.Tanh(), nn.Linear(7, 3)), run=run)
    with pytest.raises(ConfigError, match="layers comes from the model"):
        from_torch(nn.Sequential(nn.Linear(6, 3)), layers=(6, 3))


def test_history_frame_holds_the_stored_values(tmp_path):
    pytest.importorskip("pandas")
    ckpt = tmp_path / "run.h5"
    result = invoke("train", "--dataset", "synthetic", "--layers", "784,16,10", "--ensemble", 2, "--init-scale",
                    "0.05,0.5", "--metrics-every", 3, "--epochs", 2, "--checkpoint", ckpt)
    assert result.exit_code == 0, result.output
    history = checkpoint.load(ckpt).history
    df = history_frame(ckpt)
    grad = np.stack(history["steps"]["gradient_alignment"])  # (T, R, L)
    rows = df[(df.metric == "gradient_alignment") & (df.member == 1) & (df.layer == 1)]
    np.testing.assert_array_equal(rows.value.to_numpy(), grad[:, 1, 0].astype(float))
    np.testing.assert_array_equal(rows.step.to_numpy(dtype=int), history["steps"]["step"])
    assert set(rows.init_scale) == {0.5} and set(rows.seed) == {1}
    acc = df[(df.metric == "test_accuracy") & (df.member == 0)]
    assert acc.layer.isna().all() and acc.step.isna().all() and list(acc.epoch) == [0, 1, 2]
    counts = sum(np.size(np.stack(v)) for t in history.values() for k, v in t.items() if k not in ("step", "epoch"))
    assert len(df) == counts


def test_history_frame_of_a_sweep_has_the_grid_columns(tmp_path):
    pytest.importorskip("pandas")
    path = tmp_path / "s.h5"
    result = invoke("sweep", "--grid", "rule=fa,bp", "--grid", "dataset=synthetic", "--grid", "layers=[784,8,10]",
                    "--grid", "lr=0.1", "-o", path)
    assert result.exit_code == 0, result.output
    df = history_frame(path)
    assert set(df.point) == {"0", "1"} and set(df.lr) == {0.1}
    assert set(df[df.point == "1"].rule) == {"bp"}


@pytest.mark.parametrize("call, package", [(lambda: to_torch(None), "torch"), (lambda: history_frame("x.h5"), "pandas")])
def test_a_missing_optional_package_is_one_line(monkeypatch, call, package):
    monkeypatch.setitem(sys.modules, package, None)  # import then raises ImportError
    with pytest.raises(ConfigError, match=f"pip install {package}"):
        call()
