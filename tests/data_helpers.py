"""Helpers of the data tests: IDX files assembled by hand (not by ``write_idx``), and a pip
that fails as one without a network would."""

import gzip
import struct
import sys

import numpy as np

from minifa.data.idx import IMAGES_MAGIC, LABELS_MAGIC

FAIL_PIP = [sys.executable, "-c", "import sys; sys.exit('no route to host')"]


def idx_bytes(magic, dims, payload):
    """IDX bytes assembled by hand: big-endian magic and sizes, then the payload."""
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in dims) + bytes(payload)


def pattern_images(n=2):
    """N×784 bytes, distinct per position and per image, and not transpose-symmetric."""
    k = np.arange(784)
    return np.stack([(k * 7 + 101 * i + (k // 28) ** 2) % 256 for i in range(n)]).astype(np.uint8)


def write_tiny_mnist(directory, images, labels, test_images=None, test_labels=None, gz=False):
    """The four MNIST IDX files, written byte by byte (not via write_idx)."""
    directory.mkdir(parents=True, exist_ok=True)
    test_images = images if test_images is None else test_images
    test_labels = labels if test_labels is None else test_labels
    for prefix, imgs, lbls in (("train", images, labels), ("t10k", test_images, test_labels)):
        files = {
            f"{prefix}-images-idx3-ubyte":
                idx_bytes(IMAGES_MAGIC, (len(imgs), 28, 28), imgs.tobytes()),
            f"{prefix}-labels-idx1-ubyte": idx_bytes(LABELS_MAGIC, (len(lbls),), lbls.tobytes()),
        }
        for name, raw in files.items():
            if gz:
                (directory / f"{name}.gz").write_bytes(gzip.compress(raw))
            else:
                (directory / name).write_bytes(raw)
