"""``data=torchvision``: a torchvision classification dataset by class name (``data.name``).

``FashionMNIST``, ``KMNIST``, ``EMNIST``-style and ``CIFAR10``/``CIFAR100`` expose their
images as one array (``.data``), which is taken as it is; others are read item by item once.
Files are looked for under ``data.root`` and downloaded when missing (``data.download``),
with one clear line when they cannot be had.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hpt.data.loaded import Loaded
from hpt.errors import DataNotFoundError, UserError


def _dataset_class(name: str) -> Any:
    import torchvision.datasets as tvd

    cls = getattr(tvd, name, None)
    if not inspect.isclass(cls):
        known = ", ".join(["FashionMNIST", "KMNIST", "MNIST", "CIFAR10", "CIFAR100", "SVHN"])
        raise UserError(f"data.name={name} is not a torchvision dataset class (e.g. {known})")
    return cls


def _split_kwargs(cls: Any, train: bool) -> dict[str, Any]:
    params = inspect.signature(cls).parameters
    if "train" in params:
        return {"train": train}
    if "split" in params:
        return {"split": "train" if train else "test"}
    raise UserError(
        f"data.name={cls.__name__}: hpt reads datasets with a train/test split (train= or split=)"
    )


def _open(cls: Any, root: Path, train: bool, download: bool) -> Any:
    kwargs = _split_kwargs(cls, train)
    try:
        return cls(str(root), download=False, **kwargs)
    except Exception as first:
        if not download:
            raise DataNotFoundError(
                f"{cls.__name__} not found under {root} (download is off; {type(first).__name__}); "
                "set HPT_DATA_DIR or data.root= to the folder that holds it"
            ) from None
    try:
        return cls(str(root), download=True, **kwargs)
    except Exception as exc:  # no network, proxy, disk full: all end the same way for the user
        raise DataNotFoundError(
            f"{cls.__name__} not found under {root} (download failed: {type(exc).__name__}); "
            "set HPT_DATA_DIR or data.root= to the folder that holds it"
        ) from None


def _as_tensors(ds: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 N×C×H×W images and long labels, from the array when there is one."""
    data = getattr(ds, "data", None)
    labels = getattr(ds, "targets", getattr(ds, "labels", None))
    if data is not None and labels is not None and getattr(ds, "transform", None) is None:
        x = torch.as_tensor(np.asarray(data))
        if x.dtype == torch.uint8 and x.dim() in (3, 4):
            if x.dim() == 3:  # N×H×W greyscale (the MNIST family)
                x = x.unsqueeze(1)
            elif x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):  # N×H×W×C (CIFAR)
                x = x.permute(0, 3, 1, 2)
            return x.contiguous(), torch.as_tensor(np.asarray(labels)).long().reshape(-1)
    from torchvision.transforms.functional import pil_to_tensor

    xs, ys = [], []
    for image, label in ds:  # decoded once: the result is cached for the process
        xs.append(pil_to_tensor(image) if not isinstance(image, torch.Tensor) else image)
        ys.append(int(label))
    return torch.stack(xs), torch.tensor(ys, dtype=torch.long)


def load_torchvision(
    name: str = "",
    root: str | None = None,
    download: bool = True,
    problem: str = "classification",
) -> Loaded:
    """``data=torchvision``: a torchvision classification dataset, read once into tensors.

    Args:
        name: The dataset's class in ``torchvision.datasets`` (``data.name``).
        root: Where its files are, or go (None: ``~/.cache/hpt/data``).
        download: Whether to download the files when they are missing.
        problem: ``data.problem``: ``auto`` or ``classification``.

    Returns:
        The train/test images and labels, normalised per channel by each run.

    Raises:
        UserError: Not a classification problem, or an unknown dataset class.
        DataNotFoundError: The files are missing and cannot be downloaded.
    """
    if problem not in ("auto", "classification"):
        raise UserError(f"data=torchvision is a classification dataset, not data.problem={problem}")
    cls = _dataset_class(str(name or ""))
    folder = Path(str(root or "~/.cache/hpt/data")).expanduser()
    train = _open(cls, folder, True, bool(download))
    classes = [str(c) for c in getattr(train, "classes", [])]
    train_x, train_y = _as_tensors(train)
    test_x, test_y = _as_tensors(_open(cls, folder, False, bool(download)))
    num_classes = max(len(classes), int(train_y.max()) + 1)
    source = {"kind": "image", "size": list(train_x.shape[2:]), "channels": int(train_x.shape[1])}
    return Loaded(
        train_x,
        train_y,
        test_x,
        test_y,
        "classification",
        num_classes,
        norm="channels",
        classes=classes,
        source=source,
    )
