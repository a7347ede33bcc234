"""hpt's bundled MNIST subset (2,000 train / 500 test real images) written as MNIST's original
idx files, in torchvision's layout (``ROOT/MNIST/raw``): what a project that reads MNIST with
``torchvision.datasets.MNIST(root, download=True)`` finds and loads without a download."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

ASSET = Path(__file__).resolve().parents[2] / "hpt" / "assets" / "mnist_tiny.npz"


def _write(path: Path, array: np.ndarray, magic: int) -> None:
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_mnist_idx(root: Path) -> Path:
    """Write the four idx files under ``root/MNIST/raw``; returns ``root``."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    with np.load(ASSET) as z:
        arrays = {k: z[k] for k in z.files}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        _write(raw / f"{prefix}-images-idx3-ubyte", x.reshape(len(x), 28, 28), 0x803)
        _write(raw / f"{prefix}-labels-idx1-ubyte", y, 0x801)
    return root
