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
    """uint8 N×28×28 -> normalised float32 N×1×28×28 (in place: one float copy, not three)."""
    x = images.float().unsqueeze(1)  # the same float32 steps as (x / 255 - mean) / std
    return x.div_(255.0).sub_(MNIST_MEAN).div_(MNIST_STD)


def _mnist_files_present(root: Path) -> bool:
    raw = root / "MNIST" / "raw"
    return all((raw / f).exists() or (raw / f"{f}.gz").exists() for f in _MNIST_FILES)


def load_mnist(root: str, download: bool) -> tuple[Split, Split]:
    """Real MNIST from its IDX files (torchvision downloads them when missing); a clear error
    when it cannot be had.

    Args:
        root: The folder holding ``MNIST/raw`` (``~`` is expanded).
        download: Whether to download the files when they are missing.

    Returns:
        ``(train, test)``: 60,000 and 10,000 normalised N×1×28×28 images with their labels.

    Raises:
        DataNotFoundError: The files are missing and download is off or fails.
    """
    path = Path(root).expanduser()
    if not _mnist_files_present(path):
        if not download:
            raise DataNotFoundError(_missing_message(path, "download is off"))
        from torchvision.datasets import MNIST  # only to download: importing it takes ~1 s

        try:
            MNIST(str(path), train=True, download=True)
            MNIST(str(path), train=False, download=True)
        except Exception as exc:  # no network, proxy, disk full: all end the same way for the user
            raise DataNotFoundError(
                _missing_message(path, f"download failed: {type(exc).__name__}")
            ) from None
    raw = path / "MNIST" / "raw"
    train = Split(
        _images(_idx(raw, "train-images-idx3-ubyte")), _idx(raw, "train-labels-idx1-ubyte")
    )
    test = Split(_images(_idx(raw, "t10k-images-idx3-ubyte")), _idx(raw, "t10k-labels-idx1-ubyte"))
    return train, test


def _idx(raw: Path, name: str) -> torch.Tensor:
    """One MNIST file in LeCun's IDX format (``name`` or ``name.gz``): a uint8 tensor of its
    dims (labels as int64). Read here rather than through torchvision's reader, whose import
    alone costs a sweep worker about a second."""
    import gzip

    path = raw / name if (raw / name).exists() else raw / f"{name}.gz"
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    ndim = data[3] if len(data) >= 4 else 0
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    body = 4 + 4 * ndim
    if data[:3] != b"\x00\x00\x08" or ndim == 0 or len(data) != body + math.prod(dims):
        raise DataNotFoundError(f"{path}: not an MNIST IDX file of unsigned bytes (damaged?)")
    out = torch.frombuffer(bytearray(data[body:]), dtype=torch.uint8).reshape(dims)
    return out.long() if ndim == 1 else out


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
