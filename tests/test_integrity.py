"""Byte flips in checkpoints and results files: every flip that changes what h5py reads is
refused with one line; the trials count the silent loads and assert there are none.

Random flips rarely land in HDF5's chunk index (B-tree nodes), heaps or attribute values,
which Fletcher-32 does not cover, so half of the trials aim there: at the bytes after each
HDF5 structure signature (TREE, HEAP, OHDR, GCOL, ...) and inside each JSON attribute.
Each file is tried sealed (as minifa writes it: the seal refuses before libhdf5 parses) and
unsealed (as after an edit through h5py: only the per-object digests stand between the
damage and the reader). libhdf5 can hang on some damaged metadata; the unsealed trials run
under a watchdog, so such a hang fails the suite with a traceback instead of stalling it.
"""

from __future__ import annotations

import faulthandler
import hashlib
import json

import h5py
import numpy as np
import pytest

import minifa as mf
from minifa import checkpoint, integrity
from minifa.errors import CheckpointError, ResultsError
from minifa.experiments.framework import Unit
from minifa.experiments.store import Results, ResultStore

from .conftest import tiny_dataset

SIGNATURES = (b"TREE", b"HEAP", b"SNOD", b"FRHP", b"FHDB", b"FHIB", b"BTHD", b"BTIN", b"BTLF", b"OHDR",
              b"OCHK", b"GCOL")
TRIALS = 200  # per file and per kind of aim (random, aimed): 400 flips per file and seal state


def dump(path) -> str:
    """Everything h5py reads from ``path`` (independent of minifa.integrity): a digest over
    every object's name, every attribute and every dataset's dtype, shape and bytes."""
    h = hashlib.sha256()

    def add(name, node):
        h.update(name.encode())
        for key in sorted(node.attrs):
            h.update(f"{key}={node.attrs[key]!r}".encode())
        if isinstance(node, h5py.Dataset):
            value = np.asarray(node[()])
            h.update(f"{value.dtype}{value.shape}".encode() + value.tobytes())

    with h5py.File(path, "r") as f:
        add("/", f)
        f.visititems(add)
    return h.hexdigest()


def aimed_offsets(raw: bytes, texts: list[str]) -> np.ndarray:
    """Offsets inside HDF5's metadata structures and inside the given attribute texts."""
    spans = []
    for signature in SIGNATURES:
        start = raw.find(signature)
        while start >= 0:
            spans.append((start, min(start + 160, len(raw))))
            start = raw.find(signature, start + 1)
    for text in texts:
        start = raw.find(text.encode())
        if start >= 0:
            spans.append((start, start + len(text)))
    assert spans, "no HDF5 structure found to aim at"
    return np.unique(np.concatenate([np.arange(a, b) for a, b in spans]))


def unsealed(path):
    """``path`` as an h5py edit leaves it: reopening for writing truncates it to the HDF5 data."""
    h5py.File(path, "r+").close()
    assert integrity.seal_problem(path) is None and not path.read_bytes().endswith(integrity.SEAL_MAGIC)
    return path


def flip_trials(path, tmp_path, load, same, refused_error, texts, seed):
    """Flip one byte per trial (random XOR mask), load the copy; returns counts per outcome.
    A load that succeeds on a file that reads differently, or gives a different result, is silent."""
    faulthandler.dump_traceback_later(300, exit=True)  # a libhdf5 hang ends the run loudly
    try:
        return _flip_trials(path, tmp_path, load, same, refused_error, texts, seed)
    finally:
        faulthandler.cancel_dump_traceback_later()


def _flip_trials(path, tmp_path, load, same, refused_error, texts, seed):
    raw, original = path.read_bytes(), dump(path)
    rng = np.random.default_rng(seed)
    aimed = aimed_offsets(raw, texts)
    counts = {"refused": 0, "unchanged": 0, "silent": 0}
    target = tmp_path / f"flipped{path.suffix}"
    for trial in range(2 * TRIALS):
        offsets = aimed if trial % 2 else np.arange(len(raw))
        data = bytearray(raw)
        data[int(rng.choice(offsets))] ^= int(rng.integers(1, 256))
        target.write_bytes(bytes(data))
        try:
            result = load(target)
        except refused_error as err:
            assert "\n" not in str(err) and target.name in str(err), str(err)
            counts["refused"] += 1
            continue
        try:
            intact = dump(target) == original
        except Exception:  # noqa: BLE001  (unreadable to h5py, yet loaded: still not a change it reads)
            intact = False
        counts["unchanged" if intact and same(result) else "silent"] += 1
    return counts


def trained_checkpoint(tmp_path):
    cfg = mf.Config(layers=(12, 8, 6, 4), rule="kolen-pollack", rule_options={"decay": 0.1}, seeds=[0, 1],
                    batch_size=50, metrics_every=1)
    backend = mf.get_backend("cpu")
    run = mf.build(cfg, backend)
    mf.train(run, mf.DeviceData.from_dataset(backend, tiny_dataset(), cfg.dtype), 1)
    return run, checkpoint.save(run, tmp_path / "ck.h5")


def run_fingerprint(run) -> str:
    h = hashlib.sha256(run.config.to_json().encode() + f"{run.step},{run.epoch}".encode())
    for array in [*run.params.weights, *(run.params.biases or []), *run.rule.state().values()]:
        h.update(np.asarray(array).tobytes())
    h.update(json.dumps([s.state() for s in run.streams], default=int, sort_keys=True).encode())
    for table, columns in sorted(run.history.items()):
        for key, rows in sorted(columns.items()):
            h.update(f"{table}/{key}".encode() + np.asarray(rows).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("sealed", [True, False])
def test_byte_flips_in_a_checkpoint_never_load_silently(tmp_path, sealed):
    run, path = trained_checkpoint(tmp_path)
    path = path if sealed else unsealed(path)
    want = run_fingerprint(checkpoint.load(path))
    with h5py.File(path) as f:
        texts = [str(f.attrs["config"])] + [str(v) for v in f["rng/0"].attrs.values()]
    counts = flip_trials(path, tmp_path, checkpoint.load, lambda r: run_fingerprint(r) == want,
                         CheckpointError, texts, seed=12)
    assert counts["silent"] == 0, counts
    assert counts["refused"] > (2 * TRIALS - 20 if sealed else TRIALS // 2), counts  # sealed: all but the seal's tail


def results_file(tmp_path):
    store = ResultStore(tmp_path / "fig.h5", "fig", "tiny", {"n": 3})
    rng = np.random.default_rng(0)
    for rep in range(3):
        unit = Unit(f"a_rep{rep}", {"rep": rep, "lr": 0.05})
        store.write_unit(unit, {"accuracy": rng.random(20), "loss": rng.random((4, 5))}, {"seconds": 1.5, "device": "cpu"})
    store.close()
    return store.path


def results_fingerprint(results) -> str:
    h = hashlib.sha256(json.dumps([results.experiment, results.profile, results.config, results.params,
                                   results.seconds], sort_keys=True).encode())
    for key in sorted(results.units):
        for name, array in sorted(results.units[key].items()):
            h.update(key.encode() + name.encode() + np.asarray(array).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("sealed", [True, False])
def test_byte_flips_in_a_results_file_never_load_silently(tmp_path, sealed):
    path = results_file(tmp_path)
    path = path if sealed else unsealed(path)
    want = results_fingerprint(Results.load(path))
    with h5py.File(path) as f:
        texts = [str(f.attrs["config"])] + [str(g.attrs["params"]) for g in f["units"].values()]
    counts = flip_trials(path, tmp_path, Results.load, lambda r: results_fingerprint(r) == want,
                         ResultsError, texts, seed=13)
    assert counts["silent"] == 0, counts
    assert counts["refused"] > (2 * TRIALS - 20 if sealed else TRIALS // 2), counts


def test_a_flip_that_hangs_libhdf5_is_refused_by_the_seal(tmp_path):
    """Found by 4000 unsealed trials: XOR 0x3F at byte 89 of the results file's second global
    heap collection made every read of a unit's string attribute loop forever in libhdf5."""
    path = results_file(tmp_path)
    raw = bytearray(path.read_bytes())
    raw[raw.rfind(b"GCOL") + 89] ^= 0x3F
    path.write_bytes(bytes(raw))
    faulthandler.dump_traceback_later(60, exit=True)
    try:
        with pytest.raises(ResultsError, match="fig.h5 is damaged: its HDF5 metadata .* fails the file's SHA-256"):
            Results.load(path)
    finally:
        faulthandler.cancel_dump_traceback_later()


def test_a_chunk_stored_shorter_than_its_checksum_is_refused_unread(tmp_path):
    """libhdf5 crashes (segfault) reading a Fletcher-32 chunk whose stored size, in the chunk
    index no checksum covers, is below the checksum's 4 bytes (one flipped size byte does it);
    the digest check refuses such a dataset without reading it, naming it."""
    _, path = trained_checkpoint(tmp_path)
    with h5py.File(unsealed(path), "r+") as f:
        f["history/epochs/train_loss"].id.write_direct_chunk((0, 0), b"ab")  # stored size 2
    with pytest.raises(CheckpointError, match="'history/epochs/train_loss' fails its SHA-256"):
        checkpoint.load(path)


def test_the_seal_names_a_dataset_whose_stored_bytes_changed(tmp_path):
    _, path = trained_checkpoint(tmp_path)
    with h5py.File(path) as f:
        offset = f["model/W2"].id.get_chunk_info(0).byte_offset
    raw = bytearray(path.read_bytes())
    raw[offset + 3] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="ck.h5 is damaged: the stored bytes of 'model/W2' fail their SHA-256"):
        checkpoint.load(path)


def test_the_issue_s_b_tree_flip_is_refused_naming_w1(tmp_path):
    """Issue 12: XOR byte +27 of W1's chunk B-tree key zeroed a block of W1 and loaded silently."""
    _, path = trained_checkpoint(tmp_path)
    with h5py.File(path) as f:
        info = f["model/W1"].id.get_chunk_info(0)
    raw = bytearray(path.read_bytes())
    key = raw.find((info.size).to_bytes(4, "little") + b"\0" * 4 + b"\0" * 8)
    assert key > 0
    raw[key + 27] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"ck\.h5.*(model/W1|damaged|not a readable)"):
        checkpoint.load(path)


@pytest.mark.parametrize("edit", ["config", "rng"])
def test_an_edited_attribute_is_refused_naming_it(tmp_path, edit):
    """``"lr": 0.05`` -> 0.09 in the config, or one digit of an rng state, written through h5py."""
    _, path = trained_checkpoint(tmp_path)
    with h5py.File(path, "r+") as f:
        node, name = (f, "config") if edit == "config" else (f["rng/1"], "init")
        text = str(node.attrs[name])
        node.attrs[name] = text.replace('"lr": 0.05', '"lr": 0.09') if edit == "config" else text.replace("1", "2", 1)
        assert str(node.attrs[name]) != text
    with pytest.raises(CheckpointError, match=f"attribute '{name}'.*SHA-256") as err:
        checkpoint.load(path)
    assert "\n" not in str(err.value)


def test_manifest_names_a_missing_and_an_extra_object(tmp_path):
    _, path = trained_checkpoint(tmp_path)
    with h5py.File(path, "r+") as f:
        f["history/extra"] = np.arange(3)
    with pytest.raises(CheckpointError, match="'history/extra' is not in its digest manifest"):
        checkpoint.load(path)
    with h5py.File(path, "r+") as f:
        del f["history/extra"], f["model/b2"]
    with pytest.raises(CheckpointError, match="'model/b2' is missing"):
        checkpoint.load(path)
