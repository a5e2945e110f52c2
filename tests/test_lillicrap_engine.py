"""The engine pieces Lillicrap et al. 2016 needs, float64 against independent references:
the U[-ω, ω) weight init, per-layer feedback scales, the online teacher set (fresh samples
every epoch from each member's data stream) and the |cos| angles of FA's hidden update to
BP's and to pseudobackprop's ``W⁺e``."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minifa as mf
from minifa.batches import epoch_batches
from minifa.data import load_data, load_dataset
from minifa.errors import ConfigError
from minifa.metrics import abs_angle, hidden_update_angles
from minifa.streams import Streams

SIZES = (6, 5, 4, 3)


def build(backend, **kw):
    kw = {"layers": SIZES, "dtype": "float64", "seeds": [0, 1], **kw}
    return mf.build(mf.Config(**kw), backend)


# --- uniform init -----------------------------------------------------------------------------------

def test_uniform_init_is_omega_times_u_minus_one_one_from_the_init_stream(backend):
    run = build(backend, init="uniform", init_scale=[0.01, 0.25])
    for r, omega in enumerate((0.01, 0.25)):
        stream = Streams(r)["init"]
        for l, (o, i) in enumerate(run.net.shapes):
            expected = omega * stream.uniform(-1.0, 1.0, size=(o, i))
            np.testing.assert_array_equal(backend.to_host(run.params.weights[l])[r], expected)


def test_uniform_init_has_the_stated_distribution(cpu):
    w = cpu.to_host(build(cpu, layers=(300, 200, 10), seeds=[0], init="uniform", init_scale=0.5).params.weights[0])
    # 60,000 draws: the sd estimate of U[-½, ½) has sd ≈ 0.0005
    assert w.min() >= -0.5 and w.max() < 0.5 and abs(w.std() - 0.5 / math.sqrt(3)) < 0.003


# --- per-layer feedback scales ------------------------------------------------------------------------

@pytest.mark.parametrize("rule,count", [("fa", 3), ("dfa", 2)])
def test_per_layer_feedback_scales_scale_each_matrix_of_the_same_draw(backend, rule, count):
    scales = [0.5, 2.0, 3.0][:count]
    unit = build(backend, rule=rule, rule_options={"feedback": "uniform"}).rule.feedback
    scaled = build(backend, rule=rule, rule_options={"feedback": "uniform", "feedback_scale": scales}).rule.feedback
    for s, a, b in zip(scales, unit, scaled):
        np.testing.assert_array_equal(backend.to_host(b), s * backend.to_host(a))


def test_one_feedback_scale_is_todays_config_and_draw_bit_for_bit(cpu):
    one = mf.Config(layers=SIZES, rule="fa", rule_options={"feedback_scale": 0.5})
    assert '"rule_options": {"feedback_scale": 0.5}' in one.to_json()  # stored as given: hashes unchanged
    assert one.rule_settings["feedback_scale"] == 0.5
    a = build(cpu, rule="fa", rule_options={"feedback_scale": 0.5}).rule.feedback
    b = build(cpu, rule="fa", rule_options={"feedback_scale": [0.5, 0.5, 0.5]}).rule.feedback
    for x, y in zip(a, b):
        np.testing.assert_array_equal(cpu.to_host(x), cpu.to_host(y))


def test_a_wrong_count_of_feedback_scales_is_a_one_line_error(cpu):
    with pytest.raises(ConfigError, match=r"feedback_scale needs one value or one per layer \(3\), got 2"):
        build(cpu, rule="fa", rule_options={"feedback_scale": [0.5, 2.0]})
    with pytest.raises(ConfigError, match="must be a finite number"):
        mf.Config(layers=SIZES, rule="fa", rule_options={"feedback_scale": [0.5, "x"]})


# --- the online teacher -------------------------------------------------------------------------------

def test_teacher_targets_are_the_formula_as_loops():
    data = load_dataset("teacher", seed=3, layers=[4, 3, 2], activation="tanh", weight_range=0.7, n_test=5)
    rng = np.random.default_rng(3)
    t0, t1 = rng.uniform(-0.7, 0.7, (3, 4)), rng.uniform(-0.7, 0.7, (2, 3))
    x = rng.standard_normal((4, 5))
    np.testing.assert_array_equal(data.x_test, x)
    for j in range(5):
        hidden = [math.tanh(sum(t0[k, i] * x[i, j] for i in range(4))) for k in range(3)]
        for o in range(2):
            assert data.y_test[o, j] == pytest.approx(sum(t1[o, k] * hidden[k] for k in range(3)), rel=1e-12)


def test_an_online_epoch_is_fresh_samples_from_each_members_data_stream(backend):
    options = {"layers": [6, 3], "n_train": 4, "n_test": 8}
    run = build(backend, layers=(6, 5, 3), batch_size=2, dataset="teacher", dataset_options=options)
    host = load_data(run.config)
    data = mf.DeviceData.from_dataset(backend, host, "float64", run.net)
    streams = [Streams(0)["data"], Streams(1)["data"]]
    for epoch in range(2):
        expected = np.stack([s.standard_normal((6, 4)) for s in streams])
        seen = [(backend.to_host(x), backend.to_host(y), labels) for x, y, labels in epoch_batches(run, data)]
        assert [x.shape for x, _, _ in seen] == [(2, 6, 2), (2, 6, 2)] and all(l is None for _, _, l in seen)
        x = np.concatenate([x for x, _, _ in seen], axis=-1)
        np.testing.assert_array_equal(x, expected)
        y = np.concatenate([y for _, y, _ in seen], axis=-1)
        # the linear teacher's T, recovered from its test set by least squares (y = T x)
        t = np.linalg.lstsq(host.x_test.T, host.y_test.T, rcond=None)[0].T
        np.testing.assert_allclose(y, t @ expected, rtol=1e-9, atol=1e-12)


def test_teacher_options_are_checked(cpu):
    with pytest.raises(ConfigError, match="must be of type list"):
        load_dataset("teacher", layers=30)
    with pytest.raises(ConfigError, match="a teacher needs"):
        load_dataset("teacher", layers=[30])


# --- the angles ---------------------------------------------------------------------------------------

def test_hidden_update_angles_match_plain_loops(backend):
    rng = np.random.default_rng(5)
    e, b, w = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 3, 5))
    got = hidden_update_angles(backend.xp, *(backend.asarray(a) for a in (e, b, w)))
    for r in range(2):
        fa, bp, pinv = b[r].T @ e[r], w[r].T @ e[r], np.linalg.pinv(w[r]) @ e[r]
        for key, other in (("bp", bp), ("pinv", pinv)):
            dot = sum(fa[i, j] * other[i, j] for i in range(5) for j in range(4))
            norms = math.sqrt(sum(v * v for v in fa.flat) * sum(v * v for v in other.flat))
            assert float(backend.to_host(got[key])[r]) == pytest.approx(math.degrees(math.acos(abs(dot) / norms)), abs=1e-9)


def test_abs_angle_ignores_sign_and_lies_in_zero_to_ninety(backend):
    cos = backend.asarray(np.array([1.0, -1.0, 0.0, 0.5, -0.5, 1.0 + 1e-15]))
    np.testing.assert_allclose(backend.to_host(abs_angle(backend.xp, cos)), [0, 0, 90, 60, 60, 0], atol=1e-6)


def test_pinv_angle_is_zero_when_the_feedback_is_the_pseudo_inverse(backend):
    rng = np.random.default_rng(6)
    w = rng.standard_normal((1, 3, 5))
    b = np.linalg.pinv(w[0]).T[None]  # Bᵀ = W⁺
    got = hidden_update_angles(backend.xp, *(backend.asarray(a) for a in (rng.standard_normal((1, 3, 2)), b, w)))
    assert float(backend.to_host(got["pinv"])[0]) == pytest.approx(0.0, abs=1e-5)


def test_at_batch_one_the_bp_angle_is_the_hidden_layers_gradient_alignment(backend):
    run = build(backend, layers=(6, 5, 3), activation="identity", loss="half-sse", rule="fa", batch_size=1)
    x = backend.asarray(np.random.default_rng(7).standard_normal((6, 1)))
    y = backend.asarray(np.random.default_rng(8).standard_normal((3, 1)))
    proposal = mf.rules.propose(run.rule, run.params, x, y)
    angles = hidden_update_angles(run.xp, proposal.signal.e, run.rule.feedback[-1], run.params.weights[-1])
    metrics = mf.train_step(run, x, y, None, True)
    expected = np.degrees(np.arccos(np.abs(backend.to_host(metrics["gradient_alignment"])[:, 0])))
    np.testing.assert_allclose(backend.to_host(angles["bp"]), expected, atol=1e-6)


# --- logistic output units under ½eᵀe -----------------------------------------------------------------

def test_logistic_half_sse_is_the_formula_and_bp_matches_central_differences(backend):
    from minifa.losses import get_loss

    from .test_gradients import TOLERANCE, relative_errors, setup

    rng = np.random.default_rng(9)
    z, y = rng.standard_normal((2, 3, 4)), rng.random((3, 4))
    loss = get_loss("logistic-half-sse")
    p = 1.0 / (1.0 + np.exp(-z))
    value = backend.to_host(loss.value(backend.xp, backend.asarray(z), backend.asarray(y)))
    np.testing.assert_allclose(value, 0.5 * ((p - y) ** 2).sum(axis=(1, 2)), rtol=1e-12)
    run, x, targets = setup(backend, "sigmoid", "logistic-half-sse")
    errors = relative_errors(backend, run.net, run.params, x, targets)
    assert max(errors) <= TOLERANCE, errors


def test_an_online_run_resumes_exactly_from_a_checkpoint(cpu, tmp_path):
    """The fresh samples come from the members' data streams, which a checkpoint keeps."""
    from .test_checkpoint import resumed_beside_straight

    def make():
        run = build(cpu, layers=(6, 5, 3), activation="identity", loss="half-sse", rule="fa", batch_size=1,
                    init="uniform", init_scale=0.1, lr=1e-2, dataset="teacher",
                    dataset_options={"layers": [6, 3], "n_train": 20, "n_test": 10})
        return run, mf.DeviceData.from_dataset(cpu, load_data(run.config), "float64", run.net)

    resumed, straight, first = resumed_beside_straight(make, tmp_path / "run.h5")
    for a, b in zip(resumed.params.weights, straight.params.weights):
        np.testing.assert_array_equal(cpu.to_host(a), cpu.to_host(b))
    assert not np.array_equal(cpu.to_host(first.params.weights[0]), cpu.to_host(straight.params.weights[0]))
