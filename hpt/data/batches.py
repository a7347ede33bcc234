"""Datasets as tensors: loaded once, normalised, split, and batched by index slicing.

MNIST-sized data fits on any device, so it is held there as one tensor and a batch is
``x[perm[i:i+B]]`` (airbench's approach) instead of a per-sample DataLoader. A DataLoader
path remains for data that does not fit on the device.

The splits themselves (``Split``, ``Dataset``, ``split``, ``normalise``, ``scale_targets``,
``describe``) live in ``hpt.data.splits``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hpt.data.splits import (
    Dataset,
    Split,
    SplitSettings,
    describe,
    normalise,
    scale_targets,
    split,
)
from hpt.errors import DataNotFoundError, UserError

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

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
_TINY = Path(__file__).parents[1] / "assets" / "mnist_tiny.npz"
_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte")


def _images(images: torch.Tensor) -> torch.Tensor:
    """uint8 N×28×28 -> normalised float32 N×1×28×28."""
    return ((images.float() / 255.0 - MNIST_MEAN) / MNIST_STD).unsqueeze(1)


def _mnist_files_present(root: Path) -> bool:
    raw = root / "MNIST" / "raw"
    return all((raw / f).exists() or (raw / f"{f}.gz").exists() for f in _MNIST_FILES)


def load_mnist(root: str, download: bool) -> tuple[Split, Split]:
    """Real MNIST through torchvision's reader; a clear error when it cannot be had.

    Args:
        root: The folder holding ``MNIST/raw`` (``~`` is expanded).
        download: Whether to download the files when they are missing.

    Returns:
        ``(train, test)``: 60,000 and 10,000 normalised N×1×28×28 images with their labels.

    Raises:
        DataNotFoundError: The files are missing and download is off or fails.
    """
    from torchvision.datasets import MNIST

    path = Path(root).expanduser()
    if not _mnist_files_present(path):
        if not download:
            raise DataNotFoundError(_missing_message(path, "download is off"))
        try:
            MNIST(str(path), train=True, download=True)
            MNIST(str(path), train=False, download=True)
        except Exception as exc:  # no network, proxy, disk full: all end the same way for the user
            raise DataNotFoundError(
                _missing_message(path, f"download failed: {type(exc).__name__}")
            ) from None
    train = MNIST(str(path), train=True, download=False)
    test = MNIST(str(path), train=False, download=False)
    return Split(_images(train.data), train.targets.long()), Split(
        _images(test.data), test.targets.long()
    )


def _missing_message(path: Path, why: str) -> str:
    return (
        f"MNIST not found in {path / 'MNIST' / 'raw'} ({why}); set HPT_DATA_DIR or data.root= to a "
        "folder holding MNIST/raw (e.g. HPT_DATA_DIR=../shared/datasets), or use data=mnist_tiny"
    )


def load_mnist_tiny() -> tuple[Split, Split]:
    """The 2,000 real MNIST images hpt ships (``hpt/assets/mnist_tiny.npz``), offline.

    Returns:
        ``(train, test)``: normalised N×1×28×28 images with their labels.
    """
    with np.load(_TINY) as f:  # plain arrays, allow_pickle is off by default
        train = Split(
            _images(torch.from_numpy(f["train_images"])), torch.from_numpy(f["train_labels"]).long()
        )
        test = Split(
            _images(torch.from_numpy(f["test_images"])), torch.from_numpy(f["test_labels"]).long()
        )
    return train, test


def synthetic(
    problem: str, n_samples: int, n_features: int, noise: float, seed: int = 1234
) -> tuple[Split, Split]:
    """A fixed synthetic problem (the seed is part of the dataset, not of the run).

    Args:
        problem: ``regression`` (noisy targets) or ``binary`` (their sign).
        n_samples: Training rows; a fifth as many test rows are added.
        n_features: Input columns.
        noise: The standard deviation of the noise added to the targets.
        seed: Seeds the inputs, weights and noise.

    Returns:
        ``(train, test)`` with targets of shape (N, 1).

    Raises:
        UserError: Another problem.
    """
    g = torch.Generator().manual_seed(seed)
    n_test = max(n_samples // 5, 1)
    x = torch.randn(n_samples + n_test, n_features, generator=g)
    w1, w2 = (
        torch.randn(n_features, generator=g),
        torch.randn(n_features, generator=g) / math.sqrt(n_features),
    )
    signal = torch.sin(x @ w1 / math.sqrt(n_features) * 2) + x @ w2
    if problem == "regression":
        y = (signal + noise * torch.randn(len(x), generator=g)).unsqueeze(1)
    elif problem == "binary":
        y = ((signal + noise * torch.randn(len(x), generator=g)) > 0).float().unsqueeze(1)
    else:
        raise UserError(f"synthetic data is data.problem=regression or binary, not {problem!r}")
    return Split(x[:n_samples], y[:n_samples]), Split(x[n_samples:], y[n_samples:])


@functools.lru_cache(maxsize=4)
def _load_cached(
    name: str,
    problem: str,
    root: str | None,
    download: bool,
    n_samples: int,
    n_features: int,
    noise: float,
) -> tuple[Split, Split]:
    # Sweep workers run many trials in one process: read and decode the files once.
    if name == "mnist":
        return load_mnist(root or "~/.cache/hpt/data", download)
    if name == "mnist_tiny":
        return load_mnist_tiny()
    if name in ("regression", "binary"):
        return synthetic(problem, n_samples, n_features, noise)
    raise UserError(f"unknown dataset {name!r}: use data=mnist, mnist_tiny, regression or binary")


def load_dataset(
    name: str,
    problem: str,
    *,
    val_split: float,
    seed: int,
    root: str | None = None,
    download: bool = True,
    subset: int | None = None,
    n_samples: int = 4096,
    n_features: int = 16,
    noise: float = 0.1,
    folds: int = 1,
    fold: int = 0,
) -> Dataset:
    """Train/val/test splits of one of hpt's built-in sets, on the CPU.

    Validation is carved from the training set; with ``folds > 1`` it is fold ``fold`` of a
    k-fold partition of the training set (``hpt.cv``) and ``val_split`` is not used.

    Args:
        name: ``mnist``, ``mnist_tiny``, ``regression`` or ``binary``.
        problem: ``classification``, ``binary`` or ``regression``.
        val_split: The share of the training rows held out for validation.
        seed: Seeds the validation split (or the folds).
        root: Where MNIST is looked for (default ``~/.cache/hpt/data``).
        download: Whether MNIST may be downloaded when missing.
        subset: Keep only the first ``subset`` training rows (None: all).
        n_samples: Synthetic sets: training rows.
        n_features: Synthetic sets: input columns.
        noise: Synthetic sets: target noise.
        folds: k of a k-fold partition; 1 for a single held-out share.
        fold: Which fold validates when ``folds > 1``.

    Returns:
        The splits and their ``preprocessing`` description.

    Raises:
        UserError: An unknown set or a bad split setting.
        DataNotFoundError: MNIST cannot be had.
    """
    train, test = _load_cached(name, problem, root, download, n_samples, n_features, noise)
    num_classes = 10 if name.startswith("mnist") else 0
    how = SplitSettings(val_split, seed, subset, folds, fold)
    data = split(train, test, None, problem, num_classes, how)
    if name.startswith("mnist"):  # uint8 28x28 greyscale, fixed normalisation
        source: dict[str, Any] = {"kind": "image", "size": [28, 28], "channels": 1}
        norm: Any = {"kind": "channels", "mean": [MNIST_MEAN], "std": [MNIST_STD]}
        classes = [str(i) for i in range(10)]
    else:
        source, norm, classes = {"kind": "tensor", "shape": data.in_shape}, None, []
    return replace(data, preprocessing=describe(data, source, norm, classes))


def load_data(d: Any, *, val_split: float, seed: int, folds: int = 1, fold: int = 0) -> Dataset:
    """The dataset a data config describes, normalised for this run.

    hpt's built-in sets, or a user source (``hpt.data.sources``: table, image_folder,
    torchvision, ``_target_``) normalised with statistics of this run's training split only.

    Args:
        d: The data config (``cfg.data``).
        val_split: The share of the training rows held out for validation.
        seed: Seeds the validation split (or the folds).
        folds: k of a k-fold partition; 1 for a single held-out share.
        fold: Which fold validates when ``folds > 1``.

    Returns:
        The splits, normalised and with targets scaled as configured, and their
        ``preprocessing`` description.
    """
    from hpt.data.sources import is_user_source, load

    if not is_user_source(d):
        problem = str(getattr(d.problem, "value", d.problem))
        return load_dataset(
            str(d.name),
            problem,
            val_split=val_split,
            seed=seed,
            root=d.get("root"),
            download=bool(d.get("download", True)),
            subset=d.get("subset"),
            n_samples=int(d.get("n_samples", 4096)),
            n_features=int(d.get("n_features", 16)),
            noise=float(d.get("noise", 0.1)),
            folds=folds,
            fold=fold,
        )
    src = load(d)
    val = Split(src.val_x, src.val_y) if src.val_x is not None and src.val_y is not None else None
    how = SplitSettings(val_split, seed, d.get("subset"), folds, fold)
    train, test = Split(src.train_x, src.train_y), Split(src.test_x, src.test_y)
    data = split(train, test, val, src.problem, src.num_classes, how)
    data, stats = normalise(data, src.norm, src.columns)
    data = scale_targets(data, str(d.get("target_scaling") or "none"))
    source = src.source or {"kind": "tensor", "shape": data.in_shape}
    return replace(data, preprocessing=describe(data, source, stats, src.classes))


def fits_on_device(nbytes: int, device: torch.device) -> bool:
    """Hold data on the device when it takes under a quarter of the free memory.

    Args:
        nbytes: The data's size (``Dataset.nbytes``).
        device: The training device.

    Returns:
        True off CUDA, else whether ``nbytes`` is under a quarter of the free memory.
    """
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes < free // 4


def tensor_batches(
    split: Split,
    batch_size: int,
    *,
    shuffle: bool,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches by slicing a permutation: no workers, no collation, no host sync.

    Args:
        split: The rows, already on the device.
        batch_size: Rows per batch (the last batch may be smaller).
        shuffle: Draw a fresh permutation (else the rows in order).
        generator: Drives the permutation (None: torch's default generator).
        drop_last: Leave out a last, smaller batch (when there is at least one full one).

    Yields:
        ``(x, y)`` batches.
    """
    n = len(split)
    if shuffle:
        idx = torch.randperm(n, device=split.x.device, generator=generator)
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    for i in range(0, stop, batch_size):
        if shuffle:
            sel = idx[i : i + batch_size]
            yield split.x[sel], split.y[sel]
        else:
            yield split.x[i : i + batch_size], split.y[i : i + batch_size]


def loader_batches(
    split: Split,
    batch_size: int,
    *,
    shuffle: bool,
    device: torch.device,
    num_workers: int,
    seed: int,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The DataLoader path, for data kept on the host: pinned memory, async copies.

    Args:
        split: The rows, on the host.
        batch_size: Rows per batch.
        shuffle: Shuffle (seeded) and drop a last, smaller batch.
        device: Where each batch is copied.
        num_workers: DataLoader worker processes.
        seed: Seeds the shuffling.

    Yields:
        ``(x, y)`` batches on ``device``.
    """
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(
        TensorDataset(split.x, split.y),
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
        drop_last=shuffle and len(split) >= batch_size,
        generator=torch.Generator().manual_seed(seed) if shuffle else None,
        persistent_workers=False,
    )
    for x, y in loader:
        yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)


def augment(x: torch.Tensor, *, translate: int, hflip: bool, noise_std: float) -> torch.Tensor:
    """Batch-wise augmentation on tensors (on the device, vectorised per sample).

    Args:
        x: A batch; image batches are N×C×H×W.
        translate: Images: shift each by up to this many pixels (zero padding); 0 for none.
        hflip: Images: flip each horizontally with probability 1/2.
        noise_std: Add Gaussian noise of this standard deviation (any input); 0 for none.

    Returns:
        The augmented batch (``x`` itself when nothing applies).
    """
    if x.dim() == 4 and translate > 0:
        n, _, h, w = x.shape
        padded = torch.nn.functional.pad(x, (translate,) * 4)
        dy = torch.randint(0, 2 * translate + 1, (n,), device=x.device)
        dx = torch.randint(0, 2 * translate + 1, (n,), device=x.device)
        rows = (torch.arange(h, device=x.device)[None, :] + dy[:, None])[:, :, None]
        cols = (torch.arange(w, device=x.device)[None, :] + dx[:, None])[:, None, :]
        batch = torch.arange(n, device=x.device)[:, None, None]
        x = padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
    if x.dim() == 4 and hflip:
        flip = torch.rand(x.shape[0], device=x.device) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if noise_std > 0:
        x = x + noise_std * torch.randn_like(x)
    return x
