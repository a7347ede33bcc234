"""``data=image_folder``: torchvision's ImageFolder layout, decoded once into uint8 tensors.

``data.root`` holds ``train/`` (and ``val/`` and/or ``test/`` when present) with one folder
per class; a root with class folders and no ``train/`` is the training set itself. Missing
``test/`` is carved from train by ``data.test_split`` (a fixed seed: the test set is part of
the dataset). Images are resized to ``data.size`` and kept as uint8 (1 channel when every
training image is greyscale, else RGB; ``data.channels`` forces it); each run normalises
them with per-channel statistics of its training split (``hpt.data.splits``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hpt.data.loaded import Loaded
from hpt.errors import DataNotFoundError, UserError

# torchvision's IMG_EXTENSIONS
EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
GREY = ("1", "L", "LA", "I", "I;16", "F")


def _size(value: Any) -> tuple[int, int]:
    sizes = [value] * 2 if isinstance(value, int) else list(value)
    if len(sizes) != 2 or any(not isinstance(s, int) or s < 1 for s in sizes):
        raise UserError(f"data.size must be a positive int or [height, width], got {value}")
    return int(sizes[0]), int(sizes[1])


def scan(folder: Path) -> dict[str, list[Path]]:
    """Class name -> its image files (sorted), for the class folders that hold images.

    Args:
        folder: A split's folder, one subfolder per class (hidden ones skipped).

    Returns:
        The classes that have at least one image, in name order.
    """
    found: dict[str, list[Path]] = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(f for f in sub.rglob("*") if f.suffix.lower() in EXTENSIONS and f.is_file())
        if files:
            found[sub.name] = files
    return found


def _decode(path: Path, size: tuple[int, int], key: str) -> tuple[np.ndarray, bool]:
    from PIL import Image

    try:
        with Image.open(path) as img:
            grey = img.mode in GREY
            rgb = img.convert("RGB").resize((size[1], size[0]), Image.Resampling.BILINEAR)
            return np.asarray(rgb, dtype=np.uint8), grey
    except Exception as exc:
        raise UserError(f"{key}: cannot read image {path}: {type(exc).__name__}") from None


def decode_all(
    files: list[Path], size: tuple[int, int], key: str = "data.root"
) -> tuple[torch.Tensor, bool]:
    """Decode and resize images into one uint8 tensor, in threads (PIL decodes without the GIL).

    Args:
        files: The image files.
        size: ``(height, width)`` to resize to.
        key: The setting named in the error for an unreadable image.

    Returns:
        ``(N×3×H×W uint8 images, whether every image was greyscale)``.

    Raises:
        UserError: An image cannot be read.
    """
    if not files:
        return torch.empty(0, 3, *size, dtype=torch.uint8), True
    with ThreadPoolExecutor(max(1, min(8, os.cpu_count() or 1))) as pool:
        out = list(pool.map(lambda f: _decode(f, size, key), files, chunksize=64))
    x = torch.from_numpy(np.stack([a for a, _ in out])).permute(0, 3, 1, 2).contiguous()
    return x, all(g for _, g in out)


def load_image_folder(
    root: str | None = None,
    size: Any = 32,
    channels: Any = "auto",
    test_split: float = 0.2,
    problem: str = "auto",
) -> Loaded:
    """``data=image_folder``: decode an image-folder dataset once into uint8 tensors.

    Args:
        root: The folder (``data.root``): ``train/<class>/<image>``, ``val/``, ``test/``.
        size: Pixels per side, or ``[height, width]``: images are resized to it.
        channels: ``auto`` (1 when every training image is greyscale, else 3), 1 or 3.
        test_split: The share of train held out as the test set when there is no ``test/``.
        problem: ``data.problem``: ``auto`` or ``classification``.

    Returns:
        The train/test (and val, when the folder has one) images, one class per folder.

    Raises:
        UserError: A bad setting, fewer than two classes, splits whose classes differ or
            an image that cannot be read.
        DataNotFoundError: ``data.root`` is not a folder.
    """
    if problem not in ("auto", "classification"):
        raise UserError(
            f"data=image_folder is a classification dataset, not data.problem={problem}"
        )
    raw = root
    if not raw:
        raise UserError(
            "data=image_folder needs data.root=FOLDER (with train/<class>/<image> files)"
        )
    folder = Path(str(raw)).expanduser()
    if not folder.is_dir():
        raise DataNotFoundError(f"data.root={raw}: no such folder")
    hw = _size(size)
    splits, classes = _class_folders(folder, str(raw))
    decoded = _decode_splits(splits, classes, hw, channels)
    train_x, train_y = decoded["train"]
    if "test" in decoded:
        test_x, test_y = decoded["test"]
    else:  # a fixed test set carved from train
        (train_x, train_y), (test_x, test_y) = _carve_test(train_x, train_y, float(test_split))
    val_x, val_y = decoded.get("val", (None, None))
    source = {"kind": "image", "size": list(hw), "channels": int(train_x.shape[1])}
    return Loaded(
        train_x,
        train_y,
        test_x,
        test_y,
        "classification",
        len(classes),
        val_x=val_x,
        val_y=val_y,
        norm="channels",
        classes=classes,
        source=source,
    )


def _class_folders(root: Path, raw: str) -> tuple[dict[str, dict[str, list[Path]]], list[str]]:
    """Each split's class folders (``train`` always; ``val``, ``test`` when present) and the
    classes, checked: two or more, the same in every split."""
    train_dir = root / "train" if (root / "train").is_dir() else root
    splits = {"train": scan(train_dir)}
    for name in ("val", "test"):
        if (root / name).is_dir():
            splits[name] = scan(root / name)
    classes = sorted(splits["train"])
    if not classes:
        raise UserError(f"data.root={raw}: no images in class folders under {train_dir}")
    if len(classes) < 2:
        raise UserError(
            f"data.root={raw}: only one class folder ({classes[0]}): "
            "classification needs two or more"
        )
    for name, found in splits.items():
        if sorted(found) != classes:
            raise UserError(
                f"data.root={raw}: {name}/ has classes {sorted(found)} but train/ has {classes}"
            )
    return splits, classes


def _decode_splits(
    splits: dict[str, dict[str, list[Path]]],
    classes: list[str],
    size: tuple[int, int],
    channels: Any,
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Each split's images and labels; one channel when ``channels`` is 1, or ``auto`` and
    every image is greyscale."""
    decoded: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    grey_all = True
    for name, found in splits.items():
        files = [f for c in classes for f in found[c]]
        labels = torch.tensor(
            [i for i, c in enumerate(classes) for _ in found[c]], dtype=torch.long
        )
        x, grey = decode_all(files, size)
        grey_all = grey_all and grey
        decoded[name] = (x, labels)
    if channels not in ("auto", 1, 3):
        raise UserError(f"data.channels must be auto, 1 or 3, got {channels}")
    if channels == 1 or (channels == "auto" and grey_all):
        decoded = {k: (x[:, :1].contiguous(), y) for k, (x, y) in decoded.items()}
    return decoded


def _carve_test(
    x: torch.Tensor, y: torch.Tensor, fraction: float
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """``(train, test)``: a ``fraction`` of the rows as the test set, by a fixed seed (the
    test set is part of the dataset, the same for every run)."""
    if not 0.0 < fraction < 1.0:
        raise UserError(f"data.test_split must be between 0 and 1 (exclusive), got {fraction}")
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    n_test = max(1, round(len(x) * fraction))
    test_idx, train_idx = perm[:n_test], perm[n_test:]
    return (x[train_idx], y[train_idx]), (x[test_idx], y[test_idx])
