"""Checkpoints: exact resume, atomic writes, one-line errors, Julia dimension order."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import h5py
import numpy as np
import pytest

import minifa as mf
from minifa import checkpoint, integrity
from minifa.errors import CheckpointError, ConfigError

from .conftest import tiny_dataset

LAYERS = (12, 8, 6, 4)
RULES = {
    "fa": {},
    "perturbed": {"alignment": 0.5},  # a fresh random direction every step
    "kolen-pollack": {"decay": 0.1},  # feedback changes every step
    "dfa": {},
}


def make_run(rule="fa", options=None, **overrides):
    settings = {"seeds": [0, 1], "batch_size": 50, "metrics_every": 1, **overrides}
    cfg = mf.Config(layers=LAYERS, rule=rule, rule_options=options or {}, **settings)
    backend = mf.get_backend("cpu")
    return mf.build(cfg, backend), mf.DeviceData.from_dataset(backend, tiny_dataset(), cfg.dtype)


def host_state(run):
    """Every array that determines the run's future, on the host, by name."""
    to_host = run.backend.to_host
    arrays = {f"W{l}": to_host(w) for l, w in enumerate(run.params.weights, 1)}
    arrays |= {f"b{l}": to_host(b) for l, b in enumerate(run.params.biases or [], 1)}
    arrays |= {name: to_host(a) for name, a in run.rule.state().items()}
    return arrays


def assert_same_run(a, b):
    assert (a.step, a.epoch) == (b.step, b.epoch)
    assert [s.state() for s in a.streams] == [s.state() for s in b.streams]
    left, right = host_state(a), host_state(b)
    assert left.keys() == right.keys()
    for name in left:
        assert left[name].dtype == right[name].dtype, name
        np.testing.assert_array_equal(left[name], right[name], err_msg=name, strict=True)
    assert_same_history(a.history, b.history)


def resumed_beside_straight(make, path, epochs=3, at=1):
    """``(resumed, straight, first)``: ``make() -> (run, data)`` trained ``epochs`` epochs
    straight, and a second run trained ``at`` epochs, saved to ``path``, loaded and trained on
    to ``epochs`` (``first``: that second run before the save)."""
    straight, data = make()
    mf.train(straight, data, epochs)
    first, _ = make()
    mf.train(first, data, at)
    resumed = checkpoint.load(checkpoint.save(first, path))
    mf.train(resumed, data, epochs)
    return resumed, straight, first


def assert_same_history(h1, h2):
    assert {t: list(c) for t, c in h1.items()} == {t: list(c) for t, c in h2.items()}
    for table, columns in h1.items():
        for key, rows in columns.items():
            other = h2[table][key]
            assert len(rows) == len(other), (table, key)
            for v, w in zip(rows, other):
                assert type(v) is type(w) or isinstance(v, np.ndarray) and isinstance(w, np.ndarray), (table, key)
                np.testing.assert_array_equal(np.asarray(v), np.asarray(w), err_msg=f"{table}/{key}")


@pytest.mark.parametrize("rule", list(RULES))
def test_resume_is_exact(tmp_path, rule):
    straight, data = make_run(rule, RULES[rule])
    mf.train(straight, data, 3)

    first, data = make_run(rule, RULES[rule])
    mf.train(first, data, 1)
    path = checkpoint.save(first, tmp_path / "run.h5")
    resumed = checkpoint.load(path)
    assert_same_run(resumed, first)  # the load itself loses nothing
    mf.train(resumed, data, 3)

    assert_same_run(resumed, straight)
    assert len(straight.history["epochs"]["epoch"]) == 4 and len(straight.history["steps"]["step"]) == 18
    # the comparison is not vacuous: two more epochs really moved the weights
    assert not np.array_equal(host_state(first)["W2"], host_state(straight)["W2"])


def test_resume_needs_the_random_streams(tmp_path):
    """Control: the perturbed rule's directions and the data order come from the streams, so a
    load that dropped them would diverge from the uninterrupted run."""
    straight, data = make_run("perturbed", RULES["perturbed"])
    mf.train(straight, data, 2)
    first, _ = make_run("perturbed", RULES["perturbed"])
    mf.train(first, data, 1)
    resumed = checkpoint.load(checkpoint.save(first, tmp_path / "run.h5"))
    for streams, fresh in zip(resumed.streams, resumed.config.streams()):
        streams.set_state(fresh.state())
    mf.train(resumed, data, 2)
    assert not np.array_equal(host_state(resumed)["W1"], host_state(straight)["W1"])


@pytest.mark.parametrize("overrides", [{"metrics_every": 0}, {"bias": False}, {"dtype": "float64"}])
def test_resume_from_an_untrained_run(tmp_path, overrides):
    """An empty history, no step table, no biases, float64: all survive a round trip."""
    straight, data = make_run(**overrides)
    mf.train(straight, data, 2)
    fresh, _ = make_run(**overrides)
    resumed = checkpoint.load(checkpoint.save(fresh, tmp_path / "run.h5"))
    assert resumed.history == {}
    mf.train(resumed, data, 2)
    assert_same_run(resumed, straight)
    with h5py.File(tmp_path / "run.h5") as f:
        assert f["model/W1"].dtype == np.dtype(straight.config.dtype)
        assert ("model/b1" in f) == straight.config.bias


def test_explicit_backend_wins(tmp_path):
    run, _ = make_run()
    path = checkpoint.save(run, tmp_path / "run.h5")
    assert checkpoint.load(path).backend.name == "cpu"
    strict = checkpoint.load(path, mf.get_backend("strict"))
    assert strict.backend.name == "strict"
    np.testing.assert_array_equal(strict.backend.to_host(strict.params.weights[0]), host_state(run)["W1"])


@pytest.mark.parametrize("target, error, expected", [
    ("minifa.checkpoint._write_history", RuntimeError("disk on fire"), RuntimeError),  # mid-write, a bug or a signal
    ("minifa.atomic.fsync", OSError(28, "No space left on device"), CheckpointError),  # file complete, not durable
])
def test_failed_write_leaves_old_checkpoint(tmp_path, monkeypatch, target, error, expected):
    run, data = make_run()
    path = checkpoint.save(run, tmp_path / "run.h5")
    before = path.read_bytes()
    mf.train(run, data, 1)
    seen = []

    def fail(*args):
        seen.extend(os.listdir(tmp_path))  # the temp file exists at this point
        raise error

    monkeypatch.setattr(target, fail)
    with pytest.raises(expected) as err:
        checkpoint.save(run, path)
    assert "\n" not in str(err.value) and (expected is RuntimeError or "run.h5" in str(err.value))
    assert len(seen) == 2 and any(name.endswith(".tmp") for name in seen)
    assert os.listdir(tmp_path) == ["run.h5"]
    assert path.read_bytes() == before
    monkeypatch.undo()
    assert checkpoint.load(checkpoint.save(run, path)).epoch == 1  # a good save does replace it


def test_unwritable_destination_is_a_checkpoint_error(tmp_path):
    run, _ = make_run()
    with pytest.raises(CheckpointError, match="missing") as err:
        checkpoint.save(run, tmp_path / "missing" / "run.h5")
    assert "\n" not in str(err.value)


def test_a_rule_option_this_version_rejects_is_a_config_error_not_damage(tmp_path):
    """build()'s ConfigError inside load() names the option; the file itself is intact."""
    run, _ = make_run("kolen-pollack", {"decay": 0.1})
    path = checkpoint.save(run, tmp_path / "run.h5")
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["config"])
        config["rule_options"]["momentum"] = 0.9  # an option some other version might have had
        f.attrs["config"] = json.dumps(config)
        integrity.stamp(f)  # as that other version would have: the file is intact, only foreign
    with pytest.raises(ConfigError, match="momentum") as err:
        checkpoint.load(path)
    assert "damaged" not in str(err.value) and "\n" not in str(err.value)


def test_a_checkpoint_that_stores_weight_decay_as_l2_still_loads(tmp_path):
    """Older minifa stored weight decay under the field name ``l2``; such a file loads as
    ``weight_decay``, resumes with the same decay, and is saved back under today's name."""
    run, data = make_run(weight_decay=[0.0, 0.1, [0.2, 0.3]])
    mf.train_epoch(run, data)
    path = checkpoint.save(run, tmp_path / "run.h5")
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["config"])
        config["l2"] = config.pop("weight_decay")
        f.attrs["config"] = json.dumps(config, sort_keys=True)
        integrity.stamp(f)  # as the older minifa wrote it: intact, only the old name
    integrity.seal(path)
    old = checkpoint.load(path)
    assert old.config == run.config and old.config.weight_decay == [0.0, 0.1, [0.2, 0.3]]
    assert_same_run(old, run)
    mf.train_epoch(old, data)
    mf.train_epoch(run, data)
    assert_same_run(old, run)  # the decay acts as before
    stored = checkpoint.peek(checkpoint.save(old, tmp_path / "again.h5"))["config"]
    assert "l2" not in stored and stored["weight_decay"] == [0.0, 0.1, [0.2, 0.3]]
    from minifa import history  # the file reader (plot, inspect) sees today's name too

    (read,) = history.read(path)
    assert read.member_settings() == [{"weight_decay": [0.0, 0.1, 0.2]}, {"weight_decay": [0.0, 0.1, 0.3]}]


def _truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _foreign(path):
    path.unlink()
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)


def _version(number):
    def change(path):
        with h5py.File(path, "a") as f:
            f.attrs["format_version"] = number
    return change


def _drop(name):
    def change(path):
        with h5py.File(path, "a") as f:
            del f[name]
    return change


def _bit_rot(path):
    """Flip one byte inside model/W1's stored data: the file still opens, the read must fail."""
    with h5py.File(path) as f:
        offset = f["model/W1"].id.get_chunk_info(0).byte_offset
    data = bytearray(path.read_bytes())
    data[offset + 10] ^= 0xFF
    path.write_bytes(bytes(data))


def _drop_attr(path, name):
    with h5py.File(path, "a") as f:
        del f.attrs[name]


DAMAGE = {
    "missing": (lambda path: path.unlink(), "not found"),
    "empty": (lambda path: path.write_bytes(b""), "not a readable HDF5 file"),
    "random": (lambda path: path.write_bytes(np.random.default_rng(0).bytes(4096)), "not a readable HDF5"),
    "truncated": (_truncated, "truncated"),
    "foreign": (_foreign, "not a minifa checkpoint"),
    "newer": (_version(checkpoint.FORMAT_VERSION + 1), "newer"),
    "older": (_version(checkpoint.FORMAT_VERSION - 1), "older"),
    "bit-rot": (_bit_rot, "damaged"),
    "no-weights": (_drop("model/W2"), "model/W2"),
    "no-feedback": (_drop("rule/feedback1"), "rule/feedback1"),
    "no-rng": (_drop("rng/1"), "rng/1"),
    "no-step": (lambda path: _drop_attr(path, "step"), "'step'"),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_bad_files_give_one_line_errors(tmp_path, kind):
    run, data = make_run()
    mf.train(run, data, 1)
    path = checkpoint.save(run, tmp_path / "damaged-ckpt.h5")
    damage, expected = DAMAGE[kind]
    damage(path)
    for read in (checkpoint.load, checkpoint.peek):  # peek checks the whole file's digests too
        with pytest.raises(CheckpointError) as err:
            read(path)
        message = str(err.value)
        assert "damaged-ckpt.h5" in message and expected in message
        assert "\n" not in message


def test_weights_in_julia_dimension_order(tmp_path):
    """Read the dims with HDF5's low-level API (no h5py high-level reshaping): stored (R, in, out),
    which HDF5.jl reverses to (out, in, R), and Julia's column-major view of the bytes gives
    W[:, :, r] == member r's (out, in) weight."""
    run, data = make_run()
    mf.train(run, data, 1)
    path = checkpoint.save(run, tmp_path / "run.h5")
    weights, biases = host_state(run)["W1"], host_state(run)["b1"]
    members, out, inp = weights.shape
    fid = h5py.h5f.open(str(path).encode(), h5py.h5f.ACC_RDONLY)
    try:
        dset = h5py.h5d.open(fid, b"model/W1")
        dims = dset.get_space().get_simple_extent_dims()
        assert dims == dset.shape == (members, inp, out)
        assert tuple(reversed(dims)) == (out, inp, members)
        raw = np.empty(dims, dtype=np.float32)
        dset.read(h5py.h5s.ALL, h5py.h5s.ALL, raw)
        julia = raw.ravel(order="C").reshape(tuple(reversed(dims)), order="F")  # what h5read returns
        bias = h5py.h5d.open(fid, b"model/b1")
        assert bias.get_space().get_simple_extent_dims() == (members, out)
        raw_bias = np.empty((members, out), dtype=np.float32)
        bias.read(h5py.h5s.ALL, h5py.h5s.ALL, raw_bias)
    finally:
        fid.close()
    for r in range(members):
        np.testing.assert_array_equal(raw[r], weights[r].T)
        np.testing.assert_array_equal(julia[:, :, r], weights[r])  # Dense.weight, (out, in)
        np.testing.assert_array_equal(raw_bias.ravel(order="C").reshape((out, members), order="F")[:, r], biases[r, :, 0])


def test_h5dump_sees_the_same_dataspace(tmp_path):
    if shutil.which("h5dump") is None:
        pytest.skip("h5dump not on PATH (Debian package hdf5-tools); the low-level h5py check covers dims")
    run, _ = make_run()
    path = checkpoint.save(run, tmp_path / "run.h5")
    text = subprocess.run(["h5dump", "-H", "-d", "/model/W1", str(path)], capture_output=True, text=True,
                          check=True).stdout
    assert re.search(r"DATASPACE\s+SIMPLE\s*\{\s*\(\s*2,\s*12,\s*8\s*\)", text), text


def test_peek_without_building(tmp_path, monkeypatch):
    run, data = make_run("kolen-pollack", RULES["kolen-pollack"])
    mf.train(run, data, 2)
    path = checkpoint.save(run, tmp_path / "run.h5")
    monkeypatch.setattr(checkpoint, "build", lambda *a: pytest.fail("peek must not build a run"))
    info = checkpoint.peek(path)
    assert (info["step"], info["epoch"], info["rule"]) == (12, 2, "kolen-pollack")
    assert info["config"] == json.loads(run.config.to_json())
    assert info["format_version"] == checkpoint.FORMAT_VERSION and info["minifa_version"] == mf.__version__
    assert info["package_versions"]["h5py"] == h5py.__version__
    assert info["last"]["epochs"]["epoch"] == 2 and info["last"]["steps"]["step"] == 11
    np.testing.assert_array_equal(info["last"]["epochs"]["test_accuracy"], run.history["epochs"]["test_accuracy"][-1])
