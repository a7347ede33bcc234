"""hpt's data: sources loaded once, split per run, normalised, and batched by index slicing.

The modules, each small:

- ``splits``: a run's train/val/test ``Split``s in a ``Dataset``, carved, normalised, described.
- ``batches``: batches by slicing tensors held on the device, the DataLoader path, augmentation.
- ``sources``: a data config's source loaded once per process into a ``loaded.Loaded``.
- ``table``, ``image_folder``, ``tv``, ``custom``: the sources for your own data.

The names most code needs are importable from here.
"""

from __future__ import annotations

from hpt.data.batches import (
    MNIST_MEAN,
    MNIST_STD,
    augment,
    fits_on_device,
    load_data,
    load_dataset,
    load_mnist,
    load_mnist_tiny,
    loader_batches,
    synthetic,
    tensor_batches,
)
from hpt.data.splits import (
    Dataset,
    Split,
    SplitSettings,
    describe,
    normalise,
    scale_targets,
    split,
)

__all__ = [
    "MNIST_MEAN",
    "MNIST_STD",
    "Dataset",
    "Split",
    "SplitSettings",
    "augment",
    "describe",
    "fits_on_device",
    "load_data",
    "load_dataset",
    "load_mnist",
    "load_mnist_tiny",
    "loader_batches",
    "normalise",
    "scale_targets",
    "split",
    "synthetic",
    "tensor_batches",
]
