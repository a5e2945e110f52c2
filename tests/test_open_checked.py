"""One sealed-HDF5 opener (`integrity.open_checked`): the checkpoint reader, the plot/inspect
reader and the results reader refuse the same damage with the same one-line wording."""

from __future__ import annotations

import h5py
import pytest

from minifa import checkpoint, history, integrity
from minifa.errors import CheckpointError, ResultsError
from minifa.experiments.store import Results

from .test_integrity import results_file, trained_checkpoint, unsealed


def flip_stored_byte(path, dataset):
    with h5py.File(path) as f:
        offset = f[dataset].id.get_chunk_info(0).byte_offset if f[dataset].chunks else f[dataset].id.get_offset()
    raw = bytearray(path.read_bytes())
    raw[offset + 3] ^= 0x01
    path.write_bytes(bytes(raw))


def message(read, path, error) -> str:
    with pytest.raises(error) as err:
        read(path)
    text = str(err.value)
    assert "\n" not in text and str(path) in text
    return text


def test_a_checkpoint_s_damage_reads_the_same_in_load_and_in_the_plot_reader(tmp_path):
    _, path = trained_checkpoint(tmp_path)
    flip_stored_byte(path, "model/W2")
    want = f"{path} is damaged: the stored bytes of 'model/W2' fail their SHA-256 check; {integrity.INTACT}"
    assert message(checkpoint.load, path, CheckpointError) == f"checkpoint {want}"
    assert message(history.read, path, CheckpointError) == want


def test_an_unsealed_checkpoint_s_damage_is_named_by_its_manifest_in_both_readers(tmp_path):
    _, path = trained_checkpoint(tmp_path)
    with h5py.File(unsealed(path), "r+") as f:
        f["model/W1"][0, 0, 0] += 1.0
    want = f"{path} is damaged: 'model/W1' fails its SHA-256 check; {integrity.INTACT}"
    assert message(checkpoint.peek, path, CheckpointError) == f"checkpoint {want}"
    assert message(history.read, path, CheckpointError) == want


def test_a_results_file_s_damage_has_the_same_wording(tmp_path):
    path = results_file(tmp_path)
    with h5py.File(unsealed(path), "r+") as f:
        f["units/a_rep1/accuracy"][3] += 1.0
    assert message(Results.load, path, ResultsError) == (
        f"results file {path} is damaged: in unit 'a_rep1', 'accuracy' fails its SHA-256 check; {integrity.INTACT}")


def test_a_file_that_is_not_hdf5_is_one_line_in_every_reader(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("not hdf5")
    for read, error in ((checkpoint.load, CheckpointError), (history.kind, CheckpointError), (Results.load, ResultsError)):
        text = message(read, path, error)
        assert "is not a readable HDF5 file" in text and text.endswith(integrity.INTACT)
