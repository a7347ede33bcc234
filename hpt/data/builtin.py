"""hpt's own data sets: real MNIST, the bundled 2,000-image MNIST, and synthetic tables.

Each is a data source for ``conf/data/*.yaml``'s ``_target_`` (``mnist``, ``mnist_tiny``,
``synthetic``), returning a ``Loaded`` as any source does; ``load_mnist`` and
``load_mnist_tiny`` give the raw splits (the benchmarks time them).
MNIST is normalised as it loads, with the fixed MNIST mean and std (``Loaded.applied``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from hpt.data.loaded import Loaded
from hpt.data.splits import Split
from hpt.errors import DataNotFoundError, UserError

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


def _synthetic_splits(
    problem: str, n_samples: int, n_features: int, noise: float, seed: int
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


def _mnist_loaded(train: Split, test: Split, problem: str) -> Loaded:
    """MNIST's splits as a source: normalised already, 28x28 greyscale, ten classes."""
    return Loaded(
        train.x,
        train.y,
        test.x,
        test.y,
        "classification" if problem == "auto" else problem,
        10,
        classes=[str(i) for i in range(10)],
        source={"kind": "image", "size": [28, 28], "channels": 1},
        applied={"kind": "channels", "mean": [MNIST_MEAN], "std": [MNIST_STD]},
    )


def mnist(
    root: str | None = None, download: bool = True, problem: str = "classification"
) -> Loaded:
    """``data=mnist``: real MNIST from ``root`` (downloaded when missing and allowed).

    Args:
        root: The folder holding ``MNIST/raw`` (None: ``~/.cache/hpt/data``).
        download: Whether to download the files when they are missing.
        problem: ``data.problem`` (``auto``: classification).

    Returns:
        60,000 training and 10,000 test images, normalised with MNIST's mean and std.

    Raises:
        DataNotFoundError: The files are missing and cannot be downloaded.
    """
    train, test = load_mnist(root or "~/.cache/hpt/data", bool(download))
    return _mnist_loaded(train, test, problem)


def mnist_tiny(problem: str = "classification") -> Loaded:
    """``data=mnist_tiny``: the 2,000 + 500 MNIST images bundled with hpt (offline).

    Args:
        problem: ``data.problem`` (``auto``: classification).

    Returns:
        The images, normalised with MNIST's mean and std.
    """
    train, test = load_mnist_tiny()
    return _mnist_loaded(train, test, problem)


def synthetic(
    problem: str, n_samples: int = 4096, n_features: int = 16, noise: float = 0.1, seed: int = 1234
) -> Loaded:
    """``data=regression`` and ``data=binary``: a fixed synthetic problem.

    ``y = sin(x·w1) + x·w2 + noise`` (regression) or its sign (binary); the seed is part of the
    dataset, not of the run.

    Args:
        problem: ``regression`` or ``binary``.
        n_samples: Training rows; a fifth as many test rows are added.
        n_features: Input columns.
        noise: The standard deviation of the noise added to the targets.
        seed: Seeds the inputs, weights and noise.

    Returns:
        The rows as they are (not normalised), targets of shape (N, 1).

    Raises:
        UserError: Another problem.
    """
    train, test = _synthetic_splits(problem, int(n_samples), int(n_features), float(noise), seed)
    return Loaded(train.x, train.y, test.x, test.y, problem, 0)
