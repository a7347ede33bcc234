"""hpt's data: sources loaded once, split per run, normalised, and batched by index slicing.

A data config names its source by ``_target_`` (``conf/data/*.yaml``); ``hpt.build``
instantiates it. The modules, each small:

- ``sources``: the arguments a source gets, and what it returns (``loaded.Loaded``).
- ``builtin``: hpt's own sets (MNIST, the bundled tiny MNIST, synthetic tables).
- ``table``, ``image_folder``, ``tv``: sources for your files; ``custom``: your function's sets.
- ``splits``: a run's train/val/test ``Split``s in a ``Dataset``: carved, normalised, described.
- ``batches``: batches by slicing tensors held on the device, the DataLoader path, augmentation.

The names most code needs are importable from here.
"""

from __future__ import annotations

from hpt.data.batches import augment, fits_on_device, loader_batches, tensor_batches
from hpt.data.builtin import MNIST_MEAN, MNIST_STD, load_mnist, load_mnist_tiny, synthetic
from hpt.data.loaded import Loaded
from hpt.data.splits import (
    Dataset,
    Split,
    SplitSettings,
    describe,
    normalise,
    prepare,
    scale_targets,
    split,
)

__all__ = [
    "MNIST_MEAN",
    "MNIST_STD",
    "Dataset",
    "Loaded",
    "Split",
    "SplitSettings",
    "augment",
    "describe",
    "fits_on_device",
    "load_mnist",
    "load_mnist_tiny",
    "loader_batches",
    "normalise",
    "prepare",
    "scale_targets",
    "split",
    "synthetic",
    "tensor_batches",
]
